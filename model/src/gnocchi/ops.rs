//! The `/v1/aggregates` operations language: parsing and validation as
//! Gnocchi's `OperationsSchema` (`gnocchi/rest/aggregates/api.py`),
//! evaluation as `processor.aggregated` + `operations.evaluate`
//! (`gnocchi/rest/aggregates/{processor,operations}.py`, in
//! [`evaluate`], module `ops_eval.rs`), and the `measures` rendering.
//!
//! ```text
//! (metric <id-or-name-glob> <agg>)            (metric (<id> <agg>) (<id2> <agg2>) …)
//! (aggregate <mean|median|std|min|max|sum|var|count|rate:X> <op>)
//! (rolling <same methods> <N points> <op>)
//! (resample <mean|median|std|min|max|sum|count|first|last|Npct|rate:X> <timespan> <op>)
//! (<+ add - sub * × mul / ÷ div ** ^ pow % mod> <op|number> <op|number>)
//! (<= == eq < lt > gt <= ≤ le >= ≥ ge != ≠ ne> …)   1.0 / 0.0 results
//! (clip_min …) (clip_max …) (max …)          numpy clip / clip / fmax
//! (clip <op> <min> [<max>])
//! (<abs absolute neg negative cos sin tan floor ceil> <op>)
//! (rateofchange <op>) (rateofchangesec <op>)
//! ```

use serde_json::{Map, Value, json};

use super::filter::{py_float_repr, py_repr, py_str};
use super::policy::AggregationMethod;
use super::timefmt;

#[path = "ops_eval.rs"]
mod eval;

pub use eval::evaluate;

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `abs`, `absolute`.
    Abs,
    /// `neg`, `negative`.
    Neg,
    /// `cos`.
    Cos,
    /// `sin`.
    Sin,
    /// `tan`.
    Tan,
    /// `floor`.
    Floor,
    /// `ceil`.
    Ceil,
    /// `rateofchange`: differences of consecutive values (first point
    /// dropped).
    RateOfChange,
    /// `rateofchangesec`: differences per second (first point NaN).
    RateOfChangeSec,
}

impl UnaryOp {
    /// Reads any spelling.
    pub fn from_name(s: &str) -> Option<UnaryOp> {
        Some(match s {
            "abs" | "absolute" => UnaryOp::Abs,
            "neg" | "negative" => UnaryOp::Neg,
            "cos" => UnaryOp::Cos,
            "sin" => UnaryOp::Sin,
            "tan" => UnaryOp::Tan,
            "floor" => UnaryOp::Floor,
            "ceil" => UnaryOp::Ceil,
            "rateofchange" => UnaryOp::RateOfChange,
            "rateofchangesec" => UnaryOp::RateOfChangeSec,
            _ => return None,
        })
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Abs => "abs",
            UnaryOp::Neg => "neg",
            UnaryOp::Cos => "cos",
            UnaryOp::Sin => "sin",
            UnaryOp::Tan => "tan",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::RateOfChange => "rateofchange",
            UnaryOp::RateOfChangeSec => "rateofchangesec",
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `=`, `==`, `eq`.
    Eq,
    /// `!=`, `≠`, `ne`.
    Ne,
    /// `<`, `lt`.
    Lt,
    /// `<=`, `≤`, `le`.
    Le,
    /// `>`, `gt`.
    Gt,
    /// `>=`, `≥`, `ge`.
    Ge,
    /// `%`, `mod` (numpy.mod: the sign of the divisor).
    Mod,
    /// `+`, `add`.
    Add,
    /// `-`, `sub`.
    Sub,
    /// `*`, `×`, `mul`.
    Mul,
    /// `/`, `÷`, `div`.
    Div,
    /// `**`, `^`, `pow`.
    Pow,
    /// `clip_min`: `numpy.clip(a, b, None)`.
    ClipMin,
    /// `clip_max`: `numpy.clip(a, None, b)`.
    ClipMax,
    /// `max`: `numpy.fmax` (NaN-ignoring).
    Max,
}

impl BinaryOp {
    /// Reads any spelling.
    pub fn from_name(s: &str) -> Option<BinaryOp> {
        Some(match s {
            "=" | "==" | "eq" => BinaryOp::Eq,
            "!=" | "≠" | "ne" => BinaryOp::Ne,
            "<" | "lt" => BinaryOp::Lt,
            "<=" | "≤" | "le" => BinaryOp::Le,
            ">" | "gt" => BinaryOp::Gt,
            ">=" | "≥" | "ge" => BinaryOp::Ge,
            "%" | "mod" => BinaryOp::Mod,
            "+" | "add" => BinaryOp::Add,
            "-" | "sub" => BinaryOp::Sub,
            "*" | "×" | "mul" => BinaryOp::Mul,
            "/" | "÷" | "div" => BinaryOp::Div,
            "**" | "^" | "pow" => BinaryOp::Pow,
            "clip_min" => BinaryOp::ClipMin,
            "clip_max" => BinaryOp::ClipMax,
            "max" => BinaryOp::Max,
            _ => return None,
        })
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Mod => "%",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "**",
            BinaryOp::ClipMin => "clip_min",
            BinaryOp::ClipMax => "clip_max",
            BinaryOp::Max => "max",
        }
    }
}

/// A cross-series / rolling reduction (`AGG_MAP` in `operations.py`):
/// NaN-ignoring numpy reductions; `std`/`var` are population (ddof 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reducer {
    /// `numpy.nanmean`.
    Mean,
    /// `numpy.nanmedian`.
    Median,
    /// `numpy.nanstd`.
    Std,
    /// `numpy.nanmin`.
    Min,
    /// `numpy.nanmax`.
    Max,
    /// `numpy.nansum`.
    Sum,
    /// `numpy.nanvar`.
    Var,
    /// Count of non-NaN values.
    Count,
}

/// A reducer, optionally `rate:` (reduce, then first difference over time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReduceMethod {
    /// `rate:X`.
    pub rate: bool,
    /// X.
    pub reducer: Reducer,
}

impl ReduceMethod {
    /// Reads `mean`, `rate:mean`… (`AGG_MAP` keys).
    pub fn from_name(s: &str) -> Option<ReduceMethod> {
        let (rate, base) = match s.strip_prefix("rate:") {
            Some(b) => (true, b),
            None => (false, s),
        };
        let reducer = match base {
            "mean" => Reducer::Mean,
            "median" => Reducer::Median,
            "std" => Reducer::Std,
            "min" => Reducer::Min,
            "max" => Reducer::Max,
            "sum" => Reducer::Sum,
            "var" => Reducer::Var,
            "count" => Reducer::Count,
            _ => return None,
        };
        Some(ReduceMethod { rate, reducer })
    }

    /// The spelling.
    pub fn name(self) -> String {
        let base = match self.reducer {
            Reducer::Mean => "mean",
            Reducer::Median => "median",
            Reducer::Std => "std",
            Reducer::Min => "min",
            Reducer::Max => "max",
            Reducer::Sum => "sum",
            Reducer::Var => "var",
            Reducer::Count => "count",
        };
        if self.rate {
            format!("rate:{base}")
        } else {
            base.to_string()
        }
    }
}

/// A validated operation tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `(metric X agg)` or `(metric (X agg) (Y agg) …)`: the series whose
    /// lookup key (the id or name glob as written, and the aggregation) is
    /// one of these, in reference order.
    Metric(Vec<(String, String)>),
    /// A number operand.
    Number(f64),
    /// `(aggregate method op)`: across series at each timestamp.
    Aggregate {
        /// The reduction.
        method: ReduceMethod,
        /// The operand.
        operand: Box<Op>,
    },
    /// `(rolling method window op)`: over `window` consecutive points.
    Rolling {
        /// The reduction.
        method: ReduceMethod,
        /// Points per window (≥ 1).
        window: usize,
        /// The operand.
        operand: Box<Op>,
    },
    /// `(resample method granularity op)`: regroup each series.
    Resample {
        /// A carbonara method (`mean`, `95pct`, `rate:max`, `first`…).
        method: AggregationMethod,
        /// The new granularity, ms.
        granularity: i64,
        /// The operand.
        operand: Box<Op>,
    },
    /// A unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Op>,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Op>,
        /// Right operand.
        rhs: Box<Op>,
    },
    /// `(clip op min [max])`.
    Clip {
        /// The clipped operand.
        operand: Box<Op>,
        /// Lower bound.
        min: Box<Op>,
        /// Upper bound.
        max: Option<Box<Op>>,
    },
}

impl Op {
    /// The validated JSON form (numbers as floats, granularities as
    /// seconds), as Gnocchi echoes `operations` in some errors.
    pub fn to_json(&self) -> Value {
        let f = |x: f64| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
        match self {
            Op::Metric(refs) if refs.len() == 1 => json!(["metric", refs[0].0, refs[0].1]),
            Op::Metric(refs) => {
                let mut v = vec![json!("metric")];
                v.extend(refs.iter().map(|(m, a)| json!([m, a])));
                Value::Array(v)
            }
            Op::Number(x) => f(*x),
            Op::Aggregate { method, operand } => {
                json!(["aggregate", method.name(), operand.to_json()])
            }
            Op::Rolling {
                method,
                window,
                operand,
            } => {
                json!(["rolling", method.name(), window, operand.to_json()])
            }
            Op::Resample {
                method,
                granularity,
                operand,
            } => {
                #[allow(clippy::cast_precision_loss)]
                let secs = *granularity as f64 / 1000.0;
                json!(["resample", method.to_string(), f(secs), operand.to_json()])
            }
            Op::Unary { op, operand } => json!([op.as_str(), operand.to_json()]),
            Op::Binary { op, lhs, rhs } => json!([op.as_str(), lhs.to_json(), rhs.to_json()]),
            Op::Clip { operand, min, max } => {
                let mut v = vec![json!("clip"), operand.to_json(), min.to_json()];
                if let Some(m) = max {
                    v.push(m.to_json());
                }
                Value::Array(v)
            }
        }
    }
}

/// Why operations cannot be parsed or evaluated; the HTTP layer answers
/// [`OpsError::status`] with [`OpsError::description`] as Gnocchi's
/// `description`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpsError {
    /// A schema violation (400 `{"cause": "Invalid input", …}`), e.g.
    /// `'rolling' operation invalid for dictionary value @ data['operations']`.
    #[error("Invalid input: {reason}")]
    Invalid {
        /// voluptuous' text.
        reason: String,
        /// The path, e.g. `["operations"]`.
        detail: Vec<String>,
    },
    /// The operations string is not an S-expression (400 `{"cause":
    /// "Invalid operations", "reason": "Fail to parse the operations
    /// string", "detail": <this>}`).
    #[error("Fail to parse the operations string: {0}")]
    Syntax(String),
    /// No `metric` in the tree (400 `{"cause": "Operations is invalid",
    /// "reason": "At least one 'metric' is required", "detail": <ops>}`).
    #[error("At least one 'metric' is required")]
    NoMetric(Value),
    /// Gnocchi's `UnAggregableTimeseries` (400 `{"cause": "Metrics cannot
    /// be aggregated", "reason": …, "detail": …}`): `No granularity match`,
    /// `Granularities are missing`, `No overlap`, `Less than …% of
    /// datapoints overlap in this timespan (…%)`, `Rolling window …`.
    #[error("Metrics cannot be aggregated: {reason}")]
    Unaggregable {
        /// The reason.
        reason: String,
        /// The references concerned (`[name, aggregation]` lists).
        detail: Value,
    },
    /// No reference matched any metric name (404, Gnocchi's bare
    /// `Metric ['a', 'b'] does not exist`).
    #[error("{}", no_such_metric(.0))]
    NoSuchMetric(Vec<String>),
    /// A query argument is invalid (400 `{"cause": "Argument value
    /// error", "detail": <argument>, "reason": …}`).
    #[error("Argument value error: {detail}: {reason}")]
    Argument {
        /// The argument name (`fill`).
        detail: String,
        /// The reason.
        reason: String,
    },
    /// An error of the resolver, passed through as is.
    #[error("{description}")]
    Other {
        /// HTTP status.
        status: u16,
        /// Gnocchi's description.
        description: Value,
    },
}

impl OpsError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            OpsError::NoSuchMetric(_) => 404,
            OpsError::Other { status, .. } => *status,
            _ => 400,
        }
    }

    /// Gnocchi's `description` member of the error body.
    pub fn description(&self) -> Value {
        match self {
            OpsError::Invalid { reason, detail } => {
                json!({"cause": "Invalid input", "reason": reason, "detail": detail})
            }
            OpsError::Syntax(d) => json!({
                "cause": "Invalid operations",
                "reason": "Fail to parse the operations string",
                "detail": d,
            }),
            OpsError::NoMetric(ops) => json!({
                "cause": "Operations is invalid",
                "reason": "At least one 'metric' is required",
                "detail": ops,
            }),
            OpsError::Unaggregable { reason, detail } => json!({
                "cause": "Metrics cannot be aggregated",
                "reason": reason,
                "detail": detail,
            }),
            OpsError::NoSuchMetric(_) => Value::String(self.to_string()),
            OpsError::Argument { detail, reason } => {
                json!({"cause": "Argument value error", "detail": detail, "reason": reason})
            }
            OpsError::Other { description, .. } => description.clone(),
        }
    }
}

#[path = "ops_parse.rs"]
mod parse;
pub use parse::{parse, referenced_metrics};

// ---------------------------------------------------------------------------
// Evaluation inputs and outputs

/// What [`evaluate`] asks for a `(id-or-glob, aggregation)` reference: the
/// matching series, one [`Input`] per granularity (see [`evaluate`]).
pub type Resolver<'a> = dyn Fn(&str, &str) -> Result<Vec<Input>, OpsError> + 'a;

/// Whose series an [`Input`] is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InputKey {
    /// A metric referenced by id (output keyed by this id).
    Metric {
        /// The metric's UUID, canonical form.
        id: String,
    },
    /// A metric of a resource, referenced by name or glob (output keyed by
    /// resource id then metric name).
    Resource {
        /// The resource's UUID, canonical form.
        resource_id: String,
        /// The metric's name.
        metric_name: String,
    },
}

/// One stored aggregated series, as the resolver gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Whose series.
    pub key: InputKey,
    /// Its aggregation method (normally the one asked).
    pub aggregation: String,
    /// Its granularity, ms.
    pub granularity: i64,
    /// Its points, ascending, at most one per timestamp (ms, value).
    pub points: Vec<(i64, f64)>,
}

/// The `fill` query parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// A number: holes get it.
    Value(f64),
    /// `null`: holes are NaN and stay in the output.
    Null,
    /// `dropna`: holes are NaN, NaN/inf results are dropped.
    DropNa,
    /// `ffill`: forward-fill each series, then drop NaN/inf results.
    Ffill,
    /// `bfill`: backward-fill each series, then drop NaN/inf results.
    Bfill,
    /// `full_ffill`: forward- then backward-fill, then drop NaN/inf.
    FullFfill,
    /// `full_bfill`: backward- then forward-fill, then drop NaN/inf.
    FullBfill,
}

impl Fill {
    /// Gnocchi's `FillSchema`: a float (Python `float()`), or one of the
    /// names.
    pub fn parse(s: &str) -> Result<Fill, OpsError> {
        if let Some(x) = timefmt::python_float_str(s) {
            return Ok(Fill::Value(x));
        }
        Ok(match s {
            "null" => Fill::Null,
            "dropna" => Fill::DropNa,
            "ffill" => Fill::Ffill,
            "bfill" => Fill::Bfill,
            "full_ffill" => Fill::FullFfill,
            "full_bfill" => Fill::FullBfill,
            _ => {
                return Err(OpsError::Argument {
                    detail: "fill".into(),
                    reason: "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'".into(),
                });
            }
        })
    }

    /// Whether NaN and infinite results are dropped from the output.
    pub fn drops_nan(self) -> bool {
        !matches!(self, Fill::Value(_) | Fill::Null)
    }
}

/// The query parameters of an evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalOptions {
    /// `start` (ms): each series keeps points from `start` floored to its
    /// granularity.
    pub start: Option<i64>,
    /// `stop` (ms, exclusive).
    pub stop: Option<i64>,
    /// `granularity` (ms); empty: every granularity all references share.
    pub granularity: Vec<i64>,
    /// `fill`; `None` enforces `needed_overlap`.
    pub fill: Option<Fill>,
    /// `needed_overlap` percent (default 100), only used without `fill`.
    pub needed_overlap: Option<f64>,
}

impl EvalOptions {
    /// `/v1/aggregates`' default: `fill=dropna` when neither `fill` nor
    /// `needed_overlap` is given (the deprecated `/v1/aggregation` keeps
    /// the 100 % overlap default: do not call this there).
    #[must_use]
    pub fn with_aggregates_defaults(mut self) -> EvalOptions {
        if self.fill.is_none() && self.needed_overlap.is_none() {
            self.fill = Some(Fill::DropNa);
        }
        self
    }
}

/// One output point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    /// Timestamp, ms.
    pub timestamp: i64,
    /// Granularity, ms.
    pub granularity: i64,
    /// Value (may be NaN or infinite unless the fill drops them).
    pub value: f64,
}

/// One output series of a non-aggregated result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesOutput {
    /// Whose series.
    pub key: InputKey,
    /// The aggregation method.
    pub aggregation: String,
    /// Points: coarsest granularity first, ascending timestamps within.
    pub measures: Vec<Measure>,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A cross-series result (`aggregate`, or an operator between two
    /// series): one series, coarsest granularity first.
    Aggregated(Vec<Measure>),
    /// One series per reference, in reference order.
    Series(Vec<SeriesOutput>),
}

fn triple(m: &Measure) -> Value {
    #[allow(clippy::cast_precision_loss)]
    let g = m.granularity as f64 / 1000.0;
    json!([
        timefmt::render_timestamp_ms(m.timestamp),
        g,
        serde_json::Number::from_f64(m.value).map_or(Value::Null, Value::Number),
    ])
}

fn push_measures(slot: &mut Value, measures: &[Measure]) {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(a) = slot {
        a.extend(measures.iter().map(triple));
    }
}

/// The `measures` object as Gnocchi returns it: `{"aggregated": [...]}`,
/// `{"<metric id>": {"<agg>": [...]}}`, or
/// `{"<resource id>": {"<metric name>": {"<agg>": [...]}}}`, with
/// `[timestamp, granularity seconds, value]` triples. Timestamps are whole
/// seconds (`2015-03-06T14:33:57+00:00`, the fraction dropped, as Gnocchi's
/// JSON encoder prints `numpy.datetime64`). NaN and infinite values (kept
/// with `fill=null`, a number, or `needed_overlap`) are `null`: Gnocchi
/// writes the non-JSON tokens `NaN`/`Infinity`.
pub fn render(output: &Output) -> Value {
    match output {
        Output::Aggregated(ms) => {
            json!({ "aggregated": ms.iter().map(triple).collect::<Vec<_>>() })
        }
        Output::Series(series) => {
            let mut out = Map::new();
            for s in series {
                let slot = match &s.key {
                    InputKey::Metric { id } => {
                        let by_agg = out.entry(id.clone()).or_insert_with(|| json!({}));
                        by_agg
                            .as_object_mut()
                            .map(|m| m.entry(s.aggregation.clone()).or_insert(Value::Null))
                    }
                    InputKey::Resource {
                        resource_id,
                        metric_name,
                    } => {
                        let by_metric = out.entry(resource_id.clone()).or_insert_with(|| json!({}));
                        by_metric
                            .as_object_mut()
                            .map(|m| m.entry(metric_name.clone()).or_insert_with(|| json!({})))
                            .and_then(Value::as_object_mut)
                            .map(|m| m.entry(s.aggregation.clone()).or_insert(Value::Null))
                    }
                };
                if let Some(slot) = slot {
                    push_measures(slot, &s.measures);
                }
            }
            Value::Object(out)
        }
    }
}

fn no_such_metric(names: &[String]) -> String {
    format!("Metric {} does not exist", py_repr(&json!(names)))
}

/// Python's `repr()` of an operation sub-tree, for Gnocchi's messages.
fn op_repr(op: &Op) -> String {
    match op {
        Op::Number(x) => py_float_repr(*x),
        other => py_repr(&other.to_json()),
    }
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
