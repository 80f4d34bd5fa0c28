//! Request parameters as Prometheus reads them: form values from the URL
//! and a form-encoded body, timestamps (RFC 3339 or Unix seconds),
//! durations (`15s`, `1h30m` or float seconds) and `match[]` selectors.

use altimeter_model::{MatchOp, Matcher};
use axum::extract::Request;
use axum::http::{Method, header};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::Expr;

/// Largest form body read (Go's `ParseForm` limit).
const MAX_FORM_BYTES: usize = 10 << 20;

/// Smallest timestamp Prometheus accepts: `minTime` of its API, in ms.
pub const MIN_TIME_MS: i64 = (i64::MIN / 1000 + 62_135_596_801) * 1000;
/// Largest timestamp Prometheus accepts: `maxTime` of its API, in ms.
pub const MAX_TIME_MS: i64 = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;
/// How Go prints `minTime` (clients send it back verbatim).
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
/// How Go prints `maxTime`.
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// The form values of a request: the body's (for a form-encoded POST)
/// first, then the URL's, as Go's `Request.Form`.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the URL query and, for a form-encoded POST, the body.
    pub async fn read(req: Request) -> Result<Self, String> {
        let (parts, body) = req.into_parts();
        let mut v = Vec::new();
        let form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| {
                c.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if parts.method == Method::POST && form {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|e| format!("error parsing form values: {e}"))?;
            v.extend(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        if let Some(q) = parts.uri.query() {
            v.extend(
                form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        Ok(Self(v))
    }

    /// Parameters from pairs (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value of `name`, `""` when absent (Go's `FormValue`).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Parses a timestamp like Prometheus: Unix seconds as a float (rounded to
/// the millisecond) or RFC 3339 with optional fractional seconds. Returns
/// milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let cannot = || format!("cannot parse {s:?} to a valid timestamp");
    if let Some(f) = parse_go_float(s) {
        if !f.is_finite() {
            return Err(cannot());
        }
        let secs = f.trunc();
        let ms = secs * 1000.0 + ((f - secs) * 1000.0).round();
        if !(MIN_TIME_MS as f64..=MAX_TIME_MS as f64).contains(&ms) {
            return Err(cannot());
        }
        return Ok(ms as i64);
    }
    match s {
        MIN_TIME_TEXT => return Ok(MIN_TIME_MS),
        MAX_TIME_TEXT => return Ok(MAX_TIME_MS),
        _ => {}
    }
    parse_rfc3339(s).ok_or_else(cannot)
}

/// What Go's `strconv.ParseFloat` accepts, near enough: decimal and
/// exponent forms, `Inf`/`NaN` spellings; no Rust-only forms.
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let special = ["inf", "infinity", "nan"]
        .iter()
        .any(|w| body.eq_ignore_ascii_case(w));
    let plain = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if special || plain {
        s.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → milliseconds (truncated).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_ms = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
        let digits = &s[start..i];
        let padded = format!("{digits:0<3}");
        frac_ms = padded[..3].parse().ok()?;
    }
    let offset_s = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let h = i64::from(h1 - b'0') * 10 + i64::from(h2 - b'0');
            let m = i64::from(m1 - b'0') * 10 + i64::from(m2 - b'0');
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration like Prometheus's API: float seconds, or `1h30m`
/// style (units `y w d h m s ms`, largest first). Returns nanoseconds
/// (Go's `time.Duration`).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Some(f) = parse_go_float(s) {
        let ns = f * 1e9;
        if ns.is_nan() {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        if ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ns as i64);
    }
    parse_model_duration(s)
        .map(|ms| ms.saturating_mul(1_000_000))
        .ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Prometheus's `model.ParseDuration`, in milliseconds; `None` when invalid
/// or too large.
pub fn parse_model_duration(s: &str) -> Option<i64> {
    altimeter_model::duration::parse_duration(s)
        .ok()
        .and_then(|ms| i64::try_from(ms).ok())
}

/// Parses `match[]` values (series selectors) into matcher sets. Rejects a
/// selector whose matchers all match the empty string.
pub fn parse_match_params(values: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut sets = Vec::new();
    for s in values {
        sets.extend(parse_selector(s)?);
    }
    Ok(sets)
}

const EMPTY_MATCHERS: &str = "match[] must contain at least one non-empty matcher";

/// One series selector → one matcher set (several for `or` alternatives).
fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, String> {
    let expr = match crate::promql::parse(s).map_err(|e| e.to_string()) {
        Ok(e) => e,
        // The parser refuses `{}` and `{a=~".*"}` as queries; as `match[]`
        // Prometheus reports them in its own words.
        Err(e) if e.contains("at least one non-empty matcher") => {
            return Err(EMPTY_MATCHERS.to_string());
        }
        Err(e) => return Err(e),
    };
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!(
            "1:1: parse error: unexpected expression {s:?}, expected a series selector"
        ));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(format!(
            "parse error: a series selector may not carry offset or @: {s:?}"
        ));
    }
    let name = vs
        .name
        .as_ref()
        .map(|n| Matcher::equal(altimeter_model::METRIC_NAME, n.clone()));
    let groups: Vec<&Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![&vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers.iter().collect()
    };
    let mut sets = Vec::with_capacity(groups.len());
    for g in groups {
        let mut set: Vec<Matcher> = name.iter().cloned().collect();
        for m in g {
            let op = match m.op {
                PMatchOp::Equal => MatchOp::Equal,
                PMatchOp::NotEqual => MatchOp::NotEqual,
                PMatchOp::Re(_) => MatchOp::Regex,
                PMatchOp::NotRe(_) => MatchOp::NotRegex,
            };
            set.push(Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| e.to_string())?);
        }
        if set.iter().all(Matcher::matches_empty) {
            return Err(EMPTY_MATCHERS.to_string());
        }
        sets.push(set);
    }
    Ok(sets)
}

/// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_label_name(name: &str) -> bool {
    altimeter_model::labels::is_valid_label_name(name.as_bytes())
}
