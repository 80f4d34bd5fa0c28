//! `/v2/capabilities`, `/v2/quotas`, and Altimeter's outbox API `/v2/notifications`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::*;
use crate::Inner;
use crate::model::{self};
use crate::store::Delivery;

pub(super) async fn capabilities(h: HeaderMap) -> ApiResult {
    reader(&h)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "api": {
                "alarms:query:simple": true,
                "alarms:query:complex": true,
                "alarms:history:query:simple": true,
                "alarms:history:query:complex": true
            },
            "alarm_storage": {"storage:production_ready": true}
        }),
    ))
}

pub(super) fn quotas_doc(inner: &Inner, project: &str) -> ApiResult<Value> {
    let limit = match inner.store.quota(project, "alarms")? {
        // An explicit -1 ("unlimited", overriding the configured default) is stored as i64::MAX.
        Some(i64::MAX) => -1,
        Some(l) => l,
        None => inner.cfg.project_alarm_quota,
    };
    Ok(json!({"project_id": project, "quotas": [{"resource": "alarms", "limit": limit}]}))
}

pub(super) async fn get_quotas(
    AxState(inner): St,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = reader(&h)?;
    let project = query_pairs(&q)
        .into_iter()
        .find(|(k, v)| k == "project_id" && !v.is_empty())
        .map(|(_, v)| v)
        .unwrap_or_else(|| who.project.clone());
    if !who.admin && project != who.project {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ));
    }
    Ok(json_response(
        StatusCode::OK,
        &quotas_doc(&inner, &project)?,
    ))
}

pub(super) async fn set_quotas(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = member(&h)?;
    if !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ));
    }
    let v = parse_body(&body)?;
    let project = v.get("project_id").and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad(
            "Invalid input for field/attribute project_id. Value: 'None'. Mandatory field missing.",
        )
    })?;
    let quotas = v
        .get("quotas")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut limits = Vec::new();
    for q in &quotas {
        let resource = q.get("resource").and_then(Value::as_str).unwrap_or("");
        if resource != "alarms" {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute resource. Value: '{resource}'. Value should be one of: alarms"
            )));
        }
        let limit = q.get("limit").and_then(Value::as_i64).filter(|l| *l >= -1).ok_or_else(|| {
            ApiError::bad(format!(
                "Invalid input for field/attribute limit. Value: '{}'. Value should be greater or equal to -1",
                q.get("limit").map(model::python_repr).unwrap_or_else(|| "None".into())
            ))
        })?;
        limits.push(limit);
    }
    let p = project.to_owned();
    blocking(&inner, move |st| {
        let ops: Vec<crate::store::Op<'_>> = limits
            .iter()
            .map(|l| crate::store::Op::Quota {
                project_id: &p,
                resource: "alarms",
                limit: if *l == -1 { i64::MAX } else { *l },
            })
            .collect();
        st.store.apply(&ops)
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &quotas_doc(&inner, project)?,
    ))
}

pub(super) async fn delete_quotas(
    AxState(inner): St,
    h: HeaderMap,
    Path(project): Path<String>,
) -> ApiResult {
    let who = member(&h)?;
    if !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ));
    }
    blocking(&inner, move |st| {
        st.store.apply(&[crate::store::Op::Quota {
            project_id: &project,
            resource: "alarms",
            limit: -1,
        }])
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn list_notifications(
    AxState(inner): St,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = reader(&h)?;
    let pairs = query_pairs(&q);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let state = match get("state") {
        None => None,
        Some(s) => Some(Delivery::parse(&s).ok_or_else(|| {
            ApiError::bad(format!(
                "state must be one of pending, delivered, dead; got {s:?}"
            ))
        })?),
    };
    let limit =
        match get("limit") {
            None => 1000,
            Some(l) => l.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::bad(format!("limit must be a positive integer, got {l:?}"))
            })?,
        };
    let alarm_id = get("alarm_id");
    let project = if who.admin {
        get("project_id")
    } else {
        Some(who.project.clone())
    };
    let rows = blocking(&inner, move |st| {
        st.store
            .notifications(state, alarm_id.as_deref(), project.as_deref(), limit)
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &Value::Array(rows.iter().map(|n| n.to_json()).collect()),
    ))
}

pub(super) async fn find_notification(
    inner: &Arc<Inner>,
    who: &Identity,
    id: String,
) -> ApiResult<crate::store::Notification> {
    let id2 = id.clone();
    let n = blocking(inner, move |st| st.store.notification(&id2)).await?;
    match n {
        Some(n) if who.admin || n.project_id == who.project => Ok(n),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Notification {id} not found"),
        )),
    }
}

pub(super) async fn get_notification(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = reader(&h)?;
    let n = find_notification(&inner, &who, id).await?;
    Ok(json_response(StatusCode::OK, &n.to_json()))
}

pub(super) async fn retry_notification(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = member(&h)?;
    let n = find_notification(&inner, &who, id.clone()).await?;
    if n.state != Delivery::Dead {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Notification {id} is {}, only dead notifications can be retried",
                n.state.as_str()
            ),
        ));
    }
    let now = inner.now_us();
    let id2 = id.clone();
    blocking(&inner, move |st| st.store.requeue(&id2, now)).await?;
    inner.wake.notify_one();
    tracing::info!(id = %id, "dead notification re-queued by the API");
    let n = find_notification(&inner, &who, id).await?;
    Ok(json_response(StatusCode::ACCEPTED, &n.to_json()))
}
