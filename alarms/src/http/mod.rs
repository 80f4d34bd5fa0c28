//! The Aodh v2 API (`/v2/...`), close enough that `aodh` and
//! `openstack alarm` work unchanged, plus Altimeter's outbox API
//! (`/v2/notifications`).
//!
//! Identity comes from `X-User-Id`, `X-Project-Id` and `X-Roles` (what
//! Aodh's `noauth` mode and the clients' `aodh-noauth` plugin use); `admin`
//! in the roles makes the caller an administrator. Errors use WSME's
//! envelope, `{"error_message": {"faultcode", "faultstring", "debuginfo"}}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::model::Invalid;
use crate::query;
use crate::store::AlarmRecord;
use crate::{Alarms, Inner};

mod admin;
mod alarms;
mod body;
mod queries;

use admin::*;
use alarms::*;
use body::*;
use queries::*;

type ApiResult<T = Response> = Result<T, ApiError>;

/// An error in WSME's shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::bad(e.0)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "alarm storage failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{e}; nothing was changed, retry later"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let faultcode = if self.status.is_server_error() {
            "Server"
        } else {
            "Client"
        };
        let body = json!({"error_message": {"faultcode": faultcode, "faultstring": self.message, "debuginfo": null}});
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// Who is calling.
#[derive(Debug, Clone)]
struct Identity {
    user: String,
    project: String,
    admin: bool,
    reader: bool,
    member: bool,
}

fn identity(h: &HeaderMap) -> ApiResult<Identity> {
    let get = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("")
            .to_owned()
    };
    let (user, project) = (get("x-user-id"), get("x-project-id"));
    if user.is_empty() || project.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ));
    }
    let roles = get("x-roles");
    let has = |role: &str| {
        roles
            .split(',')
            .any(|r| r.trim().eq_ignore_ascii_case(role))
    };
    Ok(Identity {
        user,
        project,
        admin: has("admin"),
        reader: has("reader"),
        member: has("member"),
    })
}

/// A caller allowed to read (Aodh's default policy: role `reader` in the
/// project, or `admin`; Keystone tokens carry `reader` with `member`).
fn reader(h: &HeaderMap) -> ApiResult<Identity> {
    let who = identity(h)?;
    if who.admin || who.reader {
        Ok(who)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ))
    }
}

/// A caller allowed to change alarms (role `member`, or `admin`).
fn member(h: &HeaderMap) -> ApiResult<Identity> {
    let who = identity(h)?;
    if who.admin || who.member {
        Ok(who)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "RBAC Authorization Failed",
        ))
    }
}

/// The router.
pub fn router(alarms: Alarms) -> Router {
    Router::new()
        .route("/v2", get(root))
        .route("/v2/alarms", get(list_alarms).post(create_alarm))
        .route(
            "/v2/alarms/{id}",
            get(get_alarm).put(put_alarm).delete(delete_alarm),
        )
        .route("/v2/alarms/{id}/state", get(get_state).put(put_state))
        .route("/v2/alarms/{id}/history", get(alarm_history))
        .route("/v2/query/alarms", post(query_alarms))
        .route("/v2/query/alarms/history", post(query_history))
        .route("/v2/capabilities", get(capabilities))
        .route("/v2/quotas", get(get_quotas).post(set_quotas))
        .route("/v2/quotas/{project}", axum::routing::delete(delete_quotas))
        .route("/v2/notifications", get(list_notifications))
        .route("/v2/notifications/{id}", get(get_notification))
        .route("/v2/notifications/{id}/retry", post(retry_notification))
        .with_state(alarms.inner)
}

type St = AxState<Arc<Inner>>;

async fn root() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"resources": [
            {"rel": "alarms", "href": "/v2/alarms"},
            {"rel": "capabilities", "href": "/v2/capabilities"},
            {"rel": "notifications", "href": "/v2/notifications"}
        ]}),
    )
}

/// Runs a store call off the async workers.
async fn blocking<T: Send + 'static>(
    inner: &Arc<Inner>,
    f: impl FnOnce(&Inner) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> ApiResult<T> {
    let st = inner.clone();
    Ok(tokio::task::spawn_blocking(move || f(&st))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??)
}

fn parse_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        tracing::debug!(error = %e, "request body is not JSON");
        ApiError::bad("Request is not in valid JSON format")
    })
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|s| form_urlencoded::parse(s.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("Alarm {id} not found"))
}

/// The alarm if the caller may see it (admins see all, others their project's).
fn visible(inner: &Inner, who: &Identity, id: &str) -> ApiResult<Arc<AlarmRecord>> {
    let a = inner
        .alarms
        .read()
        .get(id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    if !who.admin && a.project_id != who.project {
        return Err(not_found(id));
    }
    Ok(a)
}

fn qerr(e: query::QueryError) -> ApiError {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, e.faultstring())
}
