//! Altimeter's time-series database.
//!
//! Samples arrive through [`ingest`] (Prometheus remote-write, text import),
//! are made durable in the [`wal`] (group-committed fsync before any
//! acknowledgement), held in the [`head`] where they are queryable at once,
//! and persisted as Parquet [`block`]s that are compacted and expire with the
//! retention. [`db::Tsdb`] ties it together; [`sql`] exposes it to
//! DataFusion; [`promql`] evaluates PromQL and serves the Prometheus HTTP
//! API; [`gnocchi`] serves the same data as Gnocchi metrics and resources;
//! [`http`] is the ingest/admin router.
//!
//! On-disk layout of a data directory (format version 1):
//!
//! ```text
//! wal/00000001 …        WAL segments (docs/format/wal.md)
//! blocks/<id>/meta.json  block metadata, written last (docs/format/blocks.md)
//! blocks/<id>/data.parquet, series.parquet
//! tmp/                   staging for blocks being written; emptied on start
//! catalog.sqlite         Gnocchi catalog: policies, resource types, resources, metrics
//! ```

pub mod block;
pub mod codec;
pub mod db;
pub mod gnocchi;
pub mod head;
pub mod http;
pub mod index;
pub mod ingest;
pub mod metrics;
pub mod promql;
pub mod sql;
pub mod wal;

pub use db::{FlushStats, SeriesData, Tsdb, TsdbError, TsdbOptions};
pub use metrics::TsdbMetrics;

/// CPUs this process may use (affinity and cgroup quota), found once:
/// `available_parallelism` reads cgroup files on every call, too much for
/// the per-query paths that split work by it.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
