//! The evaluator: loads every selector's samples, then evaluates the
//! expression tree over all steps of the query at once.
//!
//! An instant vector is a list of [`Series`], each with one value slot per
//! step ([`ABSENT`] where it has no value). This keeps range queries from
//! re-running the tree per step, and makes aggregation and vector matching
//! simple loops over steps.

use foldhash::{HashMap, HashMapExt};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use altimeter_model::{Labels, METRIC_NAME, MatchOp, Matcher, Sample};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};

use super::value::{InstantSample, Point, QueryValue, RangeSeries};
use super::{QueryError, aggregate, binary, functions, par};
use crate::db::{SeriesData, Tsdb};

/// The bit pattern of a Prometheus staleness marker.
pub(super) const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// "No value at this step": a signalling NaN no arithmetic produces (any
/// operation on it yields a quiet NaN), so it never collides with a result.
pub(super) const ABSENT_BITS: u64 = 0x7ff4_dead_beef_0001;
pub(super) const ABSENT: f64 = f64::from_bits(ABSENT_BITS);

/// Whether a step slot holds a value.
#[inline]
pub(super) fn present(v: f64) -> bool {
    v.to_bits() != ABSENT_BITS
}

#[inline]
pub(super) fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// Subqueries without a step use this resolution (Prometheus: the global
/// evaluation interval, 1m by default).
const DEFAULT_SUBQUERY_STEP: i64 = 60_000;

/// One query's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub instant: bool,
    pub lookback: i64,
    pub max_samples: usize,
    pub parallel_min_work: usize,
    pub deadline: Instant,
}

/// Samples of every selector, by the selector node's address.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    by_node: HashMap<usize, Vec<SeriesData>>,
}

fn node_key(vs: &VectorSelector) -> usize {
    vs as *const VectorSelector as usize
}

/// The steps an expression is evaluated at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    pub start: i64,
    pub step: i64,
    pub n: usize,
}

impl Grid {
    fn new(start: i64, end: i64, step: i64) -> Self {
        let n = if end < start {
            0
        } else {
            ((end - start) / step) as usize + 1
        };
        Self { start, step, n }
    }

    /// Timestamp of step `i`.
    #[inline]
    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// `(time, value)` of the steps of `vals` that hold a value.
    pub fn present<'v>(&self, vals: &'v [f64]) -> impl Iterator<Item = (i64, f64)> + 'v {
        let g = *self;
        vals.iter()
            .enumerate()
            .filter(|(_, v)| present(**v))
            .map(move |(i, v)| (g.t(i), *v))
    }
}

/// One series of an instant vector over the grid.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub labels: Labels,
    pub vals: Vec<f64>,
}

impl Series {
    pub fn any(&self) -> bool {
        self.vals.iter().any(|v| present(*v))
    }
}

/// A range vector's samples, with the window it is read through.
#[derive(Debug)]
pub(super) struct RangeInput {
    pub series: Vec<(Labels, Vec<Sample>)>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    /// Whether results keep `__name__` (Prometheus 2.42: `last_over_time` only).
    pub keep_name: bool,
}

/// An evaluated expression.
#[derive(Debug)]
pub(super) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    Vector(Vec<Series>),
    /// Only at the top of an instant query (`foo[5m]`, `foo[5m:1m]`).
    Matrix(Vec<RangeSeries>),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "instant vector",
            Val::Matrix(_) => "range vector",
        }
    }
}

fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => dur_ms(&d),
        Err(e) => -dur_ms(&e.duration()),
    }
}

fn at_ms(at: &Option<AtModifier>, q: &Query) -> Option<i64> {
    at.as_ref().map(|a| match a {
        AtModifier::Start => q.start,
        AtModifier::End => q.end,
        AtModifier::At(t) => system_time_ms(t),
    })
}

/// The matchers of a selector in the storage's terms (`name` included).
pub(super) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, QueryError> {
    let mut out = Vec::with_capacity(vs.matchers.matchers.len() + 1);
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(QueryError::BadData(
            "\"or\" in label matchers is not supported by Prometheus 2.42 semantics".into(),
        ));
    }
    for m in &vs.matchers.matchers {
        let (op, value) = match &m.op {
            PMatchOp::Equal => (MatchOp::Equal, m.value.clone()),
            PMatchOp::NotEqual => (MatchOp::NotEqual, m.value.clone()),
            PMatchOp::Re(_) => (MatchOp::Regex, m.value.clone()),
            PMatchOp::NotRe(_) => (MatchOp::NotRegex, m.value.clone()),
        };
        out.push(
            Matcher::new(op, m.name.clone(), value)
                .map_err(|e| QueryError::BadData(e.to_string()))?,
        );
    }
    Ok(out)
}

/// A selector to load: the node, its matchers and time range.
struct Want<'a> {
    vs: &'a VectorSelector,
    mint: i64,
    maxt: i64,
    /// Range-vector selectors never see staleness markers.
    drop_stale: bool,
}

/// Walks the tree with the window of evaluation times each node sees and
/// records what every selector must read.
fn collect<'a>(e: &'a Expr, lo: i64, hi: i64, q: &Query, out: &mut Vec<Want<'a>>) {
    match e {
        Expr::VectorSelector(vs) => {
            let (lo, hi) = shift(lo, hi, &vs.at, &vs.offset, q);
            out.push(Want {
                vs,
                mint: lo.saturating_sub(q.lookback),
                maxt: hi,
                drop_stale: false,
            });
        }
        Expr::MatrixSelector(ms) => {
            let (lo, hi) = shift(lo, hi, &ms.vs.at, &ms.vs.offset, q);
            out.push(Want {
                vs: &ms.vs,
                mint: lo.saturating_sub(dur_ms(&ms.range)),
                maxt: hi,
                drop_stale: true,
            });
        }
        Expr::Subquery(sq) => {
            let (lo, hi) = shift(lo, hi, &sq.at, &sq.offset, q);
            collect(&sq.expr, lo.saturating_sub(dur_ms(&sq.range)), hi, q, out);
        }
        Expr::Aggregate(a) => {
            collect(&a.expr, lo, hi, q, out);
            if let Some(p) = &a.param {
                collect(p, lo, hi, q, out);
            }
        }
        Expr::Unary(u) => collect(&u.expr, lo, hi, q, out),
        Expr::Binary(b) => {
            collect(&b.lhs, lo, hi, q, out);
            collect(&b.rhs, lo, hi, q, out);
        }
        Expr::Paren(p) => collect(&p.expr, lo, hi, q, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                collect(a, lo, hi, q, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn shift(lo: i64, hi: i64, at: &Option<AtModifier>, off: &Option<Offset>, q: &Query) -> (i64, i64) {
    let o = offset_ms(off);
    match at_ms(at, q) {
        Some(t) => (t - o, t - o),
        None => (lo - o, hi - o),
    }
}

/// Phase one: reads every selector's samples, all selectors at once.
pub(crate) async fn load(db: &Tsdb, expr: &Expr, q: &Query) -> Result<Loaded, QueryError> {
    let mut wants = Vec::new();
    collect(expr, q.start, q.end, q, &mut wants);
    let mut reads = Vec::with_capacity(wants.len());
    for w in &wants {
        let matchers = selector_matchers(w.vs)?;
        if matchers.iter().all(|m| m.matches_empty()) {
            return Err(QueryError::BadData(
                "vector selector must contain at least one non-empty matcher".into(),
            ));
        }
        reads.push(async move { db.select(&matchers, w.mint, w.maxt).await });
    }
    let mut loaded = Loaded::default();
    let mut total = 0usize;
    for (w, mut data) in wants
        .iter()
        .zip(futures::future::try_join_all(reads).await?)
    {
        if w.drop_stale {
            for s in &mut data {
                if s.samples.iter().any(|x| is_stale(x.v)) {
                    s.samples.retain(|x| !is_stale(x.v));
                }
            }
        }
        total += data.iter().map(|s| s.samples.len()).sum::<usize>();
        if total > q.max_samples {
            return Err(too_many_samples());
        }
        loaded.by_node.insert(node_key(w.vs), data);
    }
    Ok(loaded)
}

pub(super) fn too_many_samples() -> QueryError {
    QueryError::Execution(
        "query processing would load too many samples into memory in query execution".into(),
    )
}

/// Phase two: evaluates `expr` over the query's steps.
pub(crate) fn evaluate(expr: &Expr, q: &Query, loaded: Loaded) -> Result<QueryValue, QueryError> {
    if !q.instant {
        let t = expr.value_type();
        use promql_parser::parser::value::ValueType;
        if !matches!(t, ValueType::Vector | ValueType::Scalar) {
            return Err(QueryError::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                documented_type(t)
            )));
        }
    }
    let grid = if q.instant {
        Grid {
            start: q.start,
            step: 1,
            n: 1,
        }
    } else {
        Grid::new(q.start, q.end, q.step)
    };
    let mut ev = Evaluator {
        q,
        loaded,
        points: 0,
        checks: 0,
    };
    let v = ev.eval(expr, grid)?;
    Ok(match v {
        Val::Scalar(s) if q.instant => QueryValue::Scalar {
            t: q.start,
            v: s[0],
        },
        Val::Scalar(s) => QueryValue::Matrix(vec![RangeSeries {
            labels: Labels::default(),
            points: s
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    t: grid.t(i),
                    v: *v,
                })
                .collect(),
        }]),
        Val::Str(s) => QueryValue::String { t: q.start, s },
        Val::Vector(series) if q.instant => QueryValue::Vector(
            series
                .into_iter()
                .filter(|s| present(s.vals[0]))
                .map(|s| InstantSample {
                    labels: s.labels,
                    t: q.start,
                    v: s.vals[0],
                })
                .collect(),
        ),
        Val::Vector(series) => {
            let mut out: Vec<RangeSeries> = series
                .into_iter()
                .filter_map(|s| {
                    let points: Vec<Point> =
                        grid.present(&s.vals).map(|(t, v)| Point { t, v }).collect();
                    (!points.is_empty()).then_some(RangeSeries {
                        labels: s.labels,
                        points,
                    })
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            QueryValue::Matrix(out)
        }
        Val::Matrix(mut m) => {
            m.sort_by(|a, b| a.labels.cmp(&b.labels));
            QueryValue::Matrix(m)
        }
    })
}

fn documented_type(t: promql_parser::parser::value::ValueType) -> &'static str {
    use promql_parser::parser::value::ValueType;
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

pub(super) struct Evaluator<'a> {
    pub q: &'a Query,
    loaded: Loaded,
    /// Points held by intermediate results (against `max_samples`).
    points: usize,
    checks: u32,
}

impl<'a> Evaluator<'a> {
    /// Fails once the deadline has passed (checked cheaply, now and then).
    pub fn check_deadline(&mut self) -> Result<(), QueryError> {
        self.checks = self.checks.wrapping_add(1);
        if self.checks.is_multiple_of(64) && Instant::now() > self.q.deadline {
            return Err(QueryError::Timeout("query execution"));
        }
        Ok(())
    }

    /// Accounts `n` more points against the sample limit.
    pub fn account(&mut self, n: usize) -> Result<(), QueryError> {
        self.points += n;
        if self.points > self.q.max_samples {
            return Err(too_many_samples());
        }
        Ok(())
    }

    pub fn eval(&mut self, e: &Expr, g: Grid) -> Result<Val, QueryError> {
        self.check_deadline()?;
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; g.n])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, g),
            Expr::Unary(u) => match self.eval(&u.expr, g)? {
                Val::Scalar(mut s) => {
                    s.iter_mut().for_each(|v| *v = -*v);
                    Ok(Val::Scalar(s))
                }
                Val::Vector(mut vs) => {
                    for s in &mut vs {
                        s.labels = drop_name(&s.labels);
                        s.vals
                            .iter_mut()
                            .filter(|v| present(**v))
                            .for_each(|v| *v = -*v);
                    }
                    Ok(Val::Vector(merge_same_labels(vs)?))
                }
                other => Err(QueryError::BadData(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.instant_selector(vs, g, false)?)),
            Expr::MatrixSelector(ms) => {
                let input = self.matrix_input(&ms.vs, dur_ms(&ms.range))?;
                Ok(Val::Matrix(self.raw_windows(input, g)?))
            }
            Expr::Subquery(sq) => {
                let input = self.subquery_input(sq, g)?;
                Ok(Val::Matrix(self.raw_windows(input, g)?))
            }
            Expr::Aggregate(a) => aggregate::eval(self, a, g),
            Expr::Binary(b) => binary::eval(self, b, g),
            Expr::Call(c) => functions::eval(self, c, g),
            Expr::Extension(_) => Err(QueryError::BadData("unsupported expression".into())),
        }
    }

    /// Evaluates `e`, which must give a scalar.
    pub fn eval_scalar(&mut self, e: &Expr, g: Grid) -> Result<Vec<f64>, QueryError> {
        match self.eval(e, g)? {
            Val::Scalar(s) => Ok(s),
            other => Err(QueryError::BadData(format!(
                "expected type scalar, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates `e`, which must give an instant vector.
    pub fn eval_vector(&mut self, e: &Expr, g: Grid) -> Result<Vec<Series>, QueryError> {
        match self.eval(e, g)? {
            Val::Vector(v) => Ok(v),
            other => Err(QueryError::BadData(format!(
                "expected type instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Takes a selector's loaded samples: every node of the tree is
    /// evaluated exactly once, so they are moved, never copied.
    fn take(&mut self, vs: &VectorSelector) -> Vec<SeriesData> {
        self.loaded
            .by_node
            .remove(&node_key(vs))
            .unwrap_or_default()
    }

    /// An instant selector over the grid: at each step the newest sample
    /// within the lookback, unless it is a staleness marker. With
    /// `timestamps`, the value is the sample's timestamp in seconds.
    pub fn instant_selector(
        &mut self,
        vs: &VectorSelector,
        g: Grid,
        timestamps: bool,
    ) -> Result<Vec<Series>, QueryError> {
        let off = offset_ms(&vs.offset);
        let at = at_ms(&vs.at, self.q);
        let lookback = self.q.lookback;
        let data = self.take(vs);
        let pick = |s: &[Sample], j: usize, te: i64| -> f64 {
            // j = number of samples with t <= te
            if j == 0 {
                return ABSENT;
            }
            let x = s[j - 1];
            if x.t < te - lookback || is_stale(x.v) {
                ABSENT
            } else if timestamps {
                x.t as f64 / 1000.0
            } else {
                x.v
            }
        };
        let series_vals = |sd: &SeriesData| -> Option<Vec<f64>> {
            let s = &sd.samples;
            let mut vals = vec![ABSENT; g.n];
            match at {
                Some(t) => {
                    let te = t - off;
                    let v = pick(s, s.partition_point(|x| x.t <= te), te);
                    vals.iter_mut().for_each(|x| *x = v);
                }
                None => {
                    let mut j = 0usize;
                    for (i, slot) in vals.iter_mut().enumerate() {
                        let te = g.t(i) - off;
                        while j < s.len() && s[j].t <= te {
                            j += 1;
                        }
                        *slot = pick(s, j, te);
                    }
                }
            }
            vals.iter().any(|v| present(*v)).then_some(vals)
        };
        let samples: usize = data.iter().map(|sd| sd.samples.len()).sum();
        let work = samples.max(data.len() * g.n);
        let vals = par::map(&data, work, self.q, series_vals)?;
        let out: Vec<Series> = data
            .into_iter()
            .zip(vals)
            .filter_map(|(sd, vals)| {
                vals.map(|vals| Series {
                    labels: sd.labels,
                    vals,
                })
            })
            .collect();
        self.account(out.len() * g.n)?;
        Ok(out)
    }

    /// A matrix selector's samples as a range input.
    pub fn matrix_input(
        &mut self,
        vs: &VectorSelector,
        range: i64,
    ) -> Result<RangeInput, QueryError> {
        let series = self
            .take(vs)
            .into_iter()
            .map(|sd| (sd.labels, sd.samples))
            .collect();
        Ok(RangeInput {
            series,
            range,
            offset: offset_ms(&vs.offset),
            at: at_ms(&vs.at, self.q),
            keep_name: false,
        })
    }

    /// A subquery's result as a range input: the inner expression evaluated
    /// on its own step grid, aligned to multiples of its step.
    pub fn subquery_input(&mut self, sq: &SubqueryExpr, g: Grid) -> Result<RangeInput, QueryError> {
        let off = offset_ms(&sq.offset);
        let range = dur_ms(&sq.range);
        let at = at_ms(&sq.at, self.q);
        let step = sq
            .step
            .as_ref()
            .map_or(DEFAULT_SUBQUERY_STEP, dur_ms)
            .max(1);
        let (outer_start, outer_end) = match at {
            Some(t) => (t, t),
            None => (g.start, g.t(g.n.saturating_sub(1))),
        };
        let lo = outer_start - off - range;
        let mut start = step * lo.div_euclid(step);
        if start < lo {
            start += step;
        }
        let inner = Grid::new(start, outer_end - off, step);
        let series = match self.eval(&sq.expr, inner)? {
            Val::Vector(v) => v
                .into_iter()
                .map(|s| {
                    let samples: Vec<Sample> = inner
                        .present(&s.vals)
                        .map(|(t, v)| Sample { t, v })
                        .collect();
                    (s.labels, samples)
                })
                .collect(),
            Val::Scalar(v) => vec![(
                Labels::default(),
                v.iter()
                    .enumerate()
                    .map(|(i, v)| Sample {
                        t: inner.t(i),
                        v: *v,
                    })
                    .collect(),
            )],
            other => {
                return Err(QueryError::BadData(format!(
                    "subquery is only allowed on instant vector, got {} instead",
                    other.type_name()
                )));
            }
        };
        Ok(RangeInput {
            series,
            range,
            offset: off,
            at,
            keep_name: false,
        })
    }

    /// Range input as raw windows (an instant query of `foo[5m]`).
    fn raw_windows(&mut self, input: RangeInput, g: Grid) -> Result<Vec<RangeSeries>, QueryError> {
        let te = input.at.unwrap_or(g.start) - input.offset;
        let mut out = Vec::new();
        for (labels, s) in input.series {
            let a = s.partition_point(|x| x.t < te - input.range);
            let b = s.partition_point(|x| x.t <= te);
            if a < b {
                self.account(b - a)?;
                out.push(RangeSeries {
                    labels,
                    points: s[a..b].iter().map(|x| Point { t: x.t, v: x.v }).collect(),
                });
            }
        }
        Ok(out)
    }
}

/// Runs `f` over each series' window at each step; the window of step `i`
/// holds the samples in `[te - range, te]` where `te` is the step time (or
/// the `@` time) minus the offset. `f` gets the window, `te` and `i`.
pub(super) fn over_windows(
    ev: &mut Evaluator<'_>,
    input: &RangeInput,
    g: Grid,
    mut f: impl FnMut(&[Sample], i64, usize) -> Option<f64>,
) -> Result<Vec<Series>, QueryError> {
    let mut out = Vec::with_capacity(input.series.len());
    for (labels, s) in &input.series {
        let mut window =
            |s: &[Sample], lo: usize, hi: usize, te: i64, i: usize| f(&s[lo..hi], te, i);
        if let Some(series) = series_windows(input, labels, s, g, &mut window) {
            out.push(series);
        }
        ev.check_deadline()?;
    }
    ev.account(out.len() * g.n)?;
    Ok(out)
}

/// [`over_windows`] spread over the cores for big inputs. `prepare` runs
/// once per series (it may index the series, e.g. its counter resets) and
/// gives the function of a window: the whole series, the window's bounds
/// `lo..hi` in it, and `te`.
pub(super) fn over_windows_par<P, F>(
    ev: &mut Evaluator<'_>,
    input: &RangeInput,
    g: Grid,
    prepare: P,
) -> Result<Vec<Series>, QueryError>
where
    P: Fn(&[Sample]) -> F + Sync,
    F: FnMut(&[Sample], usize, usize, i64) -> Option<f64>,
{
    let samples: usize = input.series.iter().map(|(_, s)| s.len()).sum();
    let work = samples.max(input.series.len() * g.n);
    let out: Vec<Series> = par::map(&input.series, work, ev.q, |(labels, s)| {
        let mut f = prepare(s);
        series_windows(input, labels, s, g, &mut |s, lo, hi, te, _| {
            f(s, lo, hi, te)
        })
    })?
    .into_iter()
    .flatten()
    .collect();
    ev.account(out.len() * g.n)?;
    Ok(out)
}

/// One series of [`over_windows`]; `None` when no step has a value. `f`
/// gets the series, the window `lo..hi` (never empty), `te` and the step.
fn series_windows(
    input: &RangeInput,
    labels: &Labels,
    s: &[Sample],
    g: Grid,
    f: &mut impl FnMut(&[Sample], usize, usize, i64, usize) -> Option<f64>,
) -> Option<Series> {
    let mut vals = vec![ABSENT; g.n];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut any = false;
    for (i, slot) in vals.iter_mut().enumerate() {
        let te = input.at.unwrap_or_else(|| g.t(i)) - input.offset;
        let from = te - input.range;
        if input.at.is_some() {
            lo = s.partition_point(|x| x.t < from);
            hi = s.partition_point(|x| x.t <= te);
        } else {
            while hi < s.len() && s[hi].t <= te {
                hi += 1;
            }
            while lo < hi && s[lo].t < from {
                lo += 1;
            }
        }
        if lo < hi
            && let Some(v) = f(s, lo, hi, te, i)
        {
            *slot = v;
            any |= present(v);
        }
    }
    if !any {
        return None;
    }
    let labels = if input.keep_name {
        labels.clone()
    } else {
        drop_name(labels)
    };
    Some(Series { labels, vals })
}

/// Label sets numbered in first-seen order (groups, match signatures).
#[derive(Debug, Default)]
pub(super) struct LabelIds {
    index: HashMap<Labels, usize>,
    /// The label sets, by id.
    pub keys: Vec<Labels>,
}

impl LabelIds {
    /// The id of `k`, new ones numbered from zero in order.
    pub fn id(&mut self, k: Labels) -> usize {
        if let Some(i) = self.index.get(&k) {
            return *i;
        }
        self.index.insert(k.clone(), self.keys.len());
        self.keys.push(k);
        self.keys.len() - 1
    }
}

/// Labels without `__name__`.
pub(super) fn drop_name(l: &Labels) -> Labels {
    if l.get(METRIC_NAME).is_none() {
        return l.clone();
    }
    Labels::from_sorted_unchecked(
        l.iter()
            .filter(|x| x.name != METRIC_NAME)
            .cloned()
            .collect(),
    )
}

/// Merges series that ended up with the same labels (e.g. after dropping
/// the metric name). Two of them with a value at the same step is
/// Prometheus's "vector cannot contain metrics with the same labelset".
pub(super) fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, QueryError> {
    let mut seen: HashMap<&Labels, usize> = HashMap::with_capacity(series.len());
    let mut dup = false;
    for (i, s) in series.iter().enumerate() {
        if seen.insert(&s.labels, i).is_some() {
            dup = true;
            break;
        }
    }
    drop(seen);
    if !dup {
        return Ok(series);
    }
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            Some(&i) => {
                let o = &mut out[i];
                for (a, b) in o.vals.iter_mut().zip(&s.vals) {
                    if present(*b) {
                        if present(*a) {
                            return Err(same_labelset());
                        }
                        *a = *b;
                    }
                }
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

pub(super) fn same_labelset() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Fails if two series carry the same labels at all (Prometheus's check on
/// the result of a range-vector function).
pub(super) fn check_unique_labels(series: &[Series]) -> Result<(), QueryError> {
    let mut seen: foldhash::HashSet<&Labels> = foldhash::HashSetExt::with_capacity(series.len());
    for s in series {
        if !seen.insert(&s.labels) {
            return Err(same_labelset());
        }
    }
    Ok(())
}
