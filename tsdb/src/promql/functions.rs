//! PromQL functions, with Prometheus 2.42's arithmetic (extrapolated rates,
//! Kahan sums, `histogram_quantile` bucket handling, …).

use altimeter_model::time::civil_from_days as civil;
use altimeter_model::{Label, Labels, METRIC_NAME, Sample};
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Call, Expr};
use regex::Regex;

use super::QueryError;
use super::eval::{
    ABSENT, Evaluator, Grid, LabelIds, RangeInput, Series, Val, check_unique_labels, drop_name,
    merge_same_labels, over_windows, over_windows_par, present,
};

/// Removes parentheses around an expression.
pub(super) fn unparen(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn range_arg(ev: &mut Evaluator<'_>, e: &Expr, g: Grid) -> Result<RangeInput, QueryError> {
    match unparen(e) {
        Expr::MatrixSelector(ms) => ev.matrix_input(
            &ms.vs,
            i64::try_from(ms.range.as_millis()).unwrap_or(i64::MAX),
        ),
        Expr::Subquery(sq) => ev.subquery_input(sq, g),
        _ => Err(QueryError::BadData(
            "expected type range vector in call to function".into(),
        )),
    }
}

/// A function of one window: samples, window end, range.
type WindowFn = dyn Fn(&[Sample], i64, i64) -> Option<f64> + Sync;

pub(super) fn eval(ev: &mut Evaluator<'_>, c: &Call, g: Grid) -> Result<Val, QueryError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    let range_fn = |ev: &mut Evaluator<'_>, f: &WindowFn| {
        let mut input = range_arg(ev, args[0], g)?;
        input.keep_name = name == "last_over_time";
        let range = input.range;
        let out = over_windows_par(ev, &input, g, |_| {
            move |s: &[Sample], lo: usize, hi: usize, te: i64| f(&s[lo..hi], te, range)
        })?;
        check_unique_labels(&out)?;
        Ok(Val::Vector(out))
    };
    // rate and increase: each series' counter resets are found once, not
    // again in every window that holds them.
    let counter_fn = |ev: &mut Evaluator<'_>, rate: bool| {
        let input = range_arg(ev, args[0], g)?;
        let range = input.range;
        let out = over_windows_par(ev, &input, g, |s| {
            let resets: Vec<usize> = s
                .windows(2)
                .enumerate()
                .filter(|(_, p)| p[1].v < p[0].v)
                .map(|(k, _)| k + 1)
                .collect();
            move |s: &[Sample], lo: usize, hi: usize, te: i64| {
                let a = resets.partition_point(|&k| k <= lo);
                let b = resets.partition_point(|&k| k < hi);
                let corrections = resets[a..b].iter().map(|&k| s[k - 1].v);
                extrapolated(&s[lo..hi], corrections, te, range, true, rate)
            }
        })?;
        check_unique_labels(&out)?;
        Ok(Val::Vector(out))
    };
    match name {
        "rate" => counter_fn(ev, true),
        "increase" => counter_fn(ev, false),
        "delta" => range_fn(ev, &|w, te, r| extrapolated(w, [], te, r, false, false)),
        "irate" => range_fn(ev, &|w, _, _| instant_value(w, true)),
        "idelta" => range_fn(ev, &|w, _, _| instant_value(w, false)),
        "deriv" => range_fn(ev, &|w, _, _| {
            (w.len() >= 2).then(|| linear_regression(w, w[0].t).0)
        }),
        "resets" => range_fn(ev, &|w, _, _| {
            Some(w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64)
        }),
        "changes" => range_fn(ev, &|w, _, _| {
            Some(
                w.windows(2)
                    .filter(|p| p[1].v != p[0].v && !(p[1].v.is_nan() && p[0].v.is_nan()))
                    .count() as f64,
            )
        }),
        "avg_over_time" => range_fn(ev, &|w, _, _| Some(avg(w.iter().map(|s| s.v)))),
        "sum_over_time" => range_fn(ev, &|w, _, _| Some(kahan_sum(w.iter().map(|s| s.v)))),
        "count_over_time" => range_fn(ev, &|w, _, _| Some(w.len() as f64)),
        "min_over_time" => range_fn(ev, &|w, _, _| {
            Some(
                w.iter()
                    .fold(w[0].v, |m, s| if s.v < m || m.is_nan() { s.v } else { m }),
            )
        }),
        "max_over_time" => range_fn(ev, &|w, _, _| {
            Some(
                w.iter()
                    .fold(w[0].v, |m, s| if s.v > m || m.is_nan() { s.v } else { m }),
            )
        }),
        "last_over_time" => range_fn(ev, &|w, _, _| w.last().map(|s| s.v)),
        "present_over_time" => range_fn(ev, &|_, _, _| Some(1.0)),
        "stddev_over_time" => range_fn(ev, &|w, _, _| Some(variance(w).sqrt())),
        "stdvar_over_time" => range_fn(ev, &|w, _, _| Some(variance(w))),
        "mad_over_time" => range_fn(ev, &|w, _, _| {
            let mut v: Vec<f64> = w.iter().map(|s| s.v).collect();
            let m = quantile(0.5, &mut v);
            let mut d: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
            Some(quantile(0.5, &mut d))
        }),
        "quantile_over_time" => {
            let phi = ev.eval_scalar(args[0], g)?;
            let input = range_arg(ev, args[1], g)?;
            let mut buf = Vec::new();
            let out = over_windows(ev, &input, g, |w, _, i| {
                buf.clear();
                buf.extend(w.iter().map(|s| s.v));
                Some(quantile(phi[i], &mut buf))
            })?;
            check_unique_labels(&out)?;
            Ok(Val::Vector(out))
        }
        "predict_linear" => {
            let input = range_arg(ev, args[0], g)?;
            let dur = ev.eval_scalar(args[1], g)?;
            let out = over_windows(ev, &input, g, |w, _, i| {
                if w.len() < 2 {
                    return None;
                }
                // Prometheus takes the intercept at the evaluation time.
                let (slope, intercept) = linear_regression(w, g.t(i));
                Some(slope * dur[i] + intercept)
            })?;
            check_unique_labels(&out)?;
            Ok(Val::Vector(out))
        }
        "holt_winters" => {
            let input = range_arg(ev, args[0], g)?;
            let sf = ev.eval_scalar(args[1], g)?;
            let tf = ev.eval_scalar(args[2], g)?;
            let mut err = None;
            let out = over_windows(ev, &input, g, |w, _, i| {
                let (sf, tf) = (sf[i], tf[i]);
                if sf <= 0.0 || sf >= 1.0 {
                    err.get_or_insert_with(|| {
                        format!("invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}")
                    });
                    return None;
                }
                if tf <= 0.0 || tf >= 1.0 {
                    err.get_or_insert_with(|| {
                        format!("invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}")
                    });
                    return None;
                }
                holt_winters(w, sf, tf)
            })?;
            if let Some(e) = err {
                return Err(QueryError::Execution(e));
            }
            check_unique_labels(&out)?;
            Ok(Val::Vector(out))
        }
        "absent_over_time" => {
            let input = range_arg(ev, args[0], g)?;
            let mut vals = vec![1.0; g.n];
            let any = over_windows(ev, &input, g, |_, _, _| Some(1.0))?;
            for s in &any {
                for (o, v) in vals.iter_mut().zip(&s.vals) {
                    if present(*v) {
                        *o = ABSENT;
                    }
                }
            }
            Ok(Val::Vector(absent_result(args[0], vals)))
        }
        "absent" => {
            let v = ev.eval_vector(args[0], g)?;
            let mut vals = vec![1.0; g.n];
            for s in &v {
                for (o, x) in vals.iter_mut().zip(&s.vals) {
                    if present(*x) {
                        *o = ABSENT;
                    }
                }
            }
            Ok(Val::Vector(absent_result(args[0], vals)))
        }
        "time" => Ok(Val::Scalar(
            (0..g.n).map(|i| g.t(i) as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; g.n])),
        "scalar" => {
            let v = ev.eval_vector(args[0], g)?;
            let mut out = vec![f64::NAN; g.n];
            let mut count = vec![0u32; g.n];
            for s in &v {
                for (i, x) in s.vals.iter().enumerate() {
                    if present(*x) {
                        count[i] += 1;
                        out[i] = *x;
                    }
                }
            }
            for (o, c) in out.iter_mut().zip(count) {
                if c != 1 {
                    *o = f64::NAN;
                }
            }
            Ok(Val::Scalar(out))
        }
        "vector" => {
            let s = ev.eval_scalar(args[0], g)?;
            Ok(Val::Vector(vec![Series {
                labels: Labels::default(),
                vals: s,
            }]))
        }
        "timestamp" => {
            let v = match unparen(args[0]) {
                Expr::VectorSelector(vs) => ev.instant_selector(vs, g, true)?,
                other => {
                    let mut v = ev.eval_vector(other, g)?;
                    for s in &mut v {
                        for (i, x) in s.vals.iter_mut().enumerate() {
                            if present(*x) {
                                *x = g.t(i) as f64 / 1000.0;
                            }
                        }
                    }
                    v
                }
            };
            map_dropping_name(v, |x, _| x)
        }
        "sort" | "sort_desc" => {
            let mut v = ev.eval_vector(args[0], g)?;
            if g.n == 1 {
                let desc = name == "sort_desc";
                // NaN sorts last either way, as in Prometheus.
                v.sort_by(|a, b| {
                    let (x, y) = (a.vals[0], b.vals[0]);
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.total_cmp(&x),
                        _ => x.total_cmp(&y),
                    }
                });
            }
            Ok(Val::Vector(v))
        }
        "label_replace" => label_replace(ev, &args, g),
        "label_join" => label_join(ev, &args, g),
        "histogram_quantile" => histogram_quantile(ev, &args, g),
        "histogram_count" | "histogram_sum" | "histogram_fraction" => {
            // Native histograms only: float series give no result.
            for a in &args {
                ev.eval(a, g)?;
            }
            Ok(Val::Vector(Vec::new()))
        }
        "round" => {
            let v = ev.eval_vector(args[0], g)?;
            let to = match args.get(1) {
                Some(a) => ev.eval_scalar(a, g)?,
                None => vec![1.0; g.n],
            };
            map_dropping_name(v, |x, i| {
                let inv = 1.0 / to[i];
                (x * inv + 0.5).floor() / inv
            })
        }
        "clamp" => {
            let v = ev.eval_vector(args[0], g)?;
            let lo = ev.eval_scalar(args[1], g)?;
            let hi = ev.eval_scalar(args[2], g)?;
            map_dropping_name(v, |x, i| {
                if hi[i] < lo[i] {
                    ABSENT
                } else {
                    go_max(lo[i], go_min(hi[i], x))
                }
            })
        }
        "clamp_min" => {
            let v = ev.eval_vector(args[0], g)?;
            let lo = ev.eval_scalar(args[1], g)?;
            map_dropping_name(v, |x, i| go_max(lo[i], x))
        }
        "clamp_max" => {
            let v = ev.eval_vector(args[0], g)?;
            let hi = ev.eval_scalar(args[1], g)?;
            map_dropping_name(v, |x, i| go_min(hi[i], x))
        }
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => {
            let f = date_fn(name);
            match args.first() {
                None => Ok(Val::Vector(vec![Series {
                    labels: Labels::default(),
                    vals: (0..g.n).map(|i| f(g.t(i).div_euclid(1000))).collect(),
                }])),
                Some(a) => {
                    let v = ev.eval_vector(a, g)?;
                    map_dropping_name(v, |x, _| f(go_float_to_int(x)))
                }
            }
        }
        _ => match math_fn(name) {
            Some(f) => {
                let v = ev.eval_vector(args[0], g)?;
                map_dropping_name(v, |x, _| f(x))
            }
            None => Err(QueryError::BadData(format!(
                "unknown function with name {name:?}"
            ))),
        },
    }
}

/// Applies `f` to every present value, dropping the metric name.
fn map_dropping_name(mut v: Vec<Series>, f: impl Fn(f64, usize) -> f64) -> Result<Val, QueryError> {
    for s in &mut v {
        s.labels = drop_name(&s.labels);
        for (i, x) in s.vals.iter_mut().enumerate() {
            if present(*x) {
                *x = f(*x, i);
            }
        }
    }
    v.retain(Series::any);
    Ok(Val::Vector(merge_same_labels(v)?))
}

/// Go's `math.Max`: NaN wins, +Inf wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// 2^63, exactly: the bounds of `i64` as a float.
pub(super) const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;

/// Go's `int64(f)` on amd64: out-of-range and NaN give i64::MIN.
fn go_float_to_int(x: f64) -> i64 {
    if !(-I64_BOUND..I64_BOUND).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => |x: f64| x * 180.0 / std::f64::consts::PI,
        "rad" => |x: f64| x * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn date_fn(name: &str) -> fn(i64) -> f64 {
    match name {
        "days_in_month" => |s| {
            let (y, m, _) = civil(s.div_euclid(86_400));
            f64::from(match m {
                2 if is_leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            })
        },
        "day_of_month" => |s| f64::from(civil(s.div_euclid(86_400)).2),
        "day_of_week" => |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        "day_of_year" => |s| {
            let (y, m, d) = civil(s.div_euclid(86_400));
            const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
            let leap = u32::from(m > 2 && is_leap(y));
            f64::from(CUM[m as usize - 1] + d + leap)
        },
        "hour" => |s| (s.rem_euclid(86_400) / 3600) as f64,
        "minute" => |s| (s.rem_euclid(3600) / 60) as f64,
        "month" => |s| f64::from(civil(s.div_euclid(86_400)).1),
        _ => |s| civil(s.div_euclid(86_400)).0 as f64, // year
    }
}

/// `rate`, `increase`, `delta`: Prometheus's extrapolation to the window
/// edges (at most half a sample interval beyond the data, never below zero
/// for counters).
///
/// `corrections`: for a counter, the value before each reset inside `w`
/// (a sample below its predecessor), in order. Prometheus adds them while
/// walking the window — and compares the first sample with 0, which can
/// only add 0.0 to a difference that is not -0.0: no effect — so adding
/// them in the same order gives the same bits.
fn extrapolated(
    w: &[Sample],
    corrections: impl IntoIterator<Item = f64>,
    te: i64,
    range: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w[0], w[w.len() - 1]);
    let mut result = last.v - first.v;
    for c in corrections {
        result += c;
    }
    let range_start = te - range;
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let to_end = (te - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (w.len() - 1) as f64;
    if counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg_step * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg_step / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg_step / 2.0
    };
    result *= interval / sampled;
    if rate {
        result /= range as f64 / 1000.0;
    }
    Some(result)
}

/// `irate`, `idelta`: the last two samples.
fn instant_value(w: &[Sample], rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (prev, last) = (w[w.len() - 2], w[w.len() - 1]);
    let mut v = if rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

/// One step of Kahan-Babuška (Neumaier) summation.
#[inline]
pub(super) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

fn kahan_sum(it: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in it {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// Incremental mean that keeps an infinite mean infinite.
pub(super) fn avg(it: impl Iterator<Item = f64>) -> f64 {
    let (mut mean, mut count) = (0.0f64, 0.0f64);
    for v in it {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

fn variance(w: &[Sample]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for s in w {
        count += 1.0;
        let delta = s.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (s.v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

/// Least squares over `(t - intercept_time, v)`: (slope, intercept).
fn linear_regression(w: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init = w[0].v;
    let mut const_y = true;
    for (i, s) in w.iter().enumerate() {
        if const_y && i > 0 && s.v != init {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(s.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * s.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn holt_winters(w: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, w[0].v);
    let mut b = w[1].v - w[0].v;
    for (i, s) in w.iter().enumerate().skip(1) {
        let x = sf * s.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

/// φ-quantile with linear interpolation (Prometheus's `quantile`); sorts `v`.
pub(super) fn quantile(q: f64, v: &mut [f64]) -> f64 {
    if v.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as Go's sort by `Less` with NaN smallest does.
    v.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight
}

/// Labels `absent()` gives: the selector's equality matchers, unless a
/// name is matched more than once or otherwise.
fn absent_result(arg: &Expr, vals: Vec<f64>) -> Vec<Series> {
    let vs = match arg {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    };
    let mut labels: Vec<Label> = Vec::new();
    if let Some(vs) = vs {
        let mut ambiguous: Vec<&str> = Vec::new();
        for m in &vs.matchers.matchers {
            if m.name == METRIC_NAME {
                continue;
            }
            if matches!(m.op, PMatchOp::Equal) && !labels.iter().any(|l| l.name == m.name) {
                if !m.value.is_empty() {
                    labels.push(Label::new(m.name.clone(), m.value.clone()));
                }
            } else {
                ambiguous.push(&m.name);
            }
        }
        labels.retain(|l| !ambiguous.contains(&l.name.as_str()));
        labels.sort();
    }
    let s = Series {
        labels: Labels::from_sorted_unchecked(labels),
        vals,
    };
    if s.any() { vec![s] } else { Vec::new() }
}

fn string_arg(e: &Expr) -> Result<&str, QueryError> {
    match unparen(e) {
        Expr::StringLiteral(s) => Ok(&s.val),
        _ => Err(QueryError::BadData("expected a string literal".into())),
    }
}

/// Sets (or, with an empty value, removes) one label.
fn with_label(l: &Labels, name: &str, value: &str) -> Labels {
    let mut v: Vec<Label> = l.iter().filter(|x| x.name != name).cloned().collect();
    if !value.is_empty() {
        v.push(Label::new(name, value));
        v.sort();
    }
    Labels::from_sorted_unchecked(v)
}

fn label_replace(ev: &mut Evaluator<'_>, args: &[&Expr], g: Grid) -> Result<Val, QueryError> {
    let (dst, repl, src, re) = (
        string_arg(args[1])?,
        string_arg(args[2])?,
        string_arg(args[3])?,
        string_arg(args[4])?,
    );
    let regex = Regex::new(&format!("^(?:{re})$")).map_err(|e| {
        QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {re}: {e}"
        ))
    })?;
    if !altimeter_model::labels::is_valid_label_name(dst.as_bytes()) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(args[0], g)?;
    for s in &mut v {
        let val = s.labels.get(src).unwrap_or("");
        if let Some(caps) = regex.captures(val) {
            let mut out = String::new();
            caps.expand(repl, &mut out);
            s.labels = with_label(&s.labels, dst, &out);
        }
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn label_join(ev: &mut Evaluator<'_>, args: &[&Expr], g: Grid) -> Result<Val, QueryError> {
    let dst = string_arg(args[1])?;
    let sep = string_arg(args[2])?;
    let srcs: Vec<&str> = args[3..]
        .iter()
        .map(|a| string_arg(a))
        .collect::<Result<_, _>>()?;
    if !altimeter_model::labels::is_valid_label_name(dst.as_bytes()) {
        return Err(QueryError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    for s in &srcs {
        if !altimeter_model::labels::is_valid_label_name(s.as_bytes()) {
            return Err(QueryError::Execution(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
    }
    let mut v = ev.eval_vector(args[0], g)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep);
        s.labels = with_label(&s.labels, dst, &joined);
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

fn histogram_quantile(ev: &mut Evaluator<'_>, args: &[&Expr], g: Grid) -> Result<Val, QueryError> {
    let phi = ev.eval_scalar(args[0], g)?;
    let v = ev.eval_vector(args[1], g)?;
    // Group buckets by all labels but `le` (name included for grouping,
    // dropped from the result).
    let mut ids = LabelIds::default();
    let mut members: Vec<Vec<(f64, usize)>> = Vec::new();
    for (si, s) in v.iter().enumerate() {
        let Some(le) = s.labels.get("le") else {
            continue;
        };
        let Some(upper) = parse_go_float(le) else {
            continue;
        };
        let key = Labels::from_sorted_unchecked(
            s.labels
                .iter()
                .filter(|l| l.name != "le")
                .cloned()
                .collect(),
        );
        let gi = ids.id(key);
        if gi == members.len() {
            members.push(Vec::new());
        }
        members[gi].push((upper, si));
    }
    let mut out = Vec::with_capacity(members.len());
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for (key, members) in ids.keys.into_iter().zip(members) {
        let mut vals = vec![ABSENT; g.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            buckets.clear();
            buckets.extend(
                members
                    .iter()
                    .filter(|(_, si)| present(v[*si].vals[i]))
                    .map(|(u, si)| (*u, v[*si].vals[i])),
            );
            if !buckets.is_empty() {
                *slot = bucket_quantile(phi[i], &mut buckets);
            }
        }
        let s = Series {
            labels: drop_name(&key),
            vals,
        };
        if s.any() {
            out.push(s);
        }
    }
    Ok(Val::Vector(merge_same_labels(out)?))
}

/// Parses like Go's `strconv.ParseFloat` for bucket bounds (`+Inf`, `1e3`).
fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "+inf" | "inf" | "+infinity" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Prometheus's `bucketQuantile` over (upper bound, cumulative count).
fn bucket_quantile(q: f64, b: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    if b.last().is_none_or(|x| x.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for &(u, c) in b.iter() {
        match merged.last_mut() {
            Some(last) if last.0 == u => last.1 += c,
            _ => merged.push((u, c)),
        }
    }
    *b = merged;
    // Monotonic counts.
    let mut max = f64::NEG_INFINITY;
    for x in b.iter_mut() {
        if x.1 > max {
            max = x.1;
        } else if x.1 < max {
            x.1 = max;
        }
    }
    if b.len() < 2 {
        return f64::NAN;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let idx = b[..b.len() - 1].partition_point(|x| x.1 < rank);
    if idx == b.len() - 1 {
        return b[b.len() - 2].0;
    }
    if idx == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let (mut start, end, mut count) = (0.0, b[idx].0, b[idx].1);
    if idx > 0 {
        start = b[idx - 1].0;
        count -= b[idx - 1].1;
        rank -= b[idx - 1].1;
    }
    start + (end - start) * (rank / count)
}
