//! The host pollster: this machine's /proc, /sys and mounted filesystems under
//! prometheus-node-exporter 1.5's metric names, label names and units, so
//! "Node Exporter Full" dashboards work unchanged.
//!
//! It covers node-exporter's cpu, stat, meminfo, loadavg, diskstats, netdev,
//! filesystem, pressure, vmstat and uname collectors with their default flags.
//! Every path is taken under a root directory (`/` in production, a fixture
//! tree in tests) that plays node-exporter's `--path.procfs`, `--path.sysfs`,
//! `--path.udev.data` and `--path.rootfs` at once: mount points listed in
//! `<root>/proc/1/mounts` (or `<root>/proc/mounts` if pid 1 is hidden) are
//! statvfs'd at `root.join(mountpoint)`, on a helper thread with node-exporter's
//! 5 s timeout, after which a hung mount point reports `device_error` 1.
//!
//! The mount point and device excludes are upstream node-exporter 1.5's
//! defaults; Debian's package patches its defaults (it also drops `lo` and
//! all of /run, /mnt and /media).
//!
//! A poll reads each file once, with `pread` from offset 0 on a handle kept
//! open between polls (which regenerates a /proc file), into one reused buffer.
//! A collector that fails adds nothing; the others still report, and the poll
//! then returns an error naming every failure.
//!
//! Known differences from node-exporter 1.5:
//! - netdev reads /proc/net/dev rather than netlink. Its columns are the same
//!   kernel sums node-exporter's legacy names map netlink counters to;
//!   `receive_nohandler` (netlink only) comes from
//!   `/sys/class/net/<device>/statistics/rx_nohandler`.
//! - vmstat parses only the values of the fields it exports.
//! - filesystem keeps the first of several mounts with equal device, mount
//!   point and type (node-exporter also compares the mount options).
//! - uname reads `/proc/sys/kernel/{ostype,osrelease,version,arch,hostname,
//!   domainname}`: uname(2)'s strings for the reader's UTS namespace.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use crate::family::{Family, Kind, Pollster, label};

/// Clock ticks per second in /proc/stat (USER_HZ, 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;
/// Seconds per /proc/diskstats time unit (milliseconds).
const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;
/// Bytes per /proc/diskstats sector, whatever the device's sector size.
const SECTOR_BYTES: f64 = 512.0;
/// How long a statvfs may take before its mount point is marked stuck
/// (node-exporter's `--collector.filesystem.mount-timeout`).
const MOUNT_TIMEOUT: Duration = Duration::from_secs(5);

/// Polls the host's kernel statistics under node-exporter's names; see the
/// module docs.
#[derive(Debug)]
pub struct HostPollster {
    root: PathBuf,
    /// Holds the file being parsed.
    buf: Vec<u8>,
    /// Holds small per-device files (udev data, sysfs attributes).
    aux: Vec<u8>,
    stat: Source,
    meminfo: Source,
    loadavg: Source,
    diskstats: Source,
    netdev: Source,
    vmstat: Source,
    mounts: Source,
    mounts_fallback: Source,
    pressure: [Source; 3],
    hostname: Source,
    domainname: Source,
    /// sysname, release, version and machine: fixed until reboot, read once.
    uname: Option<[String; 4]>,
    cpu: CpuState,
    statfs: StatfsGuard,
}

impl HostPollster {
    /// A pollster reading `root`'s `proc/`, `sys/`, `run/udev/data/` and
    /// mount points; `root` is `/` outside tests. Opens nothing yet.
    pub fn new(root: PathBuf) -> HostPollster {
        let source = |relative: &str| Source::new(root.join(relative));
        HostPollster {
            buf: Vec::new(),
            aux: Vec::new(),
            stat: source("proc/stat"),
            meminfo: source("proc/meminfo"),
            loadavg: source("proc/loadavg"),
            diskstats: source("proc/diskstats"),
            netdev: source("proc/net/dev"),
            vmstat: source("proc/vmstat"),
            mounts: source("proc/1/mounts"),
            mounts_fallback: source("proc/mounts"),
            pressure: PSI.map(|psi| source(psi.file)),
            hostname: source("proc/sys/kernel/hostname"),
            domainname: source("proc/sys/kernel/domainname"),
            uname: None,
            cpu: CpuState::default(),
            statfs: StatfsGuard::new(statvfs, MOUNT_TIMEOUT),
            root,
        }
    }
}

impl Pollster for HostPollster {
    fn name(&self) -> &'static str {
        "host"
    }

    fn poll(&mut self, out: &mut Vec<Family>) -> anyhow::Result<()> {
        let mut failures = Failures::default();
        match self.stat.read(&mut self.buf) {
            Ok(text) => {
                let path = &self.stat.path;
                let cpu = &mut self.cpu;
                failures.note("cpu", collect(out, |out| parse_cpu(&text, path, cpu, out)));
                failures.note("stat", collect(out, |out| parse_stat(&text, path, out)));
            }
            Err(e) => {
                failures.note("cpu", Err(anyhow!("{e:#}")));
                failures.note("stat", Err(e));
            }
        }
        let meminfo = collect(out, |out| {
            let text = self.meminfo.read(&mut self.buf)?;
            parse_meminfo(&text, &self.meminfo.path, out)
        });
        failures.note("meminfo", meminfo);
        let loadavg = collect(out, |out| {
            let text = self.loadavg.read(&mut self.buf)?;
            parse_loadavg(&text, &self.loadavg.path, out)
        });
        failures.note("loadavg", loadavg);
        let diskstats = collect(out, |out| {
            let text = self.diskstats.read(&mut self.buf)?;
            let udev = self.root.join("run/udev/data");
            parse_diskstats(&text, &self.diskstats.path, &udev, &mut self.aux, out)
        });
        failures.note("diskstats", diskstats);
        let netdev = collect(out, |out| {
            let text = self.netdev.read(&mut self.buf)?;
            let sys = self.root.join("sys/class/net");
            parse_netdev(&text, &self.netdev.path, &sys, &mut self.aux, out)
        });
        failures.note("netdev", netdev);
        let filesystem = collect(out, |out| {
            // Like node-exporter: init's mounts, or ours if /proc hides pid 1.
            let (n, path) = match self.mounts.fill(&mut self.buf) {
                Ok(n) => (n, &self.mounts.path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let fallback = &mut self.mounts_fallback;
                    let n = fallback
                        .fill(&mut self.buf)
                        .with_context(|| fallback.describe())?;
                    (n, &fallback.path)
                }
                Err(e) => return Err(e).with_context(|| self.mounts.describe()),
            };
            let text = String::from_utf8_lossy(&self.buf[..n]);
            parse_mounts(&text, path, &self.root, &mut self.statfs, out)
        });
        failures.note("filesystem", filesystem);
        let pressure = collect(out, |out| {
            for (source, psi) in self.pressure.iter_mut().zip(&PSI) {
                let n = match source.fill(&mut self.buf) {
                    Ok(n) => n,
                    // No PSI in this kernel, or booted with psi=0.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => continue,
                    Err(e) => return Err(e).with_context(|| source.describe()),
                };
                let text = String::from_utf8_lossy(&self.buf[..n]);
                parse_pressure(&text, &source.path, psi, out)?;
            }
            Ok(())
        });
        failures.note("pressure", pressure);
        let vmstat = collect(out, |out| {
            let text = self.vmstat.read(&mut self.buf)?;
            parse_vmstat(&text, &self.vmstat.path, out)
        });
        failures.note("vmstat", vmstat);
        let uname = collect(out, |out| {
            let [sysname, release, version, machine] = match &self.uname {
                Some(fixed) => fixed.clone(),
                None => self.uname.insert(read_uname_fixed(&self.root)?).clone(),
            };
            let nodename = line_value(&self.hostname.read(&mut self.buf)?);
            let domainname = line_value(&self.domainname.read(&mut self.buf)?);
            let mut family = Family::new(
                "node_uname_info",
                "Labeled system information as provided by the uname system call.",
                Kind::Gauge,
            );
            let labels = vec![
                label("sysname", sysname),
                label("release", release),
                label("version", version),
                label("machine", machine),
                label("nodename", nodename),
                label("domainname", domainname),
            ];
            family.push(labels, 1.0);
            out.push(family);
            Ok(())
        });
        failures.note("uname", uname);
        failures.into_result()
    }
}

/// A file under the root, read whole on every poll through a handle kept
/// open between polls.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    file: Option<File>,
}

impl Source {
    fn new(path: PathBuf) -> Source {
        Source { path, file: None }
    }

    /// Reads the whole file into `buf`, returning its length. After an error
    /// the handle is dropped, so the next poll opens the file afresh.
    fn fill(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let file = match self.file.take() {
            Some(file) => file,
            None => File::open(&self.path)?,
        };
        let n = read_whole(&file, buf)?;
        self.file = Some(file);
        Ok(n)
    }

    /// Reads the whole file as text; an error names the file.
    fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> anyhow::Result<Cow<'b, str>> {
        let n = self.fill(buf).with_context(|| self.describe())?;
        Ok(String::from_utf8_lossy(&buf[..n]))
    }

    fn describe(&self) -> String {
        format!("reading {}", self.path.display())
    }
}

/// Reads `file` from offset 0 to its end into `buf` (grown, never shrunk).
fn read_whole(file: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize((buf.len() * 2).max(8192), 0);
        }
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Opens, reads and closes a small file.
fn read_once<'b>(path: &Path, buf: &'b mut Vec<u8>) -> io::Result<Cow<'b, str>> {
    let n = read_whole(&File::open(path)?, buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]))
}

/// The first line of a one-value file such as /proc/sys/kernel/hostname.
fn line_value(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}

/// The collectors that failed in one poll.
#[derive(Debug, Default)]
struct Failures(Vec<String>);

impl Failures {
    fn note(&mut self, collector: &str, result: anyhow::Result<()>) {
        if let Err(e) = result {
            self.0.push(format!("{collector}: {e:#}"));
        }
    }

    fn into_result(self) -> anyhow::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("host collectors failed: {}", self.0.join("; ")))
        }
    }
}

/// Runs one collector, removing whatever it appended if it fails.
fn collect(
    out: &mut Vec<Family>,
    collector: impl FnOnce(&mut Vec<Family>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mark = out.len();
    let result = collector(out);
    if result.is_err() {
        out.truncate(mark);
    }
    result
}

fn bad_line(path: &Path, index: usize, line: &str) -> anyhow::Error {
    anyhow!("{}:{}: malformed line {line:?}", path.display(), index + 1)
}

/// A decimal counter or gauge as found in /proc.
fn number(field: &str) -> Option<f64> {
    match field.parse::<u64>() {
        Ok(value) => Some(value as f64),
        Err(_) => field.parse::<f64>().ok().filter(|value| value.is_finite()),
    }
}

/// A family with one unlabelled series.
fn single(
    name: impl Into<Cow<'static, str>>,
    help: impl Into<Cow<'static, str>>,
    kind: Kind,
    value: f64,
) -> Family {
    let mut family = Family::new(name, help, kind);
    family.push(Vec::new(), value);
    family
}

/// Appends the families that have series.
fn push_filled(out: &mut Vec<Family>, families: impl IntoIterator<Item = Family>) {
    out.extend(
        families
            .into_iter()
            .filter(|family| !family.series.is_empty()),
    );
}

// ---- cpu and stat: /proc/stat ----

/// node_cpu_seconds_total's modes, in /proc/stat column order.
const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];
/// node_cpu_guest_seconds_total's modes: /proc/stat columns 9 and 10.
const GUEST_MODES: [&str; 2] = ["user", "nice"];
const IDLE: usize = 3;
/// An idle time falling this far means the CPU was hot-plugged
/// (node-exporter's jumpBackSeconds).
const CPU_JUMP_BACK_SECONDS: f64 = 3.0;

/// CPU times kept so exposed counters never go backwards (node-exporter
/// holds each mode at its maximum the same way).
#[derive(Debug, Default)]
struct CpuState {
    /// Per CPU, in /proc/stat order: its number and the seconds last exposed.
    exposed: Vec<(u32, [f64; 10])>,
    /// This poll's readings; kept for the allocation.
    read: Vec<(u32, [f64; 10])>,
}

fn parse_cpu(
    text: &str,
    path: &Path,
    state: &mut CpuState,
    out: &mut Vec<Family>,
) -> anyhow::Result<()> {
    state.read.clear();
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let Some(id) = fields.next().and_then(|key| key.strip_prefix("cpu")) else {
            // The kernel prints the cpu lines first.
            if state.read.is_empty() {
                continue;
            }
            break;
        };
        if id.is_empty() {
            continue; // the all-CPU sum
        }
        let id: u32 = id.parse().map_err(|_| bad_line(path, index, line))?;
        let mut seconds = [0.0; 10];
        let mut count = 0;
        for (slot, field) in seconds.iter_mut().zip(fields) {
            *slot = number(field).ok_or_else(|| bad_line(path, index, line))? / USER_HZ;
            count += 1;
        }
        if count < 4 {
            return Err(bad_line(path, index, line));
        }
        state.read.push((id, seconds));
    }

    let same_cpus = state.exposed.len() == state.read.len()
        && state
            .exposed
            .iter()
            .zip(&state.read)
            .all(|(a, b)| a.0 == b.0);
    if !same_cpus {
        state.exposed.clear();
        state
            .exposed
            .extend(state.read.iter().map(|&(id, _)| (id, [0.0; 10])));
    }
    for ((_, shown), (_, now)) in state.exposed.iter_mut().zip(&state.read) {
        if shown[IDLE] - now[IDLE] >= CPU_JUMP_BACK_SECONDS {
            *shown = [0.0; 10];
        }
        for (shown, now) in shown.iter_mut().zip(now) {
            if *now >= *shown {
                *shown = *now;
            }
        }
    }

    let mut cpu = Family::new(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        Kind::Counter,
    );
    let mut guest = Family::new(
        "node_cpu_guest_seconds_total",
        "Seconds the CPUs spent in guests (VMs) for each mode.",
        Kind::Counter,
    );
    for (id, seconds) in &state.exposed {
        let id = id.to_string();
        for (mode, value) in CPU_MODES.iter().zip(seconds) {
            cpu.push(
                vec![label("cpu", id.as_str()), label("mode", *mode)],
                *value,
            );
        }
        for (mode, value) in GUEST_MODES.iter().zip(&seconds[8..]) {
            guest.push(
                vec![label("cpu", id.as_str()), label("mode", *mode)],
                *value,
            );
        }
    }
    push_filled(out, [cpu, guest]);
    Ok(())
}

/// /proc/stat keys of the stat collector and the families they feed.
#[rustfmt::skip]
const STAT_LINES: [(&str, &str, &str, Kind); 6] = [
    ("intr", "node_intr_total", "Total number of interrupts serviced.", Kind::Counter),
    ("ctxt", "node_context_switches_total", "Total number of context switches.", Kind::Counter),
    ("processes", "node_forks_total", "Total number of forks.", Kind::Counter),
    ("btime", "node_boot_time_seconds", "Node boot time, in unixtime.", Kind::Gauge),
    ("procs_running", "node_procs_running", "Number of processes in runnable state.", Kind::Gauge),
    ("procs_blocked", "node_procs_blocked", "Number of processes blocked waiting for I/O.", Kind::Gauge),
];

fn parse_stat(text: &str, path: &Path, out: &mut Vec<Family>) -> anyhow::Result<()> {
    let mut values = [None; STAT_LINES.len()];
    for (index, line) in text.lines().enumerate() {
        let Some((key, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(slot) = STAT_LINES.iter().position(|spec| spec.0 == key) else {
            continue;
        };
        let first = rest.split_ascii_whitespace().next();
        values[slot] = Some(
            first
                .and_then(number)
                .ok_or_else(|| bad_line(path, index, line))?,
        );
    }
    for ((_, name, help, kind), value) in STAT_LINES.iter().zip(values) {
        if let Some(value) = value {
            out.push(single(*name, *help, *kind, value));
        }
    }
    Ok(())
}

// ---- meminfo ----

fn parse_meminfo(text: &str, path: &Path, out: &mut Vec<Family>) -> anyhow::Result<()> {
    const PREFIX: &str = "node_memory_";
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let Some(key) = fields.next() else {
            continue;
        };
        let bad = || bad_line(path, index, line);
        let key = key.strip_suffix(':').ok_or_else(bad)?;
        let mut value = fields.next().and_then(number).ok_or_else(bad)?;
        let bytes = match (fields.next(), fields.next()) {
            (None, _) => false,
            (Some(_unit), None) => true, // always kB
            _ => return Err(bad()),
        };
        let mut name = String::with_capacity(PREFIX.len() + key.len() + 6);
        name.push_str(PREFIX);
        // Active(anon) → Active_anon
        match (key.find('('), key.rfind(')')) {
            (Some(open), Some(close)) if open < close => {
                name.push_str(&key[..open]);
                name.push('_');
                name.push_str(&key[open + 1..close]);
                name.push_str(&key[close + 1..]);
            }
            _ => name.push_str(key),
        }
        if bytes {
            value *= 1024.0;
            name.push_str("_bytes");
        }
        let help = format!("Memory information field {}.", &name[PREFIX.len()..]);
        out.push(single(name, help, Kind::Gauge, value));
    }
    Ok(())
}

// ---- loadavg ----

fn parse_loadavg(text: &str, path: &Path, out: &mut Vec<Family>) -> anyhow::Result<()> {
    const LOADS: [(&str, &str); 3] = [
        ("node_load1", "1m load average."),
        ("node_load5", "5m load average."),
        ("node_load15", "15m load average."),
    ];
    let mut fields = text.split_ascii_whitespace();
    for (name, help) in LOADS {
        let value = fields.next().and_then(number);
        let value = value.ok_or_else(|| bad_line(path, 0, text.lines().next().unwrap_or("")))?;
        out.push(single(name, help, Kind::Gauge, value));
    }
    Ok(())
}

// ---- diskstats ----

/// The node_disk_* families of /proc/diskstats columns 4 onwards: name, help,
/// type and the factor to base units.
#[rustfmt::skip]
const DISK_STATS: [(&str, &str, Kind, f64); 17] = [
    ("node_disk_reads_completed_total", "Reads completed successfully.", Kind::Counter, 1.0),
    ("node_disk_reads_merged_total", "Reads merged.", Kind::Counter, 1.0),
    ("node_disk_read_bytes_total", "Bytes read successfully.", Kind::Counter, SECTOR_BYTES),
    ("node_disk_read_time_seconds_total", "Seconds spent by all reads.", Kind::Counter, SECONDS_PER_TICK),
    ("node_disk_writes_completed_total", "Writes completed successfully.", Kind::Counter, 1.0),
    ("node_disk_writes_merged_total", "Writes merged.", Kind::Counter, 1.0),
    ("node_disk_written_bytes_total", "Bytes written successfully.", Kind::Counter, SECTOR_BYTES),
    ("node_disk_write_time_seconds_total", "Seconds spent by all writes.", Kind::Counter, SECONDS_PER_TICK),
    ("node_disk_io_now", "I/Os currently in progress.", Kind::Gauge, 1.0),
    ("node_disk_io_time_seconds_total", "Seconds spent doing I/Os.", Kind::Counter, SECONDS_PER_TICK),
    ("node_disk_io_time_weighted_seconds_total", "Seconds spent doing I/Os, weighted by I/Os in progress.", Kind::Counter, SECONDS_PER_TICK),
    ("node_disk_discards_completed_total", "Discards completed successfully.", Kind::Counter, 1.0),
    ("node_disk_discards_merged_total", "Discards merged.", Kind::Counter, 1.0),
    ("node_disk_discarded_sectors_total", "Sectors discarded successfully.", Kind::Counter, 1.0),
    ("node_disk_discard_time_seconds_total", "Seconds spent by all discards.", Kind::Counter, SECONDS_PER_TICK),
    ("node_disk_flush_requests_total", "Flush requests completed successfully.", Kind::Counter, 1.0),
    ("node_disk_flush_requests_time_seconds_total", "Seconds spent by all flush requests.", Kind::Counter, SECONDS_PER_TICK),
];

/// node-exporter's default diskstats device exclude,
/// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`: partitions and
/// pseudo devices.
fn disk_excluded(device: &str) -> bool {
    fn digits(s: &str) -> Option<&str> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (end > 0).then(|| &s[end..])
    }
    let rest = if let Some(rest) = ["ram", "loop", "fd"]
        .iter()
        .find_map(|p| device.strip_prefix(*p))
    {
        Some(rest)
    } else if let Some(rest) = ["hd", "sd", "vd", "xvd"]
        .iter()
        .find_map(|p| device.strip_prefix(*p))
    {
        rest.strip_prefix(|c: char| c.is_ascii_lowercase())
    } else {
        device
            .strip_prefix("nvme")
            .and_then(digits)
            .and_then(|s| s.strip_prefix('n'))
            .and_then(digits)
            .and_then(|s| s.strip_prefix('p'))
    };
    rest.and_then(digits).is_some_and(str::is_empty)
}

/// The udev properties node-exporter reads from `/run/udev/data/b<major>:<minor>`.
#[derive(Debug, Default)]
struct Udev<'a> {
    path: &'a str,
    wwn: &'a str,
    model: &'a str,
    serial: &'a str,
    revision: &'a str,
    fs_type: &'a str,
    fs_usage: &'a str,
    fs_uuid: &'a str,
    fs_version: &'a str,
    dm_name: &'a str,
    dm_uuid: &'a str,
    dm_vg_name: &'a str,
    dm_lv_name: &'a str,
    dm_lv_layer: &'a str,
    ata: &'a str,
    /// ID_ATA_WRITE_CACHE, ID_ATA_WRITE_CACHE_ENABLED, ID_ATA_ROTATION_RATE_RPM.
    ata_values: [Option<&'a str>; 3],
}

impl<'a> Udev<'a> {
    fn parse(text: &'a str) -> Udev<'a> {
        let mut udev = Udev::default();
        for line in text.lines() {
            let Some((key, value)) = line.strip_prefix("E:").and_then(|p| p.split_once('=')) else {
                continue;
            };
            let slot = match key {
                "ID_PATH" => &mut udev.path,
                "ID_WWN" => &mut udev.wwn,
                "ID_MODEL" => &mut udev.model,
                "ID_SERIAL_SHORT" => &mut udev.serial,
                "ID_REVISION" => &mut udev.revision,
                "ID_FS_TYPE" => &mut udev.fs_type,
                "ID_FS_USAGE" => &mut udev.fs_usage,
                "ID_FS_UUID" => &mut udev.fs_uuid,
                "ID_FS_VERSION" => &mut udev.fs_version,
                "DM_NAME" => &mut udev.dm_name,
                "DM_UUID" => &mut udev.dm_uuid,
                "DM_VG_NAME" => &mut udev.dm_vg_name,
                "DM_LV_NAME" => &mut udev.dm_lv_name,
                "DM_LV_LAYER" => &mut udev.dm_lv_layer,
                "ID_ATA" => &mut udev.ata,
                _ => {
                    if let Some(i) = ATA.iter().position(|ata| ata.0 == key) {
                        udev.ata_values[i] = Some(value);
                    }
                    continue;
                }
            };
            *slot = value;
        }
        udev
    }
}

/// ATA udev properties and their families.
#[rustfmt::skip]
const ATA: [(&str, &str, &str); 3] = [
    ("ID_ATA_WRITE_CACHE", "node_disk_ata_write_cache", "ATA disk has a write cache."),
    ("ID_ATA_WRITE_CACHE_ENABLED", "node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled."),
    ("ID_ATA_ROTATION_RATE_RPM", "node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs)."),
];

fn parse_diskstats(
    text: &str,
    path: &Path,
    udev_dir: &Path,
    aux: &mut Vec<u8>,
    out: &mut Vec<Family>,
) -> anyhow::Result<()> {
    let mut stats = DISK_STATS.map(|(name, help, kind, _)| Family::new(name, help, kind));
    let mut info = Family::new(
        "node_disk_info",
        "Info of /sys/block/<block_device>.",
        Kind::Gauge,
    );
    let mut fs_info = Family::new(
        "node_disk_filesystem_info",
        "Info about disk filesystem.",
        Kind::Gauge,
    );
    let mut dm_info = Family::new(
        "node_disk_device_mapper_info",
        "Info about disk device mapper.",
        Kind::Gauge,
    );
    let mut ata = ATA.map(|(_, name, help)| Family::new(name, help, Kind::Gauge));
    for (index, line) in text.lines().enumerate() {
        let mut fields = [""; 20];
        let mut count = 0;
        for (slot, field) in fields.iter_mut().zip(line.split_ascii_whitespace()) {
            *slot = field;
            count += 1;
        }
        // Like node-exporter, skip lines without the 11 basic statistics
        // (partitions of kernels before 2.6.25).
        if count < 14 {
            continue;
        }
        let device = fields[2];
        if disk_excluded(device) {
            continue;
        }
        let major: u32 = fields[0].parse().map_err(|_| bad_line(path, index, line))?;
        let minor: u32 = fields[1].parse().map_err(|_| bad_line(path, index, line))?;
        for (i, field) in fields[3..count].iter().enumerate() {
            let value = number(field).ok_or_else(|| bad_line(path, index, line))?;
            stats[i].push(vec![label("device", device)], value * DISK_STATS[i].3);
        }

        let udev_path = udev_dir.join(format!("b{major}:{minor}"));
        let udev_text = read_once(&udev_path, aux).unwrap_or_default();
        let udev = Udev::parse(&udev_text);
        let labels = vec![
            label("device", device),
            label("major", major.to_string()),
            label("minor", minor.to_string()),
            label("path", udev.path),
            label("wwn", udev.wwn),
            label("model", udev.model),
            label("serial", udev.serial),
            label("revision", udev.revision),
        ];
        info.push(labels, 1.0);
        if !udev.fs_type.is_empty() {
            let labels = vec![
                label("device", device),
                label("type", udev.fs_type),
                label("usage", udev.fs_usage),
                label("uuid", udev.fs_uuid),
                label("version", udev.fs_version),
            ];
            fs_info.push(labels, 1.0);
        }
        if !udev.dm_name.is_empty() {
            let labels = vec![
                label("device", device),
                label("name", udev.dm_name),
                label("uuid", udev.dm_uuid),
                label("vg_name", udev.dm_vg_name),
                label("lv_name", udev.dm_lv_name),
                label("lv_layer", udev.dm_lv_layer),
            ];
            dm_info.push(labels, 1.0);
        }
        if !udev.ata.is_empty() {
            for (family, value) in ata.iter_mut().zip(udev.ata_values) {
                // node-exporter skips values that are missing or not numbers.
                if let Some(value) = value.and_then(|v| v.parse::<f64>().ok()) {
                    family.push(vec![label("device", device)], value);
                }
            }
        }
    }
    push_filled(out, stats);
    push_filled(out, [info, fs_info, dm_info]);
    push_filled(out, ata);
    Ok(())
}

// ---- netdev ----

/// node_network_* families of /proc/net/dev's 16 columns, in order.
#[rustfmt::skip]
const NET_COLUMNS: [(&str, &str); 16] = [
    ("node_network_receive_bytes_total", "Network device statistic receive_bytes."),
    ("node_network_receive_packets_total", "Network device statistic receive_packets."),
    ("node_network_receive_errs_total", "Network device statistic receive_errs."),
    ("node_network_receive_drop_total", "Network device statistic receive_drop."),
    ("node_network_receive_fifo_total", "Network device statistic receive_fifo."),
    ("node_network_receive_frame_total", "Network device statistic receive_frame."),
    ("node_network_receive_compressed_total", "Network device statistic receive_compressed."),
    ("node_network_receive_multicast_total", "Network device statistic receive_multicast."),
    ("node_network_transmit_bytes_total", "Network device statistic transmit_bytes."),
    ("node_network_transmit_packets_total", "Network device statistic transmit_packets."),
    ("node_network_transmit_errs_total", "Network device statistic transmit_errs."),
    ("node_network_transmit_drop_total", "Network device statistic transmit_drop."),
    ("node_network_transmit_fifo_total", "Network device statistic transmit_fifo."),
    ("node_network_transmit_colls_total", "Network device statistic transmit_colls."),
    ("node_network_transmit_carrier_total", "Network device statistic transmit_carrier."),
    ("node_network_transmit_compressed_total", "Network device statistic transmit_compressed."),
];

fn parse_netdev(
    text: &str,
    path: &Path,
    sys_net: &Path,
    aux: &mut Vec<u8>,
    out: &mut Vec<Family>,
) -> anyhow::Result<()> {
    let mut columns = NET_COLUMNS.map(|(name, help)| Family::new(name, help, Kind::Counter));
    let mut nohandler = Family::new(
        "node_network_receive_nohandler_total",
        "Network device statistic receive_nohandler.",
        Kind::Counter,
    );
    // Two header lines, then `<device>: <16 numbers>`.
    for (index, line) in text.lines().enumerate().skip(2) {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let bad = || bad_line(path, index, line);
        let (device, values) = line.split_once(':').ok_or_else(bad)?;
        let device = device.trim_ascii();
        let mut values = values.split_ascii_whitespace();
        for family in &mut columns {
            let value = values.next().and_then(number).ok_or_else(bad)?;
            family.push(vec![label("device", device)], value);
        }
        let attribute = sys_net.join(device).join("statistics/rx_nohandler");
        // Absent before Linux 4.6 and for devices sysfs does not show.
        if let Ok(text) = read_once(&attribute, aux) {
            let value = text.trim_ascii().parse::<u64>().map_err(|_| {
                anyhow!(
                    "{}: not a counter: {:?}",
                    attribute.display(),
                    text.trim_ascii()
                )
            })?;
            nohandler.push(vec![label("device", device)], value as f64);
        }
    }
    push_filled(out, columns);
    push_filled(out, [nohandler]);
    Ok(())
}

// ---- filesystem ----

/// statvfs(2) numbers the filesystem collector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct FsStats {
    block_size: u64,
    blocks: u64,
    blocks_free: u64,
    blocks_avail: u64,
    files: u64,
    files_free: u64,
}

/// statvfs(2) of one path: the seam tests replace to fake filesystems and
/// hangs.
type StatfsFn = fn(&Path) -> io::Result<FsStats>;

fn statvfs(path: &Path) -> io::Result<FsStats> {
    let s = rustix::fs::statvfs(path)?;
    // f_bsize, not f_frsize, as node-exporter multiplies by statfs' Bsize.
    Ok(FsStats {
        block_size: s.f_bsize,
        blocks: s.f_blocks,
        blocks_free: s.f_bfree,
        blocks_avail: s.f_bavail,
        files: s.f_files,
        files_free: s.f_ffree,
    })
}

/// Runs statvfs calls on a helper thread so that a hung mount (say, a dead
/// NFS server) costs one timeout instead of the poll. A mount point that
/// timed out is reported as a device error, without another call, until
/// its call returns; the thread stuck in it is abandoned and exits then.
#[derive(Debug)]
struct StatfsGuard {
    statfs: StatfsFn,
    timeout: Duration,
    worker: Option<StatfsWorker>,
    /// Mount points whose statvfs timed out and has not returned yet.
    stuck: Arc<Mutex<HashSet<String>>>,
}

#[derive(Debug)]
struct StatfsWorker {
    requests: mpsc::Sender<(PathBuf, String)>,
    replies: mpsc::Receiver<io::Result<FsStats>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StatfsGuard {
    fn new(statfs: StatfsFn, timeout: Duration) -> StatfsGuard {
        StatfsGuard {
            statfs,
            timeout,
            worker: None,
            stuck: Arc::default(),
        }
    }

    /// statvfs of `path`, the filesystem mounted at `mountpoint`.
    fn stat(&mut self, path: PathBuf, mountpoint: &str) -> io::Result<FsStats> {
        if lock(&self.stuck).contains(mountpoint) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "an earlier statvfs still hangs",
            ));
        }
        let worker = match self.worker.take() {
            Some(worker) => worker,
            None => self.spawn()?,
        };
        let gone = || io::Error::other("statvfs thread exited");
        worker
            .requests
            .send((path, mountpoint.to_owned()))
            .map_err(|_| gone())?;
        match worker.replies.recv_timeout(self.timeout) {
            Ok(reply) => {
                self.worker = Some(worker);
                reply
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let mut stuck = lock(&self.stuck);
                // The thread replies holding the lock: no reply now means
                // it will find the mount point marked when it returns.
                if let Ok(reply) = worker.replies.try_recv() {
                    drop(stuck);
                    self.worker = Some(worker);
                    return reply;
                }
                stuck.insert(mountpoint.to_owned());
                Err(io::Error::new(io::ErrorKind::TimedOut, "statvfs timed out"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }

    fn spawn(&self) -> io::Result<StatfsWorker> {
        let (requests, incoming) = mpsc::channel::<(PathBuf, String)>();
        let (reply, replies) = mpsc::channel();
        let (statfs, stuck) = (self.statfs, Arc::clone(&self.stuck));
        std::thread::Builder::new()
            .name("host-statvfs".into())
            .spawn(move || {
                // Ends when the guard drops or abandons this worker.
                for (path, mountpoint) in incoming {
                    let result = statfs(&path);
                    let mut stuck = lock(&stuck);
                    stuck.remove(&mountpoint);
                    let sent = reply.send(result);
                    drop(stuck);
                    if sent.is_err() {
                        break;
                    }
                }
            })?;
        Ok(StatfsWorker { requests, replies })
    }
}

/// node-exporter 1.5's default mount point exclude,
/// `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
/// (/proc/mounts escapes newlines, so `.+` is "anything non-empty".)
fn mount_excluded(mountpoint: &str) -> bool {
    let Some(path) = mountpoint.strip_prefix('/') else {
        return false;
    };
    let tree = |top: &str| {
        path.strip_prefix(top)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    };
    let below = |dir: &str| path.strip_prefix(dir).is_some_and(|r| !r.is_empty());
    tree("dev")
        || tree("proc")
        || tree("sys")
        || below("run/credentials/")
        || below("var/lib/docker/")
        || below("var/lib/containers/storage/")
}

/// node-exporter 1.5's default filesystem type exclude.
#[rustfmt::skip]
const EXCLUDED_FS_TYPES: &[&str] = &[
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs",
    "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs", "pstore",
    "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs",
];

/// A mount point as /proc/mounts writes it, with the space and tab escapes
/// node-exporter decodes.
fn unescape_mountpoint(raw: &str) -> Cow<'_, str> {
    if raw.contains('\\') {
        Cow::Owned(raw.replace("\\040", " ").replace("\\011", "\t"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// node_filesystem_* families: name, help.
#[rustfmt::skip]
const FS_FAMILIES: [(&str, &str); 7] = [
    ("node_filesystem_size_bytes", "Filesystem size in bytes."),
    ("node_filesystem_free_bytes", "Filesystem free space in bytes."),
    ("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes."),
    ("node_filesystem_files", "Filesystem total file nodes."),
    ("node_filesystem_files_free", "Filesystem total free file nodes."),
    ("node_filesystem_readonly", "Filesystem read-only status."),
    ("node_filesystem_device_error", "Whether an error occurred while getting statistics for the given device."),
];

fn parse_mounts(
    text: &str,
    path: &Path,
    root: &Path,
    statfs: &mut StatfsGuard,
    out: &mut Vec<Family>,
) -> anyhow::Result<()> {
    let mut families = FS_FAMILIES.map(|(name, help)| Family::new(name, help, Kind::Gauge));
    let mut seen = HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(device), Some(raw_mountpoint), Some(fstype), Some(options)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            if line.trim_ascii().is_empty() {
                continue;
            }
            return Err(bad_line(path, index, line));
        };
        let mountpoint = unescape_mountpoint(raw_mountpoint);
        if mount_excluded(&mountpoint) || EXCLUDED_FS_TYPES.contains(&fstype) {
            continue;
        }
        if !seen.insert((device, raw_mountpoint, fstype)) {
            continue;
        }
        let labels = vec![
            label("device", device),
            label("fstype", fstype),
            label("mountpoint", mountpoint.as_ref()),
        ];
        let target = root.join(mountpoint.trim_start_matches('/'));
        let [size, free, avail, files, files_free, readonly, device_error] = &mut families;
        match statfs.stat(target, &mountpoint) {
            Ok(s) => {
                let block = s.block_size as f64;
                let ro = options.split(',').any(|option| option == "ro");
                size.push(labels.clone(), s.blocks as f64 * block);
                free.push(labels.clone(), s.blocks_free as f64 * block);
                avail.push(labels.clone(), s.blocks_avail as f64 * block);
                files.push(labels.clone(), s.files as f64);
                files_free.push(labels.clone(), s.files_free as f64);
                readonly.push(labels.clone(), if ro { 1.0 } else { 0.0 });
                device_error.push(labels, 0.0);
            }
            // node-exporter then exposes only the error flag.
            Err(_) => device_error.push(labels, 1.0),
        }
    }
    push_filled(out, families);
    Ok(())
}

// ---- pressure ----

/// A /proc/pressure file and its families: `some` → waiting, `full` → stalled.
#[derive(Debug)]
struct Psi {
    file: &'static str,
    waiting: (&'static str, &'static str),
    stalled: Option<(&'static str, &'static str)>,
}

#[rustfmt::skip]
const PSI: [Psi; 3] = [
    Psi {
        file: "proc/pressure/cpu",
        waiting: ("node_pressure_cpu_waiting_seconds_total", "Total time in seconds that processes have waited for CPU time."),
        stalled: None,
    },
    Psi {
        file: "proc/pressure/io",
        waiting: ("node_pressure_io_waiting_seconds_total", "Total time in seconds that processes have waited due to IO congestion."),
        stalled: Some(("node_pressure_io_stalled_seconds_total", "Total time in seconds no process could make progress due to IO congestion.")),
    },
    Psi {
        file: "proc/pressure/memory",
        waiting: ("node_pressure_memory_waiting_seconds_total", "Total time in seconds that processes have waited for memory."),
        stalled: Some(("node_pressure_memory_stalled_seconds_total", "Total time in seconds no process could make progress due to memory congestion.")),
    },
];

fn parse_pressure(text: &str, path: &Path, psi: &Psi, out: &mut Vec<Family>) -> anyhow::Result<()> {
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let family = match fields.next() {
            Some("some") => Some(psi.waiting),
            Some("full") => psi.stalled,
            _ => continue,
        };
        let total = fields
            .find_map(|field| field.strip_prefix("total="))
            .and_then(number);
        let total = total.ok_or_else(|| bad_line(path, index, line))?;
        if let Some((name, help)) = family {
            out.push(single(name, help, Kind::Counter, total / 1000.0 / 1000.0));
        }
    }
    Ok(())
}

// ---- vmstat ----

/// node-exporter's default vmstat fields, `^(oom_kill|pgpg|pswp|pg.*fault).*`.
fn vmstat_wanted(field: &str) -> bool {
    field.starts_with("oom_kill")
        || field.starts_with("pgpg")
        || field.starts_with("pswp")
        || field
            .strip_prefix("pg")
            .is_some_and(|rest| rest.contains("fault"))
}

fn parse_vmstat(text: &str, path: &Path, out: &mut Vec<Family>) -> anyhow::Result<()> {
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let Some(field) = fields.next().filter(|field| vmstat_wanted(field)) else {
            continue;
        };
        let value = fields
            .next()
            .and_then(number)
            .ok_or_else(|| bad_line(path, index, line))?;
        // Untyped in node-exporter.
        out.push(single(
            format!("node_vmstat_{field}"),
            format!("/proc/vmstat information field {field}."),
            Kind::Gauge,
            value,
        ));
    }
    Ok(())
}

// ---- uname ----

/// sysname, release, version and machine.
fn read_uname_fixed(root: &Path) -> anyhow::Result<[String; 4]> {
    let kernel = root.join("proc/sys/kernel");
    let read = |name: &str| {
        let path = kernel.join(name);
        std::fs::read_to_string(&path)
            .map(|text| line_value(&text))
            .with_context(|| format!("reading {}", path.display()))
    };
    // /proc/sys/kernel/arch appeared in Linux 6.1.
    let machine = match read("arch") {
        Ok(machine) => machine,
        Err(_) if !kernel.join("arch").exists() => std::env::consts::ARCH.to_owned(),
        Err(e) => return Err(e),
    };
    Ok([
        read("ostype")?,
        read("osrelease")?,
        read("version")?,
        machine,
    ])
}

#[cfg(test)]
mod tests;
