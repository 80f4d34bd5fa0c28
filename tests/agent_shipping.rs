//! The agent keeps shipping through receiver outages and its own crashes:
//! a real HTTP remote-write receiver goes away and comes back, the real
//! `altimeter agent` binary spools meanwhile, and every poll taken arrives
//! exactly once, in order.
//!
//! What "every poll" means here: the agent writes one poll cycle as one
//! spool record and a record is never split across requests, so a poll
//! arrives whole or not at all. The tests therefore follow one series
//! that is in every host poll (`node_load1`): no gap in its timestamps
//! longer than a few intervals means no poll was lost; no repeated
//! timestamp in any series means nothing arrived twice.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altimeter_tsdb::ingest::remote_write::{BodyLimits, decode, decompress};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::reqwest::blocking_client;
use common::{free_port, now_ms};

/// One received sample: series (labels rendered), timestamp, value bits.
type Got = (String, i64, u64);

/// A remote-write receiver that can be taken down and brought back on the
/// same port.
struct Receiver {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn receive(State(got): State<Arc<Mutex<Vec<Got>>>>, body: Bytes) -> StatusCode {
    let limits = BodyLimits {
        max_body: 64 << 20,
        max_decompressed: 256 << 20,
    };
    let Ok(raw) = decompress(&body, limits) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(batch) = decode(&raw) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut g = got.lock().unwrap();
    for (labels, samples) in batch.entries() {
        let key = format!("{:?}", labels.pairs());
        for s in samples {
            g.push((key.clone(), s.t, s.v.to_bits()));
        }
    }
    StatusCode::NO_CONTENT
}

impl Receiver {
    fn new() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Receiver {
            rt,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            got: Arc::default(),
            task: None,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    fn up(&mut self) {
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .expect("rebinding the receiver's port");
        let app = Router::new()
            .route("/api/v1/write", post(receive))
            .with_state(self.got.clone());
        self.task = Some(self.rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Closes the listener and every open connection at once.
    fn down(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = self.rt.block_on(t);
        }
    }

    fn received(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// A running `altimeter agent`, killed on drop.
struct Agent {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl Agent {
    fn start(spool: &Path, remote_write: &str, interval: &str) -> Agent {
        let port = free_port();
        let log = spool.with_extension(format!("log-{port}"));
        let child = Command::new(env!("CARGO_BIN_EXE_altimeter"))
            .args(["agent", "--pollsters", "host", "--interval", interval])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--remote-write")
            .arg(remote_write)
            .arg("--spool-dir")
            .arg(spool)
            .env("ALTIMETER_LOG", "info")
            .env_remove("ALTIMETER_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawning altimeter agent");
        let a = Agent {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        a.wait_for(
            "ready",
            || {
                blocking_client()
                    .get(format!("{}/-/ready", a.url))
                    .send()
                    .is_ok_and(|r| r.status() == 200)
            },
            30,
        );
        a
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, mut f: impl FnMut() -> bool, secs: u64) {
        let t0 = Instant::now();
        while !f() {
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "agent not {what} after {secs} s; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sum of a self-metric over its series.
    fn metric(&self, name: &str) -> f64 {
        let body = blocking_client()
            .get(format!("{}/metrics", self.url))
            .send()
            .expect("scraping the agent")
            .text();
        body.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "agent exited with {status}; log:\n{}",
            self.logs()
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks exactly-once and order; returns node_load1's timestamps.
fn check_received(got: &[Got]) -> Vec<i64> {
    assert!(!got.is_empty(), "nothing received");
    let mut last: HashMap<&str, i64> = HashMap::new();
    for (series, t, _) in got {
        if let Some(prev) = last.insert(series, *t) {
            assert!(
                *t > prev,
                "series {series}: timestamp {t} arrived after {prev} (duplicate or out of order)"
            );
        }
    }
    got.iter()
        .filter(|(s, _, _)| s.contains("\"node_load1\""))
        .map(|(_, t, _)| *t)
        .collect()
}

/// Gaps between consecutive timestamps longer than `max_ms`.
fn gaps(ts: &[i64], max_ms: i64) -> Vec<(i64, i64)> {
    ts.windows(2)
        .filter(|w| w[1] - w[0] > max_ms)
        .map(|w| (w[0], w[1]))
        .collect()
}

const INTERVAL_MS: i64 = 250;
/// No loss means consecutive polls are one interval apart; a busy machine
/// may delay a poll, so allow several. An outage lasts 3 s (12 polls).
const MAX_GAP_MS: i64 = 1500;

#[test]
fn every_poll_arrives_once_in_order_across_a_receiver_outage() {
    let dir = tempfile::tempdir().unwrap();
    let mut rx = Receiver::new();
    rx.up();
    let agent = Agent::start(&dir.path().join("spool"), &rx.url(), "250ms");
    agent.wait_for(
        "shipping",
        || agent.metric("altimeter_agent_samples_sent_total") > 0.0,
        30,
    );

    // Outage: the receiver's port is closed.
    rx.down();
    let outage_start = now_ms();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        agent.metric("altimeter_agent_spool_pending_samples") > 0.0,
        "samples taken during the outage wait in the spool"
    );
    assert_eq!(agent.metric("altimeter_agent_destination_up"), 0.0);
    assert!(agent.metric("altimeter_agent_send_failures_total") >= 1.0);
    let outage_end = now_ms();

    rx.up();
    agent.wait_for(
        "caught up",
        || {
            agent.metric("altimeter_agent_spool_pending_samples") == 0.0
                && agent.metric("altimeter_agent_destination_up") == 1.0
        },
        30,
    );
    let sent = agent.metric("altimeter_agent_samples_sent_total");
    let dropped = agent.metric("altimeter_agent_samples_dropped_total");
    // Stop polling before counting: polls after the scrape above would
    // otherwise race the comparison.
    agent.stop();

    let got = rx.received();
    let load = check_received(&got);
    assert_eq!(dropped, 0.0, "nothing dropped");
    assert!(
        got.len() as f64 >= sent,
        "the receiver has at least what the agent counted as delivered ({} < {sent})",
        got.len()
    );
    let during: Vec<_> = load
        .iter()
        .filter(|t| (outage_start..outage_end).contains(t))
        .collect();
    assert!(
        during.len() >= 6,
        "polls taken during the 3 s outage arrived afterwards: {}",
        during.len()
    );
    assert_eq!(
        gaps(&load, MAX_GAP_MS),
        vec![],
        "no poll lost (node_load1 timestamps {load:?})"
    );
    assert!(load.len() as i64 >= (outage_end - outage_start) / INTERVAL_MS);
}

#[test]
fn polls_spooled_before_a_crash_are_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mut rx = Receiver::new();
    rx.up();
    let agent = Agent::start(&spool, &rx.url(), "250ms");
    agent.wait_for(
        "shipping",
        || agent.metric("altimeter_agent_samples_sent_total") > 0.0,
        30,
    );
    rx.down();
    std::thread::sleep(Duration::from_secs(2));
    assert!(agent.metric("altimeter_agent_spool_pending_samples") > 0.0);
    // SIGKILL mid-outage: no chance to flush anything.
    let killed_at = now_ms();
    agent.kill9();

    // The restarted agent finds the spool and keeps polling into it.
    let agent = Agent::start(&spool, &rx.url(), "250ms");
    let restarted_at = now_ms();
    std::thread::sleep(Duration::from_secs(1));
    rx.up();
    agent.wait_for(
        "caught up",
        || agent.metric("altimeter_agent_spool_pending_samples") == 0.0,
        30,
    );
    let restart_log = agent.logs();
    agent.stop();

    let got = rx.received();
    let load = check_received(&got);
    let before_kill = load.iter().filter(|t| **t < killed_at).count();
    assert!(
        before_kill >= 8,
        "polls spooled before the crash were delivered: {before_kill}"
    );
    // One gap is allowed: the agent was not running between the kill and
    // the restart. Every other stretch is continuous.
    let g = gaps(&load, MAX_GAP_MS);
    assert!(g.len() <= 1, "gaps other than the restart: {g:?}");
    for (a, b) in &g {
        assert!(
            *a <= killed_at && *b >= restarted_at - 5_000,
            "the only gap spans the restart: {a}..{b} vs kill {killed_at}, restart {restarted_at}"
        );
    }
    assert!(
        restart_log.contains("spool holds samples from before the restart"),
        "the restarted agent reports the backlog it found:\n{restart_log}"
    );
}
