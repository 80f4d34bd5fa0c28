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

use std::process::{Command, Stdio};

use common::{Server, free_port};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/gnocchi.sh");
const COMPARE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gnocchi/compare.py");

/// Runs the peer script; (success, stdout + stderr).
fn peer(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(PEER)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running bash");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Installs the venv (idempotent; serialized by a lock in the script).
fn install() {
    let (ok, out) = peer(&["install"]);
    assert!(ok, "gnocchi.sh install failed:\n{out}");
}

/// A real Gnocchi (PostgreSQL + gnocchi-api + gnocchi-metricd) in a
/// temporary directory; stopped on drop.
struct Gnocchi {
    dir: tempfile::TempDir,
    url: String,
}

impl Gnocchi {
    fn start() -> Gnocchi {
        let dir = tempfile::Builder::new()
            .prefix("gnocchi-peer-")
            .tempdir_in("/var/tmp")
            .expect("temporary directory");
        let port = free_port();
        let g = Gnocchi {
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        // `g` exists before the start so that a half-started peer is stopped
        // by its drop when the assertion fails.
        let (ok, out) = peer(&["start", g.dir_str(), &port.to_string()]);
        assert!(ok, "gnocchi.sh start failed:\n{out}");
        g
    }

    fn dir_str(&self) -> &str {
        self.dir.path().to_str().expect("UTF-8 temporary path")
    }
}

impl Drop for Gnocchi {
    fn drop(&mut self) {
        let (ok, out) = peer(&["stop", self.dir_str()]);
        if !ok || std::thread::panicking() {
            eprintln!("gnocchi.sh stop:\n{out}");
            for f in ["api.log", "metricd.log"] {
                let p = self.dir.path().join(f);
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                eprintln!(
                    "--- tail {}:\n{}",
                    p.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        }
    }
}

/// Runs compare.py; (success, its output).
fn compare(args: &[&str]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(COMPARE)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running python3");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn gnocchi_v1_matches_real_gnocchi() {
    install();
    let reference = Gnocchi::start();
    let data = tempfile::tempdir().expect("temporary directory");
    let target = Server::start(&data.path().join("data"), &[]);
    let (ok, out) = compare(&[
        "--reference",
        &reference.url,
        "--target",
        &target.url,
        "--no-lab",
        // Altimeter's rate:* is reset-aware (documented deviation): the
        // reference must go negative at a counter reset, the target not.
        "--check-reset-deviation",
    ]);
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
    install();
    let data = tempfile::tempdir().expect("temporary directory");
    let target = Server::start(&data.path().join("data"), &[]);
    // compare.py needs a reference URL; --lab-only never contacts it.
    let (ok, out) = compare(&[
        "--reference",
        "http://127.0.0.1:9",
        "--target",
        &target.url,
        "--lab-only",
    ]);
    eprintln!("{out}");
    assert!(
        ok,
        "the lab sequence failed against {}:\n{out}\naltimeter log tail:\n{}",
        target.url,
        tail(&target.logs(), 40)
    );
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
