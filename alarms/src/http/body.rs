//! Reading an alarm from a POST/PUT body: Aodh's fields, defaults, ownership, actions; history details; quotas.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::*;
use crate::Inner;
use crate::model::{self, RULE_TYPES, RuleContext, SEVERITIES, State};
use crate::store::{AlarmRecord, HistoryEntry};

pub(super) const ALLOWED_SCHEMES: [&str; 4] = ["http", "https", "log", "mailto"];
pub(super) const SETTABLE: [&str; 14] = [
    "name",
    "description",
    "type",
    "enabled",
    "state",
    "severity",
    "ok_actions",
    "alarm_actions",
    "insufficient_data_actions",
    "repeat_actions",
    "time_constraints",
    "project_id",
    "user_id",
    "state_reason",
];
/// Read-only fields clients echo back on PUT (the CLI does GET-merge-PUT).
pub(super) const ECHOED: [&str; 4] = [
    "alarm_id",
    "timestamp",
    "state_timestamp",
    "evaluate_timestamp",
];

pub(super) fn opt_bool(o: &Map<String, Value>, k: &str, default: bool) -> ApiResult<bool> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s))
            if matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on") =>
        {
            Ok(true)
        }
        Some(Value::String(s))
            if matches!(
                s.to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            ) =>
        {
            Ok(false)
        }
        Some(v) => Err(ApiError::bad(format!(
            "Invalid input for field/attribute {k}. Value: '{}'. Wrong type. Expected 'bool'",
            model::python_repr(v)
        ))),
    }
}

pub(super) fn opt_text(o: &Map<String, Value>, k: &str) -> ApiResult<Option<String>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ApiError::bad(format!(
            "Invalid input for field/attribute {k}. Value: '{}'. Wrong type. Expected 'str'",
            model::python_repr(v)
        ))),
    }
}

pub(super) fn actions(
    o: &Map<String, Value>,
    k: &str,
    who: &Identity,
    max: i64,
) -> ApiResult<Vec<String>> {
    let list = match o.get(k) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute {k}. Value: '{}'. Wrong type. Expected '[str]'",
                model::python_repr(v)
            )));
        }
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in list {
        let Value::String(s) = a else {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute {k}. Value: '{}'. Wrong type. Expected '[str]'",
                model::python_repr(&Value::Array(list.clone()))
            )));
        };
        // Duplicates are dropped silently, as Aodh does.
        if !seen.insert(s.clone()) {
            continue;
        }
        let Some((scheme, _)) = s.split_once(':') else {
            return Err(ApiError::bad(format!("Unsupported action {s}")));
        };
        let scheme = scheme.to_ascii_lowercase();
        if !ALLOWED_SCHEMES.contains(&scheme.as_str()) {
            return Err(ApiError::bad(format!("Unsupported action {s}")));
        }
        if (scheme == "http" || scheme == "https") && reqwest::Url::parse(s).is_err() {
            return Err(ApiError::bad(format!("Unable to parse action {s}")));
        }
        if scheme == "log" && !who.admin {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("You are not authorized to create action: {s}"),
            ));
        }
        out.push(s.clone());
    }
    if max > 0 && out.len() as i64 > max {
        return Err(ApiError::bad(format!(
            "{k} count exceeds maximum value {max}"
        )));
    }
    Ok(out)
}

/// Builds the alarm a POST or PUT body describes. `old` is the alarm a PUT
/// replaces.
pub(super) async fn alarm_from_body(
    inner: &Inner,
    who: &Identity,
    body: &Value,
    old: Option<&AlarmRecord>,
    now_us: i64,
) -> ApiResult<AlarmRecord> {
    let Value::Object(o) = body else {
        return Err(ApiError::bad(
            "Invalid input for field/attribute data. Expected an alarm object",
        ));
    };
    let name = opt_text(o, "name")?.ok_or_else(|| {
        ApiError::bad(
            "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing.",
        )
    })?;
    let type_ = opt_text(o, "type")?.ok_or_else(|| {
        ApiError::bad(
            "Invalid input for field/attribute type. Value: 'None'. Mandatory field missing.",
        )
    })?;
    if !RULE_TYPES.contains(&type_.as_str()) {
        return Err(ApiError::bad(format!(
            "Invalid input for field/attribute type. Value: '{type_}'. Value should be one of: {}",
            RULE_TYPES.join(", ")
        )));
    }
    for k in o.keys() {
        let known = SETTABLE.contains(&k.as_str())
            || ECHOED.contains(&k.as_str())
            || (k.ends_with("_rule") && RULE_TYPES.contains(&k.trim_end_matches("_rule")));
        if !known {
            return Err(ApiError::bad(format!(
                "Unknown attribute for argument data: {k}"
            )));
        }
    }
    let rule_key = format!("{type_}_rule");
    let rule_in = o
        .get(&rule_key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::bad(format!("{rule_key} must be set for {type_} type alarm")))?;
    if let Some(other) = o
        .keys()
        .find(|k| k.ends_with("_rule") && **k != rule_key && !o[*k].is_null())
    {
        let (a, b) = if other.as_str() < rule_key.as_str() {
            (other.as_str(), rule_key.as_str())
        } else {
            (rule_key.as_str(), other.as_str())
        };
        return Err(ApiError::bad(format!(
            "{a} and {b} cannot be set at the same time"
        )));
    }
    let state = match opt_text(o, "state")? {
        None => old.map(|a| a.state).unwrap_or(State::InsufficientData),
        Some(s) => State::parse(&s).ok_or_else(|| {
            ApiError::bad(format!(
                "Invalid input for field/attribute state. Value: '{s}'. Value should be one of: ok, alarm, insufficient data"
            ))
        })?,
    };
    let severity = match opt_text(o, "severity")? {
        None => "low".to_owned(),
        Some(s) if SEVERITIES.contains(&s.as_str()) => s,
        Some(s) => {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute severity. Value: '{s}'. Value should be one of: low, moderate, critical"
            )));
        }
    };
    // Ownership: non-admins may only name themselves.
    let owner = |field: &str, caller: &str, previous: Option<&str>| -> ApiResult<String> {
        match opt_text(o, field)? {
            Some(v) if !who.admin && v != caller => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "Not Authorized to access {} {v}",
                    field.trim_end_matches("_id")
                ),
            )),
            Some(v) => Ok(v),
            None => Ok(previous.unwrap_or(caller).to_owned()),
        }
    };
    let project_id = owner(
        "project_id",
        &who.project,
        old.map(|a| a.project_id.as_str()),
    )?;
    let user_id = owner("user_id", &who.user, old.map(|a| a.user_id.as_str()))?;
    // Aodh scopes a non-admin's prometheus query and Gnocchi search to the
    // caller's project.
    let scope = (!who.admin).then_some(who.project.as_str());
    let needs_gnocchi = rule_in.to_string().contains("aggregation_method");
    let methods = if needs_gnocchi {
        crate::source::aggregation_methods(inner.source.as_ref())
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("Gnocchi is unavailable: {e}"),
                )
            })?
    } else {
        Vec::new()
    };
    let ctx = RuleContext {
        scope_project: scope,
        aggregation_methods: &methods,
    };
    // On PUT the stored rule already carries its scope: keep it as given.
    let (parsed, rule) = match old {
        Some(prev) if prev.type_ == type_ && prev.rule == *rule_in => {
            (prev.parsed.clone(), prev.rule.clone())
        }
        _ => model::parse_rule(&type_, rule_in, &ctx)?,
    };
    let time_constraints = model::parse_time_constraints(o.get("time_constraints"))?;
    let max = inner.cfg.alarm_max_actions;
    let record = AlarmRecord {
        alarm_id: old
            .map(|a| a.alarm_id.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        name,
        description: opt_text(o, "description")?.unwrap_or_default(),
        type_,
        enabled: opt_bool(o, "enabled", true)?,
        state,
        state_reason: String::new(),
        severity,
        ok_actions: actions(o, "ok_actions", who, max)?,
        alarm_actions: actions(o, "alarm_actions", who, max)?,
        insufficient_data_actions: actions(o, "insufficient_data_actions", who, max)?,
        repeat_actions: opt_bool(o, "repeat_actions", false)?,
        time_constraints,
        project_id,
        user_id,
        timestamp_us: now_us,
        state_timestamp_us: now_us,
        evaluate_timestamp_us: old.map_or(Some(now_us), |a| a.evaluate_timestamp_us),
        rule,
        parsed,
        version: 0,
    };
    Ok(record)
}

/// What Aodh records as a change's detail: the model dict (`rule`, not
/// `<type>_rule`).
pub(super) fn model_dict(a: &AlarmRecord) -> Map<String, Value> {
    let Value::Object(mut m) = a.to_json() else {
        return Map::new();
    };
    m.remove(&format!("{}_rule", a.type_));
    m.remove("evaluate_timestamp");
    m.insert("rule".into(), a.rule.clone());
    m
}

pub(super) fn history(
    a: &AlarmRecord,
    who: &Identity,
    type_: &str,
    detail: Value,
    now_us: i64,
) -> HistoryEntry {
    HistoryEntry {
        event_id: uuid::Uuid::new_v4().to_string(),
        alarm_id: a.alarm_id.clone(),
        type_: type_.into(),
        detail: detail.to_string(),
        project_id: who.project.clone(),
        user_id: who.user.clone(),
        on_behalf_of: a.project_id.clone(),
        timestamp_us: now_us,
        severity: a.severity.clone(),
    }
}

pub(super) fn over_quota(inner: &Inner, project: &str, user: &str) -> ApiResult<bool> {
    let (mut p, mut u) = (0i64, 0i64);
    for a in inner.alarms.read().values() {
        p += i64::from(a.project_id == project);
        u += i64::from(a.user_id == user);
    }
    let project_limit = inner
        .store
        .quota(project, "alarms")?
        .unwrap_or(inner.cfg.project_alarm_quota);
    let user_limit = inner.cfg.user_alarm_quota;
    Ok((project_limit >= 0 && p >= project_limit) || (user_limit >= 0 && u >= user_limit))
}
