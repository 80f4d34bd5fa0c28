//! The head: recent samples of each series, in memory, queryable at once.
//!
//! Each series keeps its in-order samples in a compact byte encoding
//! ([`SeriesBuf`]): timestamps as zigzag varints of the delta-of-delta, values
//! as the varint delta of their exact decimal mantissa (`v = m / 10^k`) when the
//! scale `k` is unchanged, else as a new scale and mantissa, else as raw `f64`
//! bits. Typical telemetry costs 3–5 bytes a sample instead of 16.
//!
//! Samples older than the series' newest go to a small out-of-order side list,
//! merged on read; for equal timestamps the later write wins.

use altimeter_model::Sample;

use crate::codec::{
    Reader, from_decimal, put_uvarint, put_varint, to_decimal, to_decimal_at, unzigzag, zigzag,
};

/// Scale code meaning "raw `f64` bits follow".
const RAW: u8 = 31;

/// The compact sample buffer of one series.
#[derive(Debug, Default, Clone)]
pub struct SeriesBuf {
    data: Vec<u8>,
    n: u32,
    first_t: i64,
    last_t: i64,
    last_dt: i64,
    last_m: i64,
    last_k: u8,
    ooo: Vec<Sample>,
}

impl SeriesBuf {
    /// Number of samples held (in order and out of order).
    pub fn len(&self) -> usize {
        self.n as usize + self.ooo.len()
    }

    /// Whether the buffer holds nothing.
    pub fn is_empty(&self) -> bool {
        self.n == 0 && self.ooo.is_empty()
    }

    /// Smallest and largest timestamp held, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let mut r = (self.n > 0).then_some((self.first_t, self.last_t));
        for s in &self.ooo {
            r = Some(match r {
                None => (s.t, s.t),
                Some((a, b)) => (a.min(s.t), b.max(s.t)),
            });
        }
        r
    }

    /// Approximate heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.ooo.capacity() * size_of::<Sample>()
    }

    /// Appends one sample. Returns `false` when it went to the out-of-order list.
    #[inline]
    pub fn push(&mut self, s: Sample) -> bool {
        if self.n == 0 {
            self.first_t = s.t;
            self.last_t = s.t;
            self.last_dt = 0;
            self.push_value_full(s.v);
            self.n = 1;
            return true;
        }
        if s.t <= self.last_t {
            self.ooo.push(s);
            return false;
        }
        let dt = s.t - self.last_t;
        put_varint(&mut self.data, dt.wrapping_sub(self.last_dt));
        self.last_dt = dt;
        self.last_t = s.t;
        let same_scale = if self.last_k == RAW {
            None
        } else {
            to_decimal_at(s.v, self.last_k)
        };
        match same_scale {
            Some(m) => {
                put_uvarint(&mut self.data, zigzag(m.wrapping_sub(self.last_m)) << 1);
                self.last_m = m;
            }
            None => self.push_value_full(s.v),
        }
        self.n += 1;
        true
    }

    fn push_value_full(&mut self, v: f64) {
        match to_decimal(v) {
            Some((m, k)) => {
                put_uvarint(&mut self.data, (u64::from(k) << 1) | 1);
                put_varint(&mut self.data, m);
                self.last_m = m;
                self.last_k = k;
            }
            None => {
                put_uvarint(&mut self.data, (u64::from(RAW) << 1) | 1);
                self.data.extend_from_slice(&v.to_bits().to_le_bytes());
                self.last_k = RAW;
            }
        }
    }

    /// All samples sorted by time, duplicates resolved (the later write wins).
    pub fn to_samples(&self) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.len());
        self.decode_into(&mut out);
        if !self.ooo.is_empty() {
            out.extend_from_slice(&self.ooo);
            sort_dedup_last_wins(&mut out);
        }
        out
    }

    /// Samples within `[mint, maxt]`, sorted, duplicates resolved.
    pub fn samples_in(&self, mint: i64, maxt: i64) -> Vec<Sample> {
        let mut v = self.to_samples();
        v.retain(|s| s.t >= mint && s.t <= maxt);
        v
    }

    fn decode_into(&self, out: &mut Vec<Sample>) {
        if self.n == 0 {
            return;
        }
        let mut r = Reader::new(&self.data);
        let (mut t, mut dt, mut m, mut k) = (self.first_t, 0i64, 0i64, 0u8);
        for i in 0..self.n {
            if i > 0 {
                // Our own encoding: a failure here is a bug, not bad input.
                let dod = r.varint().expect("head buffer corrupt");
                dt = dt.wrapping_add(dod);
                t = t.wrapping_add(dt);
            }
            let tag = r.uvarint().expect("head buffer corrupt");
            let v = if tag & 1 == 0 {
                m = m.wrapping_add(unzigzag(tag >> 1));
                from_decimal(m, k)
            } else {
                let code = (tag >> 1) as u8;
                if code == RAW {
                    k = RAW;
                    f64::from_bits(r.u64_le().expect("head buffer corrupt"))
                } else {
                    k = code;
                    m = r.varint().expect("head buffer corrupt");
                    from_decimal(m, k)
                }
            };
            out.push(Sample { t, v });
        }
    }
}

/// Sorts by time (stable) and keeps, for each timestamp, the last sample.
pub fn sort_dedup_last_wins(v: &mut Vec<Sample>) {
    v.sort_by_key(|s| s.t);
    let mut w = 0usize;
    for i in 0..v.len() {
        if w > 0 && v[w - 1].t == v[i].t {
            v[w - 1] = v[i];
        } else {
            v[w] = v[i];
            w += 1;
        }
    }
    v.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roundtrip_mixed_values() {
        let mut b = SeriesBuf::default();
        let vals = [
            1.0,
            523456.78,
            523459.91,
            f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0002),
            -0.0,
            std::f64::consts::PI,
            1e300,
            7.0,
            7.0,
        ];
        for (i, v) in vals.iter().enumerate() {
            assert!(b.push(Sample::new(1000 + i as i64 * 10_000 + (i as i64 % 3), *v)));
        }
        let out = b.to_samples();
        assert_eq!(out.len(), vals.len());
        for (s, v) in out.iter().zip(vals) {
            assert_eq!(s.v.to_bits(), v.to_bits());
        }
        assert!(b.heap_bytes() > 0);
    }

    #[test]
    fn out_of_order_and_overwrite() {
        let mut b = SeriesBuf::default();
        b.push(Sample::new(10, 1.0));
        b.push(Sample::new(30, 3.0));
        assert!(!b.push(Sample::new(20, 2.0)));
        assert!(!b.push(Sample::new(30, 33.0)));
        let out = b.to_samples();
        assert_eq!(
            out,
            vec![
                Sample::new(10, 1.0),
                Sample::new(20, 2.0),
                Sample::new(30, 33.0)
            ]
        );
        assert_eq!(b.time_range(), Some((10, 30)));
        assert_eq!(b.samples_in(15, 25), vec![Sample::new(20, 2.0)]);
    }

    proptest! {
        #[test]
        fn matches_a_sorted_map(samples in proptest::collection::vec((0i64..2000, any::<f64>()), 0..300)) {
            let mut b = SeriesBuf::default();
            let mut model = std::collections::BTreeMap::new();
            for (t, v) in &samples {
                b.push(Sample::new(*t * 7, *v));
                model.insert(*t * 7, v.to_bits());
            }
            let got: Vec<(i64, u64)> = b.to_samples().iter().map(|s| (s.t, s.v.to_bits())).collect();
            let want: Vec<(i64, u64)> = model.into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }
}
