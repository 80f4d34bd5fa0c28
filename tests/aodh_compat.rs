//! Aodh v2 API compatibility against a real Aodh 23.0.0.
//!
//! `tests/peers/aodh.sh` installs Aodh and aodhclient from PyPI into a venv
//! and starts `aodh-api` on loopback (auth_mode=noauth, SQLite, no evaluator,
//! notifier, RabbitMQ or Gnocchi) in a temporary directory.
//! `tests/aodh/compare.py` then runs the same sequence of Aodh v2 API calls
//! (plain HTTP with X-User-Id/X-Project-Id/X-Roles, and a few `aodh` CLI
//! commands) against that Aodh and against `altimeter serve` and compares
//! status codes and normalized JSON bodies: creation with defaults, get,
//! lists with q/sort/limit/marker, visibility across projects, PUT and state
//! changes with their history, complex queries, quotas, deletion and the WSME
//! error texts. Any difference outside the script's commented allow-list of
//! known deviations fails the test, with the script's diff.
//!
//! The peer needs PyPI for the first install; the test is never skipped.
//! The aodh-api the peer started is stopped by a guard on drop.

mod common;

use common::Server;
use common::peer::{self, Peer, install, tail};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/aodh.sh");
const COMPARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aodh/compare.py");

#[test]
fn aodh_v2_matches_real_aodh() {
    install(PEER);
    let reference = Peer::start(PEER, "aodh-peer-", &["dbsync.log", "api.log"]);
    let data = tempfile::tempdir().expect("temporary directory");
    let target = Server::start(&data.path().join("data"), &[]);
    let (ok, out) = peer::run(
        "python3",
        COMPARE,
        &["--reference", &reference.url, "--target", &target.url],
    );
    eprintln!("{out}");
    assert!(
        ok,
        "compare.py found differences (reference {}, target {}):\n{out}\naltimeter log tail:\n{}",
        reference.url,
        target.url,
        tail(&target.logs(), 40)
    );
}
