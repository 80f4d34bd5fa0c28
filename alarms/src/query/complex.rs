//! The complex query: filter, orderby, limit (query.py `ValidatedComplexQuery`), evaluated with SQL's three-valued logic.

use std::cmp::Ordering;

use chrono::NaiveDateTime;
use regex::Regex;
use serde_json::Value;

use super::*;

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
    pub(crate) fn from_symbol(s: &str) -> Option<CmpOp> {
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

pub(crate) const SIMPLE_OPS_PATTERN: &str = "(?i)^=$|^!=$|^<$|^>$|^<=$|^=<$|^>=$|^=>$|^=~$";
pub(crate) const IN_PATTERN: &str = "(?i)^in$";
pub(crate) const AND_OR_PATTERN: &str = "(?i)^and$|^or$";
pub(crate) const NOT_PATTERN: &str = "(?i)^not$";
pub(crate) const DIRECTION_PATTERN: &str = "(?i)^asc$|^desc$";

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

pub(crate) fn eval(f: &Filter, doc: &Value) -> Option<bool> {
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

pub(crate) fn present<'a>(doc: &'a Value, field: &str) -> Option<&'a Value> {
    doc.get(field).filter(|v| !v.is_null())
}

pub(crate) fn regex_subject(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

pub(crate) fn sql_cmp(a: &Value, b: &Value) -> Option<Ordering> {
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

pub(crate) fn severity_rank(v: Option<&Value>) -> u8 {
    match v.and_then(Value::as_str) {
        Some("low") => 1,
        Some("moderate") => 2,
        Some("critical") => 3,
        _ => 0,
    }
}

pub(crate) fn sort_cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
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

pub(crate) fn alias(field: &str) -> String {
    FIELD_ALIASES
        .iter()
        .find(|(from, _)| *from == field)
        .map_or(field, |(_, to)| to)
        .to_owned()
}

/// Builds the filter from a schema-valid JSON tree.
pub(crate) fn build(v: &Value, timestamp_fields: &[&str]) -> Result<Filter, QueryError> {
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

pub(crate) fn bad_timestamp(v: &Value) -> QueryError {
    QueryError::Invalid(format!("Failed to parse the timestamp value {}", py_str(v)))
}
