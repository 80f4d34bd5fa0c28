//! Python renderings (repr, str, float) and ISO 8601 as the `iso8601` package parses it.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use regex::Regex;

// ---------------------------------------------------------------------------
// Python renderings and ISO 8601
// ---------------------------------------------------------------------------

#[cfg(test)]
pub(crate) use altimeter_model::pyfmt::float_repr as py_float_repr;
pub(crate) use altimeter_model::pyfmt::{repr as py_repr, str as py_str, str_repr as py_str_repr};

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
