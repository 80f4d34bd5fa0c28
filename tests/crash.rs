//! Crash safety: the real binary is SIGKILLed while four clients write
//! concurrently (and while the head is being flushed, since the head limit
//! is tiny), then restarted. Every acknowledged sample must be there exactly
//! once; an unacknowledged in-flight request may be there or not, but whole.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use altimeter_tsdb::ingest::remote_write::proto;
use common::{Client, Server, now_ms, series};

const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 40;
const ROUNDS: usize = 4;

#[derive(Default, Clone)]
struct Ledger {
    /// Request numbers answered 204.
    acked: Vec<u64>,
    /// Request numbers whose answer never came (killed mid-request).
    unknown: Vec<u64>,
    next: u64,
}

fn request(w: usize, k: u64, t0: i64) -> proto::WriteRequest {
    let ts = (0..SERIES_PER_WRITER)
        .map(|i| {
            let w = w.to_string();
            let i = i.to_string();
            series(
                &[("__name__", "crash_test"), ("series", &i), ("writer", &w)],
                &[
                    (t0 + k as i64 * 1000, k as f64 * 2.0),
                    (t0 + k as i64 * 1000 + 500, k as f64 * 2.0 + 1.0),
                ],
            )
        })
        .collect();
    proto::WriteRequest {
        timeseries: ts,
        metadata: vec![],
    }
}

#[test]
fn sigkill_during_ingest_loses_no_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let cfg = dir.path().join("altimeter.toml");
    std::fs::write(
        &cfg,
        "[storage]\nhead_max_samples = 3000\nwal_segment_size = \"1MiB\"\n",
    )
    .unwrap();
    let cfg_arg = cfg.display().to_string();
    let t0 = now_ms() - 3_600_000;
    let ledgers: Arc<Mutex<Vec<Ledger>>> = Arc::new(Mutex::new(vec![Ledger::default(); WRITERS]));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..ROUNDS {
        let s = Server::start(&data, &["--config", &cfg_arg]);
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for w in 0..WRITERS {
            let url = s.url.clone();
            let ledgers = ledgers.clone();
            let stop = stop.clone();
            handles.push(std::thread::spawn(move || {
                let c = Client::new(&url);
                while !stop.load(Ordering::Relaxed) {
                    let k = {
                        let mut l = ledgers.lock().unwrap();
                        let k = l[w].next;
                        l[w].next += 1;
                        l[w].unknown.push(k);
                        k
                    };
                    let body =
                        altimeter_tsdb::ingest::remote_write::encode_request(&request(w, k, t0));
                    match c.try_write_raw(body) {
                        Ok(resp) if resp.status() == 204 => {
                            let mut l = ledgers.lock().unwrap();
                            l[w].unknown.retain(|x| *x != k);
                            l[w].acked.push(k);
                        }
                        _ => break, // the server is gone: k stays "unknown"
                    }
                }
            }));
        }
        // Kill at a pseudo-random moment between 0.4 and 2 s in.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(400 + seed % 1600));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().unwrap();
        }
        let l = ledgers.lock().unwrap();
        let acked: usize = l.iter().map(|x| x.acked.len()).sum();
        assert!(
            acked > 0,
            "round {round}: nothing was acknowledged before the kill"
        );
    }

    let s = Server::start(&data, &["--config", &cfg_arg]);
    let c = Client::new(&s.url);
    let l = ledgers.lock().unwrap().clone();
    // Every series of a writer has the same sample count (requests are atomic)
    // and no duplicate timestamps.
    let agg = c.sql(
        "SELECT l.value AS writer, s.series_id, count(*) AS n, count(DISTINCT s.timestamp) AS d \
         FROM samples s JOIN labels l ON s.series_id = l.series_id AND l.name = 'writer' \
         GROUP BY l.value, s.series_id",
    );
    let mut per_writer: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for row in agg["rows"].as_array().unwrap() {
        per_writer
            .entry(row[0].as_str().unwrap().to_string())
            .or_default()
            .push((row[2].as_u64().unwrap(), row[3].as_u64().unwrap()));
    }
    assert_eq!(per_writer.len(), WRITERS, "{agg}");
    for (w, counts) in &per_writer {
        assert_eq!(
            counts.len(),
            SERIES_PER_WRITER,
            "writer {w}: series missing"
        );
        for (n, d) in counts {
            assert_eq!(n, d, "writer {w}: duplicate samples");
            assert_eq!(
                *n, counts[0].0,
                "writer {w}: a request was stored partially"
            );
        }
    }
    // Exact check on one series per writer: every acknowledged request is
    // there with its values; anything else present was in flight.
    for (w, ledger) in l.iter().enumerate() {
        let rows = c.sql(&format!(
            "SELECT s.timestamp, s.value FROM samples s \
             JOIN series r ON s.series_id = r.series_id \
             WHERE r.labels = '{{\"__name__\":\"crash_test\",\"series\":\"7\",\"writer\":\"{w}\"}}' \
             ORDER BY s.timestamp"
        ));
        let got: Vec<f64> = rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[1].as_f64().unwrap())
            .collect();
        let mut present: Vec<u64> = got
            .iter()
            .filter(|v| (**v as u64).is_multiple_of(2))
            .map(|v| *v as u64 / 2)
            .collect();
        present.sort_unstable();
        for k in &ledger.acked {
            assert!(
                present.binary_search(k).is_ok(),
                "writer {w}: acknowledged request {k} lost"
            );
        }
        for k in &present {
            assert!(
                ledger.acked.contains(k) || ledger.unknown.contains(k),
                "writer {w}: request {k} present but never sent"
            );
        }
        assert_eq!(
            got.len(),
            present.len() * 2,
            "writer {w}: a request's two samples were split"
        );
    }
    let total: u64 = c.count_samples();
    let acked: u64 =
        l.iter().map(|x| x.acked.len() as u64).sum::<u64>() * SERIES_PER_WRITER as u64 * 2;
    let unknown: u64 =
        l.iter().map(|x| x.unknown.len() as u64).sum::<u64>() * SERIES_PER_WRITER as u64 * 2;
    assert!(
        total >= acked && total <= acked + unknown,
        "total {total}, acked {acked}, in flight {unknown}"
    );
    let logs = s.logs();
    assert!(logs.contains("WAL replayed"), "{logs}");
}
