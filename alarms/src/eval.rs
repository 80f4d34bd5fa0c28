//! Rule evaluation with Aodh's semantics (`aodh/evaluator/threshold.py`,
//! `gnocchi.py`, `prometheus.py`, `composite.py`): statistics are fetched for
//! the window, compared point by point, and the alarm moves only when the
//! comparison is unequivocal — all true → `alarm`, all false → `ok`, mixed →
//! unchanged unless the alarm had no data yet. The reason strings and
//! `reason_data` are Aodh's, because receivers parse them.
//!
//! This module decides; it does not store. [`evaluate`] returns an
//! [`Outcome`] that the service commits together with its notifications.

use serde_json::{Value, json};

use crate::model::{Composite, GnocchiCommon, Rule, State, Threshold, iso, python_float};
use crate::source::Source;
use crate::store::AlarmRecord;

/// What one evaluation decided for an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The new (or unchanged) state.
    pub state: State,
    /// Aodh's reason text.
    pub reason: String,
    /// Aodh's `reason_data`.
    pub reason_data: Value,
}

/// Statistics of a threshold-like rule.
#[derive(Debug, Clone, PartialEq)]
struct Stats {
    /// Unequivocal state, if any.
    state: Option<State>,
    /// State of the latest point when the points disagree.
    trending: Option<State>,
    values: Vec<f64>,
    outside: usize,
}

/// Not enough data, with Aodh's reason.
#[derive(Debug, Clone, PartialEq)]
struct Insufficient {
    reason: String,
    values: Vec<f64>,
}

fn insufficient<T>(reason: impl Into<String>) -> Result<T, Insufficient> {
    Err(Insufficient {
        reason: reason.into(),
        values: Vec::new(),
    })
}

fn process(cmp: &Threshold, values: Vec<f64>) -> Stats {
    let compared: Vec<bool> = values
        .iter()
        .map(|v| cmp.op.holds(*v, cmp.threshold))
        .collect();
    let all = compared.iter().all(|c| *c);
    let none = !compared.iter().any(|c| *c);
    let outside = compared.iter().filter(|c| **c).count();
    if all || none {
        Stats {
            state: Some(if all { State::Alarm } else { State::Ok }),
            trending: None,
            values,
            outside,
        }
    } else {
        let last = compared.last().copied().unwrap_or(false);
        Stats {
            state: None,
            trending: Some(if last { State::Alarm } else { State::Ok }),
            values,
            outside,
        }
    }
}

fn reason_data(disposition: &str, count: usize, most_recent: Option<f64>) -> Value {
    json!({"type": "threshold", "disposition": disposition, "count": count, "most_recent": most_recent})
}

/// Aodh's `ThresholdEvaluator._reason`.
fn threshold_reason(
    current: State,
    values: &[f64],
    state: State,
    outside: usize,
) -> (String, Value) {
    let (disposition, count) = if state == State::Ok {
        ("inside", values.len() - outside)
    } else {
        ("outside", outside)
    };
    let last = values.last().copied();
    let shown = last.map(python_float).unwrap_or_else(|| "None".into());
    let verb = if current != state {
        format!("Transition to {state}")
    } else {
        format!("Remaining as {state}")
    };
    (
        format!("{verb} due to {count} samples {disposition} threshold, most recent: {shown}"),
        reason_data(disposition, count, last),
    )
}

/// Python's `str.lstrip(chars)`: strips any of `chars` from the left (how
/// Aodh turns `rate:mean` into the metric's `mean`).
fn lstrip_chars<'a>(s: &'a str, chars: &str) -> &'a str {
    s.trim_start_matches(|c| chars.contains(c))
}

fn window(common: &GnocchiCommon, now_us: i64, lag_s: i64) -> (String, String) {
    let secs = common.granularity * (common.evaluation_periods + 1) + lag_s;
    (iso(now_us - secs * 1_000_000), iso(now_us))
}

/// `POST /v1/aggregates` as gnocchiclient's `aggregates.fetch` calls it
/// for Aodh (`needed_overlap=0`).
fn aggregates_path(start: &str, stop: &str, granularity: i64) -> String {
    let gran = granularity.to_string();
    format!(
        "/v1/aggregates?{}",
        qs(&[
            ("start", start),
            ("stop", stop),
            ("granularity", &gran),
            ("needed_overlap", "0"),
            ("details", "False"),
            ("use_history", "False"),
        ])
    )
}

fn qs(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Aodh's `GnocchiBase._sanitize`: the points at the rule's granularity, the
/// last `evaluation_periods` of them.
fn sanitize(common: &GnocchiCommon, body: &Value) -> Result<Vec<f64>, Insufficient> {
    let rows = match body {
        Value::Object(_) => body
            .pointer("/measures/aggregated")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    let values: Vec<f64> = rows
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r.get(1).and_then(Value::as_f64) == Some(common.granularity as f64))
                .filter_map(|r| r.get(2).and_then(Value::as_f64))
                .collect()
        })
        .unwrap_or_default();
    if values.is_empty() {
        return insufficient(format!(
            "No datapoint for granularity {}",
            common.granularity
        ));
    }
    let n = usize::try_from(common.evaluation_periods).unwrap_or(1);
    Ok(values[values.len().saturating_sub(n)..].to_vec())
}

fn gnocchi_error(status: u16, body: &Value) -> String {
    let text = body
        .get("description")
        .map(|d| match d {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| body.to_string());
    format!("{text} (HTTP {status})")
}

async fn gnocchi_stats(
    src: &dyn Source,
    rule: &Rule,
    now_us: i64,
    lag_s: i64,
) -> Result<Vec<f64>, Insufficient> {
    let failed = |e: String| Insufficient {
        reason: format!("alarm statistics retrieval failed: {e}"),
        values: Vec::new(),
    };
    match rule {
        Rule::GnocchiResources {
            common,
            metric,
            resource_id,
            ..
        } => {
            let (start, stop) = window(common, now_us, lag_s);
            let gran = common.granularity.to_string();
            let path = format!(
                "/v1/resource/generic/{}/metric/{}/measures?{}",
                urlencode(resource_id),
                urlencode(metric),
                qs(&[
                    ("start", &start),
                    ("stop", &stop),
                    ("aggregation", &common.aggregation_method),
                    ("granularity", &gran),
                ])
            );
            let (status, body) = src.gnocchi("GET", &path, None).await.map_err(failed)?;
            match status {
                200 => sanitize(common, &body),
                404 => {
                    let text = gnocchi_error(status, &body).to_lowercase();
                    if text.contains("metric") && !text.contains("aggregation") {
                        insufficient(format!(
                            "metric {metric} for resource {resource_id} does not exists"
                        ))
                    } else if text.contains("resource") && !text.contains("aggregation") {
                        insufficient(format!("resource {resource_id} does not exists"))
                    } else {
                        insufficient(format!(
                            "aggregation {} does not exist for metric {metric} of resource {resource_id}",
                            common.aggregation_method
                        ))
                    }
                }
                _ => Err(failed(gnocchi_error(status, &body))),
            }
        }
        Rule::GnocchiByMetrics { common, metrics } => {
            let (start, stop) = window(common, now_us, lag_s);
            let m = &common.aggregation_method;
            let mut ops = vec![json!("aggregate"), json!(m)];
            ops.extend(
                metrics
                    .iter()
                    .map(|id| json!(["metric", id, lstrip_chars(m, "rate:")])),
            );
            let path = aggregates_path(&start, &stop, common.granularity);
            let (status, body) = src
                .gnocchi("POST", &path, Some(json!({"operations": ops})))
                .await
                .map_err(failed)?;
            match status {
                200 => sanitize(common, &body),
                404 => {
                    let text = gnocchi_error(status, &body).to_lowercase();
                    if text.contains("metric") && !text.contains("aggregation") {
                        insufficient(format!(
                            "At least of metrics in {} does not exist",
                            crate::model::python_repr(&json!(metrics))
                        ))
                    } else {
                        insufficient(format!(
                            "aggregation {m} does not exist for at least one metrics in {}",
                            crate::model::python_repr(&json!(metrics))
                        ))
                    }
                }
                _ => Err(failed(gnocchi_error(status, &body))),
            }
        }
        Rule::GnocchiByResources {
            common,
            metric,
            resource_type,
            query,
        } => {
            let (start, stop) = window(common, now_us, lag_s);
            let m = &common.aggregation_method;
            let search: Value = serde_json::from_str(query).map_err(|e| failed(e.to_string()))?;
            let path = aggregates_path(&start, &stop, common.granularity);
            let body = json!({
                "operations": ["aggregate", m, ["metric", metric, lstrip_chars(m, "rate:")]],
                "search": search,
                "resource_type": resource_type,
            });
            let (status, body) = src
                .gnocchi("POST", &path, Some(body))
                .await
                .map_err(failed)?;
            match status {
                200 => sanitize(common, &body),
                404 => {
                    let text = gnocchi_error(status, &body).to_lowercase();
                    if text.contains("metric") && !text.contains("aggregation") {
                        insufficient(format!("metric {metric} does not exists"))
                    } else {
                        insufficient(format!(
                            "aggregation {m} does not exist for at least one metric of the query"
                        ))
                    }
                }
                _ => Err(failed(gnocchi_error(status, &body))),
            }
        }
        _ => insufficient("not a Gnocchi rule"),
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Evaluates one threshold-like rule (`ThresholdEvaluator.evaluate_rule`).
async fn threshold_rule(
    src: &dyn Source,
    rule: &Rule,
    now_us: i64,
    lag_s: i64,
) -> Result<Stats, Insufficient> {
    match rule {
        Rule::Prometheus {
            cmp,
            query,
            scope_to_project,
        } => {
            let values = src
                .promql(query, scope_to_project.as_deref(), now_us.div_euclid(1000))
                .await
                .map_err(|e| Insufficient {
                    reason: format!("alarm statistics retrieval failed: {e}"),
                    values: Vec::new(),
                })?;
            if values.is_empty() {
                return insufficient("datapoints are unknown");
            }
            Ok(process(cmp, values))
        }
        Rule::GnocchiResources { common, .. }
        | Rule::GnocchiByMetrics { common, .. }
        | Rule::GnocchiByResources { common, .. } => {
            let values = gnocchi_stats(src, rule, now_us, lag_s).await?;
            let n = usize::try_from(common.evaluation_periods).unwrap_or(1);
            if values.len() < n {
                return Err(Insufficient {
                    reason: format!("{} datapoints are unknown", common.evaluation_periods),
                    values,
                });
            }
            Ok(process(&common.cmp, values))
        }
        _ => insufficient("not a threshold rule"),
    }
}

/// Aodh's `ThresholdEvaluator._transition_alarm` (with `_refresh`'s rule that
/// an unchanged state is re-notified only with `repeat_actions`): the outcome
/// to commit, if any.
fn threshold_transition(alarm: &AlarmRecord, r: Result<Stats, Insufficient>) -> Option<Outcome> {
    let unknown = alarm.state == State::InsufficientData;
    let continuous = alarm.repeat_actions;
    let refresh = |state: State, reason: String, reason_data: Value| {
        (alarm.state != state || continuous).then_some(Outcome {
            state,
            reason,
            reason_data,
        })
    };
    match r {
        Err(ins) => {
            if !unknown {
                let last = ins.values.last().copied();
                let count = match &alarm.parsed {
                    Rule::Prometheus { .. } => ins.values.len(),
                    Rule::GnocchiResources { common, .. }
                    | Rule::GnocchiByMetrics { common, .. }
                    | Rule::GnocchiByResources { common, .. } => {
                        usize::try_from(common.evaluation_periods).unwrap_or(1)
                    }
                    _ => ins.values.len(),
                };
                refresh(
                    State::InsufficientData,
                    ins.reason,
                    reason_data("unknown", count, last),
                )
            } else if continuous {
                // Aodh re-notifies "insufficient data" with the threshold reason.
                let (reason, data) =
                    threshold_reason(alarm.state, &ins.values, State::InsufficientData, 0);
                refresh(State::InsufficientData, reason, data)
            } else {
                None
            }
        }
        Ok(s) => {
            if let Some(trending) = s.trending {
                if unknown || continuous {
                    let state = if unknown { trending } else { alarm.state };
                    let (reason, data) = threshold_reason(alarm.state, &s.values, state, s.outside);
                    return refresh(state, reason, data);
                }
                return None;
            }
            let state = s.state?;
            let (reason, data) = threshold_reason(alarm.state, &s.values, state, s.outside);
            refresh(state, reason, data)
        }
    }
}

/// A leaf of a composite rule after evaluation.
#[derive(Debug)]
struct Target {
    name: String,
    json: Value,
    state: State,
    trending: Option<State>,
}

/// The composite tree with leaves numbered depth-first (`rule1`, `rule2`, …).
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Leaf(usize),
}

fn number(c: &Composite, leaves: &mut Vec<(Rule, Value)>) -> Node {
    match c {
        Composite::And(items) => Node::And(items.iter().map(|i| number(i, leaves)).collect()),
        Composite::Or(items) => Node::Or(items.iter().map(|i| number(i, leaves)).collect()),
        Composite::Leaf(rule, json) => {
            leaves.push(((**rule).clone(), json.clone()));
            Node::Leaf(leaves.len() - 1)
        }
    }
}

/// Whether the tree says `want` (alarm: and=all, or=any; ok: the De Morgan
/// dual, and=any, or=all).
fn holds(n: &Node, t: &[Target], want: State) -> bool {
    match n {
        Node::Leaf(i) => t[*i].state == want,
        Node::And(items) if want == State::Alarm => items.iter().all(|i| holds(i, t, want)),
        Node::And(items) => items.iter().any(|i| holds(i, t, want)),
        Node::Or(items) if want == State::Alarm => items.iter().any(|i| holds(i, t, want)),
        Node::Or(items) => items.iter().all(|i| holds(i, t, want)),
    }
}

fn form(n: &Node, t: &[Target]) -> String {
    match n {
        Node::Leaf(i) => t[*i].name.clone(),
        Node::And(items) => format!(
            "({})",
            items
                .iter()
                .map(|i| form(i, t))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        Node::Or(items) => format!(
            "({})",
            items
                .iter()
                .map(|i| form(i, t))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

fn composite_reason(alarm: &AlarmRecord, new: State, tree: &Node, t: &[Target]) -> (String, Value) {
    let expression = form(tree, t);
    let mut causes = serde_json::Map::new();
    for target in t.iter().filter(|x| x.state == new) {
        causes.insert(target.name.clone(), target.json.clone());
    }
    let mut names: Vec<&String> = causes.keys().collect();
    names.sort();
    let rules = names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let description = match new {
        State::Alarm => "outside their threshold.",
        State::Ok => "inside their threshold.",
        State::InsufficientData => "state evaluated to unknown.",
    };
    let verb = if alarm.state != new {
        format!("transition to {new}")
    } else {
        format!("remaining as {new}")
    };
    (
        format!(
            "Composite rule alarm with composition form: {expression} {verb}, due to rules: {rules} {description}"
        ),
        json!({"type": "composite", "composition_form": expression, "causative_rules": causes}),
    )
}

async fn composite(
    src: &dyn Source,
    alarm: &AlarmRecord,
    c: &Composite,
    now_us: i64,
    lag_s: i64,
) -> Option<Outcome> {
    let mut leaves = Vec::new();
    let tree = number(c, &mut leaves);
    // Every leaf is evaluated, concurrently. (Aodh evaluates lazily; since an
    // unknown leaf satisfies neither side, evaluating all of them reaches the
    // same verdict with fewer round trips in sequence.)
    let results = futures::future::join_all(
        leaves
            .iter()
            .map(|(rule, _)| threshold_rule(src, rule, now_us, lag_s)),
    )
    .await;
    let mut targets: Vec<Target> = leaves
        .into_iter()
        .zip(results)
        .enumerate()
        .map(|(i, ((_, json), r))| {
            let (state, trending) = match r {
                Ok(s) => (s.state.unwrap_or(State::InsufficientData), s.trending),
                Err(_) => (State::InsufficientData, None),
            };
            Target {
                name: format!("rule{}", i + 1),
                json,
                state,
                trending,
            }
        })
        .collect();
    // Aodh's `_evaluate_sufficient`: a mixed leaf counts as its latest point
    // when the alarm has no data yet, else as the opposite of that point.
    for t in &mut targets {
        if let Some(tr) = t.trending {
            t.state = if alarm.state == State::InsufficientData {
                tr
            } else if tr == State::Alarm {
                State::Ok
            } else {
                State::Alarm
            };
        }
    }
    let refresh = |state: State| {
        let (reason, reason_data) = composite_reason(alarm, state, &tree, &targets);
        (alarm.state != state || alarm.repeat_actions).then_some(Outcome {
            state,
            reason,
            reason_data,
        })
    };
    if holds(&tree, &targets, State::Alarm) {
        return refresh(State::Alarm);
    }
    if holds(&tree, &targets, State::Ok) {
        return refresh(State::Ok);
    }
    if alarm.state != State::InsufficientData {
        return refresh(State::InsufficientData);
    }
    None
}

/// Evaluates a periodic alarm at `now_us`; `None` means nothing to record or
/// notify. `lag_s` widens Gnocchi windows (Aodh's `additional_ingestion_lag`).
pub async fn evaluate(
    src: &dyn Source,
    alarm: &AlarmRecord,
    now_us: i64,
    lag_s: i64,
) -> Option<Outcome> {
    match &alarm.parsed {
        Rule::Composite(c) => composite(src, alarm, c, now_us, lag_s).await,
        Rule::Event { .. } => None,
        rule => threshold_transition(alarm, threshold_rule(src, rule, now_us, lag_s).await),
    }
}

#[cfg(test)]
mod tests;
