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
