use std::sync::{Arc, OnceLock};

use altimeter_model::{Labels, ManualClock, Matcher, Sample};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::encode::{float_time, json_str, sample_time};
use super::*;
use crate::db::TsdbOptions;
use crate::metrics::TsdbMetrics;
use crate::promql::{InstantSample, Point, RangeSeries};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

#[test]
fn times_parse_like_prometheus() {
    assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
    assert_eq!(parse_time("1435781451"), Ok(1_435_781_451_000));
    assert_eq!(parse_time("-1.5"), Ok(-1500));
    assert_eq!(parse_time("1e3"), Ok(1_000_000));
    assert_eq!(
        parse_time("2015-07-01T20:10:51.781Z"),
        Ok(1_435_781_451_781)
    );
    assert_eq!(parse_time("2015-07-01T20:10:51Z"), Ok(1_435_781_451_000));
    assert_eq!(
        parse_time("2015-07-01T22:10:51.7819+02:00"),
        Ok(1_435_781_451_781)
    );
    assert_eq!(parse_time("1969-12-31T23:59:59.5Z"), Ok(-500));
    assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
    assert_eq!(parse_time("-292273086-05-16T16:47:06Z"), Ok(MIN_TIME_MS));
    assert_eq!(
        parse_time("292277025-08-18T07:12:54.999999999Z"),
        Ok(MAX_TIME_MS)
    );
    for bad in [
        "x",
        "",
        "2015-02-29T00:00:00Z",
        "2015-07-01 20:10:51Z",
        "NaN",
        "0x10",
    ] {
        assert_eq!(
            parse_time(bad),
            Err(format!("cannot parse {bad:?} to a valid timestamp")),
            "{bad}"
        );
    }
}

#[test]
fn durations_parse_like_prometheus() {
    const S: i64 = 1_000_000_000;
    assert_eq!(parse_duration("15s"), Ok(15 * S));
    assert_eq!(parse_duration("1m"), Ok(60 * S));
    assert_eq!(parse_duration("1h30m"), Ok(5400 * S));
    assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784 * S + 5_000_000));
    assert_eq!(parse_duration("1.5"), Ok(1_500_000_000));
    assert_eq!(parse_duration("0"), Ok(0));
    assert_eq!(parse_duration("-3"), Ok(-3 * S));
    for bad in ["", "30m1h", "1.5m", "5 s", "m", "1hh"] {
        assert_eq!(
            parse_duration(bad),
            Err(format!("cannot parse {bad:?} to a valid duration")),
            "{bad}"
        );
    }
    assert_eq!(
        parse_duration("1e20"),
        Err("cannot parse \"1e20\" to a valid duration. It overflows int64".to_string())
    );
}

#[test]
fn match_params_become_matcher_sets() {
    let sets = parse_match_params(&["up", r#"{job=~"a.*", instance!="x"}"#]).unwrap();
    assert_eq!(
        sets,
        vec![
            vec![Matcher::equal("__name__", "up")],
            vec![
                Matcher::new(altimeter_model::MatchOp::Regex, "job", "a.*").unwrap(),
                Matcher::new(altimeter_model::MatchOp::NotEqual, "instance", "x").unwrap(),
            ],
        ]
    );
    let sets = parse_match_params(&[r#"up{job="a"}"#]).unwrap();
    assert_eq!(
        sets,
        vec![vec![
            Matcher::equal("__name__", "up"),
            Matcher::equal("job", "a")
        ]]
    );
    for empty in ["{}", r#"{job=~".*"}"#, r#"{job=""}"#] {
        assert_eq!(
            parse_match_params(&[empty]),
            Err("match[] must contain at least one non-empty matcher".to_string()),
            "{empty}"
        );
    }
    assert!(parse_match_params(&["sum(up)"]).is_err());
    assert!(parse_match_params(&["up{"]).is_err());
    assert!(parse_match_params(&["up offset 5m"]).is_err());
    assert_eq!(parse_match_params(&[]), Ok(vec![]));
}

#[test]
fn params_merge_body_before_url() {
    let p = Params::from_pairs(&[("match[]", "a"), ("time", "1"), ("match[]", "b")]);
    assert_eq!(p.get("time"), "1");
    assert_eq!(p.get("nope"), "");
    assert_eq!(p.all("match[]"), vec!["a", "b"]);
}

#[test]
fn json_strings_escape_like_go() {
    let mut s = String::new();
    json_str(&mut s, "a<b>&\"c\\\n\t\u{1}\u{2028}é");
    assert_eq!(s, r#""a\u003cb\u003e\u0026\"c\\\n\t\u0001\u2028é""#);
}

#[test]
fn timestamps_encode_like_prometheus() {
    let enc = |f: fn(&mut String, i64), t| {
        let mut s = String::new();
        f(&mut s, t);
        s
    };
    assert_eq!(enc(sample_time, 1_435_781_451_781), "1435781451.781");
    assert_eq!(enc(sample_time, 1_500), "1.500");
    assert_eq!(enc(sample_time, 2_000), "2");
    assert_eq!(enc(sample_time, 5), "0.005");
    assert_eq!(enc(sample_time, -1_500), "-1.500");
    assert_eq!(enc(sample_time, 0), "0");
    assert_eq!(enc(float_time, 1_500), "1.5");
    assert_eq!(enc(float_time, 2_000), "2");
    assert_eq!(enc(float_time, 1_435_781_451_781), "1435781451.781");
}

#[test]
fn query_values_encode_like_prometheus() {
    let enc = |v: &QueryValue| {
        let mut s = String::new();
        query_data(&mut s, v);
        s
    };
    assert_eq!(
        enc(&QueryValue::Scalar { t: 1_500, v: 2.0 }),
        r#"{"resultType":"scalar","result":[1.5,"2"]}"#
    );
    assert_eq!(
        enc(&QueryValue::String {
            t: 1_000,
            s: "a\"b".into()
        }),
        r#"{"resultType":"string","result":[1,"a\"b"]}"#
    );
    assert_eq!(
        enc(&QueryValue::Vector(vec![
            InstantSample {
                labels: labels(&[("__name__", "up"), ("job", "a")]),
                t: 1_435_781_451_781,
                v: 1.0,
            },
            InstantSample {
                labels: Labels::default(),
                t: 1_000,
                v: f64::NAN,
            },
        ])),
        r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1435781451.781,"1"]},{"metric":{},"value":[1,"NaN"]}]}"#
    );
    assert_eq!(
        enc(&QueryValue::Vector(vec![])),
        r#"{"resultType":"vector","result":[]}"#
    );
    assert_eq!(
        enc(&QueryValue::Matrix(vec![RangeSeries {
            labels: labels(&[("job", "a")]),
            points: vec![
                Point { t: 0, v: 0.5 },
                Point {
                    t: 15_000,
                    v: f64::INFINITY
                }
            ],
        }])),
        r#"{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[0,"0.5"],[15,"+Inf"]]}]}"#
    );
}

#[test]
fn floats_format_like_go_g() {
    for (v, want) in [
        (1.0, "1"),
        (-2.5, "-2.5"),
        (100_000.0, "100000"),
        (123_456.0, "123456"),
        (1e6, "1e+06"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1.5e-7, "1.5e-07"),
        (1e21, "1e+21"),
        (0.1, "0.1"),
        (0.0, "0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ] {
        assert_eq!(go_float_g(v), want, "{v}");
    }
}

#[test]
fn federation_text_groups_by_name() {
    let text = federate_text(&[
        (labels(&[("__name__", "a"), ("x", "1")]), 1000, 1.0),
        (labels(&[("__name__", "a"), ("x", "q\"\\\nz")]), 2000, 2e6),
        (labels(&[("__name__", "b")]), 3000, 0.5),
        (labels(&[("x", "nameless")]), 3000, 0.5),
    ]);
    assert_eq!(
        text,
        "# TYPE a untyped\na{x=\"1\"} 1 1000\na{x=\"q\\\"\\\\\\nz\"} 2e+06 2000\n# TYPE b untyped\nb 0.5 3000\n"
    );
}

#[test]
fn status_helpers() {
    assert_eq!(rfc3339(1_435_781_451_781), "2015-07-01T20:10:51.781Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400_500), "2000-02-29T00:00:00.5Z");
    assert_eq!(duration_text(Duration::from_secs(300)), "5m");
    assert_eq!(duration_text(Duration::from_secs(30 * 86_400)), "30d");
    assert_eq!(duration_text(Duration::from_secs(14 * 86_400)), "2w");
    assert_eq!(duration_text(Duration::from_secs(5400)), "1h30m");
    assert_eq!(duration_text(Duration::ZERO), "0s");
}

// ---- routes, in process ------------------------------------------------------

const NOW: i64 = 1_700_000_000_000;

fn opts() -> ApiOptions {
    ApiOptions {
        engine: EngineOptions::default(),
        start_time_ms: NOW,
    }
}

async fn open_db(dir: &std::path::Path) -> (TsdbCell, Arc<Tsdb>) {
    let mut reg = prometheus_client::registry::Registry::default();
    let mut o = TsdbOptions::new(dir);
    o.retention = Duration::ZERO;
    let db = Tsdb::open(
        o,
        Arc::new(ManualClock::new(NOW)),
        Arc::new(TsdbMetrics::new(&mut reg)),
    )
    .await
    .unwrap();
    let cell: TsdbCell = Arc::new(OnceLock::new());
    let _ = cell.set(db.clone());
    (cell, db)
}

async fn write(db: &Tsdb, l: &[(&str, &str)], samples: &[(i64, f64)]) {
    let s: Vec<Sample> = samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect();
    db.write(&[(labels(l), &s[..])]).await.unwrap();
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, String) {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn every_route_is_unavailable_while_starting() {
    let app = router(Arc::new(OnceLock::new()), opts());
    for uri in [
        "/api/v1/query?query=up",
        "/api/v1/query_range?query=up&start=1&end=2&step=1",
        "/api/v1/series?match[]=up",
        "/api/v1/labels",
        "/api/v1/label/job/values",
        "/api/v1/metadata",
        "/api/v1/status/buildinfo",
        "/api/v1/rules",
    ] {
        let (status, ct, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(ct, "application/json");
        assert!(
            body.starts_with(r#"{"status":"error","errorType":"unavailable""#),
            "{body}"
        );
    }
    let (status, _, _) = get(&app, "/federate?match[]=up").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn series_labels_and_values_respect_time_and_matchers() {
    let dir = tempfile::tempdir().unwrap();
    let (cell, db) = open_db(dir.path()).await;
    write(
        &db,
        &[("__name__", "up"), ("job", "a")],
        &[(NOW - 60_000, 1.0)],
    )
    .await;
    write(
        &db,
        &[("__name__", "up"), ("job", "b<")],
        &[(NOW - 1_000, 0.0)],
    )
    .await;
    write(
        &db,
        &[("__name__", "load"), ("host", "h1")],
        &[(NOW - 1_000, 0.5)],
    )
    .await;
    let app = router(cell, opts());

    let (s, ct, body) = get(&app, "/api/v1/series?match[]=up").await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"__name__":"up","job":"a"},{"__name__":"up","job":"b\u003c"}]}"#
    );
    // Only series with data in [start, end]; RFC 3339 and float times.
    let start = (NOW - 10_000) / 1000;
    let (_, _, body) = get(
        &app,
        &format!("/api/v1/series?match[]=up&match[]=load&start={start}&end=2100-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"__name__":"load","host":"h1"},{"__name__":"up","job":"b\u003c"}]}"#
    );
    let (_, _, body) = get(&app, "/api/v1/labels").await;
    assert_eq!(
        body,
        r#"{"status":"success","data":["__name__","host","job"]}"#
    );
    let (_, _, body) = get(&app, "/api/v1/labels?match[]=up").await;
    assert_eq!(body, r#"{"status":"success","data":["__name__","job"]}"#);
    let (_, _, body) = get(&app, "/api/v1/label/__name__/values").await;
    assert_eq!(body, r#"{"status":"success","data":["load","up"]}"#);
    let end = (NOW - 30_000) / 1000;
    let (_, _, body) = get(&app, &format!("/api/v1/label/job/values?end={end}")).await;
    assert_eq!(body, r#"{"status":"success","data":["a"]}"#);
    let (_, _, body) = get(&app, "/api/v1/label/nothing/values").await;
    assert_eq!(body, r#"{"status":"success","data":[]}"#);

    // POST with a form body, as promtool and Grafana send it.
    let req = Request::post("/api/v1/series")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("match%5B%5D=load"))
        .unwrap();
    let (s, _, body) = call(&app, req).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"__name__":"load","host":"h1"}]}"#
    );

    // Errors, in Prometheus's words.
    for (uri, want) in [
        ("/api/v1/series", r#"no match[] parameter provided"#),
        (
            "/api/v1/series?match[]={job=~\".*\"}",
            r#"invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"#,
        ),
        (
            "/api/v1/series?match[]=up&start=x",
            r#"invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp"#,
        ),
        (
            "/api/v1/labels?match[]={}",
            r#"match[] must contain at least one non-empty matcher"#,
        ),
        ("/api/v1/label/a-b/values", r#"invalid label name: \"a-b\""#),
        (
            "/api/v1/rules?type=x",
            r#"invalid parameter \"type\": not supported value \"x\""#,
        ),
    ] {
        let uri = uri
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22");
        let (s, _, body) = get(&app, &uri).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(
            body,
            format!(r#"{{"status":"error","errorType":"bad_data","error":"{want}"}}"#),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn range_query_parameters_are_checked_before_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let (cell, _db) = open_db(dir.path()).await;
    let app = router(cell, opts());
    for (q, want) in [
        (
            "query=up&start=x&end=2&step=1",
            r#"invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"#,
        ),
        (
            "query=up&start=1&end=&step=1",
            r#"invalid parameter \"end\": cannot parse \"\" to a valid timestamp"#,
        ),
        (
            "query=up&start=2&end=1&step=1",
            r#"invalid parameter \"end\": end timestamp must not be before start time"#,
        ),
        (
            "query=up&start=1&end=2&step=1x",
            r#"invalid parameter \"step\": cannot parse \"1x\" to a valid duration"#,
        ),
        (
            "query=up&start=1&end=2&step=0",
            r#"invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"#,
        ),
        (
            "query=up&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "query=up&start=1&end=2&step=1&timeout=soon",
            r#"invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration"#,
        ),
    ] {
        let (s, _, body) = get(&app, &format!("/api/v1/query_range?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert_eq!(
            body,
            format!(r#"{{"status":"error","errorType":"bad_data","error":"{want}"}}"#),
            "{q}"
        );
    }
    // 11,000 points is still fine as far as the limit goes: the parse error
    // of the query comes next.
    let (s, _, body) = get(
        &app,
        "/api/v1/query_range?query=up(&start=0&end=11000&step=1",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains(r#""error":"invalid parameter \"query\": "#),
        "{body}"
    );
    let (s, _, body) = get(&app, "/api/v1/query?query=up&time=yesterday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains(r#"Invalid time value for 'time': cannot parse \"yesterday\""#),
        "{body}"
    );
}

#[tokio::test]
async fn federation_serves_the_latest_sample_but_no_staleness_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (cell, db) = open_db(dir.path()).await;
    let stale = f64::from_bits(STALE_NAN_BITS);
    write(
        &db,
        &[("__name__", "up"), ("job", "a")],
        &[(NOW - 20_000, 1.0), (NOW - 10_000, 2.0)],
    )
    .await;
    write(
        &db,
        &[("__name__", "up"), ("job", "gone")],
        &[(NOW - 20_000, 1.0), (NOW - 10_000, stale)],
    )
    .await;
    write(
        &db,
        &[("__name__", "up"), ("job", "old")],
        &[(NOW - 400_000, 1.0)],
    )
    .await;
    write(
        &db,
        &[("__name__", "mem"), ("host", "h")],
        &[(NOW - 5_000, 1.5e9)],
    )
    .await;
    let app = router(cell, opts());
    let (s, ct, body) = get(&app, "/federate?match[]=up&match[]=%7Bhost%3D%22h%22%7D").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        body,
        format!(
            "# TYPE mem untyped\nmem{{host=\"h\"}} 1.5e+09 {}\n# TYPE up untyped\nup{{job=\"a\"}} 2 {}\n",
            NOW - 5_000,
            NOW - 10_000
        )
    );
    let (s, _, body) = get(&app, "/federate").await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, ""));
    let (s, _, _) = get(&app, "/federate?match[]=up(").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn status_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (cell, _db) = open_db(dir.path()).await;
    let app = router(cell, opts());
    let (s, _, body) = get(&app, "/api/v1/status/buildinfo").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(v["data"][k].is_string(), "{k}");
    }
    let (_, _, body) = get(&app, "/api/v1/status/runtimeinfo").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["startTime"], "2023-11-14T22:13:20Z");
    assert_eq!(v["data"]["storageRetention"], "0s");
    let (_, _, body) = get(&app, "/api/v1/status/flags").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["query.lookback-delta"], "5m");
    assert_eq!(v["data"]["query.max-samples"], "50000000");
    for (uri, want) in [
        (
            "/api/v1/status/config",
            r#"{"status":"success","data":{"yaml":""}}"#,
        ),
        ("/api/v1/metadata", r#"{"status":"success","data":{}}"#),
        (
            "/api/v1/rules",
            r#"{"status":"success","data":{"groups":[]}}"#,
        ),
        (
            "/api/v1/alerts",
            r#"{"status":"success","data":{"alerts":[]}}"#,
        ),
        (
            "/api/v1/query_exemplars?query=up",
            r#"{"status":"success","data":[]}"#,
        ),
        (
            "/api/v1/format_query?query=sum(rate(x%5B5m%5D))",
            r#"{"status":"success","data":"sum(rate(x[5m]))"}"#,
        ),
    ] {
        let (s, _, body) = get(&app, uri).await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, want), "{uri}");
    }
}
