//! `/v2/alarms`: create, show, replace, delete, state, list and history.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::*;
use crate::model::State;
use crate::query;
use crate::store::AlarmRecord;

pub(super) async fn create_alarm(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = member(&h)?;
    let body = parse_body(&body)?;
    let now_us = inner.now_us();
    let mut a = alarm_from_body(&inner, &who, &body, None, now_us).await?;
    a.state_reason = "Not evaluated yet".into();
    let _w = inner.write.lock().await;
    if over_quota(&inner, &a.project_id, &a.user_id)? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Alarm quota exceeded for user {} on project {}",
                a.user_id, a.project_id
            ),
        ));
    }
    a.version = inner.next_version();
    let h = history(&a, &who, "creation", Value::Object(model_dict(&a)), now_us);
    let out = inner.render(&a);
    let id = a.alarm_id.clone();
    inner.commit(vec![a], None, vec![h], Vec::new()).await?;
    tracing::info!(alarm_id = %id, project_id = %who.project, "alarm created");
    let mut resp = json_response(StatusCode::CREATED, &out);
    if let Ok(v) = HeaderValue::from_str(&format!("/v2/alarms/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub(super) async fn get_alarm(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = reader(&h)?;
    let a = visible(&inner, &who, &id)?;
    Ok(json_response(StatusCode::OK, &inner.render(&a)))
}

pub(super) async fn put_alarm(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = member(&h)?;
    let body = parse_body(&body)?;
    let now_us = inner.now_us();
    let old = visible(&inner, &who, &id)?;
    let mut a = alarm_from_body(&inner, &who, &body, Some(&old), now_us).await?;
    let _w = inner.write.lock().await;
    // Re-read under the lock: the evaluator may have moved it meanwhile.
    let old = visible(&inner, &who, &id)?;
    let state_given = body.get("state").is_some_and(|s| !s.is_null());
    if !state_given {
        a.state = old.state;
    }
    if a.state != old.state {
        a.state_reason = "Manually set via API".into();
    } else {
        a.state_reason = old.state_reason.clone();
        a.state_timestamp_us = old.state_timestamp_us;
    }
    a.version = inner.next_version();
    let before = model_dict(&old);
    let after = model_dict(&a);
    let change: Map<String, Value> = after
        .iter()
        .filter(|(k, v)| {
            k.as_str() != "timestamp"
                && k.as_str() != "state_timestamp"
                && before.get(*k) != Some(*v)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let hist = if change.is_empty() {
        Vec::new()
    } else {
        vec![history(
            &a,
            &who,
            "rule change",
            Value::Object(change),
            now_us,
        )]
    };
    let out = inner.render(&a);
    inner.commit(vec![a], None, hist, Vec::new()).await?;
    Ok(json_response(StatusCode::OK, &out))
}

pub(super) async fn delete_alarm(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = member(&h)?;
    let _w = inner.write.lock().await;
    let a = visible(&inner, &who, &id)?;
    let mut hist = history(
        &a,
        &who,
        "deletion",
        json!({"state": a.state.as_str()}),
        inner.now_us(),
    );
    hist.on_behalf_of = who.project.clone();
    inner
        .commit(Vec::new(), Some(id.clone()), vec![hist], Vec::new())
        .await?;
    tracing::info!(alarm_id = %id, "alarm deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn get_state(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = reader(&h)?;
    let a = visible(&inner, &who, &id)?;
    Ok(json_response(StatusCode::OK, &json!(a.state.as_str())))
}

pub(super) async fn put_state(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = member(&h)?;
    let v = parse_body(&body)?;
    let state = v
        .as_str()
        .and_then(State::parse)
        .ok_or_else(|| ApiError::bad("state invalid"))?;
    let _w = inner.write.lock().await;
    let old = visible(&inner, &who, &id)?;
    let now_us = inner.now_us();
    let mut a = (*old).clone();
    a.state = state;
    a.state_reason = "Manually set via API".into();
    a.state_timestamp_us = now_us;
    let hist = history(
        &a,
        &who,
        "state transition",
        json!({"state": state.as_str(), "state_reason": a.state_reason}),
        now_us,
    );
    inner.commit(vec![a], None, vec![hist], Vec::new()).await?;
    Ok(json_response(StatusCode::OK, &json!(state.as_str())))
}

/// Sort keys `GET /v2/alarms` accepts.
pub(super) const ALARM_SORT_KEYS: [&str; 11] = [
    "alarm_id",
    "enabled",
    "name",
    "type",
    "severity",
    "timestamp",
    "user_id",
    "project_id",
    "state",
    "repeat_actions",
    "state_timestamp",
];
pub(super) const ALARM_QUERY_FIELDS: [&str; 10] = [
    "all_projects",
    "user_id",
    "project_id",
    "type",
    "name",
    "enabled",
    "state",
    "severity",
    "timestamp",
    "repeat_actions",
];

pub(super) fn python_set(items: &[&str]) -> String {
    format!(
        "{{{}}}",
        items
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `sort=key:dir` (repeated), `limit`, `marker` over rendered documents.
pub(super) fn paginate(
    docs: &mut Vec<Value>,
    pairs: &[(String, String)],
    keys: &[&str],
    id_key: &str,
    default: query::OrderBy,
) -> ApiResult<()> {
    let mut order = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "sort") {
        let (key, dir) = v.split_once(':').unwrap_or((v.as_str(), "asc"));
        if !keys.contains(&key) {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute sort. Value: '{v}'. the sort parameter should be a pair of sort key and sort dir combined with ':', or only sort key specified and sort dir will be default 'asc', the supported sort keys are: ('{}')",
                keys.join("', '")
            )));
        }
        // Aodh's storage refuses other directions (with a 500).
        if !["asc", "desc"].contains(&dir) {
            return Err(ApiError::bad(
                "Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast",
            ));
        }
        order.push(query::OrderBy {
            field: key.to_owned(),
            desc: dir.eq_ignore_ascii_case("desc"),
        });
    }
    if order.is_empty() {
        order.push(default);
    }
    query::sort(docs, &order);
    if let Some((_, marker)) = pairs.iter().find(|(k, _)| k == "marker") {
        let pos = docs
            .iter()
            .position(|d| d.get(id_key).and_then(Value::as_str) == Some(marker.as_str()))
            .ok_or_else(|| {
                ApiError::bad(format!(
                    "Invalid input for field/attribute marker. Value: '{marker}'. Marker not found"
                ))
            })?;
        docs.drain(..=pos);
    }
    if let Some((_, l)) = pairs.iter().find(|(k, _)| k == "limit") {
        let n: i64 = l.trim().parse().map_err(|_| {
            ApiError::bad(format!(
                "Invalid input for field/attribute limit. Value: '{l}'. unable to convert to int. Error: invalid literal for int() with base 10: '{l}'"
            ))
        })?;
        // As in Aodh, 0 means no limit.
        if n < 0 {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute limit. Value: '{n}'. it should be a positive integer."
            )));
        }
        if n > 0 {
            docs.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
    }
    Ok(())
}

pub(super) fn simple_matches(terms: &[query::SimpleTerm], doc: &Value) -> ApiResult<bool> {
    for t in terms {
        let want = t.json_value().map_err(qerr)?;
        let have = doc.get(&t.field).cloned().unwrap_or(Value::Null);
        let eq = match (&have, &want) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a == b,
        };
        if !eq {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) async fn list_alarms(
    AxState(inner): St,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = reader(&h)?;
    let pairs = query_pairs(&q);
    let mut terms = query::parse_simple(&pairs).map_err(qerr)?;
    let fields: Vec<&str> = terms.iter().map(|t| t.field.as_str()).collect();
    if let Some(bad) = fields.iter().find(|f| !ALARM_QUERY_FIELDS.contains(f)) {
        let _ = bad;
        return Err(ApiError::bad(format!(
            "Invalid input for field/attribute field. Value: '{}'. only fields {} are allowed",
            python_set(&fields),
            python_set(&ALARM_QUERY_FIELDS)
        )));
    }
    if let Some(t) = terms.iter().find(|t| t.op != "eq") {
        return Err(ApiError::bad(format!(
            "Invalid input for field/attribute op. Value: '{{'{}'}}'. only operations {{'eq'}} are allowed",
            t.op
        )));
    }
    let all_projects = terms
        .iter()
        .find(|t| t.field == "all_projects")
        .map(|t| {
            matches!(
                t.value.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
        .unwrap_or(false);
    if all_projects && !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ));
    }
    terms.retain(|t| t.field != "all_projects");
    if !all_projects {
        match terms.iter().find(|t| t.field == "project_id") {
            None => terms.push(query::SimpleTerm {
                field: "project_id".into(),
                op: "eq".into(),
                value: who.project.clone(),
                type_: String::new(),
            }),
            Some(t) if !who.admin && t.value != who.project => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    format!("Not Authorized to access project {}", t.value),
                ));
            }
            Some(_) => {}
        }
    }
    let all: Vec<Arc<AlarmRecord>> = inner.alarms.read().values().cloned().collect();
    let mut docs = Vec::new();
    for a in all {
        let d = inner.render(&a);
        if simple_matches(&terms, &d)? {
            docs.push(d);
        }
    }
    paginate(
        &mut docs,
        &pairs,
        &ALARM_SORT_KEYS,
        "alarm_id",
        query::OrderBy {
            field: "timestamp".into(),
            desc: true,
        },
    )?;
    Ok(json_response(StatusCode::OK, &Value::Array(docs)))
}

pub(super) const HISTORY_SORT_KEYS: [&str; 8] = [
    "event_id",
    "alarm_id",
    "type",
    "timestamp",
    "severity",
    "user_id",
    "project_id",
    "on_behalf_of",
];

pub(super) async fn alarm_history(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = reader(&h)?;
    visible(&inner, &who, &id)?;
    let pairs = query_pairs(&q);
    let terms = query::parse_simple(&pairs).map_err(qerr)?;
    let id2 = id.clone();
    let rows = blocking(&inner, move |st| st.store.history_of(&id2)).await?;
    let mut docs = Vec::new();
    // Newest first, also among changes within one clock tick.
    for r in rows
        .iter()
        .rev()
        .filter(|r| who.admin || r.on_behalf_of == who.project)
    {
        let d = r.to_json();
        if history_term_match(&terms, &d)? {
            docs.push(d);
        }
    }
    paginate(
        &mut docs,
        &pairs,
        &HISTORY_SORT_KEYS,
        "event_id",
        query::OrderBy {
            field: "timestamp".into(),
            desc: true,
        },
    )?;
    Ok(json_response(StatusCode::OK, &Value::Array(docs)))
}

/// An ISO 8601 time as UTC (naive times are UTC, as in Aodh).
pub(super) fn parse_ts(s: &str) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.naive_utc())
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// History filters: equality on the entry's fields, and ranges on `timestamp`.
pub(super) fn history_term_match(terms: &[query::SimpleTerm], d: &Value) -> ApiResult<bool> {
    for t in terms {
        let field = match t.field.as_str() {
            "user" => "user_id",
            "project" => "project_id",
            "alarm_type" => "type",
            f => f,
        };
        if ![
            "type",
            "severity",
            "user_id",
            "project_id",
            "on_behalf_of",
            "alarm_id",
            "timestamp",
            "event_id",
        ]
        .contains(&field)
        {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute field. Value: '{}'. unrecognized field in query",
                t.field
            )));
        }
        let have = d.get(field).and_then(Value::as_str).unwrap_or("");
        let ok = if field == "timestamp" {
            let (a, b) = (parse_ts(have), parse_ts(&t.value));
            match (a, b, t.op.as_str()) {
                (Some(a), Some(b), "lt") => a < b,
                (Some(a), Some(b), "le") => a <= b,
                (Some(a), Some(b), "gt") => a > b,
                (Some(a), Some(b), "ge") => a >= b,
                (Some(a), Some(b), "eq") => a == b,
                (_, None, _) => {
                    return Err(ApiError::bad(format!("Invalid timestamp {}", t.value)));
                }
                _ => false,
            }
        } else {
            have == t.value
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
