//! The Prometheus HTTP API of the real binary: query, query_range, series,
//! labels, label values, federation and status endpoints, their errors, and
//! Prometheus's own client (`promtool`) talking to it.

mod common;

use altimeter_tsdb::ingest::remote_write::proto;
use common::{Client, Server, now_ms, series};
use serde_json::{Value, json};

/// A server with a small data set: `up` (2 series), two request counters
/// and a load gauge, every 30 s from `t0` to `t0 + 5m`.
struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    c: Client,
    /// Start of the data, a whole minute, ms.
    t0: i64,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("d"), &[]);
        let c = Client::new(&server.url);
        let t0 = now_ms() / 60_000 * 60_000 - 600_000;
        let mut text = String::new();
        for i in 0..=10 {
            let t = t0 + i * 30_000;
            text += &format!(
                "up{{job=\"api\",instance=\"a:1\"}} 1 {t}\n\
                 up{{job=\"api\",instance=\"b:1\"}} 0 {t}\n\
                 http_requests_total{{job=\"api\",code=\"200\"}} {} {t}\n\
                 http_requests_total{{job=\"api\",code=\"500\"}} {i} {t}\n",
                10 * i
            );
        }
        text += &format!(
            "node_load1{{job=\"node\",instance=\"a:1\"}} 0.5 {}\n",
            t0 + 300_000
        );
        let r = c.import(&text, "");
        assert_eq!(r.status(), 204, "{}", r.text());
        Fixture {
            _dir: dir,
            server,
            c,
            t0,
        }
    }

    /// Seconds since the epoch of `t0 + offset_ms`, as a query parameter.
    fn at(&self, offset_ms: i64) -> String {
        let t = self.t0 + offset_ms;
        if t % 1000 == 0 {
            (t / 1000).to_string()
        } else {
            format!("{}.{:03}", t / 1000, t % 1000)
        }
    }

    fn get(&self, path_and_query: &str) -> (u16, String) {
        let r = self.c.get(path_and_query);
        (r.status(), r.text())
    }

    fn post_form(&self, path: &str, form: &str) -> (u16, String) {
        let r = common::reqwest::blocking_client()
            .post(format!("{}{path}", self.server.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.as_bytes().to_vec())
            .send()
            .unwrap();
        (r.status(), r.text())
    }
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// RFC 3339 (UTC, whole seconds) of a time in ms.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = altimeter_model::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn success(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{body}");
    v["data"].clone()
}

fn assert_error(got: (u16, String), status: u16, error_type: &str, starts_with: &str) {
    let (s, body) = got;
    assert_eq!(s, status, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "error", "{body}");
    assert_eq!(v["errorType"], error_type, "{body}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.starts_with(starts_with),
        "{msg:?} does not start with {starts_with:?}"
    );
}

#[test]
fn instant_queries_answer_like_prometheus() {
    let f = Fixture::new();
    let t = f.at(300_000);
    // Exact bytes for one series, at a time with a millisecond fraction.
    let tf = f.at(300_500);
    let (s, body) = f.get(&format!(
        "/api/v1/query?query={}&time={tf}",
        enc(r#"up{instance="a:1"}"#)
    ));
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"__name__":"up","instance":"a:1","job":"api"}},"value":[{tf},"1"]}}]}}}}"#
        )
    );
    // Several series, an aggregation, a function.
    let data = success(&f.get(&format!("/api/v1/query?query=up&time={t}")).1);
    assert_eq!(data["resultType"], "vector");
    let mut got: Vec<(String, String)> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"]["instance"].as_str().unwrap().to_string(),
                r["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("a:1".into(), "1".into()), ("b:1".into(), "0".into())]
    );
    let data = success(&f.get(&format!("/api/v1/query?query=sum(up)&time={t}")).1);
    assert_eq!(
        data["result"],
        json!([{"metric": {}, "value": [t.parse::<i64>().unwrap(), "1"]}])
    );
    let q = enc(r#"rate(http_requests_total{code="200"}[1m])"#);
    let data = success(&f.get(&format!("/api/v1/query?query={q}&time={t}")).1);
    assert_eq!(
        data["result"][0]["metric"],
        json!({"code": "200", "job": "api"})
    );
    assert_eq!(data["result"][0]["value"][1], "0.3333333333333333");
    // POST with a form body (promtool and Grafana do this).
    let (s, body) = f.post_form(
        "/api/v1/query",
        &format!("query={}&time={t}", enc("sum(http_requests_total)")),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(success(&body)["result"][0]["value"][1], "110");
    // Scalars and strings are [time, "value"], time as a plain float.
    let (_, body) = f.get("/api/v1/query?query=1%2B1&time=100.5");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[100.5,"2"]}}"#
    );
    let (_, body) = f.get(&format!("/api/v1/query?query={}&time=7", enc(r#""a<b""#)));
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"string","result":[7,"a\u003cb"]}}"#
    );
    // A range selector is a matrix.
    let data = success(
        &f.get(&format!(
            "/api/v1/query?query={}&time={t}",
            enc(r#"http_requests_total{code="500"}[1m]"#)
        ))
        .1,
    );
    assert_eq!(data["resultType"], "matrix");
    let values: Vec<&str> = data["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["8", "9", "10"]);
    // No time: now, which is after the data's lookback window ends.
    let data = success(&f.get("/api/v1/query?query=up").1);
    assert_eq!(data["result"], json!([]));
}

#[test]
fn range_queries_answer_like_prometheus() {
    let f = Fixture::new();
    let (start, end) = (f.at(60_000), f.at(180_000));
    let (s, body) = f.get(&format!(
        "/api/v1/query_range?query={}&start={start}&end={end}&step=30s",
        enc(r#"http_requests_total{code="500"}"#)
    ));
    assert_eq!(s, 200, "{body}");
    let st: i64 = start.parse().unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"__name__":"http_requests_total","code":"500","job":"api"}},"values":[[{},"2"],[{},"3"],[{},"4"],[{},"5"],[{},"6"]]}}]}}}}"#,
            st,
            st + 30,
            st + 60,
            st + 90,
            st + 120
        )
    );
    // Float step, RFC 3339 times, POST.
    assert_eq!(rfc3339(1_435_781_451_781), "2015-07-01T20:10:51Z");
    let (s, body) = f.post_form(
        "/api/v1/query_range",
        &format!(
            "query={}&start={}&end={}&step=60",
            enc("sum by (job) (up)"),
            enc(&rfc3339(f.t0 + 60_000)),
            enc(&rfc3339(f.t0 + 180_000))
        ),
    );
    assert_eq!(s, 200, "{body}");
    let data = success(&body);
    assert_eq!(
        data["result"],
        json!([{"metric": {"job": "api"}, "values": [[st, "1"], [st + 60, "1"], [st + 120, "1"]]}])
    );
}

#[test]
fn query_errors_have_prometheus_types_and_statuses() {
    let f = Fixture::new();
    let t = f.at(300_000);
    assert_error(
        f.get(&format!("/api/v1/query?query={}", enc("sum(up"))),
        400,
        "bad_data",
        "invalid parameter \"query\": ",
    );
    assert_error(
        f.get("/api/v1/query"),
        400,
        "bad_data",
        "invalid parameter \"query\": ",
    );
    assert_error(
        f.get("/api/v1/query?query=up&time=x"),
        400,
        "bad_data",
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"x\" to a valid timestamp",
    );
    assert_error(
        f.get("/api/v1/query_range?query=up&start=x&end=10&step=1"),
        400,
        "bad_data",
        "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp",
    );
    assert_error(
        f.get("/api/v1/query_range?query=up&start=0&end=100000&step=1"),
        400,
        "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    );
    assert_error(
        f.get("/api/v1/query_range?query=up&start=10&end=0&step=1"),
        400,
        "bad_data",
        "invalid parameter \"end\": end timestamp must not be before start time",
    );
    assert_error(
        f.get("/api/v1/query_range?query=up&start=0&end=10&step=-1"),
        400,
        "bad_data",
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
    );
    // Many-to-many matching fails at evaluation: 422 execution.
    assert_error(
        f.get(&format!(
            "/api/v1/query?query={}&time={t}",
            enc("up + on(job) up")
        )),
        422,
        "execution",
        "",
    );
}

#[test]
fn series_labels_and_label_values() {
    let f = Fixture::new();
    let (s, body) = f.get(&format!("/api/v1/series?match[]={}", enc("up")));
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":[{"__name__":"up","instance":"a:1","job":"api"},{"__name__":"up","instance":"b:1","job":"api"}]}"#
    );
    // Several match[] are a union; start/end restrict to series with data.
    let data = success(
        &f.get(&format!(
            "/api/v1/series?match[]={}&match[]={}",
            enc(r#"{job="node"}"#),
            enc(r#"http_requests_total{code="500"}"#)
        ))
        .1,
    );
    assert_eq!(
        data,
        json!([
            {"__name__": "http_requests_total", "code": "500", "job": "api"},
            {"__name__": "node_load1", "instance": "a:1", "job": "node"}
        ])
    );
    let before_load = f.at(240_000);
    let data = success(
        &f.get(&format!(
            "/api/v1/series?match[]=node_load1&end={before_load}"
        ))
        .1,
    );
    assert_eq!(data, json!([]));
    let (s, body) = f.post_form(
        "/api/v1/series",
        &format!("match[]={}&start={}", enc("node_load1"), f.at(300_000)),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(success(&body).as_array().unwrap().len(), 1);

    assert_eq!(
        success(&f.get("/api/v1/labels").1),
        json!(["__name__", "code", "instance", "job"])
    );
    assert_eq!(
        success(&f.get("/api/v1/labels?match[]=node_load1").1),
        json!(["__name__", "instance", "job"])
    );
    assert_eq!(
        success(&f.get("/api/v1/label/__name__/values").1),
        json!(["http_requests_total", "node_load1", "up"])
    );
    assert_eq!(
        success(&f.get("/api/v1/label/job/values").1),
        json!(["api", "node"])
    );
    assert_eq!(
        success(
            &f.get(&format!("/api/v1/label/job/values?end={before_load}"))
                .1
        ),
        json!(["api"])
    );
    assert_eq!(
        success(
            &f.get(&format!("/api/v1/label/code/values?match[]={}", enc("up")))
                .1
        ),
        json!([])
    );

    assert_error(
        f.get("/api/v1/series"),
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    assert_error(
        f.get(&format!("/api/v1/series?match[]={}", enc(r#"{job=~".*"}"#))),
        400,
        "bad_data",
        "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher",
    );
    assert_error(
        f.get("/api/v1/series?match[]=up&end=soon"),
        400,
        "bad_data",
        "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"soon\" to a valid timestamp",
    );
    assert_error(
        f.get("/api/v1/label/not-a-name/values"),
        400,
        "bad_data",
        "invalid label name: \"not-a-name\"",
    );
}

#[test]
fn status_and_grafana_endpoints() {
    let f = Fixture::new();
    let data = success(&f.get("/api/v1/status/buildinfo").1);
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
    for k in ["revision", "branch", "buildUser", "buildDate", "goVersion"] {
        assert!(data[k].is_string(), "{k}: {data}");
    }
    let data = success(&f.get("/api/v1/status/runtimeinfo").1);
    assert_eq!(data["storageRetention"], "30d");
    assert!(data["startTime"].as_str().unwrap().ends_with('Z'));
    let data = success(&f.get("/api/v1/status/flags").1);
    assert_eq!(data["query.lookback-delta"], "5m");
    assert_eq!(data["query.timeout"], "2m");
    assert_eq!(
        success(&f.get("/api/v1/status/config").1),
        json!({"yaml": ""})
    );
    assert_eq!(success(&f.get("/api/v1/metadata").1), json!({}));
    assert_eq!(success(&f.get("/api/v1/rules").1), json!({"groups": []}));
    assert_eq!(success(&f.get("/api/v1/alerts").1), json!({"alerts": []}));
    assert_eq!(
        success(&f.get("/api/v1/query_exemplars?query=up&start=0&end=10").1),
        json!([])
    );
    assert_eq!(
        success(
            &f.get(&format!(
                "/api/v1/format_query?query={}",
                enc("sum(up)by(job)")
            ))
            .1
        ),
        json!("sum by (job) (up)")
    );
    // Methods Prometheus does not accept.
    let r = common::reqwest::blocking_client()
        .post(format!("{}/api/v1/status/buildinfo", f.server.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 405);
}

/// A fresh sample, an older one and a staleness marker, written now.
fn federation_data(c: &Client) -> i64 {
    let now = now_ms();
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let r = c.write(&proto::WriteRequest {
        timeseries: vec![
            series(
                &[
                    ("__name__", "fed_requests_total"),
                    ("job", "a"),
                    ("path", "/x\"y"),
                ],
                &[(now - 20_000, 3.0), (now - 2_000, 1_500_000.0)],
            ),
            series(
                &[("__name__", "fed_requests_total"), ("job", "b")],
                &[(now - 2_000, 0.25)],
            ),
            series(
                &[("__name__", "fed_gone"), ("job", "a")],
                &[(now - 20_000, 1.0), (now - 2_000, stale)],
            ),
            series(
                &[("__name__", "fed_old"), ("job", "a")],
                &[(now - 600_000, 1.0)],
            ),
        ],
        metadata: vec![],
    });
    assert_eq!(r.status(), 204, "{}", r.text());
    now
}

#[test]
fn federation_serves_latest_samples_promtool_can_read() {
    let f = Fixture::new();
    let now = federation_data(&f.c);
    let r = common::reqwest::blocking_client()
        .get(format!(
            "{}/federate?match[]={}",
            f.server.url,
            enc(r#"{job="a"}"#)
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text());
    let body = r.text();
    assert_eq!(
        body,
        format!(
            "# TYPE fed_requests_total untyped\nfed_requests_total{{job=\"a\",path=\"/x\\\"y\"}} 1.5e+06 {}\n",
            now - 2_000
        )
    );
    let (s, body) = f.get(&format!(
        "/federate?match[]={}&match[]={}",
        enc("fed_requests_total"),
        enc("fed_gone")
    ));
    assert_eq!(s, 200);
    assert_eq!(
        body.lines().filter(|l| l.starts_with("fed_")).count(),
        2,
        "{body}"
    );
    // promtool parses it. Its linter also asks for HELP text, which
    // federation never carries (nor does Prometheus's): that is the only
    // problem allowed.
    let (code, report) = common::promtool_check_metrics(&body);
    assert!(
        matches!(code, Some(0 | 3)),
        "promtool check metrics failed: {report}"
    );
    for line in report.lines() {
        assert!(
            line.ends_with(" no help text"),
            "unexpected problem: {line}"
        );
    }
    let (s, _) = f.get(&format!("/federate?match[]={}", enc("up{")));
    assert_eq!(s, 400);
}

fn promtool(args: &[&str]) -> String {
    let out = std::process::Command::new("promtool")
        .args(args)
        .output()
        .expect("promtool must be installed (scripts/setup.sh test installs it)");
    assert!(
        out.status.success(),
        "promtool {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn promtool_queries_the_server() {
    let f = Fixture::new();
    let url = f.server.url.as_str();
    let t = f.at(300_000);
    let out = promtool(&["query", "instant", "--time", &t, url, "up"]);
    assert_eq!(
        out,
        format!(
            "up{{instance=\"a:1\", job=\"api\"}} => 1 @[{t}]\nup{{instance=\"b:1\", job=\"api\"}} => 0 @[{t}]\n"
        )
    );
    let out = promtool(&[
        "query",
        "range",
        "--start",
        &f.at(60_000),
        "--end",
        &f.at(120_000),
        "--step",
        "1m",
        url,
        r#"http_requests_total{code="500"}"#,
    ]);
    let st: i64 = f.at(60_000).parse().unwrap();
    assert_eq!(
        out,
        format!(
            "http_requests_total{{code=\"500\", job=\"api\"}} =>\n2 @[{st}]\n4 @[{}]\n",
            st + 60
        )
    );
    let out = promtool(&["query", "series", "--match", "node_load1", url]);
    assert_eq!(
        out,
        "{__name__=\"node_load1\", instance=\"a:1\", job=\"node\"}\n"
    );
    let out = promtool(&["query", "labels", url, "job"]);
    assert_eq!(out, "api\nnode\n");
}
