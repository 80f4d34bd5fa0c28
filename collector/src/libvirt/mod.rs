//! The libvirt pollster: every guest's Ceilometer meters (see
//! `altimeter_model::meters`), attributed with its UUID, host and — from
//! Nova's metadata — project, user, flavor and display name.
//!
//! One poll is one `virConnectGetAllDomainStats` call for all domains
//! (state, cpu, balloon, vcpu, interface, block groups, without ENFORCE so
//! a driver simply omits what it lacks). For an active domain whose record
//! misses a group — the in-process `test:///` driver returns only `state` —
//! the pollster falls back to the per-call APIs (`virDomainGetInfo`,
//! `virDomainMemoryStats`, `virDomainBlockStats`, `virDomainInterfaceStats`)
//! for the devices named in the domain XML, as Ceilometer does.
//!
//! Domain lifecycle and metadata-change events arrive on libvirt's event
//! thread ([`events`]) and wake the agent, which polls libvirt at once: a
//! guest that starts or stops shows in `/metrics` and in the shipped data
//! without waiting for the interval.

mod events;
mod ffi;
pub mod xml;

use std::collections::HashMap;
use std::os::raw::c_int;
use std::sync::Arc;

use altimeter_model::meters::{self, METERS};
use anyhow::Context;
use tokio::sync::Notify;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use crate::family::{Family, Kind, LabelPair, Pollster, label};
use events::EventSink;
use ffi::{StatsRecord, Value};
use xml::{Devices, NOVA_NAMESPACES, NovaInstance};

/// Stats groups requested in one bulk call.
const GROUPS: u32 = sys::VIR_DOMAIN_STATS_STATE
    | sys::VIR_DOMAIN_STATS_CPU_TOTAL
    | sys::VIR_DOMAIN_STATS_BALLOON
    | sys::VIR_DOMAIN_STATS_VCPU
    | sys::VIR_DOMAIN_STATS_INTERFACE
    | sys::VIR_DOMAIN_STATS_BLOCK;

/// Running domain states (libvirt `virDomainState`): running, blocked, paused.
fn is_active_state(s: f64) -> bool {
    (1.0..=3.0).contains(&s)
}

/// Re-read each domain's metadata at least this often (in polls), in case
/// a metadata-change event was missed while reconnecting.
const REFRESH_POLLS: u64 = 60;

/// Settings of the libvirt pollster.
#[derive(Debug, Clone)]
pub struct LibvirtOptions {
    /// Connection URI, e.g. `qemu:///system` or `test:///default`.
    pub uri: String,
    /// The `host` label on every guest series.
    pub host: String,
}

/// What the agent caches per domain between polls.
#[derive(Debug)]
struct DomainInfo {
    /// libvirt domain id (changes when the guest restarts).
    id: Option<u32>,
    /// Labels every series of this guest carries, sorted by name.
    labels: Vec<LabelPair>,
    /// Devices from the XML, read only when a stats group is missing.
    devices: Option<Devices>,
    /// Poll number of the last refresh.
    refreshed: u64,
}

/// The libvirt pollster.
pub struct LibvirtPollster {
    opts: LibvirtOptions,
    conn: Option<Connection>,
    sink: Arc<EventSink>,
    notify: Arc<Notify>,
    domains: HashMap<String, DomainInfo>,
    polls: u64,
    ix: MeterIndex,
}

impl std::fmt::Debug for LibvirtPollster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibvirtPollster")
            .field("uri", &self.opts.uri)
            .field("connected", &self.conn.is_some())
            .field("domains", &self.domains.len())
            .finish()
    }
}

/// An open connection with its event registrations.
struct Connection {
    conn: Connect,
    callbacks: Vec<c_int>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        ffi::deregister_events(&self.conn, &self.callbacks);
    }
}

impl LibvirtPollster {
    /// A pollster for `opts.uri`; connects on the first poll, so an agent
    /// can start before libvirtd does.
    pub fn new(opts: LibvirtOptions) -> Self {
        Self::with_wakeup(opts, Arc::new(Notify::new()))
    }

    /// A pollster whose domain events wake `notify`.
    pub fn with_wakeup(opts: LibvirtOptions, notify: Arc<Notify>) -> Self {
        LibvirtPollster {
            opts,
            conn: None,
            sink: Arc::new(EventSink::new(notify.clone())),
            notify,
            domains: HashMap::new(),
            polls: 0,
            ix: MeterIndex::new(),
        }
    }

    /// Woken by every domain event; the agent polls this pollster then.
    pub fn wakeup(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Domain events received so far.
    pub fn events_received(&self) -> u64 {
        self.sink.events()
    }

    fn connect(&mut self) -> anyhow::Result<&Connect> {
        if let Some(c) = &self.conn
            && !c.conn.is_alive().unwrap_or(false)
        {
            tracing::warn!(uri = %self.opts.uri, "libvirt connection lost; reconnecting");
            self.conn = None;
        }
        if self.conn.is_none() {
            events::ensure_loop().map_err(anyhow::Error::msg)?;
            let conn = Connect::open_read_only(Some(&self.opts.uri)).with_context(|| {
                format!(
                    "connecting to libvirt at {} (is libvirtd running? set --libvirt-uri)",
                    self.opts.uri
                )
            })?;
            // Detects a dead daemon between polls; drivers without
            // keepalive (test:///) refuse it, which is harmless.
            let _ = conn.set_keep_alive(5, 3);
            let callbacks = match ffi::register_events(&conn, &self.sink) {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(uri = %self.opts.uri, error = %e,
                        "libvirt domain events unavailable; guests are seen at the next poll");
                    Vec::new()
                }
            };
            tracing::info!(uri = %self.opts.uri, "connected to libvirt");
            // Everything cached came from the old connection.
            self.domains.clear();
            self.conn = Some(Connection { conn, callbacks });
        }
        Ok(&self.conn.as_ref().expect("connected above").conn)
    }

    fn refresh(&mut self, rec: &StatsRecord) {
        let id = rec.domain.id();
        let stale = match self.domains.get(&rec.uuid) {
            None => true,
            Some(d) => d.id != id || self.polls.saturating_sub(d.refreshed) >= REFRESH_POLLS,
        };
        if !stale {
            return;
        }
        let nova = read_nova(&rec.domain);
        let mut labels = vec![
            label(meters::INSTANCE_ID, rec.uuid.clone()),
            label("host", self.opts.host.clone()),
            label("domain", rec.name.clone()),
        ];
        if let Some(n) = nova {
            for (k, v) in [
                ("project_id", n.project_id),
                ("user_id", n.user_id),
                ("flavor", n.flavor),
                ("display_name", n.display_name),
            ] {
                if let Some(v) = v {
                    labels.push(label(k, v));
                }
            }
        }
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        self.domains.insert(
            rec.uuid.clone(),
            DomainInfo {
                id,
                labels,
                devices: None,
                refreshed: self.polls,
            },
        );
    }
}

/// Reads Nova's metadata block, if the domain has one.
fn read_nova(dom: &Domain) -> Option<NovaInstance> {
    for ns in NOVA_NAMESPACES {
        if let Ok(x) = dom.metadata(sys::VIR_DOMAIN_METADATA_ELEMENT as i32, Some(ns), 0) {
            match xml::parse_nova(&x) {
                Ok(n) => return Some(n),
                Err(e) => {
                    tracing::warn!(error = %e, "unparsable Nova metadata; guest not attributed")
                }
            }
        }
    }
    None
}

impl Pollster for LibvirtPollster {
    fn name(&self) -> &'static str {
        "libvirt"
    }

    fn poll(&mut self, out: &mut Vec<Family>) -> anyhow::Result<()> {
        self.polls += 1;
        let conn = self.connect()?;
        let records = match ffi::all_domain_stats(conn, GROUPS, 0) {
            Ok(r) => r,
            Err(e) => {
                // A broken connection is re-opened on the next poll.
                self.conn = None;
                return Err(anyhow::anyhow!(
                    "libvirt bulk stats from {}: {e}",
                    self.opts.uri
                ));
            }
        };
        for uuid in self.sink.take_dirty() {
            self.domains.remove(&uuid);
        }
        let mut fams: Vec<Family> = METERS
            .iter()
            .map(|m| {
                let kind = match m.kind {
                    meters::MeterKind::Gauge => Kind::Gauge,
                    meters::MeterKind::Cumulative => Kind::Counter,
                };
                Family::new(m.prometheus, m.help, kind)
            })
            .collect();
        let mut seen = Vec::with_capacity(records.len());
        for rec in &records {
            if rec.uuid.is_empty() {
                continue;
            }
            self.refresh(rec);
            seen.push(rec.uuid.as_str());
            let mut stats = DomStats::parse(&rec.params);
            let active = stats.state.is_some_and(is_active_state);
            if active && stats.lacks_groups() {
                let info = self.domains.get_mut(&rec.uuid).expect("refreshed above");
                if let Err(e) = stats.fill_from_calls(&rec.domain, &mut info.devices) {
                    // The guest stopped between the calls: report its state only.
                    tracing::debug!(domain = %rec.name, error = %e, "per-call stats failed");
                }
            }
            let info = &self.domains[&rec.uuid];
            stats.emit(&self.ix, &info.labels, active, &mut fams);
        }
        self.domains.retain(|uuid, _| seen.contains(&uuid.as_str()));
        out.extend(fams.into_iter().filter(|f| !f.series.is_empty()));
        Ok(())
    }
}

/// Positions of the meters in [`METERS`], resolved once.
#[derive(Debug)]
struct MeterIndex {
    power: usize,
    cpu: usize,
    vcpus: usize,
    memory: usize,
    mem_available: usize,
    mem_usage: usize,
    mem_resident: usize,
    swap_in: usize,
    swap_out: usize,
    disk: [usize; 9],
    net: [usize; 8],
}

fn pos(name: &str) -> usize {
    METERS
        .iter()
        .position(|m| m.ceilometer == name)
        .unwrap_or_else(|| panic!("meter {name} missing from the catalogue"))
}

impl MeterIndex {
    fn new() -> Self {
        MeterIndex {
            power: pos("power.state"),
            cpu: pos("cpu"),
            vcpus: pos("vcpus"),
            memory: pos("memory"),
            mem_available: pos("memory.available"),
            mem_usage: pos("memory.usage"),
            mem_resident: pos("memory.resident"),
            swap_in: pos("memory.swap.in"),
            swap_out: pos("memory.swap.out"),
            disk: [
                pos("disk.device.read.bytes"),
                pos("disk.device.write.bytes"),
                pos("disk.device.read.requests"),
                pos("disk.device.write.requests"),
                pos("disk.device.read.latency"),
                pos("disk.device.write.latency"),
                pos("disk.device.capacity"),
                pos("disk.device.allocation"),
                pos("disk.device.usage"),
            ],
            net: [
                pos("network.incoming.bytes"),
                pos("network.outgoing.bytes"),
                pos("network.incoming.packets"),
                pos("network.outgoing.packets"),
                pos("network.incoming.packets.drop"),
                pos("network.outgoing.packets.drop"),
                pos("network.incoming.packets.error"),
                pos("network.outgoing.packets.error"),
            ],
        }
    }
}

/// One domain's numbers, from the bulk record and, where it lacks a group,
/// the per-call APIs. Units as libvirt gives them (ns, KiB, bytes).
#[derive(Debug, Default, PartialEq)]
struct DomStats {
    state: Option<f64>,
    cpu_time_ns: Option<f64>,
    vcpu_current: Option<f64>,
    vcpu_time_ns: f64,
    vcpu_wait_ns: f64,
    vcpu_times: u32,
    vcpu_waits: u32,
    /// Balloon values in KiB: current, available, usable, unused, rss, swap_in, swap_out.
    balloon: Balloon,
    has_balloon: bool,
    nets: Option<Vec<Nic>>,
    disks: Option<Vec<Disk>>,
}

#[derive(Debug, Default, PartialEq)]
struct Balloon {
    current: Option<f64>,
    available: Option<f64>,
    usable: Option<f64>,
    unused: Option<f64>,
    rss: Option<f64>,
    swap_in: Option<f64>,
    swap_out: Option<f64>,
}

/// Interface counters: rx/tx × bytes, packets, drops, errors.
#[derive(Debug, Default, PartialEq)]
struct Nic {
    name: String,
    /// bytes in, bytes out, packets in, packets out, drop in, drop out, errs in, errs out.
    v: [Option<f64>; 8],
}

/// Disk counters in meter order: read/write bytes, read/write requests,
/// read/write times (ns), capacity, allocation, physical.
#[derive(Debug, Default, PartialEq)]
struct Disk {
    name: String,
    v: [Option<f64>; 9],
}

fn slot<T: Default>(v: &mut Vec<T>, i: usize) -> &mut T {
    if v.len() <= i {
        v.resize_with(i + 1, T::default);
    }
    &mut v[i]
}

impl DomStats {
    fn parse(params: &[(String, Value)]) -> Self {
        let mut s = DomStats::default();
        for (k, v) in params {
            let mut parts = k.split('.');
            let group = parts.next().unwrap_or("");
            match (group, v) {
                ("state", Value::Num(n)) if k == "state.state" => s.state = Some(*n),
                ("cpu", Value::Num(n)) if k == "cpu.time" => s.cpu_time_ns = Some(*n),
                ("vcpu", Value::Num(n)) => match (parts.next(), parts.next()) {
                    (Some("current"), None) => s.vcpu_current = Some(*n),
                    (Some(_), Some("time")) => {
                        s.vcpu_time_ns += n;
                        s.vcpu_times += 1;
                    }
                    (Some(_), Some("wait")) => {
                        s.vcpu_wait_ns += n;
                        s.vcpu_waits += 1;
                    }
                    _ => {}
                },
                ("balloon", Value::Num(n)) => {
                    s.has_balloon = true;
                    let b = &mut s.balloon;
                    let f = match parts.next() {
                        Some("current") => &mut b.current,
                        Some("available") => &mut b.available,
                        Some("usable") => &mut b.usable,
                        Some("unused") => &mut b.unused,
                        Some("rss") => &mut b.rss,
                        Some("swap_in") => &mut b.swap_in,
                        Some("swap_out") => &mut b.swap_out,
                        _ => continue,
                    };
                    *f = Some(*n);
                }
                ("net", _) => {
                    let nets = s.nets.get_or_insert_with(Vec::new);
                    let Some(i) = parts.next().and_then(|i| i.parse::<usize>().ok()) else {
                        continue; // net.count
                    };
                    let nic = slot(nets, i);
                    let rest: (Option<&str>, Option<&str>) = (parts.next(), parts.next());
                    match (rest, v) {
                        ((Some("name"), None), Value::Str(name)) => nic.name = name.clone(),
                        ((Some(dir), Some(what)), Value::Num(n)) => {
                            let base = match what {
                                "bytes" => 0,
                                "pkts" => 2,
                                "drop" => 4,
                                "errs" => 6,
                                _ => continue,
                            };
                            let off = match dir {
                                "rx" => 0,
                                "tx" => 1,
                                _ => continue,
                            };
                            nic.v[base + off] = Some(*n);
                        }
                        _ => {}
                    }
                }
                ("block", _) => {
                    let disks = s.disks.get_or_insert_with(Vec::new);
                    let Some(i) = parts.next().and_then(|i| i.parse::<usize>().ok()) else {
                        continue; // block.count
                    };
                    let d = slot(disks, i);
                    let rest: (Option<&str>, Option<&str>) = (parts.next(), parts.next());
                    match (rest, v) {
                        ((Some("name"), None), Value::Str(name)) => d.name = name.clone(),
                        ((Some(a), b), Value::Num(n)) => {
                            let j = match (a, b) {
                                ("rd", Some("bytes")) => 0,
                                ("wr", Some("bytes")) => 1,
                                ("rd", Some("reqs")) => 2,
                                ("wr", Some("reqs")) => 3,
                                ("rd", Some("times")) => 4,
                                ("wr", Some("times")) => 5,
                                ("capacity", None) => 6,
                                ("allocation", None) => 7,
                                ("physical", None) => 8,
                                _ => continue,
                            };
                            d.v[j] = Some(*n);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// Whether a group an active domain should have is missing.
    fn lacks_groups(&self) -> bool {
        self.cpu_time_ns.is_none()
            || self.vcpu_current.is_none()
            || !self.has_balloon
            || self.nets.is_none()
            || self.disks.is_none()
    }

    /// Fills missing groups from the per-call APIs.
    fn fill_from_calls(
        &mut self,
        dom: &Domain,
        devices: &mut Option<Devices>,
    ) -> Result<(), virt::error::Error> {
        if self.cpu_time_ns.is_none() || self.vcpu_current.is_none() || !self.has_balloon {
            let info = dom.info()?;
            self.cpu_time_ns.get_or_insert(info.cpu_time as f64);
            self.vcpu_current.get_or_insert(f64::from(info.nr_virt_cpu));
            if !self.has_balloon {
                self.has_balloon = true;
                let b = &mut self.balloon;
                b.current = Some(info.memory as f64);
                for m in dom.memory_stats(0)? {
                    let v = Some(m.val as f64);
                    match m.tag {
                        sys::VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON => b.current = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_AVAILABLE => b.available = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_USABLE => b.usable = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_UNUSED => b.unused = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_RSS => b.rss = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_SWAP_IN => b.swap_in = v,
                        sys::VIR_DOMAIN_MEMORY_STAT_SWAP_OUT => b.swap_out = v,
                        _ => {}
                    }
                }
            }
        }
        if self.nets.is_none() || self.disks.is_none() {
            if devices.is_none() {
                let x = dom.xml_desc(0)?;
                *devices = Some(xml::parse_devices(&x).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "unparsable domain XML");
                    Devices::default()
                }));
            }
            let devs = devices.as_ref().expect("filled above");
            if self.disks.is_none() {
                let mut disks = Vec::new();
                for name in &devs.disks {
                    let b = dom.block_stats(name)?;
                    let n = |x: i64| (x >= 0).then_some(x as f64);
                    let mut v = [None; 9];
                    v[0] = n(b.rd_bytes);
                    v[1] = n(b.wr_bytes);
                    v[2] = n(b.rd_req);
                    v[3] = n(b.wr_req);
                    disks.push(Disk {
                        name: name.clone(),
                        v,
                    });
                }
                self.disks = Some(disks);
            }
            if self.nets.is_none() {
                let mut nets = Vec::new();
                for name in &devs.interfaces {
                    let s = dom.interface_stats(name)?;
                    let n = |x: i64| (x >= 0).then_some(x as f64);
                    nets.push(Nic {
                        name: name.clone(),
                        v: [
                            n(s.rx_bytes),
                            n(s.tx_bytes),
                            n(s.rx_packets),
                            n(s.tx_packets),
                            n(s.rx_drop),
                            n(s.tx_drop),
                            n(s.rx_errs),
                            n(s.tx_errs),
                        ],
                    });
                }
                self.nets = Some(nets);
            }
        }
        Ok(())
    }

    /// Ceilometer's `cpu`: the vCPUs' time (+ wait) when libvirt reports
    /// it for every vCPU, else the domain's total CPU time.
    fn cpu_ns(&self) -> Option<f64> {
        let n = self.vcpu_current.unwrap_or(0.0);
        if n > 0.0 && f64::from(self.vcpu_times) == n && f64::from(self.vcpu_waits) == n {
            Some(self.vcpu_time_ns + self.vcpu_wait_ns)
        } else {
            self.cpu_time_ns
        }
    }

    fn emit(&self, ix: &MeterIndex, labels: &[LabelPair], active: bool, fams: &mut [Family]) {
        const KIB: f64 = 1024.0;
        let mut put = |i: usize, extra: Option<LabelPair>, v: Option<f64>| {
            if let Some(v) = v {
                let mut l = labels.to_vec();
                if let Some(e) = extra {
                    l.push(e);
                }
                fams[i].push(l, v);
            }
        };
        put(ix.power, None, self.state);
        if !active {
            return;
        }
        put(ix.cpu, None, self.cpu_ns().map(|ns| ns / 1e9));
        put(ix.vcpus, None, self.vcpu_current);
        let b = &self.balloon;
        put(ix.memory, None, b.current.map(|k| k * KIB));
        put(ix.mem_available, None, b.available.map(|k| k * KIB));
        let used = b
            .available
            .and_then(|a| b.usable.or(b.unused).map(|u| (a - u) * KIB));
        put(ix.mem_usage, None, used);
        put(ix.mem_resident, None, b.rss.map(|k| k * KIB));
        put(ix.swap_in, None, b.swap_in.map(|k| k * KIB));
        put(ix.swap_out, None, b.swap_out.map(|k| k * KIB));
        for d in self.disks.iter().flatten().filter(|d| !d.name.is_empty()) {
            for (j, &i) in ix.disk.iter().enumerate() {
                // read/write times are nanoseconds
                let v = if j == 4 || j == 5 {
                    d.v[j].map(|ns| ns / 1e9)
                } else {
                    d.v[j]
                };
                put(i, Some(label("device", d.name.clone())), v);
            }
        }
        for n in self.nets.iter().flatten().filter(|n| !n.name.is_empty()) {
            for (j, &i) in ix.net.iter().enumerate() {
                put(i, Some(label("interface", n.name.clone())), n.v[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests;
