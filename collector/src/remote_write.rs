//! Encoding polls as Prometheus remote-write 1.0 requests
//! (`snappy(WriteRequest protobuf)`), with staleness markers.
//!
//! The protobuf is written directly from the families with prost's wire
//! primitives — no intermediate message structs — since encoding runs on
//! every poll. Two encoded `WriteRequest`s concatenated are one valid
//! `WriteRequest` holding both sets of series (protobuf merges repeated
//! fields), which is how spooled polls are combined into one request.
//!
//! Like a Prometheus scraper, the agent marks a series that disappears
//! (a guest stopped, a cgroup went away) with a staleness marker at the
//! next poll, so PromQL stops returning it at once instead of five minutes
//! later.

use std::collections::HashMap;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use altimeter_model::METRIC_NAME;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::family::{Family, LabelPair, Series};

/// The NaN bit pattern Prometheus uses as a staleness marker.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// One encoded poll: an uncompressed `WriteRequest`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    /// The protobuf bytes.
    pub proto: Vec<u8>,
    /// Samples in it (staleness markers included).
    pub samples: u32,
}

/// A pollster's previous families and the hashes of their series, in
/// iteration order.
type Previous = (Arc<Vec<Family>>, Vec<u64>);

/// Encodes polls, remembering each pollster's series to mark those that
/// vanish.
#[derive(Debug, Default)]
pub struct PollEncoder {
    /// Labels added to every series that lacks them (e.g. `host`).
    external: Vec<LabelPair>,
    previous: HashMap<&'static str, Previous>,
    scratch: Vec<(String, String)>,
}

impl PollEncoder {
    /// An encoder adding `external` labels to every series lacking them.
    pub fn new(external: Vec<LabelPair>) -> Self {
        PollEncoder {
            external,
            ..PollEncoder::default()
        }
    }

    /// Appends to `out` `pollster`'s families taken at `ts_ms`, plus a
    /// staleness marker for every series its previous poll had and this one
    /// lacks.
    pub fn encode_into(
        &mut self,
        pollster: &'static str,
        families: Arc<Vec<Family>>,
        ts_ms: i64,
        out: &mut Encoded,
    ) {
        let n = families.iter().map(|f| f.series.len()).sum();
        let mut hashes = Vec::with_capacity(n);
        for f in families.iter() {
            for s in &f.series {
                hashes.push(series_hash(&f.name, s));
                self.write_series(out, &f.name, s, s.value, ts_ms);
            }
        }
        if let Some((prev, prev_hashes)) = self.previous.remove(pollster) {
            let now: HashSet<u64> = hashes.iter().copied().collect();
            let stale = f64::from_bits(STALE_NAN);
            let prev_series = prev
                .iter()
                .flat_map(|f| f.series.iter().map(move |s| (f, s)));
            for ((f, s), h) in prev_series.zip(prev_hashes) {
                if !now.contains(&h) {
                    self.write_series(out, &f.name, s, stale, ts_ms);
                }
            }
        }
        self.previous.insert(pollster, (families, hashes));
    }

    /// [`PollEncoder::encode_into`] a new buffer.
    pub fn encode(
        &mut self,
        pollster: &'static str,
        families: Arc<Vec<Family>>,
        ts_ms: i64,
    ) -> Encoded {
        let mut out = Encoded::default();
        self.encode_into(pollster, families, ts_ms, &mut out);
        out
    }

    fn write_series(&mut self, out: &mut Encoded, name: &str, s: &Series, value: f64, ts: i64) {
        let labels = &mut self.scratch;
        labels.clear();
        labels.push((METRIC_NAME.to_string(), name.to_string()));
        for (k, v) in &s.labels {
            if !v.is_empty() {
                labels.push((k.to_string(), v.clone()));
            }
        }
        for (k, v) in &self.external {
            if !s.labels.iter().any(|(n, _)| n == k) {
                labels.push((k.to_string(), v.clone()));
            }
        }
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        write_timeseries(&mut out.proto, labels, value, ts);
        out.samples += 1;
    }
}

fn series_hash(name: &str, s: &Series) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    // Label order within a pollster's series is stable from poll to poll.
    for (k, v) in &s.labels {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

fn label_len(name: &str, value: &str) -> usize {
    1 + encoded_len_varint(name.len() as u64)
        + name.len()
        + 1
        + encoded_len_varint(value.len() as u64)
        + value.len()
}

/// Appends one `WriteRequest.timeseries` entry with one sample.
fn write_timeseries(buf: &mut Vec<u8>, labels: &[(String, String)], value: f64, ts: i64) {
    let sample_len = 1 + 8 + 1 + encoded_len_varint(ts as u64);
    let mut ts_len = 1 + encoded_len_varint(sample_len as u64) + sample_len;
    for (n, v) in labels {
        let l = label_len(n, v);
        ts_len += 1 + encoded_len_varint(l as u64) + l;
    }
    encode_key(1, WireType::LengthDelimited, buf);
    encode_varint(ts_len as u64, buf);
    for (n, v) in labels {
        encode_key(1, WireType::LengthDelimited, buf);
        encode_varint(label_len(n, v) as u64, buf);
        encode_key(1, WireType::LengthDelimited, buf);
        encode_varint(n.len() as u64, buf);
        buf.extend_from_slice(n.as_bytes());
        encode_key(2, WireType::LengthDelimited, buf);
        encode_varint(v.len() as u64, buf);
        buf.extend_from_slice(v.as_bytes());
    }
    encode_key(2, WireType::LengthDelimited, buf);
    encode_varint(sample_len as u64, buf);
    encode_key(1, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
    encode_key(2, WireType::Varint, buf);
    encode_varint(ts as u64, buf);
}

/// Snappy block compression, as remote-write requires.
pub fn compress(proto: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(proto)
        .expect("snappy compression of an in-memory buffer cannot fail")
}

/// Undoes [`compress`].
pub fn decompress(body: &[u8]) -> Result<Vec<u8>, snap::Error> {
    snap::raw::Decoder::new().decompress_vec(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::{Kind, label};

    /// A small decoder over prost's primitives, independent of the
    /// encoder above: (labels, value bits, timestamp) per series.
    /// Labels, value bits and timestamp of one decoded series.
    type Decoded = (Vec<(String, String)>, u64, i64);

    fn decode(mut b: &[u8]) -> Vec<Decoded> {
        use prost::encoding::{decode_key, decode_varint};
        fn bytes<'a>(b: &mut &'a [u8]) -> &'a [u8] {
            let n = decode_varint(b).unwrap() as usize;
            let (x, rest) = b.split_at(n);
            *b = rest;
            x
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            assert_eq!(decode_key(&mut b).unwrap(), (1, WireType::LengthDelimited));
            let mut ts = bytes(&mut b);
            let (mut labels, mut v, mut t) = (Vec::new(), 0, 0);
            while !ts.is_empty() {
                match decode_key(&mut ts).unwrap() {
                    (1, _) => {
                        let mut l = bytes(&mut ts);
                        let mut pair = (String::new(), String::new());
                        while !l.is_empty() {
                            let (tag, _) = decode_key(&mut l).unwrap();
                            let s = String::from_utf8(bytes(&mut l).to_vec()).unwrap();
                            if tag == 1 { pair.0 = s } else { pair.1 = s }
                        }
                        labels.push(pair);
                    }
                    (2, _) => {
                        let mut s = bytes(&mut ts);
                        while !s.is_empty() {
                            match decode_key(&mut s).unwrap() {
                                (1, _) => {
                                    v = u64::from_le_bytes(s[..8].try_into().unwrap());
                                    s = &s[8..];
                                }
                                _ => t = decode_varint(&mut s).unwrap() as i64,
                            }
                        }
                    }
                    k => panic!("unexpected field {k:?}"),
                }
            }
            out.push((labels, v, t));
        }
        out
    }

    fn fam(series: &[(&str, f64)]) -> Arc<Vec<Family>> {
        let mut f = Family::new("instance_vcpus", "vCPUs.", Kind::Gauge);
        for (id, v) in series {
            f.push(vec![label("instance_id", *id), label("Zone", "")], *v);
        }
        Arc::new(vec![f])
    }

    #[test]
    fn encodes_sorted_labels_external_labels_and_staleness() {
        let mut e = PollEncoder::new(vec![label("host", "hv-1")]);
        let a = e.encode("libvirt", fam(&[("a", 1.0), ("b", 2.0)]), 1_000);
        assert_eq!(a.samples, 2);
        let d = decode(&a.proto);
        assert_eq!(
            d[0].0,
            vec![
                ("__name__".to_string(), "instance_vcpus".to_string()),
                ("host".to_string(), "hv-1".to_string()),
                ("instance_id".to_string(), "a".to_string()),
            ],
            "sorted, empty values dropped, external label added"
        );
        assert_eq!((d[1].1, d[1].2), (2.0f64.to_bits(), 1_000));
        // "b" vanished: a staleness marker at the next poll's timestamp.
        let b = e.encode("libvirt", fam(&[("a", 3.0)]), 11_000);
        let d = decode(&b.proto);
        assert_eq!(b.samples, 2);
        assert_eq!(d[0].1, 3.0f64.to_bits());
        assert_eq!(d[1].0[2].1, "b");
        assert_eq!((d[1].1, d[1].2), (STALE_NAN, 11_000));
        // Only once.
        let c = e.encode("libvirt", fam(&[("a", 3.0)]), 21_000);
        assert_eq!(c.samples, 1);
        // Two requests concatenated decode as one.
        let mut both = a.proto.clone();
        both.extend_from_slice(&c.proto);
        assert_eq!(decode(&both).len(), 3);
        assert_eq!(decompress(&compress(&both)).unwrap(), both);
    }
}
