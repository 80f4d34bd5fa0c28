//! Prometheus-style durations (`model.ParseDuration`): `30d`, `1h30m`,
//! `500ms`, `0` — one parser and printer for the configuration, the HTTP
//! API and the test tools.

/// Duration units, largest first, in milliseconds.
pub const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
];

/// Why a duration does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not `<digits><unit>…` with a known unit (or empty).
    Syntax,
    /// Units not from largest to smallest, or one repeated.
    Order,
    /// More milliseconds than a `u64` holds.
    TooLarge,
}

/// Parses `0` or `[Ny][Nw][Nd][Nh][Nm][Ns][Nms]` (at least one part, whole
/// numbers, units from largest to smallest, each at most once) into
/// milliseconds, exactly the strings Prometheus's `model.ParseDuration`
/// accepts.
///
/// # Errors
/// Which rule the input breaks.
pub fn parse_duration(s: &str) -> Result<u64, DurationError> {
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(DurationError::Syntax);
    }
    let (mut rest, mut total, mut next_unit) = (s, 0u64, 0);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let end = rest[digits..]
            .find(|c: char| !c.is_ascii_alphabetic())
            .map_or(rest.len(), |n| n + digits);
        let unit = UNITS.iter().position(|(u, _)| *u == &rest[digits..end]);
        let (Some(unit), true) = (unit, digits > 0) else {
            return Err(DurationError::Syntax);
        };
        if unit < next_unit {
            return Err(DurationError::Order);
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::TooLarge)?;
        total = n
            .checked_mul(UNITS[unit].1)
            .and_then(|v| v.checked_add(total))
            .ok_or(DurationError::TooLarge)?;
        (next_unit, rest) = (unit + 1, &rest[end..]);
    }
    Ok(total)
}

/// Prints milliseconds as Prometheus's `model.Duration` does: largest
/// units first, years and weeks only when they divide the whole duration
/// (`90d`, not `12w6d`), zero as `0s`.
#[must_use]
pub fn format_duration(ms: u128) -> String {
    use std::fmt::Write;
    if ms == 0 {
        return "0s".to_owned();
    }
    let (mut rest, mut out) = (ms, String::new());
    for (unit, size) in UNITS.map(|(u, n)| (u, u128::from(n))) {
        let exact_only = unit == "y" || unit == "w";
        if exact_only && !rest.is_multiple_of(size) {
            continue;
        }
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784_005));
        assert_eq!(parse_duration("1y"), Ok(365 * 86_400_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        for bad in ["", "1", "h", "1.5h", "-1h", "1x", " 1h", "1h "] {
            assert_eq!(parse_duration(bad), Err(DurationError::Syntax), "{bad:?}");
        }
        assert_eq!(parse_duration("30m1h"), Err(DurationError::Order));
        assert_eq!(parse_duration("1h1h"), Err(DurationError::Order));
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::TooLarge)
        );
    }

    #[test]
    fn prints_like_prometheus() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(300_000), "5m");
        assert_eq!(format_duration(90 * 86_400_000), "90d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(14 * 86_400_000 + 3_600_000), "14d1h");
        assert_eq!(format_duration(5_400_500), "1h30m500ms");
        for ms in [1u128, 999, 61_000, 86_400_000 * 400 + 7] {
            assert_eq!(parse_duration(&format_duration(ms)).map(u128::from), Ok(ms));
        }
    }
}
