//! Aodh's two query languages, evaluated in memory over JSON documents.
//!
//! Documents are alarms or alarm-history entries rendered in Aodh's JSON
//! shape (`alarm_id`, `state`, `timestamp`, ...). Aodh hands both query forms
//! to SQL; here they are evaluated directly, keeping SQL's three-valued logic:
//! a comparison against a missing or `null` field is *unknown*, so neither it
//! nor its negation selects the document.
//!
//! * The **simple query** of `GET /v2/alarms?q.field=…&q.op=…&q.value=…&q.type=…`
//!   (aodh/api/controllers/v2/base.py `Query`): [`parse_simple`] groups the
//!   repeated parameters into [`SimpleTerm`]s, [`convert_value`] types a value.
//!   Which fields and operators are allowed is the caller's business.
//! * The **complex query** of `POST /v2/query/alarms` and
//!   `POST /v2/query/alarms/history` (query.py `ValidatedComplexQuery`):
//!   [`parse_filter`], [`parse_orderby`], [`check_limit`], then [`matches`]
//!   and [`sort`]. Non-admin scoping is [`restrict`] / [`and_project`] plus
//!   [`check_visibility`].
//!
//! Error texts are Aodh's `faultstring`s. Aodh's complex-query schema errors
//! are `jsonschema` messages followed by a multi-line dump of the schema; only
//! the first line is reproduced, chosen with jsonschema's own "best match"
//! heuristic.

use std::cmp::Ordering;
use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use regex::Regex;
use serde_json::{Number, Value};

/// A query the API must refuse; the text is Aodh's `faultstring`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Malformed or invalid query: HTTP 400.
    #[error("{0}")]
    Invalid(String),
    /// A non-admin caller named another project: HTTP 401
    /// (base.py `ProjectNotAuthorized`).
    #[error("{0}")]
    NotAuthorized(String),
}

impl QueryError {
    /// The HTTP status Aodh answers with.
    pub fn status(&self) -> u16 {
        match self {
            QueryError::Invalid(_) => 400,
            QueryError::NotAuthorized(_) => 401,
        }
    }

    /// The `faultstring` of the error body.
    pub fn faultstring(&self) -> &str {
        match self {
            QueryError::Invalid(s) | QueryError::NotAuthorized(s) => s,
        }
    }
}

/// Field names of an alarm as Aodh's storage model declares them
/// (storage/models.py `Alarm.__init__`): the complex-query fields of
/// `POST /v2/query/alarms`.
pub const ALARM_FIELDS: &[&str] = &[
    "alarm_id",
    "type",
    "enabled",
    "name",
    "description",
    "timestamp",
    "user_id",
    "project_id",
    "state",
    "state_timestamp",
    "state_reason",
    "ok_actions",
    "alarm_actions",
    "insufficient_data_actions",
    "repeat_actions",
    "rule",
    "time_constraints",
    "severity",
    "evaluate_timestamp",
];

/// Field names of an alarm history entry (storage/models.py `AlarmChange`):
/// the complex-query fields of `POST /v2/query/alarms/history`.
pub const ALARM_CHANGE_FIELDS: &[&str] = &[
    "event_id",
    "alarm_id",
    "type",
    "detail",
    "user_id",
    "project_id",
    "on_behalf_of",
    "severity",
    "timestamp",
];

/// Fields whose complex-query values Aodh parses as date-times
/// (query.py `ValidatedComplexQuery.timestamp_fields`).
pub const TIMESTAMP_FIELDS: &[&str] = &["timestamp", "state_timestamp"];

/// Field aliases every complex query accepts (query.py `name_mapping`).
pub const FIELD_ALIASES: &[(&str, &str)] = &[("user", "user_id"), ("project", "project_id")];

/// Types a simple-query value may declare (base.py `Query._supported_types`).
pub const SUPPORTED_TYPES: &[&str] = &["integer", "float", "string", "boolean", "datetime"];

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

fn mandatory(attr: &str) -> QueryError {
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
fn bool_from_string(s: &str) -> Option<bool> {
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

static FLOAT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$")
        .expect("float regex is valid")
});

fn split_sign(t: &str) -> (bool, &str) {
    if let Some(r) = t.strip_prefix('-') {
        (true, r)
    } else {
        (false, t.strip_prefix('+').unwrap_or(t))
    }
}

/// `digit (["_"] digit)*`.
fn is_digitpart(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
}

/// An approximation of Python's `ast.literal_eval(s)` falling back to `s`.
fn guess_literal(s: &str) -> Value {
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
fn py_int_literal(s: &str) -> Option<i128> {
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
fn py_string_literal(s: &str) -> Option<String> {
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

fn hex_escape(chars: &mut std::str::Chars<'_>, n: usize) -> Option<char> {
    let mut v = 0u32;
    for _ in 0..n {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    char::from_u32(v)
}

// ---------------------------------------------------------------------------
// Complex query
// ---------------------------------------------------------------------------

/// A comparison operator of the complex query (storage/sqlalchemy/utils.py
/// `QueryTransformer.operators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=` or `=<`
    Le,
    /// `>`
    Gt,
    /// `>=` or `=>`
    Ge,
    /// `=~`: unanchored regular-expression search (SQL `REGEXP` / `~`).
    Regex,
}

impl CmpOp {
    fn from_symbol(s: &str) -> Option<CmpOp> {
        Some(match s {
            "=" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" | "=<" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" | "=>" => CmpOp::Ge,
            "=~" => CmpOp::Regex,
            _ => return None,
        })
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Regex => false,
        }
    }
}

/// A validated complex-query filter. Field names are normalised (`user` →
/// `user_id`, `project` → `project_id`); operators are case-folded.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All operands hold.
    And(Vec<Filter>),
    /// Any operand holds.
    Or(Vec<Filter>),
    /// The operand does not hold.
    Not(Box<Filter>),
    /// `{op: {field: value}}` with a string, number or boolean value.
    Cmp {
        /// Document field.
        field: String,
        /// Operator.
        op: CmpOp,
        /// Literal compared with.
        value: Value,
    },
    /// `{"in": {field: [values]}}`.
    In {
        /// Document field.
        field: String,
        /// Accepted values (strings or numbers).
        values: Vec<Value>,
    },
    /// A comparison on a timestamp field. Aodh parses the literal as ISO 8601
    /// and *drops* any UTC offset without converting (query.py
    /// `_convert_to_datetime`: `replace(tzinfo=None)`); document values are
    /// parsed the same way. (`=~` on a timestamp field stays a [`Filter::Cmp`]
    /// on the text.)
    TimeCmp {
        /// Document field.
        field: String,
        /// Operator (never [`CmpOp::Regex`]).
        op: CmpOp,
        /// Wall-clock instant compared with.
        value: NaiveDateTime,
    },
}

/// One `{field: "asc"|"desc"}` item of a complex query's `orderby`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// Normalised field name.
    pub field: String,
    /// Descending?
    pub desc: bool,
}

/// The order Aodh applies when a complex query has no `orderby` at all
/// (storage/sqlalchemy/utils.py `_apply_order_by`): newest `timestamp` first.
/// An explicit empty list means "no ordering".
pub fn default_order() -> Vec<OrderBy> {
    vec![OrderBy {
        field: "timestamp".to_owned(),
        desc: true,
    }]
}

const SIMPLE_OPS_PATTERN: &str = "(?i)^=$|^!=$|^<$|^>$|^<=$|^=<$|^>=$|^=>$|^=~$";
const IN_PATTERN: &str = "(?i)^in$";
const AND_OR_PATTERN: &str = "(?i)^and$|^or$";
const NOT_PATTERN: &str = "(?i)^not$";
const DIRECTION_PATTERN: &str = "(?i)^asc$|^desc$";

/// Parses and validates the `filter` of a complex query.
///
/// `allowed_fields` are the document's fields (e.g. [`ALARM_FIELDS`]); the
/// aliases `user` and `project` are always accepted. Values of
/// `timestamp_fields` (e.g. [`TIMESTAMP_FIELDS`]) must parse as ISO 8601.
/// Errors: `Filter expression not valid: <reason>` for bad JSON or a
/// structure the schema refuses, `Failed to parse the timestamp value <v>`
/// for a bad timestamp (also for `in` on a timestamp field, as in Aodh).
/// A `=~` pattern the regex engine refuses is reported as an invalid filter
/// (Aodh passes it to the database and fails with HTTP 500).
pub fn parse_filter(
    text: &str,
    allowed_fields: &[&str],
    timestamp_fields: &[&str],
) -> Result<Filter, QueryError> {
    let invalid = |msg: String| QueryError::Invalid(format!("Filter expression not valid: {msg}"));
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let schema = Schema::new(allowed_fields);
    if let Some(msg) = best_match(schema.root(&v, &[])) {
        return Err(invalid(msg));
    }
    build(&v, timestamp_fields)
}

/// Parses and validates the `orderby` of a complex query: a JSON list of
/// single-key objects `{field: "asc"|"desc"}` (direction in any case).
/// Errors read `Order-by expression not valid: <reason>`.
pub fn parse_orderby(text: &str, allowed_fields: &[&str]) -> Result<Vec<OrderBy>, QueryError> {
    let invalid =
        |msg: String| QueryError::Invalid(format!("Order-by expression not valid: {msg}"));
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let schema = Schema::new(allowed_fields);
    if let Some(msg) = best_match(schema.orderby(&v)) {
        return Err(invalid(msg));
    }
    let mut out = Vec::new();
    if let Value::Array(items) = &v {
        for item in items {
            if let Some((field, Value::String(dir))) =
                item.as_object().and_then(|m| m.iter().next())
            {
                out.push(OrderBy {
                    field: alias(field),
                    desc: dir.eq_ignore_ascii_case("desc"),
                });
            }
        }
    }
    Ok(out)
}

/// Checks a complex query's `limit`: "Limit should be positive".
pub fn check_limit(limit: Option<i64>) -> Result<(), QueryError> {
    match limit {
        Some(l) if l <= 0 => Err(QueryError::Invalid("Limit should be positive".to_owned())),
        _ => Ok(()),
    }
}

/// Scopes a filter to one project on `project_id`, as Aodh does for a
/// non-admin caller of `POST /v2/query/alarms`; see [`restrict`].
pub fn and_project(f: Option<Filter>, project: &str) -> Filter {
    restrict(f, "project_id", project)
}

/// Scopes a filter to `field == value` (query.py `_restrict_to_project`):
/// the equality alone without a filter, else `and` of the equality and the
/// filter. The visibility field is `project_id` for alarms and
/// `on_behalf_of` for alarm history.
pub fn restrict(f: Option<Filter>, field: &str, value: &str) -> Filter {
    let eq = Filter::Cmp {
        field: field.to_owned(),
        op: CmpOp::Eq,
        value: Value::String(value.to_owned()),
    };
    match f {
        None => eq,
        Some(f) => Filter::And(vec![eq, f]),
    }
}

/// Refuses a non-admin filter that names another project
/// (query.py `_check_cross_project_references`): any comparison or `in` on
/// `field` whose value is not exactly `project` (whatever the operator)
/// fails with HTTP 401 "Not Authorized to access project <value>".
pub fn check_visibility(f: &Filter, field: &str, project: &str) -> Result<(), QueryError> {
    match f {
        Filter::And(v) | Filter::Or(v) => v
            .iter()
            .try_for_each(|f| check_visibility(f, field, project)),
        Filter::Not(f) => check_visibility(f, field, project),
        Filter::Cmp {
            field: fd, value, ..
        } if fd == field && value.as_str() != Some(project) => Err(QueryError::NotAuthorized(
            format!("Not Authorized to access project {}", py_str(value)),
        )),
        Filter::In { field: fd, values } if fd == field => Err(QueryError::NotAuthorized(format!(
            "Not Authorized to access project {}",
            py_repr(&Value::Array(values.clone()))
        ))),
        _ => Ok(()),
    }
}

/// Whether a document satisfies a filter. Comparisons follow SQL: numbers
/// numerically (booleans as 0/1), strings by code point, a number against
/// numeric text numerically; other mixes, arrays, objects, and missing or
/// `null` fields give *unknown*, which `not` keeps unknown and which never
/// selects.
pub fn matches(f: &Filter, doc: &Value) -> bool {
    eval(f, doc) == Some(true)
}

fn eval(f: &Filter, doc: &Value) -> Option<bool> {
    match f {
        Filter::And(v) => {
            let mut unknown = false;
            for f in v {
                match eval(f, doc) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        Filter::Or(v) => {
            let mut unknown = false;
            for f in v {
                match eval(f, doc) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Filter::Not(f) => eval(f, doc).map(|b| !b),
        Filter::Cmp { field, op, value } => {
            let have = present(doc, field)?;
            if *op == CmpOp::Regex {
                let re = Regex::new(&py_str(value)).ok()?;
                return regex_subject(have).map(|s| re.is_match(&s));
            }
            sql_cmp(have, value).map(|o| op.holds(o))
        }
        Filter::In { field, values } => {
            let have = present(doc, field)?;
            let mut unknown = false;
            for v in values {
                match sql_cmp(have, v) {
                    Some(Ordering::Equal) => return Some(true),
                    None => unknown = true,
                    Some(_) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Filter::TimeCmp { field, op, value } => {
            let (have, _) = parse_iso8601(present(doc, field)?.as_str()?)?;
            Some(op.holds(have.cmp(value)))
        }
    }
}

fn present<'a>(doc: &'a Value, field: &str) -> Option<&'a Value> {
    doc.get(field).filter(|v| !v.is_null())
}

fn regex_subject(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

fn sql_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => Some(i.cmp(&j)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(s), n) if n.is_number() || n.is_boolean() => {
            s.trim().parse::<f64>().ok()?.partial_cmp(&num(n)?)
        }
        (n, Value::String(s)) if n.is_number() || n.is_boolean() => {
            num(n)?.partial_cmp(&s.trim().parse::<f64>().ok()?)
        }
        _ => num(a)?.partial_cmp(&num(b)?),
    }
}

/// Sorts documents by an `orderby` (stable; earlier keys first). Within a
/// key: missing/`null` first, then booleans, numbers (numerically), strings
/// (by code point; ISO timestamps thus chronologically), arrays, objects;
/// `desc` reverses. `severity` sorts by rank `low` < `moderate` <
/// `critical` (unknown values first), as Aodh does on MySQL
/// (storage/sqlalchemy/utils.py `_apply_order_by`, `FIELD()`).
pub fn sort(docs: &mut [Value], order: &[OrderBy]) {
    docs.sort_by(|a, b| {
        for o in order {
            let (x, y) = (a.get(&o.field), b.get(&o.field));
            let c = if o.field == "severity" {
                severity_rank(x).cmp(&severity_rank(y))
            } else {
                sort_cmp(x, y)
            };
            let c = if o.desc { c.reverse() } else { c };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    });
}

fn severity_rank(v: Option<&Value>) -> u8 {
    match v.and_then(Value::as_str) {
        Some("low") => 1,
        Some("moderate") => 2,
        Some("critical") => 3,
        _ => 0,
    }
}

fn sort_cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn kind(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(Value::Array(_)) => 4,
            Some(Value::Object(_)) => 5,
        }
    }
    match (a, b) {
        (Some(x @ (Value::Bool(_) | Value::Number(_) | Value::String(_))), Some(y))
            if kind(a) == kind(b) =>
        {
            sql_cmp(x, y).unwrap_or(Ordering::Equal)
        }
        (Some(x @ (Value::Array(_) | Value::Object(_))), Some(y)) if kind(a) == kind(b) => {
            x.to_string().cmp(&y.to_string())
        }
        _ => kind(a).cmp(&kind(b)),
    }
}

fn alias(field: &str) -> String {
    FIELD_ALIASES
        .iter()
        .find(|(from, _)| *from == field)
        .map_or(field, |(_, to)| to)
        .to_owned()
}

/// Builds the filter from a schema-valid JSON tree.
fn build(v: &Value, timestamp_fields: &[&str]) -> Result<Filter, QueryError> {
    let Some((key, operand)) = v.as_object().and_then(|m| m.iter().next()) else {
        return Err(QueryError::Invalid(
            "Filter expression not valid".to_owned(),
        ));
    };
    let op = key.to_lowercase();
    let leaf = || operand.as_object().and_then(|m| m.iter().next());
    match op.as_str() {
        "and" | "or" => {
            let items = operand.as_array().map(Vec::as_slice).unwrap_or_default();
            let children = items
                .iter()
                .map(|c| build(c, timestamp_fields))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "and" {
                Filter::And(children)
            } else {
                Filter::Or(children)
            })
        }
        "not" => Ok(Filter::Not(Box::new(build(operand, timestamp_fields)?))),
        "in" => {
            let (field, values) = leaf().unwrap_or((key, operand));
            if timestamp_fields.contains(&field.as_str()) {
                return Err(bad_timestamp(values));
            }
            Ok(Filter::In {
                field: alias(field),
                values: values.as_array().cloned().unwrap_or_default(),
            })
        }
        sym => {
            let op = CmpOp::from_symbol(sym)
                .ok_or_else(|| QueryError::Invalid("Filter expression not valid".to_owned()))?;
            let (field, value) = leaf().unwrap_or((key, operand));
            if timestamp_fields.contains(&field.as_str()) {
                let (dt, _) = value
                    .as_str()
                    .and_then(parse_iso8601)
                    .ok_or_else(|| bad_timestamp(value))?;
                if op != CmpOp::Regex {
                    return Ok(Filter::TimeCmp {
                        field: alias(field),
                        op,
                        value: dt,
                    });
                }
            }
            if op == CmpOp::Regex
                && let Err(e) = Regex::new(&py_str(value))
            {
                return Err(QueryError::Invalid(format!(
                    "Filter expression not valid: invalid regular expression: {e}"
                )));
            }
            Ok(Filter::Cmp {
                field: alias(field),
                op,
                value: value.clone(),
            })
        }
    }
}

fn bad_timestamp(v: &Value) -> QueryError {
    QueryError::Invalid(format!("Failed to parse the timestamp value {}", py_str(v)))
}

// ---------------------------------------------------------------------------
// A small rendition of jsonschema for query.py's two schemas
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Idx(usize),
}

/// One jsonschema `ValidationError`, reduced to what `best_match` looks at.
#[derive(Debug)]
struct SchemaError {
    path: Vec<Seg>,
    message: String,
    /// Raised by `oneOf` (a "weak" keyword).
    weak: bool,
    /// jsonschema's `not error._matches_type()`.
    type_mismatch: bool,
    context: Vec<SchemaError>,
}

/// jsonschema `relevance` key order: shorter path, earlier path, not weak,
/// then type mismatch.
fn relevance(a: &SchemaError, b: &SchemaError) -> Ordering {
    b.path
        .len()
        .cmp(&a.path.len())
        .then_with(|| a.path.cmp(&b.path))
        .then_with(|| (!a.weak).cmp(&!b.weak))
        .then_with(|| a.type_mismatch.cmp(&b.type_mismatch))
}

/// jsonschema `best_match`: the most relevant top-level error, then down
/// its context to the least relevant (deepest) error while that is unique.
fn best_match(errors: Vec<SchemaError>) -> Option<String> {
    let mut best: Option<SchemaError> = None;
    for e in errors {
        if best
            .as_ref()
            .is_none_or(|b| relevance(&e, b) == Ordering::Greater)
        {
            best = Some(e);
        }
    }
    let mut best = best?;
    loop {
        let mut ctx = std::mem::take(&mut best.context);
        if ctx.is_empty() {
            return Some(best.message);
        }
        ctx.sort_by(relevance);
        if ctx.len() >= 2 && relevance(&ctx[0], &ctx[1]) == Ordering::Equal {
            return Some(best.message);
        }
        best = ctx.swap_remove(0);
    }
}

struct Schema {
    fields: Vec<String>,
    fields_pattern: String,
}

type Sub<'a> = &'a dyn Fn(&Value, &[Seg]) -> Vec<SchemaError>;
type KeyTest<'a> = &'a dyn Fn(&str) -> bool;

impl Schema {
    fn new(allowed: &[&str]) -> Schema {
        let fields: Vec<String> = allowed
            .iter()
            .copied()
            .chain(FIELD_ALIASES.iter().map(|(a, _)| *a))
            .map(str::to_owned)
            .collect();
        let fields_pattern = fields
            .iter()
            .map(|f| format!("^{f}$"))
            .collect::<Vec<_>>()
            .join("|");
        Schema {
            fields,
            fields_pattern,
        }
    }

    fn is_field(&self, k: &str) -> bool {
        self.fields.iter().any(|f| f == k)
    }

    /// The whole filter schema: `oneOf` of the four node kinds, exactly one
    /// property.
    fn root(&self, v: &Value, path: &[Seg]) -> Vec<SchemaError> {
        let mut out = Vec::new();
        let field_value = |x: &Value, p: &[Seg]| {
            self.object_one(x, p, &|k| self.is_field(k), &self.fields_pattern, &scalar)
        };
        let field_values = |x: &Value, p: &[Seg]| {
            self.object_one(
                x,
                p,
                &|k| self.is_field(k),
                &self.fields_pattern,
                &in_values,
            )
        };
        let and_or_items = |x: &Value, p: &[Seg]| self.and_or_array(x, p);
        let not_operand = |x: &Value, p: &[Seg]| self.root(x, p);
        let branches: [(KeyTest<'_>, &str, Sub<'_>); 4] = [
            (
                &|k| CmpOp::from_symbol(k).is_some(),
                SIMPLE_OPS_PATTERN,
                &field_value,
            ),
            (&|k| k.eq_ignore_ascii_case("in"), IN_PATTERN, &field_values),
            (
                &|k| k.eq_ignore_ascii_case("and") || k.eq_ignore_ascii_case("or"),
                AND_OR_PATTERN,
                &and_or_items,
            ),
            (
                &|k| k.eq_ignore_ascii_case("not"),
                NOT_PATTERN,
                &not_operand,
            ),
        ];
        let mut context = Vec::new();
        let mut valid = false;
        for (is_key, pattern, sub) in branches {
            let errs = self.object_one(v, path, is_key, pattern, sub);
            if errs.is_empty() {
                valid = true;
                break;
            }
            context.extend(errs);
        }
        if !valid {
            out.push(SchemaError {
                path: path.to_vec(),
                message: format!("{} is not valid under any of the given schemas", py_repr(v)),
                weak: true,
                type_mismatch: true,
                context,
            });
        }
        out.extend(property_count(v, path, true));
        out
    }

    /// `{"type": "object", "patternProperties": {pattern: sub},
    /// "additionalProperties": false, "minProperties": 1, "maxProperties": 1}`.
    fn object_one(
        &self,
        v: &Value,
        path: &[Seg],
        is_key: KeyTest<'_>,
        pattern: &str,
        sub: Sub<'_>,
    ) -> Vec<SchemaError> {
        let Value::Object(m) = v else {
            return vec![type_error(v, "object", path)];
        };
        let mut out = Vec::new();
        let mut extras = Vec::new();
        for (k, x) in m {
            if is_key(k) {
                out.extend(sub(x, &with(path, Seg::Key(k.clone()))));
            } else {
                extras.push(k);
            }
        }
        if !extras.is_empty() {
            extras.sort();
            let verb = if extras.len() == 1 { "does" } else { "do" };
            let joined = extras
                .iter()
                .map(|k| py_str_repr(k))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(plain(
                path,
                format!(
                    "{joined} {verb} not match any of the regexes: {}",
                    py_str_repr(pattern)
                ),
                false,
            ));
        }
        out.extend(property_count(v, path, false));
        out
    }

    /// `{"type": "array", "items": {"$ref": "#"}, "minItems": 2}`.
    fn and_or_array(&self, v: &Value, path: &[Seg]) -> Vec<SchemaError> {
        let Value::Array(items) = v else {
            return vec![type_error(v, "array", path)];
        };
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            out.extend(self.root(it, &with(path, Seg::Idx(i))));
        }
        if items.len() < 2 {
            out.push(plain(path, format!("{} is too short", py_repr(v)), false));
        }
        out
    }

    /// The order-by schema: an array of single-property objects whose value
    /// is a string matching `(?i)^asc$|^desc$`.
    fn orderby(&self, v: &Value) -> Vec<SchemaError> {
        let Value::Array(items) = v else {
            return vec![type_error(v, "array", &[])];
        };
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            out.extend(self.object_one(
                it,
                &[Seg::Idx(i)],
                &|k| self.is_field(k),
                &self.fields_pattern,
                &direction,
            ));
        }
        out
    }
}

/// `{"oneOf": [string, number, boolean], "minProperties": 1, "maxProperties": 1}`.
fn scalar(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
    let mut out = Vec::new();
    if !(v.is_string() || v.is_number() || v.is_boolean()) {
        out.push(one_of_types(v, path, &["string", "number", "boolean"]));
    }
    out.extend(property_count(v, path, true));
    out
}

/// `{"type": "array", "items": {"oneOf": [string, number]}, "minItems": 1}`.
fn in_values(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
    let Value::Array(items) = v else {
        return vec![type_error(v, "array", path)];
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if !(it.is_string() || it.is_number()) {
            out.push(one_of_types(
                it,
                &with(path, Seg::Idx(i)),
                &["string", "number"],
            ));
        }
    }
    if items.is_empty() {
        out.push(plain(path, "[] should be non-empty".to_owned(), false));
    }
    out
}

fn direction(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
    static DIRECTION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^(?:asc|desc)$").expect("direction regex is valid"));
    match v {
        Value::String(s) if DIRECTION.is_match(s) => Vec::new(),
        Value::String(_) => vec![plain(
            path,
            format!(
                "{} does not match {}",
                py_repr(v),
                py_str_repr(DIRECTION_PATTERN)
            ),
            false,
        )],
        _ => vec![type_error(v, "string", path)],
    }
}

fn with(path: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

fn plain(path: &[Seg], message: String, type_mismatch: bool) -> SchemaError {
    SchemaError {
        path: path.to_vec(),
        message,
        weak: false,
        type_mismatch,
        context: Vec::new(),
    }
}

fn type_error(v: &Value, ty: &str, path: &[Seg]) -> SchemaError {
    plain(path, format!("{} is not of type '{ty}'", py_repr(v)), true)
}

fn one_of_types(v: &Value, path: &[Seg], types: &[&str]) -> SchemaError {
    SchemaError {
        path: path.to_vec(),
        message: format!("{} is not valid under any of the given schemas", py_repr(v)),
        weak: true,
        type_mismatch: true,
        context: types.iter().map(|t| type_error(v, t, path)).collect(),
    }
}

/// `minProperties: 1` and `maxProperties: 1` (only for objects).
fn property_count(v: &Value, path: &[Seg], untyped_schema: bool) -> Vec<SchemaError> {
    match v {
        Value::Object(m) if m.is_empty() => vec![plain(
            path,
            "{} should be non-empty".to_owned(),
            untyped_schema,
        )],
        Value::Object(m) if m.len() > 1 => {
            vec![plain(
                path,
                format!("{} has too many properties", py_repr(v)),
                untyped_schema,
            )]
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Python renderings and ISO 8601
// ---------------------------------------------------------------------------

/// Python `repr()` of the value `json.loads` would produce.
fn py_repr(v: &Value) -> String {
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
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_number(n: &Number) -> String {
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
fn py_float_repr(f: f64) -> String {
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
fn py_str_repr(s: &str) -> String {
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

static ISO8601: LazyLock<Regex> = LazyLock::new(|| {
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
fn normalize(dt: NaiveDateTime, offset: Option<i32>) -> NaiveDateTime {
    offset.map_or(dt, |o| dt - TimeDelta::seconds(i64::from(o)))
}

/// Python `datetime.isoformat()` of a naive date-time.
fn isoformat(dt: NaiveDateTime) -> String {
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let micros = dt.and_utc().timestamp_subsec_micros();
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn filter(text: &str) -> Result<Filter, QueryError> {
        parse_filter(text, ALARM_FIELDS, TIMESTAMP_FIELDS)
    }

    fn err(text: &str) -> String {
        filter(text).expect_err(text).to_string()
    }

    fn alarms() -> Vec<Value> {
        vec![
            json!({"alarm_id": "a1", "name": "cpu", "state": "alarm", "severity": "low", "enabled": true,
                   "project_id": "p1", "user_id": "u1", "timestamp": "2013-12-01T18:00:00",
                   "state_timestamp": "2013-12-01T18:00:00.5"}),
            json!({"alarm_id": "a2", "name": "disk", "state": "ok", "severity": "critical", "enabled": false,
                   "project_id": "p2", "user_id": "u2", "timestamp": "2013-12-01T18:30:00",
                   "state_timestamp": "2013-12-02T00:00:00"}),
            json!({"alarm_id": "a3", "name": "Mem", "state": "insufficient data", "severity": "moderate",
                   "enabled": true, "project_id": "p1", "user_id": "u2", "timestamp": "2013-12-01T19:00:00",
                   "state_timestamp": null}),
        ]
    }

    fn selected(f: &Filter) -> Vec<String> {
        alarms()
            .iter()
            .filter(|d| matches(f, d))
            .map(|d| d["alarm_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn simple_terms_group_positionally_and_default_op() {
        let t = parse_simple(&pairs(&[
            ("q.field", "state"),
            ("q.value", "alarm"),
            ("limit", "5"),
            ("q.field", "enabled"),
            ("q.op", ""),
            ("q.op", "eq"),
            ("q.value", "True"),
            ("q.type", ""),
            ("q.type", "boolean"),
        ]))
        .expect("valid");
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].field.as_str(), t[0].op.as_str(), t[0].value.as_str()),
            ("state", "eq", "alarm")
        );
        assert_eq!(
            (
                t[1].field.as_str(),
                t[1].type_.as_str(),
                t[1].value.as_str()
            ),
            ("enabled", "boolean", "True")
        );
        let missing = parse_simple(&pairs(&[
            ("q.field", "a"),
            ("q.field", "b"),
            ("q.value", "x"),
        ]));
        assert_eq!(
            missing.expect_err("second term has no value").to_string(),
            "Invalid input for field/attribute value. Value: 'None'. Mandatory field missing."
        );
        assert_eq!(
            parse_simple(&pairs(&[("q.bogus", "x")]))
                .expect_err("unknown")
                .to_string(),
            "Unknown argument: \"q.bogus\""
        );
    }

    #[test]
    fn simple_values_convert_like_aodh() {
        assert_eq!(convert_value(" 42 ", "integer"), Ok(json!(42)));
        assert_eq!(convert_value("1_000", "integer"), Ok(json!(1000)));
        assert_eq!(convert_value("1.5e3", "float"), Ok(json!(1500.0)));
        assert_eq!(convert_value("Yes", "boolean"), Ok(json!(true)));
        assert_eq!(convert_value("off", "boolean"), Ok(json!(false)));
        assert_eq!(
            convert_value("2013-12-05T20:38:29.5+01:00", "datetime"),
            Ok(json!("2013-12-05T19:38:29.500000"))
        );
        assert_eq!(
            convert_value("maybe", "boolean")
                .expect_err("bad bool")
                .to_string(),
            "Unable to convert the value maybe to the expected data type boolean."
        );
        assert_eq!(
            convert_value("1.5", "integer")
                .expect_err("bad int")
                .to_string(),
            "Unable to convert the value 1.5 to the expected data type integer."
        );
        assert_eq!(
            convert_value("x", "blob")
                .expect_err("bad type")
                .to_string(),
            "The data type blob is not supported. The supported data type list is: \
             ['integer', 'float', 'string', 'boolean', 'datetime']"
        );
    }

    #[test]
    fn untyped_values_are_guessed_like_literal_eval() {
        assert_eq!(convert_value("True", ""), Ok(json!(true)));
        assert_eq!(convert_value("true", ""), Ok(json!("true")));
        assert_eq!(convert_value("None", ""), Ok(Value::Null));
        assert_eq!(convert_value("-12", ""), Ok(json!(-12)));
        assert_eq!(convert_value("0x1f", ""), Ok(json!(31)));
        assert_eq!(convert_value("007", ""), Ok(json!("007")));
        assert_eq!(convert_value("2.5", ""), Ok(json!(2.5)));
        assert_eq!(convert_value("'it''", ""), Ok(json!("'it''")));
        assert_eq!(convert_value("'quoted'", ""), Ok(json!("quoted")));
        assert_eq!(convert_value("alarm", ""), Ok(json!("alarm")));
    }

    #[test]
    fn operators_aliases_and_case() {
        let f = filter(
            r#"{"AND": [{"=": {"project": "p1"}}, {"=<": {"timestamp": "2013-12-01T18:30:00"}}]}"#,
        )
        .expect("valid");
        assert_eq!(selected(&f), ["a1"]);
        let f =
            filter(r#"{"Or": [{"=~": {"name": "^d"}}, {"In": {"user": ["u1"]}}]}"#).expect("valid");
        assert_eq!(selected(&f), ["a1", "a2"]);
        let f = filter(r#"{"not": {"=": {"enabled": true}}}"#).expect("valid");
        assert_eq!(selected(&f), ["a2"]);
        // Strings compare by code point: "moderate" >= "low", "critical" < "low".
        let f = filter(r#"{"=>": {"severity": "low"}}"#).expect("valid");
        assert_eq!(selected(&f), ["a1", "a3"]);
        let f = filter(r#"{"!=": {"name": "cpu"}}"#).expect("valid");
        assert_eq!(selected(&f), ["a2", "a3"]);
    }

    #[test]
    fn timestamps_compare_as_datetimes_with_offset_dropped() {
        // Fraction-less literal against a document with a fraction.
        let f = filter(r#"{">": {"state_timestamp": "2013-12-01T18:00:00"}}"#).expect("valid");
        assert_eq!(selected(&f), ["a1", "a2"]);
        // Aodh drops the offset without converting: 19:00+05:00 means 19:00.
        let f = filter(r#"{"=": {"timestamp": "2013-12-01T19:00:00+05:00"}}"#).expect("valid");
        assert_eq!(selected(&f), ["a3"]);
        let f = filter(r#"{"<": {"timestamp": "2013-12-01 18:30"}}"#).expect("valid");
        assert_eq!(selected(&f), ["a1"]);
        assert_eq!(
            err(r#"{"=": {"timestamp": "not a valid isotime string"}}"#),
            "Failed to parse the timestamp value not a valid isotime string"
        );
        assert_eq!(
            err(r#"{"=": {"timestamp": 5}}"#),
            "Failed to parse the timestamp value 5"
        );
        assert_eq!(
            err(r#"{"in": {"timestamp": ["2013-12-01"]}}"#),
            "Failed to parse the timestamp value ['2013-12-01']"
        );
        assert_eq!(
            err(r#"{"=": {"timestamp": "201312"}}"#),
            "Failed to parse the timestamp value 201312"
        );
    }

    #[test]
    fn null_fields_are_unknown_even_under_not() {
        let f = filter(r#"{"not": {"<": {"state_timestamp": "2030-01-01"}}}"#).expect("valid");
        assert!(selected(&f).is_empty());
        let f =
            filter(r#"{"or": [{"=": {"state_timestamp": "2013-12-02"}}, {"=": {"name": "Mem"}}]}"#)
                .expect("valid");
        assert_eq!(selected(&f), ["a2", "a3"]);
    }

    #[test]
    fn schema_errors_read_like_jsonschema() {
        let p = "Filter expression not valid: ";
        assert_eq!(
            err(r#"{"=": {"project_id11": 42}}"#),
            format!(
                "{p}'project_id11' does not match any of the regexes: '{}'",
                Schema::new(ALARM_FIELDS).fields_pattern
            )
        );
        assert_eq!(
            err(r#"{"xx": {"name": 1}}"#),
            format!("{p}{{'xx': {{'name': 1}}}} is not valid under any of the given schemas")
        );
        assert_eq!(err("{}"), format!("{p}{{}} should be non-empty"));
        assert_eq!(
            err(r#"{"=": {"name": "a"}, "<": {"name": "b"}}"#),
            format!("{p}{{'<': {{'name': 'b'}}, '=': {{'name': 'a'}}}} has too many properties")
        );
        assert_eq!(
            err(r#"{"and": [{"=": {"name": "a"}}]}"#),
            format!("{p}[{{'=': {{'name': 'a'}}}}] is too short")
        );
        assert_eq!(
            err(r#"{"=": {"name": null}}"#),
            format!("{p}None is not valid under any of the given schemas")
        );
        assert_eq!(
            err(r#"{"in": {"name": []}}"#),
            format!("{p}[] should be non-empty")
        );
        assert_eq!(
            err(r#"{"in": {"name": [true]}}"#),
            format!("{p}True is not valid under any of the given schemas")
        );
        assert_eq!(
            err(r#"{"=": "name"}"#),
            format!("{p}'name' is not of type 'object'")
        );
        assert_eq!(
            err(r#"{"and": [{"=": {"name": "a"}}, {"=": {"nam": 0.5}}]}"#),
            format!(
                "{p}'nam' does not match any of the regexes: '{}'",
                Schema::new(ALARM_FIELDS).fields_pattern
            )
        );
        assert!(err("{not json").starts_with(p));
        assert!(
            err(r#"{"=~": {"name": "("}}"#)
                .starts_with("Filter expression not valid: invalid regular")
        );
    }

    #[test]
    fn history_fields_differ_from_alarm_fields() {
        assert!(
            parse_filter(
                r#"{"=": {"on_behalf_of": "p"}}"#,
                ALARM_CHANGE_FIELDS,
                TIMESTAMP_FIELDS
            )
            .is_ok()
        );
        assert!(
            parse_filter(
                r#"{"=": {"on_behalf_of": "p"}}"#,
                ALARM_FIELDS,
                TIMESTAMP_FIELDS
            )
            .is_err()
        );
    }

    #[test]
    fn orderby_parses_validates_and_sorts() {
        let o = parse_orderby(r#"[{"user": "DESC"}, {"timestamp": "asc"}]"#, ALARM_FIELDS)
            .expect("valid");
        assert_eq!(
            o,
            [
                OrderBy {
                    field: "user_id".into(),
                    desc: true
                },
                OrderBy {
                    field: "timestamp".into(),
                    desc: false
                }
            ]
        );
        let mut docs = alarms();
        sort(&mut docs, &o);
        let ids: Vec<_> = docs.iter().map(|d| d["alarm_id"].clone()).collect();
        assert_eq!(ids, [json!("a2"), json!("a3"), json!("a1")]);

        sort(
            &mut docs,
            &parse_orderby(r#"[{"severity": "desc"}]"#, ALARM_FIELDS).expect("valid"),
        );
        let sev: Vec<_> = docs.iter().map(|d| d["severity"].clone()).collect();
        assert_eq!(sev, [json!("critical"), json!("moderate"), json!("low")]);

        sort(
            &mut docs,
            &[OrderBy {
                field: "state_timestamp".into(),
                desc: false,
            }],
        );
        assert_eq!(docs[0]["alarm_id"], json!("a3"), "null sorts first");

        sort(&mut docs, &default_order());
        assert_eq!(docs[0]["alarm_id"], json!("a3"));

        let p = "Order-by expression not valid: ";
        let e = |t: &str| parse_orderby(t, ALARM_FIELDS).expect_err(t).to_string();
        assert_eq!(
            e(r#"[{"project_id": "up"}]"#),
            format!("{p}'up' does not match '(?i)^asc$|^desc$'")
        );
        assert_eq!(
            e(r#"{"project_id": "asc"}"#),
            format!("{p}{{'project_id': 'asc'}} is not of type 'array'")
        );
        assert_eq!(
            e(r#"[{"project_id": 1}]"#),
            format!("{p}1 is not of type 'string'")
        );
        assert!(e(r#"[{"": "asc"}]"#).contains("'' does not match any of the regexes"));
        assert!(
            parse_orderby("[]", ALARM_FIELDS)
                .expect("empty is valid")
                .is_empty()
        );
    }

    #[test]
    fn project_scoping() {
        let own = filter(r#"{"=": {"project": "p1"}}"#).expect("valid");
        let scoped = and_project(Some(own.clone()), "p1");
        assert_eq!(check_visibility(&scoped, "project_id", "p1"), Ok(()));
        assert_eq!(selected(&scoped), ["a1", "a3"]);
        let other = and_project(
            Some(filter(r#"{"not": {"=": {"project_id": "p2"}}}"#).expect("valid")),
            "p1",
        );
        let e = check_visibility(&other, "project_id", "p1").expect_err("other project");
        assert_eq!(e.status(), 401);
        assert_eq!(e.faultstring(), "Not Authorized to access project p2");
        let listed = filter(r#"{"in": {"project_id": ["p1"]}}"#).expect("valid");
        assert_eq!(
            check_visibility(&listed, "project_id", "p1")
                .expect_err("in")
                .to_string(),
            "Not Authorized to access project ['p1']"
        );
        assert_eq!(selected(&and_project(None, "p2")), ["a2"]);
        let history = restrict(None, "on_behalf_of", "p1");
        assert!(matches(&history, &json!({"on_behalf_of": "p1"})));
        assert!(!matches(&history, &json!({"on_behalf_of": "p2"})));
    }

    #[test]
    fn limit_must_be_positive() {
        assert_eq!(
            check_limit(Some(0)).expect_err("zero").to_string(),
            "Limit should be positive"
        );
        assert_eq!(check_limit(Some(3)), Ok(()));
        assert_eq!(check_limit(None), Ok(()));
    }

    #[test]
    fn python_reprs() {
        assert_eq!(py_float_repr(0.23), "0.23");
        assert_eq!(py_float_repr(100.0), "100.0");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(1e15), "1000000000000000.0");
        assert_eq!(py_float_repr(1.5e-5), "1.5e-05");
        assert_eq!(py_float_repr(0.0001), "0.0001");
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(
            py_repr(&json!({"a": [1, 2.5, null, false]})),
            "{'a': [1, 2.5, None, False]}"
        );
    }

    #[test]
    fn iso8601_forms() {
        let p = |s: &str| parse_iso8601(s).map(|(d, o)| (isoformat(d), o));
        assert_eq!(p("2013"), Some(("2013-01-01T00:00:00".to_owned(), None)));
        assert_eq!(
            p("2013-2-3"),
            Some(("2013-02-03T00:00:00".to_owned(), None))
        );
        assert_eq!(
            p("20131205T1938"),
            Some(("2013-12-05T19:38:00".to_owned(), None))
        );
        assert_eq!(
            p("2013-12-05T19:38:29,1234567Z"),
            Some(("2013-12-05T19:38:29.123456".to_owned(), Some(0)))
        );
        assert_eq!(
            p("2013-12-05T19:38:29-0130"),
            Some(("2013-12-05T19:38:29".to_owned(), Some(-5400)))
        );
        assert_eq!(p("201312"), None);
        assert_eq!(p("2013-13-01"), None);
        assert_eq!(p("2013-12-05T24:00"), None);
    }
}
