//! The Gnocchi router in-process: real catalog (SQLite in a temp dir),
//! real TSDB, requests through `tower::ServiceExt::oneshot`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use altimeter_model::{Labels, ManualClock, Matcher, Sample};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::gnocchi::{Gnocchi, GnocchiMetrics};
use crate::http::TsdbCell;
use crate::{Tsdb, TsdbMetrics, TsdbOptions};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;
const ADMIN: &str = "basic YWRtaW46";

struct Env {
    app: Router,
    db: Arc<Tsdb>,
    g: Arc<Gnocchi>,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let (app, db, g) = open_all(dir.path()).await;
    Env {
        app,
        db,
        g,
        _dir: dir,
    }
}

async fn open(dir: &std::path::Path) -> (Router, Arc<Tsdb>) {
    let (app, db, _) = open_all(dir).await;
    (app, db)
}

async fn open_all(dir: &std::path::Path) -> (Router, Arc<Tsdb>, Arc<Gnocchi>) {
    let mut reg = prometheus_client::registry::Registry::default();
    let mut o = TsdbOptions::new(dir);
    o.retention = Duration::ZERO;
    let clock = Arc::new(ManualClock::new(NOW));
    let db = Tsdb::open(o, clock.clone(), Arc::new(TsdbMetrics::new(&mut reg)))
        .await
        .unwrap();
    let cell: TsdbCell = Arc::new(OnceLock::new());
    let _ = cell.set(db.clone());
    let g = Gnocchi::open(dir, cell, clock, GnocchiMetrics::new(&mut reg)).unwrap();
    (super::router(g.clone()), db, g)
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    call_h(app, method, uri, body, &[("authorization", ADMIN)])
        .await
        .0
}

async fn call_h(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> ((StatusCode, Value), axum::http::HeaderMap) {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(j) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(j.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let h = r.headers().clone();
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    ((status, v), h)
}

fn ts(s: u32) -> String {
    // NOW − 1 h + s seconds.
    let t = chrono::DateTime::from_timestamp_millis(NOW - 3_600_000 + i64::from(s) * 1000).unwrap();
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[tokio::test]
async fn unauthenticated_requests_get_401_in_gnocchis_envelope() {
    let e = env().await;
    let ((st, body), _) = call_h(&e.app, "GET", "/v1/archive_policy", None, &[]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], 401);
    assert_eq!(body["title"], "Unauthorized");
    let ((st, _), _) = call_h(
        &e.app,
        "GET",
        "/v1/archive_policy",
        None,
        &[("x-user-id", "u"), ("x-project-id", "p")],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn builtin_policies_and_types_exist() {
    let e = env().await;
    let (st, list) = call(&e.app, "GET", "/v1/archive_policy", None).await;
    assert_eq!(st, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [
        "low",
        "medium",
        "high",
        "bool",
        "ceilometer-low",
        "ceilometer-low-rate",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let (st, t) = call(&e.app, "GET", "/v1/resource_type/instance", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t["attributes"]["flavor_id"]["required"], true);
}

#[tokio::test]
async fn measures_round_trip_at_every_granularity() {
    let e = env().await;
    let (st, _) = call(
        &e.app,
        "POST",
        "/v1/archive_policy",
        Some(json!({"name": "t", "back_window": 0, "aggregation_methods": ["mean", "max", "count"],
                    "definition": [{"granularity": "1 minute", "points": 120}, {"granularity": "5 minutes", "points": 24}]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, m) = call(
        &e.app,
        "POST",
        "/v1/metric",
        Some(json!({"archive_policy_name": "t", "name": "temp", "unit": "C"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    assert_eq!(m["archive_policy_name"], "t");
    let id = m["id"].as_str().unwrap().to_string();
    let measures: Vec<Value> = (0..10)
        .map(|i| json!({"timestamp": ts(i * 30), "value": f64::from(i)}))
        .collect();
    let (st, _) = call(
        &e.app,
        "POST",
        &format!("/v1/metric/{id}/measures"),
        Some(Value::Array(measures)),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (st, out) = call(&e.app, "GET", &format!("/v1/metric/{id}/measures"), None).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let out = out.as_array().unwrap();
    // Coarsest first: the 5-minute buckets, then the 1-minute ones.
    assert_eq!(out[0][1], 300.0);
    assert_eq!(out.last().unwrap()[1], 60.0);
    let minute: Vec<f64> = out
        .iter()
        .filter(|p| p[1] == 60.0)
        .map(|p| p[2].as_f64().unwrap())
        .collect();
    assert_eq!(minute, vec![0.5, 2.5, 4.5, 6.5, 8.5]);
    let (st, mx) = call(
        &e.app,
        "GET",
        &format!("/v1/metric/{id}/measures?aggregation=max&granularity=300"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mx.as_array().unwrap().last().unwrap()[2], 9.0);
    // Not in the policy: Gnocchi's 404s.
    let (st, err) = call(
        &e.app,
        "GET",
        &format!("/v1/metric/{id}/measures?aggregation=min"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        err["description"]["cause"],
        "Aggregation method does not exist for this metric"
    );
    let (st, err) = call(
        &e.app,
        "GET",
        &format!("/v1/metric/{id}/measures?granularity=1"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(
        err["description"]
            .as_str()
            .unwrap()
            .contains("at granularity '1.0'"),
        "{err}"
    );
    // The same data through PromQL's storage view.
    let series =
        e.db.select(
            &[Matcher::equal("metric_id", id.clone())],
            i64::MIN,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels.metric_name(), "temp");
    assert_eq!(series[0].samples.len(), 10);
}

#[tokio::test]
async fn batch_with_an_unknown_metric_stores_nothing() {
    let e = env().await;
    let (_, m) = call(
        &e.app,
        "POST",
        "/v1/metric",
        Some(json!({"archive_policy_name": "low"})),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_string();
    let unknown = "5f9d2f4b-6b1c-4c53-9d5e-000000000000";
    let (st, err) = call(
        &e.app,
        "POST",
        "/v1/batch/metrics/measures",
        Some(json!({id.clone(): [{"timestamp": ts(0), "value": 1}], unknown: [{"timestamp": ts(0), "value": 1}]})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["description"], format!("Unknown metrics: {unknown}"));
    let (_, out) = call(&e.app, "GET", &format!("/v1/metric/{id}/measures"), None).await;
    assert_eq!(out, json!([]));
    // Bad timestamps are refused too, with nothing stored.
    let (st, err) = call(
        &e.app,
        "POST",
        &format!("/v1/metric/{id}/measures"),
        Some(json!([{"timestamp": ts(0), "value": 1}, {"timestamp": "yesterday-ish", "value": 2}])),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    let (_, out) = call(&e.app, "GET", &format!("/v1/metric/{id}/measures"), None).await;
    assert_eq!(out, json!([]));
}

#[tokio::test]
async fn resources_have_uuid5_ids_revisions_and_etags() {
    let e = env().await;
    let (st, r) = call(
        &e.app,
        "POST",
        "/v1/resource/generic",
        Some(json!({"id": "my-host-1", "project_id": "p1", "metrics": {"load": {"archive_policy_name": "low"}}})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    assert_ne!(id, "my-host-1");
    assert_eq!(r["original_resource_id"], "my-host-1");
    assert_eq!(r["creator"], "admin");
    assert!(r["metrics"]["load"].is_string());
    // Found by its original id too; same id again is a conflict.
    let ((st, got), h) = call_h(
        &e.app,
        "GET",
        "/v1/resource/generic/my-host-1",
        None,
        &[("authorization", ADMIN)],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["id"], id);
    let etag = h.get(header::ETAG).unwrap().to_str().unwrap().to_string();
    let (st, _) = call(
        &e.app,
        "POST",
        "/v1/resource/generic",
        Some(json!({"id": "my-host-1"})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    // A stale If-Match is refused.
    let ((st, _), _) = call_h(
        &e.app,
        "PATCH",
        &format!("/v1/resource/generic/{id}"),
        Some(json!({"user_id": "u2"})),
        &[("authorization", ADMIN), ("if-match", "\"0000\"")],
    )
    .await;
    assert_eq!(st, StatusCode::PRECONDITION_FAILED);
    let ((st, _), _) = call_h(
        &e.app,
        "PATCH",
        &format!("/v1/resource/generic/{id}"),
        Some(json!({"user_id": "u2"})),
        &[("authorization", ADMIN), ("if-match", &etag)],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, hist) = call(
        &e.app,
        "GET",
        &format!("/v1/resource/generic/{id}/history"),
        None,
    )
    .await;
    let hist = hist.as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["user_id"], Value::Null);
    assert!(hist[0]["revision_end"].is_string());
    assert_eq!(hist[1]["user_id"], "u2");
    // Search, string and JSON forms.
    let (st, found) = call(
        &e.app,
        "POST",
        "/v1/search/resource/generic?filter=project_id%20%3D%20%27p1%27%20and%20user_id%20%3D%20%27u2%27",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, none) = call(
        &e.app,
        "POST",
        "/v1/search/resource/generic",
        Some(json!({"=": {"project_id": "other"}})),
    )
    .await;
    assert_eq!(none, json!([]));
    // Another project's user does not see it.
    let ((_, seen), _) = call_h(
        &e.app,
        "GET",
        "/v1/resource/generic",
        None,
        &[
            ("x-user-id", "x"),
            ("x-project-id", "p2"),
            ("x-roles", "member"),
        ],
    )
    .await;
    assert_eq!(seen, json!([]));
}

#[tokio::test]
async fn batch_by_resource_reports_unknown_resources_for_ceilometer() {
    let e = env().await;
    let rid = "3d2c9a4e-8f7b-4c1d-9e0a-1b2c3d4e5f60";
    let body = json!({rid: {"cpu": {"archive_policy_name": "ceilometer-low-rate", "unit": "ns",
                                     "measures": [{"timestamp": ts(0), "value": 1.0e12}]}}});
    let (st, err) = call(
        &e.app,
        "POST",
        "/v1/batch/resources/metrics/measures?create_metrics=true",
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["description"]["cause"], "Unknown resources");
    assert_eq!(err["description"]["detail"][0]["resource_id"], rid);
    let (st, _) = call(
        &e.app,
        "POST",
        "/v1/resource/instance",
        Some(json!({"id": rid, "flavor_id": "1", "display_name": "vm", "flavor_name": "m1.tiny", "project_id": "p"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = call(
        &e.app,
        "POST",
        "/v1/batch/resources/metrics/measures?create_metrics=true",
        Some(body),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    // Measures posted through the API are a series of their own, exactly
    // as posted, selectable in PromQL by resource.
    let s =
        e.db.select(
            &[
                Matcher::equal("__name__", "cpu"),
                Matcher::equal("resource_id", rid),
            ],
            i64::MIN,
            i64::MAX,
        )
        .await
        .unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].samples[0].v, 1.0e12);
    assert_eq!(s[0].labels.get("project_id"), Some("p"));
}

#[tokio::test]
async fn agent_samples_appear_as_the_instance_cpu_metric() {
    let e = env().await;
    let rid = "8b7a6c5d-4e3f-4a1b-9c2d-3e4f5a6b7c8d";
    let (st, r) = call(
        &e.app,
        "POST",
        "/v1/resource/instance",
        Some(json!({"id": rid, "flavor_id": "1", "display_name": "vm", "flavor_name": "m1.tiny"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    // What the agent pushes: seconds, labelled by instance_id.
    let labels = Labels::from_pairs([
        ("__name__", "instance_cpu_seconds_total"),
        ("instance_id", rid),
        ("host", "compute1"),
    ])
    .unwrap();
    let base = NOW - 3_600_000;
    let samples: Vec<Sample> = (0..4)
        .map(|i| Sample::new(base + i * 300_000, 10.0 * i as f64))
        .collect();
    e.db.write(&[(labels, &samples[..])]).await.unwrap();
    // Discovery adds the meter to the resource created through the API.
    assert_eq!(e.g.discover().unwrap(), (0, 1));
    let (st, out) = call(
        &e.app,
        "GET",
        &format!("/v1/resource/instance/{rid}/metric/cpu/measures?aggregation=rate:mean"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let vals: Vec<f64> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[2].as_f64().unwrap())
        .collect();
    // 10 s of CPU per 5 minutes, in Ceilometer's nanoseconds.
    assert_eq!(vals, vec![1e10, 1e10, 1e10]);
}

#[tokio::test]
async fn catalog_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let (app, db) = open(dir.path()).await;
        let (st, r) = call(
            &app,
            "POST",
            "/v1/resource/generic",
            Some(json!({"id": "kept", "metrics": {"m": {"archive_policy_name": "low"}}})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        db.close();
        r["id"].as_str().unwrap().to_string()
    };
    let (app, _db) = open(dir.path()).await;
    let (st, r) = call(&app, "GET", &format!("/v1/resource/generic/{id}"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(r["metrics"]["m"].is_string());
}

#[tokio::test]
async fn sealed_rollups_answer_like_the_raw_computation() {
    let e = env().await;
    let (st, _) = call(
        &e.app,
        "POST",
        "/v1/archive_policy",
        Some(json!({"name": "r", "back_window": 0,
                    "aggregation_methods": ["mean", "max", "sum", "rate:mean", "last"],
                    "definition": [{"granularity": "1 minute", "timespan": "1 hour"},
                                   {"granularity": "5 minutes", "timespan": "1 day"}]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, m) = call(
        &e.app,
        "POST",
        "/v1/metric",
        Some(json!({"archive_policy_name": "r"})),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_string();
    let measures: Vec<Value> = (0..120)
        .map(|i| json!({"timestamp": ts(i * 29), "value": f64::from(i * 7 % 13)}))
        .collect();
    call(
        &e.app,
        "POST",
        &format!("/v1/metric/{id}/measures"),
        Some(Value::Array(measures)),
    )
    .await;
    let mut before = Vec::new();
    for agg in ["mean", "max", "sum", "rate:mean", "last"] {
        let (_, out) = call(
            &e.app,
            "GET",
            &format!("/v1/metric/{id}/measures?aggregation={agg}"),
            None,
        )
        .await;
        before.push(out);
    }
    assert!(e.g.seal_all().await > 0, "nothing was sealed");
    assert!(e.g.rollups.watermark(&id).is_some());
    for (i, agg) in ["mean", "max", "sum", "rate:mean", "last"]
        .iter()
        .enumerate()
    {
        let (_, out) = call(
            &e.app,
            "GET",
            &format!("/v1/metric/{id}/measures?aggregation={agg}"),
            None,
        )
        .await;
        assert_eq!(out, before[i], "{agg}");
    }
    // A measure older than the back window is dropped silently (202), as
    // Gnocchi does, and changes nothing.
    let (st, _) = call(
        &e.app,
        "POST",
        &format!("/v1/metric/{id}/measures"),
        Some(json!([{"timestamp": ts(0), "value": 1000.0}])),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (_, out) = call(
        &e.app,
        "GET",
        &format!("/v1/metric/{id}/measures?aggregation=mean"),
        None,
    )
    .await;
    assert_eq!(out, before[0]);
}

#[tokio::test]
async fn agent_guests_are_discovered_as_instance_resources() {
    let e = env().await;
    let rid = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
    let base = NOW - 3_600_000;
    for (name, v) in [
        ("instance_cpu_seconds_total", 10.0),
        ("instance_memory_usage_bytes", 512.0 * 1024.0 * 1024.0),
    ] {
        let labels = Labels::from_pairs([
            ("__name__", name),
            ("instance_id", rid),
            ("host", "compute1"),
            ("domain", "instance-0001"),
            ("display_name", "web-1"),
            ("flavor", "m1.small"),
            ("project_id", "p1"),
            ("user_id", "u1"),
        ])
        .unwrap();
        e.db.write(&[(labels, &[Sample::new(base, v)][..])])
            .await
            .unwrap();
    }
    // A non-guest series and a guest without a UUID are ignored.
    let other =
        Labels::from_pairs([("__name__", "instance_vcpus"), ("instance_id", "nope")]).unwrap();
    e.db.write(&[(other, &[Sample::new(base, 1.0)][..])])
        .await
        .unwrap();
    let (resources, metrics) = e.g.discover().unwrap();
    assert_eq!((resources, metrics), (1, 2));
    assert_eq!(
        e.g.discover().unwrap(),
        (0, 0),
        "a second pass adds nothing"
    );
    let (st, list) = call(&e.app, "GET", "/v1/resource/instance", None).await;
    assert_eq!(st, StatusCode::OK);
    let r = &list.as_array().unwrap()[0];
    assert_eq!(r["id"], rid);
    assert_eq!(r["display_name"], "web-1");
    assert_eq!(r["flavor_name"], "m1.small");
    assert_eq!(r["host"], "compute1");
    assert_eq!(r["project_id"], "p1");
    let cpu = r["metrics"]["cpu"].as_str().unwrap();
    let (_, m) = call(&e.app, "GET", &format!("/v1/metric/{cpu}"), None).await;
    assert_eq!(m["archive_policy"]["name"], "ceilometer-low-rate");
    assert_eq!(m["unit"], "ns");
    let (_, out) = call(
        &e.app,
        "GET",
        &format!("/v1/resource/instance/{rid}/metric/memory.usage/measures"),
        None,
    )
    .await;
    assert_eq!(out.as_array().unwrap()[0][2], 512.0, "{out}");
}
