//! The service end to end inside one process: the Aodh API, the evaluator
//! with a manual clock, the SQLite outbox across a restart, and delivery to a
//! real HTTP receiver on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use altimeter_model::ManualClock;
use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

/// PromQL answers set by the test.
#[derive(Debug, Default)]
struct Values(Mutex<Vec<f64>>);

#[async_trait]
impl Source for Values {
    async fn promql(&self, _q: &str, _scope: Option<&str>, _t: i64) -> Result<Vec<f64>, String> {
        Ok(self.0.lock().clone())
    }
    async fn gnocchi(&self, _m: &str, _p: &str, _b: Option<Value>) -> Result<(u16, Value), String> {
        Ok((200, json!({"aggregation_methods": ["mean"]})))
    }
}

fn config() -> AlarmsConfig {
    AlarmsConfig {
        notify: NotifyConfig {
            retry_initial: Duration::from_millis(20),
            retry_max: Duration::from_millis(100),
            webhook_secret: "s3cret".into(),
            ..NotifyConfig::default()
        },
        ..AlarmsConfig::default()
    }
}

async fn call(a: &Alarms, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-user-id", "u1")
        .header("x-project-id", "p1")
        .header("x-roles", "reader,member")
        .header("content-type", "application/json")
        .body(
            body.map(|b| Body::from(b.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    let resp = http::router(a.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_transition_is_recorded_and_enqueued_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let values = Arc::new(Values::default());
    let open = || {
        Alarms::open(
            dir.path(),
            values.clone(),
            clock.clone(),
            config(),
            &mut Registry::default(),
        )
        .unwrap()
    };
    let alarms = open();
    let (status, created) = call(
        &alarms,
        "POST",
        "/v2/alarms",
        Some(json!({"name": "cpu_hi", "type": "prometheus",
            "prometheus_rule": {"query": "cpu", "threshold": 50, "comparison_operator": "gt"},
            "alarm_actions": ["http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["alarm_id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "insufficient data");
    assert_eq!(created["alarm_actions"], json!(["http://127.0.0.1:9/hook"]));
    // Scoped to the caller's project, which Aodh stores but does not show.
    assert!(created["prometheus_rule"].get("scope_to_project").is_none());
    let stored = alarms.inner.alarms.read()[&id].rule.clone();
    assert_eq!(stored["scope_to_project"], "p1");

    *values.0.lock() = vec![99.0];
    assert_eq!(alarms.evaluate_once().await, (1, 1));
    let (_, st) = call(&alarms, "GET", &format!("/v2/alarms/{id}/state"), None).await;
    assert_eq!(st, "alarm");
    // Same data again: no new transition.
    clock.advance(1000);
    assert_eq!(alarms.evaluate_once().await, (1, 0));
    let pending = alarms.inner.store.pending(10).unwrap();
    assert_eq!(pending.len(), 1, "duplicate actions are notified once");
    assert_eq!(pending[0].payload["current"], "alarm");
    assert_eq!(pending[0].payload["previous"], "insufficient data");
    drop(alarms);

    // "Restart": the state and the pending notification survive; evaluating
    // the same data does not repeat the transition.
    let alarms = open();
    clock.advance(1000);
    assert_eq!(alarms.evaluate_once().await, (1, 0));
    assert_eq!(alarms.inner.store.pending(10).unwrap().len(), 1);
    let (_, hist) = call(&alarms, "GET", &format!("/v2/alarms/{id}/history"), None).await;
    let types: Vec<&str> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["state transition", "creation"]);
    let detail: Value = serde_json::from_str(hist[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["state"], "alarm");

    // Back inside the threshold: ok, with no ok_actions nothing is enqueued.
    *values.0.lock() = vec![1.0];
    clock.advance(1000);
    assert_eq!(alarms.evaluate_once().await, (1, 1));
    assert_eq!(alarms.inner.store.pending(10).unwrap().len(), 1);

    // Delete: 204, then 404 in WSME's envelope; history keeps a deletion.
    assert_eq!(
        call(&alarms, "DELETE", &format!("/v2/alarms/{id}"), None)
            .await
            .0,
        204
    );
    let (status, err) = call(&alarms, "GET", &format!("/v2/alarms/{id}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        err["error_message"]["faultstring"],
        format!("Alarm {id} not found")
    );
    let rows = alarms.inner.store.history_of(&id).unwrap();
    assert_eq!(rows.last().unwrap().type_, "deletion");
}

#[tokio::test]
async fn api_rejects_bad_alarms_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let alarms = Alarms::open(
        dir.path(),
        Arc::new(Values::default()),
        Arc::new(ManualClock::new(1_700_000_000_000)),
        config(),
        &mut Registry::default(),
    )
    .unwrap();
    let cases = [
        (
            json!({"type": "prometheus", "prometheus_rule": {"query": "x", "threshold": 1}}),
            400,
            "name",
        ),
        (
            json!({"name": "a", "type": "prometheus"}),
            400,
            "prometheus_rule must be set for prometheus type alarm",
        ),
        (
            json!({"name": "a", "type": "nope", "nope_rule": {}}),
            400,
            "Value should be one of",
        ),
        (
            json!({"name": "a", "type": "prometheus", "prometheus_rule": {"query": "x", "threshold": 1},
                "alarm_actions": ["ftp://x"]}),
            400,
            "Unsupported action ftp://x",
        ),
        (
            json!({"name": "a", "type": "prometheus", "prometheus_rule": {"query": "x", "threshold": 1},
                "alarm_actions": ["log://"]}),
            401,
            "You are not authorized to create action: log://",
        ),
        (
            json!({"name": "a", "type": "prometheus", "prometheus_rule": {"query": "x", "threshold": 1},
                "project_id": "other"}),
            401,
            "Not Authorized to access project other",
        ),
        (
            json!({"name": "a", "type": "prometheus", "prometheus_rule": {"query": "x", "threshold": 1},
                "severity": "huge"}),
            400,
            "severity",
        ),
    ];
    for (body, status, text) in cases {
        let (s, err) = call(&alarms, "POST", "/v2/alarms", Some(body.clone())).await;
        assert_eq!(s, status, "{body} -> {err}");
        let msg = err["error_message"]["faultstring"].as_str().unwrap_or("");
        assert!(msg.contains(text), "{body}: {msg:?} lacks {text:?}");
    }
    let (s, list) = call(&alarms, "GET", "/v2/alarms", None).await;
    assert_eq!((s, list), (200, json!([])));
    assert!(alarms.inner.store.history_all(None).unwrap().is_empty());
}

/// A real HTTP receiver: fails the first `fail` requests with 503.
async fn receiver(
    fail: usize,
) -> (
    String,
    Arc<Mutex<Vec<(axum::http::HeaderMap, String, u16)>>>,
) {
    let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String, u16)>>> = Arc::default();
    let n = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: axum::http::HeaderMap, body: String| {
            let (seen, n) = (s2.clone(), n.clone());
            async move {
                let status = if n.fetch_add(1, Ordering::SeqCst) < fail {
                    503
                } else {
                    200
                };
                seen.lock().push((h, body, status));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_is_retried_until_delivered_with_one_idempotency_key() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = receiver(2).await;
    let values = Arc::new(Values(Mutex::new(vec![99.0])));
    // The real clock: retries are scheduled on it.
    let alarms = Alarms::open(
        dir.path(),
        values,
        Arc::new(altimeter_model::SystemClock),
        config(),
        &mut Registry::default(),
    )
    .unwrap();
    let (s, created) = call(
        &alarms,
        "POST",
        "/v2/alarms",
        Some(
            json!({"name": "hot", "type": "prometheus", "severity": "critical",
            "prometheus_rule": {"query": "cpu", "threshold": 50, "comparison_operator": "gt"},
            "alarm_actions": [url]}),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let tasks = [tokio::spawn(notify::run(alarms.inner.clone()))];
    assert_eq!(alarms.evaluate_once().await.1, 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.lock().iter().all(|(_, _, s)| *s != 200) {
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {:?}",
            seen.lock()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let a wrongly repeated delivery show up, if there were one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tasks.iter().for_each(tokio::task::JoinHandle::abort);
    let seen = seen.lock().clone();
    assert_eq!(
        seen.iter().map(|x| x.2).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    let keys: std::collections::HashSet<&str> = seen
        .iter()
        .map(|(h, _, _)| h["idempotency-key"].to_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 1);
    let (h, body, _) = &seen[2];
    assert!(
        h["x-openstack-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req-")
    );
    assert_eq!(
        h["x-altimeter-signature"].to_str().unwrap(),
        notify::sign("s3cret", body.as_bytes())
    );
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["alarm_id"], created["alarm_id"]);
    assert_eq!(v["severity"], "critical");
    assert_eq!(
        (v["previous"].as_str(), v["current"].as_str()),
        (Some("insufficient data"), Some("alarm"))
    );
    let rows = alarms
        .inner
        .store
        .notifications(None, None, None, 10)
        .unwrap();
    assert_eq!(rows[0].state, store::Delivery::Delivered);
    assert_eq!(rows[0].attempts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_dead_lettered_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let values = Arc::new(Values(Mutex::new(vec![99.0])));
    let alarms = Alarms::open(
        dir.path(),
        values,
        Arc::new(altimeter_model::SystemClock),
        config(),
        &mut Registry::default(),
    )
    .unwrap();
    // Nothing listens on the receiver's path: 404 is permanent.
    let (url, seen) = receiver(0).await;
    let url = url.replace("/hook", "/missing");
    call(
        &alarms,
        "POST",
        "/v2/alarms",
        Some(json!({"name": "x", "type": "prometheus",
            "prometheus_rule": {"query": "cpu", "threshold": 50, "comparison_operator": "gt"},
            "alarm_actions": [url]})),
    )
    .await;
    let task = tokio::spawn(notify::run(alarms.inner.clone()));
    alarms.evaluate_once().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let (_, dead) = call(&alarms, "GET", "/v2/notifications?state=dead", None).await;
        if !dead.as_array().unwrap().is_empty() {
            break dead;
        }
        assert!(std::time::Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    task.abort();
    assert!(seen.lock().is_empty());
    assert_eq!(dead[0]["attempts"], 1);
    assert!(
        dead[0]["last_error"].as_str().unwrap().contains("404"),
        "{dead}"
    );
    let id = dead[0]["id"].as_str().unwrap();
    let (s, n) = call(
        &alarms,
        "POST",
        &format!("/v2/notifications/{id}/retry"),
        None,
    )
    .await;
    assert_eq!((s, n["state"].as_str()), (202, Some("pending")));
}
