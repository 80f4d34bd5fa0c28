//! The host pollster against a real prometheus-node-exporter 1.5 on this
//! machine, started with only the collectors the pollster implements: every
//! family and label set node-exporter exposes must be ours too, and values
//! that hold still must agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use altimeter_collector::family::{Family, Pollster};
use altimeter_collector::host::HostPollster;

const COLLECTORS: [&str; 10] = [
    "cpu",
    "stat",
    "meminfo",
    "loadavg",
    "diskstats",
    "netdev",
    "filesystem",
    "pressure",
    "vmstat",
    "uname",
];

/// Upstream node-exporter 1.5's defaults, which the pollster implements.
/// Debian's build patches them (it excludes `lo` and all of /run, /mnt and
/// /media), so they are passed explicitly.
const UPSTREAM_DEFAULTS: [&str; 2] = [
    "--collector.filesystem.mount-points-exclude=\
     ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
    "--collector.netdev.device-exclude=",
];

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A running node-exporter, killed when dropped (pass or fail).
struct Exporter {
    child: Child,
    port: u16,
    log: File,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    fn start() -> Exporter {
        let binary = find_binary();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::tempfile().expect("a log file");
        let mut command = Command::new(&binary);
        command
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .args(COLLECTORS.map(|collector| format!("--collector.{collector}")))
            .args(UPSTREAM_DEFAULTS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("log handle"));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut exporter = Exporter { child, port, log };
        // Wait for it to listen; startup is not the thing under test.
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!("node-exporter exited with {status}:\n{}", exporter.log());
            }
            assert!(
                Instant::now() < deadline,
                "node-exporter never listened:\n{}",
                exporter.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    fn log(&mut self) -> String {
        let mut text = String::new();
        let _ = self.log.rewind();
        let _ = self.log.read_to_string(&mut text);
        text
    }

    /// GET /metrics over plain HTTP/1.0.
    fn scrape(&mut self) -> Vec<Sample> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n")
            .expect("send request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let status = head.lines().next().unwrap_or("");
        assert!(status.contains(" 200 "), "{status}\n{}", self.log());
        parse_exposition(body)
    }
}

/// The exporter's path: the Debian package's, or one on PATH.
fn find_binary() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/prometheus-node-exporter");
    if debian.is_file() {
        return debian;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["prometheus-node-exporter", "node_exporter"] {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "prometheus-node-exporter is not installed, and this test compares against it: \
         run scripts/setup.sh test"
    );
}

/// Parses Prometheus text exposition format samples (no timestamps).
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("bad sample: {line}"));
        let name = line[..name_end].to_owned();
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(mut inside) = rest.strip_prefix('{') {
            loop {
                inside = inside.trim_start_matches(',');
                if let Some(after) = inside.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (key, quoted) = inside
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bad labels: {line}"));
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let end = loop {
                    match chars
                        .next()
                        .unwrap_or_else(|| panic!("unterminated: {line}"))
                    {
                        (_, '\\') => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, escaped)) => value.push(escaped),
                            None => panic!("bad escape: {line}"),
                        },
                        (i, '"') => break i + 1,
                        (_, c) => value.push(c),
                    }
                };
                labels.insert(key.to_owned(), value);
                inside = &quoted[end..];
            }
        }
        let value = rest
            .split_ascii_whitespace()
            .next()
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

fn ours() -> Vec<Sample> {
    let mut families: Vec<Family> = Vec::new();
    HostPollster::new(PathBuf::from("/"))
        .poll(&mut families)
        .expect("host poll on this machine");
    let mut samples = Vec::new();
    for family in families {
        for series in family.series {
            let labels = series
                .labels
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v))
                .collect();
            samples.push(Sample {
                name: family.name.to_string(),
                labels,
                value: series.value,
            });
        }
    }
    samples
}

/// (name, label names) of every node_* series but node-exporter's own.
fn signatures(samples: &[Sample]) -> BTreeSet<(String, Vec<String>)> {
    samples
        .iter()
        .filter(|s| s.name.starts_with("node_"))
        .filter(|s| {
            !s.name.starts_with("node_scrape_collector_") && s.name != "node_exporter_build_info"
        })
        .map(|s| (s.name.clone(), s.labels.keys().cloned().collect()))
        .collect()
}

/// Series of `name` keyed by their labels.
fn by_labels(samples: &[Sample], name: &str) -> BTreeMap<BTreeMap<String, String>, f64> {
    let series = samples.iter().filter(|s| s.name == name);
    series.map(|s| (s.labels.clone(), s.value)).collect()
}

fn one(samples: &[Sample], name: &str) -> f64 {
    let values = by_labels(samples, name);
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values.into_values().next().unwrap()
}

fn label_set(samples: &[Sample], name: &str, key: &str) -> BTreeSet<String> {
    let series = samples.iter().filter(|s| s.name == name);
    series.filter_map(|s| s.labels.get(key).cloned()).collect()
}

#[test]
fn host_pollster_covers_node_exporter() {
    let mut exporter = Exporter::start();
    let started = Instant::now();
    let theirs = exporter.scrape();
    let ours = ours();
    let between = started.elapsed().as_secs_f64();

    // (a) Every family and label set of theirs is ours too.
    let (their_signatures, our_signatures) = (signatures(&theirs), signatures(&ours));
    assert!(
        their_signatures.len() > 50,
        "too little from node-exporter: {their_signatures:?}"
    );
    let missing: Vec<_> = their_signatures.difference(&our_signatures).collect();
    let extra: Vec<_> = our_signatures.difference(&their_signatures).collect();
    if !extra.is_empty() {
        eprintln!("ours only (allowed): {extra:#?}");
    }
    assert!(
        missing.is_empty(),
        "node-exporter exposes these (name, label names) and we do not: {missing:#?}"
    );

    // (b) Values that hold still agree.
    let mem_total = "node_memory_MemTotal_bytes";
    assert_eq!(one(&ours, mem_total), one(&theirs, mem_total));
    let size = "node_filesystem_size_bytes";
    let (our_sizes, their_sizes) = (by_labels(&ours, size), by_labels(&theirs, size));
    assert!(
        !their_sizes.is_empty(),
        "node-exporter reports no filesystems"
    );
    assert_eq!(our_sizes, their_sizes, "{size}");
    let boot = "node_boot_time_seconds";
    assert!(
        (one(&ours, boot) - one(&theirs, boot)).abs() <= 1.0,
        "{boot}"
    );
    assert_eq!(
        by_labels(&ours, "node_uname_info"),
        by_labels(&theirs, "node_uname_info")
    );
    for (name, label) in [
        ("node_disk_info", "device"),
        ("node_network_receive_bytes_total", "device"),
        ("node_filesystem_device_error", "mountpoint"),
    ] {
        assert_eq!(
            label_set(&ours, name, label),
            label_set(&theirs, name, label),
            "{name}"
        );
    }

    let cpu = "node_cpu_seconds_total";
    let cpus = label_set(&theirs, cpu, "cpu");
    assert!(!cpus.is_empty());
    assert_eq!(label_set(&ours, cpu, "cpu"), cpus);
    // Idle time moves at most one second per second per CPU, in 10 ms ticks.
    let tolerance = between + 0.5;
    let (our_cpu, their_cpu) = (by_labels(&ours, cpu), by_labels(&theirs, cpu));
    for (labels, their_value) in their_cpu
        .iter()
        .filter(|(labels, _)| labels["mode"] == "idle")
    {
        let our_value = our_cpu
            .get(labels)
            .unwrap_or_else(|| panic!("no {cpu}{labels:?}"));
        let difference = our_value - their_value;
        assert!(
            difference.abs() <= tolerance,
            "{cpu}{labels:?}: ours {our_value}, theirs {their_value}, {between:.3} s apart"
        );
    }
}
