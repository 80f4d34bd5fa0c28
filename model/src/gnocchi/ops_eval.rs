//! Evaluation of an operation tree (`processor.aggregated` and
//! `operations.evaluate` in Gnocchi).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::carbonara;
use super::{
    BinaryOp, EvalOptions, Fill, InputKey, Measure, Op, OpsError, Output, Reducer, Resolver,
    SeriesOutput, UnaryOp, op_repr, referenced_metrics,
};

/// One reference: a (metric | resource metric, aggregation) and its series
/// per granularity.
#[derive(Debug)]
struct Reference {
    /// The `metric` node key that fetched it (id or glob, aggregation).
    lookup: (String, String),
    key: InputKey,
    aggregation: String,
    series: BTreeMap<i64, Vec<(i64, f64)>>,
}

impl Reference {
    /// Gnocchi's `ref.name`: the metric id, or the metric name.
    fn name(&self) -> &str {
        match &self.key {
            InputKey::Metric { id } => id,
            InputKey::Resource { metric_name, .. } => metric_name,
        }
    }
}

/// A node's value: a number, or a matrix (one column per series).
#[derive(Debug, Clone)]
enum Val {
    Scalar(f64),
    Matrix(Vec<Vec<f64>>),
}

/// What evaluating a node gives (`granularity, timestamps, values,
/// is_aggregated` in Gnocchi).
#[derive(Debug, Clone)]
struct State {
    g: i64,
    times: Vec<i64>,
    val: Val,
    aggregated: bool,
}

/// What every node sees.
struct Ctx<'a> {
    lookups: &'a [(String, String)],
    initial: &'a [Vec<f64>],
    lookup_keys: &'a Value,
}

fn unaggregable(reason: String, detail: &Value) -> OpsError {
    OpsError::Unaggregable {
        reason,
        detail: detail.clone(),
    }
}

/// Evaluates `op` as Gnocchi's `/v1/aggregates` does.
///
/// `resolve(id_or_glob, aggregation)` is called once per distinct pair of
/// [`super::referenced_metrics`], in order. It returns one [`super::Input`] per
/// granularity of each matching metric — **every** granularity of the
/// metric's archive policy, with empty `points` when there is no data — in
/// resource order then metric order; its errors (unknown metric, unknown
/// aggregation: Gnocchi's 404s) are passed through. Inputs of the same key
/// and aggregation make one reference.
///
/// Semantics (`processor.get_measures` / `aggregated`):
/// - Granularities: `opts.granularity`, each of which every reference must
///   have (else `Granularities are missing`, detail
///   `[[name, agg, seconds], …]`), or when empty every granularity all
///   references have (else `No granularity match`, detail `[[name, agg],
///   …]`). Evaluated separately, coarsest first.
/// - Each series keeps `[floor(start, g), stop)`; values are placed on the
///   union of timestamps; holes are NaN or the `fill` number; `ffill`,
///   `bfill`, `full_ffill` (ffill then bfill), `full_bfill` fill each
///   series.
/// - Without `fill`, `needed_overlap` (default 100) percent of the
///   timestamps must have every series (`No overlap`, `Less than X% of
///   datapoints overlap in this timespan (Y%)`); without `start`/`stop` the
///   timestamps are first cut to the first/last common one.
/// - Cross-series reductions are numpy's NaN-ignoring ones, summed in
///   series order; rolling windows sum pairwise like numpy.
/// - The result is "aggregated" after `aggregate` or an operator between
///   two series (then only its first series is returned); with `dropna`
///   and the fills, NaN and infinite results are dropped.
///
/// When no reference matched at all, [`OpsError::NoSuchMetric`] (Gnocchi's
/// 404 for names and globs).
pub fn evaluate(op: &Op, resolve: &Resolver<'_>, opts: &EvalOptions) -> Result<Output, OpsError> {
    let lookups = referenced_metrics(op);
    let mut refs: Vec<Reference> = Vec::new();
    for (name, agg) in &lookups {
        let first_new = refs.len();
        for input in resolve(name, agg)? {
            let pos = refs[first_new..]
                .iter()
                .position(|r| r.key == input.key && r.aggregation == input.aggregation);
            let idx = match pos {
                Some(p) => first_new + p,
                None => {
                    refs.push(Reference {
                        lookup: (name.clone(), agg.clone()),
                        key: input.key.clone(),
                        aggregation: input.aggregation.clone(),
                        series: BTreeMap::new(),
                    });
                    refs.len() - 1
                }
            };
            refs[idx]
                .series
                .entry(input.granularity)
                .or_insert_with(|| {
                    let mut p = input.points;
                    p.sort_by_key(|x| x.0);
                    p.dedup_by_key(|x| x.0);
                    p
                });
        }
    }
    if refs.is_empty() {
        let mut names: Vec<String> = lookups.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        return Err(OpsError::NoSuchMetric(names));
    }
    // Gnocchi builds references resource by resource.
    let mut resource_order: Vec<String> = Vec::new();
    for r in &refs {
        if let InputKey::Resource { resource_id, .. } = &r.key
            && !resource_order.contains(resource_id)
        {
            resource_order.push(resource_id.clone());
        }
    }
    refs.sort_by_key(|r| match &r.key {
        InputKey::Resource { resource_id, .. } => {
            resource_order.iter().position(|x| x == resource_id)
        }
        InputKey::Metric { .. } => None,
    });

    let mut samplings: Vec<i64> = if opts.granularity.is_empty() {
        let common: Vec<i64> = refs[0]
            .series
            .keys()
            .copied()
            .filter(|g| refs.iter().all(|r| r.series.contains_key(g)))
            .collect();
        if common.is_empty() {
            let detail = refs
                .iter()
                .map(|r| json!([r.name(), r.aggregation]))
                .collect();
            return Err(unaggregable(
                "No granularity match".into(),
                &Value::Array(detail),
            ));
        }
        common
    } else {
        let missing: Vec<Value> = refs
            .iter()
            .filter_map(|r| {
                opts.granularity
                    .iter()
                    .find(|g| !r.series.contains_key(g))
                    .map(|g| {
                        #[allow(clippy::cast_precision_loss)]
                        let secs = *g as f64 / 1000.0;
                        json!([r.name(), r.aggregation, secs])
                    })
            })
            .collect();
        if !missing.is_empty() {
            return Err(unaggregable(
                "Granularities are missing".into(),
                &Value::Array(missing),
            ));
        }
        opts.granularity.clone()
    };
    samplings.sort_unstable_by(|a, b| b.cmp(a));
    samplings.dedup();

    let lookup_keys = Value::Array(
        refs.iter()
            .map(|r| json!([r.lookup.0, r.lookup.1]))
            .collect(),
    );
    let ref_lookups: Vec<(String, String)> = refs.iter().map(|r| r.lookup.clone()).collect();
    let fill = opts.fill;
    let drop_nan = fill.is_some_and(Fill::drops_nan);

    let mut results: Vec<State> = Vec::with_capacity(samplings.len());
    for &g in &samplings {
        let from = opts.start.map(|s| carbonara::bucket_start(s, g));
        let cols: Vec<&[(i64, f64)]> = refs
            .iter()
            .map(|r| {
                let pts = r.series.get(&g).map_or(&[][..], Vec::as_slice);
                let lo = from.map_or(0, |f| pts.partition_point(|p| p.0 < f));
                let hi = opts
                    .stop
                    .map_or(pts.len(), |s| pts.partition_point(|p| p.0 < s));
                &pts[lo..hi.max(lo)]
            })
            .collect();
        let mut times: Vec<i64> = cols.iter().flat_map(|c| c.iter().map(|p| p.0)).collect();
        times.sort_unstable();
        times.dedup();
        let filler = match fill {
            Some(Fill::Value(x)) => x,
            _ => f64::NAN,
        };
        let mut grid: Vec<Vec<f64>> = cols
            .iter()
            .map(|c| {
                let mut col = vec![filler; times.len()];
                for (t, v) in c.iter() {
                    if let Ok(i) = times.binary_search(t) {
                        col[i] = *v;
                    }
                }
                col
            })
            .collect();
        match fill {
            Some(Fill::Ffill) => grid.iter_mut().for_each(|c| forward_fill(c)),
            Some(Fill::Bfill) => grid.iter_mut().for_each(|c| backward_fill(c)),
            Some(Fill::FullFfill) => grid.iter_mut().for_each(|c| {
                forward_fill(c);
                backward_fill(c);
            }),
            Some(Fill::FullBfill) => grid.iter_mut().for_each(|c| {
                backward_fill(c);
                forward_fill(c);
            }),
            _ => {}
        }
        if fill.is_none() {
            let needed = opts.needed_overlap.unwrap_or(100.0);
            let overlap: Vec<usize> = (0..times.len())
                .filter(|&t| grid.iter().all(|c| !c[t].is_nan()))
                .collect();
            if overlap.is_empty() && needed > 0.0 {
                return Err(unaggregable("No overlap".into(), &lookup_keys));
            }
            if !times.is_empty() {
                if let (None, Some(&last)) = (opts.stop, overlap.last()) {
                    times.truncate(last + 1);
                    grid.iter_mut().for_each(|c| c.truncate(last + 1));
                }
                if let (None, Some(&first)) = (opts.start, overlap.first()) {
                    times.drain(..first);
                    grid.iter_mut().for_each(|c| {
                        c.drain(..first);
                    });
                }
                #[allow(clippy::cast_precision_loss)]
                let percent = overlap.len() as f64 * 100.0 / times.len() as f64;
                if percent < needed {
                    return Err(unaggregable(
                        format!(
                            "Less than {needed:.6}% of datapoints overlap in this timespan ({percent:.2}%)"
                        ),
                        &lookup_keys,
                    ));
                }
            }
        }
        let ctx = Ctx {
            lookups: &ref_lookups,
            initial: &grid,
            lookup_keys: &lookup_keys,
        };
        results.push(eval_node(op, g, &times, &ctx)?);
    }

    let keep = |v: f64| !drop_nan || v.is_finite();
    let aggregated = results.last().is_some_and(|s| s.aggregated);
    if aggregated {
        let mut out = Vec::new();
        for s in &results {
            let col: Vec<f64> = match &s.val {
                Val::Matrix(cols) => cols.first().cloned().unwrap_or_default(),
                Val::Scalar(x) => vec![*x; s.times.len()],
            };
            out.extend(
                s.times
                    .iter()
                    .zip(col)
                    .filter(|(_, v)| keep(*v))
                    .map(|(t, v)| Measure {
                        timestamp: *t,
                        granularity: s.g,
                        value: v,
                    }),
            );
        }
        return Ok(Output::Aggregated(out));
    }
    let mut series: Vec<SeriesOutput> = refs
        .iter()
        .map(|r| SeriesOutput {
            key: r.key.clone(),
            aggregation: r.aggregation.clone(),
            measures: Vec::new(),
        })
        .collect();
    for s in &results {
        for (i, so) in series.iter_mut().enumerate() {
            let col: Vec<f64> = match &s.val {
                Val::Matrix(cols) => cols.get(i).cloned().unwrap_or_default(),
                Val::Scalar(x) => vec![*x; s.times.len()],
            };
            so.measures.extend(
                s.times
                    .iter()
                    .zip(col)
                    .filter(|(_, v)| keep(*v))
                    .map(|(t, v)| Measure {
                        timestamp: *t,
                        granularity: s.g,
                        value: v,
                    }),
            );
        }
    }
    Ok(Output::Series(series))
}

/// `utils.forward_fill` on one series: leading NaNs stay.
fn forward_fill(c: &mut [f64]) {
    let mut last = f64::NAN;
    for v in c.iter_mut() {
        if v.is_nan() {
            *v = last;
        } else {
            last = *v;
        }
    }
}

/// `utils.backward_fill` on one series: trailing NaNs stay.
fn backward_fill(c: &mut [f64]) {
    let mut next = f64::NAN;
    for v in c.iter_mut().rev() {
        if v.is_nan() {
            *v = next;
        } else {
            next = *v;
        }
    }
}

fn eval_node(op: &Op, g: i64, times: &[i64], ctx: &Ctx<'_>) -> Result<State, OpsError> {
    let malformed = || {
        unaggregable(
            format!("Operation node tree is malformed: {}", op_repr(op)),
            ctx.lookup_keys,
        )
    };
    match op {
        Op::Number(x) => Ok(State {
            g,
            times: times.to_vec(),
            val: Val::Scalar(*x),
            aggregated: false,
        }),
        Op::Metric(wanted) => {
            let cols = ctx
                .lookups
                .iter()
                .zip(ctx.initial)
                .filter(|(l, _)| wanted.contains(l))
                .map(|(_, c)| c.clone())
                .collect();
            Ok(State {
                g,
                times: times.to_vec(),
                val: Val::Matrix(cols),
                aggregated: false,
            })
        }
        Op::Aggregate { method, operand } => {
            let s = eval_node(operand, g, times, ctx)?;
            let Val::Matrix(cols) = &s.val else {
                return Err(malformed());
            };
            let mut row = Vec::with_capacity(cols.len());
            let reduced: Vec<f64> = (0..s.times.len())
                .map(|t| {
                    row.clear();
                    row.extend(cols.iter().map(|c| c[t]));
                    reduce(method.reducer, &row, Summation::Sequential)
                })
                .collect();
            let (times, col) = if method.rate {
                rate(&s.times, &reduced)
            } else {
                (s.times, reduced)
            };
            Ok(State {
                g: s.g,
                times,
                val: Val::Matrix(vec![col]),
                aggregated: true,
            })
        }
        Op::Rolling {
            method,
            window,
            operand,
        } => {
            let s = eval_node(operand, g, times, ctx)?;
            let Val::Matrix(cols) = &s.val else {
                return Err(malformed());
            };
            let w = *window;
            if w > s.times.len() {
                return Err(unaggregable(
                    format!(
                        "Rolling window '{w}' is greater than serie length '{}'",
                        s.times.len()
                    ),
                    ctx.lookup_keys,
                ));
            }
            let mut times = s.times[w - 1..].to_vec();
            let mut out = Vec::with_capacity(cols.len());
            for c in cols {
                let mut col: Vec<f64> = c
                    .windows(w)
                    .map(|win| reduce(method.reducer, win, Summation::Pairwise))
                    .collect();
                if method.rate {
                    col = col.windows(2).map(|p| p[1] - p[0]).collect();
                }
                out.push(col);
            }
            if method.rate {
                times.remove(0);
            }
            Ok(State {
                g: s.g,
                times,
                val: Val::Matrix(out),
                aggregated: s.aggregated,
            })
        }
        Op::Resample {
            method,
            granularity,
            operand,
        } => {
            let s = eval_node(operand, g, times, ctx)?;
            let Val::Matrix(cols) = &s.val else {
                return Err(malformed());
            };
            let mut out = Vec::with_capacity(cols.len());
            let mut new_times: Vec<i64> = Vec::new();
            for c in cols {
                let series: Vec<(i64, f64)> =
                    s.times.iter().copied().zip(c.iter().copied()).collect();
                let r = carbonara::resample(&series, *granularity, *method);
                new_times = r.iter().map(|p| p.0).collect();
                out.push(r.into_iter().map(|p| p.1).collect());
            }
            if cols.is_empty() {
                new_times = s
                    .times
                    .iter()
                    .map(|t| carbonara::bucket_start(*t, *granularity))
                    .collect();
                new_times.dedup();
            }
            Ok(State {
                g: *granularity,
                times: new_times,
                val: Val::Matrix(out),
                aggregated: s.aggregated,
            })
        }
        Op::Unary { op: u, operand } => {
            let s = eval_node(operand, g, times, ctx)?;
            match u {
                UnaryOp::RateOfChange | UnaryOp::RateOfChangeSec => {
                    let Val::Matrix(cols) = &s.val else {
                        return Err(malformed());
                    };
                    if *u == UnaryOp::RateOfChange {
                        let times = s.times.get(1..).unwrap_or_default().to_vec();
                        let cols = cols
                            .iter()
                            .map(|c| c.windows(2).map(|p| p[1] - p[0]).collect())
                            .collect();
                        Ok(State {
                            g: s.g,
                            times,
                            val: Val::Matrix(cols),
                            aggregated: s.aggregated,
                        })
                    } else {
                        let cols = cols
                            .iter()
                            .map(|c| {
                                (0..c.len())
                                    .map(|i| {
                                        if i == 0 {
                                            return f64::NAN;
                                        }
                                        #[allow(clippy::cast_precision_loss)]
                                        let dt = (s.times[i] - s.times[i - 1]) as f64 / 1000.0;
                                        (c[i] - c[i - 1]) / dt
                                    })
                                    .collect()
                            })
                            .collect();
                        Ok(State {
                            g: s.g,
                            times: s.times,
                            val: Val::Matrix(cols),
                            aggregated: s.aggregated,
                        })
                    }
                }
                _ => {
                    let f = |x: f64| match u {
                        UnaryOp::Abs => x.abs(),
                        UnaryOp::Neg => -x,
                        UnaryOp::Cos => x.cos(),
                        UnaryOp::Sin => x.sin(),
                        UnaryOp::Tan => x.tan(),
                        UnaryOp::Floor => x.floor(),
                        UnaryOp::Ceil => x.ceil(),
                        UnaryOp::RateOfChange | UnaryOp::RateOfChangeSec => x,
                    };
                    Ok(State {
                        val: map(&s.val, f),
                        ..s
                    })
                }
            }
        }
        Op::Binary { op: b, lhs, rhs } => {
            let s1 = eval_node(lhs, g, times, ctx)?;
            let s2 = eval_node(rhs, g, times, ctx)?;
            let mut aggregated = s1.aggregated || s2.aggregated;
            let (g, times) = match (&s1.val, &s2.val) {
                (Val::Matrix(_), Val::Matrix(_)) => {
                    if s1.times != s2.times || s1.g != s2.g {
                        return Err(unaggregable(
                            format!(
                                "Can't compute timeseries with different granularity {} <> {}",
                                op_repr(lhs),
                                op_repr(rhs)
                            ),
                            ctx.lookup_keys,
                        ));
                    }
                    aggregated = true;
                    (s1.g, s1.times.clone())
                }
                (_, Val::Matrix(_)) => (s2.g, s2.times.clone()),
                _ => (s1.g, s1.times.clone()),
            };
            let val = zip_with(
                &[&s1.val, &s2.val],
                times.len(),
                |v| binary(*b, v[0], v[1]),
                ctx,
            )?;
            Ok(State {
                g,
                times,
                val,
                aggregated,
            })
        }
        Op::Clip { operand, min, max } => {
            let s1 = eval_node(operand, g, times, ctx)?;
            let s2 = eval_node(min, g, times, ctx)?;
            let s3 = match max {
                Some(m) => Some(eval_node(m, g, times, ctx)?),
                None => None,
            };
            let is_m = |s: &State| matches!(s.val, Val::Matrix(_));
            let mut aggregated =
                s1.aggregated || s2.aggregated || s3.as_ref().is_some_and(|s| s.aggregated);
            let (g, times) = match &s3 {
                Some(s3) if is_m(&s1) && is_m(&s2) && is_m(s3) => {
                    if (s1.times != s2.times || s1.g != s2.g)
                        && (s2.times != s3.times || s2.g != s3.g)
                    {
                        return Err(unaggregable(
                            format!(
                                "Can't compute timeseries with different granularity {} <> {} <> {}",
                                op_repr(operand),
                                op_repr(min),
                                max.as_deref().map(op_repr).unwrap_or_default()
                            ),
                            ctx.lookup_keys,
                        ));
                    }
                    aggregated = true;
                    (s1.g, s1.times.clone())
                }
                _ if is_m(&s2) => (s2.g, s2.times.clone()),
                Some(s3) if is_m(s3) => (s3.g, s3.times.clone()),
                _ => (s1.g, s1.times.clone()),
            };
            let upper = s3.as_ref().map_or(Val::Scalar(f64::NAN), |s| s.val.clone());
            let has_upper = s3.is_some();
            let val = zip_with(
                &[&s1.val, &s2.val, &upper],
                times.len(),
                |v| np_clip(v[0], v[1], has_upper.then_some(v[2])),
                ctx,
            )?;
            Ok(State {
                g,
                times,
                val,
                aggregated,
            })
        }
    }
}

fn map(v: &Val, f: impl Fn(f64) -> f64) -> Val {
    match v {
        Val::Scalar(x) => Val::Scalar(f(*x)),
        Val::Matrix(cols) => Val::Matrix(
            cols.iter()
                .map(|c| c.iter().map(|x| f(*x)).collect())
                .collect(),
        ),
    }
}

/// Elementwise combination with numpy broadcasting (scalars, and matrices
/// of one column against matrices of several).
fn zip_with(
    vals: &[&Val],
    rows: usize,
    f: impl Fn(&[f64]) -> f64,
    ctx: &Ctx<'_>,
) -> Result<Val, OpsError> {
    let widths: Vec<usize> = vals
        .iter()
        .filter_map(|v| match v {
            Val::Matrix(c) => Some(c.len()),
            Val::Scalar(_) => None,
        })
        .collect();
    if widths.is_empty() {
        let args: Vec<f64> = vals
            .iter()
            .map(|v| match v {
                Val::Scalar(x) => *x,
                Val::Matrix(_) => f64::NAN,
            })
            .collect();
        return Ok(Val::Scalar(f(&args)));
    }
    let width = widths.iter().copied().max().unwrap_or(0);
    let broadcastable = widths.iter().all(|w| *w == width || *w == 1);
    let heights_ok = vals.iter().all(|v| match v {
        Val::Matrix(c) => c.iter().all(|col| col.len() == rows),
        Val::Scalar(_) => true,
    });
    if !broadcastable || !heights_ok {
        return Err(unaggregable(
            format!("operands could not be broadcast together with widths {widths:?}"),
            ctx.lookup_keys,
        ));
    }
    let width = if widths.contains(&0) { 0 } else { width };
    let mut args = vec![0.0; vals.len()];
    let cols = (0..width)
        .map(|j| {
            (0..rows)
                .map(|t| {
                    for (a, v) in args.iter_mut().zip(vals) {
                        *a = match v {
                            Val::Scalar(x) => *x,
                            Val::Matrix(c) => c[if c.len() == 1 { 0 } else { j }][t],
                        };
                    }
                    f(&args)
                })
                .collect()
        })
        .collect();
    Ok(Val::Matrix(cols))
}

fn bool_f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `numpy.maximum`: NaN-propagating; on a tie (`0.0` vs `-0.0`) the
/// second operand, like numpy's SIMD loops.
fn np_maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b {
        a
    } else {
        b
    }
}

/// `numpy.minimum`: NaN-propagating; ties give the second operand.
fn np_minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else {
        b
    }
}

/// `numpy.fmax`: NaN-ignoring; ties give the second operand.
fn np_fmax(a: f64, b: f64) -> f64 {
    if b.is_nan() || a > b { a } else { b }
}

/// The `numpy.clip` ufunc (`min(max(x, lo), hi)` keeping `x` on ties;
/// a NaN anywhere gives NaN).
fn np_clip(x: f64, lo: f64, hi: Option<f64>) -> f64 {
    let r = if x.is_nan() || x >= lo { x } else { lo };
    match hi {
        None => np_maximum(x, lo),
        Some(h) if r.is_nan() || r <= h => r,
        Some(h) => h,
    }
}

/// `numpy.mod` for floats (npy_divmod): the result has the divisor's sign.
fn np_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if b == 0.0 {
        return m;
    }
    if m == 0.0 {
        0.0_f64.copysign(b)
    } else if (b < 0.0) != (m < 0.0) {
        m + b
    } else {
        m
    }
}

fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Eq => bool_f(a == b),
        BinaryOp::Ne => bool_f(a != b),
        BinaryOp::Lt => bool_f(a < b),
        BinaryOp::Le => bool_f(a <= b),
        BinaryOp::Gt => bool_f(a > b),
        BinaryOp::Ge => bool_f(a >= b),
        BinaryOp::Mod => np_mod(a, b),
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::ClipMin => np_maximum(a, b),
        BinaryOp::ClipMax => np_minimum(a, b),
        BinaryOp::Max => np_fmax(a, b),
    }
}

/// `rate:` — first differences, timestamps from the second on.
fn rate(times: &[i64], vals: &[f64]) -> (Vec<i64>, Vec<f64>) {
    (
        times.get(1..).unwrap_or_default().to_vec(),
        vals.windows(2).map(|p| p[1] - p[0]).collect(),
    )
}

/// How numpy adds up a reduction: in order across series (a reduction over
/// a non-contiguous axis), pairwise over a contiguous run (rolling windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Summation {
    Sequential,
    Pairwise,
}

fn sum(vals: &[f64], how: Summation) -> f64 {
    match how {
        Summation::Sequential => vals.iter().fold(0.0, |a, v| a + v),
        Summation::Pairwise => pairwise_sum(vals),
    }
}

/// numpy's `pairwise_sum` (blocks of 128, 8 accumulators).
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |r, v| r + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// numpy's NaN-ignoring reductions (`AGG_MAP`).
fn reduce(r: Reducer, vals: &[f64], how: Summation) -> f64 {
    let zeroed: Vec<f64> = vals
        .iter()
        .map(|v| if v.is_nan() { 0.0 } else { *v })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let count = vals.iter().filter(|v| !v.is_nan()).count() as f64;
    let var = || {
        let avg = sum(&zeroed, how) / count;
        let sq: Vec<f64> = vals
            .iter()
            .map(|v| {
                if v.is_nan() {
                    0.0
                } else {
                    (v - avg) * (v - avg)
                }
            })
            .collect();
        sum(&sq, how) / count
    };
    match r {
        Reducer::Sum => sum(&zeroed, how),
        Reducer::Count => count,
        Reducer::Mean => sum(&zeroed, how) / count,
        Reducer::Var => var(),
        Reducer::Std => var().sqrt(),
        Reducer::Min => vals
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .reduce(f64::min)
            .unwrap_or(f64::NAN),
        Reducer::Max => vals
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .reduce(f64::max)
            .unwrap_or(f64::NAN),
        Reducer::Median => {
            let mut s: Vec<f64> = vals.iter().copied().filter(|v| !v.is_nan()).collect();
            if s.is_empty() {
                return f64::NAN;
            }
            s.sort_by(f64::total_cmp);
            let n = s.len();
            // numpy.ma.median averages the middle value(s) from a +0.0
            // sum (so a lone -0.0 comes out as 0.0).
            if n % 2 == 1 {
                0.0 + s[n / 2]
            } else {
                (0.0 + s[n / 2 - 1] + s[n / 2]) / 2.0
            }
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn numpy_helpers() {
        assert_eq!(np_mod(-1.0, 3.0), 2.0);
        assert_eq!(np_mod(1.0, -3.0), -2.0);
        assert_eq!(np_mod(5.5, 2.0), 1.5);
        assert!(np_mod(1.0, 0.0).is_nan());
        assert_eq!(np_mod(-3.0, 3.0).to_bits(), 0.0_f64.to_bits());
        let a: Vec<f64> = (0..300).map(|i| f64::from(i) * 0.1).collect();
        assert!((pairwise_sum(&a) - 4485.0).abs() < 1e-9);
        assert_eq!(
            reduce(
                Reducer::Median,
                &[3.0, f64::NAN, 1.0, 2.0, 10.0],
                Summation::Sequential
            ),
            2.5
        );
        assert_eq!(
            reduce(Reducer::Count, &[3.0, f64::NAN], Summation::Sequential),
            1.0
        );
        assert_eq!(
            reduce(Reducer::Sum, &[f64::NAN], Summation::Sequential),
            0.0
        );
        assert!(reduce(Reducer::Mean, &[f64::NAN], Summation::Sequential).is_nan());
        assert_eq!(
            reduce(Reducer::Var, &[1.0, 3.0], Summation::Sequential),
            1.0
        );
        assert_eq!(
            reduce(Reducer::Std, &[1.0, 3.0, f64::NAN], Summation::Sequential),
            1.0
        );
    }
}
