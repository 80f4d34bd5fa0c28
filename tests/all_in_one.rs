//! `altimeter all-in-one` runs the collector agent for its own host and
//! ships in-process: guests (here libvirt's in-process test driver), host
//! and cgroup series become queryable through PromQL without any other
//! process or configuration.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::reqwest::blocking_client;
use common::{Server, free_port};

/// The test driver's predefined guest.
const TEST_UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

fn query(url: &str, q: &str) -> serde_json::Value {
    let r = blocking_client()
        .get(format!(
            "{url}/api/v1/query?query={}",
            q.replace(' ', "%20")
                .replace('"', "%22")
                .replace('{', "%7B")
                .replace('}', "%7D")
        ))
        .send()
        .expect("query");
    assert_eq!(r.status(), 200, "{}", r.text());
    r.json()["data"]["result"].clone()
}

#[test]
fn all_in_one_meters_its_own_host_and_guests() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let log = dir.path().join("server.log");
    let child = Command::new(env!("CARGO_BIN_EXE_altimeter"))
        .arg("all-in-one")
        .arg("--data-dir")
        .arg(&data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("ALTIMETER_LOG", "info")
        .env("ALTIMETER_AGENT_LIBVIRT_URI", "test:///default")
        .env("ALTIMETER_AGENT_INTERVAL", "500ms")
        .env("ALTIMETER_AGENT_HOST", "aio-test")
        .env_remove("ALTIMETER_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        data_dir: data.clone(),
        log,
    };
    server.wait_ready();

    let t0 = Instant::now();
    let (guest, load) = loop {
        let guest = query(
            &server.url,
            &format!("instance_power_state{{instance_id=\"{TEST_UUID}\"}}"),
        );
        let load = query(&server.url, "node_load1{host=\"aio-test\"}");
        if guest.as_array().is_some_and(|a| !a.is_empty())
            && load.as_array().is_some_and(|a| !a.is_empty())
        {
            break (guest, load);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "agent data not queryable after 30 s; log:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(guest[0]["value"][1], "1", "the test guest runs: {guest}");
    assert_eq!(guest[0]["metric"]["host"], "aio-test");
    assert_eq!(guest[0]["metric"]["domain"], "test");
    assert_eq!(load[0]["metric"]["host"], "aio-test", "external host label");

    // Counters advance and rate() works over what the agent shipped.
    std::thread::sleep(Duration::from_secs(2));
    let rate = query(
        &server.url,
        &format!("rate(instance_cpu_seconds_total{{instance_id=\"{TEST_UUID}\"}}[10s])"),
    );
    let v: f64 = rate[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(v > 0.0, "cpu rate of the guest: {rate}");
    let cpus = query(&server.url, "count(node_cpu_seconds_total{mode=\"idle\"})");
    assert!(
        cpus[0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 1.0,
        "{cpus}"
    );

    // The agent's own metrics are on the server's /metrics.
    let metrics = blocking_client()
        .get(format!("{}/metrics", server.url))
        .send()
        .unwrap()
        .text();
    let sent: f64 = metrics
        .lines()
        .find(|l| l.starts_with("altimeter_agent_samples_sent_total{destination=\"local\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no local delivery counter in:\n{metrics}"));
    assert!(sent > 0.0);
    assert!(
        data.join("agent-spool").is_dir(),
        "all-in-one spools under its data directory"
    );

    // The same guest through the Gnocchi API: discovered as an instance
    // resource with its Ceilometer-named metrics (discovery runs every 10 s).
    let gnocchi = |path: &str| {
        let r = blocking_client()
            .get(format!("{}{path}", server.url))
            .header("authorization", "basic YWRtaW46")
            .send()
            .expect("gnocchi request");
        assert_eq!(r.status(), 200, "{path}: {}", r.text());
        r.json()
    };
    let t0 = Instant::now();
    let instance = loop {
        let list = gnocchi("/v1/resource/instance");
        if let Some(r) = list
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == TEST_UUID))
            && r["metrics"].get("cpu").is_some()
        {
            break r.clone();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the guest is not a Gnocchi instance after 30 s: {list}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(instance["display_name"], "test", "{instance}");
    assert_eq!(instance["host"], "aio-test", "{instance}");
    let cpu = instance["metrics"]["cpu"].as_str().unwrap();
    let measures = gnocchi(&format!("/v1/metric/{cpu}/measures?aggregation=mean"));
    let last = measures.as_array().and_then(|a| a.last()).cloned();
    let ns = last.as_ref().and_then(|p| p[2].as_f64()).unwrap_or(0.0);
    assert!(
        ns > 0.0,
        "the guest's cpu in ns through Gnocchi: {measures}"
    );
    server.stop();
}
