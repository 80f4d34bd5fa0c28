use std::time::Duration;

use super::*;

/// `virsh domstats tiny` of the real TCG guest (shared/peers/evidence).
const TINY: &str = "state.state=1
state.reason=1
cpu.time=5366268000
cpu.user=4949641000
balloon.current=131072
balloon.maximum=131072
balloon.swap_in=0
balloon.swap_out=8
balloon.unused=53472
balloon.available=82028
balloon.usable=59136
balloon.rss=223788
vcpu.current=1
vcpu.maximum=1
vcpu.0.state=1
vcpu.0.time=5120000000
vcpu.0.wait=7
net.count=1
net.0.name=tiny0
net.0.rx.bytes=790
net.0.rx.pkts=9
net.0.rx.errs=0
net.0.rx.drop=1
net.0.tx.bytes=720
net.0.tx.pkts=8
net.0.tx.errs=2
net.0.tx.drop=0
block.count=1
block.0.name=vda
block.0.path=/tmp/peers/guest/disk.img
block.0.rd.reqs=70
block.0.rd.bytes=8663552
block.0.rd.times=9361508
block.0.wr.reqs=4
block.0.wr.bytes=2097152
block.0.wr.times=1555067
block.0.allocation=9437184
block.0.capacity=16777216
block.0.physical=1052672";

fn params(text: &str) -> Vec<(String, Value)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            let v = v
                .parse::<f64>()
                .map(Value::Num)
                .unwrap_or_else(|_| Value::Str(v.to_string()));
            (k.to_string(), v)
        })
        .collect()
}

fn value(fams: &[Family], name: &str, extra: Option<(&str, &str)>) -> Option<f64> {
    let f = fams.iter().find(|f| f.name == name)?;
    f.series
        .iter()
        .find(|s| extra.is_none_or(|(k, v)| s.labels.iter().any(|(n, x)| n == k && x == v)))
        .map(|s| s.value)
}

fn emit(text: &str, active: bool) -> Vec<Family> {
    let stats = DomStats::parse(&params(text));
    let mut fams: Vec<Family> = METERS
        .iter()
        .map(|m| Family::new(m.prometheus, m.help, Kind::Gauge))
        .collect();
    let labels = vec![label("instance_id", "u-1"), label("host", "h")];
    stats.emit(&MeterIndex::new(), &labels, active, &mut fams);
    fams
}

#[test]
fn bulk_record_becomes_ceilometer_meters_in_base_units() {
    let stats = DomStats::parse(&params(TINY));
    assert!(!stats.lacks_groups());
    let f = emit(TINY, true);
    assert_eq!(value(&f, "instance_power_state", None), Some(1.0));
    // Ceilometer's cpu: vcpu time + wait, every vCPU reported.
    assert_eq!(
        value(&f, "instance_cpu_seconds_total", None),
        Some(5.120000007)
    );
    assert_eq!(value(&f, "instance_vcpus", None), Some(1.0));
    assert_eq!(
        value(&f, "instance_memory_bytes", None),
        Some(131072.0 * 1024.0)
    );
    // memory.usage = available - usable
    assert_eq!(
        value(&f, "instance_memory_usage_bytes", None),
        Some((82028.0 - 59136.0) * 1024.0)
    );
    assert_eq!(
        value(&f, "instance_memory_resident_bytes", None),
        Some(223788.0 * 1024.0)
    );
    assert_eq!(
        value(&f, "instance_memory_swap_out_bytes_total", None),
        Some(8.0 * 1024.0)
    );
    let vda = Some(("device", "vda"));
    assert_eq!(
        value(&f, "instance_disk_read_bytes_total", vda),
        Some(8663552.0)
    );
    assert_eq!(
        value(&f, "instance_disk_writes_completed_total", vda),
        Some(4.0)
    );
    assert_eq!(
        value(&f, "instance_disk_read_time_seconds_total", vda),
        Some(0.009361508)
    );
    assert_eq!(
        value(&f, "instance_disk_capacity_bytes", vda),
        Some(16777216.0)
    );
    assert_eq!(value(&f, "instance_disk_usage_bytes", vda), Some(1052672.0));
    let tap = Some(("interface", "tiny0"));
    assert_eq!(
        value(&f, "instance_network_receive_bytes_total", tap),
        Some(790.0)
    );
    assert_eq!(
        value(&f, "instance_network_transmit_packets_total", tap),
        Some(8.0)
    );
    assert_eq!(
        value(&f, "instance_network_receive_drop_total", tap),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "instance_network_transmit_errs_total", tap),
        Some(2.0)
    );
    // Every series carries the guest's labels.
    for fam in f.iter().filter(|f| !f.series.is_empty()) {
        for s in &fam.series {
            assert!(
                s.labels.contains(&label("instance_id", "u-1")),
                "{}",
                fam.name
            );
        }
    }
}

#[test]
fn cpu_falls_back_to_cpu_time_when_vcpu_wait_is_missing() {
    let text = "state.state=1\ncpu.time=3000000000\nvcpu.current=2\nvcpu.0.time=1000000000\nvcpu.1.time=1000000000";
    let f = emit(text, true);
    assert_eq!(value(&f, "instance_cpu_seconds_total", None), Some(3.0));
    // memory.usage from unused when usable is absent
    let text = "state.state=1\nballoon.available=1000\nballoon.unused=400";
    let f = emit(text, true);
    assert_eq!(
        value(&f, "instance_memory_usage_bytes", None),
        Some(600.0 * 1024.0)
    );
}

#[test]
fn stopped_guest_reports_only_its_power_state() {
    let f = emit("state.state=5\nstate.reason=1", false);
    let non_empty: Vec<_> = f
        .iter()
        .filter(|f| !f.series.is_empty())
        .map(|f| f.name.as_ref())
        .collect();
    assert_eq!(non_empty, vec!["instance_power_state"]);
    assert_eq!(value(&f, "instance_power_state", None), Some(5.0));
}

const NOVA_DOMAIN: &str = r#"<domain type='test'>
  <name>inst-0001</name>
  <uuid>6c4b0a1e-0000-4000-8000-000000000001</uuid>
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:name>vm1</nova:name>
      <nova:flavor name="m1.tiny"><nova:memory>512</nova:memory><nova:vcpus>1</nova:vcpus></nova:flavor>
      <nova:owner><nova:user uuid="u-1">admin</nova:user><nova:project uuid="p-1">demo</nova:project></nova:owner>
    </nova:instance>
  </metadata>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/test/inst-0001.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <mac address='52:54:00:aa:bb:01'/>
      <target dev='tap0001'/>
    </interface>
  </devices>
</domain>"#;

fn poll(p: &mut LibvirtPollster) -> Vec<Family> {
    let mut out = Vec::new();
    p.poll(&mut out).expect("poll");
    out
}

fn wait_woken(n: &Notify) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), n.notified())
            .await
            .expect("no libvirt event within 10 s");
    });
}

/// The whole path against libvirt's in-process test driver: bulk stats
/// (state only there), the per-call fallback, Nova attribution and
/// lifecycle events. One test, because every connection to
/// `test:///default` in a process shares one state.
#[test]
fn test_driver_end_to_end() {
    let mut p = LibvirtPollster::new(LibvirtOptions {
        uri: "test:///default".into(),
        host: "hv-1".into(),
    });
    let f = poll(&mut p);
    // The driver's predefined guest "test", through the fallback path.
    let test_uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    let id = Some(("instance_id", test_uuid));
    assert_eq!(value(&f, "instance_power_state", id), Some(1.0));
    assert!(value(&f, "instance_cpu_seconds_total", id).unwrap() > 0.0);
    assert_eq!(value(&f, "instance_vcpus", id), Some(2.0));
    assert_eq!(
        value(&f, "instance_memory_bytes", id),
        Some(2097152.0 * 1024.0)
    );
    assert!(
        value(
            &f,
            "instance_disk_read_bytes_total",
            Some(("device", "vda"))
        )
        .unwrap()
            > 0.0
    );
    assert!(
        value(
            &f,
            "instance_network_receive_bytes_total",
            Some(("interface", "testnet0"))
        )
        .unwrap()
            > 0.0
    );
    let host_ok = f
        .iter()
        .flat_map(|f| &f.series)
        .all(|s| s.labels.contains(&label("host", "hv-1")));
    assert!(host_ok, "every guest series carries host");

    // Counters grow between polls (the driver derives them from the clock).
    std::thread::sleep(Duration::from_millis(20));
    let f2 = poll(&mut p);
    assert!(
        value(&f2, "instance_cpu_seconds_total", id) > value(&f, "instance_cpu_seconds_total", id)
    );

    // A Nova guest defined and started elsewhere wakes the pollster.
    let admin = Connect::open(Some("test:///default")).unwrap();
    let wake = p.wakeup();
    let dom = admin.define_domain_xml(NOVA_DOMAIN).unwrap();
    dom.create().unwrap();
    wait_woken(&wake);
    assert!(p.events_received() >= 1);
    let f = poll(&mut p);
    let nova = Some(("instance_id", "6c4b0a1e-0000-4000-8000-000000000001"));
    assert_eq!(value(&f, "instance_power_state", nova), Some(1.0));
    let fam = f
        .iter()
        .find(|f| f.name == "instance_cpu_seconds_total")
        .unwrap();
    let s = fam
        .series
        .iter()
        .find(|s| s.labels.contains(&label("domain", "inst-0001")))
        .expect("the new guest's cpu series");
    for (k, v) in [
        ("project_id", "p-1"),
        ("user_id", "u-1"),
        ("flavor", "m1.tiny"),
        ("display_name", "vm1"),
        ("instance_id", "6c4b0a1e-0000-4000-8000-000000000001"),
    ] {
        assert!(s.labels.contains(&label(k, v)), "{k}={v} in {:?}", s.labels);
    }
    assert!(
        value(
            &f,
            "instance_disk_read_bytes_total",
            Some(("device", "vda"))
        )
        .is_some()
    );
    assert!(
        value(
            &f,
            "instance_network_transmit_bytes_total",
            Some(("interface", "tap0001"))
        )
        .is_some()
    );

    // Destroyed: an event, then only power.state (5 = shut off) is left.
    dom.destroy().unwrap();
    wait_woken(&wake);
    let f = poll(&mut p);
    assert_eq!(value(&f, "instance_power_state", nova), Some(5.0));
    let cpu_of_stopped = f
        .iter()
        .find(|f| f.name == "instance_cpu_seconds_total")
        .map(|f| {
            f.series
                .iter()
                .any(|s| s.labels.contains(&label("domain", "inst-0001")))
        });
    assert_eq!(cpu_of_stopped, Some(false));
    dom.undefine().unwrap();
    let f = poll(&mut p);
    assert_eq!(value(&f, "instance_power_state", nova), None);
}
