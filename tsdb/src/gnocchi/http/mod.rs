//! Gnocchi's v1 HTTP API, as gnocchiclient, python-openstackclient,
//! Ceilometer's publisher and Aodh use it.
//!
//! Route groups: [`policy`] (archive policies and rules), [`resource_type`],
//! [`resource`] (resources and their history), [`search`] (listing and
//! search), [`metric`] (metrics and
//! measures, batches), [`aggregates`] (`/v1/aggregates`), [`info`]
//! (`/v1`, capabilities, status).
//!
//! Authentication follows Gnocchi's modes without Keystone: `basic`
//! (`Authorization: basic base64("<user>:")`, the password is ignored, user
//! `admin` is the administrator) and the trusted `X-User-Id` /
//! `X-Project-Id` / `X-Roles` headers gnocchiclient's `gnocchi-noauth`
//! plugin sends (role `admin` administers). Non-administrators see only
//! resources and metrics of their project or that they created.
//!
//! Errors use Gnocchi's envelope: `{"code": 404, "title": "Not Found",
//! "description": "Metric … does not exist"}` (the description may be an
//! object with `cause`, `reason`, `detail`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Gnocchi;
use super::catalog::CatalogError;
use crate::db::{Tsdb, TsdbError};

pub mod aggregates;
pub mod info;
pub mod metric;
pub mod policy;
pub mod resource;
pub mod resource_type;
pub mod search;

/// Shared router state.
pub type State = Arc<Gnocchi>;

/// The Gnocchi v1 routes, under `/v1`.
pub fn router(g: Arc<Gnocchi>) -> Router {
    let routes = Router::new()
        .route("/v1", get(info::index))
        .route("/v1/capabilities", get(info::capabilities))
        .route("/v1/status", get(info::status))
        .route(
            "/v1/archive_policy",
            get(policy::list_policies).post(policy::create_policy),
        )
        .route(
            "/v1/archive_policy/{name}",
            get(policy::get_policy)
                .patch(policy::update_policy)
                .delete(policy::delete_policy),
        )
        .route(
            "/v1/archive_policy_rule",
            get(policy::list_rules).post(policy::create_rule),
        )
        .route(
            "/v1/archive_policy_rule/{name}",
            get(policy::get_rule)
                .patch(policy::rename_rule)
                .delete(policy::delete_rule),
        )
        .route(
            "/v1/resource_type",
            get(resource_type::list_types).post(resource_type::create_type),
        )
        .route(
            "/v1/resource_type/{name}",
            get(resource_type::get_type)
                .patch(resource_type::patch_type)
                .delete(resource_type::delete_type),
        )
        .route("/v1/resource", get(resource_type::list_type_urls))
        .route(
            "/v1/resource/{rtype}",
            get(search::list_resources)
                .post(resource::create_resource)
                .delete(resource::batch_delete),
        )
        .route(
            "/v1/resource/{rtype}/{id}",
            get(resource::get_resource)
                .patch(resource::update_resource)
                .delete(resource::delete_resource),
        )
        .route("/v1/resource/{rtype}/{id}/history", get(resource::history))
        .route(
            "/v1/resource/{rtype}/{id}/metric",
            get(metric::list_resource_metrics).post(metric::add_resource_metrics),
        )
        .route(
            "/v1/resource/{rtype}/{id}/metric/{name}",
            get(metric::get_named).delete(metric::delete_named),
        )
        .route(
            "/v1/resource/{rtype}/{id}/metric/{name}/measures",
            get(metric::get_named_measures).post(metric::post_named_measures),
        )
        .route(
            "/v1/search/resource/{rtype}",
            post(search::search_resources),
        )
        .route(
            "/v1/metric",
            get(metric::list_metrics).post(metric::create_metric),
        )
        .route(
            "/v1/metric/{id}",
            get(metric::get_metric).delete(metric::delete_metric),
        )
        .route(
            "/v1/metric/{id}/measures",
            get(metric::get_measures).post(metric::post_measures),
        )
        .route("/v1/batch/metrics/measures", post(metric::batch_metrics))
        .route(
            "/v1/batch/resources/metrics/measures",
            post(metric::batch_resources),
        )
        .route("/v1/aggregates", post(aggregates::aggregates));
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(256 << 20))
        .with_state(g)
}

/// Unknown paths: Gnocchi's JSON 404 under `/v1`, plain text elsewhere
/// (this router's fallback serves the whole server).
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path() == "/v1" || uri.path().starts_with("/v1/") {
        ApiError::not_found("The resource could not be found.").into_response()
    } else {
        let mut r = (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    }
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for the requested URL.",
    )
    .into_response()
}

/// Gnocchi's clients ask for `/v1/archive_policy/` and
/// `/v1/archive_policy//NAME`; pecan answers both. Applied to every request
/// before routing (the server wraps its whole router with it): repeated
/// slashes collapse and a trailing slash goes.
pub fn normalize_path<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    if path.len() <= 1 || (!path.ends_with('/') && !path.contains("//")) {
        return req;
    }
    let mut p = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && p.ends_with('/') {
            continue;
        }
        p.push(c);
    }
    while p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    let pq = match req.uri().query() {
        Some(q) => format!("{p}?{q}"),
        None => p,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(x) = pq.parse() {
        parts.path_and_query = Some(x);
        if let Ok(u) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
    }
    req
}

/// Key order of Gnocchi's error descriptions (Python dicts keep insertion
/// order and clients print them as they come).
const ORDER: &[&str] = &[
    "cause",
    "reason",
    "detail",
    "metric",
    "aggregation_method",
    "resource_id",
    "original_resource_id",
];

/// `validate_qs`' argument errors list `detail` before `reason`.
const ARG_ORDER: &[&str] = &["cause", "detail", "reason"];

/// An error answer in Gnocchi's envelope.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// A string or an object (`cause`, `reason`, `detail`).
    pub description: Value,
    /// The order object keys are written in.
    order: &'static [&'static str],
}

impl ApiError {
    /// An error with a plain string description.
    pub fn new(status: StatusCode, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            description: Value::String(msg.into()),
            order: ORDER,
        }
    }
    /// 400 with a string.
    pub fn bad(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, msg)
    }
    /// 404 with a string.
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, msg)
    }
    /// 409 with a string.
    pub fn conflict(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, msg)
    }
    /// 403, Gnocchi's policy denial.
    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Access was denied to this resource.")
    }
    /// An error with a structured description.
    pub fn detailed(status: StatusCode, description: Value) -> ApiError {
        ApiError {
            status,
            description,
            order: ORDER,
        }
    }
    /// `{"cause": "Argument value error", "detail": <param>, "reason": …}`.
    pub fn argument(param: &str, reason: impl Into<String>) -> ApiError {
        ApiError {
            order: ARG_ORDER,
            ..ApiError::detailed(
                StatusCode::BAD_REQUEST,
                json!({"cause": "Argument value error", "detail": param, "reason": reason.into()}),
            )
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        tracing::error!(error = %e, "gnocchi catalog failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The catalog database failed; see the server log.",
        )
    }
}

impl From<TsdbError> for ApiError {
    fn from(e: TsdbError) -> Self {
        match e {
            TsdbError::OutOfBounds { .. } => ApiError::bad(e.to_string()),
            _ => {
                tracing::error!(error = %e, "gnocchi storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The storage engine failed; see the server log.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let mut desc = String::new();
        write_ordered(&mut desc, &self.description, self.order);
        let body = format!(
            "{{\"code\": {}, \"description\": {desc}, \"title\": {}}}",
            self.status.as_u16(),
            json!(title)
        );
        json_text_response(self.status, body)
    }
}

/// JSON text with object keys in `order` first, the rest sorted.
fn write_ordered(out: &mut String, v: &Value, order: &[&str]) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&json!(k).to_string());
                out.push_str(": ");
                write_ordered(out, &m[k], order);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_ordered(out, x, order);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON answer from already-serialized text.
pub fn json_text_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Handler result.
pub type ApiResult<T = Response> = Result<T, ApiError>;

/// 201 with a JSON body and `Location: <location>`.
pub fn created(location: String, v: &Value) -> Response {
    let mut r = json_response(StatusCode::CREATED, v);
    if let Ok(l) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}

/// A JSON answer.
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The database, or 503 while the WAL replays.
pub fn db(g: &Gnocchi) -> ApiResult<Arc<Tsdb>> {
    g.db.get().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: the write-ahead log is being replayed; retry shortly",
        )
    })
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User name or id.
    pub user: String,
    /// Project id (empty in basic mode).
    pub project: String,
    /// Whether the caller administers everything.
    pub admin: bool,
    /// Basic mode (creator is the user alone).
    pub basic: bool,
}

impl Identity {
    /// Gnocchi's `creator` for objects this caller creates.
    pub fn creator(&self) -> String {
        if self.basic {
            self.user.clone()
        } else {
            format!("{}:{}", self.user, self.project)
        }
    }

    /// Whether the caller may see an object of `project_id` made by `creator`.
    pub fn may_see(&self, project_id: Option<&str>, creator: Option<&str>) -> bool {
        if self.admin {
            return true;
        }
        let mine = |c: &str| {
            if self.basic {
                c == self.user
            } else {
                c.ends_with(&format!(":{}", self.project))
            }
        };
        (!self.project.is_empty() && project_id == Some(self.project.as_str()))
            || creator.is_some_and(mine)
    }
}

/// 401 without an identity, 403 unless it administers.
pub fn admin_only(h: &HeaderMap) -> ApiResult<()> {
    if identity(h)?.admin {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Reads the caller's identity from the request headers; 401 without one.
pub fn identity(h: &HeaderMap) -> ApiResult<Identity> {
    if let Some(a) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = a.split_once(' ').unwrap_or((a, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64_decode(rest.trim())
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(unauthorized)?;
            let user = decoded.split_once(':').map_or(decoded.as_str(), |x| x.0);
            if user.is_empty() {
                return Err(unauthorized());
            }
            return Ok(Identity {
                user: user.to_string(),
                project: String::new(),
                admin: user == "admin",
                basic: true,
            });
        }
    }
    let hv = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    match (hv("x-user-id"), hv("x-project-id")) {
        (Some(user), Some(project)) => {
            let admin = hv("x-roles")
                .is_some_and(|r| r.split(',').any(|x| x.trim().eq_ignore_ascii_case("admin")));
            Ok(Identity {
                user,
                project,
                admin,
                basic: false,
            })
        }
        _ => Err(unauthorized()),
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "The server could not verify that you are authorized to access the URL requested. Use HTTP basic authentication (user `admin`, empty password) or the X-User-Id/X-Project-Id headers.",
    )
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len();
        if n < 2 {
            return None;
        }
        out.push((acc >> 16) as u8);
        if n > 2 {
            out.push((acc >> 8) as u8);
        }
        if n > 3 {
            out.push(acc as u8);
        }
    }
    Some(out)
}

/// Parses a JSON request body; 415 for another content type (Gnocchi's
/// rule), 400 for bad JSON.
pub fn json_body(h: &HeaderMap, body: &Bytes, types: &[&str]) -> ApiResult<Value> {
    let ct = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !types.iter().any(|t| mime.eq_ignore_ascii_case(t)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "The server does not support the media type {mime:?}; send {}",
                types.join(" or ")
            ),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::detailed(
            StatusCode::BAD_REQUEST,
            json!({"cause": "Unable to decode body", "reason": e.to_string()}),
        )
    })
}

/// A JSON body deserialized straight into `T` when it is JSON of that
/// shape; `None` sends the caller to [`json_body`] for Gnocchi's exact
/// error.
pub fn json_body_typed<T: serde::de::DeserializeOwned>(h: &HeaderMap, body: &Bytes) -> Option<T> {
    let ct = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Query parameters in order, repeated ones kept.
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// The last value of parameter `k`.
pub fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// Every value of parameter `k`.
pub fn params<'a>(q: &'a [(String, String)], k: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// oslo's `bool_from_string(strict=True)`.
pub fn bool_param(q: &[(String, String)], k: &str, default: bool) -> ApiResult<bool> {
    match param(q, k) {
        None => Ok(default),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
            "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
            _ => Err(ApiError::bad(format!(
                "Unable to parse `{k}': Unrecognized value '{v}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
            ))),
        },
    }
}

/// Most items a list answers at once (Gnocchi's `[api]max_limit`).
pub const MAX_LIMIT: usize = 1000;

/// `limit`, `marker`, `sort` of a list request.
#[derive(Debug, Clone)]
pub struct Page {
    /// Page size.
    pub limit: usize,
    /// Last item of the previous page.
    pub marker: Option<String>,
    /// `key:dir` sort keys.
    pub sort: Vec<(String, bool)>,
    /// The sort keys as given (for the next link).
    pub sort_raw: Vec<String>,
}

/// Parses pagination parameters.
pub fn page(q: &[(String, String)], default_sort: &[&str]) -> ApiResult<Page> {
    let limit = match param(q, "limit") {
        None => MAX_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|&n| n >= 1)
            .map(|n| (n as usize).min(MAX_LIMIT))
            .ok_or_else(|| {
                ApiError::detailed(
                    StatusCode::BAD_REQUEST,
                    json!({"cause": "Argument value error", "reason": format!("invalid literal for int() with base 10: '{l}' for dictionary value @ data['limit']")}),
                )
            })?,
    };
    let mut sort_raw: Vec<String> = params(q, "sort").iter().map(|s| s.to_string()).collect();
    if sort_raw.is_empty() {
        sort_raw = default_sort.iter().map(|s| s.to_string()).collect();
    }
    let mut sort = Vec::new();
    for s in &sort_raw {
        let (k, dir) = s.split_once(':').unwrap_or((s, "asc"));
        let asc = match dir {
            "asc" => true,
            "desc" => false,
            _ => {
                return Err(ApiError::bad(format!(
                    "Invalid pagination: `Invalid sort direction {dir}'"
                )));
            }
        };
        sort.push((k.to_string(), asc));
    }
    Ok(Page {
        limit,
        marker: param(q, "marker").map(str::to_string),
        sort,
        sort_raw,
    })
}

/// Adds `Link: <path?…marker=…>; rel="next"` when a page came back full.
pub fn link_next(
    r: &mut Response,
    path: &str,
    q: &[(String, String)],
    p: &Page,
    n: usize,
    marker: Option<String>,
) {
    if n < p.limit {
        return;
    }
    let Some(marker) = marker else { return };
    let mut opts: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| k != "marker" && k != "sort" && k != "limit")
        .cloned()
        .collect();
    opts.push(("limit".into(), p.limit.to_string()));
    for s in &p.sort_raw {
        opts.push(("sort".into(), s.clone()));
    }
    opts.push(("marker".into(), marker));
    opts.sort();
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(opts)
        .finish();
    if let Ok(v) = HeaderValue::from_str(&format!("<{path}?{qs}>; rel=\"next\"")) {
        r.headers_mut().append(header::LINK, v);
    }
}

#[cfg(test)]
mod tests;
