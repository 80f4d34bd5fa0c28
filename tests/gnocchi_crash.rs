//! Nothing the Gnocchi API acknowledged is lost when the server is killed:
//! resources, metrics and their revisions (SQLite catalog) and measures
//! (WAL) are all there after a SIGKILL and a restart, and answers are
//! the same as before.

mod common;

use common::Server;
use common::reqwest::blocking_client;
use serde_json::{Value, json};

const AUTH: &str = "basic YWRtaW46";

fn call(url: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let c = blocking_client();
    let full = format!("{url}{path}");
    let req = match method {
        "GET" => c.get(full),
        _ => c.post(full),
    }
    .header("authorization", AUTH);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(b.to_string().into_bytes()),
        None => req,
    };
    let r = req.send().expect("request");
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    (r.status(), v)
}

#[test]
fn acknowledged_gnocchi_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let url = server.url.clone();

    let (st, p) = call(
        &url,
        "POST",
        "/v1/archive_policy",
        Some(
            json!({"name": "crash", "definition": [{"granularity": "1 minute", "points": 600}],
                    "aggregation_methods": ["mean", "max", "count"]}),
        ),
    );
    assert_eq!(st, 201, "{p}");
    let (st, r) = call(
        &url,
        "POST",
        "/v1/resource/generic",
        Some(json!({"id": "crash-host", "project_id": "p1",
                    "metrics": {"load": {"archive_policy_name": "crash"}}})),
    );
    assert_eq!(st, 201, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    let mid = r["metrics"]["load"].as_str().unwrap().to_string();
    // Measures through both batch forms.
    let now = chrono_like_now();
    let points: Vec<Value> = (0..300)
        .map(|i| json!({"timestamp": now - 3600.0 + f64::from(i) * 10.0, "value": f64::from(i % 17)}))
        .collect();
    let (st, e) = call(
        &url,
        "POST",
        "/v1/batch/metrics/measures",
        Some(json!({mid.clone(): points[..150]})),
    );
    assert_eq!(st, 202, "{e}");
    let (st, e) = call(
        &url,
        "POST",
        "/v1/batch/resources/metrics/measures",
        Some(json!({"crash-host": {"load": points[150..]}})),
    );
    assert_eq!(st, 202, "{e}");
    let (_, before) = call(&url, "GET", &format!("/v1/metric/{mid}/measures"), None);
    assert_eq!(before.as_array().map(Vec::len), Some(50), "{before}");

    server.kill9();
    let server = Server::start(&data, &[]);
    let url = server.url.clone();
    let (st, r2) = call(&url, "GET", "/v1/resource/generic/crash-host", None);
    assert_eq!(st, 200, "{r2}");
    assert_eq!(r2["id"], rid);
    assert_eq!(r2["metrics"]["load"], mid);
    let (_, after) = call(&url, "GET", &format!("/v1/metric/{mid}/measures"), None);
    assert_eq!(after, before, "measures after SIGKILL and restart");
    let (_, maxes) = call(
        &url,
        "GET",
        &format!("/v1/metric/{mid}/measures?aggregation=count"),
        None,
    );
    let total: f64 = maxes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[2].as_f64().unwrap())
        .sum();
    assert_eq!(total, 300.0, "every acknowledged measure counted once");
    server.stop();
}

/// Now as Unix seconds on a whole minute (the server accepts samples
/// around its own clock; the test talks to it about real time).
fn chrono_like_now() -> f64 {
    use altimeter_model::Clock;
    let s = altimeter_model::SystemClock.now_ms() / 1000;
    (s - s % 60) as f64
}
