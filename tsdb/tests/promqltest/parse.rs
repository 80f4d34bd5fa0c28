//! The promqltest file format as Prometheus 2.42's `promql/test.go` reads it.
//!
//! A file is a sequence of commands separated by blank lines; lines are
//! trimmed and `#` lines count as blank:
//!
//! - `clear`: drop all data.
//! - `load <step>` then one `series{labels} values` line per series: the
//!   n-th value is at `n * step` milliseconds (from 0). Values use the
//!   expanding notation: `a+bxN` / `a-bxN` (N+1 values, adding b each
//!   time), `axN` (N+1 copies), `_` (no sample), `_xN` (N missing),
//!   `stale` (the staleness marker). A series defined twice in one load
//!   keeps the last definition.
//! - `eval instant at <duration> <expr>` (or `eval_fail`, `eval_ordered`)
//!   then the expected result: `{labels} value` / `metric{labels} value`
//!   lines, or a single bare number for a scalar.
//!
//! Numbers follow Go: an integer literal with `strconv.ParseInt(s, 0, 64)`
//! (so `010` is octal 8 and `0x1f` is 31), else `strconv.ParseFloat` (`Inf`,
//! `NaN`, exponents; out of range is an error). Durations follow
//! `model.ParseDuration`: `<n>y<n>w<n>d<n>h<n>m<n>s<n>ms` in that order.

use std::collections::BTreeMap;

use altimeter_model::{Labels, METRIC_NAME};

/// The bits of Prometheus's staleness marker (`value.StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A test-file error: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// One command of a test file.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `clear`.
    Clear,
    /// `load <step>` and its series.
    Load(Load),
    /// `eval[_fail|_ordered] instant at <t> <expr>` and its expectation.
    Eval(Eval),
}

/// A `load` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line of the `load` line.
    pub line: usize,
    /// The `load` line as written.
    pub text: String,
    /// Series and their `(ms, value)` samples (missing values left out).
    pub series: BTreeMap<Labels, Vec<(i64, f64)>>,
}

/// What an `eval` expects of errors and order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval`: must succeed, order ignored.
    Plain,
    /// `eval_fail`: must fail.
    Fail,
    /// `eval_ordered`: must succeed in the listed order.
    Ordered,
}

/// An `eval` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line of the `eval` line.
    pub line: usize,
    /// Which `eval`.
    pub kind: EvalKind,
    /// Evaluation time, milliseconds.
    pub at_ms: i64,
    /// The expression.
    pub query: String,
    /// The expected result.
    pub expected: Expected,
}

/// An expected instant result, as test.go keeps it: series lines by label
/// set (a repeated label set keeps the last line) and at most one scalar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// Label set → (1-based position among the expected lines, value). The
    /// value is `None` for a line without values, which can never match.
    pub series: BTreeMap<Labels, (usize, Option<f64>)>,
    /// A bare number line.
    pub scalar: Option<f64>,
}

/// Parses a whole test file.
pub fn parse_file(input: &str) -> Result<Vec<Command>, ParseError> {
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l.split([' ', '\t']).next().unwrap_or("").to_lowercase();
        let cmd = if word == "clear" {
            Command::Clear
        } else if word == "load" {
            let (last, load) = parse_load(&lines, i)?;
            i = last;
            Command::Load(load)
        } else if word.starts_with("eval") {
            let (last, eval) = parse_eval(&lines, i)?;
            i = last;
            Command::Eval(eval)
        } else {
            return Err(err(i, format!("invalid command {l:?}")));
        };
        cmds.push(cmd);
        i += 1;
    }
    Ok(cmds)
}

fn err(i: usize, msg: impl Into<String>) -> ParseError {
    ParseError {
        line: i + 1,
        msg: msg.into(),
    }
}

/// `load <step>` at `lines[i]` and its series lines; returns the index of
/// its last line.
fn parse_load(lines: &[&str], mut i: usize) -> Result<(usize, Load), ParseError> {
    let start = i;
    let step = lines[i]
        .strip_prefix("load")
        .filter(|r| r.starts_with(is_re_space))
        .map(str::trim_start)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| err(i, "invalid load command. (load <step:duration>)"))?;
    let step_ms = parse_duration(step)
        .map_err(|e| err(i, format!("invalid step definition {step:?}: {e}")))?;
    let mut series = BTreeMap::new();
    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
        i += 1;
        let (labels, values) = parse_series_desc(lines[i]).map_err(|e| err(i, e))?;
        let mut samples = Vec::with_capacity(values.len());
        let mut t = 0i64;
        for v in values {
            if let Some(v) = v {
                samples.push((t, v));
            }
            t += step_ms;
        }
        series.insert(labels, samples);
    }
    let load = Load {
        line: start + 1,
        text: lines[start].to_string(),
        series,
    };
    Ok((i, load))
}

/// `eval...` at `lines[i]` and its expected lines; returns the index of its
/// last line.
fn parse_eval(lines: &[&str], mut i: usize) -> Result<(usize, Eval), ParseError> {
    let start = i;
    let bad = || {
        err(
            start,
            "invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query>",
        )
    };
    let rest = lines[i].strip_prefix("eval").ok_or_else(bad)?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("_fail") {
        (EvalKind::Fail, r)
    } else if let Some(r) = rest.strip_prefix("_ordered") {
        (EvalKind::Ordered, r)
    } else {
        (EvalKind::Plain, rest)
    };
    let rest = spaced(rest).ok_or_else(bad)?;
    let rest = rest
        .strip_prefix("instant")
        .and_then(spaced)
        .ok_or_else(bad)?;
    let rest = rest.strip_prefix("at").and_then(spaced).ok_or_else(bad)?;
    let (at, query) = rest.split_once(is_re_space).ok_or_else(bad)?;
    let query = query.trim_start_matches(is_re_space);
    if query.is_empty() {
        return Err(bad());
    }
    let at_ms =
        parse_duration(at).map_err(|e| err(i, format!("invalid step definition {at:?}: {e}")))?;
    let mut expected = Expected::default();
    let mut pos = 1;
    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
        i += 1;
        if let Some(v) = parse_go_number(lines[i]) {
            expected.scalar = Some(v);
            break;
        }
        let (labels, values) = parse_series_desc(lines[i]).map_err(|e| err(i, e))?;
        if values.len() > 1 {
            return Err(err(
                i,
                "expecting multiple values in instant evaluation not allowed",
            ));
        }
        // test.go compares `vals[0].Value`: a `_` expects 0.
        let value = values.first().map(|v| v.unwrap_or(0.0));
        expected.series.insert(labels, (pos, value));
        pos += 1;
    }
    let eval = Eval {
        line: start + 1,
        kind,
        at_ms,
        query: query.to_string(),
        expected,
    };
    Ok((i, eval))
}

/// RE2's `\s`.
fn is_re_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// `rest` without its leading whitespace, if it has some.
fn spaced(rest: &str) -> Option<&str> {
    rest.starts_with(is_re_space)
        .then(|| rest.trim_start_matches(is_re_space))
}

/// Prometheus's `model.ParseDuration`, in milliseconds (at most what a Go
/// `time.Duration` holds).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    use altimeter_model::duration::{self, DurationError};
    match duration::parse_duration(s) {
        Ok(ms) => i64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= i64::MAX / 1_000_000)
            .ok_or_else(|| "duration out of range".to_string()),
        Err(DurationError::TooLarge) => Err("duration out of range".into()),
        Err(_) if s.is_empty() => Err("empty duration string".into()),
        Err(_) => Err(format!("not a valid duration string: {s:?}")),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `strconv.ParseFloat(s, 64)`, as
/// test.go's `parseNumber` and the PromQL parser's `number`. Hex floats and
/// `_` digit separators (rare Go forms) are not accepted.
pub fn parse_go_number(s: &str) -> Option<f64> {
    parse_go_int(s)
        .map(|n| n as f64)
        .or_else(|| parse_go_float(s))
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(mag)
    } else {
        i64::try_from(mag).ok()
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    // Go reports overflow as an error; Rust rounds to infinity.
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// One value of a series description: `None` is a missing sample (`_`).
pub type SeqValue = Option<f64>;

/// Parses `metric{labels} values` (the PromQL parser's series
/// description).
pub fn parse_series_desc(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let mut cur = Cursor { s: line, pos: 0 };
    let mut name = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    match cur.peek() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
            let ident = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
            // Keywords that are not `metric_identifier`s in the grammar.
            const NOT_METRIC: [&str; 8] = [
                "atan2",
                "on",
                "ignoring",
                "group_left",
                "group_right",
                "bool",
                "inf",
                "nan",
            ];
            if NOT_METRIC.contains(&ident.to_lowercase().as_str()) {
                return Err(format!("unexpected {ident:?} in series description"));
            }
            name = Some(ident.to_string());
            if cur.peek() == Some('{') {
                pairs = parse_label_set(&mut cur)?;
            }
        }
        Some('{') => pairs = parse_label_set(&mut cur)?,
        _ => return Err(format!("unexpected input in series description: {line:?}")),
    }
    if let Some(n) = name {
        pairs.retain(|(k, _)| k != METRIC_NAME);
        pairs.push((METRIC_NAME.to_string(), n));
    }
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("duplicate label name {:?}", w[0]));
    }
    let labels = Labels::from_pairs(pairs).map_err(|e| e.to_string())?;
    let values = parse_values(&line[cur.pos..])?;
    Ok((labels, values))
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn peek2(&self) -> Option<char> {
        self.s[self.pos..].chars().nth(1)
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.s[start..self.pos]
    }
    fn skip_space(&mut self) {
        self.take_while(is_go_space);
    }
}

/// The PromQL lexer's `isSpace`.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `{name="value", ...}` (only `=`, a trailing comma allowed).
fn parse_label_set(cur: &mut Cursor<'_>) -> Result<Vec<(String, String)>, String> {
    cur.bump(); // '{'
    let mut out = Vec::new();
    loop {
        cur.skip_space();
        if cur.peek() == Some('}') {
            cur.bump();
            return Ok(out);
        }
        if !cur
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            return Err(format!("expected a label name at {:?}", &cur.s[cur.pos..]));
        }
        let name = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        cur.skip_space();
        if cur.bump() != Some('=') || cur.peek() == Some('~') {
            return Err(format!("expected \"=\" after label name {name:?}"));
        }
        cur.skip_space();
        let value = parse_string(cur)?;
        out.push((name.to_string(), value));
        cur.skip_space();
        match cur.bump() {
            Some(',') => {}
            Some('}') => return Ok(out),
            _ => return Err("expected \",\" or \"}\" in label set".into()),
        }
    }
}

/// A PromQL string literal: `"..."` or `'...'` with Go escapes (only the
/// opening quote may be escaped), or a raw `` `...` ``.
fn parse_string(cur: &mut Cursor<'_>) -> Result<String, String> {
    let quote = cur.bump().ok_or("expected a string")?;
    if quote == '`' {
        let body = cur.take_while(|c| c != '`');
        return match cur.bump() {
            Some('`') => Ok(body.to_string()),
            _ => Err("unterminated raw string".into()),
        };
    }
    if quote != '"' && quote != '\'' {
        return Err(format!("expected a string, found {quote:?}"));
    }
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let c = cur.bump().ok_or("unterminated quoted string")?;
        if c == quote {
            break;
        }
        if c == '\n' {
            return Err("unterminated quoted string".into());
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = cur.bump().ok_or("unterminated escape")?;
        let simple = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            c if c == quote => Some(c as u8),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            continue;
        }
        let (n, radix) = match e {
            '0'..='7' => (3, 8),
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => return Err(format!("unknown escape sequence \\{e}")),
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        while digits.len() < n {
            digits.push(cur.bump().ok_or("unterminated escape")?);
        }
        let v = u32::from_str_radix(&digits, radix)
            .map_err(|_| format!("invalid escape sequence \\{e}{digits}"))?;
        match e {
            'u' | 'U' => {
                let c = char::from_u32(v).ok_or("escape is an invalid Unicode code point")?;
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => bytes.push(u8::try_from(v).map_err(|_| "octal escape value > 255")?),
        }
    }
    String::from_utf8(bytes).map_err(|_| "string is not valid UTF-8".into())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space,
    Add,
    Sub,
    Times,
    Blank,
    Num(String),
    Ident(String),
}

/// The lexer's value-sequence mode.
fn lex_values(s: &str) -> Result<Vec<Tok>, String> {
    let mut cur = Cursor { s, pos: 0 };
    let mut out = Vec::new();
    while let Some(c) = cur.peek() {
        let tok = match c {
            c if is_go_space(c) => {
                cur.skip_space();
                Tok::Space
            }
            '+' | '-' | 'x' | '_' => {
                cur.bump();
                match c {
                    '+' => Tok::Add,
                    '-' => Tok::Sub,
                    'x' => Tok::Times,
                    _ => Tok::Blank,
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && cur.peek2().is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = cur.pos;
                cur.take_while(|c| c.is_ascii_digit());
                if cur.peek() == Some('.') {
                    cur.bump();
                    cur.take_while(|c| c.is_ascii_digit());
                }
                if matches!(cur.peek(), Some('e' | 'E')) {
                    cur.bump();
                    if matches!(cur.peek(), Some('+' | '-')) {
                        cur.bump();
                    }
                    cur.take_while(|c| c.is_ascii_digit());
                }
                let text = &s[start..cur.pos];
                if cur
                    .peek()
                    .is_some_and(|c| c != 'x' && (c.is_ascii_alphanumeric() || c == '_'))
                {
                    return Err(format!("bad number syntax: {text:?}"));
                }
                Tok::Num(text.to_string())
            }
            c if c.is_ascii_alphabetic() => {
                let word = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
                match word.to_lowercase().as_str() {
                    "inf" | "nan" => Tok::Num(word.to_string()),
                    _ if word.contains(':') => {
                        return Err(format!("unexpected {word:?} in series values"));
                    }
                    _ => Tok::Ident(word.to_string()),
                }
            }
            c => return Err(format!("unexpected character in series sequence: {c:?}")),
        };
        out.push(tok);
    }
    Ok(out)
}

/// Parses and expands the values after the metric.
fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let toks = lex_values(s)?;
    let mut it = toks.into_iter().peekable();
    let mut out = Vec::new();
    let number = |t: Option<Tok>| match t {
        Some(Tok::Num(n)) => parse_go_number(&n).ok_or(format!("error parsing number: {n:?}")),
        t => Err(format!(
            "unexpected {t:?} in series values, expected a number"
        )),
    };
    let uint = |t: Option<Tok>| match t {
        Some(Tok::Num(n)) if n.bytes().all(|b| b.is_ascii_digit()) => n
            .parse::<u64>()
            .map_err(|e| format!("invalid repetition in series values: {e}")),
        t => Err(format!("invalid repetition in series values: {t:?}")),
    };
    while let Some(t) = it.next() {
        if t != Tok::Space {
            return Err(format!(
                "unexpected {t:?} in series values, expected a space"
            ));
        }
        let Some(first) = it.next() else { break };
        if first == Tok::Blank {
            if it.next_if_eq(&Tok::Times).is_some() {
                let n = uint(it.next())?;
                out.extend((0..n).map(|_| None));
            } else {
                out.push(None);
            }
            continue;
        }
        let mut v = match first {
            Tok::Ident(w) if w == "stale" => f64::from_bits(STALE_NAN_BITS),
            Tok::Add => number(it.next())?,
            Tok::Sub => -number(it.next())?,
            t @ Tok::Num(_) => number(Some(t))?,
            t => {
                return Err(format!(
                    "unexpected {t:?} in series values, expected a number or \"stale\""
                ));
            }
        };
        match it.peek() {
            Some(Tok::Times) => {
                it.next();
                let n = uint(it.next())?;
                out.extend((0..=n).map(|_| Some(v)));
            }
            Some(Tok::Add | Tok::Sub) => {
                let neg = it.next() == Some(Tok::Sub);
                let d = number(it.next())?;
                let d = if neg { -d } else { d };
                if it.next() != Some(Tok::Times) {
                    return Err("expected \"x\" after the increment in series values".into());
                }
                let n = uint(it.next())?;
                for _ in 0..=n {
                    out.push(Some(v));
                    v += d;
                }
            }
            _ => out.push(Some(v)),
        }
    }
    Ok(out)
}
