//! Test harness: starts the real `altimeter` binary on a free loopback port
//! with its own data directory, and talks to it over HTTP.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use altimeter_tsdb::ingest::remote_write::{encode_request, proto};

pub mod peer;

/// A running server.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts `altimeter serve` on `data_dir` with extra args and waits until ready.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = data_dir.with_extension(format!("log-{port}"));
        let logf = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_altimeter"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .env("ALTIMETER_LOG", "info")
            .env_remove("ALTIMETER_CONFIG")
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawning altimeter");
        let s = Server {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
            log,
        };
        s.wait_ready();
        s
    }

    pub fn wait_ready(&self) {
        let t0 = Instant::now();
        let client = reqwest::blocking_client();
        loop {
            if let Ok(r) = client.get(format!("{}/-/ready", self.url)).send()
                && r.status() == 200
            {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "server not ready after 60 s; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal blocking HTTP over reqwest's async client on a private runtime.
pub mod reqwest {
    pub struct Blocking {
        rt: tokio::runtime::Runtime,
        c: ::reqwest::Client,
    }

    pub struct Req<'a> {
        b: &'a Blocking,
        r: ::reqwest::RequestBuilder,
    }

    pub struct Resp {
        pub status: u16,
        pub body: Vec<u8>,
    }

    impl Resp {
        pub fn status(&self) -> u16 {
            self.status
        }
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
        }
    }

    pub fn blocking_client() -> Blocking {
        altimeter_collector::ship::install_tls_provider();
        Blocking {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            c: ::reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    impl Blocking {
        pub fn get(&self, url: String) -> Req<'_> {
            Req {
                b: self,
                r: self.c.get(url),
            }
        }
        pub fn post(&self, url: String) -> Req<'_> {
            Req {
                b: self,
                r: self.c.post(url),
            }
        }
    }

    impl Req<'_> {
        pub fn body(self, body: Vec<u8>) -> Self {
            Req {
                b: self.b,
                r: self.r.body(body),
            }
        }
        pub fn header(self, k: &str, v: &str) -> Self {
            Req {
                b: self.b,
                r: self.r.header(k, v),
            }
        }
        pub fn send(self) -> ::reqwest::Result<Resp> {
            self.b.rt.block_on(async {
                let r = self.r.send().await?;
                let status = r.status().as_u16();
                let body = r.bytes().await?.to_vec();
                Ok(Resp { status, body })
            })
        }
    }
}

/// A client bound to one server.
pub struct Client {
    pub url: String,
    http: reqwest::Blocking,
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            url: url.to_string(),
            http: reqwest::blocking_client(),
        }
    }

    pub fn write(&self, req: &proto::WriteRequest) -> reqwest::Resp {
        self.write_raw(encode_request(req))
    }

    pub fn write_raw(&self, body: Vec<u8>) -> reqwest::Resp {
        self.try_write_raw(body).expect("remote write")
    }

    /// Like `write_raw`, but a connection failure is an `Err`.
    pub fn try_write_raw(&self, body: Vec<u8>) -> Result<reqwest::Resp, ::reqwest::Error> {
        self.http
            .post(format!("{}/api/v1/write", self.url))
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
    }

    pub fn import(&self, text: &str, query: &str) -> reqwest::Resp {
        self.http
            .post(format!("{}/api/v1/import/prometheus{query}", self.url))
            .body(text.as_bytes().to_vec())
            .send()
            .expect("import")
    }

    pub fn sql(&self, q: &str) -> serde_json::Value {
        let r = self.sql_raw(q);
        assert_eq!(r.status(), 200, "SQL {q} failed: {}", r.text());
        r.json()
    }

    pub fn sql_raw(&self, q: &str) -> reqwest::Resp {
        self.http
            .post(format!("{}/api/v1/sql", self.url))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&serde_json::json!({ "query": q })).unwrap())
            .send()
            .expect("sql")
    }

    /// `SELECT count(*) FROM samples` as a number.
    pub fn count_samples(&self) -> u64 {
        self.sql("SELECT count(*) AS n FROM samples")["rows"][0][0]
            .as_u64()
            .unwrap()
    }

    /// POSTs to an admin endpoint, asserts 200 and returns the JSON answer.
    fn admin(&self, path: &str) -> serde_json::Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text());
        r.json()
    }

    pub fn flush(&self) -> serde_json::Value {
        self.admin("/api/v1/admin/flush")
    }

    /// Flush, then merge blocks of the same window.
    pub fn flush_compact(&self) -> serde_json::Value {
        self.admin("/api/v1/admin/flush?compact=1")
    }

    pub fn compact(&self) -> serde_json::Value {
        self.admin("/api/v1/admin/compact")
    }

    pub fn get(&self, path: &str) -> reqwest::Resp {
        self.http.get(format!("{}{path}", self.url)).send().unwrap()
    }
}

pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> proto::TimeSeries {
    proto::TimeSeries::from_pairs(labels, samples)
}

/// Milliseconds since the epoch (tests only).
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Runs `promtool check metrics` on an exposition; returns its exit code
/// and its output (stdout then stderr).
pub fn promtool_check_metrics(body: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/setup.sh test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), report)
}
