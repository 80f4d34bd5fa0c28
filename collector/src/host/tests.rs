use super::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

const STAT: &str = "\
cpu  24690 200 6000 200000 300 0 100 7 11 13
cpu0 12345 100 3000 100000 150 0 50 7 11 13
cpu1 12345 100 3000 100000 150 0 50 0 0 0
intr 987654 12 0 34
ctxt 55555
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
softirq 100 1 2 3 4 5 6 7 8 9 10
";

/// A fixture host: everything a poll reads, with round numbers.
    #[rustfmt::skip]
    const FIXTURE: &[(&str, &str)] = &[
        ("proc/stat", STAT),
        ("proc/meminfo", "MemTotal:       16384000 kB\nMemFree:         1024000 kB\n\
            Active(anon):     204800 kB\nHugePages_Total:       4\nHugepagesize:       2048 kB\n"),
        ("proc/loadavg", "0.52 0.58 1.25 2/1024 12345\n"),
        // 20 fields, partition, loop device, 18 fields, partition, 14 fields,
        // 7 fields (skipped).
        ("proc/diskstats", "\
   8       0 sda 1000 10 10 500 2000 20 40 800 2 1200 1300 5 1 80 6 7 9
   8       1 sda1 900 9 9 400 1900 19 38 700 0 1100 1200 0 0 0 0 0 0
   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 259       0 nvme0n1 100 1 200 30 40 2 80 50 0 60 70 3 0 24 4
 259       1 nvme0n1p1 100 1 200 30 40 2 80 50 0 60 70 3 0 24 4
 254       0 vda 5 0 8 1 6 0 16 2 0 3 3
 253       9 dm-9 1 2 3 4
"),
        ("run/udev/data/b8:0", "S:disk/by-id/ata-X\nE:ID_PATH=pci-0000:00:1f.2-ata-1\n\
            E:ID_MODEL=Samsung_SSD\nE:ID_SERIAL_SHORT=S123\nE:ID_REVISION=1B6Q\nE:ID_WWN=0x5002538\n\
            E:ID_ATA=1\nE:ID_ATA_ROTATION_RATE_RPM=0\nE:ID_ATA_WRITE_CACHE=1\n"),
        ("run/udev/data/b254:0", "E:ID_FS_TYPE=ext4\nE:ID_FS_USAGE=filesystem\nE:ID_FS_UUID=abcd\n\
            E:ID_FS_VERSION=1.0\nE:DM_NAME=vg-root\nE:DM_UUID=LVM-x\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\n"),
        ("proc/net/dev", "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: 829977399   51110    1    2    3     4          5         6  4104222   49068    7    8    9     10       11          12
"),
        ("sys/class/net/eth0/statistics/rx_nohandler", "3\n"),
        // Only proc/mounts: pid 1 hidden, as with hidepid.
        ("proc/mounts", "\
/dev/sda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid 0 0
devtmpfs /dev devtmpfs rw,size=1k 0 0
tmpfs /run tmpfs rw,nosuid 0 0
/dev/sdb1 /mnt/with\\040space xfs ro,relatime 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
tmpfs /var/lib/docker/volumes tmpfs rw 0 0
tmpfs /run/credentials/systemd-sysctl.service tmpfs ro 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
/dev/sda1 / ext4 rw,relatime 0 0
/dev/sdc1 /broken ext4 rw 0 0
"),
        ("proc/pressure/cpu", "some avg10=2.30 avg60=3.03 avg300=12.22 total=5248525564\n"),
        ("proc/pressure/io", "some avg10=0.00 avg60=0.39 avg300=2.28 total=407401745\n\
            full avg10=0.00 avg60=0.32 avg300=0.67 total=62532610\n"),
        ("proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n\
            full avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n"),
        ("proc/vmstat", "nr_free_pages 1\npgpgin 10\npgpgout 11\npswpin 0\npswpout 0\npgfault 20\n\
            pgmajfault 2\npgsteal_kswapd 5\nthp_fault_alloc 3\noom_kill 1\n"),
        ("proc/sys/kernel/ostype", "Linux\n"),
        ("proc/sys/kernel/osrelease", "6.1.0-18-amd64\n"),
        ("proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n"),
        ("proc/sys/kernel/arch", "x86_64\n"),
        ("proc/sys/kernel/hostname", "node-7\n"),
        ("proc/sys/kernel/domainname", "(none)\n"),
    ];

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (relative, content) in FIXTURE {
        write(dir.path(), relative, content);
    }
    dir
}

/// Fakes statvfs from the path's last component: `broken` fails, `with
/// space` has 2000 blocks of 4096 bytes, the rest 1000.
fn fake_statfs(path: &Path) -> io::Result<FsStats> {
    if path.ends_with("broken") {
        return Err(io::Error::from_raw_os_error(libc::EIO));
    }
    let blocks = if path.ends_with("with space") {
        2000
    } else {
        1000
    };
    Ok(FsStats {
        block_size: 4096,
        blocks,
        blocks_free: 600,
        blocks_avail: 500,
        files: 100,
        files_free: 40,
    })
}

fn poll_fixture(root: &Path) -> (Vec<Family>, anyhow::Result<()>) {
    let mut pollster = HostPollster::new(root.to_path_buf());
    pollster.statfs.statfs = fake_statfs;
    let mut out = Vec::new();
    let result = pollster.poll(&mut out);
    (out, result)
}

fn family<'a>(families: &'a [Family], name: &str) -> &'a Family {
    let mut found = families.iter().filter(|f| f.name == name);
    let family = found.next().unwrap_or_else(|| panic!("no family {name}"));
    assert!(found.next().is_none(), "family {name} appears twice");
    family
}

fn has(families: &[Family], name: &str) -> bool {
    families.iter().any(|f| f.name == name)
}

/// The value of the one series of `name` whose labels are exactly
/// `selector`, written `k=v,k=v`.
fn value(families: &[Family], name: &str, selector: &str) -> f64 {
    let wanted: BTreeSet<(&str, &str)> = selector
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let series = &family(families, name).series;
    let matching: Vec<f64> = series
        .iter()
        .filter(|s| {
            let labels = s.labels.iter().map(|(k, v)| (k.as_ref(), v.as_str()));
            labels.collect::<BTreeSet<_>>() == wanted
        })
        .map(|s| s.value)
        .collect();
    assert_eq!(matching.len(), 1, "{name}{{{selector}}}: {matching:?}");
    matching[0]
}

/// Equal but for rounding: unit conversions multiply like node-exporter.
fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn label_values(families: &[Family], name: &str, key: &str) -> BTreeSet<String> {
    let series = &family(families, name).series;
    let labels = series.iter().flat_map(|s| &s.labels);
    labels
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[test]
fn cpu_and_stat_from_proc_stat() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    let cpu = |selector| value(&out, "node_cpu_seconds_total", selector);
    assert_eq!(cpu("cpu=0,mode=user"), 123.45);
    assert_eq!(cpu("cpu=0,mode=idle"), 1000.0);
    assert_eq!(cpu("cpu=0,mode=steal"), 0.07);
    assert_eq!(cpu("cpu=1,mode=softirq"), 0.5);
    assert_eq!(family(&out, "node_cpu_seconds_total").series.len(), 16);
    assert_eq!(family(&out, "node_cpu_seconds_total").kind, Kind::Counter);
    let guest = |selector| value(&out, "node_cpu_guest_seconds_total", selector);
    assert_eq!(guest("cpu=0,mode=user"), 0.11);
    assert_eq!(guest("cpu=0,mode=nice"), 0.13);
    assert_eq!(guest("cpu=1,mode=nice"), 0.0);
    assert_eq!(value(&out, "node_intr_total", ""), 987654.0);
    assert_eq!(value(&out, "node_context_switches_total", ""), 55555.0);
    assert_eq!(value(&out, "node_forks_total", ""), 4242.0);
    assert_eq!(value(&out, "node_boot_time_seconds", ""), 1_700_000_000.0);
    assert_eq!(value(&out, "node_procs_running", ""), 3.0);
    assert_eq!(value(&out, "node_procs_blocked", ""), 1.0);
    assert_eq!(family(&out, "node_boot_time_seconds").kind, Kind::Gauge);
}

#[test]
fn cpu_counters_never_go_backwards() {
    let dir = fixture();
    let mut pollster = HostPollster::new(dir.path().to_path_buf());
    let mut out = Vec::new();
    pollster.poll(&mut out).unwrap();
    // cpu0's iowait falls 1.5 s (a known kernel quirk): held at 1.5.
    // cpu1's idle falls 500 s: a hot-plugged CPU, so it starts afresh.
    let stat = STAT
        .replace(
            "cpu0 12345 100 3000 100000 150",
            "cpu0 12400 100 3000 100100 0",
        )
        .replace("cpu1 12345 100 3000 100000", "cpu1 10 1 2 50000");
    write(dir.path(), "proc/stat", &stat);
    out.clear();
    pollster.poll(&mut out).unwrap();
    let cpu = |selector| value(&out, "node_cpu_seconds_total", selector);
    assert_eq!(cpu("cpu=0,mode=iowait"), 1.5);
    assert_eq!(cpu("cpu=0,mode=user"), 124.0);
    assert_eq!(cpu("cpu=0,mode=idle"), 1001.0);
    assert_eq!(cpu("cpu=1,mode=idle"), 500.0);
    assert_eq!(cpu("cpu=1,mode=user"), 0.1);
}

#[test]
fn meminfo_names_and_units() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    assert_eq!(
        value(&out, "node_memory_MemTotal_bytes", ""),
        16384000.0 * 1024.0
    );
    assert_eq!(
        value(&out, "node_memory_Active_anon_bytes", ""),
        204800.0 * 1024.0
    );
    assert_eq!(value(&out, "node_memory_HugePages_Total", ""), 4.0);
    assert_eq!(value(&out, "node_memory_Hugepagesize_bytes", ""), 2097152.0);
    let memory = out.iter().filter(|f| f.name.starts_with("node_memory_"));
    assert_eq!(memory.count(), 5);
    let help = &family(&out, "node_memory_Active_anon_bytes").help;
    assert_eq!(help, "Memory information field Active_anon_bytes.");
}

#[test]
fn loadavg_pressure_vmstat_uname() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    assert_eq!(value(&out, "node_load1", ""), 0.52);
    assert_eq!(value(&out, "node_load5", ""), 0.58);
    assert_eq!(value(&out, "node_load15", ""), 1.25);

    let pressure = |name| value(&out, &format!("node_pressure_{name}_seconds_total"), "");
    assert!(approx(pressure("cpu_waiting"), 5248.525564));
    assert_eq!(pressure("io_waiting"), 407.401745);
    assert_eq!(pressure("io_stalled"), 62.53261);
    assert_eq!(pressure("memory_waiting"), 1.0);
    assert_eq!(pressure("memory_stalled"), 0.5);
    assert!(!has(&out, "node_pressure_cpu_stalled_seconds_total"));

    let vmstat: BTreeSet<String> = out
        .iter()
        .filter_map(|f| Some(f.name.strip_prefix("node_vmstat_")?.to_owned()))
        .collect();
    let wanted = [
        "oom_kill",
        "pgfault",
        "pgmajfault",
        "pgpgin",
        "pgpgout",
        "pswpin",
        "pswpout",
    ];
    assert_eq!(vmstat, set(&wanted));
    assert_eq!(value(&out, "node_vmstat_pgfault", ""), 20.0);

    let uname = "sysname=Linux,release=6.1.0-18-amd64,\
            version=#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01),\
            machine=x86_64,nodename=node-7,domainname=(none)";
    assert_eq!(value(&out, "node_uname_info", uname), 1.0);
}

#[test]
fn diskstats_units_filters_and_field_counts() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    let disk = |name: &str, device: &str| {
        value(
            &out,
            &format!("node_disk_{name}"),
            &format!("device={device}"),
        )
    };
    assert_eq!(disk("reads_completed_total", "sda"), 1000.0);
    assert_eq!(disk("read_bytes_total", "sda"), 5120.0);
    assert_eq!(disk("read_time_seconds_total", "sda"), 0.5);
    assert_eq!(disk("written_bytes_total", "sda"), 40.0 * 512.0);
    assert_eq!(disk("io_now", "sda"), 2.0);
    assert_eq!(disk("io_time_weighted_seconds_total", "sda"), 1.3);
    assert_eq!(disk("discarded_sectors_total", "sda"), 80.0);
    assert_eq!(disk("flush_requests_total", "sda"), 7.0);
    assert!(approx(
        disk("flush_requests_time_seconds_total", "sda"),
        0.009
    ));
    // 18 fields: discards but no flushes; 14 fields: neither.
    assert_eq!(disk("discard_time_seconds_total", "nvme0n1"), 0.004);
    assert_eq!(disk("io_time_weighted_seconds_total", "vda"), 0.003);
    let devices = |name| label_values(&out, name, "device");
    let all = set(&["sda", "nvme0n1", "vda"]);
    assert_eq!(devices("node_disk_reads_completed_total"), all);
    assert_eq!(devices("node_disk_info"), all);
    assert_eq!(
        devices("node_disk_discards_completed_total"),
        set(&["sda", "nvme0n1"])
    );
    assert_eq!(devices("node_disk_flush_requests_total"), set(&["sda"]));

    let info = "device=sda,major=8,minor=0,path=pci-0000:00:1f.2-ata-1,wwn=0x5002538,\
            model=Samsung_SSD,serial=S123,revision=1B6Q";
    assert_eq!(value(&out, "node_disk_info", info), 1.0);
    let bare = "device=nvme0n1,major=259,minor=0,path=,wwn=,model=,serial=,revision=";
    assert_eq!(value(&out, "node_disk_info", bare), 1.0);
    assert_eq!(disk("ata_rotation_rate_rpm", "sda"), 0.0);
    assert_eq!(disk("ata_write_cache", "sda"), 1.0);
    assert!(!has(&out, "node_disk_ata_write_cache_enabled"));
    let fs = "device=vda,type=ext4,usage=filesystem,uuid=abcd,version=1.0";
    assert_eq!(value(&out, "node_disk_filesystem_info", fs), 1.0);
    let dm = "device=vda,name=vg-root,uuid=LVM-x,vg_name=vg,lv_name=root,lv_layer=";
    assert_eq!(value(&out, "node_disk_device_mapper_info", dm), 1.0);
}

#[test]
fn disk_exclude_matches_node_exporter_regex() {
    let excluded = "ram0 loop12 fd0 sda1 hdb2 vda15 xvdf1 nvme0n1p2 nvme12n3p45";
    for device in excluded.split(' ') {
        assert!(disk_excluded(device), "{device} should be excluded");
    }
    let kept = "sda vda xvdf nvme0n1 dm-0 md127 sdaa1 loop zram0 mmcblk0p1 nvme0n1p sr0 ramdisk";
    for device in kept.split(' ') {
        assert!(!disk_excluded(device), "{device} should be kept");
    }
}

#[test]
fn netdev_columns_and_nohandler() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    let net = |name: &str, device: &str| {
        value(
            &out,
            &format!("node_network_{name}_total"),
            &format!("device={device}"),
        )
    };
    assert_eq!(net("receive_bytes", "eth0"), 829977399.0);
    assert_eq!(net("receive_packets", "eth0"), 51110.0);
    assert_eq!(net("receive_frame", "eth0"), 4.0);
    assert_eq!(net("receive_multicast", "eth0"), 6.0);
    assert_eq!(net("transmit_bytes", "eth0"), 4104222.0);
    assert_eq!(net("transmit_colls", "eth0"), 10.0);
    assert_eq!(net("transmit_carrier", "eth0"), 11.0);
    assert_eq!(net("transmit_compressed", "eth0"), 12.0);
    assert_eq!(net("receive_bytes", "lo"), 1000.0);
    assert_eq!(net("receive_nohandler", "eth0"), 3.0);
    assert_eq!(
        family(&out, "node_network_receive_nohandler_total")
            .series
            .len(),
        1
    );
    let network = out.iter().filter(|f| f.name.starts_with("node_network_"));
    assert_eq!(network.count(), 17);
}

#[test]
fn filesystems_excludes_dedup_and_errors() {
    let dir = fixture();
    let (out, result) = poll_fixture(dir.path());
    result.unwrap();
    let fs = |name: &str, selector| value(&out, &format!("node_filesystem_{name}"), selector);
    let root = "device=/dev/sda1,fstype=ext4,mountpoint=/";
    assert_eq!(fs("size_bytes", root), 4096000.0);
    assert_eq!(fs("free_bytes", root), 600.0 * 4096.0);
    assert_eq!(fs("avail_bytes", root), 500.0 * 4096.0);
    assert_eq!(fs("files", root), 100.0);
    assert_eq!(fs("files_free", root), 40.0);
    assert_eq!(fs("readonly", root), 0.0);
    assert_eq!(fs("device_error", root), 0.0);
    let spaced = "device=/dev/sdb1,fstype=xfs,mountpoint=/mnt/with space";
    assert_eq!(fs("size_bytes", spaced), 2000.0 * 4096.0);
    assert_eq!(fs("readonly", spaced), 1.0);
    let broken = "device=/dev/sdc1,fstype=ext4,mountpoint=/broken";
    assert_eq!(fs("device_error", broken), 1.0);

    let listed = |name| label_values(&out, name, "mountpoint");
    let all = set(&["/", "/run", "/mnt/with space", "/broken"]);
    assert_eq!(listed("node_filesystem_device_error"), all);
    assert_eq!(family(&out, "node_filesystem_device_error").series.len(), 4);
    let measured = set(&["/", "/run", "/mnt/with space"]);
    assert_eq!(listed("node_filesystem_size_bytes"), measured);
}

#[test]
fn filesystem_seam_statvfs_is_under_the_root() {
    // The real statvfs at root.join(mountpoint): the tempdir's filesystem.
    let dir = fixture();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let mounts = "/dev/vdb /data ext4 rw 0 0\n/dev/vdc /gone ext4 rw 0 0\n";
    write(dir.path(), "proc/1/mounts", mounts);
    let mut pollster = HostPollster::new(dir.path().to_path_buf());
    let mut out = Vec::new();
    pollster.poll(&mut out).unwrap();
    let data = "device=/dev/vdb,fstype=ext4,mountpoint=/data";
    let real = rustix::fs::statvfs(dir.path()).unwrap();
    let size = value(&out, "node_filesystem_size_bytes", data);
    assert_eq!(size, real.f_blocks as f64 * real.f_bsize as f64);
    assert_eq!(
        value(&out, "node_filesystem_files", data),
        real.f_files as f64
    );
    // proc/1/mounts wins over proc/mounts; a missing directory is an error.
    let gone = "device=/dev/vdc,fstype=ext4,mountpoint=/gone";
    assert_eq!(value(&out, "node_filesystem_device_error", gone), 1.0);
    assert_eq!(family(&out, "node_filesystem_device_error").series.len(), 2);
}

static HANG_CALLS: AtomicUsize = AtomicUsize::new(0);
static RELEASE: AtomicBool = AtomicBool::new(false);

/// Hangs on its first call for `/hang` until the test sets RELEASE.
fn hanging_statfs(path: &Path) -> io::Result<FsStats> {
    if path.ends_with("hang") && HANG_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !RELEASE.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    fake_statfs(path)
}

#[test]
fn a_hung_mount_costs_one_timeout_then_recovers() {
    let dir = fixture();
    let mounts = "nfs:/x /hang nfs4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n";
    write(dir.path(), "proc/mounts", mounts);
    let mut pollster = HostPollster::new(dir.path().to_path_buf());
    pollster.statfs = StatfsGuard::new(hanging_statfs, Duration::from_millis(100));
    let hang = "device=nfs:/x,fstype=nfs4,mountpoint=/hang";
    let root = "device=/dev/sda1,fstype=ext4,mountpoint=/";
    for _ in 0..2 {
        // The first poll times out on /hang, the second does not call it
        // again; the mount after it is measured both times.
        let mut out = Vec::new();
        pollster.poll(&mut out).unwrap();
        assert_eq!(value(&out, "node_filesystem_device_error", hang), 1.0);
        assert_eq!(value(&out, "node_filesystem_size_bytes", root), 4096000.0);
        assert_eq!(HANG_CALLS.load(Ordering::SeqCst), 1);
    }
    // Once the hung call returns, the mount point is measured again.
    RELEASE.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lock(&pollster.statfs.stuck).is_empty() {
        assert!(Instant::now() < deadline, "the hung statvfs never returned");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut out = Vec::new();
    pollster.poll(&mut out).unwrap();
    assert_eq!(value(&out, "node_filesystem_device_error", hang), 0.0);
    assert_eq!(value(&out, "node_filesystem_size_bytes", hang), 4096000.0);
    assert_eq!(HANG_CALLS.load(Ordering::SeqCst), 2);
}

#[test]
fn mount_and_fs_type_excludes_match_node_exporter_regexes() {
    let excluded = "/dev /dev/shm /proc /proc/sys/fs/binfmt_misc /sys /sys/fs/cgroup \
            /run/credentials/x.service /var/lib/docker/overlay2 /var/lib/containers/storage/o";
    for mountpoint in excluded.split(' ') {
        assert!(
            mount_excluded(mountpoint),
            "{mountpoint} should be excluded"
        );
    }
    let kept = "/ /device /system /run /run/credentials /run/credentials/ \
            /var/lib/docker /var/lib/docker/ /home dev";
    for mountpoint in kept.split(' ') {
        assert!(!mount_excluded(mountpoint), "{mountpoint} should be kept");
    }
    assert!(EXCLUDED_FS_TYPES.contains(&"cgroup2") && !EXCLUDED_FS_TYPES.contains(&"tmpfs"));
}

#[test]
fn a_bad_file_fails_its_collector_only() {
    let dir = fixture();
    write(
        dir.path(),
        "proc/meminfo",
        "MemTotal:       16384000 kB\nMemFree: lots kB\n",
    );
    std::fs::remove_dir_all(dir.path().join("proc/pressure")).unwrap();
    let (out, result) = poll_fixture(dir.path());
    let error = format!("{:#}", result.unwrap_err());
    let meminfo = dir.path().join("proc/meminfo");
    assert!(
        error.contains(&format!("{}:2:", meminfo.display())),
        "{error}"
    );
    assert!(
        error.starts_with("host collectors failed: meminfo: "),
        "{error}"
    );
    assert!(!error.contains("pressure"), "{error}");
    assert!(!out.iter().any(|f| f.name.starts_with("node_memory_")));
    assert!(!out.iter().any(|f| f.name.starts_with("node_pressure_")));
    for name in [
        "node_load1",
        "node_cpu_seconds_total",
        "node_uname_info",
        "node_disk_info",
    ] {
        family(&out, name);
    }
}

#[test]
fn a_missing_file_names_itself() {
    let dir = fixture();
    std::fs::remove_file(dir.path().join("proc/stat")).unwrap();
    let (out, result) = poll_fixture(dir.path());
    let error = format!("{:#}", result.unwrap_err());
    assert!(
        error.contains("cpu: reading ") && error.contains("stat: reading "),
        "{error}"
    );
    assert!(error.contains("proc/stat"), "{error}");
    family(&out, "node_memory_MemTotal_bytes");
}

#[test]
fn this_machine() {
    let mut pollster = HostPollster::new(PathBuf::from("/"));
    let mut out = Vec::new();
    pollster.poll(&mut out).unwrap();
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let cpus: BTreeSet<String> = stat
        .lines()
        .filter_map(|line| line.split_ascii_whitespace().next()?.strip_prefix("cpu"))
        .filter(|id| !id.is_empty())
        .map(String::from)
        .collect();
    assert!(!cpus.is_empty());
    assert_eq!(label_values(&out, "node_cpu_seconds_total", "cpu"), cpus);
    assert_eq!(
        family(&out, "node_cpu_seconds_total").series.len(),
        cpus.len() * 8
    );
    assert!(value(&out, "node_memory_MemTotal_bytes", "") > 0.0);
    assert!(value(&out, "node_load1", "") >= 0.0);
    assert!(value(&out, "node_boot_time_seconds", "") > 1e9);
    assert_eq!(family(&out, "node_uname_info").series.len(), 1);
    for name in [
        "node_network_receive_bytes_total",
        "node_filesystem_device_error",
        "node_vmstat_pgfault",
        "node_context_switches_total",
    ] {
        assert!(!family(&out, name).series.is_empty(), "{name}");
    }
    // A second poll reads through the kept handles and sees time pass.
    let forks = value(&out, "node_forks_total", "");
    out.clear();
    pollster.poll(&mut out).unwrap();
    assert!(value(&out, "node_forks_total", "") >= forks);
}
