//! Gnocchi's resource search filter language, in its two spellings, and its
//! evaluation against one resource.
//!
//! - JSON (`POST /v1/search/resource/<type>` body, `search` of
//!   `/v1/aggregates`): one single-key object per node, validated like
//!   Gnocchi's `_ResourceSearchSchema` (`gnocchi/rest/api.py`) with the same
//!   voluptuous messages ([`from_json`]).
//! - String (`?filter=`, or a string `search`): Gnocchi's
//!   `QueryStringSearchAttrFilter` grammar ([`parse`]); it builds the JSON
//!   form and validates it the same way, so both spellings give the same
//!   [`Filter`].
//!
//! [`Filter::matches`] evaluates with the SQL semantics Gnocchi's
//! `QueryTransformer` (`gnocchi/indexer/sqlalchemy.py`) gets from the
//! database: three-valued logic, `= null` is `IS NULL`, `!= v` is
//! `IS NULL OR != v`, `like` is SQL `LIKE` (case-sensitive, `\` escapes),
//! and `created_by_user_id` / `created_by_project_id` match the `creator`
//! column.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

/// A comparison operator (every spelling Gnocchi accepts maps to one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`, `==`, `eq`.
    Eq,
    /// `!=`, `≠`, `ne`.
    Ne,
    /// `<`, `lt`.
    Lt,
    /// `<=`, `≤`, `le`.
    Le,
    /// `>`, `gt`.
    Gt,
    /// `>=`, `≥`, `ge`.
    Ge,
}

impl CmpOp {
    /// Reads any of Gnocchi's spellings.
    pub fn from_name(s: &str) -> Option<CmpOp> {
        Some(match s {
            "=" | "==" | "eq" => CmpOp::Eq,
            "!=" | "≠" | "ne" => CmpOp::Ne,
            "<" | "lt" => CmpOp::Lt,
            "<=" | "≤" | "le" => CmpOp::Le,
            ">" | "gt" => CmpOp::Gt,
            ">=" | "≥" | "ge" => CmpOp::Ge,
            _ => return None,
        })
    }

    /// The canonical (symbolic) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A validated search filter.
///
/// `And(vec![])` is the empty filter `{}` (matches everything); it is what
/// [`from_json`] returns for a top-level `{}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All of (`and`, `∧`).
    And(Vec<Filter>),
    /// Any of (`or`, `∨`).
    Or(Vec<Filter>),
    /// Negation (`not`).
    Not(Box<Filter>),
    /// `{op: {attr: value}}`; `value` is a JSON scalar (string, number,
    /// bool or null) exactly as given (string-form numbers are JSON numbers:
    /// integers without `.`/exponent are integers).
    Compare {
        /// The operator.
        op: CmpOp,
        /// The attribute name.
        attr: String,
        /// The literal.
        value: Value,
    },
    /// `{"like": {attr: pattern}}` (SQL `LIKE`; never on `id`). Numbers and
    /// bools given as pattern are turned into their Python `str()`.
    Like {
        /// The attribute name.
        attr: String,
        /// The pattern with `%`, `_` and `\` escapes.
        pattern: String,
    },
    /// `{"in": {attr: [values…]}}` (at least one value).
    In {
        /// The attribute name.
        attr: String,
        /// The literals (JSON scalars).
        values: Vec<Value>,
    },
}

/// What is wrong with a filter, or with evaluating it; the HTTP layer
/// answers 400 with [`FilterError::description`] as Gnocchi's `description`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// A schema violation: Gnocchi's voluptuous error,
    /// `{"cause": "Invalid input", "reason": …, "detail": [path…]}`.
    #[error("Invalid input: {reason}")]
    Invalid {
        /// voluptuous' text, e.g. `expected a list for dictionary value @ data['and']`.
        reason: String,
        /// The path to the faulty node, e.g. `["and"]`.
        detail: Vec<String>,
    },
    /// The string form does not parse; the text (without the
    /// `Invalid filter: ` prefix) says where.
    #[error("Invalid filter: {0}")]
    Syntax(String),
    /// An indexer error (unknown attribute, unconvertible value…): Gnocchi
    /// answers 400 with the bare text as description.
    #[error("{0}")]
    Query(String),
}

impl FilterError {
    /// Gnocchi's `Resource type <type> has no <attr> attribute` (what
    /// [`AttrSource`] returns for an attribute the type lacks).
    pub fn unknown_attribute(resource_type: &str, attr: &str) -> FilterError {
        FilterError::Query(format!(
            "Resource type {resource_type} has no {attr} attribute"
        ))
    }

    /// Gnocchi's ``Invalid value: `<v>' for field `<attr>'`` (what
    /// [`AttrSource::coerce`] returns for a literal the attribute's type
    /// cannot take).
    pub fn invalid_value(value: &Value, attr: &str) -> FilterError {
        FilterError::Query(format!(
            "Invalid value: `{}' for field `{attr}'",
            py_str(value)
        ))
    }

    /// The HTTP status (always 400).
    pub fn status(&self) -> u16 {
        400
    }

    /// Gnocchi's `description` member of the error body.
    pub fn description(&self) -> Value {
        match self {
            FilterError::Invalid { reason, detail } => json!({
                "cause": "Invalid input",
                "reason": reason,
                "detail": detail,
            }),
            FilterError::Syntax(m) => Value::String(format!("Invalid filter: {m}")),
            FilterError::Query(m) => Value::String(m.clone()),
        }
    }
}

/// A typed attribute value, as stored or as coerced from a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// SQL NULL.
    Null,
    /// Text (strings, UUIDs in their canonical text form).
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A timestamp, Unix microseconds.
    Time(i64),
}

/// One resource, seen by the filter. The lead implements it over a stored
/// resource and its type's schema.
///
/// - `get(attr)`: the resource's value, or
///   [`FilterError::unknown_attribute`] when the type has no such attribute.
///   The magic `lifespan` is `ended_at − started_at` as [`Typed::Num`]
///   seconds (`Null` while `ended_at` is null); `creator` must be
///   available for `created_by_user_id` / `created_by_project_id`.
/// - `coerce(attr, literal)`: the literal converted to the attribute's type
///   (never called with `null`): datetimes parsed to [`Typed::Time`], `id`
///   (and `lifespan`'s timespan, to seconds) converted, strings for string
///   columns (Python `str()` of numbers), numbers for numeric columns; on
///   failure [`FilterError::invalid_value`].
pub trait AttrSource {
    /// The resource's typed value of `attr`.
    fn get(&self, attr: &str) -> Result<Typed, FilterError>;
    /// The literal `v` converted to `attr`'s type.
    fn coerce(&self, attr: &str, v: &Value) -> Result<Typed, FilterError>;
}

/// SQL's three truth values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

impl Filter {
    /// The JSON form (canonical operator spellings; `And([])` is `{}`).
    pub fn to_json(&self) -> Value {
        let one = |k: &str, v: Value| {
            let mut m = Map::new();
            m.insert(k.to_string(), v);
            Value::Object(m)
        };
        match self {
            Filter::And(v) if v.is_empty() => Value::Object(Map::new()),
            Filter::And(v) => one("and", Value::Array(v.iter().map(Filter::to_json).collect())),
            Filter::Or(v) => one("or", Value::Array(v.iter().map(Filter::to_json).collect())),
            Filter::Not(f) => one("not", f.to_json()),
            Filter::Compare { op, attr, value } => one(op.as_str(), one(attr, value.clone())),
            Filter::Like { attr, pattern } => {
                one("like", one(attr, Value::String(pattern.clone())))
            }
            Filter::In { attr, values } => one("in", one(attr, Value::Array(values.clone()))),
        }
    }

    /// Every attribute the filter names, in order of first appearance.
    pub fn attributes(&self) -> Vec<&str> {
        fn walk<'a>(f: &'a Filter, out: &mut Vec<&'a str>) {
            match f {
                Filter::And(v) | Filter::Or(v) => v.iter().for_each(|f| walk(f, out)),
                Filter::Not(f) => walk(f, out),
                Filter::Compare { attr, .. }
                | Filter::Like { attr, .. }
                | Filter::In { attr, .. } => {
                    if !out.contains(&attr.as_str()) {
                        out.push(attr);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Whether the resource is selected (SQL `WHERE` semantics: only a TRUE
    /// condition selects; NULL comparisons are unknown, `not unknown` is
    /// unknown). Every node is evaluated (no short-circuit) so that an
    /// unknown attribute or bad literal is reported whatever the data, as
    /// Gnocchi reports it when building the query.
    pub fn matches(&self, r: &dyn AttrSource) -> Result<bool, FilterError> {
        Ok(self.eval(r)? == Tri::True)
    }

    fn eval(&self, r: &dyn AttrSource) -> Result<Tri, FilterError> {
        match self {
            Filter::And(v) => {
                let mut acc = Tri::True;
                for f in v {
                    match f.eval(r)? {
                        Tri::False => acc = Tri::False,
                        Tri::Unknown if acc == Tri::True => acc = Tri::Unknown,
                        _ => {}
                    }
                }
                Ok(acc)
            }
            Filter::Or(v) => {
                let mut acc = Tri::False;
                for f in v {
                    match f.eval(r)? {
                        Tri::True => acc = Tri::True,
                        Tri::Unknown if acc == Tri::False => acc = Tri::Unknown,
                        _ => {}
                    }
                }
                Ok(acc)
            }
            Filter::Not(f) => Ok(f.eval(r)?.not()),
            Filter::Compare { op, attr, value } => eval_compare(*op, attr, value, r),
            Filter::Like { attr, pattern } => {
                if let Some(p) = creator_pattern(attr, &Value::String(pattern.clone())) {
                    return creator_like(r, &p);
                }
                let have = r.get(attr)?;
                Ok(match typed_text(&have) {
                    None => Tri::Unknown,
                    Some(s) => Tri::from_bool(like_match(pattern, &s)),
                })
            }
            Filter::In { attr, values } => {
                if is_creator_attr(attr) {
                    return Err(FilterError::invalid_value(
                        &Value::Array(values.clone()),
                        attr,
                    ));
                }
                let have = r.get(attr)?;
                let mut wanted = Vec::with_capacity(values.len());
                for v in values {
                    wanted.push(if v.is_null() {
                        Typed::Null
                    } else {
                        r.coerce(attr, v)?
                    });
                }
                if have == Typed::Null {
                    return Ok(Tri::Unknown);
                }
                let mut acc = Tri::False;
                for w in &wanted {
                    match sql_cmp(&have, w, attr)? {
                        None => acc = if acc == Tri::True { acc } else { Tri::Unknown },
                        Some(std::cmp::Ordering::Equal) => acc = Tri::True,
                        Some(_) => {}
                    }
                }
                Ok(acc)
            }
        }
    }
}

fn is_creator_attr(attr: &str) -> bool {
    attr == "created_by_user_id" || attr == "created_by_project_id"
}

/// The `creator LIKE` pattern Gnocchi substitutes for the two
/// `created_by_*` magic attributes.
fn creator_pattern(attr: &str, value: &Value) -> Option<String> {
    match attr {
        "created_by_user_id" => Some(format!("{}:%", py_str(value))),
        "created_by_project_id" => Some(format!("%:{}", py_str(value))),
        _ => None,
    }
}

fn creator_like(r: &dyn AttrSource, pattern: &str) -> Result<Tri, FilterError> {
    Ok(match r.get("creator")? {
        Typed::Str(s) => Tri::from_bool(like_match(pattern, &s)),
        _ => Tri::Unknown,
    })
}

fn eval_compare(
    op: CmpOp,
    attr: &str,
    value: &Value,
    r: &dyn AttrSource,
) -> Result<Tri, FilterError> {
    if let Some(p) = creator_pattern(attr, value) {
        return match op {
            CmpOp::Eq => creator_like(r, &p),
            CmpOp::Ne => Ok(creator_like(r, &p)?.not()),
            _ => Err(FilterError::invalid_value(value, attr)),
        };
    }
    let have = r.get(attr)?;
    if value.is_null() {
        // SQLAlchemy turns `== None` / `!= None` into IS [NOT] NULL; other
        // comparisons with NULL are unknown.
        return Ok(match op {
            CmpOp::Eq => Tri::from_bool(have == Typed::Null),
            CmpOp::Ne => Tri::from_bool(have != Typed::Null),
            _ => Tri::Unknown,
        });
    }
    let want = r.coerce(attr, value)?;
    if have == Typed::Null {
        // `!=` is `attr IS NULL OR attr != v` in Gnocchi.
        return Ok(if op == CmpOp::Ne {
            Tri::True
        } else {
            Tri::Unknown
        });
    }
    let Some(ord) = sql_cmp(&have, &want, attr)? else {
        return Ok(Tri::Unknown);
    };
    use std::cmp::Ordering::*;
    Ok(Tri::from_bool(match op {
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    }))
}

/// SQL comparison of two typed values: `None` when either is NULL (or a
/// NaN); an error when the types differ (the literal could not be coerced).
fn sql_cmp(a: &Typed, b: &Typed, attr: &str) -> Result<Option<std::cmp::Ordering>, FilterError> {
    Ok(match (a, b) {
        (Typed::Null, _) | (_, Typed::Null) => None,
        (Typed::Str(x), Typed::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Typed::Num(x), Typed::Num(y)) => x.partial_cmp(y),
        (Typed::Bool(x), Typed::Bool(y)) => Some(x.cmp(y)),
        (Typed::Time(x), Typed::Time(y)) => Some(x.cmp(y)),
        (Typed::Num(x), Typed::Bool(y)) => x.partial_cmp(&f64::from(u8::from(*y))),
        (Typed::Bool(x), Typed::Num(y)) => f64::from(u8::from(*x)).partial_cmp(y),
        (_, other) => return Err(FilterError::invalid_value(&typed_json(other), attr)),
    })
}

fn typed_json(t: &Typed) -> Value {
    match t {
        Typed::Null => Value::Null,
        Typed::Str(s) => Value::String(s.clone()),
        Typed::Num(n) => json!(n),
        Typed::Bool(b) => Value::Bool(*b),
        Typed::Time(t) => json!(t),
    }
}

/// The text a non-text column shows to `LIKE` (SQLite-like leniency).
fn typed_text(t: &Typed) -> Option<String> {
    match t {
        Typed::Null => None,
        Typed::Str(s) => Some(s.clone()),
        Typed::Num(n) => Some(py_float_repr(*n)),
        Typed::Bool(b) => Some(if *b { "true" } else { "false" }.to_string()),
        Typed::Time(t) => Some(t.to_string()),
    }
}

/// SQL `LIKE` as PostgreSQL does it: case-sensitive, `%` any run, `_` one
/// character, `\` escapes the next character.
pub fn like_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(it.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking on the last `%`.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Any)
}

// ---------------------------------------------------------------------------
// JSON form

/// One step of a voluptuous path.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn path_repr(path: &[Step]) -> String {
    let mut s = String::new();
    for p in path {
        match p {
            Step::Key(k) => {
                let _ = write!(s, "[{}]", py_repr(&Value::String(k.clone())));
            }
            Step::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

/// A voluptuous error: `msg[ for dictionary value][ @ data<path>]`.
fn invalid(msg: &str, path: &[Step], dict_value: bool) -> FilterError {
    let mut reason = msg.to_string();
    if dict_value {
        reason.push_str(" for dictionary value");
    }
    if !path.is_empty() {
        reason.push_str(" @ data");
        reason.push_str(&path_repr(path));
    }
    FilterError::Invalid {
        reason,
        detail: path
            .iter()
            .map(|p| match p {
                Step::Key(k) => k.clone(),
                Step::Index(i) => i.to_string(),
            })
            .collect(),
    }
}

fn with(path: &[Step], step: Step) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(step);
    p
}

/// Where a node sits, which changes voluptuous' wording.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    ListItem,
    DictValue,
}

/// Validates a JSON filter like Gnocchi's `ResourceSearchSchema`.
///
/// A top-level `{}` is the empty filter (`Filter::And(vec![])`); a nested
/// `{}` passes Gnocchi's schema but its indexer rejects it with
/// `Unable to parse this query`, which is returned here.
pub fn from_json(v: &Value) -> Result<Filter, FilterError> {
    match node(v, &[], Ctx::Top)? {
        Some(f) => Ok(f),
        None => Ok(Filter::And(Vec::new())),
    }
}

fn node(v: &Value, path: &[Step], ctx: Ctx) -> Result<Option<Filter>, FilterError> {
    let dv = ctx == Ctx::DictValue;
    let obj = match v {
        Value::Object(o) => o,
        Value::Null if ctx != Ctx::DictValue => {
            return Err(invalid("invalid value or type", path, false));
        }
        _ if ctx == Ctx::ListItem => return Err(invalid("invalid value or type", path, false)),
        _ => return Err(invalid("expected a dictionary", path, dv)),
    };
    if obj.len() > 1 {
        return Err(invalid("length of value must be at most 1", path, dv));
    }
    let Some((op, arg)) = obj.iter().next() else {
        if ctx == Ctx::Top {
            return Ok(None);
        }
        return Err(FilterError::Query("Unable to parse this query".into()));
    };
    let here = with(path, Step::Key(op.clone()));
    match op.as_str() {
        "and" | "∧" | "or" | "∨" => {
            let Value::Array(items) = arg else {
                return Err(invalid("expected a list", &here, true));
            };
            if items.is_empty() {
                return Err(invalid("length of value must be at least 1", &here, true));
            }
            let mut subs = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match node(item, &with(&here, Step::Index(i)), Ctx::ListItem)? {
                    Some(f) => subs.push(f),
                    None => return Err(FilterError::Query("Unable to parse this query".into())),
                }
            }
            Ok(Some(if op == "and" || op == "∧" {
                Filter::And(subs)
            } else {
                Filter::Or(subs)
            }))
        }
        "not" => match node(arg, &here, Ctx::DictValue)? {
            Some(f) => Ok(Some(Filter::Not(Box::new(f)))),
            None => Err(FilterError::Query("Unable to parse this query".into())),
        },
        "like" | "in" => {
            let (attr, val) = single_attr(arg, &here)?;
            let at = with(&here, Step::Key(attr.clone()));
            if op == "like" {
                if attr == "id" {
                    return Err(invalid("value must not be one of ['id']", &at, false));
                }
                let pattern = match val {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => py_str(val),
                    _ => return Err(invalid("expected str", &at, true)),
                };
                return Ok(Some(Filter::Like { attr, pattern }));
            }
            let Value::Array(items) = val else {
                return Err(invalid("expected a list", &at, true));
            };
            for (i, item) in items.iter().enumerate() {
                let ok = if attr == "id" {
                    item.is_string()
                } else {
                    is_scalar(item)
                };
                if !ok {
                    return Err(invalid("expected str", &with(&at, Step::Index(i)), false));
                }
            }
            if items.is_empty() {
                return Err(invalid("length of value must be at least 1", &at, true));
            }
            Ok(Some(Filter::In {
                attr,
                values: items.clone(),
            }))
        }
        other => {
            let Some(cmp) = CmpOp::from_name(other) else {
                return Err(invalid("not a valid value", &here, false));
            };
            let (attr, val) = single_attr(arg, &here)?;
            let ok = if attr == "id" {
                val.is_string()
            } else {
                is_scalar(val)
            };
            if !ok {
                return Err(invalid("expected str", &with(&here, Step::Key(attr)), true));
            }
            Ok(Some(Filter::Compare {
                op: cmp,
                attr,
                value: val.clone(),
            }))
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn single_attr<'a>(arg: &'a Value, here: &[Step]) -> Result<(String, &'a Value), FilterError> {
    let Value::Object(o) = arg else {
        return Err(invalid("expected a dictionary", here, true));
    };
    if o.len() > 1 {
        return Err(invalid("length of value must be at most 1", here, true));
    }
    match o.iter().next() {
        Some((k, v)) => Ok((k.clone(), v)),
        None => Err(invalid("length of value must be at least 1", here, true)),
    }
}

#[path = "filter_text.rs"]
mod text;
pub use text::parse;

// ---------------------------------------------------------------------------
// Python renderings (for Gnocchi's messages)

pub(crate) use crate::pyfmt::{float_repr as py_float_repr, repr as py_repr, str as py_str};

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
