//! The Aodh v2 API (`/v2/...`), close enough that `aodh` and
//! `openstack alarm` work unchanged, plus Altimeter's outbox API
//! (`/v2/notifications`).
//!
//! Identity comes from `X-User-Id`, `X-Project-Id` and `X-Roles` (what
//! Aodh's `noauth` mode and the clients' `aodh-noauth` plugin use); `admin`
//! in the roles makes the caller an administrator. Errors use WSME's
//! envelope, `{"error_message": {"faultcode", "faultstring", "debuginfo"}}`.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::model::{self, Invalid, RULE_TYPES, RuleContext, SEVERITIES, State};
use crate::query;
use crate::store::{AlarmRecord, Delivery, HistoryEntry};
use crate::{Alarms, Inner};

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
    let admin = get("x-roles")
        .split(',')
        .any(|r| r.trim().eq_ignore_ascii_case("admin"));
    Ok(Identity {
        user,
        project,
        admin,
    })
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
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("Invalid JSON in request body: {e}")))
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

const ALLOWED_SCHEMES: [&str; 4] = ["http", "https", "log", "mailto"];
const SETTABLE: [&str; 14] = [
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
const ECHOED: [&str; 4] = [
    "alarm_id",
    "timestamp",
    "state_timestamp",
    "evaluate_timestamp",
];

fn opt_bool(o: &Map<String, Value>, k: &str, default: bool) -> ApiResult<bool> {
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

fn opt_text(o: &Map<String, Value>, k: &str) -> ApiResult<Option<String>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ApiError::bad(format!(
            "Invalid input for field/attribute {k}. Value: '{}'. Wrong type. Expected 'str'",
            model::python_repr(v)
        ))),
    }
}

fn actions(o: &Map<String, Value>, k: &str, who: &Identity, max: i64) -> ApiResult<Vec<String>> {
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
            return Err(ApiError::bad(format!("Unable to parse action {s}")));
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
async fn alarm_from_body(
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
        evaluate_timestamp_us: None,
        rule,
        parsed,
        version: 0,
    };
    Ok(record)
}

/// What Aodh records as a change's detail: the model dict (`rule`, not
/// `<type>_rule`).
fn model_dict(a: &AlarmRecord) -> Map<String, Value> {
    let Value::Object(mut m) = a.to_json() else {
        return Map::new();
    };
    m.remove(&format!("{}_rule", a.type_));
    m.remove("evaluate_timestamp");
    m.insert("rule".into(), a.rule.clone());
    m
}

fn history(
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

fn over_quota(inner: &Inner, project: &str, user: &str) -> ApiResult<bool> {
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

async fn create_alarm(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
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

async fn get_alarm(AxState(inner): St, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let who = identity(&h)?;
    let a = visible(&inner, &who, &id)?;
    Ok(json_response(StatusCode::OK, &inner.render(&a)))
}

async fn put_alarm(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
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

async fn delete_alarm(AxState(inner): St, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let who = identity(&h)?;
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

async fn get_state(AxState(inner): St, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let who = identity(&h)?;
    let a = visible(&inner, &who, &id)?;
    Ok(json_response(StatusCode::OK, &json!(a.state.as_str())))
}

async fn put_state(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let v = parse_body(&body)?;
    let state = v.as_str().and_then(State::parse).ok_or_else(|| {
        ApiError::bad(format!(
            "Invalid input for field/attribute state. Value: '{}'. Value should be one of: ok, alarm, insufficient data",
            model::python_repr(&v)
        ))
    })?;
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
const ALARM_SORT_KEYS: [&str; 11] = [
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
const ALARM_QUERY_FIELDS: [&str; 10] = [
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

fn python_set(items: &[&str]) -> String {
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
fn paginate(
    docs: &mut Vec<Value>,
    pairs: &[(String, String)],
    keys: &[&str],
    id_key: &str,
    default: query::OrderBy,
) -> ApiResult<()> {
    let mut order = Vec::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k == "sort") {
        let _ = k;
        let (key, dir) = v.split_once(':').unwrap_or((v.as_str(), "asc"));
        if !keys.contains(&key) {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute sort. Value: '{v}'. the sort parameter should be a pair of sort key and sort dir combined with ':', or only sort key specified and sort dir will be default 'asc', the supported sort keys are: ['{}']",
                keys.join("', '")
            )));
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
        let n: i64 = l.parse().map_err(|_| {
            ApiError::bad(format!(
                "Invalid input for field/attribute limit. Value: '{l}'. Wrong type. Expected 'int'"
            ))
        })?;
        if n <= 0 {
            return Err(ApiError::bad(format!(
                "Invalid input for field/attribute limit. Value: '{n}'. it should be a positive integer."
            )));
        }
        docs.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok(())
}

fn simple_matches(terms: &[query::SimpleTerm], doc: &Value) -> ApiResult<bool> {
    for t in terms {
        let want = t.json_value().map_err(qerr)?;
        let have = doc.get(&t.field).cloned().unwrap_or(Value::Null);
        let eq = match (&have, &want) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (Value::Bool(a), Value::String(b)) => a.to_string() == b.to_ascii_lowercase(),
            (a, b) => a == b,
        };
        if !eq {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn list_alarms(AxState(inner): St, h: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    let who = identity(&h)?;
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

const HISTORY_SORT_KEYS: [&str; 8] = [
    "event_id",
    "alarm_id",
    "type",
    "timestamp",
    "severity",
    "user_id",
    "project_id",
    "on_behalf_of",
];

async fn alarm_history(
    AxState(inner): St,
    h: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
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
fn parse_ts(s: &str) -> Option<chrono::NaiveDateTime> {
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
fn history_term_match(terms: &[query::SimpleTerm], d: &Value) -> ApiResult<bool> {
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

fn qerr(e: query::QueryError) -> ApiError {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, e.faultstring())
}

/// Parses a complex query body; a non-admin's filter is checked for other
/// projects (401) and restricted to `scope_field == caller's project`.
fn complex(
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

fn select(
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

async fn query_alarms(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
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

async fn query_history(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
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

async fn capabilities(h: HeaderMap) -> ApiResult {
    identity(&h)?;
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

fn quotas_doc(inner: &Inner, project: &str) -> ApiResult<Value> {
    let limit = match inner.store.quota(project, "alarms")? {
        // An explicit -1 ("unlimited", overriding the configured default) is stored as i64::MAX.
        Some(i64::MAX) => -1,
        Some(l) => l,
        None => inner.cfg.project_alarm_quota,
    };
    Ok(json!({"project_id": project, "quotas": [{"resource": "alarms", "limit": limit}]}))
}

async fn get_quotas(AxState(inner): St, h: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    let who = identity(&h)?;
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

async fn set_quotas(AxState(inner): St, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
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

async fn delete_quotas(AxState(inner): St, h: HeaderMap, Path(project): Path<String>) -> ApiResult {
    let who = identity(&h)?;
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

async fn list_notifications(AxState(inner): St, h: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    let who = identity(&h)?;
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

async fn find_notification(
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

async fn get_notification(AxState(inner): St, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let who = identity(&h)?;
    let n = find_notification(&inner, &who, id).await?;
    Ok(json_response(StatusCode::OK, &n.to_json()))
}

async fn retry_notification(AxState(inner): St, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let who = identity(&h)?;
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
