//! The meter catalogue: every guest meter the agent produces, under its
//! Ceilometer name (the Gnocchi/Aodh view) and its Prometheus name (the
//! PromQL view), with its type, units and resource type.
//!
//! Values are stored once, in the Prometheus base unit (seconds, bytes);
//! [`Meter::to_ceilometer`] converts to the unit Ceilometer reports, so the
//! two views of one sample never disagree.

/// How a meter's value evolves, in Ceilometer's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterKind {
    /// A level that can go up and down (Prometheus gauge).
    Gauge,
    /// A running total since the resource started (Prometheus counter).
    Cumulative,
}

impl MeterKind {
    /// Ceilometer's word for the kind.
    pub fn ceilometer(self) -> &'static str {
        match self {
            Gauge => "gauge",
            Cumulative => "cumulative",
        }
    }

    /// Prometheus' metric type.
    pub fn prometheus(self) -> &'static str {
        match self {
            Gauge => "gauge",
            Cumulative => "counter",
        }
    }
}

/// One meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meter {
    /// Ceilometer's meter name, e.g. `disk.device.read.bytes`.
    pub ceilometer: &'static str,
    /// The Prometheus metric name (counters end in `_total`).
    pub prometheus: &'static str,
    /// Gauge or cumulative.
    pub kind: MeterKind,
    /// The stored (Prometheus base) unit: `seconds`, `bytes`, or empty for counts.
    pub unit: &'static str,
    /// The unit Ceilometer reports the meter in.
    pub ceilometer_unit: &'static str,
    /// Multiply a stored value by this to get Ceilometer's unit.
    pub to_ceilometer: f64,
    /// Gnocchi resource type the samples belong to.
    pub resource_type: &'static str,
    /// The label that tells sub-resources apart (`device`, `interface`), if any.
    pub sub_resource: Option<&'static str>,
    /// One-line help text.
    pub help: &'static str,
}

impl Meter {
    /// A stored value in Ceilometer's unit.
    pub fn to_ceilometer_unit(&self, v: f64) -> f64 {
        v * self.to_ceilometer
    }
}

const MIB: f64 = 1.0 / (1024.0 * 1024.0);

#[allow(clippy::too_many_arguments)] // a positional table row reads best in METERS below
const fn m(
    ceilometer: &'static str,
    prometheus: &'static str,
    kind: MeterKind,
    unit: &'static str,
    ceilometer_unit: &'static str,
    to_ceilometer: f64,
    resource_type: &'static str,
    sub_resource: Option<&'static str>,
    help: &'static str,
) -> Meter {
    Meter {
        ceilometer,
        prometheus,
        kind,
        unit,
        ceilometer_unit,
        to_ceilometer,
        resource_type,
        sub_resource,
        help,
    }
}

use MeterKind::{Cumulative, Gauge};

const INSTANCE: &str = "instance";
const DISK: &str = "instance_disk";
const NIC: &str = "instance_network_interface";
const DEV: Option<&str> = Some("device");
const IF: Option<&str> = Some("interface");

/// Label carrying the guest's UUID on every guest series.
pub const INSTANCE_ID: &str = "instance_id";

/// Every guest meter, in the order they are documented.
pub static METERS: &[Meter] = &[
    m(
        "power.state",
        "instance_power_state",
        Gauge,
        "",
        "state",
        1.0,
        INSTANCE,
        None,
        "libvirt domain state: 0 no state, 1 running, 2 blocked, 3 paused, 4 shutting down, 5 shut off, 6 crashed, 7 suspended by guest power management",
    ),
    m(
        "cpu",
        "instance_cpu_seconds_total",
        Cumulative,
        "seconds",
        "ns",
        1e9,
        INSTANCE,
        None,
        "CPU time consumed by the guest's vCPUs (sum of vcpu time + wait when libvirt reports it, else cpu.time)",
    ),
    m(
        "vcpus",
        "instance_vcpus",
        Gauge,
        "",
        "vcpu",
        1.0,
        INSTANCE,
        None,
        "Number of virtual CPUs of the guest",
    ),
    m(
        "memory",
        "instance_memory_bytes",
        Gauge,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Memory given to the guest (current balloon size)",
    ),
    m(
        "memory.available",
        "instance_memory_available_bytes",
        Gauge,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Memory the guest OS sees as total (balloon 'available')",
    ),
    m(
        "memory.usage",
        "instance_memory_usage_bytes",
        Gauge,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Memory used inside the guest: available - usable (or available - unused when the guest does not report usable)",
    ),
    m(
        "memory.resident",
        "instance_memory_resident_bytes",
        Gauge,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Resident set size of the guest's process on the host",
    ),
    m(
        "memory.swap.in",
        "instance_memory_swap_in_bytes_total",
        Cumulative,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Memory the guest swapped in",
    ),
    m(
        "memory.swap.out",
        "instance_memory_swap_out_bytes_total",
        Cumulative,
        "bytes",
        "MB",
        MIB,
        INSTANCE,
        None,
        "Memory the guest swapped out",
    ),
    m(
        "disk.device.read.bytes",
        "instance_disk_read_bytes_total",
        Cumulative,
        "bytes",
        "B",
        1.0,
        DISK,
        DEV,
        "Bytes read from the guest disk",
    ),
    m(
        "disk.device.write.bytes",
        "instance_disk_written_bytes_total",
        Cumulative,
        "bytes",
        "B",
        1.0,
        DISK,
        DEV,
        "Bytes written to the guest disk",
    ),
    m(
        "disk.device.read.requests",
        "instance_disk_reads_completed_total",
        Cumulative,
        "",
        "request",
        1.0,
        DISK,
        DEV,
        "Read requests completed on the guest disk",
    ),
    m(
        "disk.device.write.requests",
        "instance_disk_writes_completed_total",
        Cumulative,
        "",
        "request",
        1.0,
        DISK,
        DEV,
        "Write requests completed on the guest disk",
    ),
    m(
        "disk.device.read.latency",
        "instance_disk_read_time_seconds_total",
        Cumulative,
        "seconds",
        "ns",
        1e9,
        DISK,
        DEV,
        "Total time spent on reads of the guest disk",
    ),
    m(
        "disk.device.write.latency",
        "instance_disk_write_time_seconds_total",
        Cumulative,
        "seconds",
        "ns",
        1e9,
        DISK,
        DEV,
        "Total time spent on writes to the guest disk",
    ),
    m(
        "disk.device.capacity",
        "instance_disk_capacity_bytes",
        Gauge,
        "bytes",
        "B",
        1.0,
        DISK,
        DEV,
        "Capacity of the guest disk as the guest sees it",
    ),
    m(
        "disk.device.allocation",
        "instance_disk_allocation_bytes",
        Gauge,
        "bytes",
        "B",
        1.0,
        DISK,
        DEV,
        "Host storage allocated to the guest disk",
    ),
    m(
        "disk.device.usage",
        "instance_disk_usage_bytes",
        Gauge,
        "bytes",
        "B",
        1.0,
        DISK,
        DEV,
        "Physical size of the guest disk's backing storage on the host",
    ),
    m(
        "network.incoming.bytes",
        "instance_network_receive_bytes_total",
        Cumulative,
        "bytes",
        "B",
        1.0,
        NIC,
        IF,
        "Bytes received by the guest on the vNIC",
    ),
    m(
        "network.outgoing.bytes",
        "instance_network_transmit_bytes_total",
        Cumulative,
        "bytes",
        "B",
        1.0,
        NIC,
        IF,
        "Bytes sent by the guest on the vNIC",
    ),
    m(
        "network.incoming.packets",
        "instance_network_receive_packets_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Packets received by the guest on the vNIC",
    ),
    m(
        "network.outgoing.packets",
        "instance_network_transmit_packets_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Packets sent by the guest on the vNIC",
    ),
    m(
        "network.incoming.packets.drop",
        "instance_network_receive_drop_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Received packets dropped on the vNIC",
    ),
    m(
        "network.outgoing.packets.drop",
        "instance_network_transmit_drop_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Sent packets dropped on the vNIC",
    ),
    m(
        "network.incoming.packets.error",
        "instance_network_receive_errs_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Receive errors on the vNIC",
    ),
    m(
        "network.outgoing.packets.error",
        "instance_network_transmit_errs_total",
        Cumulative,
        "",
        "packet",
        1.0,
        NIC,
        IF,
        "Transmit errors on the vNIC",
    ),
];

/// A meter by its Ceilometer name.
pub fn by_ceilometer(name: &str) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.ceilometer == name)
}

/// A meter by its Prometheus name.
pub fn by_prometheus(name: &str) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.prometheus == name)
}

/// The catalogue as the Markdown table `docs/meters.md` embeds (a test
/// keeps the two equal).
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| Ceilometer meter | Prometheus name | type | Ceilometer unit | resource type | per |\n|---|---|---|---|---|---|\n",
    );
    for m in METERS {
        s.push_str(&format!(
            "| `{}` | `{}` | {} | {} | `{}` | {} |\n",
            m.ceilometer,
            m.prometheus,
            m.kind.ceilometer(),
            m.ceilometer_unit,
            m.resource_type,
            m.sub_resource.map_or("—".to_string(), |l| format!("`{l}`")),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::is_valid_metric_name;

    #[test]
    fn names_are_unique_valid_and_follow_prometheus_conventions() {
        let mut seen = std::collections::HashSet::new();
        for m in METERS {
            assert!(seen.insert(m.ceilometer), "duplicate {}", m.ceilometer);
            assert!(seen.insert(m.prometheus), "duplicate {}", m.prometheus);
            assert!(
                is_valid_metric_name(m.prometheus.as_bytes()),
                "{}",
                m.prometheus
            );
            assert_eq!(
                m.kind == Cumulative,
                m.prometheus.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.prometheus
            );
            if !m.unit.is_empty() {
                let stem = m.prometheus.trim_end_matches("_total");
                assert!(stem.ends_with(m.unit), "{} lacks unit suffix", m.prometheus);
            }
        }
    }

    #[test]
    fn docs_meters_md_has_the_catalogue() {
        let doc = include_str!("../../docs/meters.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/meters.md is out of date; paste markdown_table() into it:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn conversions_to_ceilometer_units() {
        let cpu = by_ceilometer("cpu").unwrap();
        assert_eq!(cpu.to_ceilometer_unit(1.5), 1.5e9);
        let mem = by_ceilometer("memory.usage").unwrap();
        assert_eq!(mem.to_ceilometer_unit(512.0 * 1024.0 * 1024.0), 512.0);
        assert_eq!(
            by_prometheus("instance_disk_read_bytes_total")
                .unwrap()
                .sub_resource,
            Some("device")
        );
    }
}
