use std::collections::{BTreeMap, BTreeSet};

use tempfile::TempDir;

use super::*;

const SCOPE: &str = "/machine.slice/machine-qemu\\x2d1\\x2dtiny.scope";

/// A temporary tree: `mountinfo` (with `{R}` standing for the tree's root)
/// and files at paths relative to the root; a path ending in `/` is an
/// empty directory.
fn fixture(mountinfo: &str, files: &[(&str, &str)]) -> (TempDir, CgroupOptions) {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().to_str().unwrap();
    let mountinfo_path = tmp.path().join("mountinfo");
    fs::write(&mountinfo_path, mountinfo.replace("{R}", root)).unwrap();
    for (path, text) in files {
        let path = tmp.path().join(path);
        if path.as_os_str().to_str().unwrap().ends_with('/') {
            fs::create_dir_all(&path).unwrap();
        } else {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, text).unwrap();
        }
    }
    let opts = CgroupOptions {
        mountinfo: mountinfo_path,
        ..CgroupOptions::default()
    };
    (tmp, opts)
}

fn poll_ok(p: &mut CgroupPollster) -> Vec<Family> {
    let mut out = Vec::new();
    p.poll(&mut out).expect("poll");
    out
}

fn family<'a>(fams: &'a [Family], name: &str) -> Option<&'a Family> {
    fams.iter().find(|f| f.name == name)
}

fn labels(s: &Series) -> BTreeMap<&str, &str> {
    s.labels
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect()
}

/// The value of the one series of `name` for `cgroup` (and `device`).
fn val(fams: &[Family], name: &str, cgroup: &str, device: Option<&str>) -> Option<f64> {
    let matching: Vec<f64> = family(fams, name)?
        .series
        .iter()
        .filter(|s| {
            let l = labels(s);
            l.get("cgroup") == Some(&cgroup) && l.get("device").copied() == device
        })
        .map(|s| s.value)
        .collect();
    assert!(
        matching.len() <= 1,
        "{name}{{cgroup={cgroup}}} twice: {matching:?}"
    );
    matching.first().copied()
}

/// The `cgroup` labels of `name`'s series.
fn cgroups(fams: &[Family], name: &str) -> BTreeSet<String> {
    family(fams, name)
        .map(|f| {
            f.series
                .iter()
                .map(|s| labels(s)["cgroup"].to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Full labels of `name`'s series for `cgroup` (without device).
fn labels_of(fams: &[Family], name: &str, cgroup: &str) -> BTreeMap<String, String> {
    let f = family(fams, name).unwrap();
    let s = f
        .series
        .iter()
        .find(|s| labels(s)["cgroup"] == cgroup)
        .unwrap();
    labels(s)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const V2_MOUNTINFO: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
30 23 0:26 / {R}/sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

fn v2_host() -> (TempDir, CgroupOptions) {
    let scope = "sys/fs/cgroup/machine.slice/machine-qemu\\x2d1\\x2dtiny.scope";
    let f = |file: &str| format!("{scope}/{file}");
    let files = [
            ("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n".to_owned()),
            ("sys/fs/cgroup/cpu.stat", "usage_usec 99000000\nuser_usec 1\nsystem_usec 1\n".to_owned()),
            (
                "sys/fs/cgroup/machine.slice/cpu.stat",
                "usage_usec 5000000\nuser_usec 3500000\nsystem_usec 1500000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n".to_owned(),
            ),
            (
                &f("cpu.stat"),
                "usage_usec 4250000\nuser_usec 3000000\nsystem_usec 1250000\ncore_sched.force_idle_usec 0\n\
                 nr_periods 120\nnr_throttled 7\nthrottled_usec 350000\nnr_bursts 0\nburst_usec 0\n"
                    .to_owned(),
            ),
            (&f("memory.current"), "268435456\n".to_owned()),
            (&f("memory.max"), "1073741824\n".to_owned()),
            (
                &f("memory.stat"),
                "anon 200000000\nfile 50000000\nkernel 3000000\nanon_thp 0\nfile_mapped 1234\nfile_dirty 0\n".to_owned(),
            ),
            (&f("memory.swap.current"), "4096\n".to_owned()),
            (&f("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n".to_owned()),
            (
                &f("io.stat"),
                "8:0 rbytes=1048576 wbytes=2097152 rios=256 wios=512 dbytes=0 dios=0\n\
                 253:1 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"
                    .to_owned(),
            ),
            (&f("pids.current"), "5\n".to_owned()),
            (&f("pids.max"), "1024\n".to_owned()),
            (
                &f("cpu.pressure"),
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n"
                    .to_owned(),
            ),
            (
                &f("memory.pressure"),
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n"
                    .to_owned(),
            ),
            (
                &f("io.pressure"),
                "some avg10=1.20 avg60=0.40 avg300=0.10 total=3000000\nfull avg10=1.00 avg60=0.30 avg300=0.10 total=2000000\n"
                    .to_owned(),
            ),
            (&f("libvirt/cpu.stat"), "usage_usec 4000000\nuser_usec 2900000\nsystem_usec 1100000\n".to_owned()),
            (&f("libvirt/vcpu0/cpu.stat"), "usage_usec 3900000\nuser_usec 2900000\nsystem_usec 1000000\n".to_owned()),
            ("sys/fs/cgroup/system.slice/sshd.service/cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n".to_owned()),
            ("sys/fs/cgroup/system.slice/sshd.service/memory.current", "8388608\n".to_owned()),
            ("sys/fs/cgroup/system.slice/sshd.service/memory.max", "max\n".to_owned()),
            ("sys/fs/cgroup/system.slice/sshd.service/pids.current", "1\n".to_owned()),
            ("sys/fs/cgroup/system.slice/sshd.service/pids.max", "max\n".to_owned()),
            ("sys/fs/cgroup/init.scope/cpu.stat", "usage_usec 7\nuser_usec 4\nsystem_usec 3\n".to_owned()),
        ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    fixture(V2_MOUNTINFO, &files)
}

#[test]
fn v2_host_families_labels_and_values() {
    let (_tmp, mut opts) = v2_host();
    opts.max_depth = 2;
    let mut p = CgroupPollster::new(opts).unwrap();
    assert_eq!(p.name(), "cgroup");
    let fams = poll_ok(&mut p);

    let names: Vec<&str> = fams.iter().map(|f| f.name.as_ref()).collect();
    let all: Vec<&str> = FAMILIES.iter().map(|f| f.0).collect();
    assert_eq!(names, all, "every family, in table order");

    // Watched subtrees down to depth 2; not init.scope, not the root, not vcpu0 (depth 3).
    let expected: BTreeSet<String> = [
        "/machine.slice",
        SCOPE,
        "/machine.slice/machine-qemu\\x2d1\\x2dtiny.scope/libvirt",
        "/system.slice/sshd.service",
    ]
    .map(String::from)
    .into();
    assert_eq!(cgroups(&fams, "cgroup_cpu_usage_seconds_total"), expected);

    assert_eq!(
        labels_of(&fams, "cgroup_cpu_usage_seconds_total", SCOPE),
        map(&[
            ("cgroup", SCOPE),
            ("name", "machine-qemu-1-tiny.scope"),
            ("domain", "tiny")
        ])
    );
    assert_eq!(
        labels_of(
            &fams,
            "cgroup_memory_usage_bytes",
            "/system.slice/sshd.service"
        ),
        map(&[
            ("cgroup", "/system.slice/sshd.service"),
            ("name", "sshd.service")
        ])
    );
    let libvirt = "/machine.slice/machine-qemu\\x2d1\\x2dtiny.scope/libvirt";
    assert_eq!(
        labels_of(&fams, "cgroup_cpu_usage_seconds_total", libvirt),
        map(&[("cgroup", libvirt), ("name", "libvirt")]),
        "only the guest's own scope carries `domain`"
    );

    let v = |name: &str| val(&fams, name, SCOPE, None);
    assert_eq!(v("cgroup_cpu_usage_seconds_total"), Some(4.25));
    assert_eq!(v("cgroup_cpu_user_seconds_total"), Some(3.0));
    assert_eq!(v("cgroup_cpu_system_seconds_total"), Some(1.25));
    assert_eq!(v("cgroup_cpu_periods_total"), Some(120.0));
    assert_eq!(v("cgroup_cpu_throttled_periods_total"), Some(7.0));
    assert_eq!(v("cgroup_cpu_throttled_seconds_total"), Some(0.35));
    assert_eq!(v("cgroup_memory_usage_bytes"), Some(268435456.0));
    assert_eq!(v("cgroup_memory_limit_bytes"), Some(1073741824.0));
    assert_eq!(v("cgroup_memory_rss_bytes"), Some(200000000.0));
    assert_eq!(v("cgroup_memory_cache_bytes"), Some(50000000.0));
    assert_eq!(v("cgroup_memory_swap_bytes"), Some(4096.0));
    assert_eq!(v("cgroup_memory_oom_kills_total"), Some(1.0));
    assert_eq!(v("cgroup_pids_current"), Some(5.0));
    assert_eq!(v("cgroup_pids_limit"), Some(1024.0));
    assert_eq!(v("cgroup_pressure_cpu_waiting_seconds_total"), Some(1.5));
    assert_eq!(v("cgroup_pressure_cpu_stalled_seconds_total"), Some(0.5));
    assert_eq!(
        v("cgroup_pressure_memory_waiting_seconds_total"),
        Some(0.0025)
    );
    assert_eq!(
        v("cgroup_pressure_memory_stalled_seconds_total"),
        Some(0.001)
    );
    assert_eq!(v("cgroup_pressure_io_waiting_seconds_total"), Some(3.0));
    assert_eq!(v("cgroup_pressure_io_stalled_seconds_total"), Some(2.0));

    let io = |name: &str, dev: &str| val(&fams, name, SCOPE, Some(dev));
    assert_eq!(io("cgroup_io_read_bytes_total", "8:0"), Some(1048576.0));
    assert_eq!(io("cgroup_io_written_bytes_total", "8:0"), Some(2097152.0));
    assert_eq!(io("cgroup_io_reads_total", "8:0"), Some(256.0));
    assert_eq!(io("cgroup_io_writes_total", "8:0"), Some(512.0));
    assert_eq!(io("cgroup_io_read_bytes_total", "253:1"), Some(4096.0));
    assert_eq!(io("cgroup_io_writes_total", "253:1"), Some(0.0));
    assert_eq!(
        family(&fams, "cgroup_io_reads_total").unwrap().series.len(),
        2
    );
    let dev_labels = labels(&family(&fams, "cgroup_io_reads_total").unwrap().series[0]).len();
    assert_eq!(dev_labels, 4, "cgroup, name, domain, device");

    assert_eq!(
        val(
            &fams,
            "cgroup_cpu_usage_seconds_total",
            "/machine.slice",
            None
        ),
        Some(5.0)
    );
    assert_eq!(
        val(&fams, "cgroup_cpu_periods_total", "/machine.slice", None),
        Some(0.0)
    );
    // sshd.service's cpu.stat has no throttling keys: no series, not zeros.
    assert_eq!(
        val(
            &fams,
            "cgroup_cpu_periods_total",
            "/system.slice/sshd.service",
            None
        ),
        None
    );
    assert_eq!(
        val(
            &fams,
            "cgroup_cpu_usage_seconds_total",
            "/system.slice/sshd.service",
            None
        ),
        Some(0.001)
    );
    assert_eq!(
        val(
            &fams,
            "cgroup_memory_usage_bytes",
            "/system.slice/sshd.service",
            None
        ),
        Some(8388608.0)
    );

    for (i, f) in fams.iter().enumerate() {
        assert!(f.name.starts_with("cgroup_") && !f.help.is_empty(), "{i}");
        assert_eq!(
            f.kind == Kind::Counter,
            f.name.ends_with("_total"),
            "{}",
            f.name
        );
    }
}

const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / {R}/cg rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {R}/cg/cpu,cpuacct rw,relatime shared:2 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / {R}/cg/cpuset rw,relatime shared:3 - cgroup cgroup rw,cpuset
35 31 0:32 / {R}/cg/memory rw,relatime shared:4 - cgroup cgroup rw,memory
38 31 0:35 / {R}/cg/blkio rw,relatime shared:5 - cgroup cgroup rw,blkio
39 31 0:36 / {R}/cg/pids rw,relatime shared:6 - cgroup cgroup rw,pids
40 31 0:37 / {R}/cg/systemd rw,relatime shared:7 - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / {R}/cg/unified rw,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate
";

const SVC: &str = "system.slice/libvirtd.service";
const VM: &str = "machine.slice/machine-qemu\\x2d2\\x2dmy\\x2dvm.scope";

fn hybrid_host() -> (TempDir, CgroupOptions) {
    let p = |hier: &str, cg: &str, file: &str| format!("cg/{hier}/{cg}/{file}");
    let files = [
        ("cg/unified/cgroup.controllers".to_owned(), "hugetlb\n"),
        (
            p("unified", SVC, "cpu.stat"),
            // Throttling keys without v2's cpu controller are ignored
            // (v1 cpu owns throttling here).
            "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\nnice_usec 0\n\
                 nr_periods 999\nnr_throttled 999\nthrottled_usec 999\n",
        ),
        // Present but not from an enabled controller: must not be read.
        (p("unified", SVC, "memory.current"), "999\n"),
        (p("unified", SVC, "pids.current"), "999\n"),
        (
            p("unified", SVC, "cpu.pressure"),
            "some avg10=0.00 avg60=0.00 avg300=0.00 total=100\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=50\n",
        ),
        // Loses to v2 cpu.stat.
        (p("cpu,cpuacct", SVC, "cpuacct.usage"), "7000000000\n"),
        (p("cpu,cpuacct", SVC, "cpuacct.stat"), "user 10\nsystem 5\n"),
        (
            p("cpu,cpuacct", SVC, "cpu.stat"),
            "nr_periods 40\nnr_throttled 2\nthrottled_time 150000000\nnr_bursts 0\nburst_time 0\n",
        ),
        (p("memory", SVC, "memory.usage_in_bytes"), "1904640\n"),
        (
            p("memory", SVC, "memory.limit_in_bytes"),
            "9223372036854771712\n",
        ),
        (
            p("memory", SVC, "memory.stat"),
            "cache 4096\nrss 974848\nswap 0\nhierarchical_memory_limit 9223372036854771712\n\
                 total_cache 8192\ntotal_rss 1949696\ntotal_rss_huge 0\ntotal_swap 12288\n",
        ),
        (
            p("memory", SVC, "memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        ),
        (
            p("blkio", SVC, "blkio.throttle.io_service_bytes"),
            "254:0 Read 2034237440\n254:0 Write 1023410176\n254:0 Sync 4081057792\n254:0 Async 0\n\
                 254:0 Discard 1023410176\n254:0 Total 4081057792\n8:16 Read 512\n8:16 Write 0\n8:16 Total 512\nTotal 4081058304\n",
        ),
        (
            p("blkio", SVC, "blkio.throttle.io_serviced"),
            "254:0 Read 2252\n254:0 Write 1184\n254:0 Sync 3924\n254:0 Async 0\n254:0 Discard 488\n254:0 Total 3924\nTotal 3924\n",
        ),
        (p("pids", SVC, "pids.current"), "2\n"),
        (p("pids", SVC, "pids.max"), "max\n"),
        // A guest that exists in v1 only: CPU time from cpuacct.
        (p("cpu,cpuacct", VM, "cpuacct.usage"), "3413467776\n"),
        (
            p("cpu,cpuacct", VM, "cpuacct.stat"),
            "user 279\nsystem 62\n",
        ),
        (p("memory", VM, "memory.usage_in_bytes"), "536870912\n"),
        (p("memory", VM, "memory.limit_in_bytes"), "2147483648\n"),
        // Hierarchies the pollster has no use for.
        (
            p("systemd", "system.slice/other.service", "cgroup.procs"),
            "1\n",
        ),
        (
            p("cpuset", "system.slice/cpuset-only.service", "cpuset.cpus"),
            "0-1\n",
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    fixture(HYBRID_MOUNTINFO, &files)
}

#[test]
fn hybrid_host_reads_each_controller_where_it_is_enabled() {
    let (tmp, opts) = hybrid_host();
    let mut p = CgroupPollster::new(opts).unwrap();
    let cg = tmp.path().join("cg");
    let found: Vec<(PathBuf, bool, u8)> = p
        .hierarchies
        .iter()
        .map(|h| (h.mount.clone(), h.v2, h.reads))
        .collect();
    assert_eq!(
        found,
        [
            (cg.join("unified"), true, 0),
            (cg.join("cpu,cpuacct"), false, CPU | CPUACCT),
            (cg.join("memory"), false, MEMORY),
            (cg.join("blkio"), false, IO),
            (cg.join("pids"), false, PIDS),
        ]
    );
    let fams = poll_ok(&mut p);
    let svc = format!("/{SVC}");
    let vm = format!("/{VM}");
    let v = |name: &str, cg: &str| val(&fams, name, cg, None);

    // CPU time: v2 cpu.stat wins where the cgroup is in v2; v1 cpuacct otherwise.
    assert_eq!(v("cgroup_cpu_usage_seconds_total", &svc), Some(2.0));
    assert_eq!(v("cgroup_cpu_user_seconds_total", &svc), Some(1.5));
    assert_eq!(v("cgroup_cpu_system_seconds_total", &svc), Some(0.5));
    assert_eq!(v("cgroup_cpu_usage_seconds_total", &vm), Some(3.413467776));
    assert_eq!(v("cgroup_cpu_user_seconds_total", &vm), Some(2.79));
    assert_eq!(v("cgroup_cpu_system_seconds_total", &vm), Some(0.62));
    // Throttling from v1 cpu.stat.
    assert_eq!(v("cgroup_cpu_periods_total", &svc), Some(40.0));
    assert_eq!(v("cgroup_cpu_throttled_periods_total", &svc), Some(2.0));
    assert_eq!(v("cgroup_cpu_throttled_seconds_total", &svc), Some(0.15));
    // Memory, I/O, pids from v1, not from the stray v2 files.
    assert_eq!(v("cgroup_memory_usage_bytes", &svc), Some(1904640.0));
    assert_eq!(v("cgroup_memory_rss_bytes", &svc), Some(1949696.0));
    assert_eq!(v("cgroup_memory_cache_bytes", &svc), Some(8192.0));
    assert_eq!(v("cgroup_memory_swap_bytes", &svc), Some(12288.0));
    assert_eq!(v("cgroup_memory_oom_kills_total", &svc), Some(2.0));
    assert_eq!(v("cgroup_pids_current", &svc), Some(2.0));
    assert_eq!(v("cgroup_memory_usage_bytes", &vm), Some(536870912.0));
    let io = |name: &str, dev: &str| val(&fams, name, &svc, Some(dev));
    assert_eq!(
        io("cgroup_io_read_bytes_total", "254:0"),
        Some(2034237440.0)
    );
    assert_eq!(
        io("cgroup_io_written_bytes_total", "254:0"),
        Some(1023410176.0)
    );
    assert_eq!(io("cgroup_io_read_bytes_total", "8:16"), Some(512.0));
    assert_eq!(io("cgroup_io_written_bytes_total", "8:16"), Some(0.0));
    assert_eq!(io("cgroup_io_reads_total", "254:0"), Some(2252.0));
    assert_eq!(io("cgroup_io_writes_total", "254:0"), Some(1184.0));
    assert_eq!(
        family(&fams, "cgroup_io_read_bytes_total")
            .unwrap()
            .series
            .len(),
        2
    );
    assert_eq!(
        family(&fams, "cgroup_io_reads_total").unwrap().series.len(),
        1
    );
    // PSI from v2.
    assert_eq!(
        v("cgroup_pressure_cpu_waiting_seconds_total", &svc),
        Some(0.0001)
    );
    assert_eq!(
        v("cgroup_pressure_cpu_stalled_seconds_total", &svc),
        Some(0.00005)
    );
    // Unlimited limits are absent, finite ones present.
    assert_eq!(v("cgroup_memory_limit_bytes", &svc), None);
    assert_eq!(v("cgroup_pids_limit", &svc), None);
    assert_eq!(v("cgroup_memory_limit_bytes", &vm), Some(2147483648.0));

    assert_eq!(
        labels_of(&fams, "cgroup_memory_usage_bytes", &vm),
        map(&[
            ("cgroup", &vm),
            ("name", "machine-qemu-2-my-vm.scope"),
            ("domain", "my-vm")
        ])
    );
    // One series set per cgroup across hierarchies; the cpuset and
    // name=systemd hierarchies are not walked.
    let walked: Vec<(&str, u32)> = p.seen.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        walked,
        [
            ("/machine.slice", 0b00110),
            (vm.as_str(), 0b00110),
            ("/system.slice", 0b11111),
            (svc.as_str(), 0b11111),
        ]
    );
    let all: BTreeSet<String> = fams.iter().flat_map(|f| cgroups(&fams, &f.name)).collect();
    assert_eq!(all, [svc.clone(), vm.clone()].into());
    for f in &fams {
        let cgs: Vec<_> = f
            .series
            .iter()
            .map(|s| labels(s)["cgroup"].to_owned())
            .collect();
        let devs: Vec<_> = f
            .series
            .iter()
            .map(|s| labels(s).get("device").map(|d| d.to_string()))
            .collect();
        let unique: BTreeSet<_> = cgs.iter().zip(&devs).collect();
        assert_eq!(
            unique.len(),
            f.series.len(),
            "{} has duplicate series",
            f.name
        );
    }
}

#[test]
fn libvirt_direct_layout_gets_domain() {
    let d = "sys/fs/cgroup/machine";
    let (_tmp, opts) = fixture(
        V2_MOUNTINFO,
        &[
            ("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n"),
            (
                &format!("{d}/qemu-3-web.libvirt-qemu/memory.current"),
                "1000\n",
            ),
            (
                &format!("{d}/qemu-3-web.libvirt-qemu/vcpu0/memory.current"),
                "10\n",
            ),
            (
                &format!("{d}/qemu-12-my-vm.libvirt-qemu/memory.current"),
                "2000\n",
            ),
            (
                &format!("{d}/lxc-4-box.libvirt-lxc/memory.current"),
                "3000\n",
            ),
        ],
    );
    let fams = poll_ok(&mut CgroupPollster::new(opts).unwrap());
    let f = "cgroup_memory_usage_bytes";
    assert_eq!(
        labels_of(&fams, f, "/machine/qemu-3-web.libvirt-qemu"),
        map(&[
            ("cgroup", "/machine/qemu-3-web.libvirt-qemu"),
            ("name", "qemu-3-web.libvirt-qemu"),
            ("domain", "web")
        ])
    );
    assert_eq!(
        labels_of(&fams, f, "/machine/qemu-12-my-vm.libvirt-qemu")["domain"],
        "my-vm"
    );
    assert!(!labels_of(&fams, f, "/machine/qemu-3-web.libvirt-qemu/vcpu0").contains_key("domain"));
    assert!(!labels_of(&fams, f, "/machine/lxc-4-box.libvirt-lxc").contains_key("domain"));
    assert_eq!(
        val(&fams, f, "/machine/qemu-3-web.libvirt-qemu", None),
        Some(1000.0)
    );
}

#[test]
fn domain_and_name_parsing() {
    assert_eq!(
        libvirt_domain("machine-qemu\\x2d1\\x2dtiny.scope").as_deref(),
        Some("tiny")
    );
    assert_eq!(
        libvirt_domain("machine-qemu\\x2d17\\x2da\\x2db\\x2dc.scope").as_deref(),
        Some("a-b-c")
    );
    assert_eq!(
        libvirt_domain("qemu-3-web.libvirt-qemu").as_deref(),
        Some("web")
    );
    assert_eq!(
        libvirt_domain("qemu-3-we-b.libvirt-qemu").as_deref(),
        Some("we-b")
    );
    for not_guest in [
        "machine-qemu\\x2dtiny.scope",
        "machine-qemu\\x2dx\\x2dtiny.scope",
        "machine-qemu\\x2d1\\x2d.scope",
        "machine-lxc\\x2d1\\x2dbox.scope",
        "machine-qemu\\x2d1\\x2dtiny.service",
        "qemu-web.libvirt-qemu",
        "qemu-3-.libvirt-qemu",
        "qemu-3-web",
        "sshd.service",
        "",
    ] {
        assert_eq!(libvirt_domain(not_guest), None, "{not_guest}");
    }
    assert_eq!(systemd_unescape("a\\x2db\\x5cc\\x2"), "a-b\\c\\x2");
    assert_eq!(systemd_unescape("caf\\xc3\\xa9"), "café");
    assert_eq!(systemd_unescape("bad\\xff"), "bad\u{fffd}");
    assert_eq!(
        unescape_octal("/a\\040b\\134c\\04"),
        PathBuf::from("/a b\\c\\04")
    );
    assert_eq!(
        cgroup_labels("/"),
        vec![label("cgroup", "/"), label("name", "/")],
        "the hierarchy root"
    );
}

#[test]
fn removed_cgroup_disappears_without_error() {
    let (tmp, opts) = v2_host();
    let mut p = CgroupPollster::new(opts).unwrap();
    let fams = poll_ok(&mut p);
    assert!(cgroups(&fams, "cgroup_cpu_usage_seconds_total").contains(SCOPE));
    fs::remove_dir_all(tmp.path().join(format!("sys/fs/cgroup{SCOPE}"))).unwrap();
    let fams = poll_ok(&mut p);
    let left = cgroups(&fams, "cgroup_cpu_usage_seconds_total");
    assert_eq!(
        left,
        ["/machine.slice", "/system.slice/sshd.service"]
            .map(String::from)
            .into()
    );
    assert!(
        family(&fams, "cgroup_io_reads_total").is_none(),
        "only the guest had io.stat"
    );
    // The whole watched subtree going away is fine too.
    fs::remove_dir_all(tmp.path().join("sys/fs/cgroup/machine.slice")).unwrap();
    let fams = poll_ok(&mut p);
    assert_eq!(
        cgroups(&fams, "cgroup_cpu_usage_seconds_total"),
        ["/system.slice/sshd.service"].map(String::from).into()
    );
}

#[test]
fn unlimited_limits_are_skipped() {
    let (_tmp, mut opts) = fixture(
        HYBRID_MOUNTINFO,
        &[
            ("cg/unified/cgroup.controllers", "pids\n"),
            ("cg/unified/a/pids.max", "max\n"),
            ("cg/unified/b/pids.max", "4096\n"),
            ("cg/memory/a/memory.limit_in_bytes", "9223372036854771712\n"),
            ("cg/memory/b/memory.limit_in_bytes", "4611686018427387904\n"),
            ("cg/memory/c/memory.limit_in_bytes", "4611686018427387903\n"),
            ("cg/pids/a/pids.max", "1\n"),
        ],
    );
    opts.watch = vec!["a".into(), "/b/".into(), "c".into()];
    let fams = poll_ok(&mut CgroupPollster::new(opts).unwrap());
    assert_eq!(val(&fams, "cgroup_memory_limit_bytes", "/a", None), None);
    assert_eq!(
        val(&fams, "cgroup_memory_limit_bytes", "/b", None),
        None,
        "2^62"
    );
    assert_eq!(
        val(&fams, "cgroup_memory_limit_bytes", "/c", None),
        Some(4611686018427387903.0)
    );
    // pids is enabled in v2, so the v1 pids hierarchy (limit 1) is ignored.
    assert_eq!(val(&fams, "cgroup_pids_limit", "/a", None), None);
    assert_eq!(val(&fams, "cgroup_pids_limit", "/b", None), Some(4096.0));

    let (_tmp, mut opts) = fixture(
        V2_MOUNTINFO,
        &[
            ("sys/fs/cgroup/cgroup.controllers", "memory\n"),
            ("sys/fs/cgroup/x/memory.max", "max\n"),
            ("sys/fs/cgroup/x/memory.current", "5\n"),
        ],
    );
    opts.watch = vec!["x".into()];
    let fams = poll_ok(&mut CgroupPollster::new(opts).unwrap());
    assert!(family(&fams, "cgroup_memory_limit_bytes").is_none());
    assert_eq!(
        val(&fams, "cgroup_memory_usage_bytes", "/x", None),
        Some(5.0)
    );
}

#[test]
fn read_errors_are_reported_after_pushing_the_rest() {
    let (_tmp, mut opts) = fixture(
        V2_MOUNTINFO,
        &[
            ("sys/fs/cgroup/cgroup.controllers", "memory pids\n"),
            ("sys/fs/cgroup/x/memory.current", "lots\n"),
            ("sys/fs/cgroup/x/pids.current/", ""),
            ("sys/fs/cgroup/x/pids.max", "64\n"),
            (
                "sys/fs/cgroup/x/cpu.stat",
                "usage_usec 10\nuser_usec 5\nsystem_usec 5\n",
            ),
        ],
    );
    opts.watch = vec!["x".into()];
    opts.max_depth = 0;
    let mut p = CgroupPollster::new(opts).unwrap();
    let mut fams = Vec::new();
    let err = p.poll(&mut fams).unwrap_err();
    let errors = match err.downcast_ref::<CgroupError>() {
        Some(CgroupError::Poll { errors }) => errors,
        other => panic!("unexpected error {other:?}"),
    };
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        matches!(&errors[0], CgroupError::Parse { path, detail }
                if path.ends_with("x/memory.current") && detail.contains("\"lots\"")),
        "{errors:?}"
    );
    assert!(
        matches!(&errors[1], CgroupError::Io { path, source }
                if path.ends_with("x/pids.current") && source.raw_os_error() == Some(libc::EISDIR)),
        "{errors:?}"
    );
    assert!(
        err.to_string().starts_with("2 cgroup read error(s): "),
        "{err}"
    );
    assert_eq!(
        val(&fams, "cgroup_cpu_usage_seconds_total", "/x", None),
        Some(0.00001)
    );
    assert_eq!(val(&fams, "cgroup_pids_limit", "/x", None), Some(64.0));
    assert!(family(&fams, "cgroup_memory_usage_bytes").is_none());
    // Errors do not carry over into the next poll.
    let mut again = Vec::new();
    let err = p.poll(&mut again).unwrap_err();
    assert!(
        err.to_string().starts_with("2 cgroup read error(s): "),
        "{err}"
    );
}

#[test]
fn bad_setups_fail_at_start() {
    let (tmp, mut opts) = fixture(HYBRID_MOUNTINFO, &[]);
    opts.watch = vec!["machine.slice/../..".into(), "a//b".into(), "ok".into()];
    let err = CgroupPollster::new(opts.clone()).unwrap_err();
    match err.downcast_ref::<CgroupError>() {
        Some(CgroupError::BadWatch { paths }) => {
            assert_eq!(paths, &["machine.slice/../..", "a//b"])
        }
        other => panic!("unexpected error {other:?}"),
    }
    opts.watch = vec!["ok".into()];
    // The v2 root's cgroup.controllers is missing from this fixture.
    let err = CgroupPollster::new(opts.clone()).unwrap_err();
    assert!(err.to_string().contains("cgroup.controllers"), "{err}");

    fs::write(&opts.mountinfo, "22 1 0:21 / /proc rw - proc proc rw\n").unwrap();
    let err = CgroupPollster::new(opts.clone()).unwrap_err();
    assert!(
        matches!(err.downcast_ref(), Some(CgroupError::NoHierarchy { .. })),
        "{err}"
    );

    opts.mountinfo = tmp.path().join("absent");
    let err = CgroupPollster::new(opts).unwrap_err();
    assert!(
        matches!(err.downcast_ref(), Some(CgroupError::Io { .. })),
        "{err}"
    );
}

#[test]
fn first_mount_of_a_controller_wins() {
    let (tmp, opts) = fixture(
        "\
1 0 0:1 / {R}/a rw - cgroup cgroup rw,memory
2 0 0:1 / {R}/b rw - cgroup cgroup rw,memory,pids
3 0 0:2 / {R}/with\\040space rw - cgroup cgroup rw,cpuacct
4 0 0:3 / {R}/v2 rw - cgroup2 cgroup2 rw
5 0 0:4 / {R}/v2-again rw - cgroup2 cgroup2 rw
",
        &[
            ("v2/cgroup.controllers", ""),
            ("with space/x/cpuacct.usage", "1000000000\n"),
        ],
    );
    let mut p = CgroupPollster::new(CgroupOptions {
        watch: vec!["x".into()],
        ..opts
    })
    .unwrap();
    let found: Vec<(PathBuf, bool, u8)> = p
        .hierarchies
        .iter()
        .map(|h| (h.mount.clone(), h.v2, h.reads))
        .collect();
    let t = tmp.path();
    assert_eq!(
        found,
        [
            (t.join("v2"), true, 0),
            (t.join("a"), false, MEMORY),
            (t.join("b"), false, PIDS),
            (t.join("with space"), false, CPUACCT),
        ]
    );
    let fams = poll_ok(&mut p);
    assert_eq!(
        val(&fams, "cgroup_cpu_usage_seconds_total", "/x", None),
        Some(1.0)
    );
}
