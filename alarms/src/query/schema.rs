//! A small rendition of jsonschema for query.py's two schemas, with its "best match" error choice.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::*;

// ---------------------------------------------------------------------------
// A small rendition of jsonschema for query.py's two schemas
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    Key(String),
    Idx(usize),
}

/// One jsonschema `ValidationError`, reduced to what `best_match` looks at.
#[derive(Debug)]
pub(crate) struct SchemaError {
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
pub(crate) fn relevance(a: &SchemaError, b: &SchemaError) -> Ordering {
    b.path
        .len()
        .cmp(&a.path.len())
        .then_with(|| a.path.cmp(&b.path))
        .then_with(|| (!a.weak).cmp(&!b.weak))
        .then_with(|| a.type_mismatch.cmp(&b.type_mismatch))
}

/// jsonschema `best_match`: the most relevant top-level error, then down
/// its context to the least relevant (deepest) error while that is unique.
pub(crate) fn best_match(errors: Vec<SchemaError>) -> Option<String> {
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

pub(crate) struct Schema {
    fields: Vec<String>,
    pub(crate) fields_pattern: String,
}

type Sub<'a> = &'a dyn Fn(&Value, &[Seg]) -> Vec<SchemaError>;
type KeyTest<'a> = &'a dyn Fn(&str) -> bool;

impl Schema {
    pub(crate) fn new(allowed: &[&str]) -> Schema {
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
    pub(crate) fn root(&self, v: &Value, path: &[Seg]) -> Vec<SchemaError> {
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
    pub(crate) fn orderby(&self, v: &Value) -> Vec<SchemaError> {
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
pub(crate) fn scalar(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
    let mut out = Vec::new();
    if !(v.is_string() || v.is_number() || v.is_boolean()) {
        out.push(one_of_types(v, path, &["string", "number", "boolean"]));
    }
    out.extend(property_count(v, path, true));
    out
}

/// `{"type": "array", "items": {"oneOf": [string, number]}, "minItems": 1}`.
pub(crate) fn in_values(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
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

pub(crate) fn direction(v: &Value, path: &[Seg]) -> Vec<SchemaError> {
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

pub(crate) fn with(path: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

pub(crate) fn plain(path: &[Seg], message: String, type_mismatch: bool) -> SchemaError {
    SchemaError {
        path: path.to_vec(),
        message,
        weak: false,
        type_mismatch,
        context: Vec::new(),
    }
}

pub(crate) fn type_error(v: &Value, ty: &str, path: &[Seg]) -> SchemaError {
    plain(path, format!("{} is not of type '{ty}'", py_repr(v)), true)
}

pub(crate) fn one_of_types(v: &Value, path: &[Seg], types: &[&str]) -> SchemaError {
    SchemaError {
        path: path.to_vec(),
        message: format!("{} is not valid under any of the given schemas", py_repr(v)),
        weak: true,
        type_mismatch: true,
        context: types.iter().map(|t| type_error(v, t, path)).collect(),
    }
}

/// `minProperties: 1` and `maxProperties: 1` (only for objects).
pub(crate) fn property_count(v: &Value, path: &[Seg], untyped_schema: bool) -> Vec<SchemaError> {
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
