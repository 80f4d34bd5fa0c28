//! Alarms end to end, with real peers and the real binary.
//!
//! - The real OpenStack clients: `aodh` (aodhclient 3.12.0) and `openstack`
//!   (python-openstackclient 10.5.0) with the `aodh-noauth` plugin, which
//!   sends `X-User-Id`, `X-Project-Id` and `X-Roles`; installed from PyPI by
//!   `tests/peers/aodh-client.sh` into a venv together with aiosmtpd.
//! - A real HTTP receiver for webhook actions, `tests/peers/webhook-receiver.py`
//!   (stdlib `ThreadingHTTPServer`): it answers the first N POSTs with a
//!   failure status, then 200, and logs every request (headers, raw body, the
//!   status it answered) as one JSON line.
//! - A real SMTP server for `mailto:` actions: aiosmtpd with its Maildir
//!   handler.
//! - `altimeter serve` itself, configured through `ALTIMETER_ALARMS_*` and
//!   `ALTIMETER_NOTIFY_*` environment variables (1 s evaluation interval,
//!   short retry backoff), fed with Prometheus remote-write.
//!
//! Nothing is timed: every wait polls with a generous deadline and reports its
//! progress on stderr. The only fixed pauses are the "nothing more arrives"
//! windows after a delivery (several evaluation intervals). The peers need
//! PyPI for their first install; the test is never skipped: when they cannot
//! be installed it fails and says why. Every process a test starts is killed
//! by a guard on drop, so a failing test leaves nothing behind; on failure the
//! guards print the tails of their logs.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use altimeter_tsdb::ingest::remote_write::proto;
use common::{Client, Server, free_port, now_ms, series};
use serde_json::Value;

const AODH_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/aodh-client.sh");
const RECEIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/webhook-receiver.py"
);

/// The identity the clients and the HTTP calls use (admin).
const USER: &str = "4a7f3c2e-1b5d-4e8f-9a6b-0c1d2e3f4a5b";
const PROJECT: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

const SECRET: &str = "s3cret";
const METRIC: &str = "e2e_load";
/// The PromQL of every alarm: one series, pushed at 99 (threshold 50).
const QUERY: &str = "e2e_load{job=\"alarms_e2e\"}";
/// Exactly the keys of Aodh's webhook body (aodh/notifier/rest.py).
const WEBHOOK_KEYS: [&str; 7] = [
    "alarm_id",
    "alarm_name",
    "current",
    "previous",
    "reason",
    "reason_data",
    "severity",
];

/// Generous deadline of every wait.
const DEADLINE: Duration = Duration::from_secs(60);
/// After a delivery, how long nothing more may arrive (several evaluation
/// intervals of 1 s and several retry backoffs).
const QUIET: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- peers

/// Installs the client venv (idempotent, serialized by a lock in the script)
/// and returns its path.
fn venv() -> PathBuf {
    let out = Command::new("bash")
        .arg(AODH_CLIENT)
        .arg("install")
        .stdin(Stdio::null())
        .output()
        .expect("running bash");
    assert!(
        out.status.success(),
        "tests/peers/aodh-client.sh install failed (it needs PyPI for the first install):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        path.join("bin/aodh").is_file() && path.join("bin/openstack").is_file(),
        "aodh-client.sh printed {path:?}, which holds no bin/aodh or bin/openstack"
    );
    path
}

/// A peer process, killed (by its own id) on drop; on a failing test the
/// tail of its log is printed.
struct Peer {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Peer {
    fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Peer {
        let logf = std::fs::File::create(&log).expect("peer log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("peer log file"))
            .stderr(logf)
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        Peer { name, child, log }
    }

    /// Waits until this very process listens on 127.0.0.1:port (not merely
    /// something: the port was only probed free, another process may have
    /// taken it since).
    fn wait_listening(&mut self, port: u16) {
        let t0 = Instant::now();
        loop {
            if listens(self.child.id(), port) && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                eprintln!(
                    "{} listening on 127.0.0.1:{port} after {:.1} s",
                    self.name,
                    t0.elapsed().as_secs_f64()
                );
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "{} exited ({st}) before listening on {port}; log:\n{}",
                    self.name,
                    tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 30)
                );
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "{} not listening on {port} after {} s; log:\n{}",
                self.name,
                DEADLINE.as_secs(),
                tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether process `pid` holds a TCP socket listening on 127.0.0.1:port
/// (from /proc/net/tcp and the process's file descriptors).
fn listens(pid: u32, port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let inodes: Vec<String> = tcp
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address, st (0A = LISTEN), inode
            (f.len() > 9 && f[1] == want && f[3] == "0A").then(|| format!("socket:[{}]", f[9]))
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|l| inodes.iter().any(|i| l.to_str() == Some(i.as_str())))
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- tail of {} log {}:\n{}",
                self.name,
                self.log.display(),
                tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 30)
            );
        }
    }
}

/// The webhook receiver on 127.0.0.1:port, logging to `out`.
fn start_receiver(dir: &Path, port: u16, fail_first: u32, fail_status: u16, out: &Path) -> Peer {
    let mut cmd = Command::new("python3");
    cmd.arg(RECEIVER)
        .args(["--port", &port.to_string()])
        .args(["--fail-first", &fail_first.to_string()])
        .args(["--fail-status", &fail_status.to_string()])
        .arg("--out")
        .arg(out);
    let mut p = Peer::spawn(
        "webhook-receiver",
        &mut cmd,
        dir.join(format!("receiver-{port}.log")),
    );
    p.wait_listening(port);
    p
}

/// aiosmtpd (from the venv) on 127.0.0.1:port, storing messages in the
/// Maildir `maildir` (each one a file in maildir/new).
fn start_smtp(venv: &Path, dir: &Path, port: u16, maildir: &Path) -> Peer {
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .env("PYTHONWARNINGS", "ignore");
    let mut p = Peer::spawn("aiosmtpd", &mut cmd, dir.join("aiosmtpd.log"));
    p.wait_listening(port);
    p
}

// ---------------------------------------------------------------- altimeter

/// `altimeter serve` started like `common::Server::start`, with extra
/// environment variables; restartable on the same data directory. On a
/// failing test its logs' tails are printed.
struct Altimeter {
    server: Option<Server>,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    logs: Vec<PathBuf>,
}

impl Altimeter {
    fn start(data_dir: &Path, env: &[(&str, &str)]) -> Altimeter {
        let mut a = Altimeter {
            server: None,
            data_dir: data_dir.to_path_buf(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            logs: vec![],
        };
        a.spawn();
        a
    }

    fn spawn(&mut self) {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = self.data_dir.with_extension(format!("log-{port}"));
        let logf = std::fs::File::create(&log).unwrap();
        self.logs.push(log.clone());
        let child = Command::new(env!("CARGO_BIN_EXE_altimeter"))
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("ALTIMETER_LOG", "info")
            .env_remove("ALTIMETER_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawning altimeter");
        let s = Server {
            child,
            url,
            data_dir: self.data_dir.clone(),
            log,
        };
        s.wait_ready();
        eprintln!("altimeter ready at {}", s.url);
        self.server = Some(s);
    }

    fn url(&self) -> &str {
        &self.server.as_ref().expect("altimeter is running").url
    }

    /// SIGKILL, then nothing runs until `restart`.
    fn kill9(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill9();
            eprintln!("altimeter killed with SIGKILL");
        }
    }

    /// A new process on the same data directory (on a new port).
    fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    fn logs_tail(&self) -> String {
        self.logs
            .iter()
            .map(|l| {
                format!(
                    "--- tail of altimeter log {}:\n{}",
                    l.display(),
                    tail(&std::fs::read_to_string(l).unwrap_or_default(), 40)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Altimeter {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("{}", self.logs_tail());
        }
    }
}

/// The environment every test starts Altimeter with, plus `extra`.
fn alarm_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("ALTIMETER_ALARMS_EVALUATION_INTERVAL", "1s"),
        ("ALTIMETER_NOTIFY_RETRY_INITIAL", "200ms"),
        ("ALTIMETER_NOTIFY_RETRY_MAX", "2s"),
    ];
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k, v));
    }
    env
}

/// Pushes the alarm's series (value `value`, timestamp now) with
/// remote-write, at most once a second when called through `tick`.
struct Pusher {
    client: Client,
    value: f64,
    last: Option<Instant>,
}

impl Pusher {
    fn new(url: &str, value: f64) -> Pusher {
        Pusher {
            client: Client::new(url),
            value,
            last: None,
        }
    }

    fn push(&mut self) {
        let req = proto::WriteRequest {
            timeseries: vec![series(
                &[
                    ("__name__", METRIC),
                    ("job", "alarms_e2e"),
                    ("project", PROJECT),
                ],
                &[(now_ms(), self.value)],
            )],
            metadata: vec![],
        };
        let r = self.client.write(&req);
        assert!(
            (200..300).contains(&r.status()),
            "remote-write to {} answered {}: {}",
            self.client.url,
            r.status(),
            r.text()
        );
        self.last = Some(Instant::now());
    }

    fn tick(&mut self) {
        if self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            self.push();
        }
    }
}

// ---------------------------------------------------------------- clients

/// The real `aodh` and `openstack` CLIs against one Altimeter.
struct Cli {
    venv: PathBuf,
    url: String,
}

impl Cli {
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.venv.join("bin").join(program));
        if program == "aodh" {
            cmd.args(["--os-auth-type", "aodh-noauth", "--aodh-endpoint"])
                .arg(&self.url)
                .args([
                    "--user-id",
                    USER,
                    "--project-id",
                    PROJECT,
                    "--roles",
                    "admin",
                ]);
        } else {
            cmd.args(["--os-auth-type", "aodh-noauth", "--os-aodh-endpoint"])
                .arg(&self.url)
                .args(["--os-user-id", USER, "--os-project-id", PROJECT])
                .args(["--os-roles", "admin"]);
        }
        let out = cmd
            .args(args)
            .env("PYTHONWARNINGS", "ignore")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        eprintln!(
            "$ {program} {} -> {}",
            args.join(" "),
            out.status.code().map_or("signal".into(), |c| c.to_string())
        );
        out
    }

    /// Runs a command that must succeed and print JSON (`-f json`).
    fn json(&self, program: &str, args: &[&str]) -> Value {
        let out = self.run(program, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{program} {} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "{program} {} printed no JSON ({e}):\n{stdout}",
                args.join(" ")
            )
        })
    }

    fn aodh(&self, args: &[&str]) -> Value {
        self.json("aodh", args)
    }

    /// `aodh alarm create` of a prometheus alarm on QUERY > 50 with one
    /// alarm action; the created alarm as JSON.
    fn create_prometheus_alarm(&self, name: &str, action: &str) -> Value {
        self.aodh(&[
            "alarm",
            "create",
            "--name",
            name,
            "--type",
            "prometheus",
            "--query",
            QUERY,
            "--threshold",
            "50",
            "--comparison-operator",
            "gt",
            "--alarm-action",
            action,
            "-f",
            "json",
        ])
    }
}

/// Aodh v2 over HTTP with the admin identity headers.
struct Api {
    http: common::reqwest::Blocking,
}

impl Api {
    fn new() -> Api {
        Api {
            http: common::reqwest::blocking_client(),
        }
    }

    fn get(&self, url: String) -> common::reqwest::Resp {
        self.http
            .get(url.clone())
            .header("X-User-Id", USER)
            .header("X-Project-Id", PROJECT)
            .header("X-Roles", "admin")
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    fn get_json(&self, url: String) -> Value {
        let r = self.get(url.clone());
        assert_eq!(r.status(), 200, "GET {url}: {}", r.text());
        r.json()
    }

    /// POST /v2/alarms with an Aodh alarm body; the created alarm.
    fn create_alarm(&self, base: &str, body: &Value) -> Value {
        let url = format!("{base}/v2/alarms");
        let r = self
            .http
            .post(url.clone())
            .header("X-User-Id", USER)
            .header("X-Project-Id", PROJECT)
            .header("X-Roles", "admin")
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert_eq!(r.status(), 201, "POST {url} {body}: {}", r.text());
        r.json()
    }

    /// GET /v2/notifications?state=STATE&alarm_id=ID (the Altimeter extension).
    fn notifications(&self, base: &str, state: &str, alarm_id: &str) -> Vec<Value> {
        let v = self.get_json(format!(
            "{base}/v2/notifications?state={state}&alarm_id={alarm_id}"
        ));
        let list = v
            .as_array()
            .unwrap_or_else(|| panic!("/v2/notifications is not a list: {v}"))
            .clone();
        for n in &list {
            assert_eq!(n["alarm_id"], alarm_id, "filtered by alarm_id: {n}");
            assert_eq!(n["state"], state, "filtered by state: {n}");
        }
        list
    }

    fn state(&self, base: &str, alarm_id: &str) -> String {
        let v = self.get_json(format!("{base}/v2/alarms/{alarm_id}/state"));
        v.as_str()
            .unwrap_or_else(|| panic!("the state is not a JSON string: {v}"))
            .to_string()
    }

    fn history(&self, base: &str, alarm_id: &str) -> Vec<Value> {
        let v = self.get_json(format!("{base}/v2/alarms/{alarm_id}/history"));
        v.as_array()
            .unwrap_or_else(|| panic!("the history is not a list: {v}"))
            .clone()
    }
}

/// The Aodh body of a prometheus alarm on QUERY > 50 with `actions`.
fn prometheus_alarm(name: &str, actions: &[&str]) -> Value {
    serde_json::json!({
        "name": name,
        "type": "prometheus",
        "prometheus_rule": {
            "query": QUERY,
            "threshold": 50.0,
            "comparison_operator": "gt",
        },
        "alarm_actions": actions,
    })
}

// ---------------------------------------------------------------- receiver log

/// Every request the receiver logged (lines still being written are skipped).
fn received(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The POSTs whose body is about `alarm_id`.
fn deliveries(out: &Path, alarm_id: &str) -> Vec<Value> {
    received(out)
        .into_iter()
        .filter(|r| r["method"] == "POST" && body(r)["alarm_id"] == alarm_id)
        .collect()
}

fn body(rec: &Value) -> Value {
    serde_json::from_str(rec["body"].as_str().unwrap_or_default()).unwrap_or(Value::Null)
}

fn status(rec: &Value) -> u64 {
    rec["status"].as_u64().unwrap_or(0)
}

/// A request header, by case-insensitive name.
fn header<'a>(rec: &'a Value, name: &str) -> Option<&'a str> {
    rec["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn summary(recs: &[Value]) -> String {
    recs.iter()
        .map(|r| {
            format!(
                "#{} {} {} answered {} key={:?} body={}",
                r["seq"],
                r["method"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default(),
                status(r),
                header(r, "Idempotency-Key"),
                r["body"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lowercase hex HMAC-SHA256(secret, raw body), computed by Python's hmac.
fn hmac_sha256_hex(secret: &str, body_b64: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, hmac, sys; \
             print(hmac.new(sys.argv[1].encode(), base64.b64decode(sys.argv[2]), \
             hashlib.sha256).hexdigest())",
            secret,
            body_b64,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "python3 hmac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---------------------------------------------------------------- helpers

/// Polls `f` every 250 ms until it returns Some, for at most DEADLINE;
/// `diag` tells what was seen when the deadline passes.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>, diag: impl Fn() -> String) -> T {
    let t0 = Instant::now();
    let mut reported = t0;
    eprintln!("waiting for {what}");
    loop {
        if let Some(v) = f() {
            eprintln!("  {what}: done after {:.1} s", t0.elapsed().as_secs_f64());
            return v;
        }
        assert!(
            t0.elapsed() < DEADLINE,
            "no {what} after {} s; seen:\n{}",
            DEADLINE.as_secs(),
            diag()
        );
        if reported.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "  still waiting for {what} ({:.0} s)",
                t0.elapsed().as_secs_f64()
            );
            reported = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Keeps pushing for QUIET (so the alarm keeps being evaluated on fresh data).
fn quiet_period(push: &mut Pusher) {
    eprintln!("watching {} s for anything more to arrive", QUIET.as_secs());
    let t0 = Instant::now();
    while t0.elapsed() < QUIET {
        push.tick();
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("alarms-e2e-")
        .tempdir()
        .expect("temporary directory")
}

/// The history entries of one type.
fn of_type<'a>(history: &'a [Value], kind: &str) -> Vec<&'a Value> {
    history.iter().filter(|h| h["type"] == kind).collect()
}

/// The `detail` of a history entry as JSON (Aodh stores it as a JSON string).
fn detail(h: &Value) -> Value {
    match &h["detail"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        other => other.clone(),
    }
}

/// The sum of a counter over all its label sets in a Prometheus exposition.
fn metric_sum(exposition: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in exposition.lines() {
        if line.starts_with('#') {
            continue;
        }
        let series_name = line.split(['{', ' ']).next().unwrap_or_default();
        if series_name != name {
            continue;
        }
        // `name{labels} value [timestamp]` or `name value [timestamp]`
        let rest = match line.rfind('}') {
            Some(i) => &line[i + 1..],
            None => &line[series_name.len()..],
        };
        let v: f64 = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("unparsable sample line: {line}"));
        *found.get_or_insert(0.0) += v;
    }
    found
}

// ---------------------------------------------------------------- tests

/// The verification helper itself (RFC 4231 test case 2), so that a
/// signature mismatch below is Altimeter's.
#[test]
fn hmac_helper_matches_rfc4231() {
    assert_eq!(
        hmac_sha256_hex("Jefe", "d2hhdCBkbyB5YSB3YW50IGZvciBub3RoaW5nPw=="),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

/// The real `aodh` CLI creates a prometheus alarm; its webhook is refused
/// twice with 500 and delivered on the third attempt, signed, with one
/// Idempotency-Key, and never again. Then state, history, `openstack alarm
/// list`, update (rule change) and delete through the real clients.
#[test]
fn aodh_cli_prometheus_alarm_webhook_exactly_once() {
    let venv = venv();
    let dir = tmp();
    let hook_port = free_port();
    let hooks = dir.path().join("hooks.jsonl");
    let _receiver = start_receiver(dir.path(), hook_port, 2, 500, &hooks);
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let alt = Altimeter::start(
        &dir.path().join("data"),
        &alarm_env(&[("ALTIMETER_NOTIFY_WEBHOOK_SECRET", SECRET)]),
    );
    let url = alt.url().to_string();
    let api = Api::new();
    let cli = Cli {
        venv,
        url: url.clone(),
    };
    let mut push = Pusher::new(&url, 99.0);
    push.push();

    let name = format!("e2e-webhook-{}", std::process::id());
    let created = cli.create_prometheus_alarm(&name, &hook_url);
    eprintln!("created: {created}");
    let id = created["alarm_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no alarm_id in {created}"))
        .to_string();
    assert_eq!(created["name"], name.as_str(), "{created}");
    assert_eq!(created["type"], "prometheus", "{created}");
    assert_eq!(created["query"], QUERY, "{created}");
    assert_eq!(created["threshold"].as_f64(), Some(50.0), "{created}");
    assert_eq!(created["comparison_operator"], "gt", "{created}");
    assert_eq!(created["state"], "insufficient data", "{created}");
    assert_eq!(created["project_id"], PROJECT, "{created}");
    assert!(
        created["alarm_actions"].to_string().contains(&hook_url),
        "alarm_actions of {created}"
    );

    // The transition to alarm is delivered on the third attempt.
    let delivered = wait_for(
        "a webhook delivery answered 200",
        || {
            push.tick();
            deliveries(&hooks, &id)
                .into_iter()
                .find(|r| status(r) == 200)
        },
        || summary(&received(&hooks)),
    );
    eprintln!("delivered: {delivered}");
    let notif = wait_for(
        "the notification in state delivered",
        || {
            push.tick();
            api.notifications(&url, "delivered", &id).into_iter().next()
        },
        || {
            format!(
                "pending: {:?}\ndead: {:?}",
                api.notifications(&url, "pending", &id),
                api.notifications(&url, "dead", &id)
            )
        },
    );
    eprintln!("notification: {notif}");

    // Exactly once: nothing more after several evaluation cycles.
    quiet_period(&mut push);
    let recs = deliveries(&hooks, &id);
    let all = summary(&received(&hooks));
    assert_eq!(
        recs.len(),
        3,
        "2 refused + 1 delivered requests expected:\n{all}"
    );
    assert_eq!(
        recs.iter().map(status).collect::<Vec<_>>(),
        [500, 500, 200],
        "{all}"
    );
    let key = header(&recs[0], "Idempotency-Key")
        .unwrap_or_else(|| panic!("no Idempotency-Key header:\n{all}"))
        .to_string();
    for r in &recs {
        assert_eq!(
            header(r, "Idempotency-Key"),
            Some(key.as_str()),
            "one key on every retry:\n{all}"
        );
        assert_eq!(r["path"], "/hook", "{all}");
        assert!(
            header(r, "Content-Type").is_some_and(|v| v.starts_with("application/json")),
            "content-type of {r}"
        );
        assert!(
            header(r, "x-openstack-request-id").is_some_and(|v| v.starts_with("req-")),
            "x-openstack-request-id of {r}"
        );
        assert_eq!(
            r["body_b64"], recs[0]["body_b64"],
            "a retry resends the same body:\n{all}"
        );
        let sig = header(r, "X-Altimeter-Signature")
            .unwrap_or_else(|| panic!("no X-Altimeter-Signature although a secret is set: {r}"));
        let want = format!(
            "sha256={}",
            hmac_sha256_hex(SECRET, r["body_b64"].as_str().unwrap())
        );
        assert_eq!(sig, want, "signature of {r}");
    }
    let b = body(&recs[2]);
    let mut keys: Vec<&str> = b
        .as_object()
        .unwrap_or_else(|| panic!("body is not a JSON object: {}", recs[2]))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, WEBHOOK_KEYS, "webhook body keys: {b}");
    assert_eq!(b["alarm_id"], id.as_str(), "{b}");
    assert_eq!(b["alarm_name"], name.as_str(), "{b}");
    assert_eq!(b["current"], "alarm", "{b}");
    assert_eq!(b["previous"], "insufficient data", "{b}");
    assert_eq!(b["severity"], created["severity"], "{b}");
    assert_eq!(b["reason_data"]["type"], "threshold", "{b}");
    assert!(
        b["reason"].as_str().is_some_and(|s| !s.is_empty()),
        "reason of {b}"
    );
    // The notification record agrees with what arrived.
    assert_eq!(
        notif["id"],
        key.as_str(),
        "Idempotency-Key is the notification id: {notif}"
    );
    assert_eq!(notif["attempts"], 3, "attempts: {notif}");
    assert!(notif["delivered_at"].is_string(), "delivered_at: {notif}");
    assert!(
        api.notifications(&url, "pending", &id).is_empty(),
        "nothing pending after the delivery"
    );
    assert_eq!(
        api.notifications(&url, "delivered", &id).len(),
        1,
        "one delivered notification"
    );

    // State and history through the real clients.
    let st = cli.aodh(&["alarm", "state", "get", &id, "-f", "json"]);
    assert_eq!(st["state"], "alarm", "aodh alarm state get: {st}");
    let hist = cli.aodh(&["alarm-history", "show", &id, "-f", "json"]);
    eprintln!("history: {hist}");
    let hist = hist.as_array().expect("history list").clone();
    assert_eq!(
        of_type(&hist, "creation").len(),
        1,
        "creation entry: {hist:?}"
    );
    assert!(
        of_type(&hist, "state transition")
            .iter()
            .any(|h| detail(h)["state"] == "alarm"),
        "a state transition to alarm in {hist:?}"
    );
    let listed = cli.json("openstack", &["alarm", "list", "-f", "json"]);
    let row = listed
        .as_array()
        .and_then(|l| l.iter().find(|a| a["alarm_id"] == id.as_str()))
        .unwrap_or_else(|| panic!("openstack alarm list does not show {id}: {listed}"));
    assert_eq!(row["name"], name.as_str(), "{row}");
    assert_eq!(row["state"], "alarm", "{row}");
    assert_eq!(row["type"], "prometheus", "{row}");

    // Update (PUT): the threshold goes above the samples; history records a
    // rule change, and the alarm returns to ok without any action (it has
    // no ok action).
    let updated = cli.aodh(&["alarm", "update", &id, "--threshold", "1000", "-f", "json"]);
    assert_eq!(updated["threshold"].as_f64(), Some(1000.0), "{updated}");
    assert_eq!(
        updated["query"], QUERY,
        "the rest of the rule stays: {updated}"
    );
    assert_eq!(updated["name"], name.as_str(), "{updated}");
    let shown = cli.aodh(&["alarm", "show", &id, "-f", "json"]);
    assert_eq!(shown["threshold"].as_f64(), Some(1000.0), "{shown}");
    let hist = cli.aodh(&["alarm-history", "show", &id, "-f", "json"]);
    let hist = hist.as_array().expect("history list").clone();
    assert!(
        of_type(&hist, "rule change")
            .iter()
            .any(|h| detail(h)["rule"]["threshold"].as_f64() == Some(1000.0)),
        "a rule change entry with the new threshold after the update: {hist:?}"
    );
    wait_for(
        "the alarm back to ok under threshold 1000",
        || {
            push.tick();
            (api.state(&url, &id) == "ok").then_some(())
        },
        || api.state(&url, &id),
    );
    quiet_period(&mut push);
    assert_eq!(
        deliveries(&hooks, &id).len(),
        3,
        "no request for the transition to ok (no ok action):\n{}",
        summary(&received(&hooks))
    );

    // Delete: gone for every client.
    let out = cli.run("aodh", &["alarm", "delete", &id]);
    assert!(
        out.status.success(),
        "aodh alarm delete: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli.run("aodh", &["alarm", "show", &id, "-f", "json"]);
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        !out.status.success() && err.contains("not found"),
        "aodh alarm show after delete must fail with not found; status {}, stdout {}, stderr {err}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let r = api.get(format!("{url}/v2/alarms/{id}"));
    assert_eq!(r.status(), 404, "GET a deleted alarm: {}", r.text());
    let listed = cli.aodh(&["alarm", "list", "-f", "json"]);
    assert!(
        !listed.to_string().contains(&id),
        "aodh alarm list still shows {id}: {listed}"
    );
}

/// SIGKILL after the transition to alarm, while its webhook is still
/// failing (nothing listens yet): after a restart the notification is
/// delivered exactly once, and the transition is not repeated.
#[test]
fn kill9_between_transition_and_delivery_delivers_once() {
    let dir = tmp();
    let hook_port = free_port(); // nothing listens there until the kill
    let hooks = dir.path().join("hooks.jsonl");
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let mut alt = Altimeter::start(
        &dir.path().join("data"),
        &alarm_env(&[("ALTIMETER_NOTIFY_RETRY_MAX", "1s")]),
    );
    let url = alt.url().to_string();
    let api = Api::new();
    let mut push = Pusher::new(&url, 99.0);
    push.push();
    let name = format!("e2e-kill9-{}", std::process::id());
    let created = api.create_alarm(&url, &prometheus_alarm(&name, &[&hook_url]));
    let id = created["alarm_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no alarm_id in {created}"))
        .to_string();
    assert_eq!(created["state"], "insufficient data", "{created}");

    let pending = wait_for(
        "a pending notification with a failed attempt",
        || {
            push.tick();
            api.notifications(&url, "pending", &id)
                .into_iter()
                .find(|n| n["attempts"].as_u64().is_some_and(|a| a >= 1))
        },
        || format!("{:?}", api.notifications(&url, "pending", &id)),
    );
    eprintln!("pending before the kill: {pending}");
    assert_eq!(pending["action"], hook_url.as_str(), "{pending}");
    assert!(
        pending["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "last_error of a refused connection: {pending}"
    );
    let nid = pending["id"].as_str().expect("notification id").to_string();
    assert_eq!(api.state(&url, &id), "alarm");

    alt.kill9();
    let _receiver = start_receiver(dir.path(), hook_port, 0, 500, &hooks);
    alt.restart();
    let url = alt.url().to_string();
    let mut push = Pusher::new(&url, 99.0);
    push.push();

    wait_for(
        "the delivery after the restart",
        || {
            push.tick();
            deliveries(&hooks, &id)
                .into_iter()
                .find(|r| status(r) == 200)
        },
        || summary(&received(&hooks)),
    );
    let notif = wait_for(
        "the notification in state delivered",
        || {
            push.tick();
            api.notifications(&url, "delivered", &id).into_iter().next()
        },
        || format!("pending: {:?}", api.notifications(&url, "pending", &id)),
    );
    quiet_period(&mut push);

    let recs = deliveries(&hooks, &id);
    let all = summary(&received(&hooks));
    assert_eq!(recs.len(), 1, "exactly one delivery:\n{all}");
    assert_eq!(status(&recs[0]), 200, "{all}");
    assert_eq!(
        header(&recs[0], "Idempotency-Key"),
        Some(nid.as_str()),
        "the notification from before the kill, not a new one:\n{all}"
    );
    let b = body(&recs[0]);
    assert_eq!(b["current"], "alarm", "{b}");
    assert_eq!(b["previous"], "insufficient data", "{b}");
    assert_eq!(notif["id"], nid.as_str(), "{notif}");
    assert!(
        notif["attempts"].as_u64().is_some_and(|a| a >= 2),
        "the attempts before the kill are kept: {notif}"
    );
    assert_eq!(api.notifications(&url, "delivered", &id).len(), 1);
    assert!(api.notifications(&url, "pending", &id).is_empty());
    assert!(api.notifications(&url, "dead", &id).is_empty());

    assert_eq!(
        api.state(&url, &id),
        "alarm",
        "still alarm after the restart"
    );
    let hist = api.history(&url, &id);
    let transitions = of_type(&hist, "state transition");
    assert_eq!(
        transitions.len(),
        1,
        "exactly one state transition (the restart repeats none): {hist:?}"
    );
    assert_eq!(
        detail(transitions[0])["state"],
        "alarm",
        "the transition is to alarm: {hist:?}"
    );
}

/// A `mailto:` action sends a real e-mail through SMTP (aiosmtpd), once.
#[test]
fn email_action_arrives_in_smtp_server() {
    let venv = venv();
    let dir = tmp();
    let smtp_port = free_port();
    let maildir = dir.path().join("maildir");
    let _smtpd = start_smtp(&venv, dir.path(), smtp_port, &maildir);
    let smtp_port_s = smtp_port.to_string();
    let alt = Altimeter::start(
        &dir.path().join("data"),
        &alarm_env(&[
            ("ALTIMETER_NOTIFY_SMTP_HOST", "127.0.0.1"),
            ("ALTIMETER_NOTIFY_SMTP_PORT", smtp_port_s.as_str()),
            ("ALTIMETER_NOTIFY_SMTP_TLS", "none"),
            ("ALTIMETER_NOTIFY_SMTP_FROM", "altimeter@localhost"),
        ]),
    );
    let url = alt.url().to_string();
    let api = Api::new();
    let cli = Cli {
        venv,
        url: url.clone(),
    };
    let mut push = Pusher::new(&url, 99.0);
    push.push();
    // The name holds no "alarm", so the subject must name the state itself.
    let name = format!("e2e-mail-{}", std::process::id());
    let created = cli.create_prometheus_alarm(&name, "mailto:ops@example.invalid");
    let id = created["alarm_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no alarm_id in {created}"))
        .to_string();

    let new = maildir.join("new");
    let msg = wait_for(
        "an e-mail in the Maildir",
        || {
            push.tick();
            mails(&new).into_iter().next()
        },
        || format!("{:?}", std::fs::read_dir(&maildir).map(|d| d.count())),
    );
    eprintln!("e-mail: {msg}");
    let notif = wait_for(
        "the notification in state delivered",
        || {
            push.tick();
            api.notifications(&url, "delivered", &id).into_iter().next()
        },
        || format!("pending: {:?}", api.notifications(&url, "pending", &id)),
    );
    assert_eq!(notif["action"], "mailto:ops@example.invalid", "{notif}");
    quiet_period(&mut push);
    let all = mails(&new);
    assert_eq!(all.len(), 1, "exactly one e-mail: {all:?}");

    let field = |k: &str| msg[k].as_str().unwrap_or_default().to_string();
    assert!(field("to").contains("ops@example.invalid"), "To: {msg}");
    assert!(
        field("rcpt").contains("ops@example.invalid"),
        "envelope recipient: {msg}"
    );
    assert!(
        field("from").contains("altimeter@localhost"),
        "From is ALTIMETER_NOTIFY_SMTP_FROM: {msg}"
    );
    let subject = field("subject");
    assert!(
        subject.contains(&name),
        "the subject names the alarm: {msg}"
    );
    assert!(
        subject.to_lowercase().contains("alarm"),
        "the subject names the new state: {msg}"
    );
    let text = field("body");
    assert!(text.contains("alarm"), "the body names the state: {msg}");
    let alarm = api.get_json(format!("{url}/v2/alarms/{id}"));
    assert_eq!(alarm["state"], "alarm", "{alarm}");
    let reason = alarm["state_reason"].as_str().unwrap_or_default();
    assert!(
        !reason.is_empty() && text.contains(reason),
        "the body holds the reason {reason:?}: {msg}"
    );
}

/// Parses one stored e-mail with Python's email package (MIME and RFC 2047
/// decoded) and prints {"to","from","rcpt","subject","body"}.
const MAIL_PARSER: &str = r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
b = m.get_body(preferencelist=('plain', 'html'))
print(json.dumps({
    'to': str(m.get('To', '')),
    'from': str(m.get('From', '')),
    'rcpt': str(m.get('X-RcptTo', '')),
    'subject': str(m.get('Subject', '')),
    'body': b.get_content() if b is not None else '',
}))
"#;

/// The messages in a Maildir's new/ (aiosmtpd's Mailbox handler writes one
/// file per message there), parsed by MAIL_PARSER, in file name order.
fn mails(new: &Path) -> Vec<Value> {
    let Ok(dir) = std::fs::read_dir(new) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let out = Command::new("python3")
                .args(["-c", MAIL_PARSER])
                .arg(f)
                .stdin(Stdio::null())
                .output()
                .expect("running python3");
            assert!(
                out.status.success(),
                "parsing {}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).expect("JSON from the e-mail parser")
        })
        .collect()
}

/// The e-mail parser itself decodes encoded subjects and bodies, so that a
/// failed e-mail assertion below is Altimeter's.
#[test]
fn mail_parser_decodes_mime() {
    let dir = tmp();
    let new = dir.path().join("new");
    std::fs::create_dir(&new).unwrap();
    std::fs::write(
        new.join("1.msg"),
        "From: altimeter@localhost\r\nTo: ops@example.invalid\r\n\
         Subject: =?utf-8?q?=5Balarm=5D_e2e-mail_=E2=86=92_alarm?=\r\n\
         X-RcptTo: ops@example.invalid\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n\
         Transition to alarm due to 1 samples outside threshold, most recent: =\r\n\
         99.0=E2=80=A6\r\n",
    )
    .unwrap();
    let m = mails(&new);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["subject"], "[alarm] e2e-mail \u{2192} alarm", "{m:?}");
    assert_eq!(m[0]["to"], "ops@example.invalid", "{m:?}");
    assert_eq!(m[0]["rcpt"], "ops@example.invalid", "{m:?}");
    assert!(
        m[0]["body"].as_str().is_some_and(|b| b.contains(
            "Transition to alarm due to 1 samples outside threshold, most recent: 99.0\u{2026}"
        )),
        "{m:?}"
    );
}

/// A webhook that always answers 503 is given up after
/// ALTIMETER_NOTIFY_GIVE_UP_AFTER: the notification is dead-lettered, no
/// attempt follows, and the self-metrics count it.
#[test]
fn dead_letter_after_give_up() {
    let dir = tmp();
    let hook_port = free_port();
    let hooks = dir.path().join("hooks.jsonl");
    let _receiver = start_receiver(dir.path(), hook_port, 1_000_000, 503, &hooks);
    let hook_url = format!("http://127.0.0.1:{hook_port}/hook");
    let alt = Altimeter::start(
        &dir.path().join("data"),
        &alarm_env(&[
            ("ALTIMETER_NOTIFY_RETRY_MAX", "1s"),
            ("ALTIMETER_NOTIFY_GIVE_UP_AFTER", "3s"),
        ]),
    );
    let url = alt.url().to_string();
    let api = Api::new();
    let mut push = Pusher::new(&url, 99.0);
    push.push();
    let name = format!("e2e-dead-{}", std::process::id());
    let created = api.create_alarm(&url, &prometheus_alarm(&name, &[&hook_url]));
    let id = created["alarm_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no alarm_id in {created}"))
        .to_string();

    let dead = wait_for(
        "the notification in state dead",
        || {
            push.tick();
            api.notifications(&url, "dead", &id).into_iter().next()
        },
        || {
            format!(
                "pending: {:?}\nreceived:\n{}",
                api.notifications(&url, "pending", &id),
                summary(&received(&hooks))
            )
        },
    );
    eprintln!("dead: {dead}");
    // No attempt after the give-up (and no second notification: the alarm
    // stays in alarm).
    let before = deliveries(&hooks, &id).len();
    quiet_period(&mut push);
    let recs = deliveries(&hooks, &id);
    let all = summary(&received(&hooks));
    assert_eq!(recs.len(), before, "an attempt after the give-up:\n{all}");

    let attempts = dead["attempts"].as_u64().unwrap_or(0);
    assert!(
        attempts >= 2,
        "at least two attempts before giving up: {dead}"
    );
    assert_eq!(
        attempts as usize,
        recs.len(),
        "attempts counts the requests that arrived:\n{all}"
    );
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "last_error names the 503: {dead}"
    );
    assert!(dead["delivered_at"].is_null(), "never delivered: {dead}");
    for r in &recs {
        assert_eq!(status(r), 503, "{all}");
        assert_eq!(
            header(r, "Idempotency-Key"),
            dead["id"].as_str(),
            "one notification, one key:\n{all}"
        );
        assert!(
            header(r, "X-Altimeter-Signature").is_none(),
            "no signature without ALTIMETER_NOTIFY_WEBHOOK_SECRET: {r}"
        );
    }
    // It kept trying for a while before giving up (give-up after 3 s; the
    // lower bound leaves room for jitter).
    let t = |r: &Value| r["t"].as_f64().unwrap_or(0.0);
    let span = t(&recs[recs.len() - 1]) - t(&recs[0]);
    assert!(
        span >= 1.0,
        "gave up {span:.2} s after the first attempt, before ALTIMETER_NOTIFY_GIVE_UP_AFTER=3s:\n{all}"
    );
    assert!(api.notifications(&url, "pending", &id).is_empty());
    assert!(api.notifications(&url, "delivered", &id).is_empty());
    assert_eq!(api.state(&url, &id), "alarm");

    let r = api.get(format!("{url}/metrics"));
    assert_eq!(r.status(), 200, "/metrics: {}", r.text());
    let exposition = r.text();
    let n = metric_sum(&exposition, "altimeter_notifications_dead_lettered_total");
    assert!(
        n.is_some_and(|n| n >= 1.0),
        "altimeter_notifications_dead_lettered_total >= 1 expected, got {n:?}:\n{}",
        exposition
            .lines()
            .filter(|l| l.contains("notif"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
