//! `POST /v2/query/alarms` and `/v2/query/alarms/history`: Aodh's complex query.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::query;
use crate::store::{AlarmRecord, HistoryEntry};

/// Parses a complex query body; a non-admin's filter is checked for other
/// projects (401) and restricted to `scope_field == caller's project`.
pub(super) fn complex(
    body: &Value,
    fields: &[&str],
    ts: &[&str],
    who: &Identity,
    scope_field: &str,
) -> ApiResult<(Option<query::Filter>, Vec<query::OrderBy>, Option<usize>)> {
    let text = |k: &str| -> ApiResult<Option<String>> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // Accept an object too (some clients send it unquoted).
            Some(v @ (Value::Object(_) | Value::Array(_))) => Ok(Some(v.to_string())),
            Some(v) => Err(ApiError::bad(format!("{k} must be a JSON string, got {v}"))),
        }
    };
    let filter = match text("filter")? {
        Some(f) => Some(query::parse_filter(&f, fields, ts).map_err(qerr)?),
        None => None,
    };
    let filter = if who.admin {
        filter
    } else {
        if let Some(f) = &filter {
            query::check_visibility(f, scope_field, &who.project).map_err(qerr)?;
        }
        Some(query::restrict(filter, scope_field, &who.project))
    };
    let order = match text("orderby")? {
        Some(o) => query::parse_orderby(&o, fields).map_err(qerr)?,
        None => query::default_order(),
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v.as_i64().ok_or_else(|| ApiError::bad(format!("Invalid input for field/attribute limit. Value: '{v}'. Wrong type. Expected 'int'")))?;
            query::check_limit(Some(n)).map_err(qerr)?;
            Some(usize::try_from(n).unwrap_or(usize::MAX))
        }
    };
    Ok((filter, order, limit))
}

pub(super) fn select(
    mut docs: Vec<Value>,
    filter: &Option<query::Filter>,
    order: &[query::OrderBy],
    limit: Option<usize>,
) -> Value {
    if let Some(f) = filter {
        docs.retain(|d| query::matches(f, d));
    }
    query::sort(&mut docs, order);
    if let Some(l) = limit {
        docs.truncate(l);
    }
    Value::Array(docs)
}

pub(super) async fn query_alarms(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = reader(&h)?;
    let body = if body.is_empty() {
        json!({})
    } else {
        parse_body(&body)?
    };
    let (filter, order, limit) = complex(
        &body,
        query::ALARM_FIELDS,
        query::TIMESTAMP_FIELDS,
        &who,
        "project_id",
    )?;
    let all: Vec<Arc<AlarmRecord>> = inner.alarms.read().values().cloned().collect();
    let docs: Vec<Value> = all.iter().map(|a| inner.render(a)).collect();
    Ok(json_response(
        StatusCode::OK,
        &select(docs, &filter, &order, limit),
    ))
}

pub(super) async fn query_history(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = reader(&h)?;
    let body = if body.is_empty() {
        json!({})
    } else {
        parse_body(&body)?
    };
    let (filter, order, limit) = complex(
        &body,
        query::ALARM_CHANGE_FIELDS,
        query::TIMESTAMP_FIELDS,
        &who,
        "on_behalf_of",
    )?;
    let rows = blocking(&inner, move |st| st.store.history_all(None)).await?;
    let docs: Vec<Value> = rows.iter().rev().map(HistoryEntry::to_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &select(docs, &filter, &order, limit),
    ))
}
