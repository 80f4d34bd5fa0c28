//! The simple query: `q.field`/`q.op`/`q.value`/`q.type` (base.py `Query`).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Number, Value};

use super::*;

// ---------------------------------------------------------------------------
// Simple query
// ---------------------------------------------------------------------------

/// One `q.field` / `q.op` / `q.value` / `q.type` group of a simple query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleTerm {
    /// Field name, as given.
    pub field: String,
    /// Operator; `"eq"` when absent or empty (base.py `Query.get_op`).
    pub op: String,
    /// The value, still text.
    pub value: String,
    /// Declared type; `""` when absent (then the value's type is guessed).
    pub type_: String,
}

impl SimpleTerm {
    /// The value converted by its declared type; see [`convert_value`].
    pub fn json_value(&self) -> Result<Value, QueryError> {
        convert_value(&self.value, &self.type_)
    }
}

/// Groups raw, decoded query-string pairs into simple-query terms.
///
/// As WSME does, the n-th `q.field`, n-th `q.op`, n-th `q.value` and n-th
/// `q.type` form the n-th term, whatever their order in the query string.
/// Parameters outside `q.` are ignored (they belong to the caller); an
/// unknown `q.<attr>` is refused as WSME refuses it. A term without field or
/// value is refused.
///
/// WSME itself crashes (HTTP 500) when a later attribute is repeated more
/// often than the first one; here every group is simply padded.
pub fn parse_simple(pairs: &[(String, String)]) -> Result<Vec<SimpleTerm>, QueryError> {
    let mut cols: [Vec<&str>; 4] = Default::default();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "q.field" => 0,
            "q.op" => 1,
            "q.value" => 2,
            "q.type" => 3,
            k if k == "q" || k.starts_with("q.") => {
                return Err(QueryError::Invalid(format!("Unknown argument: \"{k}\"")));
            }
            _ => continue,
        };
        cols[slot].push(value);
    }
    let n = cols.iter().map(Vec::len).max().unwrap_or(0);
    let mut terms = Vec::with_capacity(n);
    for i in 0..n {
        let field = cols[0].get(i).ok_or_else(|| mandatory("field"))?;
        let value = cols[2].get(i).ok_or_else(|| mandatory("value"))?;
        let op = cols[1]
            .get(i)
            .copied()
            .filter(|s| !s.is_empty())
            .unwrap_or("eq");
        let type_ = cols[3].get(i).copied().unwrap_or("");
        terms.push(SimpleTerm {
            field: (*field).to_owned(),
            op: op.to_owned(),
            value: (*value).to_owned(),
            type_: type_.to_owned(),
        });
    }
    Ok(terms)
}

pub(crate) fn mandatory(attr: &str) -> QueryError {
    QueryError::Invalid(format!(
        "Invalid input for field/attribute {attr}. Value: 'None'. Mandatory field missing."
    ))
}

/// Converts a simple-query value by its declared type, as base.py
/// `Query.get_value` does.
///
/// * `integer`, `float`: Python's `int()` / `float()` (surrounding
///   whitespace and digit-separating `_` allowed);
/// * `boolean`: oslo `bool_from_string(strict=True)` (`1 t true on y yes` /
///   `0 f false off n no`, any case);
/// * `string`: unchanged;
/// * `datetime`: ISO 8601, converted to naive UTC and rendered as Python's
///   `isoformat()` (`2013-12-05T19:38:29[.ffffff]`);
/// * `""`: guessed like Python's `ast.literal_eval`: `True`/`False`/`None`,
///   int and float literals, quoted strings; anything else stays text.
///
/// Errors carry Aodh's texts: "Unable to convert the value … to the expected
/// data type …." and "The data type … is not supported. The supported data
/// type list is: […]". Non-finite floats (`nan`, `inf`), which JSON cannot
/// carry, are refused with the first.
pub fn convert_value(value: &str, type_: &str) -> Result<Value, QueryError> {
    let unable = || {
        QueryError::Invalid(format!(
            "Unable to convert the value {value} to the expected data type {type_}."
        ))
    };
    match type_ {
        "" => Ok(guess_literal(value)),
        "string" => Ok(Value::String(value.to_owned())),
        "integer" => py_int(value).map(Value::from).ok_or_else(unable),
        "float" => py_float(value)
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(unable),
        "boolean" => bool_from_string(value).map(Value::Bool).ok_or_else(unable),
        "datetime" => parse_iso8601(value)
            .map(|(dt, off)| Value::String(isoformat(normalize(dt, off))))
            .ok_or_else(unable),
        other => Err(QueryError::Invalid(format!(
            "The data type {other} is not supported. The supported data type list is: \
             ['integer', 'float', 'string', 'boolean', 'datetime']"
        ))),
    }
}

/// oslo_utils.strutils.bool_from_string(strict=True).
pub(crate) fn bool_from_string(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// Python `int(s)` for base-10 text.
pub(crate) fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = split_sign(t);
    if !is_digitpart(digits) {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python `float(s)`.
pub(crate) fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, body) = split_sign(t);
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if !FLOAT_TEXT.is_match(body) {
                return None;
            }
            body.replace('_', "").parse().ok()?
        }
    };
    Some(if neg { -v } else { v })
}

pub(crate) static FLOAT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$")
        .expect("float regex is valid")
});

pub(crate) fn split_sign(t: &str) -> (bool, &str) {
    if let Some(r) = t.strip_prefix('-') {
        (true, r)
    } else {
        (false, t.strip_prefix('+').unwrap_or(t))
    }
}

/// `digit (["_"] digit)*`.
pub(crate) fn is_digitpart(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
}

/// An approximation of Python's `ast.literal_eval(s)` falling back to `s`.
pub(crate) fn guess_literal(s: &str) -> Value {
    let t = s
        .trim_start_matches([' ', '\t'])
        .trim_end_matches([' ', '\t', '\n', '\r', '\x0c']);
    match t {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    let (neg, body) = split_sign(t);
    let body = body.trim_start_matches([' ', '\t']);
    if let Some(v) = py_int_literal(body) {
        let v = if neg { -v } else { v };
        if let Ok(i) = i64::try_from(v) {
            return Value::from(i);
        }
        if let Ok(u) = u64::try_from(v) {
            return Value::from(u);
        }
        if let Some(n) = Number::from_f64(v as f64) {
            return Value::Number(n);
        }
    }
    if FLOAT_TEXT.is_match(body)
        && body.contains(['.', 'e', 'E'])
        && let Ok(f) = body.replace('_', "").parse::<f64>()
        && let Some(n) = Number::from_f64(if neg { -f } else { f })
    {
        return Value::Number(n);
    }
    if !neg
        && t.len() == body.len()
        && let Some(text) = py_string_literal(t)
    {
        return Value::String(text);
    }
    Value::String(s.to_owned())
}

/// A Python int literal: decimal (no leading zeros), 0x, 0o, 0b.
pub(crate) fn py_int_literal(s: &str) -> Option<i128> {
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r)
    } else {
        if !is_digitpart(s) {
            return None;
        }
        let plain = s.replace('_', "");
        if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
            return None;
        }
        return plain.parse().ok();
    };
    let digits = digits.strip_prefix('_').unwrap_or(digits);
    let ok = !digits.is_empty()
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c == '_' || c.is_digit(radix));
    if !ok {
        return None;
    }
    i128::from_str_radix(&digits.replace('_', ""), radix).ok()
}

/// A single-line Python string literal in single or double quotes.
pub(crate) fn py_string_literal(s: &str) -> Option<String> {
    let q = s.chars().next()?;
    if (q != '\'' && q != '"') || s.len() < 2 || !s.ends_with(q) {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\n' => return None,
            c if c == q => return None,
            '\\' => match chars.next()? {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                'x' => out.push(hex_escape(&mut chars, 2)?),
                'u' => out.push(hex_escape(&mut chars, 4)?),
                'U' => out.push(hex_escape(&mut chars, 8)?),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    Some(out)
}

pub(crate) fn hex_escape(chars: &mut std::str::Chars<'_>, n: usize) -> Option<char> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(v)
}
