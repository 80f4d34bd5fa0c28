//! A single timestamped value.

/// One sample: milliseconds since the Unix epoch and a float value.
///
/// Values keep their exact bit pattern end to end, so Prometheus staleness
/// markers (a particular NaN) survive storage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

impl Sample {
    /// A sample at `t` milliseconds with value `v`.
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }
}

/// The bit pattern of a Prometheus staleness marker ("this series ended").
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is a staleness marker rather than a measured value.
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}
