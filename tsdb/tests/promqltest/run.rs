//! Runs parsed commands against a real [`Tsdb`] and the PromQL [`Engine`],
//! checking results the way Prometheus 2.42's test.go does (`exec`,
//! `compareResult`, `almostEqual`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use altimeter_model::{Labels, ManualClock, Sample};
use altimeter_tsdb::promql::{Engine, EngineOptions, QueryError, QueryValue};
use altimeter_tsdb::{Tsdb, TsdbMetrics, TsdbOptions};

use super::parse::{Command, Eval, EvalKind, Expected, Load};
use super::variants::at_modifier_variants;

/// The clock of every test database: ten years after the epoch, so samples
/// from time 0 on are accepted (retention zero accepts any old sample;
/// the future limit is relative to the clock).
const CLOCK_MS: i64 = 10 * 365 * 86_400_000;

/// Queries taking longer than this fail the case (test.go's engine timeout
/// is 100 s); the runner moves on to the next case.
const QUERY_TIMEOUT: Duration = Duration::from_secs(100);

/// test.go's `epsilon`: relative error allowed for sample values.
const EPSILON: f64 = 0.000001;

/// How a run is done.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Evaluate only the `eval` on this line (loads and clears still run).
    pub only_line: Option<usize>,
    /// Flush the head into Parquet blocks after every load.
    pub flush: bool,
}

/// The outcome of one case: an `eval`, or a `load` that failed.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// 1-based line of the command.
    pub line: usize,
    /// The query (or the `load` line).
    pub query: String,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// Queries it ran (instant and range, with the @-modifier variants).
    pub queries: usize,
}

/// A database in a temporary directory and an engine over it.
struct Env {
    _dir: tempfile::TempDir,
    db: Arc<Tsdb>,
    engine: Engine,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut opts = TsdbOptions::new(dir.path());
        opts.retention = Duration::ZERO;
        opts.out_of_order_window = Duration::ZERO;
        let clock = Arc::new(ManualClock::new(CLOCK_MS));
        let mut reg = prometheus_client::registry::Registry::default();
        let db = Tsdb::open(opts, clock, Arc::new(TsdbMetrics::new(&mut reg)))
            .await
            .expect("open a test database");
        let engine = Engine::new(
            db.clone(),
            EngineOptions {
                timeout: QUERY_TIMEOUT,
                // Every per-series loop through the multi-threaded path.
                parallel_min_work: 0,
                ..EngineOptions::default()
            },
        );
        Env {
            _dir: dir,
            db,
            engine,
        }
    }

    fn close(self) {
        self.db.close();
    }
}

/// Runs every command, never stopping at a failure.
pub async fn run_commands(cmds: &[Command], opts: &RunOptions) -> Vec<CaseResult> {
    let mut env = Env::new().await;
    let mut out = Vec::new();
    for cmd in cmds {
        match cmd {
            Command::Clear => {
                env.close();
                env = Env::new().await;
            }
            Command::Load(load) => {
                if let Err(e) = load_into(&env.db, load, opts.flush).await {
                    out.push(CaseResult {
                        line: load.line,
                        query: load.text.clone(),
                        failure: Some(format!("loading the data failed: {e}")),
                        queries: 0,
                    });
                }
            }
            Command::Eval(eval) => {
                if opts.only_line.is_some_and(|l| l != eval.line) {
                    continue;
                }
                let mut queries = 0;
                let failure = run_eval(&env.engine, eval, &mut queries).await.err();
                out.push(CaseResult {
                    line: eval.line,
                    query: eval.query.clone(),
                    failure,
                    queries,
                });
            }
        }
    }
    env.close();
    out
}

async fn load_into(db: &Tsdb, load: &Load, flush: bool) -> Result<(), String> {
    let batch: Vec<(Labels, Vec<Sample>)> = load
        .series
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(l, s)| {
            (
                l.clone(),
                s.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
            )
        })
        .collect();
    let refs: Vec<(Labels, &[Sample])> = batch
        .iter()
        .map(|(l, s)| (l.clone(), s.as_slice()))
        .collect();
    db.write(&refs).await.map_err(|e| e.to_string())?;
    if flush {
        db.flush().await.map_err(|e| format!("flush: {e}"))?;
    }
    Ok(())
}

/// One `eval`: the query at its time, then test.go's @-modifier variants;
/// each as an instant query and as a range query (t-1m .. t+1m, step 1m)
/// whose middle step must give the same result.
async fn run_eval(engine: &Engine, eval: &Eval, queries: &mut usize) -> Result<(), String> {
    // test.go parses every expression when it reads the file.
    let expr = promql_parser::parser::parse(&eval.query)
        .map_err(|e| format!("the expression does not parse: {e}"))?;
    check(engine, eval, &eval.query, eval.at_ms, None, queries).await?;
    for (q, t) in at_modifier_variants(&expr, eval.at_ms)? {
        check(engine, eval, &q, t, Some(&q), queries).await?;
    }
    Ok(())
}

async fn check(
    engine: &Engine,
    eval: &Eval,
    q: &str,
    t: i64,
    variant: Option<&str>,
    queries: &mut usize,
) -> Result<(), String> {
    let what = match variant {
        None => format!("instant query at {}", fmt_ms(t)),
        Some(v) => format!("@-modifier variant `{v}`, instant query at {}", fmt_ms(t)),
    };
    *queries += 1;
    let value = match exec(engine, q, t, None)
        .await
        .map_err(|e| format!("{what}: {e}"))?
    {
        // test.go fails the case when the query cannot be created (parse
        // errors); only evaluation errors are what `eval_fail` expects.
        Err(QueryError::Execution(_)) if eval.kind == EvalKind::Fail => return Ok(()),
        Err(e) if eval.kind == EvalKind::Fail => {
            return Err(format!(
                "{what}: expected an evaluation error, got a {} error: {e}",
                e.error_type()
            ));
        }
        Err(e) => return Err(format!("{what}: unexpected error: {e}")),
        Ok(v) if eval.kind == EvalKind::Fail => {
            return Err(format!(
                "{what}: expected an error, got\n{}",
                indent(&render_value(&v))
            ));
        }
        Ok(v) => v,
    };
    check_times(&value, t)
        .and_then(|()| compare(eval, &value))
        .map_err(|e| with_listing(&what, &e, &eval.expected, &value))?;

    let what = match variant {
        None => format!(
            "range query {}..{} step 1m",
            fmt_ms(t - 60_000),
            fmt_ms(t + 60_000)
        ),
        Some(v) => format!(
            "@-modifier variant `{v}`, range query {}..{} step 1m",
            fmt_ms(t - 60_000),
            fmt_ms(t + 60_000)
        ),
    };
    *queries += 1;
    let range = match exec(engine, q, t, Some(60_000))
        .await
        .map_err(|e| format!("{what}: {e}"))?
    {
        Ok(v) => v,
        Err(e) => return Err(format!("{what}: unexpected error: {e}")),
    };
    if eval.kind == EvalKind::Ordered {
        // Ordering isn't defined for range queries.
        return Ok(());
    }
    let QueryValue::Matrix(series) = &range else {
        return Err(format!(
            "{what}: the answer is a {}, not a matrix",
            range.type_name()
        ));
    };
    let mid: Vec<(Labels, f64)> = series
        .iter()
        .filter_map(|s| {
            let p = s.points.iter().find(|p| p.t == t)?;
            Some((s.labels.clone(), p.v))
        })
        .collect();
    let what = format!("{what}, step at {}", fmt_ms(t));
    let got = if matches!(value, QueryValue::Scalar { .. }) {
        let Some((_, v)) = mid.first() else {
            return Err(format!(
                "{what}: no point at the middle step for the scalar"
            ));
        };
        QueryValue::Scalar { t, v: *v }
    } else {
        QueryValue::Vector(
            mid.into_iter()
                .map(|(labels, v)| altimeter_tsdb::promql::InstantSample { labels, t, v })
                .collect(),
        )
    };
    compare(eval, &got).map_err(|e| with_listing(&what, &e, &eval.expected, &got))
}

/// Runs one query in its own task, so a panic or a hang fails the case and
/// not the run. The outer error is such a failure; the inner one is the
/// engine's answer.
async fn exec(
    engine: &Engine,
    q: &str,
    t: i64,
    range_step: Option<i64>,
) -> Result<Result<QueryValue, QueryError>, String> {
    let engine = engine.clone();
    let q = q.to_string();
    let task = tokio::spawn(async move {
        match range_step {
            None => engine.instant_query(&q, t).await,
            Some(step) => engine.range_query(&q, t - step, t + step, step).await,
        }
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(QUERY_TIMEOUT + Duration::from_secs(10), task).await {
        Err(_) => {
            abort.abort();
            Err(format!("no answer within {QUERY_TIMEOUT:?}"))
        }
        Ok(Err(e)) => Err(format!("the query panicked: {e}")),
        Ok(Ok(r)) => Ok(r),
    }
}

/// Beyond test.go: an instant result carries the evaluation time and no
/// label set twice, as Prometheus's always does.
fn check_times(value: &QueryValue, t: i64) -> Result<(), String> {
    match value {
        QueryValue::Scalar { t: at, .. } | QueryValue::String { t: at, .. } if *at != t => {
            Err(format!(
                "the result carries time {}, not the evaluation time",
                fmt_ms(*at)
            ))
        }
        QueryValue::Vector(samples) => {
            if let Some(s) = samples.iter().find(|s| s.t != t) {
                return Err(format!(
                    "the sample of {} carries time {}, not the evaluation time",
                    s.labels,
                    fmt_ms(s.t)
                ));
            }
            let mut seen = BTreeSet::new();
            match samples.iter().find(|s| !seen.insert(&s.labels)) {
                Some(s) => Err(format!("the result holds {} twice", s.labels)),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// test.go's `compareResult`.
fn compare(eval: &Eval, value: &QueryValue) -> Result<(), String> {
    let exp = &eval.expected;
    match value {
        QueryValue::Matrix(_) => Err("received range result on instant evaluation".into()),
        QueryValue::String { .. } => Err("unexpected result type string".into()),
        QueryValue::Scalar { v, .. } => match exp.scalar {
            None => Err("got a scalar, but the expectation has no bare number".into()),
            Some(e) if !almost_equal(e, *v) => Err(format!(
                "expected scalar {} but got {}",
                fmt_f(e),
                fmt_f(*v)
            )),
            Some(_) => Ok(()),
        },
        QueryValue::Vector(samples) => {
            let mut seen = BTreeSet::new();
            for (i, s) in samples.iter().enumerate() {
                let Some((pos, ev)) = exp.series.get(&s.labels) else {
                    return Err(format!("unexpected metric {} in result", s.labels));
                };
                if eval.kind == EvalKind::Ordered && *pos != i + 1 {
                    return Err(format!(
                        "expected metric {} at position {pos} but was at {}",
                        s.labels,
                        i + 1
                    ));
                }
                let Some(ev) = ev else {
                    return Err(format!("the expected line for {} has no value", s.labels));
                };
                if !almost_equal(*ev, s.v) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        fmt_f(*ev),
                        s.labels,
                        fmt_f(s.v)
                    ));
                }
                seen.insert(&s.labels);
            }
            if let Some(l) = exp.series.keys().find(|l| !seen.contains(l)) {
                return Err(format!("expected metric {l} not found"));
            }
            if let Some(e) = exp.scalar {
                return Err(format!("expected scalar {} but got a vector", fmt_f(e)));
            }
            Ok(())
        }
    }
}

/// test.go's `almostEqual`.
pub fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / (a.abs() + b.abs()) < EPSILON
}

fn with_listing(what: &str, why: &str, exp: &Expected, got: &QueryValue) -> String {
    let mut s = format!("{what}: {why}\n  expected:\n");
    let mut want: Vec<(usize, String)> = exp
        .series
        .iter()
        .map(|(l, (pos, v))| {
            let v = v.map_or_else(|| "(no value)".to_string(), fmt_f);
            (*pos, format!("{} {v}", fmt_labels(l)))
        })
        .collect();
    want.sort();
    if let Some(v) = exp.scalar {
        want.push((0, fmt_f(v)));
    }
    if want.is_empty() {
        s.push_str("    (nothing)\n");
    }
    for (_, line) in want {
        let _ = writeln!(s, "    {line}");
    }
    s.push_str("  got:\n");
    s.push_str(&indent(&render_value(got)));
    s
}

/// A value as expectation-like lines (vectors in result order).
fn render_value(v: &QueryValue) -> String {
    let lines: Vec<String> = match v {
        QueryValue::Scalar { v, .. } => vec![format!("scalar {}", fmt_f(*v))],
        QueryValue::String { s, .. } => vec![format!("string {s:?}")],
        QueryValue::Vector(samples) if samples.is_empty() => vec!["(empty vector)".into()],
        QueryValue::Vector(samples) => samples
            .iter()
            .map(|s| format!("{} {}", fmt_labels(&s.labels), fmt_f(s.v)))
            .collect(),
        QueryValue::Matrix(series) => series
            .iter()
            .map(|s| {
                let pts: Vec<String> = s
                    .points
                    .iter()
                    .map(|p| format!("{}@{}", fmt_f(p.v), fmt_ms(p.t)))
                    .collect();
                format!("{} [{}]", fmt_labels(&s.labels), pts.join(" "))
            })
            .collect(),
    };
    let mut s = String::new();
    const MAX: usize = 30;
    for l in lines.iter().take(MAX) {
        let _ = writeln!(s, "{l}");
    }
    if lines.len() > MAX {
        let _ = writeln!(s, "... {} more", lines.len() - MAX);
    }
    s
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

/// `{a="b"}` or `name{a="b"}` as in the test files.
fn fmt_labels(l: &Labels) -> String {
    let s = l.to_string();
    s.strip_suffix("{}")
        .filter(|n| !n.is_empty())
        .map_or(s.clone(), str::to_string)
}

/// A value as Prometheus prints it (with `stale` for the marker).
fn fmt_f(v: f64) -> String {
    if v.to_bits() == super::parse::STALE_NAN_BITS {
        "stale".into()
    } else {
        altimeter_tsdb::promql::format_value(v)
    }
}

/// Milliseconds as seconds.
pub fn fmt_ms(t: i64) -> String {
    if t % 1000 == 0 {
        format!("{}s", t / 1000)
    } else {
        format!("{}ms", t)
    }
}
