//! The `cgroup` pollster: CPU, memory, block I/O, pids and pressure (PSI) of
//! every cgroup under a few watched subtrees (`machine.slice`, `system.slice`,
//! `kubepods.slice`, …), read from the cgroup v2 (unified) hierarchy and the
//! v1 per-controller hierarchies listed in mountinfo.
//!
//! # Which hierarchy a number comes from
//! Hierarchies are found once, when the pollster is built: the first `cgroup2`
//! mount, and for each of the v1 controllers `cpu`, `cpuacct`, `memory`,
//! `blkio` and `pids` the first `cgroup` mount whose super options name it.
//! A controller is read from v2 when the v2 root's `cgroup.controllers` lists
//! it (v2 `io` stands for v1 `blkio`), otherwise from its v1 hierarchy, so on
//! a hybrid host each number has exactly one source. Two things are not
//! controllers in v2: `cpu.stat` always has `usage_usec`, `user_usec` and
//! `system_usec`, and PSI (`*.pressure`) exists only in v2. CPU time of a
//! cgroup is therefore taken from v2 `cpu.stat` when the cgroup exists in v2
//! and that file has `usage_usec`, and from v1 `cpuacct` otherwise;
//! throttling comes from whichever hierarchy has the `cpu` controller.
//!
//! # Series
//! The directories under each watched subtree are listed again on every poll,
//! down to `max_depth` levels, in every hierarchy. A cgroup is named by its
//! path relative to the mount point (label `cgroup`, starting with `/`), so a
//! cgroup present in several hierarchies is one set of series. It also gets
//! `name` (the last path component with systemd's `\xNN` escapes decoded) and,
//! when the directory is a libvirt guest's own cgroup, `domain`. Files that
//! are absent, or vanish because the cgroup is removed while being read, are
//! skipped; any other failure is reported after everything readable has been
//! pushed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::family::{Family, Kind, LabelPair, Pollster, Series, label};

/// `USER_HZ`, the unit of v1 `cpuacct.stat`: fixed at 100 by the kernel's
/// user-space ABI on every architecture the agent runs on.
const USER_HZ: f64 = 100.0;

/// A limit at or above this means "no limit": v1 reports an unlimited
/// `memory.limit_in_bytes` as `PAGE_COUNTER_MAX` in bytes
/// (9223372036854771712 with 4 KiB pages).
const UNLIMITED: u64 = 1 << 62;

// Controllers a hierarchy is read for, as bits of `Hierarchy::reads`.
/// `cpu`: throttling counters.
const CPU: u8 = 1;
/// v1 `cpuacct`: CPU time, when v2 does not have it.
const CPUACCT: u8 = 1 << 1;
/// `memory`.
const MEMORY: u8 = 1 << 2;
/// v2 `io`, v1 `blkio`.
const IO: u8 = 1 << 3;
/// `pids`.
const PIDS: u8 = 1 << 4;

/// What the cgroup pollster watches, and where it finds the hierarchies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupOptions {
    /// mountinfo listing the cgroup mounts (default `/proc/self/mountinfo`).
    /// Tests point it at a fixture whose mount points are fixture directories.
    pub mountinfo: PathBuf,
    /// Subtrees to report, relative to each hierarchy's mount point
    /// (`machine.slice`, `system.slice/foo.service`; `""` is the whole
    /// hierarchy). Subtrees missing from a hierarchy are skipped.
    pub watch: Vec<String>,
    /// How many directory levels below each watched subtree are reported;
    /// the subtree itself is level 0.
    pub max_depth: usize,
}

impl Default for CgroupOptions {
    /// `/proc/self/mountinfo`; libvirt guests under systemd (`machine.slice`)
    /// and without it (`machine`), systemd services, and Kubernetes pods
    /// under both cgroup drivers; three levels deep.
    fn default() -> Self {
        CgroupOptions {
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            watch: [
                "machine.slice",
                "machine",
                "system.slice",
                "kubepods.slice",
                "kubepods",
            ]
            .map(String::from)
            .to_vec(),
            max_depth: 3,
        }
    }
}

/// Why the cgroup pollster could not start or could not read everything.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A file or directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// What was read.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// A file did not have the expected shape.
    #[error("{}: {detail}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// mountinfo lists no cgroup hierarchy with anything to read.
    #[error("no cgroup2 mount and no v1 cpu, cpuacct, memory, blkio or pids mount in {}", path.display())]
    NoHierarchy {
        /// The mountinfo file read.
        path: PathBuf,
    },
    /// Watched subtrees that are not plain relative paths.
    #[error("watched cgroup subtrees must not contain `.`, `..` or empty components: {paths:?}")]
    BadWatch {
        /// The offending entries.
        paths: Vec<String>,
    },
    /// Everything that failed during one poll (never empty).
    #[error("{}", summarize(errors))]
    Poll {
        /// The failures, in the order met.
        errors: Vec<CgroupError>,
    },
}

/// "N cgroup read errors: first; second; third; …".
fn summarize(errors: &[CgroupError]) -> String {
    let mut s = format!("{} cgroup read error(s): ", errors.len());
    for (i, e) in errors.iter().take(3).enumerate() {
        if i > 0 {
            s.push_str("; ");
        }
        s.push_str(&e.to_string());
    }
    if errors.len() > 3 {
        s.push_str("; …");
    }
    s
}

/// One mounted hierarchy and what is read from it.
#[derive(Debug, Clone)]
struct Hierarchy {
    mount: PathBuf,
    v2: bool,
    /// Controller bits this hierarchy is the source of.
    reads: u8,
}

/// Polls cgroup v2 and v1 hierarchies; see the module documentation.
pub struct CgroupPollster {
    /// Watched subtrees without leading or trailing `/`.
    watch: Vec<String>,
    max_depth: usize,
    /// The v2 hierarchy first, if any: CPU time precedence relies on it.
    hierarchies: Vec<Hierarchy>,
    /// This poll's cgroups: relative path → bit per hierarchy holding it.
    seen: BTreeMap<String, u32>,
    reader: Reader,
}

impl fmt::Debug for CgroupPollster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupPollster")
            .field("watch", &self.watch)
            .field("max_depth", &self.max_depth)
            .field("hierarchies", &self.hierarchies)
            .finish_non_exhaustive()
    }
}

impl CgroupPollster {
    /// Finds the hierarchies in `opts.mountinfo`. Fails if a watched path is
    /// not a plain relative path, mountinfo or the v2 root's
    /// `cgroup.controllers` cannot be read, or no hierarchy is mounted.
    pub fn new(opts: CgroupOptions) -> anyhow::Result<Self> {
        let mut watch = Vec::with_capacity(opts.watch.len());
        let mut bad = Vec::new();
        for w in &opts.watch {
            let trimmed = w.trim_matches('/');
            let plain =
                trimmed.is_empty() || trimmed.split('/').all(|c| !matches!(c, "" | "." | ".."));
            if plain {
                watch.push(trimmed.to_owned());
            } else {
                bad.push(w.clone());
            }
        }
        if !bad.is_empty() {
            return Err(CgroupError::BadWatch { paths: bad }.into());
        }
        Ok(CgroupPollster {
            watch,
            max_depth: opts.max_depth,
            hierarchies: discover(&opts.mountinfo)?,
            seen: BTreeMap::new(),
            reader: Reader::default(),
        })
    }

    /// Lists this poll's cgroups into `self.seen`.
    fn list(&mut self) {
        self.seen.clear();
        let mut dir = PathBuf::new();
        let mut rel = String::new();
        for (i, h) in self.hierarchies.iter().enumerate() {
            for w in &self.watch {
                dir.as_mut_os_string().clear();
                dir.push(&h.mount);
                rel.clear();
                rel.push('/');
                if !w.is_empty() {
                    dir.push(w);
                    rel.push_str(w);
                }
                match fs::symlink_metadata(&dir) {
                    Ok(m) if m.is_dir() => walk(
                        &mut dir,
                        &mut rel,
                        self.max_depth,
                        1 << i,
                        &mut self.seen,
                        &mut self.reader.errors,
                    ),
                    Ok(_) => {}
                    Err(e) if absent(&e) => {}
                    Err(source) => self.reader.errors.push(CgroupError::Io {
                        path: dir.clone(),
                        source,
                    }),
                }
            }
        }
    }
}

impl Pollster for CgroupPollster {
    fn name(&self) -> &'static str {
        "cgroup"
    }

    fn poll(&mut self, out: &mut Vec<Family>) -> anyhow::Result<()> {
        self.list();
        let mut sink = Sink::default();
        for (rel, &mask) in &self.seen {
            let labels = cgroup_labels(rel);
            let mut have_usage = false;
            for (i, h) in self.hierarchies.iter().enumerate() {
                if mask & (1 << i) == 0 {
                    continue;
                }
                self.reader.enter(&h.mount, rel);
                if h.v2 {
                    have_usage = read_v2(&mut self.reader, h.reads, &labels, &mut sink);
                } else {
                    read_v1(&mut self.reader, h.reads, !have_usage, &labels, &mut sink);
                }
            }
        }
        sink.finish(out);
        if self.reader.errors.is_empty() {
            Ok(())
        } else {
            let errors = std::mem::take(&mut self.reader.errors);
            Err(CgroupError::Poll { errors }.into())
        }
    }
}

/// Reads mountinfo and the v2 root's `cgroup.controllers`; the v2 hierarchy
/// comes first in the result.
fn discover(mountinfo: &Path) -> Result<Vec<Hierarchy>, CgroupError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| CgroupError::Io { path, source }
    };
    let text = fs::read_to_string(mountinfo).map_err(io_err(mountinfo))?;
    let mut v2 = None;
    let mut v1 = Vec::new();
    let mut v1_taken = 0u8;
    for (fstype, mount, super_opts) in text.lines().filter_map(parse_mount) {
        if fstype == "cgroup2" {
            v2.get_or_insert(mount);
            continue;
        }
        let ctl = super_opts
            .split(',')
            .map(|o| match o {
                "cpu" => CPU,
                "cpuacct" => CPUACCT,
                "memory" => MEMORY,
                "blkio" => IO,
                "pids" => PIDS,
                _ => 0,
            })
            .fold(0, |a, b| a | b)
            & !v1_taken;
        if ctl != 0 {
            v1_taken |= ctl;
            v1.push((mount, ctl));
        }
    }
    let mut out = Vec::with_capacity(1 + v1.len());
    let mut v2_ctl = 0;
    if let Some(mount) = v2 {
        let path = mount.join("cgroup.controllers");
        let list = fs::read_to_string(&path).map_err(io_err(&path))?;
        v2_ctl = list
            .split_ascii_whitespace()
            .map(|c| match c {
                "cpu" => CPU,
                "memory" => MEMORY,
                "io" => IO,
                "pids" => PIDS,
                _ => 0,
            })
            .fold(0, |a, b| a | b);
        out.push(Hierarchy {
            mount,
            v2: true,
            reads: v2_ctl,
        });
    }
    for (mount, ctl) in v1 {
        let reads = ctl & !v2_ctl;
        if reads != 0 {
            out.push(Hierarchy {
                mount,
                v2: false,
                reads,
            });
        }
    }
    if out.is_empty() {
        return Err(CgroupError::NoHierarchy {
            path: mountinfo.to_owned(),
        });
    }
    Ok(out)
}

/// A mountinfo line of a `cgroup` or `cgroup2` mount: file system type,
/// mount point and super options.
fn parse_mount(line: &str) -> Option<(&str, PathBuf, &str)> {
    let (pre, post) = line.split_once(" - ")?;
    let mut post = post.split(' ');
    let fstype = post.next()?;
    if fstype != "cgroup" && fstype != "cgroup2" {
        return None;
    }
    let super_opts = post.nth(1).unwrap_or("");
    let mount = unescape_octal(pre.split(' ').nth(4)?);
    Some((fstype, mount, super_opts))
}

/// Decodes mountinfo's `\ooo` escapes (space, tab, newline, backslash).
fn unescape_octal(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let code = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match code {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Records `rel` (whose directory is `dir`) in `seen` under `bit`, then its
/// subdirectories down to `left` more levels. Directories that vanish are
/// skipped; names that are not UTF-8 are not reported.
fn walk(
    dir: &mut PathBuf,
    rel: &mut String,
    left: usize,
    bit: u32,
    seen: &mut BTreeMap<String, u32>,
    errors: &mut Vec<CgroupError>,
) {
    match seen.get_mut(rel.as_str()) {
        Some(mask) => *mask |= bit,
        None => {
            seen.insert(rel.clone(), bit);
        }
    }
    if left == 0 {
        return;
    }
    let entries = match fs::read_dir(&*dir) {
        Ok(entries) => entries,
        Err(e) if absent(&e) => return,
        Err(source) => {
            errors.push(CgroupError::Io {
                path: dir.clone(),
                source,
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if absent(&e) => return,
            Err(source) => {
                errors.push(CgroupError::Io {
                    path: dir.clone(),
                    source,
                });
                return;
            }
        };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let len = rel.len();
        if !rel.ends_with('/') {
            rel.push('/');
        }
        rel.push_str(name);
        dir.push(name);
        walk(dir, rel, left - 1, bit, seen, errors);
        dir.pop();
        rel.truncate(len);
    }
}

/// Whether an error means the file or its cgroup is not there (any more):
/// `ENOENT`, `ENODEV` (read from a removed cgroup) or `EOPNOTSUPP` (PSI
/// disabled).
fn absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EOPNOTSUPP))
}

/// The `cgroup`, `name` and, for a libvirt guest, `domain` labels of a
/// cgroup, with room for `device`.
fn cgroup_labels(rel: &str) -> Vec<LabelPair> {
    let leaf = rel.rsplit('/').next().unwrap_or_default();
    let mut labels = Vec::with_capacity(4);
    labels.push(label("cgroup", rel));
    let name = if leaf.is_empty() {
        "/".to_owned()
    } else {
        systemd_unescape(leaf)
    };
    labels.push(label("name", name));
    if let Some(domain) = libvirt_domain(leaf) {
        labels.push(label("domain", domain));
    }
    labels
}

/// Decodes systemd's `\xNN` escapes (`machine-qemu\x2d1\x2dtiny.scope` →
/// `machine-qemu-1-tiny.scope`).
fn systemd_unescape(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        let code = match b.get(i..i + 4) {
            Some([b'\\', b'x', h, l]) => hex(*h).zip(hex(*l)).map(|(h, l)| (h << 4 | l) as u8),
            _ => None,
        };
        match code {
            Some(c) => {
                out.push(c);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The domain name in a libvirt guest's cgroup directory name: systemd's
/// `machine-qemu\x2d<id>\x2d<name>.scope` or libvirt's own
/// `qemu-<id>-<name>.libvirt-qemu`. The name is as libvirt put it into the
/// machine name, which it may shorten or strip of unusual characters.
fn libvirt_domain(leaf: &str) -> Option<String> {
    let is_id = |id: &str| !id.is_empty() && id.bytes().all(|c| c.is_ascii_digit());
    if let Some(rest) = leaf
        .strip_prefix("machine-qemu\\x2d")
        .and_then(|r| r.strip_suffix(".scope"))
    {
        let (id, name) = rest.split_once("\\x2d")?;
        return (is_id(id) && !name.is_empty()).then(|| systemd_unescape(name));
    }
    let rest = leaf.strip_prefix("qemu-")?.strip_suffix(".libvirt-qemu")?;
    let (id, name) = rest.split_once('-')?;
    (is_id(id) && !name.is_empty()).then(|| name.to_owned())
}

/// Reads control files of one cgroup directory into a reused buffer and
/// collects failures.
#[derive(Debug, Default)]
struct Reader {
    /// The cgroup directory; a file name is pushed and popped around a read.
    path: PathBuf,
    bytes: Vec<u8>,
    errors: Vec<CgroupError>,
}

/// What a file parser returns: an error detail on a malformed file.
type Parsed = Result<(), String>;

impl Reader {
    /// Points the reader at `rel` (starting with `/`) under `mount`.
    fn enter(&mut self, mount: &Path, rel: &str) {
        self.path.as_mut_os_string().clear();
        self.path.push(mount);
        if rel.len() > 1 {
            self.path.push(&rel[1..]);
        }
    }

    /// Hands `file`'s text to `parse`, unless the file is absent; records
    /// read and parse errors.
    fn read(&mut self, file: &str, parse: impl FnOnce(&str) -> Parsed) {
        self.path.push(file);
        match load(&self.path, &mut self.bytes) {
            Ok(Some(n)) => {
                let parsed = std::str::from_utf8(&self.bytes[..n])
                    .map_err(|_| "not UTF-8".to_owned())
                    .and_then(parse);
                if let Err(detail) = parsed {
                    self.errors.push(CgroupError::Parse {
                        path: self.path.clone(),
                        detail,
                    });
                }
            }
            Ok(None) => {}
            Err(source) => self.errors.push(CgroupError::Io {
                path: self.path.clone(),
                source,
            }),
        }
        self.path.pop();
    }
}

/// Reads `path` into `buf` (grown as needed, never shrunk) and returns the
/// length read, or `None` if the file or its cgroup is gone.
fn load(path: &Path, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize((2 * n).max(4096), 0);
        }
        match file.read(&mut buf[n..]) {
            Ok(0) => return Ok(Some(n)),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

fn int(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| format!("expected an unsigned integer, found {s:?}"))
}

fn num(s: &str) -> Result<f64, String> {
    int(s).map(|v| v as f64)
}

/// The families, in output order; `FAMILIES[f as usize]` describes `f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    CpuUsage,
    CpuUser,
    CpuSystem,
    CpuPeriods,
    CpuThrottledPeriods,
    CpuThrottledSeconds,
    MemoryUsage,
    MemoryLimit,
    MemoryRss,
    MemoryCache,
    MemorySwap,
    MemoryOomKills,
    IoReadBytes,
    IoWrittenBytes,
    IoReads,
    IoWrites,
    PidsCurrent,
    PidsLimit,
    CpuWaiting,
    CpuStalled,
    MemoryWaiting,
    MemoryStalled,
    IoWaiting,
    IoStalled,
}

const FAMILY_COUNT: usize = F::IoStalled as usize + 1;

#[rustfmt::skip]
const FAMILIES: [(&str, &str, Kind); FAMILY_COUNT] = {
    use Kind::{Counter as C, Gauge as G};
    [
        ("cgroup_cpu_usage_seconds_total", "CPU time used by the cgroup's tasks.", C),
        ("cgroup_cpu_user_seconds_total", "CPU time used by the cgroup's tasks in user mode.", C),
        ("cgroup_cpu_system_seconds_total", "CPU time used by the cgroup's tasks in kernel mode.", C),
        ("cgroup_cpu_periods_total", "CPU bandwidth enforcement periods elapsed.", C),
        ("cgroup_cpu_throttled_periods_total", "CPU bandwidth periods in which the cgroup was throttled.", C),
        ("cgroup_cpu_throttled_seconds_total", "Time the cgroup's tasks spent throttled by the CPU quota.", C),
        ("cgroup_memory_usage_bytes", "Memory charged to the cgroup.", G),
        ("cgroup_memory_limit_bytes", "Hard memory limit of the cgroup (absent when unlimited).", G),
        ("cgroup_memory_rss_bytes", "Anonymous memory of the cgroup.", G),
        ("cgroup_memory_cache_bytes", "Page cache charged to the cgroup.", G),
        ("cgroup_memory_swap_bytes", "Swap used by the cgroup.", G),
        ("cgroup_memory_oom_kills_total", "Tasks of the cgroup killed by the OOM killer.", C),
        ("cgroup_io_read_bytes_total", "Bytes read from the block device by the cgroup.", C),
        ("cgroup_io_written_bytes_total", "Bytes written to the block device by the cgroup.", C),
        ("cgroup_io_reads_total", "Read operations issued to the block device by the cgroup.", C),
        ("cgroup_io_writes_total", "Write operations issued to the block device by the cgroup.", C),
        ("cgroup_pids_current", "Tasks in the cgroup.", G),
        ("cgroup_pids_limit", "Task limit of the cgroup (absent when unlimited).", G),
        ("cgroup_pressure_cpu_waiting_seconds_total", "Time some of the cgroup's tasks waited for CPU (PSI some).", C),
        ("cgroup_pressure_cpu_stalled_seconds_total", "Time all of the cgroup's tasks were stalled on CPU (PSI full).", C),
        ("cgroup_pressure_memory_waiting_seconds_total", "Time some of the cgroup's tasks waited for memory (PSI some).", C),
        ("cgroup_pressure_memory_stalled_seconds_total", "Time all of the cgroup's tasks were stalled on memory (PSI full).", C),
        ("cgroup_pressure_io_waiting_seconds_total", "Time some of the cgroup's tasks waited for I/O (PSI some).", C),
        ("cgroup_pressure_io_stalled_seconds_total", "Time all of the cgroup's tasks were stalled on I/O (PSI full).", C),
    ]
};

/// This poll's series, per family.
#[derive(Debug)]
struct Sink {
    series: [Vec<Series>; FAMILY_COUNT],
}

impl Default for Sink {
    fn default() -> Self {
        Sink {
            series: std::array::from_fn(|_| Vec::new()),
        }
    }
}

impl Sink {
    fn push(&mut self, f: F, labels: &[LabelPair], value: f64) {
        self.series[f as usize].push(Series {
            labels: labels.to_vec(),
            value,
        });
    }

    fn push_device(&mut self, f: F, labels: &[LabelPair], device: &str, value: f64) {
        let mut all = Vec::with_capacity(labels.len() + 1);
        all.extend_from_slice(labels);
        all.push(label("device", device));
        self.series[f as usize].push(Series { labels: all, value });
    }

    /// Pushes the single number in `text`, divided by `div`.
    fn one(&mut self, f: F, labels: &[LabelPair], text: &str, div: f64) -> Parsed {
        self.push(f, labels, num(text.trim_ascii())? / div);
        Ok(())
    }

    /// Pushes the limit in `text` unless it is `max` or at least
    /// [`UNLIMITED`].
    fn limit(&mut self, f: F, labels: &[LabelPair], text: &str) -> Parsed {
        let text = text.trim_ascii();
        if text != "max" {
            let v = int(text)?;
            if v < UNLIMITED {
                self.push(f, labels, v as f64);
            }
        }
        Ok(())
    }

    /// Pushes the values of the `key value` lines of `text` whose key is in
    /// `table` (key, family, divisor); sets bit i of `found` for `table[i]`.
    fn keyed(
        &mut self,
        text: &str,
        table: &[(&str, F, f64)],
        labels: &[LabelPair],
        found: &mut u32,
    ) -> Parsed {
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            let (Some(key), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            if let Some(i) = table.iter().position(|e| e.0 == key) {
                let (_, f, div) = table[i];
                self.push(f, labels, num(value)? / div);
                *found |= 1 << i;
            }
        }
        Ok(())
    }

    /// Appends the non-empty families to `out`.
    fn finish(self, out: &mut Vec<Family>) {
        for ((name, help, kind), series) in FAMILIES.iter().zip(self.series) {
            if !series.is_empty() {
                let mut family = Family::new(*name, *help, *kind);
                family.series = series;
                out.push(family);
            }
        }
    }
}

/// v2 `cpu.stat`: CPU time first (bit 0 of `found` is `usage_usec`), then
/// throttling, read only when v2 has the `cpu` controller.
const V2_CPU: [(&str, F, f64); 6] = [
    ("usage_usec", F::CpuUsage, 1e6),
    ("user_usec", F::CpuUser, 1e6),
    ("system_usec", F::CpuSystem, 1e6),
    ("nr_periods", F::CpuPeriods, 1.0),
    ("nr_throttled", F::CpuThrottledPeriods, 1.0),
    ("throttled_usec", F::CpuThrottledSeconds, 1e6),
];

/// PSI files and their `some` and `full` families.
const PSI: [(&str, F, F); 3] = [
    ("cpu.pressure", F::CpuWaiting, F::CpuStalled),
    ("memory.pressure", F::MemoryWaiting, F::MemoryStalled),
    ("io.pressure", F::IoWaiting, F::IoStalled),
];

/// Reads one v2 cgroup (the reader points at it); returns whether `cpu.stat`
/// gave CPU time.
fn read_v2(r: &mut Reader, reads: u8, labels: &[LabelPair], sink: &mut Sink) -> bool {
    let cpu_table = if reads & CPU != 0 {
        &V2_CPU[..]
    } else {
        &V2_CPU[..3]
    };
    let mut found = 0;
    r.read("cpu.stat", |t| sink.keyed(t, cpu_table, labels, &mut found));
    if reads & MEMORY != 0 {
        r.read("memory.current", |t| {
            sink.one(F::MemoryUsage, labels, t, 1.0)
        });
        r.read("memory.max", |t| sink.limit(F::MemoryLimit, labels, t));
        let stat = [("anon", F::MemoryRss, 1.0), ("file", F::MemoryCache, 1.0)];
        r.read("memory.stat", |t| sink.keyed(t, &stat, labels, &mut 0));
        r.read("memory.swap.current", |t| {
            sink.one(F::MemorySwap, labels, t, 1.0)
        });
        let events = [("oom_kill", F::MemoryOomKills, 1.0)];
        r.read("memory.events", |t| sink.keyed(t, &events, labels, &mut 0));
    }
    if reads & IO != 0 {
        r.read("io.stat", |t| {
            for line in t.lines() {
                let mut words = line.split_ascii_whitespace();
                let Some(device) = words.next() else { continue };
                for word in words {
                    let Some((key, value)) = word.split_once('=') else {
                        continue;
                    };
                    let f = match key {
                        "rbytes" => F::IoReadBytes,
                        "wbytes" => F::IoWrittenBytes,
                        "rios" => F::IoReads,
                        "wios" => F::IoWrites,
                        _ => continue,
                    };
                    sink.push_device(f, labels, device, num(value)?);
                }
            }
            Ok(())
        });
    }
    if reads & PIDS != 0 {
        read_pids(r, labels, sink);
    }
    for (file, some, full) in PSI {
        r.read(file, |t| {
            for line in t.lines() {
                let mut words = line.split_ascii_whitespace();
                let f = match words.next() {
                    Some("some") => some,
                    Some("full") => full,
                    _ => continue,
                };
                if let Some(total) = words.find_map(|w| w.strip_prefix("total=")) {
                    sink.push(f, labels, num(total)? / 1e6);
                }
            }
            Ok(())
        });
    }
    found & 1 != 0
}

/// Reads one v1 cgroup (the reader points at it) for the controllers in
/// `reads`; CPU time only if `want_usage`.
fn read_v1(r: &mut Reader, reads: u8, want_usage: bool, labels: &[LabelPair], sink: &mut Sink) {
    if reads & CPUACCT != 0 && want_usage {
        r.read("cpuacct.usage", |t| sink.one(F::CpuUsage, labels, t, 1e9));
        let stat = [
            ("user", F::CpuUser, USER_HZ),
            ("system", F::CpuSystem, USER_HZ),
        ];
        r.read("cpuacct.stat", |t| sink.keyed(t, &stat, labels, &mut 0));
    }
    if reads & CPU != 0 {
        let stat = [
            ("nr_periods", F::CpuPeriods, 1.0),
            ("nr_throttled", F::CpuThrottledPeriods, 1.0),
            ("throttled_time", F::CpuThrottledSeconds, 1e9),
        ];
        r.read("cpu.stat", |t| sink.keyed(t, &stat, labels, &mut 0));
    }
    if reads & MEMORY != 0 {
        r.read("memory.usage_in_bytes", |t| {
            sink.one(F::MemoryUsage, labels, t, 1.0)
        });
        r.read("memory.limit_in_bytes", |t| {
            sink.limit(F::MemoryLimit, labels, t)
        });
        let stat = [
            ("total_rss", F::MemoryRss, 1.0),
            ("total_cache", F::MemoryCache, 1.0),
            ("total_swap", F::MemorySwap, 1.0),
        ];
        r.read("memory.stat", |t| sink.keyed(t, &stat, labels, &mut 0));
        let oom = [("oom_kill", F::MemoryOomKills, 1.0)];
        r.read("memory.oom_control", |t| {
            sink.keyed(t, &oom, labels, &mut 0)
        });
    }
    if reads & IO != 0 {
        let files = [
            (
                "blkio.throttle.io_service_bytes",
                F::IoReadBytes,
                F::IoWrittenBytes,
            ),
            ("blkio.throttle.io_serviced", F::IoReads, F::IoWrites),
        ];
        for (file, read, write) in files {
            r.read(file, |t| {
                for line in t.lines() {
                    // `MAJ:MIN Op N`; the closing `Total N` has two words.
                    let mut words = line.split_ascii_whitespace();
                    let (Some(device), Some(op), Some(value)) =
                        (words.next(), words.next(), words.next())
                    else {
                        continue;
                    };
                    let f = match op {
                        "Read" => read,
                        "Write" => write,
                        _ => continue,
                    };
                    sink.push_device(f, labels, device, num(value)?);
                }
                Ok(())
            });
        }
    }
    if reads & PIDS != 0 {
        read_pids(r, labels, sink);
    }
}

/// `pids.current` and `pids.max`, the same in v1 and v2.
fn read_pids(r: &mut Reader, labels: &[LabelPair], sink: &mut Sink) {
    r.read("pids.current", |t| sink.one(F::PidsCurrent, labels, t, 1.0));
    r.read("pids.max", |t| sink.limit(F::PidsLimit, labels, t));
}

#[cfg(test)]
mod tests;
