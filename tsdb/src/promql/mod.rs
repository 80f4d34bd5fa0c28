//! PromQL: an engine with Prometheus 2.42 semantics over the TSDB read API,
//! and the Prometheus HTTP API on top of it.
//!
//! A query is parsed by the `promql-parser` crate, then evaluated in two
//! phases: every selector's samples are loaded from the [`Tsdb`] (async,
//! bounded by `max_samples`), then the expression tree is evaluated over all
//! steps at once on a blocking thread (a range query is not run as N
//! instant queries). Instant queries are range queries of one step.

mod aggregate;
pub mod api;
mod binary;
mod eval;
mod functions;
mod par;
mod value;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::db::{Tsdb, TsdbError};

pub use value::{InstantSample, Point, QueryValue, RangeSeries, format_value};

/// Parses a PromQL expression with the functions of Prometheus 2.42.
///
/// `promql-parser` follows Prometheus 3, which renamed `holt_winters` to
/// `double_exponential_smoothing`; the 2.42 name is registered here.
pub fn parse(query: &str) -> Result<promql_parser::parser::Expr, QueryError> {
    register_functions();
    promql_parser::parser::parse(query).map_err(QueryError::Parse)
}

/// Restricts every selector of `query` to series whose `label` equals
/// `value` (how a tenant's PromQL alarm is kept inside its project): an
/// existing matcher on `label` is replaced, so a tenant cannot widen it.
pub fn scope_query(query: &str, label: &str, value: &str) -> Result<String, QueryError> {
    use promql_parser::label::{MatchOp, Matcher};
    use promql_parser::parser::{Expr, VectorSelector};
    fn vs(v: &mut VectorSelector, label: &str, value: &str) {
        v.matchers.matchers.retain(|m| m.name != label);
        v.matchers
            .matchers
            .push(Matcher::new(MatchOp::Equal, label, value));
        for alt in &mut v.matchers.or_matchers {
            alt.retain(|m| m.name != label);
            alt.push(Matcher::new(MatchOp::Equal, label, value));
        }
    }
    fn walk(e: &mut Expr, label: &str, value: &str) {
        match e {
            Expr::Aggregate(a) => {
                walk(&mut a.expr, label, value);
                if let Some(p) = &mut a.param {
                    walk(p, label, value);
                }
            }
            Expr::Unary(u) => walk(&mut u.expr, label, value),
            Expr::Binary(b) => {
                walk(&mut b.lhs, label, value);
                walk(&mut b.rhs, label, value);
            }
            Expr::Paren(p) => walk(&mut p.expr, label, value),
            Expr::Subquery(s) => walk(&mut s.expr, label, value),
            Expr::VectorSelector(v) => vs(v, label, value),
            Expr::MatrixSelector(m) => vs(&mut m.vs, label, value),
            Expr::Call(c) => c.args.args.iter_mut().for_each(|a| walk(a, label, value)),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    let mut e = parse(query)?;
    walk(&mut e, label, value);
    Ok(e.to_string())
}

/// Registers the 2.42 function names `promql-parser` lacks (once, globally).
fn register_functions() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        use promql_parser::parser::Function;
        use promql_parser::parser::value::ValueType;
        // Fails only on a clash with a built-in, which `holt_winters` is not.
        let _ = promql_parser::parser::register_extra_functions(vec![Function {
            name: "holt_winters",
            arg_types: vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            variadic: 0,
            return_type: ValueType::Vector,
            experimental: false,
        }]);
    });
}

/// Limits and defaults of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback: Duration,
    /// A query running longer than this fails with a timeout (503).
    pub timeout: Duration,
    /// Most samples one query may load or hold (Prometheus:
    /// `--query.max-samples`, 50 M).
    pub max_samples: usize,
    /// Queries evaluated at once; more wait (and their wait counts against
    /// their timeout).
    pub max_concurrent: usize,
    /// Work (samples or steps visited) from which a per-series loop is
    /// spread over the cores; 0 always spreads (tests use that).
    pub parallel_min_work: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrent: 20,
            parallel_min_work: 200_000,
        }
    }
}

/// Why a query failed. [`QueryError::error_type`] and
/// [`QueryError::status`] map it to Prometheus's API error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query does not parse (400 `bad_data`; the API reports it as an
    /// invalid `query` parameter).
    #[error("{0}")]
    Parse(String),
    /// The query or a parameter does not parse (400 `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (422 `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran out of time (503 `timeout`).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// Reading the storage failed (500 `internal`).
    #[error("{0}")]
    Storage(String),
}

impl QueryError {
    /// Prometheus's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::Parse(_) | QueryError::BadData(_) => "bad_data",
            QueryError::Execution(_) => "execution",
            QueryError::Timeout(_) => "timeout",
            QueryError::Storage(_) => "internal",
        }
    }

    /// The HTTP status Prometheus answers with.
    pub fn status(&self) -> u16 {
        match self {
            QueryError::Parse(_) | QueryError::BadData(_) => 400,
            QueryError::Execution(_) => 422,
            QueryError::Timeout(_) => 503,
            QueryError::Storage(_) => 500,
        }
    }
}

impl From<TsdbError> for QueryError {
    fn from(e: TsdbError) -> Self {
        QueryError::Storage(e.to_string())
    }
}

/// The PromQL engine over one database.
#[derive(Debug, Clone)]
pub struct Engine {
    db: Arc<Tsdb>,
    opts: EngineOptions,
    slots: Arc<Semaphore>,
}

impl Engine {
    /// An engine over `db`.
    pub fn new(db: Arc<Tsdb>, opts: EngineOptions) -> Self {
        register_functions();
        let slots = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
        Self { db, opts, slots }
    }

    /// Its options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// The database it reads.
    pub fn db(&self) -> &Arc<Tsdb> {
        &self.db
    }

    /// Evaluates `query` at `t` (milliseconds): Prometheus's `/api/v1/query`.
    pub async fn instant_query(&self, query: &str, t: i64) -> Result<QueryValue, QueryError> {
        self.run(query, t, t, 0, true).await
    }

    /// Evaluates `query` at `start, start + step, … ≤ end` (milliseconds):
    /// Prometheus's `/api/v1/query_range`. The answer is a matrix.
    pub async fn range_query(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryValue, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        self.run(query, start, end, step, false).await
    }

    async fn run(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        instant: bool,
    ) -> Result<QueryValue, QueryError> {
        // Boxed: loaded data is keyed by selector node address, which must
        // not move when the tree is handed to the blocking evaluator.
        let expr = Box::new(parse(query)?);
        let deadline = tokio::time::Instant::now() + self.opts.timeout;
        let _slot = tokio::time::timeout_at(deadline, self.slots.acquire())
            .await
            .map_err(|_| QueryError::Timeout("queue"))?
            .map_err(|_| QueryError::Execution("engine is shutting down".into()))?;
        let q = eval::Query {
            start,
            end,
            step,
            instant,
            lookback: self.opts.lookback.as_millis() as i64,
            max_samples: self.opts.max_samples,
            parallel_min_work: self.opts.parallel_min_work,
            deadline: deadline.into_std(),
        };
        let data = tokio::time::timeout_at(deadline, eval::load(&self.db, &expr, &q))
            .await
            .map_err(|_| QueryError::Timeout("query preparation"))??;
        tokio::task::spawn_blocking(move || eval::evaluate(&expr, &q, data))
            .await
            .map_err(|e| QueryError::Execution(format!("query evaluation panicked: {e}")))?
    }
}

#[cfg(test)]
mod scope_tests {
    use super::scope_query;

    #[test]
    fn every_selector_is_scoped_and_cannot_be_widened() {
        let q = scope_query(
            r#"sum(rate(cpu{project_id=~".+"}[5m])) / count(up) > 1"#,
            "project_id",
            "p1",
        )
        .unwrap();
        assert_eq!(q.matches(r#"project_id="p1""#).count(), 2, "{q}");
        assert!(!q.contains(".+"), "{q}");
        let reparsed = super::parse(&q).unwrap();
        assert_eq!(
            scope_query(&reparsed.to_string(), "project_id", "p1").unwrap(),
            q
        );
        assert!(scope_query("sum(", "project_id", "p1").is_err());
    }
}
