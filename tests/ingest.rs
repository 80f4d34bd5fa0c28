//! End-to-end ingest through the real binary: remote-write and text import,
//! all-or-nothing validation, SQL, flush, restart, self-metrics.

mod common;

use altimeter_tsdb::ingest::remote_write::proto;
use common::{Client, Server, now_ms, series};

fn req(ts: Vec<proto::TimeSeries>) -> proto::WriteRequest {
    proto::WriteRequest {
        timeseries: ts,
        metadata: vec![],
    }
}

#[test]
fn bad_requests_are_rejected_whole_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = Client::new(&s.url);
    let t = now_ms();
    let good = series(&[("__name__", "ok_metric"), ("job", "a")], &[(t, 1.0)]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not snappy at all".to_vec(), "snappy"),
        (
            snap::raw::Encoder::new()
                .compress_vec(&[0x0a, 0x05, 0x01])
                .unwrap(),
            "protobuf",
        ),
        (
            altimeter_tsdb::ingest::remote_write::encode_request(&req(vec![
                good.clone(),
                series(&[("job", "no_name")], &[(t, 1.0)]),
            ])),
            "no metric name",
        ),
        (
            altimeter_tsdb::ingest::remote_write::encode_request(&req(vec![
                good.clone(),
                series(&[("__name__", "m"), ("bad-name", "x")], &[(t, 1.0)]),
            ])),
            "invalid label name",
        ),
        (
            altimeter_tsdb::ingest::remote_write::encode_request(&req(vec![
                good.clone(),
                series(&[("__name__", "m"), ("z", "1"), ("a", "2")], &[(t, 1.0)]),
            ])),
            "not sorted",
        ),
        (
            altimeter_tsdb::ingest::remote_write::encode_request(&req(vec![
                good.clone(),
                series(&[("__name__", "m"), ("a", "1"), ("a", "2")], &[(t, 1.0)]),
            ])),
            "duplicate label name",
        ),
        (
            altimeter_tsdb::ingest::remote_write::encode_request(&req(vec![
                good.clone(),
                series(&[("__name__", "m")], &[(t + 86_400_000, 1.0)]),
            ])),
            "outside the accepted range",
        ),
    ];
    for (body, want) in cases {
        let r = c.write_raw(body);
        assert_eq!(
            r.status(),
            400,
            "expected 400 mentioning {want:?}, got {} {}",
            r.status(),
            r.text()
        );
        assert!(
            r.text().contains(want),
            "{:?} should mention {want:?}",
            r.text()
        );
        assert!(r.text().contains("nothing from this request was stored"));
    }
    // An oversized body (default limit 32 MiB) is refused before decoding.
    // (its own connection: the server answers before reading the whole body
    // and closes that connection, which a pooled client would then reuse)
    let r = Client::new(&s.url).write_raw(vec![0u8; 33 << 20]);
    assert_eq!(r.status(), 400, "{}", r.text());
    assert!(r.text().contains("over the limit"), "{}", r.text());
    // Nothing was stored, not even the good series of the bad requests.
    assert_eq!(c.count_samples(), 0);
    let metrics = c.get("/metrics").text();
    for reason in [
        "bad_snappy",
        "bad_protobuf",
        "invalid_labels",
        "out_of_bounds",
        "too_large",
    ] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\"")),
            "no rejection counted for {reason}:\n{metrics}"
        );
    }
    // A good request goes through.
    assert_eq!(c.write(&req(vec![good])).status(), 204);
    assert_eq!(c.count_samples(), 1);
}

#[test]
fn write_query_flush_restart_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let s = Server::start(&data, &[]);
    let c = Client::new(&s.url);
    let t0 = now_ms() - 600_000;
    let mut ts = Vec::new();
    for h in 0..20 {
        let host = format!("h{h:02}");
        let samples: Vec<(i64, f64)> = (0..30)
            .map(|i| (t0 + i * 10_000, (h * 1000 + i) as f64 * 0.25))
            .collect();
        ts.push(series(
            &[("__name__", "cpu_seconds_total"), ("host", &host)],
            &samples,
        ));
    }
    let r = c.write(&req(ts.clone()));
    assert_eq!(r.status(), 204, "{}", r.text());
    assert_eq!(c.count_samples(), 600);
    // Re-sending the same request (a client retry) changes nothing.
    assert_eq!(c.write(&req(ts)).status(), 204);
    assert_eq!(c.count_samples(), 600);
    // Out-of-order within the window is accepted; same timestamp = last write wins.
    let late = series(
        &[("__name__", "cpu_seconds_total"), ("host", "h00")],
        &[(t0 + 5_000, 7.0), (t0, 99.5)],
    );
    assert_eq!(c.write(&req(vec![late])).status(), 204);
    assert_eq!(c.count_samples(), 601);
    let q = "SELECT s.value FROM samples s JOIN series r ON s.series_id = r.series_id \
             WHERE r.labels LIKE '%\"h00\"%' ORDER BY s.timestamp LIMIT 2";
    let rows = c.sql(q)["rows"].clone();
    assert_eq!(rows, serde_json::json!([[99.5], [7.0]]));

    let f = c.flush();
    assert_eq!(f["samples"], 601, "{f}");
    assert!(f["blocks"].as_u64().unwrap() >= 1);
    assert_eq!(c.count_samples(), 601);
    assert_eq!(c.sql(q)["rows"], serde_json::json!([[99.5], [7.0]]));
    // Overwrite a flushed sample: the head is newer than the block.
    let again = series(
        &[("__name__", "cpu_seconds_total"), ("host", "h00")],
        &[(t0, 1.5)],
    );
    assert_eq!(c.write(&req(vec![again])).status(), 204);
    assert_eq!(c.sql(q)["rows"], serde_json::json!([[1.5], [7.0]]));
    assert_eq!(c.count_samples(), 601);
    // Flush again, merging the two blocks of the same window: still one value per timestamp.
    let f = c.flush_compact();
    assert_eq!(f["blocks_compacted"], 1, "{f}");
    // The merged sources are gone from disk, not just from the block list.
    let on_disk = std::fs::read_dir(data.join("blocks")).unwrap().count();
    let live = c.get("/metrics").text();
    let live: usize = live
        .lines()
        .find_map(|l| l.strip_prefix("altimeter_blocks "))
        .and_then(|v| v.trim().parse().ok())
        .expect("altimeter_blocks gauge");
    assert_eq!(on_disk, live, "retired block directories left on disk");
    c.compact();
    assert_eq!(c.count_samples(), 601);
    assert_eq!(c.sql(q)["rows"], serde_json::json!([[1.5], [7.0]]));

    // Graceful restart, then kill -9 restart: everything is still there exactly once.
    s.stop();
    let s = Server::start(&data, &[]);
    let c = Client::new(&s.url);
    assert_eq!(c.count_samples(), 601);
    let extra = series(&[("__name__", "up"), ("job", "x")], &[(t0, 1.0)]);
    assert_eq!(c.write(&req(vec![extra])).status(), 204);
    s.kill9();
    let s = Server::start(&data, &[]);
    let c = Client::new(&s.url);
    assert_eq!(c.count_samples(), 602);
    assert_eq!(c.sql(q)["rows"], serde_json::json!([[1.5], [7.0]]));
    let series_rows = c.sql("SELECT count(*) FROM series")["rows"][0][0]
        .as_u64()
        .unwrap();
    assert_eq!(series_rows, 21);
    let labels = c.sql("SELECT value FROM labels WHERE name = 'job'")["rows"].clone();
    assert_eq!(labels, serde_json::json!([["x"]]));
}

#[test]
fn text_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = Client::new(&s.url);
    let t = now_ms() - 60_000;
    let body = format!(
        "# HELP m a metric\n# TYPE m gauge\nm{{a=\"1\"}} 1.5 {t}\nm{{a=\"1\"}} 2.5 {}\nm{{a=\"2\"}} NaN {t}\n",
        t + 1000
    );
    let r = c.import(&body, "?extra_label=env=test");
    assert_eq!(r.status(), 204, "{}", r.text());
    assert_eq!(c.count_samples(), 3);
    let rows = c.sql("SELECT value FROM labels WHERE name = 'env'")["rows"].clone();
    assert_eq!(rows, serde_json::json!([["test"], ["test"]]));
    let bad = format!("m{{a=\"3\"}} 1 {t}\nm{{a=\"4\" 1 {t}\n");
    let r = c.import(&bad, "");
    assert_eq!(r.status(), 400);
    assert!(r.text().contains("line 2"), "{}", r.text());
    assert_eq!(c.count_samples(), 3);
}

#[test]
fn sql_errors_and_health_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = Client::new(&s.url);
    assert_eq!(c.get("/-/healthy").status(), 200);
    assert_eq!(c.get("/-/ready").status(), 200);
    let r = c.sql_raw("SELECT nope FROM samples");
    assert_eq!(r.status(), 400);
    assert!(r.json()["error"].as_str().unwrap().contains("nope"));
    let r = c.sql_raw("CREATE TABLE x (a INT)");
    assert_eq!(r.status(), 400, "{}", r.text());
    let v = c.sql("SELECT 1 + 1 AS two, 'a' AS s, CAST('NaN' AS DOUBLE) AS n");
    assert_eq!(v["columns"], serde_json::json!(["two", "s", "n"]));
    assert_eq!(v["rows"], serde_json::json!([[2, "a", "NaN"]]));
}

#[test]
fn metrics_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let c = Client::new(&s.url);
    let t = now_ms();
    assert_eq!(
        c.write(&req(vec![series(&[("__name__", "x")], &[(t, 1.0)])]))
            .status(),
        204
    );
    c.flush();
    let body = c.get("/metrics").text();
    for name in [
        "altimeter_ingest_samples_total",
        "altimeter_wal_fsync_duration_seconds_bucket",
        "altimeter_head_flush_duration_seconds_count",
        "altimeter_blocks ",
        "altimeter_series ",
        "process_resident_memory_bytes",
    ] {
        assert!(body.contains(name), "{name} missing from /metrics:\n{body}");
    }
    let (code, report) = common::promtool_check_metrics(&body);
    assert_eq!(code, Some(0), "promtool check metrics failed: {report}");
}
