//! Gnocchi's time formats: what its REST API accepts as timestamps and
//! timespans, how it prints them; and the other Python behaviours its API
//! exposes: `float()`/`int()` of strings, resource ids (`uuid5`), and
//! `fnmatch` (archive policy rule patterns).
//!
//! Sources (Gnocchi 4.7): `gnocchi/utils.py` (`to_timestamps`,
//! `to_timespan`, `ResourceUUID`), `gnocchi/json.py` (`to_primitive`),
//! `gnocchi/archive_policy.py` (`ArchivePolicyItem.jsonify`), and the
//! libraries they call: numpy's ISO 8601 parser (`numpy.datetime64(str)`),
//! `pytimeparse` 1.1.10 (the version a fresh install of Gnocchi pulls) and
//! Python's `float()`, `str(timedelta)`, `datetime.isoformat()`, `uuid5`,
//! `fnmatch`.
//!
//! Units: timestamps returned by [`parse_timestamp`] are Unix
//! **microseconds**; timespans from [`parse_timespan`] are **milliseconds**.
//!
//! Deviations, all on inputs nobody sends in practice:
//! - Gnocchi keeps nanoseconds; timestamps are floored to microseconds here,
//!   timespans truncated to milliseconds (a positive timespan under 1 ms is
//!   refused with [`TimeError::SubMillisecond`]).
//! - ISO years must have exactly four digits (numpy accepts any number and
//!   then overflows); `NaT`/empty strings are refused (numpy yields `NaT`).
//! - `pytimeparse` digits (`\d`) are ASCII only here.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use regex::Regex;
use serde_json::Value;

/// Why a timestamp or a timespan is refused. `Display` is Gnocchi's
/// `ValueError` text for the same input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an epoch number, an ISO 8601 date nor a relative time
    /// (`utils.to_timestamps`).
    #[error("Unable to convert timestamps")]
    Unconvertible,
    /// A JSON `null`, array or object where a timestamp is expected. Gnocchi
    /// raises a `TypeError` here: `POST .../measures` answers
    /// `unexpected measures format`, query parameters answer
    /// `Must be a datetime or a timestamp`.
    #[error("Unable to convert timestamps")]
    WrongType,
    /// Before 1970-01-01T00:00:00Z.
    #[error("Timestamp must be after Epoch")]
    BeforeEpoch,
    /// `null` given as a timespan.
    #[error("Invalid timespan")]
    InvalidTimespan,
    /// Neither a number of seconds nor a `pytimeparse` expression.
    #[error("Unable to parse timespan")]
    UnparsableTimespan,
    /// Zero or negative timespan.
    #[error("Timespan must be positive")]
    NotPositive,
    /// `nan` given as a timespan (Python's `int(nan)` message).
    #[error("cannot convert float NaN to integer")]
    NanTimespan,
    /// Infinite or beyond ±292 years (Python's `int(inf)` message; Gnocchi
    /// answers 500 here).
    #[error("cannot convert float infinity to integer")]
    InfiniteTimespan,
    /// Altimeter keeps milliseconds: a positive timespan below 1 ms.
    #[error("Timespan must be at least 1 millisecond")]
    SubMillisecond,
    /// A resource id containing `/` (`utils.ResourceUUID`).
    #[error("'/' is not supported in resource id")]
    SlashInResourceId,
    /// A non-UUID resource id longer than 289 characters.
    #[error("transformable resource id >289 max allowed characters")]
    ResourceIdTooLong,
}

const NS_PER_US: i64 = 1_000;
const NS_PER_MS: i64 = 1_000_000;
const US_PER_S: i64 = 1_000_000;

/// Python's `float(str)`: surrounding whitespace, `_` between digits,
/// `inf`/`infinity`/`nan` in any case, exponent, leading `+`/`-`.
#[must_use]
pub fn python_float_str(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned;
    let t = if t.contains('_') {
        let b = t.as_bytes();
        for (i, c) in b.iter().enumerate() {
            if *c == b'_' {
                let ok = i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit();
                if !ok {
                    return None;
                }
            }
        }
        cleaned = t.replace('_', "");
        cleaned.as_str()
    } else {
        t
    };
    let body = t.trim_start_matches(['+', '-']);
    if body.len() + 1 < t.len() {
        return None; // more than one sign
    }
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        let v = if lower == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return Some(if t.starts_with('-') { -v } else { v });
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Python's `float(v)` on a decoded JSON value: numbers, numeric strings,
/// booleans (`True` is `1.0`). `None` for `null`, arrays and objects (a
/// `TypeError` in Python) and for non-numeric strings (a `ValueError`).
/// Gnocchi applies this to measure values.
#[must_use]
pub fn python_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => python_float_str(s),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Python's `int(str)` (base 10): surrounding whitespace, one sign, `_`
/// between digits. Used for voluptuous `Coerce(int)`.
#[must_use]
pub fn python_int_str(s: &str) -> Option<i128> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = digits.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || !b[b.len() - 1].is_ascii_digit() {
        return None;
    }
    let mut out: i128 = 0;
    for (i, c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                out = out.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
            }
            b'_' if b[i - 1] != b'_' => {}
            _ => return None,
        }
    }
    Some(if neg { -out } else { out })
}

// ---------------------------------------------------------------------------
// pytimeparse

/// A number of seconds as `pytimeparse` returns it: an `int` or a `float`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PySeconds {
    /// Python `int`.
    Int(i128),
    /// Python `float`.
    Float(f64),
}

impl PySeconds {
    /// Python's `int(seconds * 10e8)`: nanoseconds, truncated toward zero.
    fn to_ns(self) -> Result<i64, TimeError> {
        #[allow(clippy::cast_precision_loss)]
        let f = match self {
            PySeconds::Int(i) => i as f64 * 1e9,
            PySeconds::Float(f) => f * 1e9,
        };
        if f.is_nan() {
            return Err(TimeError::NanTimespan);
        }
        #[allow(clippy::cast_precision_loss)]
        if !f.is_finite() || f >= i64::MAX as f64 || f < i64::MIN as f64 {
            return Err(TimeError::InfiniteTimespan);
        }
        #[allow(clippy::cast_possible_truncation)]
        Ok(f as i64)
    }
}

const UNITS_SECS: [(&str, i128); 5] = [
    ("weeks", 604_800),
    ("days", 86_400),
    ("hours", 3_600),
    ("mins", 60),
    ("secs", 1),
];

static PTP_SIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^\s*(?P<sign>[+-])?\s*(?P<unsigned>.*)$").expect("static regex")
});

static PTP_FORMATS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let weeks = r"(?P<weeks>[0-9.]+)\s*(?:w|wks?|weeks?)";
    let days = r"(?P<days>[0-9.]+)\s*(?:d|dys?|days?)";
    let hours = r"(?P<hours>[0-9.]+)\s*(?:h|hrs?|hours?)";
    let mins = r"(?P<mins>[0-9.]+)\s*(?:m|(mins?)|(minutes?))";
    let secs = r"(?P<secs>[0-9.]+)\s*(?:s|secs?|seconds?)";
    let optsep = |x: &str| format!(r"(?:{x}\s*(?:[,/]\s*)?)?");
    let opt = |x: &str| format!(r"(?:{x})?");
    let secclock = r":(?P<secs>[0-9]{2}(?:\.[0-9]+)?)";
    let minclock = r"(?P<mins>[0-9]{1,2}):(?P<secs>[0-9]{2}(?:\.[0-9]+)?)";
    let hourclock = r"(?P<hours>[0-9]+):(?P<mins>[0-9]{2}):(?P<secs>[0-9]{2}(?:\.[0-9]+)?)";
    let dayclock = r"(?P<days>[0-9]+)[:-](?P<hours>[0-9]{2}):(?P<mins>[0-9]{2}):(?P<secs>[0-9]{2}(?:\.[0-9]+)?)";
    let formats = [
        format!(
            r"{}\s*{}\s*{}\s*{}\s*{}",
            optsep(weeks),
            optsep(days),
            optsep(hours),
            optsep(mins),
            opt(secs)
        ),
        minclock.to_owned(),
        format!(r"{}\s*{}\s*{hourclock}", optsep(weeks), optsep(days)),
        dayclock.to_owned(),
        secclock.to_owned(),
    ];
    formats
        .iter()
        .map(|f| Regex::new(&format!(r"(?i)^\s*(?:{f})\s*$")).expect("static regex"))
        .collect()
});

/// An exact decimal `mantissa / 10^scale` (Python's `Decimal` for `[\d.]+`).
fn decimal(v: &str) -> Option<(i128, u32)> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') || v.len() > 30 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let mantissa = if digits.is_empty() {
        0
    } else {
        digits.parse::<i128>().ok()?
    };
    Some((mantissa, u32::try_from(frac.len()).ok()?))
}

/// `pytimeparse.parse(s)` (version 1.1.10): seconds, or `None` when no
/// format matches.
#[must_use]
pub fn pytimeparse(s: &str) -> Option<PySeconds> {
    let caps = PTP_SIGN.captures(s)?;
    let negative = caps.name("sign").is_some_and(|m| m.as_str() == "-");
    let unsigned = caps.name("unsigned").map_or("", |m| m.as_str());
    for re in PTP_FORMATS.iter() {
        let Some(m) = re.captures(unsigned) else {
            continue;
        };
        if m.get(0).is_none_or(|g| g.as_str().trim().is_empty()) {
            continue;
        }
        let parts: Vec<(i128, &str)> = UNITS_SECS
            .iter()
            .filter_map(|(name, mult)| m.name(name).map(|v| (*mult, v.as_str())))
            .collect();
        if let Some(v) = ptp_value(&parts, m.name("secs").map(|v| v.as_str())) {
            return Some(match v {
                PySeconds::Int(i) if negative => PySeconds::Int(-i),
                PySeconds::Float(f) if negative => PySeconds::Float(-f),
                other => other,
            });
        }
    }
    None
}

/// The three evaluation branches of `pytimeparse.timeparse` for one match;
/// `None` where Python's `Decimal`/`float` would raise (next format).
fn ptp_value(parts: &[(i128, &str)], secs: Option<&str>) -> Option<PySeconds> {
    let is_digits = |v: &str| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit());
    if parts.iter().all(|(_, v)| is_digits(v)) {
        let mut total: i128 = 0;
        for (mult, v) in parts {
            total = total.checked_add(mult.checked_mul(v.parse::<i128>().ok()?)?)?;
        }
        return Some(PySeconds::Int(total));
    }
    if secs.is_none_or(is_digits) {
        // Exact decimal sum of the non-seconds parts, truncated, plus secs.
        let mut acc: (i128, u32) = (0, 0);
        for (mult, v) in parts.iter().filter(|(m, _)| *m != 1) {
            let (mant, scale) = decimal(v)?;
            let term = mant.checked_mul(*mult)?;
            let s = acc.1.max(scale);
            let a = acc.0.checked_mul(10i128.checked_pow(s - acc.1)?)?;
            let b = term.checked_mul(10i128.checked_pow(s - scale)?)?;
            acc = (a.checked_add(b)?, s);
        }
        let whole = acc.0 / 10i128.checked_pow(acc.1)?;
        let secs = match secs {
            Some(v) => v.parse::<i128>().ok()?,
            None => 0,
        };
        return Some(PySeconds::Int(whole.checked_add(secs)?));
    }
    let mut total = 0.0f64;
    for (mult, v) in parts {
        if v.is_empty() || v.matches('.').count() > 1 || *v == "." {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let m = *mult as f64;
        total += m * v.parse::<f64>().ok()?;
    }
    Some(PySeconds::Float(total))
}

// ---------------------------------------------------------------------------
// timespans

/// Gnocchi's `to_timespan` seconds: `float(value)`, else `pytimeparse`.
fn timespan_seconds(v: &Value) -> Result<PySeconds, TimeError> {
    match v {
        Value::Null => Err(TimeError::InvalidTimespan),
        Value::String(s) => python_float_str(s)
            .map(PySeconds::Float)
            .or_else(|| pytimeparse(s))
            .ok_or(TimeError::UnparsableTimespan),
        other => python_float(other)
            .map(PySeconds::Float)
            .ok_or(TimeError::UnparsableTimespan),
    }
}

/// `utils.to_timespan(v)` in nanoseconds, sign allowed (what relative
/// timestamps use).
fn timespan_ns_signed(v: &Value) -> Result<i64, TimeError> {
    timespan_seconds(v)?.to_ns()
}

/// Parses a granularity, timespan or resample period as Gnocchi's
/// `utils.to_timespan`: a number of seconds (JSON number or numeric string,
/// fractions allowed) or a `pytimeparse` string (`1h`, `5 minutes`,
/// `7 day`, `30s`, `1 second`, `1:00:00`, `1w 2d`). Returns milliseconds.
///
/// # Errors
/// [`TimeError::InvalidTimespan`] for `null`, [`TimeError::UnparsableTimespan`],
/// [`TimeError::NotPositive`] for `<= 0`, [`TimeError::SubMillisecond`],
/// [`TimeError::NanTimespan`] / [`TimeError::InfiniteTimespan`].
pub fn parse_timespan(v: &Value) -> Result<i64, TimeError> {
    let ns = timespan_ns_signed(v)?;
    if ns <= 0 {
        return Err(TimeError::NotPositive);
    }
    match ns / NS_PER_MS {
        0 => Err(TimeError::SubMillisecond),
        ms => Ok(ms),
    }
}

/// [`parse_timespan`] for a string (query parameters).
///
/// # Errors
/// As [`parse_timespan`].
pub fn parse_timespan_str(s: &str) -> Result<i64, TimeError> {
    parse_timespan(&Value::String(s.to_owned()))
}

// ---------------------------------------------------------------------------
// timestamps

/// How `to_timestamps` reads a list: decided by its **first** element.
enum TsKind {
    Epoch,
    Iso,
    Relative,
}

/// Parses timestamps exactly as Gnocchi's `utils.to_timestamps` does for a
/// list (a batch of measures) and returns Gnocchi's Unix **nanoseconds**.
/// The **first** element decides the format of all of them: Unix epoch
/// seconds (JSON number or numeric string, fractions allowed, computed as
/// `float × 1e9` truncated, so `1425652380.123` is `…122999808` ns), ISO
/// 8601 as numpy reads it (`2014-01-01`, `2014-01-01 12:12:34`,
/// `2014-05-20T10:00:45.856219`, optional `Z`/`±HH[:MM]`, naive = UTC,
/// `now` = now truncated to the second, `today`; a JSON integer in such a
/// list is nanoseconds, as numpy reads it), or a relative `pytimeparse`
/// offset from `now_us` (`-2 days`, `10 minutes`). A list mixing formats
/// is refused, like Gnocchi does.
///
/// # Errors
/// [`TimeError::Unconvertible`], [`TimeError::WrongType`] (first element
/// `null`/array/object), [`TimeError::BeforeEpoch`].
pub fn parse_timestamps_ns(values: &[Value], now_us: i64) -> Result<Vec<i64>, TimeError> {
    let Some(first) = values.first() else {
        return Ok(Vec::new());
    };
    let kind = match first {
        Value::Number(_) | Value::Bool(_) => TsKind::Epoch,
        Value::String(s) if python_float_str(s).is_some() => TsKind::Epoch,
        Value::String(s) if parse_numpy_datetime_ns(s, now_us).is_some() => TsKind::Iso,
        Value::String(_) => TsKind::Relative,
        _ => return Err(TimeError::WrongType),
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let ns = match (&kind, v) {
            (TsKind::Epoch, v) => {
                epoch_seconds_to_ns(python_float(v).ok_or(TimeError::Unconvertible)?)?
            }
            (TsKind::Iso, Value::String(s)) => {
                parse_numpy_datetime_ns(s, now_us).ok_or(TimeError::Unconvertible)?
            }
            (TsKind::Iso, Value::Number(n)) => n.as_i64().ok_or(TimeError::Unconvertible)?,
            (TsKind::Relative, Value::String(_)) => {
                let off = timespan_ns_signed(v).map_err(|_| TimeError::Unconvertible)?;
                now_us
                    .checked_mul(NS_PER_US)
                    .and_then(|n| n.checked_add(off))
                    .ok_or(TimeError::Unconvertible)?
            }
            _ => return Err(TimeError::Unconvertible),
        };
        if ns < 0 {
            return Err(TimeError::BeforeEpoch);
        }
        out.push(ns);
    }
    Ok(out)
}

/// [`parse_timestamps_ns`] in Unix milliseconds (floored): measure
/// timestamps for Altimeter's TSDB.
///
/// # Errors
/// As [`parse_timestamps_ns`].
pub fn parse_timestamps_ms(values: &[Value], now_us: i64) -> Result<Vec<i64>, TimeError> {
    Ok(parse_timestamps_ns(values, now_us)?
        .into_iter()
        .map(|ns| ns.div_euclid(NS_PER_MS))
        .collect())
}

/// [`parse_timestamps_ns`] in Unix microseconds (floored).
///
/// # Errors
/// As [`parse_timestamps_ns`].
pub fn parse_timestamps(values: &[Value], now_us: i64) -> Result<Vec<i64>, TimeError> {
    let ns = parse_timestamps_ns(values, now_us)?;
    Ok(ns.into_iter().map(|ns| ns.div_euclid(NS_PER_US)).collect())
}

/// One timestamp (`utils.to_timestamp`), Unix microseconds (floored from
/// Gnocchi's nanoseconds); for `start`/`stop` query parameters. See
/// [`parse_timestamps_ns`].
///
/// # Errors
/// As [`parse_timestamps_ns`].
pub fn parse_timestamp(v: &Value, now_us: i64) -> Result<i64, TimeError> {
    let ns = parse_timestamps_ns(std::slice::from_ref(v), now_us)?;
    ns.first()
        .map(|ns| ns.div_euclid(NS_PER_US))
        .ok_or(TimeError::Unconvertible)
}

/// [`parse_timestamp`] for a string.
///
/// # Errors
/// As [`parse_timestamps_ns`].
pub fn parse_timestamp_str(s: &str, now_us: i64) -> Result<i64, TimeError> {
    parse_timestamp(&Value::String(s.to_owned()), now_us)
}

/// A resource datetime (`started_at`, `ended_at`: Gnocchi's
/// `utils.to_datetime`), Unix microseconds: the nanoseconds of
/// [`parse_timestamps_ns`] as a float number of seconds, rounded half-even
/// to the microsecond as Python's `datetime.utcfromtimestamp` does (so
/// `1425652380.123` is `.123000`, not `.122999`).
///
/// # Errors
/// As [`parse_timestamps_ns`].
pub fn parse_datetime(v: &Value, now_us: i64) -> Result<i64, TimeError> {
    let ns = parse_timestamps_ns(std::slice::from_ref(v), now_us)?
        .pop()
        .ok_or(TimeError::Unconvertible)?;
    #[allow(clippy::cast_precision_loss)]
    let secs = ns as f64 / 1e9;
    let int = secs.trunc();
    let us = ((secs - int) * 1e6).round_ties_even();
    #[allow(clippy::cast_possible_truncation)]
    Ok(int as i64 * US_PER_S + us as i64)
}

/// numpy's `float64 * 1e9` then `astype('datetime64[ns]')` (truncation).
fn epoch_seconds_to_ns(secs: f64) -> Result<i64, TimeError> {
    let ns = secs * 1e9;
    #[allow(clippy::cast_precision_loss)]
    if !ns.is_finite() || ns >= i64::MAX as f64 || ns <= i64::MIN as f64 {
        return Err(TimeError::Unconvertible);
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(ns as i64)
}

/// Reads `n` ASCII digits at `*i`.
fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let s = b.get(*i..*i + n)?;
    if !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *i += n;
    Some(s.iter().fold(0, |a, c| a * 10 + u32::from(c - b'0')))
}

/// numpy's ISO 8601 reader (`numpy.datetime64(s)` then `[ns]`): Unix ns.
fn parse_numpy_datetime_ns(s: &str, now_us: i64) -> Option<i64> {
    let s = s.trim_start();
    let lower = s.to_ascii_lowercase();
    if lower == "now" {
        return now_us.div_euclid(US_PER_S).checked_mul(1_000_000_000);
    }
    if lower == "today" {
        return now_us
            .div_euclid(86_400 * US_PER_S)
            .checked_mul(86_400 * 1_000_000_000);
    }
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'+'));
    let year = i32::try_from(digits(b, &mut i, 4)?).ok()?;
    let (mut month, mut day) = (1, 1);
    let (mut hour, mut minute, mut second, mut frac_ns) = (0, 0, 0, 0i64);
    let mut offset_s: i64 = 0;
    let mut has_time = false;
    if b.get(i) == Some(&b'-') {
        i += 1;
        month = digits(b, &mut i, 2)?;
        if b.get(i) == Some(&b'-') {
            i += 1;
            day = digits(b, &mut i, 2)?;
            if matches!(b.get(i), Some(b'T' | b' ')) {
                i += 1;
                has_time = true;
                hour = digits(b, &mut i, 2)?;
                if b.get(i) == Some(&b':') {
                    i += 1;
                    minute = digits(b, &mut i, 2)?;
                    if b.get(i) == Some(&b':') {
                        i += 1;
                        second = digits(b, &mut i, 2)?;
                        if b.get(i) == Some(&b'.') {
                            i += 1;
                            let start = i;
                            while b.get(i).is_some_and(u8::is_ascii_digit) {
                                i += 1;
                            }
                            let f = &s[start..i];
                            let f9: String = f.chars().chain("000000000".chars()).take(9).collect();
                            frac_ns = f9.parse().ok()?;
                        }
                    }
                }
                match b.get(i) {
                    Some(b'Z') => i += 1,
                    Some(c @ (b'+' | b'-')) => {
                        let sign = if *c == b'-' { -1 } else { 1 };
                        i += 1;
                        let oh = digits(b, &mut i, 2)?;
                        if b.get(i) == Some(&b':') {
                            i += 1;
                        }
                        let om = if b.get(i).is_some_and(u8::is_ascii_digit) {
                            digits(b, &mut i, 2)?
                        } else {
                            0
                        };
                        if oh >= 24 || om >= 60 {
                            return None;
                        }
                        offset_s = sign * i64::from(oh * 3600 + om * 60);
                    }
                    _ => {}
                }
            }
        }
    }
    let rest = &s[i..];
    if !(rest.is_empty() || has_time && rest.trim().is_empty()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    let secs = NaiveDateTime::new(date, time).and_utc().timestamp() - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

// ---------------------------------------------------------------------------
// rendering

/// Python's `str(datetime.timedelta(milliseconds=ms))`: `0:05:00`,
/// `1:00:00`, `1 day, 0:00:00`, `30 days, 0:00:00`, `0:00:00.500000`,
/// `-1 day, 23:59:59`. This is how Gnocchi prints archive policy
/// granularities and timespans.
#[must_use]
pub fn render_timedelta(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (h, m, s, frac) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out = format!("{days} day{plural}, ");
    }
    out.push_str(&format!("{h}:{m:02}:{s:02}"));
    if frac != 0 {
        out.push_str(&format!(".{:06}", frac * 1000));
    }
    out
}

/// Python's `datetime.isoformat()` of an aware UTC datetime, as Gnocchi
/// prints resource datetimes (`started_at`, `revision_start`…):
/// `2015-03-06T14:33:00+00:00`, with `.123456` only when the microseconds
/// are not zero.
#[must_use]
pub fn render_timestamp_us(us: i64) -> String {
    let secs = us.div_euclid(US_PER_S);
    let micros = us.rem_euclid(US_PER_S);
    let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) else {
        return String::new();
    };
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out.push_str("+00:00");
    out
}

/// How Gnocchi prints measure timestamps (`json.to_primitive` of a
/// `numpy.datetime64`: `datetime_as_string(unit='s') + "+00:00"`): always
/// whole seconds, the fraction **dropped** (floored), e.g.
/// `2015-03-06T14:33:00+00:00`.
#[must_use]
pub fn render_timestamp_ms(ms: i64) -> String {
    render_timestamp_us(ms.div_euclid(1000) * US_PER_S)
}

// ---------------------------------------------------------------------------
// resource ids

/// Gnocchi's namespace for transformed resource ids
/// (`utils.RESOURCE_ID_NAMESPACE`).
pub const RESOURCE_ID_NAMESPACE: u128 = 0x0a7a_15ff_aa13_4ac2_897c_9bdf_30ce_175b;

/// Python's `uuid.uuid5(namespace, name)` (name UTF-8 encoded), formatted
/// lowercase with hyphens.
#[must_use]
pub fn uuid5(namespace: u128, name: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(&namespace.to_be_bytes());
    h.update(name.as_bytes());
    let d = h.digest().bytes();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

/// The uuid5 Gnocchi gives a non-UUID resource id:
/// `uuid5(0a7a15ff-aa13-4ac2-897c-9bdf30ce175b, original + "\0" + creator)`.
/// Gnocchi uses `"\0"` as the creator when it has none (so the name then
/// ends in two NULs): pass `"\0"` for that case.
#[must_use]
pub fn uuid5_resource_id(original: &str, creator: &str) -> String {
    uuid5(RESOURCE_ID_NAMESPACE, &format!("{original}\0{creator}"))
}

/// Python's `uuid.UUID(str)`: drops every `urn:` and `uuid:`, strips `{`/`}`
/// at both ends, removes `-`, then needs 32 characters that `int(x, 16)`
/// reads (surrounding whitespace, `+`, `0x` and `_` between digits
/// included). Returns the canonical lowercase hyphenated form.
#[must_use]
pub fn parse_python_uuid(s: &str) -> Option<String> {
    let h = s.replace("urn:", "").replace("uuid:", "");
    let h = h.trim_matches(['{', '}']).replace('-', "");
    if h.chars().count() != 32 {
        return None;
    }
    let t = h.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let b = t.as_bytes();
    if b.is_empty() || b[0] == b'_' || b[b.len() - 1] == b'_' || t.contains("__") {
        return None;
    }
    let hex: String = t.chars().filter(|c| *c != '_').collect();
    if hex.is_empty() || hex.len() > 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = u128::from_str_radix(&hex, 16).ok()?;
    Some(uuid::Uuid::from_u128(v).hyphenated().to_string())
}

/// Gnocchi's `utils.ResourceUUID(id, creator)`: a UUID is returned as is
/// (normalised to lowercase with hyphens), any other id becomes
/// [`uuid5_resource_id`].
///
/// # Errors
/// [`TimeError::SlashInResourceId`], [`TimeError::ResourceIdTooLong`]
/// (more than 289 characters and not a UUID).
pub fn resource_uuid(id: &str, creator: &str) -> Result<String, TimeError> {
    if id.contains('/') {
        return Err(TimeError::SlashInResourceId);
    }
    if let Some(u) = parse_python_uuid(id) {
        return Ok(u);
    }
    if id.chars().count() > 289 {
        return Err(TimeError::ResourceIdTooLong);
    }
    Ok(uuid5_resource_id(id, creator))
}

// ---------------------------------------------------------------------------
// fnmatch (archive policy rule patterns)

enum Glob {
    Star,
    Any,
    Char(char),
    /// (negated, ranges); an empty set never matches.
    Set(bool, Vec<(char, char)>),
}

/// Compiles a pattern like `fnmatch.translate`.
fn compile_glob(pat: &str) -> Vec<Glob> {
    let p: Vec<char> = pat.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' => {
                if !matches!(out.last(), Some(Glob::Star)) {
                    out.push(Glob::Star);
                }
            }
            '?' => out.push(Glob::Any),
            '[' => {
                let mut j = i;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    out.push(Glob::Char('['));
                    continue;
                }
                let mut stuff = &p[i..j];
                i = j + 1;
                let negated = stuff.first() == Some(&'!');
                if negated {
                    stuff = &stuff[1..];
                }
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < stuff.len() {
                    if k + 2 < stuff.len() && stuff[k + 1] == '-' {
                        if stuff[k] <= stuff[k + 2] {
                            ranges.push((stuff[k], stuff[k + 2]));
                        }
                        k += 3;
                    } else {
                        ranges.push((stuff[k], stuff[k]));
                        k += 1;
                    }
                }
                out.push(Glob::Set(negated, ranges));
            }
            c => out.push(Glob::Char(c)),
        }
    }
    out
}

fn glob_one(g: &Glob, c: char) -> bool {
    match g {
        Glob::Star => true,
        Glob::Any => true,
        Glob::Char(x) => *x == c,
        Glob::Set(neg, ranges) => {
            if ranges.is_empty() {
                return *neg;
            }
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *neg
        }
    }
}

/// Python's `fnmatch.fnmatchcase(name, pattern)`.
#[must_use]
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let pat = compile_glob(pattern);
    let s: Vec<char> = name.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        match pat.get(pi) {
            Some(Glob::Star) => {
                backtrack = Some((pi, si));
                pi += 1;
            }
            Some(g) if glob_one(g, s[si]) => {
                pi += 1;
                si += 1;
            }
            _ => match backtrack {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    backtrack = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    pat[pi..].iter().all(|g| matches!(g, Glob::Star))
}

#[cfg(test)]
#[path = "timefmt_tests.rs"]
mod tests;
