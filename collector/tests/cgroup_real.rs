//! The cgroup pollster on this machine's real hierarchies.
//!
//! Creates `altimeter-test-<pid>` under this process's own cgroup in the v1
//! `cpu`, `cpuacct`, `memory` and `pids` hierarchies and at the root of the
//! cgroup2 mount, moves a busy `sh` loop into all of them, and checks what the
//! pollster reports; then removes them and checks the series are gone. (v1
//! `blkio` is not exercised: on this kernel its counters stay at zero without
//! a throttle rule.)
//! Needs root and a hybrid or v1 host (the project's CI machine); it fails,
//! rather than passes, anywhere else.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use altimeter_collector::cgroup::{CgroupOptions, CgroupPollster};
use altimeter_collector::family::{Family, Pollster};

/// v1 controllers the test creates a child in.
const V1: [&str; 4] = ["cpu", "cpuacct", "memory", "pids"];

/// Kills the workload and removes the test cgroups, also when an assertion
/// fails.
struct Guard {
    child: Option<Child>,
    /// Created directories, removed in reverse order.
    dirs: Vec<PathBuf>,
}

impl Guard {
    /// Returns what could not be removed.
    fn cleanup(&mut self) -> Vec<String> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut failures = Vec::new();
        while let Some(dir) = self.dirs.pop() {
            // A cgroup whose last task just exited can stay busy briefly.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(50)),
                    Err(e) => {
                        failures.push(format!("rmdir {}: {e}", dir.display()));
                        break;
                    }
                }
            }
        }
        failures
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A cgroup mount: mount point and its root within the hierarchy.
struct Mount {
    point: PathBuf,
    root: String,
}

/// `cgroup` mounts by controller, and the first `cgroup2` mount.
fn mounts() -> (BTreeMap<String, Mount>, Option<Mount>) {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    let mut v1 = BTreeMap::new();
    let mut v2 = None;
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        let mount = || Mount {
            point: PathBuf::from(pre[4]),
            root: pre[3].to_owned(),
        };
        match post[0] {
            "cgroup2" if v2.is_none() => v2 = Some(mount()),
            "cgroup" => {
                for c in post[2].split(',').filter(|o| V1.contains(o)) {
                    v1.entry(c.to_owned()).or_insert_with(mount);
                }
            }
            _ => {}
        }
    }
    (v1, v2)
}

/// This process's cgroup path per v1 controller, and its v2 path (key `""`).
fn own_cgroups() -> BTreeMap<String, String> {
    let text = fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let mut own = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        for c in controllers.split(',') {
            own.insert(c.to_owned(), path.to_owned());
        }
    }
    own
}

fn euid() -> u32 {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid: line");
    line.split_ascii_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

/// CPU time of `pid` in seconds, from /proc (USER_HZ ticks).
fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split(' ').collect();
    // Fields 14 and 15 (utime, stime); `after_comm` starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Values of `name` for the series whose `cgroup` label is `cgroup`, with
/// their full labels.
fn series(fams: &[Family], name: &str, cgroup: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    fams.iter()
        .filter(|f| f.name == name)
        .flat_map(|f| &f.series)
        .map(|s| {
            let labels: BTreeMap<String, String> = s
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            (labels, s.value)
        })
        .filter(|(labels, _)| labels["cgroup"] == cgroup)
        .collect()
}

/// The single value of `name` for `cgroup`, if any.
fn value(fams: &[Family], name: &str, cgroup: &str) -> Option<f64> {
    let found = series(fams, name, cgroup);
    assert!(
        found.len() <= 1,
        "{name}{{cgroup={cgroup:?}}} more than once: {found:?}"
    );
    found.first().map(|s| s.1)
}

fn poll(p: &mut CgroupPollster) -> Vec<Family> {
    let mut fams = Vec::new();
    p.poll(&mut fams).expect("poll of the test cgroups");
    fams
}

/// The path of `own` (a cgroup path from /proc/self/cgroup) inside `mount`,
/// without leading or trailing `/`.
fn inside(mount: &Mount, own: &str) -> String {
    let root = mount.root.trim_end_matches('/');
    match own.strip_prefix(root) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_matches('/').to_owned(),
        _ => panic!(
            "own cgroup {own} is not below the root {} of the mount at {}",
            mount.root,
            mount.point.display()
        ),
    }
}

#[test]
fn pollster_reads_a_busy_process_in_real_cgroups() {
    assert_eq!(
        euid(),
        0,
        "cgroup_real creates cgroups and must run as root (the project's CI does)"
    );
    let (v1, v2) = mounts();
    let own = own_cgroups();
    let missing: Vec<&str> = V1.into_iter().filter(|c| !v1.contains_key(*c)).collect();
    assert!(
        missing.is_empty(),
        "no v1 cgroup mount for {missing:?} in /proc/self/mountinfo; this test expects the \
         hybrid layout of the CI machine (v1 cpu, cpuacct, memory, pids; cgroup2 at /sys/fs/cgroup/unified)"
    );
    let v2 = v2.expect("no cgroup2 mount in /proc/self/mountinfo");

    let child_name = format!("altimeter-test-{}", std::process::id());
    let mut guard = Guard {
        child: None,
        dirs: Vec::new(),
    };
    // Relative path of the test cgroup (no leading `/`) per controller, and
    // the directories to create and move the workload into.
    let mut rel = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for c in V1 {
        let mount = &v1[c];
        let own_path = own
            .get(c)
            .unwrap_or_else(|| panic!("no {c} line in /proc/self/cgroup"));
        let parent = inside(mount, own_path);
        let r = if parent.is_empty() {
            child_name.clone()
        } else {
            format!("{parent}/{child_name}")
        };
        let dir = mount.point.join(&r);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
        rel.insert(c, r);
    }
    let v2_dir = v2.point.join(&child_name);
    dirs.push(v2_dir.clone());
    for dir in &dirs {
        fs::create_dir(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        guard.dirs.push(dir.clone());
    }

    // The loop waits until it has been moved, then allocates ~1 MiB: v1
    // memory charges pages when they are allocated and does not move earlier
    // charges with the task. Only builtins, so it stays one task.
    let script = "read go; s=x; i=0; while [ $i -lt 20 ]; do s=$s$s; i=$((i+1)); done; \
                  while :; do :; done";
    let child = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    guard.child = Some(child);
    for dir in &dirs {
        let procs = dir.join("cgroup.procs");
        fs::write(&procs, pid.to_string())
            .unwrap_or_else(|e| panic!("move {pid} into {}: {e}", procs.display()));
    }
    let mut stdin = guard.child.as_mut().and_then(|c| c.stdin.take()).unwrap();
    stdin.write_all(b"go\n").expect("start the workload");
    drop(stdin);

    // Let the loop burn ~0.8 s of CPU; the machine is shared, so wait for the
    // CPU time rather than for wall time.
    let deadline = Instant::now() + Duration::from_secs(30);
    while proc_cpu_seconds(pid) < 0.8 {
        assert!(
            Instant::now() < deadline,
            "the busy loop got only {} s of CPU in 30 s",
            proc_cpu_seconds(pid)
        );
        sleep(Duration::from_millis(100));
    }

    let mut watch: Vec<String> = rel.values().cloned().collect();
    watch.push(child_name.clone());
    watch.sort();
    watch.dedup();
    let mut p = CgroupPollster::new(CgroupOptions {
        watch,
        max_depth: 0,
        ..CgroupOptions::default()
    })
    .expect("pollster on /proc/self/mountinfo");
    let fams = poll(&mut p);
    let cpu_after = proc_cpu_seconds(pid);

    let key = |c: &str| format!("/{}", rel[c]);
    let v2_key = format!("/{child_name}");

    // CPU time: from v2 cpu.stat when the cpuacct path is also the v2 path,
    // from cpuacct otherwise; either way this process's time since the move.
    let usage = value(&fams, "cgroup_cpu_usage_seconds_total", &key("cpuacct"))
        .expect("cgroup_cpu_usage_seconds_total for the test cgroup");
    assert!(usage > 0.5, "cpu usage {usage} s");
    assert!(
        usage <= cpu_after + 0.05,
        "cgroup cpu usage {usage} s exceeds the process's own {cpu_after} s (unit error?)"
    );
    let user = value(&fams, "cgroup_cpu_user_seconds_total", &key("cpuacct")).unwrap();
    let system = value(&fams, "cgroup_cpu_system_seconds_total", &key("cpuacct")).unwrap();
    assert!(
        user > 0.0 && user + system <= usage + 0.05,
        "user {user} system {system} usage {usage}"
    );
    let labels = &series(&fams, "cgroup_cpu_usage_seconds_total", &key("cpuacct"))[0].0;
    let expected: BTreeMap<String, String> = [
        ("cgroup".to_owned(), key("cpuacct")),
        ("name".to_owned(), child_name.clone()),
    ]
    .into();
    assert_eq!(labels, &expected);
    // No quota: the v1 cpu controller counts no periods, but reports them.
    assert_eq!(
        value(&fams, "cgroup_cpu_periods_total", &key("cpu")),
        Some(0.0)
    );

    let memory = value(&fams, "cgroup_memory_usage_bytes", &key("memory"))
        .expect("cgroup_memory_usage_bytes for the test cgroup");
    assert!(memory > 0.0, "memory usage {memory}");
    assert!(
        value(&fams, "cgroup_memory_rss_bytes", &key("memory")).is_some(),
        "memory.stat total_rss"
    );
    assert_eq!(
        value(&fams, "cgroup_memory_limit_bytes", &key("memory")),
        None,
        "a new memory cgroup is unlimited"
    );

    assert_eq!(
        value(&fams, "cgroup_pids_current", &key("pids")),
        Some(1.0),
        "the loop is one task"
    );
    assert_eq!(
        value(&fams, "cgroup_pids_limit", &key("pids")),
        None,
        "pids.max is max"
    );

    if v2_dir.join("cpu.pressure").exists() {
        for res in ["cpu", "memory", "io"] {
            for kind in ["waiting", "stalled"] {
                let name = format!("cgroup_pressure_{res}_{kind}_seconds_total");
                let v = value(&fams, &name, &v2_key);
                assert!(v.is_some_and(|v| v >= 0.0), "{name} for {v2_key}: {v:?}");
            }
        }
    }

    // Stop the workload, remove the cgroups: the next poll has none of them
    // and no error.
    let failures = guard.cleanup();
    assert!(failures.is_empty(), "cleanup: {failures:?}");
    let fams = poll(&mut p);
    let mut keys: Vec<String> = V1.iter().map(|c| key(c)).collect();
    keys.push(v2_key);
    for f in &fams {
        for k in &keys {
            assert!(
                series(&fams, &f.name, k).is_empty(),
                "{} still has {k}",
                f.name
            );
        }
    }
    for dir in &dirs {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
}
