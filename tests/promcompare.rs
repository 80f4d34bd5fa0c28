//! PromQL answers equal a real Prometheus 2.42's on the same cloud data:
//! `bench/cloudgen.py` data is replayed into both by `bench/rwload.py`,
//! then `bench/promcompare.py` runs every query of
//! `bench/cloud-queries.txt` (165 cases) as a range query on both.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port};

/// A Prometheus 2.42 on loopback that only receives remote-write (no
/// scraping, so it holds exactly the replayed data).
struct Prometheus {
    child: Child,
    url: String,
}

impl Prometheus {
    fn start(dir: &Path) -> Prometheus {
        let port = free_port();
        let cfg = dir.join("prometheus.yml");
        std::fs::write(&cfg, "global:\n  evaluation_interval: 1m\n").unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("running prometheus (scripts/setup.sh installs it)");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "prometheus did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let url = format!("http://127.0.0.1:{port}");
        let client = common::reqwest::blocking_client();
        while client
            .get(format!("{url}/-/ready"))
            .send()
            .map(|r| r.status())
            .ok()
            != Some(200)
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "prometheus not ready"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Prometheus { child, url }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "python3 {args:?} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn cloud_queries_match_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud.rw");
    let data_s = data.to_str().unwrap();
    // Small enough for a debug build, large enough for every query shape:
    // 8 hosts x 4 VMs, one hour at 10 s.
    python(&[
        "bench/cloudgen.py",
        "--hosts",
        "8",
        "--vms-per-host",
        "4",
        "--duration",
        "3600",
        "--out",
        data_s,
    ]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{data_s}.json")).unwrap()).unwrap();
    let prom = Prometheus::start(dir.path());
    // A small head: most of the hour is flushed into blocks (and compacted)
    // before the queries run, so the block read path is what is compared.
    let cfg = dir.path().join("altimeter.toml");
    std::fs::write(&cfg, "[storage]\nhead_max_samples = 50000\n").unwrap();
    let alt = Server::start(
        &dir.path().join("alt"),
        &["--config", cfg.to_str().unwrap()],
    );
    for url in [&prom.url, &alt.url] {
        // rwload.py exits non-zero if any request was refused.
        python(&["bench/rwload.py", data_s, &format!("{url}/api/v1/write")]);
    }
    let start = meta["start_ms"].as_i64().unwrap() / 1000;
    // Both hold the data (an empty answer on both sides would compare equal).
    let client = common::reqwest::blocking_client();
    for url in [&prom.url, &alt.url] {
        let r = client
            .get(format!(
                "{url}/api/v1/query?query=count(libvirt_domain_vcpus)&time={}",
                start + 1800
            ))
            .send()
            .unwrap()
            .json();
        assert_eq!(r["data"]["result"][0]["value"][1], "32", "{url}: {r}");
    }
    let metrics = client
        .get(format!("{}/metrics", alt.url))
        .send()
        .unwrap()
        .text();
    let blocks: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("altimeter_blocks "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no altimeter_blocks in /metrics:\n{metrics}"));
    assert!(blocks >= 1.0, "the data should span blocks and the head");
    let end = meta["end_ms"].as_i64().unwrap() / 1000;
    let out = Command::new("python3")
        .args([
            "bench/promcompare.py",
            "--ref",
            &prom.url,
            "--target",
            &alt.url,
        ])
        .args(["--queries", "bench/cloud-queries.txt", "--step", "60"])
        .args(["--start", &start.to_string(), "--end", &end.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text.lines().last().unwrap_or_default().to_string();
    assert!(
        out.status.success() && summary.ends_with(" 0 failed"),
        "promcompare: {summary}\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passed: u32 = summary.split_whitespace().next().unwrap().parse().unwrap();
    assert!(passed >= 165, "only {passed} cases ran: {summary}");
}
