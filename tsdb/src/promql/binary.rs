//! Binary operators: arithmetic, comparisons (filtering or `bool`), set
//! operators, and vector matching with `on`/`ignoring` and
//! `group_left`/`group_right`, per step like Prometheus 2.42.

use foldhash::{HashMap, HashMapExt, HashSet};

use altimeter_model::{Label, Labels, METRIC_NAME};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::QueryError;
use super::eval::{
    ABSENT, Evaluator, Grid, LabelIds, Series, Val, drop_name, merge_same_labels, present,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "^" => Op::Pow,
            "atan2" => Op::Atan2,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            "<" => Op::Lt,
            ">=" => Op::Ge,
            "<=" => Op::Le,
            "and" => Op::And,
            "or" => Op::Or,
            "unless" => Op::Unless,
            _ => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    /// Prometheus 2.42 drops the metric name for these only.
    fn drops_name(self) -> bool {
        matches!(
            self,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod | Op::Pow
        )
    }
}

/// `(value, keep)`: comparisons keep the left value when true.
#[inline]
fn elem(op: Op, l: f64, r: f64) -> (f64, bool) {
    match op {
        Op::Add => (l + r, true),
        Op::Sub => (l - r, true),
        Op::Mul => (l * r, true),
        Op::Div => (l / r, true),
        Op::Mod => (l % r, true),
        Op::Pow => (l.powf(r), true),
        Op::Atan2 => (l.atan2(r), true),
        Op::Eq => (l, l == r),
        Op::Ne => (l, l != r),
        Op::Gt => (l, l > r),
        Op::Lt => (l, l < r),
        Op::Ge => (l, l >= r),
        Op::Le => (l, l <= r),
        Op::And | Op::Or | Op::Unless => (l, false),
    }
}

pub(super) fn eval(ev: &mut Evaluator<'_>, b: &BinaryExpr, g: Grid) -> Result<Val, QueryError> {
    let op_name = b.op.to_string().to_ascii_lowercase();
    let op = Op::parse(&op_name)
        .ok_or_else(|| QueryError::BadData(format!("unknown binary operator {op_name:?}")))?;
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs, g)?;
    let rhs = ev.eval(&b.rhs, g)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(
            l.iter()
                .zip(&r)
                .map(|(a, b)| {
                    let (v, keep) = elem(op, *a, *b);
                    if op.is_comparison() {
                        f64::from(u8::from(keep))
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Val::Vector(v), Val::Scalar(s)) => vector_scalar(op, v, &s, false, return_bool),
        (Val::Scalar(s), Val::Vector(v)) => vector_scalar(op, v, &s, true, return_bool),
        (Val::Vector(l), Val::Vector(r)) => {
            let (on, names): (bool, &[String]) =
                match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Include(l)) => (true, &l.labels),
                    Some(LabelModifier::Exclude(l)) => (false, &l.labels),
                    None => (false, &[]),
                };
            let sig = Signature { on, names };
            match op {
                Op::And | Op::Or | Op::Unless => set_op(op, l, r, &sig, g),
                _ => {
                    let card = b
                        .modifier
                        .as_ref()
                        .map_or(VectorMatchCardinality::OneToOne, |m| m.card.clone());
                    vector_vector(ev, op, l, r, &sig, &card, return_bool, g)
                }
            }
        }
        (l, r) => Err(QueryError::BadData(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn vector_scalar(
    op: Op,
    mut v: Vec<Series>,
    s: &[f64],
    swap: bool,
    return_bool: bool,
) -> Result<Val, QueryError> {
    if matches!(op, Op::And | Op::Or | Op::Unless) {
        return Err(QueryError::BadData(
            "set operator not allowed in binary scalar expression".into(),
        ));
    }
    let drop = op.drops_name() || return_bool;
    for series in &mut v {
        if drop {
            series.labels = drop_name(&series.labels);
        }
        for (x, r) in series.vals.iter_mut().zip(s) {
            if !present(*x) {
                continue;
            }
            let (lv, rv) = if swap { (*r, *x) } else { (*x, *r) };
            let (mut value, mut keep) = elem(op, lv, rv);
            // The vector's value is kept even when it is on the right.
            if op.is_comparison() && swap {
                value = rv;
            }
            if return_bool {
                value = f64::from(u8::from(keep));
                keep = true;
            }
            *x = if keep { value } else { ABSENT };
        }
    }
    v.retain(Series::any);
    Ok(Val::Vector(merge_same_labels(v)?))
}

/// The matching signature of a series (`on`: those labels; `ignoring` or
/// nothing: all but those and the metric name).
struct Signature<'a> {
    on: bool,
    names: &'a [String],
}

impl Signature<'_> {
    fn of(&self, l: &Labels) -> Labels {
        Labels::from_sorted_unchecked(
            l.iter()
                .filter(|x| {
                    if self.on {
                        self.names.contains(&x.name)
                    } else {
                        x.name != METRIC_NAME && !self.names.contains(&x.name)
                    }
                })
                .cloned()
                .collect(),
        )
    }
}

/// Interns signatures: one small id per distinct signature.
fn sig_ids(sides: [&[Series]; 2], sig: &Signature<'_>) -> (Vec<usize>, Vec<usize>, Vec<Labels>) {
    let mut ids = LabelIds::default();
    let [a, b] = sides.map(|side| side.iter().map(|s| ids.id(sig.of(&s.labels))).collect());
    (a, b, ids.keys)
}

fn set_op(
    op: Op,
    l: Vec<Series>,
    r: Vec<Series>,
    sig: &Signature<'_>,
    g: Grid,
) -> Result<Val, QueryError> {
    let (ls, rs, names) = sig_ids([&l, &r], sig);
    let mut mark = vec![usize::MAX; names.len()];
    let mut lout: Vec<Series> = l
        .iter()
        .map(|s| Series {
            labels: s.labels.clone(),
            vals: vec![ABSENT; g.n],
        })
        .collect();
    let mut rout: Vec<Series> = if op == Op::Or {
        r.iter()
            .map(|s| Series {
                labels: s.labels.clone(),
                vals: vec![ABSENT; g.n],
            })
            .collect()
    } else {
        Vec::new()
    };
    for i in 0..g.n {
        match op {
            Op::And | Op::Unless => {
                for (s, id) in r.iter().zip(&rs) {
                    if present(s.vals[i]) {
                        mark[*id] = i;
                    }
                }
                for ((s, id), o) in l.iter().zip(&ls).zip(lout.iter_mut()) {
                    let v = s.vals[i];
                    if present(v) && ((mark[*id] == i) == (op == Op::And)) {
                        o.vals[i] = v;
                    }
                }
            }
            _ => {
                for ((s, id), o) in l.iter().zip(&ls).zip(lout.iter_mut()) {
                    let v = s.vals[i];
                    if present(v) {
                        mark[*id] = i;
                        o.vals[i] = v;
                    }
                }
                for ((s, id), o) in r.iter().zip(&rs).zip(rout.iter_mut()) {
                    let v = s.vals[i];
                    if present(v) && mark[*id] != i {
                        o.vals[i] = v;
                    }
                }
            }
        }
    }
    lout.extend(rout);
    lout.retain(Series::any);
    Ok(Val::Vector(merge_same_labels(lout)?))
}

/// Go's `labels.Labels.String()`: `{a="b", c="d"}`, name included.
fn go_labels(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|x| format!("{}={:?}", x.name, x.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[allow(clippy::too_many_arguments)]
fn vector_vector(
    ev: &mut Evaluator<'_>,
    op: Op,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    sig: &Signature<'_>,
    card: &VectorMatchCardinality,
    return_bool: bool,
    g: Grid,
) -> Result<Val, QueryError> {
    let (include, one_to_one, swapped): (&[String], bool, bool) = match card {
        VectorMatchCardinality::OneToOne => (&[], true, false),
        VectorMatchCardinality::ManyToOne(l) => (&l.labels, false, false),
        VectorMatchCardinality::OneToMany(l) => (&l.labels, false, true),
        VectorMatchCardinality::ManyToMany => {
            return Err(QueryError::BadData(
                "many-to-many only allowed for set operators".into(),
            ));
        }
    };
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let (many_sig, one_sig, sig_names) = sig_ids([&many, &one], sig);
    let mut one_at: Vec<(usize, usize)> = vec![(usize::MAX, 0); sig_names.len()];
    let mut matched_at: Vec<usize> = vec![usize::MAX; sig_names.len()];
    let mut inserted: HashMap<usize, HashSet<usize>> = HashMap::new();
    let mut pairs: HashMap<(usize, usize), usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    let mut by_labels: HashMap<Labels, usize> = HashMap::new();
    for i in 0..g.n {
        for (oi, (s, id)) in one.iter().zip(&one_sig).enumerate() {
            if !present(s.vals[i]) {
                continue;
            }
            if one_at[*id].0 == i {
                let side = if swapped { "left" } else { "right" };
                return Err(QueryError::Execution(format!(
                    "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                    go_labels(&sig_names[*id]),
                    go_labels(&s.labels),
                    go_labels(&one[one_at[*id].1].labels),
                )));
            }
            one_at[*id] = (i, oi);
        }
        inserted.clear();
        for (mi, (s, id)) in many.iter().zip(&many_sig).enumerate() {
            let v = s.vals[i];
            if !present(v) || one_at[*id].0 != i {
                continue;
            }
            let oi = one_at[*id].1;
            let (vl, vr) = if swapped {
                (one[oi].vals[i], v)
            } else {
                (v, one[oi].vals[i])
            };
            let (mut value, keep) = elem(op, vl, vr);
            if return_bool {
                value = f64::from(u8::from(keep));
            } else if !keep {
                continue;
            }
            let oidx = match pairs.get(&(mi, oi)) {
                Some(x) => *x,
                None => {
                    let labels = result_labels(
                        &s.labels,
                        &one[oi].labels,
                        op,
                        one_to_one,
                        sig,
                        include,
                        return_bool,
                    );
                    let idx = *by_labels.entry(labels.clone()).or_insert_with(|| {
                        out.push(Series {
                            labels,
                            vals: vec![ABSENT; g.n],
                        });
                        out.len() - 1
                    });
                    pairs.insert((mi, oi), idx);
                    idx
                }
            };
            if one_to_one {
                if matched_at[*id] == i {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                    ));
                }
                matched_at[*id] = i;
            } else if !inserted.entry(*id).or_default().insert(oidx) {
                return Err(QueryError::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .into(),
                ));
            }
            if present(out[oidx].vals[i]) {
                return Err(super::eval::same_labelset());
            }
            out[oidx].vals[i] = value;
        }
        ev.check_deadline()?;
    }
    out.retain(Series::any);
    ev.account(out.len() * g.n)?;
    Ok(Val::Vector(out))
}

fn result_labels(
    many: &Labels,
    one: &Labels,
    op: Op,
    one_to_one: bool,
    sig: &Signature<'_>,
    include: &[String],
    return_bool: bool,
) -> Labels {
    let mut v: Vec<Label> = many
        .iter()
        .filter(|x| {
            if (op.drops_name() || return_bool) && x.name == METRIC_NAME {
                return false;
            }
            if one_to_one {
                if sig.on {
                    return sig.names.contains(&x.name);
                }
                return !sig.names.contains(&x.name);
            }
            true
        })
        .cloned()
        .collect();
    for name in include {
        v.retain(|x| &x.name != name);
        if let Some(val) = one.get(name)
            && !val.is_empty()
        {
            v.push(Label::new(name.clone(), val));
        }
    }
    v.sort();
    Labels::from_sorted_unchecked(v)
}
