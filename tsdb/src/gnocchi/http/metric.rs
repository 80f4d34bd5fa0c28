//! `/v1/metric/...`, `/v1/resource/{type}/{id}/metric/...` and the batch
//! measures endpoints.

use altimeter_model::gnocchi::policy::{ArchivePolicy, pick_rule};
use altimeter_model::gnocchi::timefmt;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::resource::{self, no_resource, resource_json, resource_uuid};
use super::{
    ApiError, ApiResult, Identity, bool_param, db, identity, json_body, json_body_typed,
    json_response, link_next, page, param, query_pairs,
};
use crate::gnocchi::catalog::{Change, Metric, Resource, View};
use crate::gnocchi::{Gnocchi, measures, series};

const JSON: &[&str] = &["application/json"];

/// What a request says about a metric to create.
#[derive(Debug, Default, Clone)]
pub struct MetricSpec {
    /// Explicit policy, else the rules decide.
    pub archive_policy_name: Option<String>,
    /// Unit (≤ 31 characters).
    pub unit: Option<String>,
}

impl MetricSpec {
    /// From a `{"archive_policy_name": …, "unit": …}` object.
    pub fn from_json(o: &Map<String, Value>) -> ApiResult<MetricSpec> {
        let s = |k: &str| -> ApiResult<Option<String>> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ApiError::bad(format!(
                    "Invalid input: expected str for dictionary value @ data['{k}']"
                ))),
            }
        };
        let spec = MetricSpec {
            archive_policy_name: s("archive_policy_name")?,
            unit: s("unit")?,
        };
        if spec.unit.as_ref().is_some_and(|u| u.chars().count() > 31) {
            return Err(ApiError::bad(
                "Invalid input: length of value must be at most 31 for dictionary value @ data['unit']",
            ));
        }
        Ok(spec)
    }
}

/// A new metric: its policy from the spec or the archive policy rules,
/// its series selector from its name and resource.
pub fn plan_metric(
    g: &Gnocchi,
    v: &View<'_>,
    who: &Identity,
    name: Option<&str>,
    spec: &MetricSpec,
    resource: Option<&Resource>,
) -> ApiResult<Metric> {
    if name.is_some_and(|n| n.contains('/')) {
        return Err(ApiError::bad("'/' is not supported in metric name"));
    }
    let policy = match &spec.archive_policy_name {
        Some(p) => p.clone(),
        None => {
            let rules: Vec<_> = v.rules().cloned().collect();
            pick_rule(&rules, name.unwrap_or(""))
                .map(|r| r.archive_policy_name.clone())
                .ok_or_else(|| {
                    ApiError::bad(format!(
                        "No archive policy name specified and no archive policy rule found matching the metric name {}",
                        name.unwrap_or("None")
                    ))
                })?
        }
    };
    if v.policy(&policy).is_none() {
        return Err(ApiError::bad(format!(
            "Archive policy {policy} does not exist"
        )));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let (selector, scale) = series::selector_for(&id, name);
    Ok(Metric {
        id,
        name: name.map(str::to_string),
        unit: spec.unit.clone(),
        resource_id: resource.map(|r| r.id.clone()),
        archive_policy_name: policy,
        creator: Some(who.creator()),
        selector,
        scale,
        created_us: g.now_us(),
    })
}

fn creator_split(c: &Option<String>) -> (Value, Value) {
    match c {
        None => (Value::Null, Value::Null),
        Some(c) => {
            let (u, p) = c.split_once(':').unwrap_or((c.as_str(), ""));
            (json!(u), json!(p))
        }
    }
}

/// How much of the metric's relations a rendering embeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Detail {
    /// `archive_policy_name` and `resource_id` (a freshly created metric).
    Ids,
    /// The policy object and `resource_id` (lists).
    List,
    /// The policy and resource objects (a single metric).
    Full,
}

/// Gnocchi's JSON for a metric.
pub fn metric_json(v: &View<'_>, m: &Metric, detail: Detail) -> Value {
    let (cu, cp) = creator_split(&m.creator);
    let mut o = Map::new();
    o.insert("id".into(), json!(m.id));
    o.insert("creator".into(), json!(m.creator));
    o.insert("name".into(), json!(m.name));
    o.insert("unit".into(), json!(m.unit));
    o.insert("created_by_user_id".into(), cu);
    o.insert("created_by_project_id".into(), cp);
    match detail {
        Detail::Ids => {
            o.insert("archive_policy_name".into(), json!(m.archive_policy_name));
        }
        _ => {
            o.insert(
                "archive_policy".into(),
                v.policy(&m.archive_policy_name)
                    .map_or(Value::Null, ArchivePolicy::to_json),
            );
        }
    }
    match detail {
        Detail::Full => {
            let r = m.resource_id.as_deref().and_then(|id| v.resource(id));
            o.insert(
                "resource".into(),
                r.map_or(Value::Null, |r| resource_json(r, None, false, &[])),
            );
        }
        _ => {
            o.insert("resource_id".into(), json!(m.resource_id));
        }
    }
    Value::Object(o)
}

fn no_metric(id: &str) -> ApiError {
    ApiError::not_found(format!("Metric {id} does not exist"))
}

/// Whether the caller may see metric `m` (its resource's project, or its creator).
pub(super) fn visible(v: &View<'_>, who: &Identity, m: &Metric) -> bool {
    let project = m
        .resource_id
        .as_deref()
        .and_then(|r| v.resource(r))
        .and_then(|r| r.project_id.as_deref());
    who.may_see(project, m.creator.as_deref())
}

/// The metric `id` if it exists and the caller may see it.
fn lookup(v: &View<'_>, who: &Identity, id: &str) -> ApiResult<Metric> {
    let key = uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| no_metric(id))?;
    let m = v.metric(&key).ok_or_else(|| no_metric(id))?;
    if !visible(v, who, m) {
        return Err(ApiError::forbidden());
    }
    Ok(m.clone())
}

/// The metric `name` of resource `{type}/{id}`.
fn lookup_named(
    v: &View<'_>,
    who: &Identity,
    rtype: &str,
    id: &str,
    name: &str,
) -> ApiResult<Metric> {
    let rid = resource_uuid(id, who).map_err(|_| no_resource(id))?;
    let r = resource::find(v, rtype, &rid)?;
    let m = v.named_metric(&r.id, name).ok_or_else(|| no_metric(name))?;
    if !visible(v, who, m) {
        return Err(ApiError::forbidden());
    }
    Ok(m.clone())
}

/// `POST /v1/metric`.
pub async fn create_metric(State(g): State<super::State>, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
    let body = json_body(&h, &body, JSON)?;
    let o = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
    for k in o.keys() {
        if !["archive_policy_name", "resource_id", "name", "unit"].contains(&k.as_str()) {
            return Err(ApiError::bad(format!(
                "Invalid input: extra keys not allowed @ data['{k}']"
            )));
        }
    }
    let spec = MetricSpec::from_json(o)?;
    let name = match o.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::bad(
                "Invalid input: expected str for dictionary value @ data['name']",
            ));
        }
    };
    let rid = match o.get("resource_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(resource_uuid(s, &who)?),
        Some(_) => {
            return Err(ApiError::bad(
                "Invalid input: expected str for dictionary value @ data['resource_id']",
            ));
        }
    };
    if rid.is_some() && name.is_none() {
        return Err(ApiError::detailed(
            StatusCode::BAD_REQUEST,
            json!({"cause": "Attribute value error", "detail": "name", "reason": "Name cannot be null if resource_id is not null"}),
        ));
    }
    let m = g.catalog.update(|v| {
        let r = match &rid {
            None => None,
            Some(id) => Some(
                v.resource(id)
                    .ok_or_else(|| ApiError::bad(format!("Resource {id} does not exist")))?,
            ),
        };
        if let (Some(r), Some(n)) = (r, &name)
            && v.named_metric(&r.id, n).is_some()
        {
            return Err(ApiError::bad(format!("Named metric {n} already exists")));
        }
        let m = plan_metric(&g, v, &who, name.as_deref(), &spec, r)?;
        Ok::<_, ApiError>((vec![Change::PutMetric(m.clone())], m))
    })?;
    g.metric_created(&m.id);
    let j = metric_json(&g.catalog.view(), &m, Detail::Ids);
    Ok(super::created(format!("/v1/metric/{}", m.id), &j))
}

/// `GET /v1/metric`: filters `name`, `id`, `unit`, `archive_policy_name`,
/// `creator` (or `user_id`/`project_id`), `status`; paged by id.
pub async fn list_metrics(
    State(g): State<super::State>,
    h: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let p = page(&q, &["id:asc"])?;
    let creator = match (param(&q, "user_id"), param(&q, "project_id")) {
        (None, None) => param(&q, "creator").map(str::to_string),
        (u, pr) => Some(format!("{}:{}", u.unwrap_or(""), pr.unwrap_or(""))),
    };
    if let Some(s) = param(&q, "status")
        && s != "active"
        && s != "delete"
    {
        return Err(ApiError::bad(format!(
            "Invalid input: value must be one of ['active', 'delete'] for dictionary value @ data['status']: {s}"
        )));
    }
    let v = g.catalog.view();
    let mut ms: Vec<&Metric> = v
        .metrics()
        .filter(|m| visible(&v, &who, m))
        .filter(|m| {
            creator
                .as_deref()
                .is_none_or(|c| m.creator.as_deref() == Some(c))
        })
        .filter(|m| param(&q, "name").is_none_or(|n| m.name.as_deref() == Some(n)))
        .filter(|m| param(&q, "id").is_none_or(|n| m.id == n))
        .filter(|m| param(&q, "unit").is_none_or(|n| m.unit.as_deref() == Some(n)))
        .filter(|m| param(&q, "archive_policy_name").is_none_or(|n| m.archive_policy_name == n))
        .filter(|_| param(&q, "status") != Some("delete"))
        .collect();
    let key = |m: &Metric, k: &str| -> Value {
        match k {
            "id" => json!(m.id),
            "name" => json!(m.name),
            "unit" => json!(m.unit),
            "creator" => json!(m.creator),
            "archive_policy_name" => json!(m.archive_policy_name),
            "resource_id" => json!(m.resource_id),
            _ => Value::Null,
        }
    };
    for (k, _) in &p.sort {
        if ![
            "id",
            "name",
            "unit",
            "creator",
            "archive_policy_name",
            "resource_id",
        ]
        .contains(&k.as_str())
        {
            return Err(ApiError::bad(format!(
                "Invalid pagination: `Sort key supplied is invalid: {k}'"
            )));
        }
    }
    ms.sort_by(|a, b| {
        for (k, asc) in &p.sort {
            let o = cmp_json(&key(a, k), &key(b, k));
            let o = if *asc { o } else { o.reverse() };
            if o.is_ne() {
                return o;
            }
        }
        a.id.cmp(&b.id)
    });
    let start = match &p.marker {
        None => 0,
        Some(mk) => {
            ms.iter().position(|m| m.id == *mk).ok_or_else(|| {
                ApiError::bad(format!("Invalid pagination: `Unable to find marker {mk}'"))
            })? + 1
        }
    };
    let items: Vec<&Metric> = ms.into_iter().skip(start).take(p.limit).collect();
    let marker = items.last().map(|m| m.id.clone());
    let list: Vec<Value> = items
        .iter()
        .map(|m| metric_json(&v, m, Detail::List))
        .collect();
    let n = list.len();
    let mut r = json_response(StatusCode::OK, &Value::Array(list));
    link_next(&mut r, uri.path(), &q, &p, n, marker);
    Ok(r)
}

fn cmp_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Greater,
        (_, Value::Null) => std::cmp::Ordering::Less,
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// `GET /v1/metric/{id}`.
pub async fn get_metric(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = identity(&h)?;
    let v = g.catalog.view();
    let m = lookup(&v, &who, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &metric_json(&v, &m, Detail::Full),
    ))
}

/// `DELETE /v1/metric/{id}`.
pub async fn delete_metric(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let who = identity(&h)?;
    g.catalog.update(|v| {
        let m = lookup(v, &who, &id)?;
        Ok::<_, ApiError>((vec![Change::DelMetric(m.id)], ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/resource/{type}/{id}/metric`.
pub async fn list_resource_metrics(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
) -> ApiResult {
    let who = identity(&h)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    let v = g.catalog.view();
    let r = resource::find(&v, &rtype, &rid)?;
    if !resource::visible(&who, r) {
        return Err(ApiError::forbidden());
    }
    Ok(resource_metrics_answer(&v, &rid))
}

/// A resource's metrics in creation order, as Gnocchi lists them.
fn resource_metrics_answer(v: &View<'_>, rid: &str) -> Response {
    let list: Vec<Value> = v
        .resource_metric_list(rid)
        .into_iter()
        .map(|m| metric_json(v, m, Detail::List))
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `POST /v1/resource/{type}/{id}/metric`: `{"<name>": {"archive_policy_name": …}}`
/// or `{"<name>": "<metric uuid>"}`; 409 when a name exists.
pub async fn add_resource_metrics(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let rid = resource_uuid(&id, &who).map_err(|_| no_resource(&id))?;
    let body = json_body(&h, &body, JSON)?;
    let o = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
    let created = g.catalog.update(|v| {
        let r = resource::find(v, &rtype, &rid)?;
        let mut ch = Vec::new();
        let mut created = Vec::new();
        for (name, def) in o {
            if v.named_metric(&rid, name).is_some() {
                return Err(ApiError::conflict(format!(
                    "Named metric {name} already exists"
                )));
            }
            let m = match def {
                Value::String(mid) => {
                    let mut m = lookup(v, &who, mid)
                        .map_err(|_| ApiError::bad(format!("Metric {mid} does not exist")))?;
                    m.name = Some(name.clone());
                    m.resource_id = Some(rid.clone());
                    m
                }
                Value::Object(spec) => {
                    let spec = MetricSpec::from_json(spec)?;
                    let m = plan_metric(&g, v, &who, Some(name), &spec, Some(r))?;
                    created.push(m.id.clone());
                    m
                }
                _ => {
                    return Err(ApiError::bad(format!(
                        "Invalid input: expected a dictionary for dictionary value @ data['{name}']"
                    )));
                }
            };
            ch.push(Change::PutMetric(m));
        }
        Ok::<_, ApiError>((ch, created))
    })?;
    for id in created {
        g.metric_created(&id);
    }
    Ok(resource_metrics_answer(&g.catalog.view(), &rid))
}

/// `GET /v1/resource/{type}/{id}/metric/{name}`.
pub async fn get_named(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id, name)): Path<(String, String, String)>,
) -> ApiResult {
    let who = identity(&h)?;
    let v = g.catalog.view();
    let m = lookup_named(&v, &who, &rtype, &id, &name)?;
    Ok(json_response(
        StatusCode::OK,
        &metric_json(&v, &m, Detail::Full),
    ))
}

/// `DELETE /v1/resource/{type}/{id}/metric/{name}`.
pub async fn delete_named(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id, name)): Path<(String, String, String)>,
) -> ApiResult {
    let who = identity(&h)?;
    g.catalog.update(|v| {
        let m = lookup_named(v, &who, &rtype, &id, &name)?;
        Ok::<_, ApiError>((vec![Change::DelMetric(m.id)], ()))
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/metric/{id}/measures`.
pub async fn get_measures(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
    let m = lookup(&g.catalog.view(), &who, &id)?;
    read_measures(&g, &m, &query_pairs(q.as_deref())).await
}

/// `GET /v1/resource/{type}/{id}/metric/{name}/measures`.
pub async fn get_named_measures(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id, name)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
    let m = lookup_named(&g.catalog.view(), &who, &rtype, &id, &name)?;
    read_measures(&g, &m, &query_pairs(q.as_deref())).await
}

async fn read_measures(g: &Gnocchi, m: &Metric, q: &[(String, String)]) -> ApiResult {
    let db = db(g)?;
    let policy = g
        .catalog
        .view()
        .policy(&m.archive_policy_name)
        .cloned()
        .ok_or_else(|| no_metric(&m.id))?;
    bool_param(q, "refresh", false)?;
    let req = measures::Request::from_query(q, g.now_us())?;
    let out = measures::measures(g, &db, m, &policy, &req).await?;
    Ok(json_response(StatusCode::OK, &out))
}

/// Parses a measures list (`[{"timestamp": …, "value": …}, …]`) into
/// (ms, value) points.
pub fn parse_measures(v: &Value, now_us: i64) -> ApiResult<Vec<(i64, f64)>> {
    let list = v
        .as_array()
        .ok_or_else(|| invalid_measures("unexpected measures format".into()))?;
    let mut stamps = Vec::with_capacity(list.len());
    let mut values = Vec::with_capacity(list.len());
    for item in list {
        let (Some(ts), Some(val)) = (item.get("timestamp"), item.get("value")) else {
            return Err(invalid_measures("unexpected measures format".into()));
        };
        stamps.push(ts.clone());
        values.push(val.clone());
    }
    convert_measures(&stamps, &values, now_us)
}

/// Measures as (ms, value) points.
type Points = Vec<(i64, f64)>;

/// One measure as a client sends it, deserialized without building a
/// JSON tree (the batch fast path); anything that does not fit this shape
/// goes through [`parse_measures`] for Gnocchi's exact error.
#[derive(Debug, serde::Deserialize)]
pub struct MeasureIn {
    timestamp: Value,
    value: Value,
}

/// [`parse_measures`] for already-typed measures.
pub fn typed_measures(list: Vec<MeasureIn>, now_us: i64) -> ApiResult<Vec<(i64, f64)>> {
    let (stamps, values): (Vec<Value>, Vec<Value>) =
        list.into_iter().map(|m| (m.timestamp, m.value)).unzip();
    convert_measures(&stamps, &values, now_us)
}

fn invalid_measures(reason: String) -> ApiError {
    ApiError::detailed(
        StatusCode::BAD_REQUEST,
        json!({"cause": "Invalid input", "reason": reason, "detail": []}),
    )
}

/// Gnocchi's `MeasuresListSchema`: the timestamps converted as one list
/// (the first decides the format), every value through `float()`.
fn convert_measures(stamps: &[Value], values: &[Value], now_us: i64) -> ApiResult<Vec<(i64, f64)>> {
    let times = timefmt::parse_timestamps(stamps, now_us).map_err(|e| match e {
        timefmt::TimeError::WrongType => invalid_measures("unexpected measures format".into()),
        e => invalid_measures(format!("unexpected timestamp '{e}'")),
    })?;
    let mut out = Vec::with_capacity(values.len());
    for (us, val) in times.into_iter().zip(values) {
        let x = match val {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => timefmt::python_float_str(s),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
        .ok_or_else(|| invalid_measures("unexpected measures value".into()))?;
        out.push((us.div_euclid(1000), x));
    }
    Ok(out)
}

/// `POST /v1/metric/{id}/measures`: 202.
pub async fn post_measures(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let m = lookup(&g.catalog.view(), &who, &id)?;
    let points = match json_body_typed::<Vec<MeasureIn>>(&h, &body) {
        Some(list) => typed_measures(list, g.now_us())?,
        None => parse_measures(&json_body(&h, &body, JSON)?, g.now_us())?,
    };
    g.write(vec![(m, points)]).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /v1/resource/{type}/{id}/metric/{name}/measures`: 202.
pub async fn post_named_measures(
    State(g): State<super::State>,
    h: HeaderMap,
    Path((rtype, id, name)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let m = lookup_named(&g.catalog.view(), &who, &rtype, &id, &name)?;
    let body = json_body(&h, &body, JSON)?;
    let points = parse_measures(&body, g.now_us())?;
    g.write(vec![(m, points)]).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /v1/batch/metrics/measures`: `{"<metric id>": [measures…]}`; 400
/// `Unknown metrics: …` (and nothing stored) if any id is unknown.
pub async fn batch_metrics(State(g): State<super::State>, h: HeaderMap, body: Bytes) -> ApiResult {
    let who = identity(&h)?;
    // Fast path: the usual shape deserialized straight into measures.
    let typed: Option<Vec<(String, Vec<MeasureIn>)>> =
        json_body_typed::<std::collections::HashMap<String, Vec<MeasureIn>>>(&h, &body)
            .map(|m| m.into_iter().collect());
    let now = g.now_us();
    let entries: Vec<(String, ApiResult<Points>)> = match typed {
        Some(t) => t
            .into_iter()
            .map(|(id, list)| (id, typed_measures(list, now)))
            .collect(),
        None => {
            let body = json_body(&h, &body, JSON)?;
            let o = body
                .as_object()
                .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
            o.iter()
                .map(|(id, list)| (id.clone(), parse_measures(list, now)))
                .collect()
        }
    };
    // Gnocchi validates the whole body before it looks metrics up.
    let mut parsed = Vec::with_capacity(entries.len());
    for (id, list) in entries {
        let Ok(u) = uuid::Uuid::parse_str(&id) else {
            return Err(ApiError::detailed(
                StatusCode::BAD_REQUEST,
                json!({"cause": "Invalid input", "reason": format!("not a valid value for dictionary value @ data['{id}']"), "detail": [id]}),
            ));
        };
        parsed.push((u.hyphenated().to_string(), list?));
    }
    let mut batch = Vec::with_capacity(parsed.len());
    let mut unknown = Vec::new();
    {
        let v = g.catalog.view();
        for (key, points) in parsed {
            match v.metric(&key) {
                None => unknown.push(key),
                Some(m) => {
                    if !visible(&v, &who, m) {
                        return Err(ApiError::forbidden());
                    }
                    batch.push((m.clone(), points));
                }
            }
        }
    }
    if !unknown.is_empty() {
        unknown.sort();
        return Err(ApiError::bad(format!(
            "Unknown metrics: {}",
            unknown.join(", ")
        )));
    }
    g.write(batch).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /v1/batch/resources/metrics/measures[?create_metrics=true]`:
/// `{"<resource id>": {"<metric name>": [measures…] | {"archive_policy_name",
/// "unit", "measures"}}}`. Unknown resources (with `create_metrics`) give
/// Gnocchi's `{"cause": "Unknown resources", "detail": […]}` that
/// Ceilometer's publisher reacts to by creating them. All or nothing.
pub async fn batch_resources(
    State(g): State<super::State>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let create = bool_param(&q, "create_metrics", false)?;
    let body = json_body(&h, &body, JSON)?;
    let o = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
    let now = g.now_us();
    // Parse first: bad input changes nothing.
    type Entry = (String, String, String, MetricSpec, Vec<(i64, f64)>);
    let mut entries: Vec<Entry> = Vec::new();
    for (orig, metrics) in o {
        let rid = resource_uuid(orig, &who)?;
        let mo = metrics.as_object().ok_or_else(|| {
            ApiError::bad(format!(
                "Invalid input: expected a dictionary for dictionary value @ data['{orig}']"
            ))
        })?;
        for (name, def) in mo {
            let (spec, list) = match def {
                Value::Array(_) => (MetricSpec::default(), def),
                Value::Object(d) => (
                    MetricSpec::from_json(d)?,
                    d.get("measures").ok_or_else(|| {
                        ApiError::bad(format!(
                            "Invalid input: required key not provided @ data['{orig}']['{name}']['measures']"
                        ))
                    })?,
                ),
                _ => return Err(ApiError::bad("Invalid input: unexpected measures format")),
            };
            let points = parse_measures(list, now)?;
            entries.push((orig.clone(), rid.clone(), name.clone(), spec, points));
        }
    }
    let (batch, created) = g.catalog.update(|v| {
        let mut ch = Vec::new();
        let mut unknown_resources: Vec<Value> = Vec::new();
        let mut unknown_metrics = Vec::new();
        let mut batch = Vec::new();
        let mut created = Vec::new();
        for (orig, rid, name, spec, points) in &entries {
            let r = v.resource(rid);
            match (v.named_metric(rid, name), r) {
                (Some(m), _) => {
                    if !visible(v, &who, m) {
                        return Err(ApiError::forbidden());
                    }
                    batch.push((m.clone(), points.clone()));
                }
                (None, Some(r)) if create => {
                    let m = plan_metric(&g, v, &who, Some(name), spec, Some(r))?;
                    created.push(m.id.clone());
                    ch.push(Change::PutMetric(m.clone()));
                    batch.push((m, points.clone()));
                }
                (None, None) if create => {
                    let e = json!({"resource_id": rid, "original_resource_id": orig});
                    if !unknown_resources.contains(&e) {
                        unknown_resources.push(e);
                    }
                }
                (None, _) => unknown_metrics.push(format!("{rid}/{name}")),
            }
        }
        if !unknown_resources.is_empty() {
            return Err(ApiError::detailed(
                StatusCode::BAD_REQUEST,
                json!({"cause": "Unknown resources", "detail": unknown_resources}),
            ));
        }
        if !unknown_metrics.is_empty() {
            unknown_metrics.sort();
            return Err(ApiError::bad(format!(
                "Unknown metrics: {}",
                unknown_metrics.join(", ")
            )));
        }
        Ok::<_, ApiError>((ch, (batch, created)))
    })?;
    for id in created {
        g.metric_created(&id);
    }
    g.write(batch).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
