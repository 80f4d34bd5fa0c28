//! `meta.json`: what a block holds. Written last, so a block without it is
//! an unfinished write and is removed on start-up.

use serde::{Deserialize, Serialize};

/// Format name in every `meta.json`.
pub const FORMAT: &str = "altimeter-block";
/// Current block format version.
pub const VERSION: u32 = 1;

/// Block metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version; newer versions are refused with a clear error.
    pub version: u32,
    /// Block id, also its directory name.
    pub id: String,
    /// Smallest sample timestamp (ms).
    pub min_t: i64,
    /// Largest sample timestamp (ms).
    pub max_t: i64,
    /// Number of samples.
    pub samples: u64,
    /// Number of series.
    pub series: u64,
    /// Recency: for equal (series, timestamp) the block with the higher
    /// sequence wins ("last write wins").
    pub seq: u64,
    /// 0 for a flushed head, +1 per compaction level.
    pub level: u32,
    /// Blocks this one replaces (compaction); removed if still present.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Bytes of `data.parquet`.
    pub data_bytes: u64,
    /// Bytes of `series.parquet`.
    pub series_bytes: u64,
}
