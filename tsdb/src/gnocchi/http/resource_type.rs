//! `/v1/resource_type` and the `GET /v1/resource` index.

use altimeter_model::gnocchi::resource_type::{ResourceType, attribute_order};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::resource::{JSON, no_type, schema_error};
use super::{
    ApiError, ApiResult, admin_only, identity, json_body, json_response, json_text_response,
};
use crate::gnocchi::catalog::Change;

/// `GET /v1/resource_type`.
pub async fn list_types(State(g): State<super::State>, h: HeaderMap) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let list: Vec<String> = v.types().map(ResourceType::to_json_text).collect();
    Ok(json_text_response(
        StatusCode::OK,
        format!("[{}]", list.join(", ")),
    ))
}

/// `POST /v1/resource_type`.
pub async fn create_type(State(g): State<super::State>, h: HeaderMap, body: Bytes) -> ApiResult {
    admin_only(&h)?;
    let order = attribute_order(&body);
    let body = json_body(&h, &body, JSON)?;
    let t = ResourceType::from_request_ordered(&body, order).map_err(schema_error)?;
    let j = t.to_json();
    let name = t.name.clone();
    g.catalog.update(|v| {
        if v.resource_type(&t.name).is_some() {
            return Err(ApiError::conflict(format!(
                "Resource type {} already exists",
                t.name
            )));
        }
        Ok::<_, ApiError>((vec![Change::PutType(t)], ()))
    })?;
    Ok(super::created(format!("/v1/resource_type/{name}"), &j))
}

/// `GET /v1/resource_type/{name}`.
pub async fn get_type(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let t = v.resource_type(&name).ok_or_else(|| no_type(&name))?;
    Ok(json_response(StatusCode::OK, &t.to_json()))
}

/// `PATCH /v1/resource_type/{name}` (`application/json-patch+json`).
pub async fn patch_type(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    admin_only(&h)?;
    let patch = json_body(&h, &body, &["application/json-patch+json"])?;
    let out = g.catalog.update(|v| {
        let mut t = v
            .resource_type(&name)
            .cloned()
            .ok_or_else(|| no_type(&name))?;
        let before = t.attributes.clone();
        let added = t.apply_patch(&patch).map_err(schema_error)?;
        let j = t.to_json();
        let mut ch = Vec::new();
        for r in v.resources().filter(|r| r.type_ == name) {
            let mut r = r.clone();
            r.attrs.retain(|k, _| t.attributes.contains_key(k));
            for (k, fill) in &added {
                r.attrs.insert(k.clone(), fill.clone());
            }
            ch.push(Change::PutResource(r));
        }
        if before != t.attributes {
            ch.push(Change::PutType(t));
        }
        Ok::<_, ApiError>((ch, j))
    })?;
    Ok(json_response(StatusCode::OK, &out))
}

/// `DELETE /v1/resource_type/{name}`: 400 while resources of it exist.
pub async fn delete_type(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult {
    admin_only(&h)?;
    g.catalog.update(|v| {
        if v.resource_type(&name).is_none() {
            return Err(no_type(&name));
        }
        if name == "generic" || v.resources().any(|r| r.type_ == name) {
            return Err(ApiError::bad(format!(
                "Resource type {name} is still in use"
            )));
        }
        Ok::<_, ApiError>((vec![Change::DelType(name.clone())], ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/resource`: type name → URL.
pub async fn list_type_urls(State(g): State<super::State>, h: HeaderMap) -> ApiResult {
    identity(&h)?;
    let v = g.catalog.view();
    let host = h
        .get(header::HOST)
        .and_then(|x| x.to_str().ok())
        .unwrap_or("localhost");
    let m: Map<String, Value> = v
        .types()
        .map(|t| {
            (
                t.name.clone(),
                json!(format!("http://{host}/v1/resource/{}", t.name)),
            )
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Object(m)))
}
