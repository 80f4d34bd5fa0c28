//! Gnocchi v1 compatibility against a real Gnocchi 4.7.1.
//!
//! `tests/peers/gnocchi.sh` installs Gnocchi from PyPI into a venv (with the
//! real `gnocchi` and `openstack` clients) and starts it on loopback:
//! a private PostgreSQL cluster, `gnocchi-api` (uwsgi, auth_mode=basic) and
//! `gnocchi-metricd` (metric_processing_delay 1 s), all in a temporary
//! directory. `tests/gnocchi/compare.py` then runs the same sequence of real
//! client commands against that Gnocchi and against `altimeter serve` and
//! compares what the clients print (archive policies and rules, resource
//! types, resources with history and search, measures for every
//! aggregation method at every granularity, `/v1/aggregates`, capabilities,
//! status and error texts), then the course lab sequence against Altimeter
//! alone. Any difference fails the test, with the script's diff.
//!
//! The peer needs root (apt for PostgreSQL and libpq-dev when missing, the
//! `postgres` user for the cluster) and PyPI for the first install; the test
//! is never skipped. Everything the peer started is stopped by a guard on
//! drop, so a failing test leaves no PostgreSQL, uwsgi or metricd behind.

mod common;

use common::Server;
use common::peer::{self, Peer, install, tail};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/gnocchi.sh");
const COMPARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gnocchi/compare.py");

#[test]
fn gnocchi_v1_matches_real_gnocchi() {
    install(PEER);
    let reference = Peer::start(PEER, "gnocchi-peer-", &["api.log", "metricd.log"]);
    let data = tempfile::tempdir().expect("temporary directory");
    let target = Server::start(&data.path().join("data"), &[]);
    let (ok, out) = peer::run(
        "python3",
        COMPARE,
        &[
            "--reference",
            &reference.url,
            "--target",
            &target.url,
            "--no-lab",
            // Altimeter's rate:* is reset-aware (documented deviation): the
            // reference must go negative at a counter reset, the target not.
            "--check-reset-deviation",
        ],
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

/// The course lab sequence (`openstack metric resource list --type instance`,
/// `openstack metric resource show ID`, `openstack metric measures show ID`)
/// against Altimeter alone, with the real `openstack` client.
#[test]
fn openstack_metric_lab_sequence() {
    install(PEER);
    let data = tempfile::tempdir().expect("temporary directory");
    let target = Server::start(&data.path().join("data"), &[]);
    // compare.py needs a reference URL; --lab-only never contacts it.
    let (ok, out) = peer::run(
        "python3",
        COMPARE,
        &[
            "--reference",
            "http://127.0.0.1:9",
            "--target",
            &target.url,
            "--lab-only",
        ],
    );
    eprintln!("{out}");
    assert!(
        ok,
        "the lab sequence failed against {}:\n{out}\naltimeter log tail:\n{}",
        target.url,
        tail(&target.logs(), 40)
    );
}
