//! The alarm vocabulary: states, severities, rule types and their fields, and
//! the Aodh v2 JSON shape of an alarm (defaults, validation, rendering).
//!
//! An alarm is kept as Aodh keeps it: the common fields plus one rule object
//! (`<type>_rule` in the API, `rule` in storage). The rule JSON is normalized
//! on the way in (defaults filled, types checked) and parsed into [`Rule`] for
//! the evaluator.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::event::EventQuery;
use crate::timecons::{self, TimeConstraint};

/// Aodh's three alarm states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// `"ok"`.
    Ok,
    /// `"alarm"`.
    Alarm,
    /// `"insufficient data"` (with the space, as Aodh spells it).
    InsufficientData,
}

impl State {
    /// All states, in Aodh's order.
    pub const ALL: [State; 3] = [State::Ok, State::Alarm, State::InsufficientData];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Alarm => "alarm",
            State::InsufficientData => "insufficient data",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The alarm field holding the actions run on entering this state.
    pub fn actions_field(self) -> &'static str {
        match self {
            State::Ok => "ok_actions",
            State::Alarm => "alarm_actions",
            State::InsufficientData => "insufficient_data_actions",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Aodh's severities.
pub const SEVERITIES: [&str; 3] = ["low", "moderate", "critical"];

/// Aodh's comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `lt`.
    Lt,
    /// `le`.
    Le,
    /// `eq` (Aodh's default).
    Eq,
    /// `ne`.
    Ne,
    /// `ge`.
    Ge,
    /// `gt`.
    Gt,
}

impl Cmp {
    const NAMES: [(&'static str, Cmp); 6] = [
        ("lt", Cmp::Lt),
        ("le", Cmp::Le),
        ("eq", Cmp::Eq),
        ("ne", Cmp::Ne),
        ("ge", Cmp::Ge),
        ("gt", Cmp::Gt),
    ];

    /// Parses `lt`…`gt`.
    pub fn parse(s: &str) -> Option<Cmp> {
        Cmp::NAMES.iter().find(|(n, _)| *n == s).map(|(_, c)| *c)
    }

    /// `value <op> threshold`, as Python's `operator` module compares floats.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
            Cmp::Eq => value == threshold,
            Cmp::Ne => value != threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Gt => value > threshold,
        }
    }
}

/// The comparison every threshold-like rule has.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The operator.
    pub op: Cmp,
    /// The threshold.
    pub threshold: f64,
}

/// The fields the three Gnocchi rule types share.
#[derive(Debug, Clone, PartialEq)]
pub struct GnocchiCommon {
    /// Comparison.
    pub cmp: Threshold,
    /// Aggregation method, e.g. `mean` or `rate:mean`.
    pub aggregation_method: String,
    /// Number of most recent periods that must all agree (1–100).
    pub evaluation_periods: i64,
    /// Seconds; must be a granularity of the metric's archive policy.
    pub granularity: i64,
}

/// A parsed rule, what the evaluator runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `prometheus`: every sample of an instant PromQL query is compared.
    Prometheus {
        /// Comparison.
        cmp: Threshold,
        /// PromQL.
        query: String,
        /// When set, every selector is restricted to this project.
        scope_to_project: Option<String>,
    },
    /// `gnocchi_resources_threshold`.
    GnocchiResources {
        /// Shared fields.
        common: GnocchiCommon,
        /// Metric name on the resource.
        metric: String,
        /// Resource id.
        resource_id: String,
        /// Resource type.
        resource_type: String,
    },
    /// `gnocchi_aggregation_by_metrics_threshold`.
    GnocchiByMetrics {
        /// Shared fields.
        common: GnocchiCommon,
        /// Metric ids.
        metrics: Vec<String>,
    },
    /// `gnocchi_aggregation_by_resources_threshold`.
    GnocchiByResources {
        /// Shared fields.
        common: GnocchiCommon,
        /// Metric name.
        metric: String,
        /// Resource type searched.
        resource_type: String,
        /// Gnocchi search filter as a JSON string.
        query: String,
    },
    /// `composite`: an and/or tree of the threshold types.
    Composite(Composite),
    /// `event`: matches incoming events.
    Event {
        /// fnmatch glob.
        event_type: String,
        /// All must hold.
        query: Vec<EventQuery>,
    },
}

/// A node of a composite rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Composite {
    /// All sub-rules.
    And(Vec<Composite>),
    /// Any sub-rule.
    Or(Vec<Composite>),
    /// A threshold-type rule, with its JSON for `reason_data.causative_rules`.
    Leaf(Box<Rule>, Value),
}

/// The rule types Aodh knows, in its plugin order.
pub const RULE_TYPES: [&str; 6] = [
    "prometheus",
    "gnocchi_resources_threshold",
    "gnocchi_aggregation_by_metrics_threshold",
    "gnocchi_aggregation_by_resources_threshold",
    "composite",
    "event",
];

/// What a rule may see while it is validated: who creates it and what Gnocchi
/// offers.
#[derive(Debug, Clone)]
pub struct RuleContext<'a> {
    /// The creating project when the caller is not admin (Aodh scopes
    /// prometheus queries and Gnocchi searches to it).
    pub scope_project: Option<&'a str>,
    /// Gnocchi's aggregation methods (from `/v1/capabilities`).
    pub aggregation_methods: &'a [String],
}

/// A client error with Aodh's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// How WSME reports a value that does not fit an attribute.
fn bad_field(field: &str, value: &Value, why: &str) -> Invalid {
    Invalid(format!(
        "Invalid input for field/attribute {field}. Value: '{}'. {why}",
        python_repr(value)
    ))
}

fn missing(field: &str) -> Invalid {
    Invalid(format!(
        "Invalid input for field/attribute {field}. Value: 'None'. Mandatory field missing."
    ))
}

/// Python's `str()` of a JSON value (how WSME quotes a value in errors) and
/// of a float (how Aodh's reasons print numbers).
pub use altimeter_model::pyfmt::{float_repr as python_float, str as python_repr};

fn take_f64(o: &Map<String, Value>, field: &str) -> Result<f64, Invalid> {
    match o.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| bad_field(field, &o[field], "Wrong type. Expected 'float'")),
        Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| {
            bad_field(
                field,
                &o[field],
                &format!("Wrong type. Expected 'float', got '{}'", "str"),
            )
        }),
        Some(v) => Err(bad_field(field, v, "Wrong type. Expected 'float'")),
    }
}

fn take_text(o: &Map<String, Value>, field: &str) -> Result<String, Invalid> {
    match o.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(bad_field(field, v, "Wrong type. Expected 'str'")),
    }
}

fn take_int(
    o: &Map<String, Value>,
    field: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, Invalid> {
    let v = match o.get(field) {
        None | Some(Value::Null) => return Ok(default),
        Some(v) => v,
    };
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let Some(n) = n else {
        return Err(bad_field(field, v, "Wrong type. Expected 'int'"));
    };
    if n < min {
        return Err(bad_field(
            field,
            v,
            &format!("Value should be greater or equal to {min}"),
        ));
    }
    if n > max {
        return Err(bad_field(
            field,
            v,
            &format!("Value should be lower or equal to {max}"),
        ));
    }
    Ok(n)
}

fn take_enum(
    o: &Map<String, Value>,
    field: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, Invalid> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(s.clone()),
        Some(v) => Err(bad_field(
            field,
            v,
            &format!("Value should be one of: {}", allowed.join(", ")),
        )),
    }
}

const OPS: [&str; 6] = ["lt", "le", "eq", "ne", "ge", "gt"];

fn threshold_of(
    o: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<Threshold, Invalid> {
    let op = take_enum(o, "comparison_operator", &OPS, "eq")?;
    let threshold = take_f64(o, "threshold")?;
    out.insert("comparison_operator".into(), json!(op));
    out.insert("threshold".into(), json!(threshold));
    Ok(Threshold {
        op: Cmp::parse(&op).unwrap_or(Cmp::Eq),
        threshold,
    })
}

fn gnocchi_common(
    o: &Map<String, Value>,
    ctx: &RuleContext<'_>,
    out: &mut Map<String, Value>,
) -> Result<GnocchiCommon, Invalid> {
    let cmp = threshold_of(o, out)?;
    let aggregation_method = take_text(o, "aggregation_method")?;
    let evaluation_periods = take_int(o, "evaluation_periods", 1, 1, 100)?;
    let granularity = take_int(o, "granularity", 60, 1, 3600 * 24 * 365)?;
    if !ctx.aggregation_methods.contains(&aggregation_method) {
        return invalid(format!(
            "aggregation_method should be in {} not {aggregation_method}",
            python_repr(&json!(ctx.aggregation_methods))
        ));
    }
    out.insert("aggregation_method".into(), json!(aggregation_method));
    out.insert("evaluation_periods".into(), json!(evaluation_periods));
    out.insert("granularity".into(), json!(granularity));
    Ok(GnocchiCommon {
        cmp,
        aggregation_method,
        evaluation_periods,
        granularity,
    })
}

fn reject_unknown(o: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), Invalid> {
    for k in o.keys() {
        if !known.contains(&k.as_str()) {
            return invalid(format!("Unknown attribute for argument data.{what}: {k}"));
        }
    }
    Ok(())
}

/// Validates a rule object of `type_` and returns it parsed and normalized
/// (defaults filled in, the way Aodh stores and shows it).
pub fn parse_rule(type_: &str, v: &Value, ctx: &RuleContext<'_>) -> Result<(Rule, Value), Invalid> {
    let field = format!("{type_}_rule");
    let Value::Object(o) = v else {
        return Err(bad_field(&field, v, "Wrong type. Expected 'dict'"));
    };
    let mut out = Map::new();
    let common_keys = [
        "comparison_operator",
        "threshold",
        "aggregation_method",
        "evaluation_periods",
        "granularity",
    ];
    let rule = match type_ {
        "prometheus" => {
            reject_unknown(
                o,
                &[
                    "comparison_operator",
                    "threshold",
                    "query",
                    "scope_to_project",
                ],
                &field,
            )?;
            let cmp = threshold_of(o, &mut out)?;
            let query = take_text(o, "query")?;
            out.insert("query".into(), json!(query));
            let scope = ctx.scope_project.map(str::to_owned);
            if let Some(p) = &scope {
                out.insert("scope_to_project".into(), json!(p));
            }
            Rule::Prometheus {
                cmp,
                query,
                scope_to_project: scope,
            }
        }
        "gnocchi_resources_threshold" => {
            let known: Vec<&str> = common_keys
                .iter()
                .copied()
                .chain(["metric", "resource_id", "resource_type"])
                .collect();
            reject_unknown(o, &known, &field)?;
            let common = gnocchi_common(o, ctx, &mut out)?;
            let metric = take_text(o, "metric")?;
            let resource_id = take_text(o, "resource_id")?;
            let resource_type = take_text(o, "resource_type")?;
            out.insert("metric".into(), json!(metric));
            out.insert("resource_id".into(), json!(resource_id));
            out.insert("resource_type".into(), json!(resource_type));
            Rule::GnocchiResources {
                common,
                metric,
                resource_id,
                resource_type,
            }
        }
        "gnocchi_aggregation_by_metrics_threshold" => {
            let known: Vec<&str> = common_keys.iter().copied().chain(["metrics"]).collect();
            reject_unknown(o, &known, &field)?;
            let common = gnocchi_common(o, ctx, &mut out)?;
            let metrics = match o.get("metrics") {
                None | Some(Value::Null) => return Err(missing("metrics")),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|m| match m {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(bad_field("metrics", other, "Wrong type. Expected 'str'")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(other) => {
                    return Err(bad_field("metrics", other, "Wrong type. Expected '[str]'"));
                }
            };
            out.insert("metrics".into(), json!(metrics));
            Rule::GnocchiByMetrics { common, metrics }
        }
        "gnocchi_aggregation_by_resources_threshold" => {
            let known: Vec<&str> = common_keys
                .iter()
                .copied()
                .chain(["metric", "resource_type", "query"])
                .collect();
            reject_unknown(o, &known, &field)?;
            let common = gnocchi_common(o, ctx, &mut out)?;
            let metric = take_text(o, "metric")?;
            let resource_type = take_text(o, "resource_type")?;
            let query = take_text(o, "query")?;
            let parsed: Value = serde_json::from_str(&query)
                .map_err(|e| Invalid(format!("Query value {query} is not a valid JSON: {e}")))?;
            // Aodh ANDs the creator's project into a non-admin's search.
            let query = match ctx.scope_project {
                Some(p) => {
                    let scope = json!({"=": {"created_by_project_id": p}});
                    let q = if parsed.as_object().is_some_and(|m| m.is_empty()) {
                        scope
                    } else {
                        json!({"and": [scope, parsed]})
                    };
                    q.to_string()
                }
                None => query,
            };
            out.insert("metric".into(), json!(metric));
            out.insert("resource_type".into(), json!(resource_type));
            out.insert("query".into(), json!(query));
            Rule::GnocchiByResources {
                common,
                metric,
                resource_type,
                query,
            }
        }
        "composite" => {
            let (c, norm) = parse_composite(v, ctx, 0)?;
            return Ok((Rule::Composite(c), norm));
        }
        "event" => {
            reject_unknown(o, &["event_type", "query"], &field)?;
            let event_type = match o.get("event_type") {
                None | Some(Value::Null) => "*".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(bad_field("event_type", other, "Wrong type. Expected 'str'"));
                }
            };
            let query: Vec<EventQuery> = match o.get("query") {
                None | Some(Value::Null) => Vec::new(),
                Some(q) => serde_json::from_value(q.clone())
                    .map_err(|e| bad_field("query", q, &e.to_string()))?,
            };
            crate::event::validate_rule(&event_type, &query).map_err(Invalid)?;
            out.insert("event_type".into(), json!(event_type));
            out.insert(
                "query".into(),
                serde_json::to_value(&query).unwrap_or(Value::Null),
            );
            Rule::Event { event_type, query }
        }
        other => return invalid(format!("Unsupported alarm type {other}")),
    };
    Ok((rule, Value::Object(out)))
}

fn parse_composite(
    v: &Value,
    ctx: &RuleContext<'_>,
    depth: usize,
) -> Result<(Composite, Value), Invalid> {
    if depth > 32 {
        return invalid("composite rule nests too deeply");
    }
    let Value::Object(o) = v else {
        return Err(bad_field(
            "composite_rule",
            v,
            "Wrong type. Expected 'dict'",
        ));
    };
    if o.len() == 1
        && let Some((k, sub)) = o.iter().next()
        && (k == "and" || k == "or")
    {
        let Value::Array(items) = sub else {
            return invalid(format!("Composite rule field '{k}' must be a list"));
        };
        if items.is_empty() {
            return invalid(format!("Composite rule field '{k}' must not be empty"));
        }
        let mut nodes = Vec::with_capacity(items.len());
        let mut norm = Vec::with_capacity(items.len());
        for it in items {
            let (n, j) = parse_composite(it, ctx, depth + 1)?;
            nodes.push(n);
            norm.push(j);
        }
        let node = if k == "and" {
            Composite::And(nodes)
        } else {
            Composite::Or(nodes)
        };
        return Ok((node, json!({ k.as_str(): norm })));
    }
    let Some(Value::String(t)) = o.get("type") else {
        return invalid("type must be set in every rule");
    };
    if !RULE_TYPES[..4].contains(&t.as_str()) {
        return invalid(format!("Unsupported sub-rule type {t} in composite rule"));
    }
    let mut inner = o.clone();
    inner.remove("type");
    let (rule, mut norm) = parse_rule(t, &Value::Object(inner), ctx)?;
    if let Value::Object(m) = &mut norm {
        m.insert("type".into(), json!(t));
    }
    Ok((Composite::Leaf(Box::new(rule), norm.clone()), norm))
}

/// Parses a stored (already normalized) rule without Gnocchi validation.
pub fn reparse_rule(type_: &str, v: &Value) -> Result<Rule, Invalid> {
    // The stored rule already carries any project scope: pass it through.
    fn collect_methods(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(m)) = o.get("aggregation_method") {
                    out.push(m.clone());
                }
                o.values().for_each(|x| collect_methods(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| collect_methods(x, out)),
            _ => {}
        }
    }
    let mut methods = Vec::new();
    collect_methods(v, &mut methods);
    let scope = v
        .get("scope_to_project")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let ctx = RuleContext {
        scope_project: None,
        aggregation_methods: &methods,
    };
    let (mut rule, _) = parse_rule(type_, v, &ctx)?;
    if let Rule::Prometheus {
        scope_to_project, ..
    } = &mut rule
    {
        *scope_to_project = scope;
    }
    Ok(rule)
}

/// Whether a rule type is evaluated periodically (all but `event`).
pub fn is_periodic(type_: &str) -> bool {
    type_ != "event"
}

/// The default description Aodh gives a rule when the user gives none.
pub fn default_description(type_: &str, rule: &Value) -> String {
    let s = |k: &str| rule.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let f = |k: &str| {
        rule.get(k)
            .and_then(Value::as_f64)
            .map(python_float)
            .unwrap_or_default()
    };
    match type_ {
        "gnocchi_resources_threshold"
        | "gnocchi_aggregation_by_metrics_threshold"
        | "gnocchi_aggregation_by_resources_threshold" => format!(
            "Alarm when {} is {} a {} of {} over {} seconds",
            if type_ == "gnocchi_aggregation_by_metrics_threshold" {
                rule.get("metrics").map(python_repr).unwrap_or_default()
            } else {
                s("metric")
            },
            s("comparison_operator"),
            s("aggregation_method"),
            f("threshold"),
            rule.get("granularity")
                .and_then(Value::as_i64)
                .unwrap_or(60)
                * rule
                    .get("evaluation_periods")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
        ),
        "event" => format!("Alarm when {} event occurred.", s("event_type")),
        _ => format!("{type_} alarm rule"),
    }
}

/// Time in Aodh's rendering: `datetime.isoformat()` of a naive UTC time
/// (`2026-11-22T10:00:00.123456`, no fraction when it is zero).
pub fn iso(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    if micros == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", dt.format("%Y-%m-%dT%H:%M:%S"))
    }
}

/// Validates a list of time constraints given as JSON; fills descriptions.
pub fn parse_time_constraints(v: Option<&Value>) -> Result<Vec<TimeConstraint>, Invalid> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        return Err(bad_field(
            "time_constraints",
            v,
            "Wrong type. Expected '[AlarmTimeConstraint]'",
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let Value::Object(o) = it else {
            return Err(bad_field(
                "time_constraints",
                it,
                "Wrong type. Expected 'AlarmTimeConstraint'",
            ));
        };
        reject_unknown(
            o,
            &["name", "description", "start", "duration", "timezone"],
            "time_constraints",
        )?;
        let name = take_text(o, "name")?;
        let start = take_text(o, "start")?;
        let duration = take_int(o, "duration", i64::MIN, 0, i64::MAX)?;
        if duration == i64::MIN {
            return Err(missing("duration"));
        }
        let timezone = match o.get("timezone") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(bad_field("timezone", other, "Wrong type. Expected 'str'")),
        };
        let mut tc = TimeConstraint {
            name,
            description: String::new(),
            start,
            duration,
            timezone,
        };
        tc.description = match o.get("description") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => timecons::default_description(&tc),
        };
        out.push(tc);
    }
    timecons::validate(&out).map_err(Invalid)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> (Vec<String>,) {
        (vec![
            "mean".to_owned(),
            "max".to_owned(),
            "rate:mean".to_owned(),
        ],)
    }

    #[test]
    fn iso_matches_python_isoformat() {
        assert_eq!(iso(1_700_000_000_000_000), "2023-11-14T22:13:20");
        assert_eq!(iso(1_700_000_000_000_042), "2023-11-14T22:13:20.000042");
    }

    #[test]
    fn gnocchi_rule_defaults_and_validation() {
        let (m,) = ctx();
        let c = RuleContext {
            scope_project: None,
            aggregation_methods: &m,
        };
        let (rule, norm) = parse_rule(
            "gnocchi_resources_threshold",
            &json!({"metric": "cpu", "resource_id": "r", "resource_type": "instance",
                    "threshold": 70, "aggregation_method": "mean"}),
            &c,
        )
        .unwrap();
        assert_eq!(norm["comparison_operator"], "eq");
        assert_eq!(norm["granularity"], 60);
        assert_eq!(norm["evaluation_periods"], 1);
        assert_eq!(norm["threshold"], 70.0);
        let Rule::GnocchiResources { common, .. } = rule else {
            panic!("wrong rule {rule:?}")
        };
        assert_eq!(common.cmp.op, Cmp::Eq);
        let e = parse_rule(
            "gnocchi_resources_threshold",
            &json!({"metric": "cpu", "resource_id": "r", "resource_type": "instance",
                    "threshold": 70, "aggregation_method": "median"}),
            &c,
        )
        .unwrap_err();
        assert!(
            e.0.starts_with(
                "aggregation_method should be in ['mean', 'max', 'rate:mean'] not median"
            ),
            "{e}"
        );
        let e = parse_rule("prometheus", &json!({"query": "up"}), &c).unwrap_err();
        assert!(
            e.0.contains("threshold") && e.0.contains("Mandatory field missing"),
            "{e}"
        );
        let e = parse_rule(
            "gnocchi_resources_threshold",
            &json!({"metric": "cpu", "resource_id": "r", "resource_type": "instance",
                    "threshold": 1, "aggregation_method": "mean", "evaluation_periods": 101}),
            &c,
        )
        .unwrap_err();
        assert!(e.0.contains("lower or equal to 100"), "{e}");
    }

    #[test]
    fn prometheus_rule_is_scoped_for_non_admins() {
        let (m,) = ctx();
        let c = RuleContext {
            scope_project: Some("p1"),
            aggregation_methods: &m,
        };
        let (rule, norm) = parse_rule(
            "prometheus",
            &json!({"query": "up", "threshold": 1, "comparison_operator": "lt"}),
            &c,
        )
        .unwrap();
        assert_eq!(norm["scope_to_project"], "p1");
        assert_eq!(reparse_rule("prometheus", &norm).unwrap(), rule);
    }

    #[test]
    fn composite_rules_nest() {
        let (m,) = ctx();
        let c = RuleContext {
            scope_project: None,
            aggregation_methods: &m,
        };
        let v = json!({"or": [
            {"type": "prometheus", "query": "a", "threshold": 1, "comparison_operator": "gt"},
            {"and": [
                {"type": "prometheus", "query": "b", "threshold": 2},
                {"type": "gnocchi_aggregation_by_metrics_threshold", "metrics": ["m1"],
                 "threshold": 3, "aggregation_method": "max"}
            ]}
        ]});
        let (rule, norm) = parse_rule("composite", &v, &c).unwrap();
        let Rule::Composite(Composite::Or(items)) = &rule else {
            panic!("{rule:?}")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(norm["or"][1]["and"][0]["comparison_operator"], "eq");
        assert_eq!(reparse_rule("composite", &norm).unwrap(), rule);
        assert!(parse_rule("composite", &json!({"and": []}), &c).is_err());
        assert!(parse_rule("composite", &json!({"and": [{"type": "event"}]}), &c).is_err());
    }
}
