//! WAL record payloads (see `docs/format/wal.md`).
//!
//! A batch record carries the definitions of series not yet defined in its
//! segment and the samples of one append, so every record is applied whole
//! or not at all.

use altimeter_model::{Label, Labels, Sample};

use crate::codec::{Reader, Truncated, put_uvarint, put_varint};
use crate::index::SeriesId;

/// Record type of a batch.
pub const TYPE_BATCH: u8 = 1;

/// A decoded batch record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    /// Series defined by this record.
    pub series: Vec<(SeriesId, Labels)>,
    /// Samples, by series id.
    pub samples: Vec<(SeriesId, Sample)>,
}

/// Encodes series definitions (the first part of a batch payload).
pub fn encode_series_defs<'a>(
    buf: &mut Vec<u8>,
    defs: impl ExactSizeIterator<Item = (SeriesId, &'a Labels)>,
) {
    put_uvarint(buf, defs.len() as u64);
    for (id, labels) in defs {
        put_uvarint(buf, id);
        put_uvarint(buf, labels.len() as u64);
        for l in labels {
            put_uvarint(buf, l.name.len() as u64);
            buf.extend_from_slice(l.name.as_bytes());
            put_uvarint(buf, l.value.len() as u64);
            buf.extend_from_slice(l.value.as_bytes());
        }
    }
}

/// Encodes the samples part of a batch payload. `base_t` should be near the
/// samples' timestamps (e.g. the first) so deltas stay short.
pub fn encode_samples(
    buf: &mut Vec<u8>,
    count: usize,
    base_t: i64,
    samples: impl Iterator<Item = (SeriesId, Sample)>,
) {
    put_uvarint(buf, count as u64);
    buf.extend_from_slice(&base_t.to_le_bytes());
    for (id, s) in samples {
        put_uvarint(buf, id);
        put_varint(buf, s.t.wrapping_sub(base_t));
        buf.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Ran out of bytes.
    #[error(transparent)]
    Truncated(#[from] Truncated),
    /// A label was not UTF-8 or not a valid name.
    #[error("invalid label in series definition: {0}")]
    BadLabel(String),
}

/// Decodes a batch payload.
pub fn decode_batch(payload: &[u8]) -> Result<Batch, DecodeError> {
    let mut r = Reader::new(payload);
    let nseries = r.uvarint()?;
    let mut series = Vec::with_capacity(nseries.min(1 << 16) as usize);
    for _ in 0..nseries {
        let id = r.uvarint()?;
        let nl = r.uvarint()?;
        let mut labels = Vec::with_capacity(nl.min(256) as usize);
        for _ in 0..nl {
            let name = std::str::from_utf8(r.len_bytes()?)
                .map_err(|e| DecodeError::BadLabel(e.to_string()))?;
            let value = std::str::from_utf8(r.len_bytes()?)
                .map_err(|e| DecodeError::BadLabel(e.to_string()))?;
            labels.push(Label::new(name, value));
        }
        let labels = Labels::from_pairs(labels.into_iter().map(|l| (l.name, l.value)))
            .map_err(|e| DecodeError::BadLabel(e.to_string()))?;
        series.push((id, labels));
    }
    let n = r.uvarint()?;
    let base = i64::from_le_bytes(r.bytes(8)?.try_into().map_err(|_| Truncated(r.pos()))?);
    let mut samples = Vec::with_capacity(n.min(1 << 20) as usize);
    for _ in 0..n {
        let id = r.uvarint()?;
        let t = base.wrapping_add(r.varint()?);
        let v = f64::from_bits(r.u64_le()?);
        samples.push((id, Sample { t, v }));
    }
    Ok(Batch { series, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_roundtrip() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "x")]).unwrap();
        let mut buf = Vec::new();
        encode_series_defs(&mut buf, [(5u64, &labels)].into_iter());
        let samples = [
            (5u64, Sample::new(1000, 1.5)),
            (5, Sample::new(990, f64::NAN)),
        ];
        encode_samples(&mut buf, 2, 1000, samples.iter().copied());
        let b = decode_batch(&buf).unwrap();
        assert_eq!(b.series, vec![(5, labels)]);
        assert_eq!(b.samples[0], samples[0]);
        assert_eq!(b.samples[1].1.t, 990);
        assert!(b.samples[1].1.v.is_nan());
        assert!(decode_batch(&buf[..buf.len() - 1]).is_err());
    }
}
