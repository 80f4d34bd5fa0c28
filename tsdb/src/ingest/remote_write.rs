//! Prometheus remote-write 1.0: `snappy(WriteRequest protobuf)`.
//!
//! [`proto`] holds the message types (prost-derived, wire-compatible with
//! Prometheus' `prompb`), used to encode requests (clients, tests, the agent)
//! and as the reference decoder in the fuzz target. The ingest path uses
//! [`decode`], a zero-copy decoder over prost's wire primitives that borrows
//! label strings from the request body instead of allocating them: at ~225
//! bytes of protobuf per sample, decoding dominates the cost of ingest.
//!
//! Validation follows Prometheus: every series needs a valid `__name__`,
//! label names must match `[a-zA-Z_][a-zA-Z0-9_]*`, appear once and sorted.
//! Labels with empty values are dropped (in Prometheus they mean "absent").
//! Any violation rejects the whole request.

use std::ops::Range;

use altimeter_model::labels::{LabelHasher, is_valid_label_name, is_valid_metric_name};
use altimeter_model::{Label, Labels, METRIC_NAME, Sample};
use prost::bytes::Buf;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

use crate::db::SeriesKey;

/// The remote-write protobuf messages.
pub mod proto {
    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        /// Series with their samples.
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        /// Metric metadata (type, help, unit).
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// `prometheus.TimeSeries`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        /// Labels, sorted by name.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Samples, oldest first.
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        /// Exemplars (not stored).
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Exemplar>,
        /// Native histograms, kept opaque (refused on ingest).
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub histograms: Vec<Vec<u8>>,
    }

    impl TimeSeries {
        /// A series from label pairs (as given, not sorted) and `(timestamp ms, value)` samples.
        pub fn from_pairs(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Self {
            Self {
                labels: labels
                    .iter()
                    .map(|(n, v)| Label {
                        name: (*n).to_string(),
                        value: (*v).to_string(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|(t, v)| Sample {
                        value: *v,
                        timestamp: *t,
                    })
                    .collect(),
                ..Default::default()
            }
        }
    }

    /// `prometheus.Label`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        /// Name.
        #[prost(string, tag = "1")]
        pub name: String,
        /// Value.
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// `prometheus.Sample`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// Value.
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// `prometheus.Exemplar`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        /// Labels.
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        /// Value.
        #[prost(double, tag = "2")]
        pub value: f64,
        /// Milliseconds since the epoch.
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    /// `prometheus.MetricMetadata`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        /// Metric type enum.
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        /// Family name.
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        /// Help text.
        #[prost(string, tag = "4")]
        pub help: String,
        /// Unit.
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}

/// Why a request body was refused. Nothing of such a request is stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The protobuf is malformed.
    #[error("decoding protobuf WriteRequest: {0}")]
    Protobuf(String),
    /// A label name or value is not UTF-8.
    #[error("series {series}: label {what} is not valid UTF-8")]
    Utf8 {
        /// Series so far.
        series: String,
        /// "name" or "value".
        what: &'static str,
    },
    /// A label rule is broken.
    #[error("series {series}: {message}")]
    Invalid {
        /// The series.
        series: String,
        /// What is wrong.
        message: String,
    },
    /// Native histograms are not stored.
    #[error(
        "series {series}: native histograms are not supported; send classic (bucketed) histograms"
    )]
    NativeHistogram {
        /// The series.
        series: String,
    },
}

impl DecodeError {
    /// A short stable reason for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Protobuf(_) => "bad_protobuf",
            DecodeError::Utf8 { .. } => "bad_utf8",
            DecodeError::Invalid { .. } => "invalid_labels",
            DecodeError::NativeHistogram { .. } => "native_histogram",
        }
    }
}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        DecodeError::Protobuf(e.to_string())
    }
}

/// A decoded request, borrowing from the body.
#[derive(Debug, Default)]
pub struct WriteBatch<'a> {
    labels: Vec<(&'a str, &'a str)>,
    samples: Vec<Sample>,
    series: Vec<(Range<u32>, Range<u32>, u64)>,
    /// Exemplars seen (not stored).
    pub exemplars: u64,
    /// Metadata entries seen (not stored).
    pub metadata: u64,
}

/// One series of a decoded request: borrowed, sorted labels and their hash.
#[derive(Debug, Clone, Copy)]
pub struct LabelsRef<'a> {
    pairs: &'a [(&'a str, &'a str)],
    hash: u64,
}

impl LabelsRef<'_> {
    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(&str, &str)] {
        self.pairs
    }
}

impl SeriesKey for LabelsRef<'_> {
    fn key_hash(&self) -> u64 {
        self.hash
    }
    fn key_eq(&self, labels: &Labels) -> bool {
        labels.len() == self.pairs.len()
            && labels
                .iter()
                .zip(self.pairs)
                .all(|(l, (n, v))| l.name == *n && l.value == *v)
    }
    fn to_labels(&self) -> Labels {
        Labels::from_sorted_unchecked(self.pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
    }
}

impl<'a> WriteBatch<'a> {
    /// Number of series with at least one sample.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Number of samples.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// The series and their samples, ready for [`crate::Tsdb::write`].
    pub fn entries(&self) -> Vec<(LabelsRef<'_>, &[Sample])> {
        self.series
            .iter()
            .map(|(l, s, h)| {
                (
                    LabelsRef {
                        pairs: &self.labels[l.start as usize..l.end as usize],
                        hash: *h,
                    },
                    &self.samples[s.start as usize..s.end as usize],
                )
            })
            .collect()
    }
}

fn describe(pairs: &[(&str, &str)]) -> String {
    let name = pairs
        .iter()
        .find(|(n, _)| *n == METRIC_NAME)
        .map_or("", |p| p.1);
    let rest: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| *n != METRIC_NAME)
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    let s = format!("{name}{{{}}}", rest.join(", "));
    if s.len() > 300 {
        format!("{}…", &s[..s.floor_char_boundary(300)])
    } else {
        s
    }
}

fn take<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = decode_varint(buf)?;
    let len = usize::try_from(len).map_err(|_| DecodeError::Protobuf("length overflow".into()))?;
    if len > buf.len() {
        return Err(DecodeError::Protobuf("buffer underflow".into()));
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

fn expect(wt: WireType, want: WireType, what: &str) -> Result<(), DecodeError> {
    if wt == want {
        Ok(())
    } else {
        Err(DecodeError::Protobuf(format!(
            "invalid wire type {wt:?} for {what} (expected {want:?})"
        )))
    }
}

/// Decodes and validates an uncompressed `WriteRequest`.
pub fn decode(body: &[u8]) -> Result<WriteBatch<'_>, DecodeError> {
    let mut out = WriteBatch {
        labels: Vec::with_capacity(body.len() / 24),
        samples: Vec::with_capacity(body.len() / 128),
        series: Vec::with_capacity(body.len() / 128),
        ..Default::default()
    };
    let mut buf = body;
    while buf.has_remaining() {
        let (tag, wt) = decode_key(&mut buf)?;
        match tag {
            1 => {
                expect(wt, WireType::LengthDelimited, "WriteRequest.timeseries")?;
                let ts = take(&mut buf)?;
                decode_series(ts, &mut out)?;
            }
            3 => {
                expect(wt, WireType::LengthDelimited, "WriteRequest.metadata")?;
                take(&mut buf)?;
                out.metadata += 1;
            }
            _ => skip_field(wt, tag, &mut buf, DecodeContext::default())?,
        }
    }
    Ok(out)
}

fn decode_series<'a>(mut m: &'a [u8], out: &mut WriteBatch<'a>) -> Result<(), DecodeError> {
    let l0 = out.labels.len();
    let s0 = out.samples.len();
    let mut histograms = 0;
    while m.has_remaining() {
        let (tag, wt) = decode_key(&mut m)?;
        match tag {
            1 => {
                expect(wt, WireType::LengthDelimited, "TimeSeries.labels")?;
                let lm = take(&mut m)?;
                let (name, value) = decode_label(lm, &out.labels[l0..])?;
                if !value.is_empty() {
                    out.labels.push((name, value));
                } else if !name.is_empty() && !is_valid_label_name(name.as_bytes()) {
                    out.labels.push((name, value)); // still reported as invalid below
                }
            }
            2 => {
                expect(wt, WireType::LengthDelimited, "TimeSeries.samples")?;
                let sm = take(&mut m)?;
                out.samples.push(decode_sample(sm)?);
            }
            3 => {
                expect(wt, WireType::LengthDelimited, "TimeSeries.exemplars")?;
                take(&mut m)?;
                out.exemplars += 1;
            }
            4 => {
                expect(wt, WireType::LengthDelimited, "TimeSeries.histograms")?;
                take(&mut m)?;
                histograms += 1;
            }
            _ => skip_field(wt, tag, &mut m, DecodeContext::default())?,
        }
    }
    let pairs = &out.labels[l0..];
    if histograms > 0 {
        return Err(DecodeError::NativeHistogram {
            series: describe(pairs),
        });
    }
    let mut h = LabelHasher::new();
    let mut has_name = false;
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            let prev = pairs[i - 1].0;
            if prev == *n {
                return Err(DecodeError::Invalid {
                    series: describe(pairs),
                    message: format!("duplicate label name {n:?}"),
                });
            }
            if prev > *n {
                return Err(DecodeError::Invalid {
                    series: describe(pairs),
                    message: format!("labels are not sorted by name: {n:?} comes after {prev:?}"),
                });
            }
        }
        if *n == METRIC_NAME {
            has_name = true;
            if !is_valid_metric_name(v.as_bytes()) {
                return Err(DecodeError::Invalid {
                    series: describe(pairs),
                    message: format!(
                        "invalid metric name {v:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
                    ),
                });
            }
        } else if !is_valid_label_name(n.as_bytes()) {
            return Err(DecodeError::Invalid {
                series: describe(pairs),
                message: format!("invalid label name {n:?}: must match [a-zA-Z_][a-zA-Z0-9_]*"),
            });
        }
        h.add(n.as_bytes(), v.as_bytes());
    }
    if !has_name {
        return Err(DecodeError::Invalid {
            series: describe(pairs),
            message: "series has no metric name (label __name__ is missing or empty)".into(),
        });
    }
    if out.samples.len() == s0 {
        out.labels.truncate(l0); // nothing to store for a series without samples
        return Ok(());
    }
    out.series.push((
        l0 as u32..out.labels.len() as u32,
        s0 as u32..out.samples.len() as u32,
        h.finish(),
    ));
    Ok(())
}

fn decode_label<'a>(
    mut m: &'a [u8],
    so_far: &[(&str, &str)],
) -> Result<(&'a str, &'a str), DecodeError> {
    let (mut name, mut value): (&[u8], &[u8]) = (b"", b"");
    while m.has_remaining() {
        let (tag, wt) = decode_key(&mut m)?;
        match tag {
            1 => {
                expect(wt, WireType::LengthDelimited, "Label.name")?;
                name = take(&mut m)?;
            }
            2 => {
                expect(wt, WireType::LengthDelimited, "Label.value")?;
                value = take(&mut m)?;
            }
            _ => skip_field(wt, tag, &mut m, DecodeContext::default())?,
        }
    }
    let name = std::str::from_utf8(name).map_err(|_| DecodeError::Utf8 {
        series: describe(so_far),
        what: "name",
    })?;
    let value = std::str::from_utf8(value).map_err(|_| DecodeError::Utf8 {
        series: describe(so_far),
        what: "value",
    })?;
    Ok((name, value))
}

fn decode_sample(mut m: &[u8]) -> Result<Sample, DecodeError> {
    let (mut v, mut t) = (0f64, 0i64);
    while m.has_remaining() {
        let (tag, wt) = decode_key(&mut m)?;
        match tag {
            1 => {
                expect(wt, WireType::SixtyFourBit, "Sample.value")?;
                if m.remaining() < 8 {
                    return Err(DecodeError::Protobuf("buffer underflow".into()));
                }
                v = m.get_f64_le();
            }
            2 => {
                expect(wt, WireType::Varint, "Sample.timestamp")?;
                t = decode_varint(&mut m)? as i64;
            }
            _ => skip_field(wt, tag, &mut m, DecodeContext::default())?,
        }
    }
    Ok(Sample { t, v })
}

/// Limits on a request body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Compressed bytes.
    pub max_body: usize,
    /// Decompressed bytes.
    pub max_decompressed: usize,
}

/// Why a body could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnappyError {
    /// Not valid snappy (block format).
    #[error("decompressing snappy body: {0}")]
    Corrupt(String),
    /// Would decompress to more than allowed.
    #[error("body decompresses to {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Claimed size.
        size: usize,
        /// Limit.
        limit: usize,
    },
}

/// Decompresses a snappy block-format body within the limit.
pub fn decompress(body: &[u8], limits: BodyLimits) -> Result<Vec<u8>, SnappyError> {
    let size = snap::raw::decompress_len(body).map_err(|e| SnappyError::Corrupt(e.to_string()))?;
    if size > limits.max_decompressed {
        return Err(SnappyError::TooLarge {
            size,
            limit: limits.max_decompressed,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| SnappyError::Corrupt(e.to_string()))
}

/// Encodes a request as a client would send it (snappy of the protobuf).
pub fn encode_request(req: &proto::WriteRequest) -> Vec<u8> {
    use prost::Message;
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::proto;
    use super::*;
    use prost::Message;

    fn ts(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> proto::TimeSeries {
        proto::TimeSeries::from_pairs(labels, samples)
    }

    #[test]
    fn decodes_like_prost() {
        let req = proto::WriteRequest {
            timeseries: vec![
                ts(
                    &[("__name__", "up"), ("job", "a")],
                    &[(1000, 1.0), (2000, f64::NAN)],
                ),
                ts(
                    &[("__name__", "x"), ("empty", ""), ("z", "ü")],
                    &[(-5, -2.5)],
                ),
                ts(&[("__name__", "nosamples")], &[]),
            ],
            metadata: vec![proto::MetricMetadata::default()],
        };
        let raw = req.encode_to_vec();
        let b = decode(&raw).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.sample_count(), 3);
        assert_eq!(b.metadata, 1);
        let e = b.entries();
        assert_eq!(e[0].0.pairs(), &[("__name__", "up"), ("job", "a")]);
        assert_eq!(e[1].0.pairs(), &[("__name__", "x"), ("z", "ü")]);
        assert_eq!(e[1].1, &[Sample::new(-5, -2.5)]);
        let labels = e[0].0.to_labels();
        assert_eq!(labels.stable_hash(), e[0].0.key_hash());
        assert!(e[0].0.key_eq(&labels));
        assert_eq!(e[1].0.to_labels().stable_hash(), e[1].0.key_hash());
    }

    #[test]
    fn rejects_bad_series() {
        let cases: Vec<(proto::TimeSeries, &str)> = vec![
            (ts(&[("job", "a")], &[(1, 1.0)]), "no metric name"),
            (
                ts(&[("__name__", "a-b")], &[(1, 1.0)]),
                "invalid metric name",
            ),
            (
                ts(&[("__name__", "a"), ("a-b", "v")], &[(1, 1.0)]),
                "invalid label name",
            ),
            (
                ts(&[("__name__", "a"), ("b", "1"), ("b", "2")], &[(1, 1.0)]),
                "duplicate label name",
            ),
            (
                ts(&[("b", "1"), ("__name__", "a")], &[(1, 1.0)]),
                "not sorted",
            ),
        ];
        for (series, want) in cases {
            let raw = proto::WriteRequest {
                timeseries: vec![ts(&[("__name__", "ok")], &[(1, 1.0)]), series],
                metadata: vec![],
            }
            .encode_to_vec();
            let err = decode(&raw).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
        let mut h = ts(&[("__name__", "h")], &[]);
        h.histograms.push(vec![1, 2, 3]);
        let raw = proto::WriteRequest {
            timeseries: vec![h],
            metadata: vec![],
        }
        .encode_to_vec();
        assert_eq!(decode(&raw).unwrap_err().reason(), "native_histogram");
        assert_eq!(
            decode(&[0x0a, 0x05, 0x01]).unwrap_err().reason(),
            "bad_protobuf"
        );
        assert_eq!(
            decode(&[0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01])
                .unwrap_err()
                .reason(),
            "bad_protobuf"
        );
        let bad_utf8 = [0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe];
        assert_eq!(decode(&bad_utf8).unwrap_err().reason(), "bad_utf8");
    }

    #[test]
    fn snappy_limits() {
        let req = proto::WriteRequest {
            timeseries: vec![ts(&[("__name__", "up")], &[(1, 1.0)])],
            metadata: vec![],
        };
        let body = encode_request(&req);
        let lim = BodyLimits {
            max_body: 1 << 20,
            max_decompressed: 1 << 20,
        };
        assert_eq!(decompress(&body, lim).unwrap(), req.encode_to_vec());
        let small = BodyLimits {
            max_body: 1 << 20,
            max_decompressed: 4,
        };
        assert!(matches!(
            decompress(&body, small),
            Err(SnappyError::TooLarge { .. })
        ));
        assert!(matches!(
            decompress(b"\xff\xff\xff\xff\xff", lim),
            Err(SnappyError::Corrupt(_))
        ));
    }
}
