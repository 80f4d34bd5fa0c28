//! Aggregation operators: `sum`, `avg`, `count`, `min`, `max`, `group`,
//! `stddev`, `stdvar`, `topk`, `bottomk`, `quantile`, `count_values`, with
//! `by`/`without`, evaluated per step like Prometheus 2.42.

use foldhash::{HashMap, HashMapExt};

use altimeter_model::{Label, Labels, METRIC_NAME};
use promql_parser::label::Labels as PLabels;
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::QueryError;
use super::eval::{ABSENT, Evaluator, Grid, LabelIds, Series, Val, present};
use super::functions::{I64_BOUND, quantile, unparen};
use super::value::format_value;

/// How series are grouped.
struct Grouping<'a> {
    by: bool,
    names: &'a [String],
}

impl Grouping<'_> {
    fn key(&self, l: &Labels) -> Labels {
        let keep: Vec<Label> = if self.by {
            l.iter()
                .filter(|x| self.names.contains(&x.name))
                .cloned()
                .collect()
        } else {
            l.iter()
                .filter(|x| x.name != METRIC_NAME && !self.names.contains(&x.name))
                .cloned()
                .collect()
        };
        Labels::from_sorted_unchecked(keep)
    }
}

fn names(l: &PLabels) -> &[String] {
    &l.labels
}

pub(super) fn eval(ev: &mut Evaluator<'_>, a: &AggregateExpr, g: Grid) -> Result<Val, QueryError> {
    let op = a.op.to_string().to_ascii_lowercase();
    let grouping = match &a.modifier {
        None => Grouping {
            by: true,
            names: &[],
        },
        Some(LabelModifier::Include(l)) => Grouping {
            by: true,
            names: names(l),
        },
        Some(LabelModifier::Exclude(l)) => Grouping {
            by: false,
            names: names(l),
        },
    };
    match op.as_str() {
        "topk" | "bottomk" => {
            let k = ev.eval_scalar(param(a)?, g)?;
            let input = ev.eval_vector(&a.expr, g)?;
            top_k(ev, input, &k, op == "topk", &grouping, g)
        }
        "count_values" => {
            let label = match unparen(param(a)?) {
                promql_parser::parser::Expr::StringLiteral(s) => s.val.clone(),
                other => match ev.eval(other, g)? {
                    Val::Str(s) => s,
                    _ => return Err(QueryError::BadData("expected string parameter".into())),
                },
            };
            if !altimeter_model::labels::is_valid_label_name(label.as_bytes()) {
                return Err(QueryError::Execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            let input = ev.eval_vector(&a.expr, g)?;
            count_values(input, &label, &grouping, g)
        }
        _ => {
            let q = if op == "quantile" {
                Some(ev.eval_scalar(param(a)?, g)?)
            } else {
                None
            };
            let input = ev.eval_vector(&a.expr, g)?;
            simple(ev, &op, input, q.as_deref(), &grouping, g)
        }
    }
}

fn param(a: &AggregateExpr) -> Result<&promql_parser::parser::Expr, QueryError> {
    a.param
        .as_deref()
        .ok_or_else(|| QueryError::BadData(format!("{} needs a parameter", a.op)))
}

/// Groups series: returns group labels in first-seen order and each
/// series' group.
fn group(input: &[Series], grouping: &Grouping<'_>) -> (Vec<Labels>, Vec<usize>) {
    let mut ids = LabelIds::default();
    let of = input
        .iter()
        .map(|s| ids.id(grouping.key(&s.labels)))
        .collect();
    (ids.keys, of)
}

#[derive(Clone, Copy, Default)]
struct Acc {
    seen: bool,
    value: f64,
    mean: f64,
    count: f64,
}

fn simple(
    ev: &mut Evaluator<'_>,
    op: &str,
    input: Vec<Series>,
    q: Option<&[f64]>,
    grouping: &Grouping<'_>,
    g: Grid,
) -> Result<Val, QueryError> {
    let (keys, of) = group(&input, grouping);
    ev.account(keys.len() * g.n)?;
    let mut out: Vec<Series> = keys
        .into_iter()
        .map(|labels| Series {
            labels,
            vals: vec![ABSENT; g.n],
        })
        .collect();
    if op == "quantile" {
        let q = q.unwrap_or(&[]);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); out.len()];
        for (si, gi) in of.iter().enumerate() {
            members[*gi].push(si);
        }
        let mut buf = Vec::new();
        for (gi, m) in members.iter().enumerate() {
            for (i, qi) in q.iter().enumerate() {
                buf.clear();
                buf.extend(
                    m.iter()
                        .map(|si| input[*si].vals[i])
                        .filter(|v| present(*v)),
                );
                if !buf.is_empty() {
                    out[gi].vals[i] = quantile(*qi, &mut buf);
                }
            }
            ev.check_deadline()?;
        }
        out.retain(Series::any);
        return Ok(Val::Vector(out));
    }
    let mut acc = vec![Acc::default(); out.len() * g.n];
    for (s, gi) in input.iter().zip(&of) {
        let row = &mut acc[gi * g.n..(gi + 1) * g.n];
        for (a, &v) in row.iter_mut().zip(&s.vals) {
            if !present(v) {
                continue;
            }
            if !a.seen {
                *a = Acc {
                    seen: true,
                    value: v,
                    mean: v,
                    count: 1.0,
                };
                if matches!(op, "stddev" | "stdvar") {
                    a.value = 0.0;
                }
                continue;
            }
            match op {
                "sum" => a.value += v,
                "avg" => {
                    a.count += 1.0;
                    if a.mean.is_infinite() {
                        if v.is_infinite() && (a.mean > 0.0) == (v > 0.0) {
                            continue;
                        }
                        if !v.is_infinite() && !v.is_nan() {
                            continue;
                        }
                    }
                    a.mean += v / a.count - a.mean / a.count;
                }
                "count" | "group" => a.count += 1.0,
                "max" => {
                    if a.value < v || a.value.is_nan() {
                        a.value = v;
                    }
                }
                "min" => {
                    if a.value > v || a.value.is_nan() {
                        a.value = v;
                    }
                }
                "stddev" | "stdvar" => {
                    a.count += 1.0;
                    let delta = v - a.mean;
                    a.mean += delta / a.count;
                    a.value += delta * (v - a.mean);
                }
                other => {
                    return Err(QueryError::BadData(format!(
                        "unsupported aggregation operator {other:?}"
                    )));
                }
            }
        }
        ev.check_deadline()?;
    }
    for (gi, o) in out.iter_mut().enumerate() {
        for (i, a) in acc[gi * g.n..(gi + 1) * g.n].iter().enumerate() {
            if !a.seen {
                continue;
            }
            o.vals[i] = match op {
                "avg" => a.mean,
                "count" => a.count,
                "group" => 1.0,
                "stdvar" => a.value / a.count,
                "stddev" => (a.value / a.count).sqrt(),
                _ => a.value,
            };
        }
    }
    out.retain(Series::any);
    Ok(Val::Vector(out))
}

fn top_k(
    ev: &mut Evaluator<'_>,
    input: Vec<Series>,
    k: &[f64],
    top: bool,
    grouping: &Grouping<'_>,
    g: Grid,
) -> Result<Val, QueryError> {
    let (keys, of) = group(&input, grouping);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); keys.len()];
    for (si, gi) in of.iter().enumerate() {
        members[*gi].push(si);
    }
    let mut chosen: Vec<Vec<f64>> = vec![Vec::new(); input.len()];
    let mut order: Vec<usize> = Vec::new();
    let mut cand: Vec<(usize, f64)> = Vec::new();
    for i in 0..g.n {
        let kf = k[i];
        if kf.is_nan() || !(-I64_BOUND..=I64_BOUND).contains(&kf) {
            return Err(QueryError::Execution(format!(
                "Scalar value {} overflows int64",
                format_value(kf)
            )));
        }
        let kk = kf as i64;
        if kk < 1 {
            continue;
        }
        for m in &members {
            cand.clear();
            cand.extend(
                m.iter()
                    .map(|si| (*si, input[*si].vals[i]))
                    .filter(|(_, v)| present(*v)),
            );
            // Stable: among equal values the first seen stays, as with
            // Prometheus's heap; NaN ranks last either way.
            cand.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if top => b.1.total_cmp(&a.1),
                _ => a.1.total_cmp(&b.1),
            });
            for &(si, v) in cand.iter().take(usize::try_from(kk).unwrap_or(usize::MAX)) {
                if chosen[si].is_empty() {
                    chosen[si] = vec![ABSENT; g.n];
                    order.push(si);
                }
                chosen[si][i] = v;
            }
        }
        ev.check_deadline()?;
    }
    let mut input: Vec<Option<Series>> = input.into_iter().map(Some).collect();
    let out: Vec<Series> = order
        .into_iter()
        .filter_map(|si| {
            input[si].take().map(|s| Series {
                labels: s.labels,
                vals: std::mem::take(&mut chosen[si]),
            })
        })
        .collect();
    ev.account(out.len() * g.n)?;
    Ok(Val::Vector(out))
}

fn count_values(
    input: Vec<Series>,
    label: &str,
    grouping: &Grouping<'_>,
    g: Grid,
) -> Result<Val, QueryError> {
    let mut by_names: Vec<String> = grouping.names.to_vec();
    if grouping.by {
        by_names.push(label.to_string());
    }
    let gr = Grouping {
        by: grouping.by,
        names: &by_names,
    };
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    for s in &input {
        for (i, v) in s.vals.iter().enumerate() {
            if !present(*v) {
                continue;
            }
            let mut l: Vec<Label> = s
                .labels
                .iter()
                .filter(|x| x.name != label)
                .cloned()
                .collect();
            l.push(Label::new(label, format_value(*v)));
            l.sort();
            let key = gr.key(&Labels::from_sorted_unchecked(l));
            let gi = match index.get(&key) {
                Some(i) => *i,
                None => {
                    index.insert(key.clone(), out.len());
                    out.push(Series {
                        labels: key,
                        vals: vec![ABSENT; g.n],
                    });
                    out.len() - 1
                }
            };
            let slot = &mut out[gi].vals[i];
            *slot = if present(*slot) { *slot + 1.0 } else { 1.0 };
        }
    }
    Ok(Val::Vector(out))
}
