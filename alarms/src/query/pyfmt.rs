//! Python renderings (repr, str, float) and ISO 8601 as the `iso8601` package parses it.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use regex::Regex;
use serde_json::{Number, Value};

// ---------------------------------------------------------------------------
// Python renderings and ISO 8601
// ---------------------------------------------------------------------------

/// Python `repr()` of the value `json.loads` would produce.
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => py_number(n),
        Value::String(s) => py_str_repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python `str()`: strings bare, everything else as `repr()`.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

pub(crate) fn py_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        py_float_repr(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Python `repr(float)`: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16.
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let decpt = exp + 1;
    let body = if !(-3..=16).contains(&decpt) {
        let m = if digits.len() == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else if decpt >= n {
        format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (a, b) = digits.split_at(decpt as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

/// Python `repr(str)`.
pub(crate) fn py_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let v = u32::from(c);
                if v < 0x100 {
                    out.push_str(&format!("\\x{v:02x}"));
                } else {
                    out.push_str(&format!("\\u{v:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

pub(crate) static ISO8601: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^
        (?P<year>[0-9]{4})
        (
            (
                (-(?P<monthdash>[0-9]{1,2}))
                |
                (?P<month>[0-9]{2})
            )
            (
                (
                    (-(?P<daydash>[0-9]{1,2}))
                    |
                    (?P<day>[0-9]{2})
                )
                (
                    (?P<separator>[\x20T])
                    (?P<hour>[0-9]{2})
                    (:?(?P<minute>[0-9]{2}))?
                    (
                        :?(?P<second>[0-9]{1,2})
                        ([.,](?P<second_fraction>[0-9]+))?
                    )?
                    (?P<timezone>
                        Z
                        |
                        (
                            (?P<tz_sign>[-+])
                            (?P<tz_hour>[0-9]{2})
                            :?
                            (?P<tz_minute>[0-9]{2})?
                        )
                    )?
                )?
            )?
        )?
        \n?\z",
    )
    .expect("ISO 8601 regex is valid")
});

/// Parses ISO 8601 as the `iso8601` package does (what oslo's
/// `timeutils.parse_isotime` uses): `YYYY`, `YYYY-MM`, `YYYYMMDD`, optional
/// `T`/space time with optional seconds, fraction and `Z`/`±HH[:MM]`.
/// Returns the wall time and the UTC offset in seconds, if one was given.
pub(crate) fn parse_iso8601(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let c = ISO8601.captures(s)?;
    // The iso8601 package refuses `YYYYMM` with a look-ahead.
    if c.name("month").is_some() && c.name("day").is_none() && c.name("daydash").is_none() {
        return None;
    }
    let num = |names: &[&str], default: u32| -> Option<u32> {
        match names.iter().find_map(|n| c.name(n)) {
            Some(m) => m.as_str().parse().ok(),
            None => Some(default),
        }
    };
    let year: i32 = c.name("year")?.as_str().parse().ok()?;
    if year < 1 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        year,
        num(&["month", "monthdash"], 1)?,
        num(&["day", "daydash"], 1)?,
    )?;
    let micro = c.name("second_fraction").map_or(0, |m| {
        let d: String = m
            .as_str()
            .chars()
            .chain(std::iter::repeat('0'))
            .take(6)
            .collect();
        d.parse().unwrap_or(0)
    });
    let time = NaiveTime::from_hms_micro_opt(
        num(&["hour"], 0)?,
        num(&["minute"], 0)?,
        num(&["second"], 0)?,
        micro,
    )?;
    let offset = match c.name("timezone").map(|m| m.as_str()) {
        None => None,
        Some("Z") => Some(0),
        Some(_) => {
            let h: i32 = c.name("tz_hour")?.as_str().parse().ok()?;
            let m: i32 = c
                .name("tz_minute")
                .map_or(Some(0), |m| m.as_str().parse().ok())?;
            let secs = h * 3600 + m * 60;
            if secs >= 86_400 {
                return None;
            }
            Some(if c.name("tz_sign").map(|m| m.as_str()) == Some("-") {
                -secs
            } else {
                secs
            })
        }
    };
    Some((date.and_time(time), offset))
}

/// oslo `normalize_time`: to naive UTC.
pub(crate) fn normalize(dt: NaiveDateTime, offset: Option<i32>) -> NaiveDateTime {
    offset.map_or(dt, |o| dt - TimeDelta::seconds(i64::from(o)))
}

/// Python `datetime.isoformat()` of a naive date-time.
pub(crate) fn isoformat(dt: NaiveDateTime) -> String {
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let micros = dt.and_utc().timestamp_subsec_micros();
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}
