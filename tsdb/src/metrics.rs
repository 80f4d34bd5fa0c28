//! The TSDB's own metrics, registered on a registry the caller owns.
//!
//! Names follow Prometheus conventions (base units, `_total` on counters);
//! `promtool check metrics` passes on the exposition.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// Label set `[(name, value)]` with static strings.
pub type StaticLabels = Vec<(&'static str, &'static str)>;

/// Every TSDB metric.
#[derive(Debug)]
pub struct TsdbMetrics {
    /// Samples stored, by protocol.
    pub ingest_samples: Family<StaticLabels, Counter>,
    /// Requests refused, by protocol and reason.
    pub ingest_rejected: Family<StaticLabels, Counter>,
    /// New series created.
    pub series_created: Counter,
    /// Samples that arrived older than their series' newest sample.
    pub out_of_order_samples: Counter,
    /// WAL fsync latency.
    pub wal_fsync_seconds: Histogram,
    /// Bytes written to the WAL.
    pub wal_bytes_written: Counter,
    /// WAL segments created.
    pub wal_segments_created: Counter,
    /// Bytes dropped from torn or corrupt WAL tails on replay.
    pub wal_truncated_bytes: Counter,
    /// Series known to the index.
    pub series: Gauge,
    /// Samples in the head (not yet in blocks).
    pub head_samples: Gauge,
    /// Persisted blocks.
    pub blocks: Gauge,
    /// Bytes of persisted blocks.
    pub block_bytes: Gauge,
    /// Head flush duration.
    pub flush_seconds: Histogram,
    /// Head flushes that failed.
    pub flush_failures: Counter,
    /// Compaction duration.
    pub compaction_seconds: Histogram,
    /// Compactions that failed.
    pub compaction_failures: Counter,
    /// Blocks deleted by retention.
    pub retention_deleted_blocks: Counter,
}

impl TsdbMetrics {
    /// Creates the metrics and registers them on `reg`.
    pub fn new(reg: &mut Registry) -> Self {
        let m = Self {
            ingest_samples: Family::default(),
            ingest_rejected: Family::default(),
            series_created: Counter::default(),
            out_of_order_samples: Counter::default(),
            wal_fsync_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            wal_bytes_written: Counter::default(),
            wal_segments_created: Counter::default(),
            wal_truncated_bytes: Counter::default(),
            series: Gauge::default(),
            head_samples: Gauge::default(),
            blocks: Gauge::default(),
            block_bytes: Gauge::default(),
            flush_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            flush_failures: Counter::default(),
            compaction_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            compaction_failures: Counter::default(),
            retention_deleted_blocks: Counter::default(),
        };
        let r = reg.sub_registry_with_prefix("altimeter");
        r.register(
            "ingest_samples",
            "Samples stored, by ingest protocol",
            m.ingest_samples.clone(),
        );
        r.register(
            "ingest_requests_rejected",
            "Ingest requests refused as a whole (nothing stored), by protocol and reason",
            m.ingest_rejected.clone(),
        );
        r.register("series_created", "Series created", m.series_created.clone());
        r.register(
            "ingest_out_of_order_samples",
            "Samples accepted that were older than their series' newest sample",
            m.out_of_order_samples.clone(),
        );
        r.register_with_unit(
            "wal_fsync_duration",
            "Time to fsync the write-ahead log (one fsync serves many requests)",
            Unit::Seconds,
            m.wal_fsync_seconds.clone(),
        );
        r.register_with_unit(
            "wal_written",
            "Bytes written to the write-ahead log",
            Unit::Bytes,
            m.wal_bytes_written.clone(),
        );
        r.register(
            "wal_segments_created",
            "Write-ahead log segments created",
            m.wal_segments_created.clone(),
        );
        r.register_with_unit(
            "wal_truncated",
            "Bytes cut from torn or corrupt write-ahead log tails during replay",
            Unit::Bytes,
            m.wal_truncated_bytes.clone(),
        );
        r.register(
            "series",
            "Series known to the index (head and blocks)",
            m.series.clone(),
        );
        r.register(
            "head_samples",
            "Samples held in memory, not yet persisted in blocks",
            m.head_samples.clone(),
        );
        r.register("blocks", "Persisted Parquet blocks", m.blocks.clone());
        r.register_with_unit(
            "blocks_size",
            "Bytes of persisted Parquet blocks",
            Unit::Bytes,
            m.block_bytes.clone(),
        );
        r.register_with_unit(
            "head_flush_duration",
            "Time to persist the head into blocks",
            Unit::Seconds,
            m.flush_seconds.clone(),
        );
        r.register(
            "head_flush_failures",
            "Head flushes that failed (data stays in the WAL)",
            m.flush_failures.clone(),
        );
        r.register_with_unit(
            "compaction_duration",
            "Time to merge small blocks into larger ones",
            Unit::Seconds,
            m.compaction_seconds.clone(),
        );
        r.register(
            "compaction_failures",
            "Compactions that failed",
            m.compaction_failures.clone(),
        );
        r.register(
            "retention_deleted_blocks",
            "Blocks deleted because all their samples were older than the retention",
            m.retention_deleted_blocks.clone(),
        );
        m
    }
}
