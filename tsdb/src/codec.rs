//! Small byte-level codecs shared by the WAL, the head and the blocks:
//! LEB128 varints, zigzag, and the lossless decimal view of an `f64`.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zigzag-encoded as a varint.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, v: i64) {
    put_uvarint(buf, zigzag(v));
}

/// Zigzag-encodes a signed integer so small magnitudes stay small.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over bytes; every read fails cleanly on truncated input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Input ended early or a varint was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("truncated or malformed data at byte {0}")]
pub struct Truncated(pub usize);

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Whether everything was consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads an unsigned varint.
    #[inline]
    pub fn uvarint(&mut self) -> Result<u64, Truncated> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos).ok_or(Truncated(self.pos))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(Truncated(self.pos));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Truncated(self.pos));
            }
        }
    }

    /// Reads a zigzag varint.
    #[inline]
    pub fn varint(&mut self) -> Result<i64, Truncated> {
        self.uvarint().map(unzigzag)
    }

    /// Reads `n` raw bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated(self.pos))?;
        let s = self.buf.get(self.pos..end).ok_or(Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads a little-endian u64.
    #[inline]
    pub fn u64_le(&mut self) -> Result<u64, Truncated> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| Truncated(self.pos))?,
        ))
    }

    /// Reads a length-prefixed (uvarint) byte string.
    #[inline]
    pub fn len_bytes(&mut self) -> Result<&'a [u8], Truncated> {
        let n = self.uvarint()?;
        self.bytes(usize::try_from(n).map_err(|_| Truncated(self.pos))?)
    }
}

/// Powers of ten that are exact in `f64` (10^0 ..= 10^18).
pub const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Largest scale tried by [`to_decimal`].
pub const MAX_SCALE: u8 = 15;

/// Magnitude bound of a mantissa: integers below 2^53 are exact in `f64`.
const MANTISSA_LIMIT: f64 = 9_007_199_254_740_992.0;

/// The value `m / 10^k` as an `f64`, correctly rounded (both operands exact).
#[inline]
pub fn from_decimal(m: i64, k: u8) -> f64 {
    (m as f64) / POW10[usize::from(k)]
}

/// Tries to write `v` as `m / 10^k` for the given scale `k`, exactly:
/// [`from_decimal`] must give back the very same bits.
#[inline]
pub fn to_decimal_at(v: f64, k: u8) -> Option<i64> {
    let scaled = v * POW10[usize::from(k)];
    // NaN compares false, so this also rejects NaN.
    if scaled.abs().partial_cmp(&MANTISSA_LIMIT) != Some(std::cmp::Ordering::Less) {
        return None; // NaN, Inf, or too large
    }
    let m = scaled.round() as i64;
    (from_decimal(m, k).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest scale `k ≤ MAX_SCALE` with `v == m / 10^k` exactly, if any.
/// `-0.0`, NaN (including staleness markers) and infinities have none and
/// are stored as raw bits by callers.
pub fn to_decimal(v: f64) -> Option<(i64, u8)> {
    (0..=MAX_SCALE).find_map(|k| to_decimal_at(v, k).map(|m| (m, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip() {
        let vals = [0i64, 1, -1, 63, -64, 64, 1 << 40, i64::MAX, i64::MIN];
        let mut buf = Vec::new();
        for v in vals {
            put_varint(&mut buf, v);
            put_uvarint(&mut buf, v as u64);
        }
        let mut r = Reader::new(&buf);
        for v in vals {
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.uvarint().unwrap(), v as u64);
        }
        assert!(r.is_empty());
        assert!(Reader::new(&[0x80]).uvarint().is_err());
        assert!(Reader::new(&[0xff; 11]).uvarint().is_err());
    }

    #[test]
    fn decimals_are_exact() {
        for v in [
            0.0,
            1.0,
            523456.78,
            1234.567891234,
            0.1,
            1e15,
            -3.25,
            4096.0 * 12345.0,
        ] {
            let (m, k) = to_decimal(v).unwrap();
            assert_eq!(from_decimal(m, k).to_bits(), v.to_bits(), "{v}");
        }
        assert_eq!(to_decimal(523456.78), Some((52345678, 2)));
        assert_eq!(to_decimal(-0.0), None);
        assert_eq!(to_decimal(f64::NAN), None);
        assert_eq!(to_decimal(f64::INFINITY), None);
        // π's nearest double has 16 significant digits: exact at scale 15.
        assert_eq!(
            to_decimal(std::f64::consts::PI),
            Some((3141592653589793, 15))
        );
        // 0.1 + 0.2 needs 17 digits: no exact decimal within 2^53.
        assert_eq!(to_decimal(0.1 + 0.2), None);
        assert_eq!(to_decimal(1e300), None);
    }
}
