//! Listing and searching resources: `GET /v1/resource/{type}`,
//! `POST /v1/search/resource/{type}`, the paging they share with history,
//! and evaluation of Gnocchi's filters against stored resources.

use std::cmp::Ordering;

use altimeter_model::gnocchi::filter::{self, AttrSource, Filter, FilterError, Typed};
use altimeter_model::gnocchi::resource_type::{AttrKind, ResourceType};
use altimeter_model::gnocchi::timefmt;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::resource::{DEFAULT_SORT, JSON, of_type, resource_json, type_of, visible};
use super::{
    ApiError, ApiResult, Identity, Page, bool_param, identity, json_body, json_response, link_next,
    page, param, params, query_pairs,
};
use crate::gnocchi::Gnocchi;
use crate::gnocchi::catalog::Resource;

#[allow(clippy::too_many_arguments)]
pub(super) fn list_page(
    mut rs: Vec<&Resource>,
    t: &ResourceType,
    who: &Identity,
    p: &Page,
    q: &[(String, String)],
    path: &str,
    history: bool,
    render: impl Fn(&Resource) -> Value,
) -> ApiResult {
    let mut err = None;
    rs.sort_by(|a, b| {
        for (k, asc) in &p.sort {
            let (x, y) = match (attr_of(a, k, t, who), attr_of(b, k, t, who)) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(e), _) | (_, Err(e)) => {
                    err.get_or_insert(e);
                    return Ordering::Equal;
                }
            };
            let o = cmp_typed(&x, &y);
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.id.cmp(&b.id).then(a.revision.cmp(&b.revision))
    });
    if let Some(e) = err {
        return Err(ApiError::bad(format!(
            "Invalid pagination: `Sort key supplied is invalid: {e}'"
        )));
    }
    let key = |r: &Resource| {
        if history {
            format!("{}@{}", r.id, r.revision)
        } else {
            r.id.clone()
        }
    };
    let start = match &p.marker {
        None => 0,
        Some(m) => {
            let pos = rs.iter().position(|r| key(r) == *m).ok_or_else(|| {
                ApiError::bad(format!("Invalid pagination: `Unable to find marker {m}'"))
            })?;
            pos + 1
        }
    };
    let items: Vec<&Resource> = rs.into_iter().skip(start).take(p.limit).collect();
    let marker = items.last().map(|r| key(r));
    let list: Vec<Value> = items.iter().map(|r| render(r)).collect();
    let n = list.len();
    let mut resp = json_response(StatusCode::OK, &Value::Array(list));
    link_next(&mut resp, path, q, p, n, marker);
    Ok(resp)
}

/// `GET /v1/resource/{type}`.
pub async fn list_resources(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(rtype): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    search(&g, &who, &rtype, None, &q, uri.path())
}

/// `POST /v1/search/resource/{type}`: a JSON filter body or `?filter=`.
pub async fn search_resources(
    State(g): State<super::State>,
    h: HeaderMap,
    Path(rtype): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let filter = request_filter(&h, &body, &q)?;
    search(&g, &who, &rtype, filter.as_ref(), &q, uri.path())
}

/// The filter of a search request: JSON body, else `filter=` string.
pub fn request_filter(
    h: &HeaderMap,
    body: &Bytes,
    q: &[(String, String)],
) -> ApiResult<Option<Filter>> {
    if !body.is_empty() {
        let v = json_body(h, body, JSON)?;
        if v.as_object().is_some_and(Map::is_empty) {
            return Ok(None);
        }
        return filter::from_json(&v).map(Some).map_err(filter_error);
    }
    match param(q, "filter") {
        Some(s) if !s.trim().is_empty() => filter::parse(s).map(Some).map_err(filter_error),
        _ => Ok(None),
    }
}

/// A filter error as Gnocchi answers it.
pub fn filter_error(e: FilterError) -> ApiError {
    ApiError::detailed(StatusCode::BAD_REQUEST, e.description())
}

fn search(
    g: &Gnocchi,
    who: &Identity,
    rtype: &str,
    filter: Option<&Filter>,
    q: &[(String, String)],
    path: &str,
) -> ApiResult {
    let p = page(q, DEFAULT_SORT)?;
    let details = bool_param(q, "details", false)?;
    let history = bool_param(q, "history", false)?;
    let attrs: Vec<&str> = params(q, "attrs");
    let v = g.catalog.view();
    let t = type_of(&v, rtype)?;
    let mut rs: Vec<&Resource> = Vec::new();
    for r in v
        .resources()
        .filter(|r| of_type(r, rtype) && visible(who, r))
    {
        let revs: Vec<&Resource> = if history {
            v.history(&r.id).iter().chain(std::iter::once(r)).collect()
        } else {
            vec![r]
        };
        for rev in revs {
            let keep = match filter {
                None => true,
                Some(f) => eval(f, rev, t, who)?,
            };
            if keep {
                rs.push(rev);
            }
        }
    }
    let with_attrs = rtype != "generic" || details;
    list_page(rs, t, who, &p, q, path, history, |r| {
        let metrics = v.resource_metrics(&r.id);
        resource_json(r, Some(&metrics), with_attrs, &attrs)
    })
}

// ----- filter evaluation -----

struct ResourceAttrs<'a> {
    r: &'a Resource,
    t: &'a ResourceType,
    who: &'a Identity,
}

pub(super) fn eval(f: &Filter, r: &Resource, t: &ResourceType, who: &Identity) -> ApiResult<bool> {
    f.matches(&ResourceAttrs { r, t, who })
        .map_err(filter_error)
}

fn attr_of(r: &Resource, k: &str, t: &ResourceType, who: &Identity) -> Result<Typed, FilterError> {
    ResourceAttrs { r, t, who }.get(k)
}

fn cmp_typed(a: &Typed, b: &Typed) -> Ordering {
    use Typed::*;
    match (a, b) {
        (Null, Null) => Ordering::Equal,
        (Null, _) => Ordering::Greater,
        (_, Null) => Ordering::Less,
        (Str(x), Str(y)) => x.cmp(y),
        (Num(x), Num(y)) => x.total_cmp(y),
        (Bool(x), Bool(y)) => x.cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn opt(s: &Option<String>) -> Typed {
    s.as_ref().map_or(Typed::Null, |s| Typed::Str(s.clone()))
}

impl AttrSource for ResourceAttrs<'_> {
    fn get(&self, attr: &str) -> Result<Typed, FilterError> {
        let r = self.r;
        Ok(match attr {
            "id" => Typed::Str(r.id.clone()),
            "type" => Typed::Str(r.type_.clone()),
            "creator" => opt(&r.creator),
            "created_by_user_id" => opt(&r
                .creator
                .as_ref()
                .map(|c| c.split(':').next().unwrap_or("").to_string())),
            "created_by_project_id" => opt(&r
                .creator
                .as_ref()
                .map(|c| c.split_once(':').map_or("", |x| x.1).to_string())),
            "original_resource_id" => Typed::Str(r.original_resource_id.clone()),
            "user_id" => opt(&r.user_id),
            "project_id" => opt(&r.project_id),
            "started_at" => Typed::Time(r.started_at),
            "ended_at" => r.ended_at.map_or(Typed::Null, Typed::Time),
            "revision_start" => Typed::Time(r.revision_start),
            "revision_end" => r.revision_end.map_or(Typed::Null, Typed::Time),
            "lifespan" => match r.ended_at {
                None => Typed::Null,
                Some(e) => Typed::Num((e - r.started_at) as f64 / 1e6),
            },
            _ => {
                let a = self
                    .t
                    .attributes
                    .get(attr)
                    .ok_or_else(|| FilterError::unknown_attribute(&self.t.name, attr))?;
                match r.attrs.get(attr).unwrap_or(&Value::Null) {
                    Value::Null => Typed::Null,
                    Value::String(s) => match a.kind {
                        AttrKind::Datetime => timefmt::parse_timestamp_str(s, 0)
                            .map(Typed::Time)
                            .unwrap_or(Typed::Str(s.clone())),
                        _ => Typed::Str(s.clone()),
                    },
                    Value::Number(n) => Typed::Num(n.as_f64().unwrap_or(f64::NAN)),
                    Value::Bool(b) => Typed::Bool(*b),
                    other => Typed::Str(other.to_string()),
                }
            }
        })
    }

    fn coerce(&self, attr: &str, v: &Value) -> Result<Typed, FilterError> {
        let bad = || FilterError::invalid_value(v, attr);
        if v.is_null() {
            return Ok(Typed::Null);
        }
        let kind = match attr {
            "id" => {
                let s = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                return timefmt::resource_uuid(&s, &self.who.creator())
                    .map(Typed::Str)
                    .map_err(|_| bad());
            }
            "started_at" | "ended_at" | "revision_start" | "revision_end" => {
                Some(AttrKind::Datetime)
            }
            "lifespan" => {
                let ms = timefmt::parse_timespan(v).map_err(|_| bad())?;
                return Ok(Typed::Num(ms as f64 / 1000.0));
            }
            "type"
            | "creator"
            | "created_by_user_id"
            | "created_by_project_id"
            | "original_resource_id"
            | "user_id"
            | "project_id" => None,
            _ => Some(
                self.t
                    .attributes
                    .get(attr)
                    .ok_or_else(|| FilterError::unknown_attribute(&self.t.name, attr))?
                    .kind
                    .clone(),
            ),
        };
        Ok(match (kind, v) {
            (Some(AttrKind::Datetime), v) => {
                Typed::Time(timefmt::parse_timestamp(v, self.r.revision_start).map_err(|_| bad())?)
            }
            (Some(AttrKind::Number { .. }), Value::Number(n)) => {
                Typed::Num(n.as_f64().ok_or_else(bad)?)
            }
            (Some(AttrKind::Number { .. }), Value::String(s)) => {
                Typed::Num(s.parse().map_err(|_| bad())?)
            }
            (Some(AttrKind::Bool), Value::Bool(b)) => Typed::Bool(*b),
            (Some(AttrKind::Bool), Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "t" | "yes" => Typed::Bool(true),
                "false" | "0" | "f" | "no" => Typed::Bool(false),
                _ => return Err(bad()),
            },
            (Some(AttrKind::Uuid), v) => {
                let s = v.as_str().ok_or_else(bad)?;
                Typed::Str(
                    uuid::Uuid::parse_str(s)
                        .map_err(|_| bad())?
                        .hyphenated()
                        .to_string(),
                )
            }
            (_, Value::String(s)) => Typed::Str(s.clone()),
            (_, Value::Number(n)) => Typed::Str(n.to_string()),
            (_, Value::Bool(b)) => Typed::Str(b.to_string()),
            _ => return Err(bad()),
        })
    }
}

/// The current resources of `rtype` the caller may see that match `filter`.
pub fn matching_resources(
    g: &Gnocchi,
    who: &Identity,
    rtype: &str,
    filter: Option<&Filter>,
) -> ApiResult<Vec<Resource>> {
    let v = g.catalog.view();
    let t = type_of(&v, rtype)?;
    let mut out = Vec::new();
    for r in v
        .resources()
        .filter(|r| of_type(r, rtype) && visible(who, r))
    {
        if filter.map_or(Ok(true), |f| eval(f, r, t, who))? {
            out.push(r.clone());
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
