//! Gnocchi's bucketing and aggregation arithmetic ("carbonara"), computed
//! from raw points. Times and granularities are milliseconds.
//!
//! Sources (Gnocchi 4.7): `gnocchi/carbonara.py` (`round_timestamp`,
//! `GroupedTimeSeries`, `BoundTimeSerie`, `AggregatedTimeSerie.truncate`,
//! `.resample`, `.fetch`), `gnocchi/storage/__init__.py`
//! (`add_measures_to_metrics`, `execute_data_processing`,
//! `get_aggregated_measures`), `gnocchi/calendar.py`.
//!
//! # Semantics
//! - Buckets are epoch-aligned and labelled by their start:
//!   `floor(t / g) × g`. (Gnocchi divides nanoseconds as floats, which can
//!   misplace a point lying within ~1 µs of a bucket end; integers here.)
//! - Per bucket: `mean`/`sum` (sequential sums, as `numpy.bincount`),
//!   `min`, `max`, `first`, `last`, `count` (as a float), `median` (mean
//!   of the two middle values when even), `std` (sample, n − 1; buckets of
//!   one point are **omitted**), `Npct` (Gnocchi's own linear
//!   interpolation at rank `(n − 1) × N / 100`, numerically as Gnocchi
//!   computes it for a metric whose raw points were all posted in one
//!   batch). NaN values behave as in numpy: they propagate through
//!   `mean`/`sum`/`std`/`max`, `min` ignores them unless all are NaN, and
//!   they sort last for `median`/`Npct`.
//! - `rate:X`: differences between consecutive raw points, each attributed
//!   to the later point's bucket, then X. The first raw point yields no
//!   difference, so a bucket holding only the first point is not emitted.
//!   **Altimeter deviation**: a value lower than its predecessor means the
//!   counter restarted, and the difference is the value itself (like
//!   Prometheus' `increase`) instead of Gnocchi's negative number.
//!   Gnocchi also recomputes rates incrementally per batch of measures and
//!   only pairs a batch's first point with a predecessor at most one
//!   granularity before that point's bucket; here every point after the
//!   first has its difference (what Gnocchi gives when the points arrive in
//!   one batch, or at least once per granularity).
//! - Retention ([`truncate`]): at read time Gnocchi keeps the points with
//!   `t > last − timespan`, `last` being the aggregated series' own newest
//!   bucket.
//!
//! # What the storage layer must do
//! Gnocchi keeps per metric a raw buffer and processes new measures in
//! batches (all measures received since the last processing). To give the
//! same aggregates from stored raw points:
//! 1. Call [`merge_raw`] on each incoming batch with the metric's newest
//!    stored raw timestamp: it sorts the batch, keeps **the smallest value**
//!    of equal timestamps (numpy's sort with ties broken by value, then the
//!    first occurrence), and drops points older than [`raw_cutoff`]
//!    (silently: the POST already answered 202). A metric with no raw
//!    point yet accepts every point.
//! 2. Store the remaining points, **replacing** stored values at equal
//!    timestamps (a batch wins over stored points).
//! 3. Aggregate with [`aggregate_all`] over the raw points, then
//!    [`truncate`] per definition line; read-time `resample=` is
//!    [`resample`]/[`resample_by`], then [`fetch`] for `start`/`stop`.
//!
//! Keep raw points at least back to the bucket starts of every timespan:
//! Gnocchi keeps old aggregates even after their raw points leave its raw
//! buffer. Where a granularity does not divide the largest one, Gnocchi may
//! recompute a bucket straddling the raw buffer's start from part of its
//! points; not reproduced.

use chrono::{Datelike, NaiveDate};

use super::policy::{Aggregation, AggregationMethod, ArchivePolicy, PolicyItem};
use super::timefmt::{self, TimeError};

/// Why a read-time operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarbonaraError {
    /// `rate:` methods cannot be resampled to calendar periods (Gnocchi
    /// raises a `TypeError` with this text, i.e. answers 500).
    #[error("Cannot derive aggregates on calendar granularities.")]
    CalendarRate,
    /// The resample period is not a calendar unit nor a timespan.
    #[error("{0}")]
    Timespan(#[from] TimeError),
}

/// The start of the bucket of `t` for granularity `g` (> 0).
#[must_use]
pub fn bucket_start(t: i64, g: i64) -> i64 {
    if g <= 0 {
        return t;
    }
    t.div_euclid(g) * g
}

/// numpy's sort order for floats: NaN last.
fn cmp_nan_last(a: &f64, b: &f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.cmp(&y),
    }
}

/// The differences between consecutive points, stamped with the later one
/// (`GroupedTimeSeries.derived`), reset-aware: when a value is below its
/// predecessor the difference is the value itself.
#[must_use]
pub fn derive(raw: &[(i64, f64)]) -> Vec<(i64, f64)> {
    raw.windows(2)
        .map(|w| {
            let (prev, (t, v)) = (w[0].1, w[1]);
            (t, if v < prev { v } else { v - prev })
        })
        .collect()
}

/// Gnocchi's `derived()` without the reset handling (plain `numpy.diff`),
/// as used when resampling an already aggregated `rate:` series.
fn diff(series: &[(i64, f64)]) -> Vec<(i64, f64)> {
    series
        .windows(2)
        .map(|w| (w[1].0, w[1].1 - w[0].1))
        .collect()
}

/// Computes `base` over one bucket. `offset` is the bucket's index in the
/// grouped series (Gnocchi's percentile arithmetic uses absolute ranks);
/// `sorted` caches the bucket's sorted values between methods.
fn aggregate_bucket(
    vals: &[f64],
    offset: usize,
    base: Aggregation,
    sorted: &mut Option<Vec<f64>>,
    scratch: &mut Vec<f64>,
) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let n = vals.len() as f64;
    let sum = || vals.iter().fold(0.0, |a, v| a + v);
    let mut sorted_vals = |scratch: &mut Vec<f64>| -> Vec<f64> {
        if let Some(s) = sorted.take() {
            return s;
        }
        scratch.clear();
        scratch.extend_from_slice(vals);
        scratch.sort_by(cmp_nan_last);
        std::mem::take(scratch)
    };
    let out = match base {
        Aggregation::Mean => sum() / n,
        Aggregation::Sum => sum(),
        Aggregation::Count => n,
        Aggregation::First => *vals.first()?,
        Aggregation::Last => *vals.last()?,
        Aggregation::Min => {
            let m = vals
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .reduce(f64::min);
            m.unwrap_or(f64::NAN)
        }
        Aggregation::Max => {
            if vals.iter().any(|v| v.is_nan()) {
                f64::NAN
            } else {
                vals.iter().copied().reduce(f64::max)?
            }
        }
        Aggregation::Std => {
            if vals.len() < 2 {
                return None;
            }
            let mean = sum() / n;
            let ss = vals.iter().fold(0.0, |a, v| a + (v - mean) * (v - mean));
            (ss / (n - 1.0)).sqrt()
        }
        Aggregation::Median => {
            let s = sorted_vals(scratch);
            let len = s.len();
            let lo = (len - 1) - len / 2;
            let hi = lo + (len % 2 + 1) % 2;
            let r = (s[lo] + s[hi]) / 2.0;
            *sorted = Some(s);
            r
        }
        Aggregation::Percentile(q) => {
            let s = sorted_vals(scratch);
            #[allow(clippy::cast_precision_loss)]
            let real = offset as f64 + (s.len() - 1) as f64 * (f64::from(q) / 100.0);
            let (fl, ce) = (real.floor(), real.ceil());
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let (fi, ci) = (fl as usize - offset, ce as usize - offset);
            let r = if fi == ci {
                s[fi]
            } else {
                s[fi] * (ce - real) + s[ci] * (real - fl)
            };
            *sorted = Some(s);
            r
        }
    };
    Some(out)
}

/// Groups `series` by `key` and computes every `bases[i]` per group into
/// `out[i]`.
fn group_aggregate(
    series: &[(i64, f64)],
    key: impl Fn(i64) -> i64,
    bases: &[Aggregation],
) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = bases.iter().map(|_| Vec::new()).collect();
    let mut vals: Vec<f64> = Vec::new();
    let mut scratch: Vec<f64> = Vec::new();
    let mut i = 0;
    while i < series.len() {
        let k = key(series[i].0);
        let mut j = i + 1;
        while j < series.len() && key(series[j].0) == k {
            j += 1;
        }
        vals.clear();
        vals.extend(series[i..j].iter().map(|p| p.1));
        let mut sorted = None;
        for (b, o) in bases.iter().zip(out.iter_mut()) {
            if let Some(v) = aggregate_bucket(&vals, i, *b, &mut sorted, &mut scratch) {
                o.push((k, v));
            }
        }
        if let Some(s) = sorted {
            scratch = s;
        }
        i = j;
    }
    out
}

/// Aggregates raw points (sorted ascending, one per timestamp) into buckets
/// of `granularity` ms with `method`. See the module doc for the
/// semantics. An empty result for `granularity <= 0`.
#[must_use]
pub fn aggregate(
    raw: &[(i64, f64)],
    granularity: i64,
    method: AggregationMethod,
) -> Vec<(i64, f64)> {
    aggregate_all(raw, granularity, &[method])
        .pop()
        .unwrap_or_default()
}

/// [`aggregate`] for several methods in one pass per kind (raw and
/// derived); `result[i]` belongs to `methods[i]`.
#[must_use]
pub fn aggregate_all(
    raw: &[(i64, f64)],
    granularity: i64,
    methods: &[AggregationMethod],
) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = methods.iter().map(|_| Vec::new()).collect();
    if granularity <= 0 {
        return out;
    }
    let key = |t: i64| bucket_start(t, granularity);
    for rate in [false, true] {
        let idx: Vec<usize> = (0..methods.len())
            .filter(|&i| methods[i].rate == rate)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let bases: Vec<Aggregation> = idx.iter().map(|&i| methods[i].base).collect();
        let derived;
        let series = if rate {
            derived = derive(raw);
            &derived[..]
        } else {
            raw
        };
        for (i, s) in idx.into_iter().zip(group_aggregate(series, key, &bases)) {
            out[i] = s;
        }
    }
    out
}

/// Applies a definition line's retention the way Gnocchi does when reading
/// (`AggregatedTimeSerie.truncate(timespan)`): keeps the buckets with
/// `t > last − timespan`, `last` being the series' newest bucket. No-op
/// without a timespan.
pub fn truncate(series: &mut Vec<(i64, f64)>, item: &PolicyItem) {
    let (Some(span), Some(&(last, _))) = (item.timespan, series.last()) else {
        return;
    };
    let oldest = last.saturating_sub(span);
    let keep_from = series.partition_point(|p| p.0 <= oldest);
    series.drain(..keep_from);
}

/// The oldest timestamp a new measure may have once the metric has raw
/// points, the newest being `last_raw_ts` (`BoundTimeSerie.
/// first_block_timestamp`): `floor(last, B) − B × W` where `B` is the
/// largest granularity and `W` the back window, plus one when the policy
/// has a `rate:` method. Measures with `t < cutoff` are dropped; `t ==
/// cutoff` is kept.
#[must_use]
pub fn raw_cutoff(last_raw_ts: i64, policy: &ArchivePolicy) -> i64 {
    let block = policy.max_block_size();
    let window = policy
        .back_window
        .saturating_add(u64::from(policy.has_rate()));
    let window = i64::try_from(window).unwrap_or(i64::MAX);
    bucket_start(last_raw_ts, block).saturating_sub(block.saturating_mul(window))
}

/// Prepares a batch of incoming measures the way Gnocchi's
/// `BoundTimeSerie.set_values` does (see the module doc): sorts it by time,
/// keeps the smallest value among equal timestamps, and drops the points
/// older than [`raw_cutoff`] of `existing_last` (the metric's newest
/// stored raw timestamp; `None` when it has none: nothing is dropped).
/// Returns how many points were dropped as too old.
pub fn merge_raw(
    existing_last: Option<i64>,
    incoming: &mut Vec<(i64, f64)>,
    policy: &ArchivePolicy,
) -> usize {
    incoming.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_nan_last(&a.1, &b.1)));
    incoming.dedup_by_key(|p| p.0);
    let Some(last) = existing_last else {
        return 0;
    };
    let cutoff = raw_cutoff(last, policy);
    let drop = incoming.partition_point(|p| p.0 < cutoff);
    incoming.drain(..drop);
    drop
}

/// The slice of an aggregated series Gnocchi returns for `start`/`stop`
/// (`AggregatedTimeSerie.fetch`): `start` is first rounded down to
/// `granularity` (pass `None` for calendar periods: Gnocchi fails there),
/// `stop` is exclusive.
#[must_use]
pub fn fetch(
    series: &[(i64, f64)],
    granularity: Option<i64>,
    start: Option<i64>,
    stop: Option<i64>,
) -> &[(i64, f64)] {
    let from = match (start, granularity) {
        (Some(s), Some(g)) => Some(bucket_start(s, g)),
        (s, _) => s,
    };
    let lo = from.map_or(0, |f| series.partition_point(|p| p.0 < f));
    let hi = stop.map_or(series.len(), |s| series.partition_point(|p| p.0 < s));
    series.get(lo..hi.max(lo)).unwrap_or(&[])
}

/// A calendar period for `resample=` (`calendar.GROUPINGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    /// `Y`: calendar year.
    Year,
    /// `H`: half year (January, July).
    Half,
    /// `Q`: quarter.
    Quarter,
    /// `M`: month.
    Month,
    /// `W`: week starting on Sunday.
    Week,
}

impl CalendarUnit {
    /// The letter Gnocchi uses (and echoes as the granularity).
    #[must_use]
    pub fn letter(self) -> &'static str {
        match self {
            CalendarUnit::Year => "Y",
            CalendarUnit::Half => "H",
            CalendarUnit::Quarter => "Q",
            CalendarUnit::Month => "M",
            CalendarUnit::Week => "W",
        }
    }

    /// The start (ms, UTC) of the period containing `t`.
    #[must_use]
    pub fn period_start(self, t: i64) -> i64 {
        const DAY: i64 = 86_400_000;
        let days = t.div_euclid(DAY);
        if self == CalendarUnit::Week {
            return ((days + 4).div_euclid(7) * 7 - 4) * DAY;
        }
        let Some(date) = i32::try_from(days)
            .ok()
            .and_then(|d| NaiveDate::from_num_days_from_ce_opt(d + 719_163))
        else {
            return t;
        };
        let month0 = date.month0();
        let first_month0 = match self {
            CalendarUnit::Year => 0,
            CalendarUnit::Half => month0 / 6 * 6,
            CalendarUnit::Quarter => month0 / 3 * 3,
            _ => month0,
        };
        NaiveDate::from_ymd_opt(date.year(), first_month0 + 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(t, |d| d.and_utc().timestamp_millis())
    }
}

/// A `resample=` period: a fixed number of ms or a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resample {
    /// A fixed period (ms).
    Fixed(i64),
    /// A calendar period.
    Calendar(CalendarUnit),
}

impl Resample {
    /// Gnocchi's parsing: exactly `Y`, `H`, `Q`, `M` or `W`, else a
    /// timespan ([`timefmt::parse_timespan_str`]).
    ///
    /// # Errors
    /// The timespan error.
    pub fn parse(s: &str) -> Result<Self, TimeError> {
        Ok(match s {
            "Y" => Resample::Calendar(CalendarUnit::Year),
            "H" => Resample::Calendar(CalendarUnit::Half),
            "Q" => Resample::Calendar(CalendarUnit::Quarter),
            "M" => Resample::Calendar(CalendarUnit::Month),
            "W" => Resample::Calendar(CalendarUnit::Week),
            other => Resample::Fixed(timefmt::parse_timespan_str(other)?),
        })
    }

    fn key(self, t: i64) -> i64 {
        match self {
            Resample::Fixed(g) => bucket_start(t, g),
            Resample::Calendar(u) => u.period_start(t),
        }
    }
}

/// Gnocchi's read-time `resample=` (`AggregatedTimeSerie.resample`):
/// regroups an aggregated series into buckets of `granularity` ms with
/// the same method. For a `rate:` method Gnocchi differentiates the
/// aggregated series **again** (plain differences) before aggregating;
/// reproduced as is.
#[must_use]
pub fn resample(
    series: &[(i64, f64)],
    granularity: i64,
    method: AggregationMethod,
) -> Vec<(i64, f64)> {
    resample_by(series, Resample::Fixed(granularity), method).unwrap_or_default()
}

/// [`resample`] for a fixed or calendar period.
///
/// # Errors
/// [`CarbonaraError::CalendarRate`] for a `rate:` method with a calendar
/// period.
pub fn resample_by(
    series: &[(i64, f64)],
    period: Resample,
    method: AggregationMethod,
) -> Result<Vec<(i64, f64)>, CarbonaraError> {
    if let Resample::Fixed(g) = period
        && g <= 0
    {
        return Ok(Vec::new());
    }
    let diffed;
    let series = if method.rate {
        if matches!(period, Resample::Calendar(_)) {
            return Err(CarbonaraError::CalendarRate);
        }
        diffed = diff(series);
        &diffed[..]
    } else {
        series
    };
    Ok(group_aggregate(series, |t| period.key(t), &[method.base])
        .pop()
        .unwrap_or_default())
}

#[cfg(test)]
#[path = "carbonara_tests.rs"]
mod tests;
