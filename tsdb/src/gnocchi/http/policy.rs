//! `/v1/archive_policy` and `/v1/archive_policy_rule`.

use altimeter_model::gnocchi::policy::{ArchivePolicy, ArchivePolicyRule};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

use super::{ApiError, ApiResult, admin_only, created, identity, json_body, json_response};
use crate::gnocchi::catalog::Change;

const JSON: &[&str] = &["application/json"];

fn policy_error(e: altimeter_model::gnocchi::policy::PolicyError) -> ApiError {
    ApiError::detailed(StatusCode::BAD_REQUEST, e.description())
}

/// `GET /v1/archive_policy`.
pub async fn list_policies(State(g): State<super::State>, h: HeaderMap) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let list: Vec<Value> = v.policies().map(ArchivePolicy::to_json).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(list)))
}

/// `POST /v1/archive_policy`.
pub async fn create_policy(State(g): State<super::State>, h: HeaderMap, body: Bytes) -> ApiResult {
    admin_only(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let p = ArchivePolicy::from_request(&body).map_err(policy_error)?;
    let j = p.to_json();
    let name = p.name.clone();
    g.catalog.update(|v| {
        if v.policy(&p.name).is_some() {
            return Err(ApiError::conflict(format!(
                "Archive policy {} already exists",
                p.name
            )));
        }
        Ok::<_, ApiError>((vec![Change::PutPolicy(p)], ()))
    })?;
    Ok(created(format!("/v1/archive_policy/{name}"), &j))
}

/// `GET /v1/archive_policy/{name}`.
pub async fn get_policy(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let p = v
        .policy(&name)
        .ok_or_else(|| ApiError::not_found(format!("Archive policy {name} does not exist")))?;
    Ok(json_response(StatusCode::OK, &p.to_json()))
}

/// `PATCH /v1/archive_policy/{name}`: retention changes only.
pub async fn update_policy(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    admin_only(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let out = g.catalog.update(|v| {
        let mut p = v
            .policy(&name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Archive policy {name} does not exist")))?;
        p.apply_update(&body).map_err(policy_error)?;
        let j = p.to_json();
        Ok::<_, ApiError>((vec![Change::PutPolicy(p)], j))
    })?;
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE /v1/archive_policy/{name}`: 400 while metrics or rules use it.
pub async fn delete_policy(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    admin_only(&h)?;
    g.catalog.update(|v| {
        if v.policy(&name).is_none() {
            return Err(ApiError::not_found(format!(
                "Archive policy {name} does not exist"
            )));
        }
        if v.metrics().any(|m| m.archive_policy_name == name)
            || v.rules().any(|r| r.archive_policy_name == name)
        {
            return Err(ApiError::bad(format!(
                "Archive policy {name} is still in use"
            )));
        }
        Ok::<_, ApiError>((vec![Change::DelPolicy(name.clone())], ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/archive_policy_rule`: ordered by pattern, most specific first.
pub async fn list_rules(State(g): State<super::State>, h: HeaderMap) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let mut rules: Vec<&ArchivePolicyRule> = v.rules().collect();
    rules.sort_by(|a, b| b.metric_pattern.cmp(&a.metric_pattern));
    let list: Vec<Value> = rules.into_iter().map(ArchivePolicyRule::to_json).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(list)))
}

fn str_field<'a>(body: &'a Value, k: &str) -> ApiResult<&'a str> {
    body.get(k).and_then(Value::as_str).ok_or_else(|| {
        ApiError::detailed(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"cause": "Invalid input", "reason": format!("required key not provided @ data['{k}']"), "detail": [k]}),
        )
    })
}

/// `POST /v1/archive_policy_rule`.
pub async fn create_rule(State(g): State<super::State>, h: HeaderMap, body: Bytes) -> ApiResult {
    admin_only(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let rule = ArchivePolicyRule {
        name: str_field(&body, "name")?.to_string(),
        metric_pattern: str_field(&body, "metric_pattern")?.to_string(),
        archive_policy_name: str_field(&body, "archive_policy_name")?.to_string(),
    };
    let j = rule.to_json();
    let name = rule.name.clone();
    g.catalog.update(|v| {
        if v.policy(&rule.archive_policy_name).is_none() {
            return Err(ApiError::bad(format!(
                "Archive policy {} does not exist",
                rule.archive_policy_name
            )));
        }
        if v.rule(&rule.name).is_some() {
            return Err(ApiError::conflict(format!(
                "Archive policy rule {} already exists",
                rule.name
            )));
        }
        Ok::<_, ApiError>((vec![Change::PutRule(rule)], ()))
    })?;
    Ok(created(format!("/v1/archive_policy_rule/{name}"), &j))
}

/// `GET /v1/archive_policy_rule/{name}`.
pub async fn get_rule(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let r = v
        .rule(&name)
        .ok_or_else(|| ApiError::not_found(format!("Archive policy rule {name} does not exist")))?;
    Ok(json_response(StatusCode::OK, &r.to_json()))
}

/// `PATCH /v1/archive_policy_rule/{name}`: `{"name": "<new>"}` renames.
pub async fn rename_rule(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    admin_only(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let new = str_field(&body, "name")?.to_string();
    let out = g.catalog.update(|v| {
        let mut r = v.rule(&name).cloned().ok_or_else(|| {
            ApiError::not_found(format!("Archive policy rule {name} does not exist"))
        })?;
        if new != name && v.rule(&new).is_some() {
            return Err(ApiError::bad(format!(
                "Archive policy rule {name} does not support change: rule {new} already exists"
            )));
        }
        r.name = new.clone();
        let j = r.to_json();
        Ok::<_, ApiError>((vec![Change::DelRule(name.clone()), Change::PutRule(r)], j))
    })?;
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE /v1/archive_policy_rule/{name}`.
pub async fn delete_rule(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    admin_only(&h)?;
    g.catalog.update(|v| {
        if v.rule(&name).is_none() {
            return Err(ApiError::not_found(format!(
                "Archive policy rule {name} does not exist"
            )));
        }
        Ok::<_, ApiError>((vec![Change::DelRule(name.clone())], ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
