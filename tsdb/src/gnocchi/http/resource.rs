//! `/v1/resource_type`, `/v1/resource/...` and `/v1/search/resource/...`.

use std::collections::BTreeMap;

use altimeter_model::gnocchi::resource_type::{ResourceType, SchemaError};
use altimeter_model::gnocchi::timefmt;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::metric::{MetricSpec, plan_metric};
use super::search::{eval, list_page, request_filter};
use super::{
    ApiError, ApiResult, Identity, bool_param, identity, json_body, json_response, page,
    query_pairs,
};
use crate::gnocchi::Gnocchi;
use crate::gnocchi::catalog::{Change, Resource, View};

pub(super) const JSON: &[&str] = &["application/json"];

/// Columns every resource has, handled outside the type's attributes.
pub const COMMON: &[&str] = &[
    "id",
    "started_at",
    "ended_at",
    "user_id",
    "project_id",
    "metrics",
];

pub(super) const DEFAULT_SORT: &[&str] = &["revision_start:asc", "started_at:asc"];

pub(super) fn no_type(name: &str) -> ApiError {
    ApiError::not_found(format!("Resource type {name} does not exist"))
}

pub(super) fn no_resource(id: &str) -> ApiError {
    ApiError::not_found(format!("Resource {id} does not exist"))
}

// ----- rendering -----

/// Gnocchi's JSON for a resource revision. `attrs`: keep only these keys.
pub fn resource_json(
    r: &Resource,
    metrics: Option<&BTreeMap<String, String>>,
    with_type_attrs: bool,
    attrs: &[&str],
) -> Value {
    let ts = |us: i64| json!(timefmt::render_timestamp_us(us));
    let (cu, cp) = match &r.creator {
        None => (Value::Null, Value::Null),
        Some(c) => {
            let (u, p) = c.split_once(':').unwrap_or((c.as_str(), ""));
            (json!(u), json!(p))
        }
    };
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("type".into(), json!(r.type_));
    m.insert("creator".into(), json!(r.creator));
    m.insert("created_by_user_id".into(), cu);
    m.insert("created_by_project_id".into(), cp);
    m.insert("started_at".into(), ts(r.started_at));
    m.insert("ended_at".into(), r.ended_at.map_or(Value::Null, ts));
    m.insert("revision_start".into(), ts(r.revision_start));
    m.insert(
        "revision_end".into(),
        r.revision_end.map_or(Value::Null, ts),
    );
    m.insert("user_id".into(), json!(r.user_id));
    m.insert("project_id".into(), json!(r.project_id));
    m.insert("original_resource_id".into(), json!(r.original_resource_id));
    if let Some(ms) = metrics {
        m.insert(
            "metrics".into(),
            Value::Object(ms.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
        );
    }
    if with_type_attrs {
        for (k, v) in &r.attrs {
            m.insert(k.clone(), v.clone());
        }
    }
    if !attrs.is_empty() {
        m.retain(|k, _| attrs.contains(&k.as_str()));
    }
    Value::Object(m)
}

/// Gnocchi's resource ETag: sha1 of the id and the revision start.
pub fn etag(r: &Resource) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(r.id.as_bytes());
    h.update(timefmt::render_timestamp_us(r.revision_start).as_bytes());
    h.digest().to_string()
}

fn with_etag(mut resp: Response, r: &Resource) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", etag(r))) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    let secs = r.revision_start.div_euclid(1_000_000);
    if let Ok(v) = HeaderValue::from_str(&http_date(secs)) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    resp
}

fn http_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// RFC 7232 `If-Match` / `If-None-Match` against the resource's ETag.
fn precondition(h: &HeaderMap, r: &Resource, read: bool) -> ApiResult<()> {
    let tag = etag(r);
    let listed = |name: header::HeaderName| -> Option<bool> {
        let v = h.get(name)?.to_str().ok()?;
        Some(v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/").trim_matches('"') == tag
        }))
    };
    if listed(header::IF_MATCH) == Some(false) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "Precondition Failed",
        ));
    }
    if listed(header::IF_NONE_MATCH) == Some(true) {
        return Err(if read {
            ApiError::new(StatusCode::NOT_MODIFIED, "")
        } else {
            ApiError::new(StatusCode::PRECONDITION_FAILED, "Precondition Failed")
        });
    }
    Ok(())
}

// ----- resources -----

/// Resolves a URL or body resource id with the uuid5 rule.
pub fn resource_uuid(id: &str, who: &Identity) -> Result<String, ApiError> {
    timefmt::resource_uuid(id, &who.creator()).map_err(|e| ApiError::bad(e.to_string()))
}

pub(super) fn type_of<'a>(v: &'a View<'_>, rtype: &str) -> ApiResult<&'a ResourceType> {
    v.resource_type(rtype).ok_or_else(|| no_type(rtype))
}

/// The current resource `rid` listed under `rtype`, or Gnocchi's 404.
pub(super) fn find<'a>(v: &'a View<'_>, rtype: &str, rid: &str) -> ApiResult<&'a Resource> {
    v.resource(rid)
        .filter(|r| of_type(r, rtype))
        .ok_or_else(|| no_resource(rid))
}

/// Whether a resource is listed under `rtype` (`generic` lists them all).
pub(super) fn of_type(r: &Resource, rtype: &str) -> bool {
    rtype == "generic" || r.type_ == rtype
}

pub(super) fn visible(who: &Identity, r: &Resource) -> bool {
    who.may_see(r.project_id.as_deref(), r.creator.as_deref())
}

fn opt_str(body: &Map<String, Value>, k: &str) -> ApiResult<Option<Option<String>>> {
    match body.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::bad(format!(
            "Invalid input: expected str for dictionary value @ data['{k}']"
        ))),
    }
}

fn opt_time(body: &Map<String, Value>, k: &str, now_us: i64) -> ApiResult<Option<Option<i64>>> {
    match body.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => timefmt::parse_timestamp(v, now_us)
            .map(|t| Some(Some(t)))
            .map_err(|e| {
                ApiError::bad(format!(
                    "Invalid input: {e} for dictionary value @ data['{k}']"
                ))
            }),
    }
}

/// Plans the metric changes of a resource body's `metrics` map: new
/// metrics created, existing ones (by UUID) attached. With `replace`, the
/// resource's metrics not named are detached.
fn plan_resource_metrics(
    g: &Gnocchi,
    v: &View<'_>,
    who: &Identity,
    r: &Resource,
    metrics: &Value,
    replace: bool,
) -> ApiResult<Vec<Change>> {
    let obj = metrics.as_object().ok_or_else(|| {
        ApiError::bad("Invalid input: expected a dictionary for dictionary value @ data['metrics']")
    })?;
    let mut ch = Vec::new();
    let existing = v.resource_metrics(&r.id);
    for (name, def) in obj {
        if name.contains('/') {
            return Err(ApiError::bad("'/' is not supported in metric name"));
        }
        match def {
            Value::String(id) => {
                let m = uuid::Uuid::parse_str(id)
                    .ok()
                    .and_then(|u| v.metric(&u.hyphenated().to_string()))
                    .ok_or_else(|| ApiError::bad(format!("Metric {id} does not exist")))?;
                if existing.get(name) == Some(&m.id) {
                    continue;
                }
                if existing.contains_key(name) && !replace {
                    return Err(ApiError::conflict(format!(
                        "Named metric {name} already exists"
                    )));
                }
                let mut m = m.clone();
                m.name = Some(name.clone());
                m.resource_id = Some(r.id.clone());
                ch.push(Change::PutMetric(m));
            }
            Value::Object(spec) => {
                if existing.contains_key(name) {
                    if replace {
                        continue;
                    }
                    return Err(ApiError::conflict(format!(
                        "Named metric {name} already exists"
                    )));
                }
                let spec = MetricSpec::from_json(spec)?;
                ch.push(Change::PutMetric(plan_metric(
                    g,
                    v,
                    who,
                    Some(name),
                    &spec,
                    Some(r),
                )?));
            }
            _ => {
                return Err(ApiError::bad(format!(
                    "Invalid input: expected a UUID or a metric definition for dictionary value @ data['metrics']['{name}']"
                )));
            }
        }
    }
    if replace {
        for (name, id) in &existing {
            if !obj.contains_key(name)
                && let Some(m) = v.metric(id)
            {
                let mut m = m.clone();
                m.resource_id = None;
                ch.push(Change::PutMetric(m));
            }
        }
    }
    Ok(ch)
}

/// `POST /v1/resource/{type}`.
pub async fn create_resource(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(rtype): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let (r, metrics) = create_resource_from(&g, &who, &rtype, &body)?;
    let resp = super::created(
        format!("/v1/resource/{rtype}/{}", r.id),
        &resource_json(&r, Some(&metrics), true, &[]),
    );
    Ok(with_etag(resp, &r))
}

/// Creates a resource from a POST body; returns it and its metrics.
pub fn create_resource_from(
    g: &Gnocchi,
    who: &Identity,
    rtype: &str,
    body: &Value,
) -> ApiResult<(Resource, BTreeMap<String, String>)> {
    let now = g.now_us();
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
    let original = match obj.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(ApiError::bad(
                "Invalid input: expected str for dictionary value @ data['id']",
            ));
        }
        None => {
            return Err(ApiError::detailed(
                StatusCode::BAD_REQUEST,
                json!({"cause": "Invalid input", "reason": "required key not provided @ data['id']", "detail": ["id"]}),
            ));
        }
    };
    let id = resource_uuid(&original, who)?;
    g.catalog.update(|v| {
        let t = type_of(v, rtype)?;
        let attrs = t
            .validate_attributes(obj, COMMON, true, now)
            .map_err(schema_error)?;
        let mut full = Map::new();
        for k in t.attributes.keys() {
            full.insert(k.clone(), attrs.get(k).cloned().unwrap_or(Value::Null));
        }
        let started_at = opt_time(obj, "started_at", now)?.flatten().unwrap_or(now);
        let ended_at = opt_time(obj, "ended_at", now)?.flatten();
        if ended_at.is_some_and(|e| e < started_at) {
            return Err(ApiError::bad(
                "Start timestamp cannot be after end timestamp",
            ));
        }
        if v.resource(&id).is_some() {
            return Err(ApiError::conflict(format!("Resource {id} already exists")));
        }
        let r = Resource {
            id: id.clone(),
            type_: rtype.to_string(),
            creator: Some(who.creator()),
            original_resource_id: original.clone(),
            started_at,
            ended_at,
            revision_start: now,
            revision_end: None,
            revision: 1,
            user_id: opt_str(obj, "user_id")?.flatten(),
            project_id: opt_str(obj, "project_id")?.flatten(),
            attrs: full,
        };
        let mut ch = match obj.get("metrics") {
            Some(m) => plan_resource_metrics(g, v, who, &r, m, false)?,
            None => Vec::new(),
        };
        let mut metrics = BTreeMap::new();
        for c in &ch {
            if let Change::PutMetric(m) = c
                && let Some(n) = &m.name
            {
                metrics.insert(n.clone(), m.id.clone());
            }
        }
        ch.insert(0, Change::PutResource(r.clone()));
        Ok::<_, ApiError>((ch, (r, metrics)))
    })
}

/// `GET /v1/resource/{type}/{id}`.
pub async fn get_resource(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
) -> ApiResult {
    let who = identity(&h)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    let v = g.catalog.view();
    type_of(&v, &rtype)?;
    let r = find(&v, &rtype, &rid)?;
    if !visible(&who, r) {
        return Err(ApiError::forbidden());
    }
    precondition(&h, r, true)?;
    let metrics = v.resource_metrics(&rid);
    Ok(with_etag(
        json_response(
            StatusCode::OK,
            &resource_json(r, Some(&metrics), rtype != "generic", &[]),
        ),
        r,
    ))
}

/// `PATCH /v1/resource/{type}/{id}`: a new revision when a non-metric
/// attribute changes.
pub async fn update_resource(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    let body = json_body(&h, &body, JSON)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?
        .clone();
    if obj.contains_key("id") {
        return Err(ApiError::bad(
            "Invalid input: extra keys not allowed @ data['id']",
        ));
    }
    let now = g.now_us();
    let r = g.catalog.update(|v| {
        let t = type_of(v, &rtype)?;
        let cur = find(v, &rtype, &rid)?;
        if !visible(&who, cur) {
            return Err(ApiError::forbidden());
        }
        precondition(&h, cur, false)?;
        let attrs = t
            .validate_attributes(&obj, COMMON, false, now)
            .map_err(schema_error)?;
        let mut next = cur.clone();
        for (k, val) in attrs {
            next.attrs.insert(k, val);
        }
        if let Some(u) = opt_str(&obj, "user_id")? {
            next.user_id = u;
        }
        if let Some(p) = opt_str(&obj, "project_id")? {
            next.project_id = p;
        }
        if let Some(s) = opt_time(&obj, "started_at", now)? {
            next.started_at = s.unwrap_or(now);
        }
        if let Some(e) = opt_time(&obj, "ended_at", now)? {
            next.ended_at = e;
        }
        if let Some(e) = next.ended_at.filter(|e| *e < next.started_at) {
            // Gnocchi's indexer words it by the attribute that was set.
            let (attr, v) = if obj.contains_key("ended_at") {
                ("ended_at", e)
            } else {
                ("started_at", next.started_at)
            };
            return Err(ApiError::bad(format!(
                "Value {} for attribute {attr} on resource type {} is invalid",
                timefmt::render_timestamp_us(v).replacen('T', " ", 1),
                cur.type_
            )));
        }
        let mut ch = Vec::new();
        if next != *cur {
            let mut old = cur.clone();
            old.revision_end = Some(now);
            ch.push(Change::PushHistory(old));
            next.revision_start = now;
            next.revision = cur.revision + 1;
            ch.push(Change::PutResource(next.clone()));
        }
        if let Some(m) = obj.get("metrics") {
            ch.extend(plan_resource_metrics(&g, v, &who, &next, m, true)?);
        }
        Ok::<_, ApiError>((ch, next))
    })?;
    let v = g.catalog.view();
    let metrics = v.resource_metrics(&rid);
    Ok(with_etag(
        json_response(
            StatusCode::OK,
            &resource_json(&r, Some(&metrics), rtype != "generic", &[]),
        ),
        &r,
    ))
}

/// Changes deleting a resource: the resource, its history, its metrics.
fn plan_delete(v: &View<'_>, rid: &str) -> Vec<Change> {
    let mut ch = vec![Change::DelResource(rid.to_string())];
    for id in v.resource_metrics(rid).into_values() {
        ch.push(Change::DelMetric(id));
    }
    ch
}

/// `DELETE /v1/resource/{type}/{id}`.
pub async fn delete_resource(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
) -> ApiResult {
    let who = identity(&h)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    g.catalog.update(|v| {
        type_of(v, &rtype)?;
        let r = find(v, &rtype, &rid)?;
        if !visible(&who, r) {
            return Err(ApiError::forbidden());
        }
        precondition(&h, r, false)?;
        Ok((plan_delete(v, &rid), ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/resource/{type}` with a search filter: `{"deleted": N}`.
pub async fn batch_delete(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(rtype): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let filter = request_filter(&h, &body, &q)?.ok_or_else(|| {
        ApiError::bad("caution: the query can not be empty, or it will delete entire database")
    })?;
    let n = g.catalog.update(|v| {
        let t = type_of(v, &rtype)?;
        let mut ch = Vec::new();
        let mut n = 0;
        for r in v.resources().filter(|r| of_type(r, &rtype)) {
            if visible(&who, r) && eval(&filter, r, t, &who)? {
                ch.extend(plan_delete(v, &r.id));
                n += 1;
            }
        }
        Ok::<_, ApiError>((ch, n))
    })?;
    Ok(json_response(StatusCode::OK, &json!({"deleted": n})))
}

/// `GET /v1/resource/{type}/{id}/history`.
pub async fn history(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let p = page(&q, DEFAULT_SORT)?;
    let details = bool_param(&q, "details", false)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    let v = g.catalog.view();
    let t = type_of(&v, &rtype)?;
    let cur = find(&v, &rtype, &rid)?;
    if !visible(&who, cur) {
        return Err(ApiError::forbidden());
    }
    let mut revs: Vec<&Resource> = v.history(&rid).iter().collect();
    revs.push(cur);
    let metrics = v.resource_metrics(&rid);
    let with_attrs = rtype != "generic" || details;
    list_page(revs, t, &who, &p, &q, uri.path(), true, |r| {
        resource_json(r, Some(&metrics), with_attrs, &[])
    })
}

/// A schema error as Gnocchi answers it.
pub fn schema_error(e: SchemaError) -> ApiError {
    ApiError::detailed(StatusCode::BAD_REQUEST, e.description())
}
