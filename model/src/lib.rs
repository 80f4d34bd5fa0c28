//! Altimeter's vocabulary, shared by every other crate and free of I/O.
//!
//! - [`labels`]: label names and values, sorted label sets, the metric name.
//! - [`gnocchi`]: Gnocchi's archive policies, aggregation arithmetic, time formats and query languages.
//! - [`meters`]: the meter catalogue (Ceilometer and Prometheus names of every guest meter).
//! - [`matcher`]: Prometheus label matchers (`=`, `!=`, `=~`, `!~`).
//! - [`sample`]: a timestamped value.
//! - [`time`]: the injected clock; domain logic never reads the system time directly.

pub mod duration;
pub mod gnocchi;
pub mod labels;
pub mod matcher;
pub mod meters;
pub mod pyfmt;
pub mod sample;
pub mod time;

pub use labels::{Label, LabelError, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::Sample;
pub use time::{Clock, ManualClock, SystemClock};
