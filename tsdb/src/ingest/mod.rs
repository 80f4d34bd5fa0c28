//! Ingest protocols: Prometheus remote-write and text-exposition import.
//! Both are all-or-nothing: a request that fails validation stores nothing.

pub mod remote_write;
pub mod text;

use altimeter_model::{Label, Labels, Sample};

use crate::db::{Tsdb, TsdbError};
use remote_write::BodyLimits;

/// Why a request was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The client sent something invalid: HTTP 400, do not retry.
    #[error("{message}")]
    BadRequest {
        /// Stable reason for metrics.
        reason: &'static str,
        /// Explanation for the client.
        message: String,
    },
    /// The server could not store it: HTTP 5xx, retry later.
    #[error(transparent)]
    Storage(TsdbError),
}

impl IngestError {
    /// The metric reason label.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::BadRequest { reason, .. } => reason,
            IngestError::Storage(_) => "storage",
        }
    }
}

impl From<TsdbError> for IngestError {
    fn from(e: TsdbError) -> Self {
        match e {
            TsdbError::OutOfBounds { .. } => IngestError::BadRequest {
                reason: "out_of_bounds",
                message: e.to_string(),
            },
            other => IngestError::Storage(other),
        }
    }
}

/// Handles one remote-write body (snappy-compressed protobuf). Returns the
/// number of samples stored, durably.
pub async fn remote_write(db: &Tsdb, body: &[u8], limits: BodyLimits) -> Result<u64, IngestError> {
    let raw = remote_write::decompress(body, limits).map_err(|e| IngestError::BadRequest {
        reason: match e {
            remote_write::SnappyError::Corrupt(_) => "bad_snappy",
            remote_write::SnappyError::TooLarge { .. } => "too_large",
        },
        message: e.to_string(),
    })?;
    let batch = remote_write::decode(&raw).map_err(|e| IngestError::BadRequest {
        reason: e.reason(),
        message: e.to_string(),
    })?;
    let entries = batch.entries();
    Ok(db.write(&entries).await?)
}

/// Handles a text-exposition body (timestamps in milliseconds; lines
/// without one get "now"). `extra_labels` are added to every series.
pub async fn import_text(
    db: &Tsdb,
    body: &[u8],
    extra_labels: &[Label],
) -> Result<u64, IngestError> {
    let now = db.clock().now_ms();
    let parsed =
        text::parse_exposition(body, now, extra_labels).map_err(|e| IngestError::BadRequest {
            reason: "bad_text",
            message: e.to_string(),
        })?;
    for p in &parsed {
        p.labels
            .validate_series()
            .map_err(|e| IngestError::BadRequest {
                reason: "invalid_labels",
                message: format!("series {}: {e}", p.labels),
            })?;
    }
    let entries: Vec<(Labels, &[Sample])> = parsed
        .iter()
        .map(|p| (p.labels.clone(), p.samples.as_slice()))
        .collect();
    Ok(db.write(&entries).await?)
}
