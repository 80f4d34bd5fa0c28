//! What a PromQL query returns.

use altimeter_model::Labels;

/// One point of a series: milliseconds and value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// Its labels (`__name__` dropped where Prometheus drops it).
    pub labels: Labels,
    /// Evaluation time in milliseconds.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One series of a range-query answer (or of a range vector).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// Its labels.
    pub labels: Labels,
    /// Points in time order.
    pub points: Vec<Point>,
}

/// A query answer, shaped like Prometheus's `data.resultType` / `data.result`.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `"scalar"`: `[t, "v"]`.
    Scalar {
        /// Milliseconds.
        t: i64,
        /// Value.
        v: f64,
    },
    /// `"string"`: `[t, "s"]`.
    String {
        /// Milliseconds.
        t: i64,
        /// Value.
        s: String,
    },
    /// `"vector"`: an instant query's series. Order is the evaluation order
    /// (meaningful after `sort`, `topk`, ...).
    Vector(Vec<InstantSample>),
    /// `"matrix"`: a range query's series (or an instant query of a range
    /// vector), sorted by labels.
    Matrix(Vec<RangeSeries>),
}

impl QueryValue {
    /// Prometheus's `resultType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            QueryValue::Scalar { .. } => "scalar",
            QueryValue::String { .. } => "string",
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }
}

/// Formats a value the way Prometheus's JSON API does (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`, with `+Inf`, `-Inf`, `NaN`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's Display is the shortest round-tripping decimal, never
        // exponent notation: the same digits as Go's 'f', -1.
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_format_like_go() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(-2.5e-7), "-0.00000025");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(-0.0), "-0");
    }
}
