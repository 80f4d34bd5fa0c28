//! Real peers (Gnocchi, Aodh) started by their `tests/peers/*.sh` scripts,
//! and the `compare.py` scripts that diff Altimeter against them.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `program script args...`; (success, stdout + stderr).
pub fn run(program: &str, script: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {program} {script}: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `script install` (idempotent; the scripts serialize it with a lock).
pub fn install(script: &str) {
    let (ok, out) = run("bash", script, &["install"]);
    assert!(ok, "{script} install failed:\n{out}");
}

/// A peer started by `script start DIR PORT` in a temporary directory and
/// stopped by `script stop DIR` on drop (printing its logs' tails when the
/// stop fails or the test panicked).
pub struct Peer {
    script: &'static str,
    logs: &'static [&'static str],
    dir: tempfile::TempDir,
    /// Its base URL.
    pub url: String,
}

impl Peer {
    /// Starts the peer on a free loopback port.
    pub fn start(script: &'static str, prefix: &str, logs: &'static [&'static str]) -> Peer {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/var/tmp")
            .expect("temporary directory");
        let port = super::free_port();
        let p = Peer {
            script,
            logs,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        // `p` exists before the start so that a half-started peer is stopped
        // by its drop when the assertion fails.
        let (ok, out) = run("bash", script, &["start", p.dir_str(), &port.to_string()]);
        assert!(ok, "{script} start failed:\n{out}");
        p
    }

    fn dir_str(&self) -> &str {
        self.dir.path().to_str().expect("UTF-8 temporary path")
    }

    /// The peer's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let (ok, out) = run("bash", self.script, &["stop", self.dir_str()]);
        if !ok || std::thread::panicking() {
            eprintln!("{} stop:\n{out}", self.script);
            for f in self.logs {
                let p = self.dir.path().join(f);
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                eprintln!("--- tail {}:\n{}", p.display(), tail(&text, 30));
            }
        }
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
