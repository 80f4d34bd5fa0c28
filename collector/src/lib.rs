//! The per-host collector agent (`altimeter agent`).
//!
//! - [`family`]: what pollsters produce, and the [`family::Pollster`] trait.
//! - [`libvirt`]: guests through libvirt (the Ceilometer meters).
//! - [`host`]: /proc and filesystems, under node-exporter's names.
//! - [`cgroup`]: cgroup v2 and v1 hierarchies.
//! - [`agent`]: runs the pollsters and shippers.
//! - [`exposition`]: `/metrics` of the latest polls.
//! - [`remote_write`]: polls as remote-write requests, with staleness markers.
//! - [`ship`]: destinations and the sender task of each.
//! - [`spool`]: the bounded on-disk queue in front of each remote-write destination.

pub mod agent;
pub mod cgroup;
pub mod exposition;
pub mod family;
pub mod host;
pub mod libvirt;
pub mod remote_write;
pub mod ship;
pub mod spool;
