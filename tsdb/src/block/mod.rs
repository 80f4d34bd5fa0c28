//! Persisted blocks: immutable Parquet files holding the samples of a time
//! window, in the object store under `blocks/<id>/`:
//!
//! - `data.parquet` — one row per sample, sorted by series (in label order)
//!   then time: `series_id`, `timestamp`, and the value as an exact decimal
//!   (`mantissa`, `scale`: value = mantissa / 10^scale, or raw `f64` bits when
//!   `scale` is −1);
//! - `series.parquet` — one row per series: id, metric name, labels (JSON),
//!   and the row range and time range of its samples in `data.parquet`;
//! - `meta.json` — [`BlockMeta`], written last.
//!
//! Byte-level details and the encodings chosen (with measurements) are in
//! `docs/format/blocks.md`.

pub mod meta;
mod pages;
mod read;
mod store;
mod write;

pub use meta::BlockMeta;
pub use read::{Block, SeriesRange};
pub use store::BlockStore;
pub use write::BlockWriter;

/// Block errors.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// Object store trouble.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// Parquet encoding or decoding trouble.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow trouble.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Local filesystem trouble.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A block that is not what this build can read.
    #[error("block {id}: {message}")]
    Invalid {
        /// Block id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// Maps an I/O error on `path` to a [`BlockError`] naming the path.
fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BlockError + '_ {
    move |source| BlockError::Io {
        path: path.display().to_string(),
        source,
    }
}
