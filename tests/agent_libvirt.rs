//! `altimeter agent` against a real libvirt guest: a TCG-emulated QEMU guest
//! booted by `tests/peers/libvirt-guest.sh` under libvirtd on this machine,
//! polled by the real binary over `qemu:///system`, and checked against
//! `virsh domstats`, the guest's real cgroup and `promtool check metrics`.
//!
//! The test needs root, libvirt and QEMU; the script installs missing
//! packages with apt and starts virtlogd and libvirtd (no systemd) unless
//! they already run. If libvirtd or the guest cannot start, the test fails
//! with the script's output: it is never skipped.
//!
//! # Why a 30 s poll interval
//! The agent polls at start and then every `INTERVAL`; libvirt domain events
//! trigger extra polls. With 30 s, every poll during the test (well under
//! 30 s after the agent starts) is either the start-up poll or an event
//! poll, and the agent's own counters tell which. So:
//! * the CPU comparison brackets the one poll a scrape can reflect between
//!   two `virsh domstats` calls (tighter than "within one interval");
//! * the state change after `virsh destroy` provably comes from the event
//!   poll, not from an interval that happened to fall in the window.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use altimeter_tsdb::ingest::text::{ParsedSeries, parse_exposition};
use common::{free_port, promtool_check_metrics};

const URI: &str = "qemu:///system";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libvirt-guest.sh");
/// See the module documentation.
const INTERVAL: &str = "30s";
/// `<memory unit='MiB'>128</memory>` in the script's domain XML.
const GUEST_MEMORY_BYTES: f64 = 128.0 * 1024.0 * 1024.0;
/// libvirt `virDomainState`: running, shut off.
const RUNNING: f64 = 1.0;
const SHUTOFF: f64 = 5.0;

/// A guest defined and started by the script; destroyed and undefined on
/// drop, together with any libvirtd/virtlogd the script started for it.
struct Guest {
    name: String,
    tap: String,
    /// `guest/` (kernel, initramfs, disk, serial log) and `run/` (pid files
    /// and logs of the daemons the script started, domain XML).
    dir: tempfile::TempDir,
}

impl Guest {
    fn start() -> Guest {
        // A tap name has at most 15 characters.
        let id = std::process::id() % 100_000;
        let g = Guest {
            name: format!("altt{id}"),
            tap: format!("altt{id}n"),
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        // `g` exists before the start so that a half-started guest is
        // cleaned up by its drop when the assertion fails.
        let (ok, out) = g.script("start");
        assert!(
            ok,
            "libvirt-guest.sh start failed (libvirtd or QEMU could not start the guest):\n{out}"
        );
        eprintln!("{out}");
        g
    }

    /// Runs a verb of the script for this guest; (success, stdout + stderr).
    fn script(&self, verb: &str) -> (bool, String) {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg(verb)
            .env("GUEST_NAME", &self.name)
            .env("GUEST_TAP", &self.tap)
            .env("GUEST_DIR", self.dir.path().join("guest"))
            .env("LIBVIRT_RUN_DIR", self.dir.path().join("run"))
            .stdin(Stdio::null())
            .output()
            .expect("running bash");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// The pid of the guest's QEMU process, from libvirt's state directory.
    fn qemu_pid(&self) -> u32 {
        let f = format!("/run/libvirt/qemu/{}.pid", self.name);
        let s = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("reading {f}: {e}"));
        s.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{f} holds {s:?}: {e}"))
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        // `stop` destroys and undefines the domain (libvirt removes its tap)
        // and stops only the daemons whose pid files are in our run dir, i.e.
        // those the script started for this test; a libvirtd that was
        // already running keeps running.
        let (ok, out) = self.script("stop");
        if !ok || std::thread::panicking() {
            eprintln!("libvirt-guest.sh stop:\n{out}");
        }
    }
}

/// `altimeter agent`, killed on drop.
struct Agent {
    child: Child,
    url: String,
    log: PathBuf,
    http: common::reqwest::Blocking,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let port = free_port();
        let log = dir.join("agent.log");
        let logf = std::fs::File::create(&log).expect("agent log file");
        let child = Command::new(env!("CARGO_BIN_EXE_altimeter"))
            .arg("agent")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--libvirt-uri", URI])
            .args(["--interval", INTERVAL])
            .arg("--spool-dir")
            .arg(dir.join("spool"))
            .env("ALTIMETER_LOG", "info")
            .env_remove("ALTIMETER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawning altimeter agent");
        Agent {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            http: common::reqwest::blocking_client(),
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until every pollster has run once (`/-/ready` answers 200).
    fn wait_ready(&mut self) {
        let t0 = Instant::now();
        loop {
            if let Ok(r) = self.http.get(format!("{}/-/ready", self.url)).send()
                && r.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("agent exited with {status}; log:\n{}", self.logs());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "agent not ready after 30 s; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One scrape of `/metrics` in the classic text format.
    fn scrape(&self) -> Scrape {
        let r = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .expect("GET /metrics");
        assert_eq!(r.status(), 200, "/metrics: {}", r.text());
        let body = r.text();
        let series = parse_exposition(body.as_bytes(), 0, &[])
            .unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{body}"));
        Scrape { body, series }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("agent log:\n{}", self.logs());
        }
    }
}

/// A parsed `/metrics` body.
struct Scrape {
    body: String,
    series: Vec<ParsedSeries>,
}

impl Scrape {
    /// Series of metric `name` carrying every label of `want`.
    fn find(&self, name: &str, want: &[(&str, &str)]) -> Vec<&ParsedSeries> {
        self.series
            .iter()
            .filter(|s| {
                s.labels.metric_name() == name
                    && want.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .collect()
    }

    /// The value of the one series of `name` with the labels `want`.
    fn value(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        let found = self.find(name, want);
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{want:?}, found {}:\n{}",
            found.len(),
            self.body
        );
        let samples = &found[0].samples;
        assert_eq!(samples.len(), 1, "{name}{want:?} repeated:\n{}", self.body);
        samples[0].v
    }

    /// Like [`Scrape::value`], but an absent series is 0 (a counter that
    /// has not been incremented yet is not exposed).
    fn counter(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        if self.find(name, want).is_empty() {
            0.0
        } else {
            self.value(name, want)
        }
    }
}

/// `virsh -c qemu:///system <args>`; its stdout, or a panic with stderr.
fn virsh(args: &[&str]) -> String {
    let out = Command::new("virsh")
        .args(["-c", URI])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running virsh");
    assert!(
        out.status.success(),
        "virsh {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `virsh domstats --cpu-total --vcpu` of one domain as key → number.
fn domstats(name: &str) -> HashMap<String, f64> {
    let out = virsh(&["domstats", "--cpu-total", "--vcpu", name]);
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse::<f64>().ok()?)))
        .collect()
}

/// Ceilometer's `cpu` meter in seconds, computed as the agent does: the sum
/// of `vcpu.N.time + vcpu.N.wait` when every current vCPU reports both,
/// else the domain's `cpu.time`.
fn ceilometer_cpu_seconds(stats: &HashMap<String, f64>) -> f64 {
    let current = stats.get("vcpu.current").copied().unwrap_or(0.0);
    let per_vcpu = |suffix: &str| {
        stats
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix("vcpu.")
                    .and_then(|r| r.strip_suffix(suffix))
                    .is_some_and(|n| n.bytes().all(|c| c.is_ascii_digit()) && !n.is_empty())
            })
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    let (times, waits) = (per_vcpu(".time"), per_vcpu(".wait"));
    let ns = if current > 0.0 && times.len() as f64 == current && waits.len() as f64 == current {
        times.iter().sum::<f64>() + waits.iter().sum::<f64>()
    } else {
        stats["cpu.time"]
    };
    ns / 1e9
}

/// The cgroup libvirt put the guest in, relative to the hierarchy root, from
/// the QEMU process's own `/proc/<pid>/cgroup`: its memory cgroup (v1) or,
/// without one, its v2 cgroup; minus the `emulator` child libvirt moves the
/// main thread into and, under systemd with cgroup v2, the `libvirt` child
/// of the machine scope that holds it.
fn guest_cgroup(qemu_pid: u32) -> String {
    let f = format!("/proc/{qemu_pid}/cgroup");
    let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("reading {f}: {e}"));
    let of = |controllers: &str| {
        text.lines().find_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, c, path) = (p.next()?, p.next()?, p.next()?);
            (c.split(',').any(|x| x == controllers) || c == controllers).then(|| path.to_string())
        })
    };
    let path = of("memory")
        .or_else(|| of(""))
        .unwrap_or_else(|| panic!("no memory or v2 cgroup in {f}:\n{text}"));
    let path = path.strip_suffix("/emulator").unwrap_or(&path);
    path.strip_suffix("/libvirt").unwrap_or(path).to_string()
}

/// Runs `promtool check metrics` on an exposition and requires it to parse
/// and lint clean, except for one finding: the camelCase of node-exporter's
/// `node_memory_<Field>_bytes` names (fields of /proc/meminfo), which the
/// host pollster keeps so that node-exporter dashboards work, and which
/// node-exporter's own output draws from promtool too.
fn promtool_passes(what: &str, body: &str) {
    let (code, report) = promtool_check_metrics(body);
    assert!(
        matches!(code, Some(0 | 3)),
        "promtool check metrics ({what}) failed with {code:?}:\n{report}"
    );
    let unexpected: Vec<&str> = report
        .lines()
        .filter(|l| {
            !(l.starts_with("node_memory_")
                && l.ends_with(" metric names should be written in 'snake_case' not 'camelCase'"))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "promtool check metrics ({what}) reports:\n{}",
        unexpected.join("\n")
    );
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("reading the hostname")
        .trim()
        .to_string()
}

#[test]
fn agent_reports_a_real_libvirt_guest() {
    let t0 = Instant::now();
    let guest = Guest::start();
    let booted = t0.elapsed();
    let uuid = virsh(&["domuuid", &guest.name]).trim().to_string();
    assert_eq!(uuid.len(), 36, "domuuid answered {uuid:?}");
    let name = guest.name.as_str();
    let tap = guest.tap.as_str();

    // The agent starts after `before` and is scraped before `after`, so
    // every poll the scrape can reflect ran between the two readings.
    let before = domstats(name);
    let mut agent = Agent::start(guest.dir.path());
    let agent_started = Instant::now();
    agent.wait_ready();
    let running = agent.scrape();
    let after = domstats(name);

    // -- The guest's series, labelled with its UUID. The guest ran before
    // the agent started, so the start-up poll (which /-/ready waits for)
    // already has it: no waiting for it to show up.
    let g = [("instance_id", uuid.as_str())];
    assert_eq!(running.value("instance_power_state", &g), RUNNING);
    assert_eq!(running.value("instance_vcpus", &g), 1.0);
    assert_eq!(
        running.value("instance_memory_bytes", &g),
        GUEST_MEMORY_BYTES
    );
    assert!(running.value("instance_memory_resident_bytes", &g) > 0.0);
    let disk = [("instance_id", uuid.as_str()), ("device", "vda")];
    // The kernel reads vda's partition table when virtio_blk loads, before
    // BOOTED-OK.
    assert!(running.value("instance_disk_read_bytes_total", &disk) > 0.0);
    let nic = [("instance_id", uuid.as_str()), ("interface", tap)];
    assert!(running.value("instance_network_transmit_bytes_total", &nic) >= 0.0);
    let host = hostname();
    let ours: Vec<_> = running
        .series
        .iter()
        .filter(|s| s.labels.get("instance_id") == Some(uuid.as_str()))
        .collect();
    for s in &ours {
        assert_eq!(s.labels.get("host"), Some(host.as_str()), "{}", s.labels);
        assert_eq!(s.labels.get("domain"), Some(name), "{}", s.labels);
    }

    // -- CPU time agrees with `virsh domstats`. libvirt's vcpu.N.time and
    // vcpu.N.wait (and cpu.time) only grow, and the poll behind this scrape
    // ran between `before` and `after` (see above), so the agent's value
    // must lie between the two readings: a bound tighter than one poll
    // interval. Only float rounding of ns → s is allowed for.
    let cpu = running.value("instance_cpu_seconds_total", &g);
    let (cpu_lo, cpu_hi) = (
        ceilometer_cpu_seconds(&before),
        ceilometer_cpu_seconds(&after),
    );
    assert!(cpu > 0.0);
    assert!(
        cpu_lo - 1e-6 <= cpu && cpu <= cpu_hi + 1e-6,
        "instance_cpu_seconds_total {cpu} outside the domstats readings [{cpu_lo}, {cpu_hi}] \
         taken before the agent started and after the scrape\nbefore: {before:?}\nafter: {after:?}"
    );

    // -- Host series.
    assert!(!running.find("node_cpu_seconds_total", &[]).is_empty());
    assert!(running.value("node_memory_MemTotal_bytes", &[]) > 0.0);
    assert!(running.value("node_load1", &[]) >= 0.0);

    // -- cgroup series of the guest's own cgroup, where libvirt really put
    // it (here, without systemd: /machine/qemu-<id>-<name>.libvirt-qemu,
    // covered by the agent's default watch list).
    let cg = guest_cgroup(guest.qemu_pid());
    let by_domain = running.find("cgroup_cpu_usage_seconds_total", &[("domain", name)]);
    let labels: Vec<String> = by_domain.iter().map(|s| s.labels.to_string()).collect();
    assert_eq!(
        labels.len(),
        1,
        "one cgroup_cpu_usage_seconds_total with domain={name} expected (guest cgroup {cg}): {labels:?}\n{}",
        running.body
    );
    assert_eq!(by_domain[0].labels.get("cgroup"), Some(cg.as_str()));
    let cgd = [("cgroup", cg.as_str()), ("domain", name)];
    // libvirt's cpu.time is the CPU usage of this same cgroup (v1 cpuacct
    // or v2 cpu.stat), so it brackets the agent's reading too; 0.1 s allows
    // for the agent and libvirt reading different hierarchies on a hybrid
    // host, which can differ by what ran before QEMU joined both.
    let cg_cpu = running.value("cgroup_cpu_usage_seconds_total", &cgd);
    let (cg_lo, cg_hi) = (before["cpu.time"] / 1e9, after["cpu.time"] / 1e9);
    assert!(
        cg_lo - 0.1 <= cg_cpu && cg_cpu <= cg_hi + 0.1,
        "cgroup {cg} CPU {cg_cpu} s outside domstats cpu.time [{cg_lo}, {cg_hi}]"
    );
    assert!(running.value("cgroup_memory_usage_bytes", &cgd) > 0.0);

    // -- Lifecycle: a destroyed guest shows as shut off at once, through
    // the event-triggered poll (the next interval poll is 30 s away).
    let libvirt = [("pollster", "libvirt")];
    let events_before = running.counter("altimeter_agent_event_polls_total", &libvirt);
    virsh(&["destroy", name]);
    let destroyed = Instant::now();
    let stopped = loop {
        let m = agent.scrape();
        if m.find("instance_power_state", &g)
            .iter()
            .any(|s| s.samples[0].v == SHUTOFF)
        {
            break m;
        }
        assert!(
            destroyed.elapsed() < Duration::from_secs(5),
            "instance_power_state of {uuid} not {SHUTOFF} 5 s after virsh destroy:\n{}",
            m.body
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let seen_after = destroyed.elapsed();
    let polls = stopped.counter("altimeter_agent_polls_total", &libvirt);
    let events = stopped.counter("altimeter_agent_event_polls_total", &libvirt);
    assert!(events > events_before, "no event poll after destroy");
    assert_eq!(
        polls - events,
        1.0,
        "libvirt interval polls besides the start-up one ({:?} after the agent started, \
         interval {INTERVAL}): the state change may not come from the event poll",
        agent_started.elapsed()
    );
    // A shut-off guest reports its state only.
    let left: Vec<String> = stopped
        .series
        .iter()
        .filter(|s| s.labels.get("instance_id") == Some(uuid.as_str()))
        .map(|s| s.labels.to_string())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "only instance_power_state expected: {left:?}"
    );
    assert!(stopped.find("instance_cpu_seconds_total", &g).is_empty());

    // -- Clean-up leaves nothing behind (the drop repeats it harmlessly,
    // and stops the daemons the script started).
    let (ok, out) = guest.script("stop-guest");
    assert!(ok, "libvirt-guest.sh stop-guest:\n{out}");
    assert!(
        !Path::new("/sys/class/net").join(tap).exists(),
        "tap {tap} left behind"
    );

    eprintln!(
        "guest {name} ({uuid}) booted in {booted:?}, {} series while running; \
         instance_cpu_seconds_total {cpu} in domstats [{cpu_lo}, {cpu_hi}]; \
         cgroup {cg} CPU {cg_cpu} in cpu.time [{cg_lo}, {cg_hi}]; \
         shut off in /metrics {seen_after:?} after virsh destroy",
        ours.len()
    );

    // -- Both expositions, guest running and shut off, pass promtool.
    // Checked last so that a finding does not hide the results above.
    promtool_passes("guest running", &running.body);
    promtool_passes("guest shut off", &stopped.body);
}
