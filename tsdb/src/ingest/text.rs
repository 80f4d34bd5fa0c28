//! Parser for the Prometheus text exposition format, as accepted by
//! VictoriaMetrics' `/api/v1/import/prometheus` backfill endpoint.
//!
//! # Format
//!
//! One sample per line:
//!
//! ```text
//! # HELP x ...                                   comment: skipped
//! metric_name{label="value",other="v\"q\\n"} 1.5e3 1700000000123
//! metric_name 42
//! {__name__="m", a="b"} 1 1700000000000
//! ```
//!
//! * A line is a series, whitespace, a value and an optional timestamp.
//!   Blank lines and lines starting with `#` (HELP, TYPE, comments) are
//!   skipped. Lines end with `\n` or `\r\n`; spaces and tabs may separate
//!   tokens.
//! * The series is a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), optionally
//!   followed by `{name="value", ...}`. The metric name may instead be given
//!   as the `__name__` label inside the braces, but not both. A trailing
//!   comma inside the braces is allowed; a label name may appear only once.
//! * Label values are double-quoted UTF-8 with the escapes `\\`, `\"` and
//!   `\n`; any other escape is an error. An empty value means "no label".
//! * The value uses Go's float syntax: decimal with optional exponent, or
//!   `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity` (case-insensitive). `NaN`
//!   parses to the bits of Go's `math.NaN()` (`0x7ff8000000000001`), as in
//!   Prometheus and VictoriaMetrics, which is never the staleness marker.
//! * The timestamp is an integer number of milliseconds since the epoch,
//!   possibly negative; when absent the caller's `now_ms` is used.
//!
//! # Semantics
//!
//! `extra_labels` (VictoriaMetrics' `extra_label=name=value`) are added to
//! every series and replace same-named labels of the line. The whole body is
//! parsed before anything is returned: the first problem aborts the parse with
//! a [`TextError`] naming its 1-based line, so callers store all or nothing.
//! Samples are grouped by series in order of first appearance, each series
//! keeping its samples in input order.
//!
//! Lines whose raw series text (the bytes before the value) was already seen
//! reuse the earlier result without re-parsing or allocating, which makes
//! backfills (the same series over and over with new timestamps) cheap.

use std::borrow::Cow;

use altimeter_model::labels::{is_valid_label_name, is_valid_metric_name};
use altimeter_model::{Label, LabelError, Labels, METRIC_NAME, Sample};

/// Samples of one series from a text body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSeries {
    /// The series' labels: sorted, with a valid metric name.
    pub labels: Labels,
    /// Its samples in input order.
    pub samples: Vec<Sample>,
}

/// Why a text body was rejected.
///
/// `line` is 1-based; it is 0 when the problem lies in the `extra_labels`
/// given to [`parse_exposition`] rather than in the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TextError {
    /// 1-based line number of the offending line (0: the extra labels).
    pub line: usize,
    /// What is wrong, quoting at most about 100 characters of input.
    pub message: String,
}

/// The bits of Go's `math.NaN()`, what Prometheus stores for a `NaN` value.
const GO_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// At most this many characters of input are quoted in an error message.
const MAX_QUOTE_CHARS: usize = 100;

/// Parses a whole exposition-format `body` into series and their samples.
///
/// Samples without a timestamp get `now_ms`; `extra_labels` are added to
/// every series, replacing labels of the same name. Returns the series in
/// order of first appearance, or the first error found.
pub fn parse_exposition(
    body: &[u8],
    now_ms: i64,
    extra_labels: &[Label],
) -> Result<Vec<ParsedSeries>, TextError> {
    check_extra_labels(extra_labels).map_err(|message| TextError { line: 0, message })?;
    let mut g = Grouper::default();
    for (i, line) in lines(body).enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = trim_start(line);
        if matches!(line.first(), None | Some(b'#')) {
            continue;
        }
        g.line(line, now_ms, extra_labels)
            .map_err(|message| TextError {
                line: i + 1,
                message,
            })?;
    }
    Ok(g.out)
}

/// The output being built and the indexes that find a series in it.
#[derive(Debug, Default)]
struct Grouper<'a> {
    out: Vec<ParsedSeries>,
    /// Raw series text (bytes before the value) to index in `out`.
    by_raw: foldhash::HashMap<&'a [u8], usize>,
    /// Sorted label set to index in `out`, for differently written series.
    by_labels: foldhash::HashMap<Labels, usize>,
}

impl<'a> Grouper<'a> {
    /// Parses one non-blank, non-comment line with leading whitespace removed.
    fn line(&mut self, line: &'a [u8], now_ms: i64, extra: &[Label]) -> Result<(), String> {
        let (raw, rest) = line.split_at(scan_series(line));
        let idx = match self.by_raw.get(raw) {
            Some(&idx) => idx,
            None => {
                let labels = parse_series(raw, extra)?;
                let idx = match self.by_labels.get(&labels) {
                    Some(&idx) => idx,
                    None => {
                        let idx = self.out.len();
                        self.by_labels.insert(labels.clone(), idx);
                        self.out.push(ParsedSeries {
                            labels,
                            samples: Vec::new(),
                        });
                        idx
                    }
                };
                self.by_raw.insert(raw, idx);
                idx
            }
        };
        let sample = parse_sample(rest, now_ms)?;
        // `idx` always indexes `out`; `get_mut` keeps this panic-free anyway.
        if let Some(series) = self.out.get_mut(idx) {
            series.samples.push(sample);
        }
        Ok(())
    }
}

/// Rejects extra labels with invalid or duplicate names or an invalid
/// metric name.
fn check_extra_labels(extra: &[Label]) -> Result<(), String> {
    for (i, l) in extra.iter().enumerate() {
        let (name, value) = (quote(l.name.as_bytes()), quote(l.value.as_bytes()));
        if !is_valid_label_name(l.name.as_bytes()) {
            return Err(format!("invalid extra label name {name}"));
        }
        if extra[..i].iter().any(|e| e.name == l.name) {
            return Err(format!("duplicate extra label name {name}"));
        }
        let bad_metric = !l.value.is_empty() && !is_valid_metric_name(l.value.as_bytes());
        if l.name == METRIC_NAME && bad_metric {
            return Err(format!("invalid metric name {value} in extra labels"));
        }
    }
    Ok(())
}

/// The end of the leading name token: the first whitespace or `{`.
fn name_end(s: &[u8]) -> usize {
    s.iter()
        .position(|&b| is_ws(b) || b == b'{')
        .unwrap_or(s.len())
}

/// The lines of `body` split at `\n` (like `body.split(..)`, so a trailing
/// newline yields a final empty line), searching eight bytes at a time.
fn lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let s = rest?;
        match find_newline(s) {
            Some(i) => {
                rest = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => rest.take(),
        }
    })
}

/// Index of the first `\n` in `s`.
fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    let mut chunks = s.chunks_exact(8);
    for (n, c) in (&mut chunks).enumerate() {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let x = w ^ (LO * u64::from(b'\n'));
        // The lowest set high bit marks the first zero byte of `x` exactly.
        let found = x.wrapping_sub(LO) & !x & (LO << 7);
        if found != 0 {
            return Some(n * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail = chunks.remainder();
    let pos = tail.iter().position(|&b| b == b'\n')?;
    Some(s.len() - tail.len() + pos)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_ws(b)).count();
    &s[n..]
}

fn skip_ws(s: &[u8], mut pos: usize) -> usize {
    while s.get(pos).is_some_and(|&b| is_ws(b)) {
        pos += 1;
    }
    pos
}

/// Where the series text of `line` ends, found without validating it: the
/// name token, then a brace block (quote- and escape-aware) if one follows.
/// An unterminated block runs to the end of the line (parsing then fails).
fn scan_series(line: &[u8]) -> usize {
    let name_end = name_end(line);
    let open = skip_ws(line, name_end);
    if line.get(open) != Some(&b'{') {
        return name_end;
    }
    let mut i = open + 1;
    let mut in_quote = false;
    while let Some(&b) = line.get(i) {
        match b {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'}' if !in_quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    line.len()
}

/// Fully parses and validates raw series text into its label set, with the
/// extra labels applied.
fn parse_series(raw: &[u8], extra: &[Label]) -> Result<Labels, String> {
    let name_end = name_end(raw);
    let name = &raw[..name_end];
    let mut pairs: Vec<(&str, Cow<'_, str>)> = Vec::new();
    if !name.is_empty() {
        if !is_valid_metric_name(name) {
            return Err(format!("invalid metric name {}", quote(name)));
        }
        pairs.push((METRIC_NAME, Cow::Borrowed(ascii(name)?)));
    }
    let pos = skip_ws(raw, name_end);
    match raw.get(pos) {
        None => {}
        Some(b'{') => {
            let end = parse_labels(raw, pos + 1, !name.is_empty(), &mut pairs)?;
            if end != raw.len() {
                let q = quote(&raw[end..]);
                return Err(format!("unexpected text after '}}': {q}"));
            }
        }
        Some(_) => {
            return Err(format!(
                "expected '{{' after the name, found {}",
                found(&raw[pos..])
            ));
        }
    }
    pairs.retain(|(n, _)| !extra.iter().any(|e| e.name == *n));
    let labels = Labels::from_pairs(
        pairs
            .iter()
            .map(|(n, v)| (*n, v.as_ref()))
            .chain(extra.iter().map(|l| (l.name.as_str(), l.value.as_str()))),
    )
    .map_err(label_error)?;
    labels.validate_series().map_err(label_error)?;
    Ok(labels)
}

/// Parses `name="value", ...}` starting just after `{`; returns the position
/// after the closing `}`.
fn parse_labels<'a>(
    raw: &'a [u8],
    mut pos: usize,
    has_name: bool,
    pairs: &mut Vec<(&'a str, Cow<'a, str>)>,
) -> Result<usize, String> {
    loop {
        pos = skip_ws(raw, pos);
        match raw.get(pos) {
            None => return Err("unterminated label set: expected '}', found end of line".into()),
            Some(b'}') => return Ok(pos + 1),
            Some(_) => {}
        }
        let start = pos;
        while raw
            .get(pos)
            .is_some_and(|&b| !is_ws(b) && !matches!(b, b'=' | b',' | b'}' | b'{' | b'"'))
        {
            pos += 1;
        }
        let lname = &raw[start..pos];
        if lname.is_empty() {
            let f = found(&raw[pos..]);
            return Err(format!("expected a label name, found {f}"));
        }
        if !is_valid_label_name(lname) {
            return Err(format!("invalid label name {}", quote(lname)));
        }
        let lname = ascii(lname)?;
        pos = skip_ws(raw, pos);
        if raw.get(pos) != Some(&b'=') {
            let f = found(&raw[pos..]);
            return Err(format!("expected '=' after label {lname:?}, found {f}"));
        }
        pos = skip_ws(raw, pos + 1);
        if raw.get(pos) != Some(&b'"') {
            let f = found(&raw[pos..]);
            return Err(format!(
                "expected '\"' to open the value of {lname:?}, found {f}"
            ));
        }
        let (value, next) = parse_quoted(raw, pos + 1, lname)?;
        if lname == METRIC_NAME {
            if has_name {
                return Err("metric name given both before the braces and as __name__".into());
            }
            if !value.is_empty() && !is_valid_metric_name(value.as_bytes()) {
                return Err(format!("invalid metric name {}", quote(value.as_bytes())));
            }
        }
        if pairs.iter().any(|(n, _)| *n == lname) {
            return Err(format!("duplicate label name {lname:?}"));
        }
        pairs.push((lname, value));
        pos = skip_ws(raw, next);
        match raw.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => {}
            _ => {
                let f = found(&raw[pos..]);
                return Err(format!(
                    "expected ',' or '}}' after label {lname:?}, found {f}"
                ));
            }
        }
    }
}

/// Parses a quoted label value starting just after the opening quote;
/// returns it unescaped and the position after the closing quote.
fn parse_quoted<'a>(
    raw: &'a [u8],
    start: usize,
    lname: &str,
) -> Result<(Cow<'a, str>, usize), String> {
    let unterminated = || format!("unterminated value of label {lname:?}: missing closing '\"'");
    let mut owned: Option<Vec<u8>> = None;
    let mut seg = start;
    let mut i = start;
    loop {
        match raw.get(i) {
            None => return Err(unterminated()),
            Some(b'"') => break,
            Some(b'\\') => {
                let c = match raw.get(i + 1) {
                    Some(b'\\') => b'\\',
                    Some(b'"') => b'"',
                    Some(b'n') => b'\n',
                    Some(_) => {
                        let f = found(&raw[i + 1..]);
                        let f = f.trim_matches('"');
                        return Err(format!(
                            r#"invalid escape \{f} in label {lname:?}: only \\ \" \n are allowed"#
                        ));
                    }
                    None => return Err(unterminated()),
                };
                let buf = owned.get_or_insert_with(Vec::new);
                buf.extend_from_slice(&raw[seg..i]);
                buf.push(c);
                i += 2;
                seg = i;
            }
            Some(_) => i += 1,
        }
    }
    let not_utf8 = || format!("value of label {lname:?} is not valid UTF-8");
    let value = match owned {
        None => Cow::Borrowed(std::str::from_utf8(&raw[start..i]).map_err(|_| not_utf8())?),
        Some(mut buf) => {
            buf.extend_from_slice(&raw[seg..i]);
            Cow::Owned(String::from_utf8(buf).map_err(|_| not_utf8())?)
        }
    };
    Ok((value, i + 1))
}

/// Parses what follows the series: whitespace, value, optional timestamp.
fn parse_sample(rest: &[u8], now_ms: i64) -> Result<Sample, String> {
    match rest.first() {
        None => return Err("expected a value after the series, found end of line".into()),
        Some(&b) if !is_ws(b) => {
            let f = found(rest);
            return Err(format!("expected whitespace after the series, found {f}"));
        }
        Some(_) => {}
    }
    let (value, rest) = next_token(rest);
    if value.is_empty() {
        return Err("expected a value after the series, found end of line".into());
    }
    let v = parse_value(value).ok_or_else(|| format!("invalid value {}", quote(value)))?;
    let (ts, rest) = next_token(rest);
    let t = if ts.is_empty() {
        now_ms
    } else {
        parse_timestamp(ts)?
    };
    let rest = trim_start(rest);
    if !rest.is_empty() {
        let q = quote(rest);
        return Err(format!("unexpected text after the timestamp: {q}"));
    }
    Ok(Sample::new(t, v))
}

/// Skips whitespace, then splits off the next whitespace-delimited token.
fn next_token(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    let end = s.iter().position(|&b| is_ws(b)).unwrap_or(s.len());
    s.split_at(end)
}

/// A value in Go's `strconv.ParseFloat` syntax (without hex floats).
fn parse_value(tok: &[u8]) -> Option<f64> {
    let (neg, body) = match tok.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if tok.eq_ignore_ascii_case(b"nan") {
        return Some(f64::from_bits(GO_NAN_BITS));
    }
    // Rust's parser accepts the same decimal syntax, plus words we filter out here.
    if !tok
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    std::str::from_utf8(tok).ok()?.parse().ok()
}

/// A timestamp: an optionally signed integer number of milliseconds.
fn parse_timestamp(tok: &[u8]) -> Result<i64, String> {
    let digits = tok.strip_prefix(b"-").or_else(|| tok.strip_prefix(b"+"));
    let digits = digits.unwrap_or(tok);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        let q = quote(tok);
        return Err(format!(
            "invalid timestamp {q}: must be an integer number of milliseconds"
        ));
    }
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("timestamp {} is out of range", quote(tok)))
}

/// `s` as a `&str`; only called on names already checked to be ASCII.
fn ascii(s: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(s).map_err(|_| format!("invalid name {}", quote(s)))
}

/// A label error as a message, with quoted input capped.
fn label_error(e: LabelError) -> String {
    match e {
        LabelError::InvalidMetricName(n) => format!("invalid metric name {}", quote(n.as_bytes())),
        LabelError::InvalidLabelName(n) => format!("invalid label name {}", quote(n.as_bytes())),
        LabelError::DuplicateLabel(n) => format!("duplicate label name {}", quote(n.as_bytes())),
        other => other.to_string(),
    }
}

/// `s` as a quoted string of at most [`MAX_QUOTE_CHARS`] characters
/// (invalid UTF-8 shown as U+FFFD), with `...` appended when cut.
fn quote(s: &[u8]) -> String {
    let head = &s[..s.len().min(MAX_QUOTE_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let cut = head.len() < s.len() || text.chars().nth(MAX_QUOTE_CHARS).is_some();
    let shown: String = text.chars().take(MAX_QUOTE_CHARS).collect();
    format!("{shown:?}{}", if cut { "..." } else { "" })
}

/// The next character of `rest` quoted, or `end of line`.
fn found(rest: &[u8]) -> String {
    let head = String::from_utf8_lossy(&rest[..rest.len().min(4)]);
    match head.chars().next() {
        None => "end of line".into(),
        Some(c) => format!("{:?}", c.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Vec<ParsedSeries> {
        parse_exposition(body.as_bytes(), 999, &[]).unwrap()
    }

    fn err(body: &str) -> String {
        parse_exposition(body.as_bytes(), 999, &[])
            .unwrap_err()
            .to_string()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn times(s: &ParsedSeries) -> Vec<i64> {
        s.samples.iter().map(|s| s.t).collect()
    }

    #[test]
    fn all_syntax_forms() {
        let body = "# HELP x some help\n# TYPE x counter\n\n\
            metric_name{label=\"value\",other=\"v\\\"q\\\\n\"} 1.5e3 1700000000123\n\
            metric_name 42\r\n\
            {__name__=\"m\", a=\"b\"} 1 1700000000000\n\
            \t  spaced \t{ z = \"1\" , a=\"2\", }\t-3.5\t -17  \n\
            empty{} .5 +12\n\
            colon:name{a=\"\"} 5.\n   \n# trailing comment";
        let out = parse(body);
        assert_eq!(out.len(), 6);
        let want = [
            ("__name__", "metric_name"),
            ("label", "value"),
            ("other", "v\"q\\n"),
        ];
        assert_eq!(out[0].labels, labels(&want));
        assert_eq!(out[0].samples, [Sample::new(1_700_000_000_123, 1500.0)]);
        assert_eq!(out[1].labels, labels(&[("__name__", "metric_name")]));
        assert_eq!(out[1].samples, [Sample::new(999, 42.0)]);
        assert_eq!(out[2].labels, labels(&[("__name__", "m"), ("a", "b")]));
        assert_eq!(out[2].samples, [Sample::new(1_700_000_000_000, 1.0)]);
        let want = [("__name__", "spaced"), ("a", "2"), ("z", "1")];
        assert_eq!(out[3].labels, labels(&want));
        assert_eq!(out[3].samples, [Sample::new(-17, -3.5)]);
        assert_eq!(out[4].samples, [Sample::new(12, 0.5)]);
        assert_eq!(out[5].labels, labels(&[("__name__", "colon:name")]));
        assert_eq!(out[5].samples, [Sample::new(999, 5.0)]);
        assert!(parse("").is_empty());
        assert!(parse("\n\r\n# only comments\n").is_empty());
    }

    #[test]
    fn escapes_and_utf8() {
        let out = parse("m{a=\"x\\ny\\\\z\\\"\",b=\"héllo ✓ {},=\"} 1");
        assert_eq!(out[0].labels.get("a"), Some("x\ny\\z\""));
        assert_eq!(out[0].labels.get("b"), Some("héllo ✓ {},="));
        let e = parse_exposition(b"m 1\nm{a=\"\xff\"} 1", 0, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: value of label \"a\" is not valid UTF-8"
        );
        let e = parse_exposition(b"m 1\nm{a=\"\\n\xff\"} 1", 0, &[]).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn special_values_and_bits() {
        let out = parse("a NaN\na nan\na +Inf\na -inf\na Inf\na INFINITY\na -0\na 1e-3 5");
        let v: Vec<u64> = out[0].samples.iter().map(|s| s.v.to_bits()).collect();
        let (inf, ninf) = (f64::INFINITY.to_bits(), f64::NEG_INFINITY.to_bits());
        let nan = 0x7ff8_0000_0000_0001;
        let want = [
            nan,
            nan,
            inf,
            ninf,
            inf,
            inf,
            (-0.0f64).to_bits(),
            0.001f64.to_bits(),
        ];
        assert_eq!(v, want);
        assert_eq!(out[0].samples[7].t, 5);
    }

    #[rustfmt::skip]
    const ERRORS: &[(&str, &str)] = &[
        ("a 1\nb 2\n1a{x=\"y\"} 3", "line 3: invalid metric name \"1a\""),
        ("a 1\n\n{1a=\"y\"} 3", "line 3: invalid label name \"1a\""),
        ("a 1\na{b-c=\"y\"} 3", "line 2: invalid label name \"b-c\""),
        ("\n\n\n\n\n\nm{a=\"b\"}", "line 7: expected a value after the series, found end of line"),
        ("m   \t", "line 1: expected a value after the series, found end of line"),
        ("m{a=\"b\"}1", "line 1: expected whitespace after the series, found \"1\""),
        ("m{a=\"b\"}} 1", "line 1: expected whitespace after the series, found \"}\""),
        ("m abc", "line 1: invalid value \"abc\""),
        ("m 0x10", "line 1: invalid value \"0x10\""),
        ("m +NaN", "line 1: invalid value \"+NaN\""),
        ("m 1 1.5", "line 1: invalid timestamp \"1.5\": must be an integer number of milliseconds"),
        ("m 1 1e3", "line 1: invalid timestamp \"1e3\": must be an integer number of milliseconds"),
        ("m 1 99999999999999999999", "line 1: timestamp \"99999999999999999999\" is out of range"),
        ("m 1 2 3", "line 1: unexpected text after the timestamp: \"3\""),
        ("m{a=\"b\",a=\"c\"} 1", "line 1: duplicate label name \"a\""),
        ("m{a=\"\",a=\"c\"} 1", "line 1: duplicate label name \"a\""),
        ("m{__name__=\"m\"} 1", "line 1: metric name given both before the braces and as __name__"),
        ("{a=\"b\"} 1", "line 1: series has no metric name (label __name__ is missing or empty)"),
        ("{__name__=\"a.b\"} 1", "line 1: invalid metric name \"a.b\""),
        ("m{a=\"b\\t\"} 1", r#"line 1: invalid escape \t in label "a": only \\ \" \n are allowed"#),
        ("m{a=\"b} 1", "line 1: unterminated value of label \"a\": missing closing '\"'"),
        ("m{a=\"b\\", "line 1: unterminated value of label \"a\": missing closing '\"'"),
        ("m{a=\"b\" 1", "line 1: expected ',' or '}' after label \"a\", found \"1\""),
        ("m{a=\"b\" c=\"d\"} 1", "line 1: expected ',' or '}' after label \"a\", found \"c\""),
        ("m{a=\"b\", 1", "line 1: invalid label name \"1\""),
        ("m{a=\"b\",  ", "line 1: unterminated label set: expected '}', found end of line"),
        ("m{a b=\"c\"} 1", "line 1: expected '=' after label \"a\", found \"b\""),
        ("m{a=b} 1", "line 1: expected '\"' to open the value of \"a\", found \"b\""),
        ("m{,a=\"b\"} 1", "line 1: expected a label name, found \",\""),
        ("m{a=\"b\",,} 1", "line 1: expected a label name, found \",\""),
    ];

    #[test]
    fn errors_name_their_line() {
        for (body, want) in ERRORS {
            assert_eq!(&err(body), want, "body {body:?}");
        }
    }

    #[test]
    fn long_input_is_capped_in_errors() {
        let e = err(&format!("1{} 1", "x".repeat(10_000)));
        assert!(e.len() < 150 && e.ends_with("\"..."), "{e}");
        let e = err(&format!("m 1 2 {}", "é".repeat(1000)));
        assert!(e.chars().count() < 160 && e.ends_with("\"..."), "{e}");
        let e = err(&format!("{{__name__=\"{}\"}} 1", ".".repeat(1000)));
        assert!(e.len() < 150, "{e}");
    }

    #[test]
    fn extra_labels_are_added_and_override() {
        let extra = [Label::new("job", "backfill"), Label::new("a", "override")];
        let out = parse_exposition(b"m{a=\"x\",b=\"y\"} 1 10\nn 2 20", 0, &extra).unwrap();
        let want = [
            ("__name__", "m"),
            ("a", "override"),
            ("b", "y"),
            ("job", "backfill"),
        ];
        assert_eq!(out[0].labels, labels(&want));
        let want = [("__name__", "n"), ("a", "override"), ("job", "backfill")];
        assert_eq!(out[1].labels, labels(&want));
        // An empty extra value removes the label; an extra __name__ renames.
        let extra = [Label::new("b", ""), Label::new(METRIC_NAME, "renamed")];
        let out = parse_exposition(b"m{b=\"y\"} 1 10\n{c=\"d\"} 1 10", 0, &extra).unwrap();
        assert_eq!(out[0].labels, labels(&[("__name__", "renamed")]));
        assert_eq!(
            out[1].labels,
            labels(&[("__name__", "renamed"), ("c", "d")])
        );
        let bad = parse_exposition(b"m 1", 0, &[Label::new("1x", "y")]).unwrap_err();
        assert_eq!(bad.to_string(), "line 0: invalid extra label name \"1x\"");
        let dup = [Label::new("a", "1"), Label::new("a", "2")];
        assert_eq!(parse_exposition(b"", 0, &dup).unwrap_err().line, 0);
        let bad_name = [Label::new(METRIC_NAME, "a-b")];
        assert_eq!(parse_exposition(b"", 0, &bad_name).unwrap_err().line, 0);
        let gone = parse_exposition(b"\nm 1", 0, &[Label::new(METRIC_NAME, "")]).unwrap_err();
        assert_eq!(gone.line, 2);
    }

    #[test]
    fn groups_by_series_in_input_order() {
        let body = "b{x=\"1\",y=\"2\"} 1 1\na 2 2\nb{y=\"2\",x=\"1\"} 3 3\n{__name__=\"a\"} 4 4\n\
            b {x=\"1\", y=\"2\",} 5 5\na 6 6\nb{x=\"1\",y=\"2\",z=\"\"} 0 0\nb{x=\"1\",y=\"2\"} 7 7";
        let out = parse(body);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].labels,
            labels(&[("__name__", "b"), ("x", "1"), ("y", "2")])
        );
        assert_eq!(times(&out[0]), [1, 3, 5, 0, 7]);
        assert_eq!(out[1].labels, labels(&[("__name__", "a")]));
        assert_eq!(times(&out[1]), [2, 4, 6]);
        // A repeated raw series (fast path) still has its sample checked.
        assert_eq!(err("a 1\na x"), "line 2: invalid value \"x\"");
    }

    #[test]
    fn lines_match_split() {
        for body in [
            "",
            "\n",
            "a",
            "a\n",
            "\n\nabcdefgh\nijklmnopq\n\nr",
            "0123456789abcdef\n",
        ] {
            let want: Vec<&[u8]> = body.as_bytes().split(|&b| b == b'\n').collect();
            assert_eq!(lines(body.as_bytes()).collect::<Vec<_>>(), want, "{body:?}");
        }
        let mixed: Vec<u8> = (0..300u32)
            .map(|i| [b'\n', 0x8a, 0x0b, 0x09][(i * i % 7 % 4) as usize])
            .collect();
        let want: Vec<&[u8]> = mixed.split(|&b| b == b'\n').collect();
        assert_eq!(lines(&mixed).collect::<Vec<_>>(), want);
    }

    #[test]
    fn large_body_parses() {
        let mut body = String::new();
        for i in 0..100_000i64 {
            let (host, t) = (i % 1000, 1_700_000_000_000 + i);
            body.push_str(&format!(
                "req_total{{job=\"api\",instance=\"h-{host}:9\"}} {i} {t}\n"
            ));
        }
        let out = parse(&body);
        assert_eq!(out.len(), 1000);
        assert!(out.iter().all(|s| s.samples.len() == 100));
        assert_eq!(
            out[7].samples[2],
            Sample::new(1_700_000_000_000 + 2007, 2007.0)
        );
    }

    /// Pseudo-random bytes (biased towards syntax characters) and mutated
    /// valid bodies: never a panic, and any output is valid.
    #[test]
    fn fuzz_never_panics() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        const ALPHABET: &[u8] = b"{}=\",\\#\n\r\t  ab_:1.e+-_NnIiFf__name__\xff\xc3";
        let seed = b"m{a=\"b\\\"\",c=\"\"} 1 2\n{__name__=\"m\",c=\"d\"} NaN -5\nm 1e3\n";
        let mut ok = 0;
        for round in 0..4000 {
            let mut body: Vec<u8> = if round % 2 == 0 {
                let len = next() % 80;
                let mut byte = || match next() {
                    r if r % 8 == 0 => (r >> 8) as u8,
                    r => ALPHABET[(r >> 8) % ALPHABET.len()],
                };
                (0..len).map(|_| byte()).collect()
            } else {
                seed.to_vec()
            };
            if round % 2 == 1 {
                for _ in 0..1 + next() % 3 {
                    let pos = next() % body.len();
                    body[pos] = ALPHABET[next() % ALPHABET.len()];
                }
            }
            let extra = if round % 3 == 0 {
                vec![Label::new("job", "j")]
            } else {
                vec![]
            };
            if let Ok(out) = parse_exposition(&body, 0, &extra) {
                ok += 1;
                for s in &out {
                    assert!(s.labels.validate_series().is_ok(), "{body:?} -> {s:?}");
                    assert!(!s.samples.is_empty());
                }
            }
        }
        assert!(ok > 100, "only {ok} bodies parsed: the fuzzer is too weak");
    }
}
