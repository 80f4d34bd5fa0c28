//! Reading `operations`: the S-expression string form (pyparsing's
//! `nestedExpr`, as Gnocchi reads it) and the validation of the JSON list
//! form into an [`Op`] tree, with Gnocchi's voluptuous messages.

use super::*;
// ---------------------------------------------------------------------------
// S-expressions

fn sexpr_error(expected: &str, cs: &[char], at: usize) -> OpsError {
    let found = match cs.get(at) {
        None => ", found end of text".to_string(),
        Some(c) if *c == '(' || *c == ')' => format!(", found '{c}'"),
        Some(_) => {
            let w: String = cs[at..]
                .iter()
                .take_while(|c| !c.is_whitespace() && **c != '(' && **c != ')')
                .collect();
            format!(", found '{w}'")
        }
    };
    let found = if cs.get(at).is_none() && at == 0 {
        String::new()
    } else {
        found
    };
    OpsError::Syntax(format!(
        "Expected {expected}{found}  (at char {at}), (line:1, col:{})",
        at + 1
    ))
}

/// pyparsing's `OneOrMore(nestedExpr()).parseString(s)[0]`: the first
/// parenthesised expression, atoms as strings, the rest of the text
/// ignored. Quoted atoms (`"cpu util"`, `'x'`) lose their quotes (Gnocchi
/// keeps them as part of the name).
fn sexpr(s: &str) -> Result<Value, OpsError> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() && cs[i].is_whitespace() {
        i += 1;
    }
    if cs.get(i) != Some(&'(') {
        return Err(sexpr_error("'('", &cs, i));
    }
    let mut stack: Vec<Vec<Value>> = vec![Vec::new()];
    i += 1;
    loop {
        let Some(&c) = cs.get(i) else {
            return Err(sexpr_error("')'", &cs, i));
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                stack.push(Vec::new());
                i += 1;
            }
            ')' => {
                i += 1;
                let done = stack.pop().unwrap_or_default();
                match stack.last_mut() {
                    Some(parent) => parent.push(Value::Array(done)),
                    None => return Ok(Value::Array(done)),
                }
            }
            '"' | '\'' => {
                let mut j = i + 1;
                let mut body = String::new();
                while j < cs.len() && cs[j] != c {
                    if cs[j] == '\\' && j + 1 < cs.len() {
                        j += 1;
                    }
                    body.push(cs[j]);
                    j += 1;
                }
                if j >= cs.len() {
                    return Err(sexpr_error("')'", &cs, cs.len()));
                }
                if let Some(top) = stack.last_mut() {
                    top.push(Value::String(body));
                }
                i = j + 1;
            }
            _ => {
                let mut j = i;
                while j < cs.len()
                    && !cs[j].is_whitespace()
                    && !matches!(cs[j], '(' | ')' | '"' | '\'')
                {
                    j += 1;
                }
                if let Some(top) = stack.last_mut() {
                    top.push(Value::String(cs[i..j].iter().collect()));
                }
                i = j;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Validation

const OPERATIONS: &str = "operations";

fn invalid_ops(msg: String) -> OpsError {
    OpsError::Invalid {
        reason: format!("{msg} for dictionary value @ data['{OPERATIONS}']"),
        detail: vec![OPERATIONS.to_string()],
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Parses and validates `operations` (nested JSON lists, or a string
/// S-expression), with Gnocchi's errors. Refuses a tree without `metric`
/// ([`OpsError::NoMetric`]), as the API does right after validation.
///
/// Gnocchi reports any invalid sub-node as the top-level operator being
/// invalid (`'+' operation invalid`); so does this.
pub fn parse(v: &Value) -> Result<Op, OpsError> {
    let owned;
    let v = match v {
        Value::String(s) => {
            owned = sexpr(s)?;
            &owned
        }
        other => other,
    };
    let Value::Array(a) = v else {
        return Err(invalid_ops(format!(
            "Expected a tuple/list, got a <class '{}'>",
            py_type(v)
        )));
    };
    if a.is_empty() {
        return Err(invalid_ops("Operation must not be empty".into()));
    }
    if a.len() < 2 {
        return Err(invalid_ops("Operation need at least one argument".into()));
    }
    let op = if a[0] == json!("metric") {
        Op::Metric(metric_args(&a[1..]).map_err(|i| OpsError::Invalid {
            reason: format!("None @ data['{OPERATIONS}'][{i}]"),
            detail: vec![OPERATIONS.to_string(), i.to_string()],
        })?)
    } else {
        list_node(a).ok_or_else(|| invalid_ops(format!("'{}' operation invalid", py_str(&a[0]))))?
    };
    if referenced_metrics(&op).is_empty() {
        return Err(OpsError::NoMetric(op.to_json()));
    }
    Ok(op)
}

/// The `(id, aggregation)` pairs of a `metric` node, or the index of the
/// first bad argument.
fn metric_args(args: &[Value]) -> Result<Vec<(String, String)>, usize> {
    if let [Value::String(m), Value::String(a)] = args {
        return Ok(vec![(m.clone(), a.clone())]);
    }
    let mut out = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Value::Array(p) => match p.as_slice() {
                [Value::String(m), Value::String(a)] => out.push((m.clone(), a.clone())),
                _ => return Err(i),
            },
            _ => return Err(i),
        }
    }
    if out.is_empty() { Err(0) } else { Ok(out) }
}

/// A sub-node: an operation or a number (`Coerce(float)`).
fn sub_node(v: &Value) -> Option<Op> {
    match v {
        Value::Array(a) => list_node(a),
        other => timefmt::python_float(other).map(Op::Number),
    }
}

fn boxed(v: &Value) -> Option<Box<Op>> {
    sub_node(v).map(Box::new)
}

/// voluptuous `Coerce(int)` then `Range(min=1)`.
fn window(v: &Value) -> Option<usize> {
    let n: i128 = match v {
        Value::Bool(b) => i128::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i128::from(i),
            None => {
                let f = n.as_f64()?.trunc();
                if !f.is_finite() {
                    return None;
                }
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i128;
                i
            }
        },
        Value::String(s) => timefmt::python_int_str(s)?,
        _ => return None,
    };
    if n < 1 {
        return None;
    }
    usize::try_from(n).ok()
}

/// `RESAMPLE_AVAILABLE_AGG_MAP`: the reducers but `var` (and `rate:var`,
/// which Gnocchi accepts then fails on), plus `first`, `last`, `1pct`…`99pct`.
fn resample_method(s: &str) -> Option<AggregationMethod> {
    let plain_ok = matches!(
        s,
        "mean" | "median" | "std" | "min" | "max" | "sum" | "count" | "first" | "last"
    ) || s.strip_suffix("pct").is_some_and(|n| {
        matches!(n.len(), 1 | 2) && !n.starts_with('0') && n.bytes().all(|c| c.is_ascii_digit())
    });
    let ok = match s.strip_prefix("rate:") {
        Some(base) => matches!(
            base,
            "mean" | "median" | "std" | "min" | "max" | "sum" | "count"
        ),
        None => plain_ok,
    };
    if !ok {
        return None;
    }
    s.parse().ok()
}

fn list_node(a: &[Value]) -> Option<Op> {
    let name = a.first()?.as_str()?;
    let arity = a.len() - 1;
    match name {
        "metric" if arity >= 1 => metric_args(&a[1..]).ok().map(Op::Metric),
        "clip" if arity == 2 || arity == 3 => Some(Op::Clip {
            operand: boxed(&a[1])?,
            min: boxed(&a[2])?,
            max: match a.get(3) {
                Some(v) => Some(boxed(v)?),
                None => None,
            },
        }),
        "aggregate" if arity == 2 => Some(Op::Aggregate {
            method: ReduceMethod::from_name(a[1].as_str()?)?,
            operand: boxed(&a[2])?,
        }),
        "rolling" if arity == 3 => Some(Op::Rolling {
            method: ReduceMethod::from_name(a[1].as_str()?)?,
            window: window(&a[2])?,
            operand: boxed(&a[3])?,
        }),
        "resample" if arity == 3 => Some(Op::Resample {
            method: resample_method(a[1].as_str()?)?,
            granularity: timefmt::parse_timespan(&a[2]).ok()?,
            operand: boxed(&a[3])?,
        }),
        _ => {
            if let (Some(op), 2) = (BinaryOp::from_name(name), arity) {
                return Some(Op::Binary {
                    op,
                    lhs: boxed(&a[1])?,
                    rhs: boxed(&a[2])?,
                });
            }
            if let (Some(op), 1) = (UnaryOp::from_name(name), arity) {
                return Some(Op::Unary {
                    op,
                    operand: boxed(&a[1])?,
                });
            }
            None
        }
    }
}

/// The distinct `(id-or-name-glob, aggregation)` pairs the tree fetches, in
/// order of first appearance (Gnocchi's `extract_references`).
pub fn referenced_metrics(op: &Op) -> Vec<(String, String)> {
    fn walk(op: &Op, out: &mut Vec<(String, String)>) {
        match op {
            Op::Metric(refs) => {
                for r in refs {
                    if !out.contains(r) {
                        out.push(r.clone());
                    }
                }
            }
            Op::Number(_) => {}
            Op::Aggregate { operand, .. }
            | Op::Rolling { operand, .. }
            | Op::Resample { operand, .. }
            | Op::Unary { operand, .. } => walk(operand, out),
            Op::Binary { lhs, rhs, .. } => {
                walk(lhs, out);
                walk(rhs, out);
            }
            Op::Clip { operand, min, max } => {
                walk(operand, out);
                walk(min, out);
                if let Some(m) = max {
                    walk(m, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(op, &mut out);
    out
}
