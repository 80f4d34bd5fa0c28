//! The Prometheus HTTP API (as Prometheus 2.42 answers it, for Grafana,
//! promtool and other Prometheus clients) over the [`Engine`] and the
//! [`Tsdb`]'s metadata reads.
//!
//! Routes (GET, and POST with a form-encoded body where Prometheus takes
//! both): `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/{name}/values`, `/api/v1/metadata`,
//! `/api/v1/query_exemplars`, `/api/v1/format_query`, `/api/v1/rules`,
//! `/api/v1/alerts`, `/api/v1/status/{buildinfo,runtimeinfo,flags,config}`
//! and `/federate`. Answers are `{"status":"success","data":...}`; errors
//! `{"status":"error","errorType":...,"error":...}` with Prometheus's
//! status codes and wording. Until the database is open every route
//! answers 503.

mod encode;
mod params;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::db::Tsdb;
use crate::http::TsdbCell;
use crate::promql::{Engine, EngineOptions, QueryError, QueryValue};

pub use encode::{federate_text, go_float_g, query_data};
pub use params::{
    MAX_TIME_MS, MIN_TIME_MS, Params, parse_duration, parse_match_params, parse_time,
};

/// The staleness marker Prometheus writes when a series disappears.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Most points a range query may return per series (Prometheus's limit).
const MAX_POINTS: i128 = 11_000;

/// What the API needs besides the database.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Engine limits (also the `/federate` lookback).
    pub engine: EngineOptions,
    /// When the process started, ms since the epoch (`runtimeinfo`).
    pub start_time_ms: i64,
}

#[derive(Debug, Clone)]
struct ApiState {
    db: TsdbCell,
    engine: Arc<OnceLock<Engine>>,
    opts: Arc<ApiOptions>,
}

impl ApiState {
    /// The database and its engine, or the 503 of a starting server.
    fn ready(&self) -> Result<(Arc<Tsdb>, Engine), ApiError> {
        let db = self.db.get().cloned().ok_or_else(|| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "unavailable",
            message: "starting: the write-ahead log is being replayed; retry shortly".into(),
        })?;
        let engine = self
            .engine
            .get_or_init(|| Engine::new(db.clone(), self.opts.engine.clone()))
            .clone();
        Ok((db, engine))
    }
}

/// The Prometheus API routes over the database in `db` (503 until it is set).
pub fn router(db: TsdbCell, opts: ApiOptions) -> Router {
    let state = ApiState {
        db,
        engine: Arc::new(OnceLock::new()),
        opts: Arc::new(opts),
    };
    Router::new()
        .route("/api/v1/query", get(query).post(query))
        .route("/api/v1/query_range", get(query_range).post(query_range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route(
            "/api/v1/query_exemplars",
            get(query_exemplars).post(query_exemplars),
        )
        .route("/api/v1/format_query", get(format_query).post(format_query))
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/status/buildinfo", get(buildinfo))
        .route("/api/v1/status/runtimeinfo", get(runtimeinfo))
        .route("/api/v1/status/flags", get(flags))
        .route("/api/v1/status/config", get(config))
        .route("/federate", get(federate))
        .with_state(state)
}

// ---- responses -------------------------------------------------------------

/// An error answer: `{"status":"error","errorType":<kind>,"error":<message>}`.
#[derive(Debug, Clone, PartialEq)]
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn bad_data(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            message: message.into(),
        }
    }

    /// Prometheus's `invalidParamError`.
    fn invalid_param(name: &str, message: &str) -> Self {
        Self::bad_data(format!("invalid parameter {name:?}: {message}"))
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        if let QueryError::Parse(m) = &e {
            return Self::invalid_param("query", m);
        }
        if let QueryError::Storage(m) = &e {
            tracing::error!(error = %m, "query failed reading storage");
        }
        Self {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind: e.error_type(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::from("{\"status\":\"error\",\"errorType\":");
        encode::json_str(&mut body, self.kind);
        body.push_str(",\"error\":");
        encode::json_str(&mut body, &self.message);
        body.push('}');
        json_response(self.status, body)
    }
}

/// What a handler answers.
type ApiResult = Result<Response, ApiError>;

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"status":"success","data":<data>}` (`data` is JSON already).
fn success(data: &str) -> ApiResult {
    Ok(json_response(
        StatusCode::OK,
        format!("{{\"status\":\"success\",\"data\":{data}}}"),
    ))
}

fn value_response(r: Result<QueryValue, QueryError>) -> ApiResult {
    let mut data = String::new();
    query_data(&mut data, &r?);
    success(&data)
}

// ---- parameters ------------------------------------------------------------

async fn read_params(req: Request) -> Result<Params, ApiError> {
    Params::read(req).await.map_err(ApiError::bad_data)
}

/// An optional time parameter (Prometheus's `parseTimeParam`).
fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(name) {
        "" => Ok(default),
        s => parse_time(s).map_err(|e| {
            ApiError::invalid_param(name, &format!("Invalid time value for '{name}': {e}"))
        }),
    }
}

/// The `timeout` parameter, if given.
fn timeout_param(p: &Params) -> Result<Option<Duration>, ApiError> {
    match p.get("timeout") {
        "" => Ok(None),
        s => parse_duration(s)
            .map(|ns| Some(Duration::from_nanos(u64::try_from(ns).unwrap_or(0))))
            .map_err(|e| ApiError::invalid_param("timeout", &e)),
    }
}

async fn with_timeout(
    timeout: Option<Duration>,
    fut: impl Future<Output = Result<QueryValue, QueryError>>,
) -> Result<QueryValue, QueryError> {
    match timeout {
        None => fut.await,
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .unwrap_or(Err(QueryError::Timeout("expression evaluation"))),
    }
}

// ---- query -----------------------------------------------------------------

async fn query(State(st): State<ApiState>, req: Request) -> ApiResult {
    let (db, engine) = st.ready()?;
    let p = read_params(req).await?;
    let t = time_param(&p, "time", db.clock().now_ms())?;
    let timeout = timeout_param(&p)?;
    // The engine parses the query; a syntax error comes back as
    // `QueryError::Parse`, reported as `invalid parameter "query": ...`.
    let q = p.get("query");
    value_response(with_timeout(timeout, engine.instant_query(q, t)).await)
}

async fn query_range(State(st): State<ApiState>, req: Request) -> ApiResult {
    let (_, engine) = st.ready()?;
    let p = read_params(req).await?;
    let start = parse_time(p.get("start")).map_err(|e| ApiError::invalid_param("start", &e))?;
    let end = parse_time(p.get("end")).map_err(|e| ApiError::invalid_param("end", &e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns = parse_duration(p.get("step")).map_err(|e| ApiError::invalid_param("step", &e))?;
    let step_ms = step_ns / 1_000_000;
    if step_ms <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    // Go: `end.Sub(start) / step`, the difference saturating at the
    // largest time.Duration.
    let span_ns = (i128::from(end) - i128::from(start)) * 1_000_000;
    if span_ns.min(i128::from(i64::MAX)) / i128::from(step_ns) > MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let timeout = timeout_param(&p)?;
    let q = p.get("query");
    value_response(with_timeout(timeout, engine.range_query(q, start, end, step_ms)).await)
}

// ---- metadata --------------------------------------------------------------

async fn series(State(st): State<ApiState>, req: Request) -> ApiResult {
    let (db, _) = st.ready()?;
    let p = read_params(req).await?;
    let matches = p.all("match[]");
    if matches.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let start = time_param(&p, "start", MIN_TIME_MS)?;
    let end = time_param(&p, "end", MAX_TIME_MS)?;
    let sets = parse_match_params(&matches).map_err(|e| ApiError::invalid_param("match[]", &e))?;
    let mut data = String::from("[");
    for (i, l) in db.series_labels(&sets, start, end).iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        encode::labels_json(&mut data, l);
    }
    data.push(']');
    success(&data)
}

async fn labels(State(st): State<ApiState>, req: Request) -> ApiResult {
    let (db, _) = st.ready()?;
    let p = read_params(req).await?;
    let start = time_param(&p, "start", MIN_TIME_MS)?;
    let end = time_param(&p, "end", MAX_TIME_MS)?;
    let sets = parse_match_params(&p.all("match[]")).map_err(ApiError::bad_data)?;
    let mut data = String::new();
    encode::string_list(&mut data, &db.label_names_in(&sets, start, end));
    success(&data)
}

async fn label_values(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    req: Request,
) -> ApiResult {
    let (db, _) = st.ready()?;
    if !params::is_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let p = read_params(req).await?;
    let start = time_param(&p, "start", MIN_TIME_MS)?;
    let end = time_param(&p, "end", MAX_TIME_MS)?;
    let sets = parse_match_params(&p.all("match[]")).map_err(ApiError::bad_data)?;
    let mut data = String::new();
    encode::string_list(&mut data, &db.label_values_in(&name, &sets, start, end));
    success(&data)
}

/// No exemplars are stored: a valid query gets an empty list.
async fn query_exemplars(State(st): State<ApiState>, req: Request) -> ApiResult {
    st.ready()?;
    let p = read_params(req).await?;
    let start = time_param(&p, "start", MIN_TIME_MS)?;
    let end = time_param(&p, "end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    crate::promql::parse(p.get("query")).map_err(|e| ApiError::bad_data(e.to_string()))?;
    success("[]")
}

async fn format_query(State(st): State<ApiState>, req: Request) -> ApiResult {
    st.ready()?;
    let p = read_params(req).await?;
    let expr = crate::promql::parse(p.get("query"))?;
    let mut data = String::new();
    encode::json_str(&mut data, &expr.prettify());
    success(&data)
}

/// No metric metadata (HELP/TYPE) is stored yet.
async fn metadata(State(st): State<ApiState>) -> ApiResult {
    st.ready()?;
    success("{}")
}

/// No recording or alerting rules run inside the TSDB.
async fn rules(State(st): State<ApiState>, req: Request) -> ApiResult {
    st.ready()?;
    let p = read_params(req).await?;
    let typ = p.get("type").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            &format!("not supported value {typ:?}"),
        ));
    }
    success("{\"groups\":[]}")
}

async fn alerts(State(st): State<ApiState>) -> ApiResult {
    st.ready()?;
    success("{\"alerts\":[]}")
}

// ---- status ----------------------------------------------------------------

async fn buildinfo(State(st): State<ApiState>) -> ApiResult {
    st.ready()?;
    let v = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": "",
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    });
    success(&v.to_string())
}

async fn runtimeinfo(State(st): State<ApiState>) -> ApiResult {
    let (db, _) = st.ready()?;
    let start = rfc3339(st.opts.start_time_ms);
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let v = serde_json::json!({
        "startTime": start,
        "CWD": cwd,
        "reloadConfigSuccess": true,
        "lastConfigTime": start,
        "corruptionCount": 0,
        "goroutineCount": 0,
        "GOMAXPROCS": crate::cores(),
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": duration_text(db.options().retention),
    });
    success(&v.to_string())
}

async fn flags(State(st): State<ApiState>) -> ApiResult {
    let (db, _) = st.ready()?;
    let e = &st.opts.engine;
    let v = serde_json::json!({
        "query.lookback-delta": duration_text(e.lookback),
        "query.max-concurrency": e.max_concurrent.to_string(),
        "query.max-samples": e.max_samples.to_string(),
        "query.timeout": duration_text(e.timeout),
        "storage.tsdb.path": db.options().data_dir.display().to_string(),
        "storage.tsdb.retention.time": duration_text(db.options().retention),
    });
    success(&v.to_string())
}

async fn config(State(st): State<ApiState>) -> ApiResult {
    st.ready()?;
    success("{\"yaml\":\"\"}")
}

/// A duration as Prometheus prints one (`5m`, `1h30m`, `30d`, `0s`).
fn duration_text(d: Duration) -> String {
    altimeter_model::duration::format_duration(d.as_millis())
}

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond fraction when
/// non-zero), as Go prints a `time.Time` in JSON.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = altimeter_model::time::civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!("{frac:03}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

// ---- federation ------------------------------------------------------------

fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// `/federate?match[]=...`: the latest sample (within the lookback, not a
/// staleness marker) of every matching series, in the text format.
async fn federate(State(st): State<ApiState>, req: Request) -> Response {
    const PLAIN: &str = "text/plain; charset=utf-8";
    let Some(db) = st.db.get().cloned() else {
        return text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN,
            "starting: the write-ahead log is being replayed; retry shortly\n".into(),
        );
    };
    let p = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return text_response(StatusCode::BAD_REQUEST, PLAIN, e + "\n"),
    };
    let sets = match parse_match_params(&p.all("match[]")) {
        Ok(s) => s,
        Err(e) => return text_response(StatusCode::BAD_REQUEST, PLAIN, e + "\n"),
    };
    let maxt = db.clock().now_ms();
    let lookback = i64::try_from(st.opts.engine.lookback.as_millis()).unwrap_or(i64::MAX);
    let mint = maxt.saturating_sub(lookback);
    // No match[] selects nothing (Prometheus answers an empty page).
    let ids = if sets.is_empty() {
        Vec::new()
    } else {
        db.select_ids_any(&sets)
    };
    let data = match db.select_ids(&ids, mint, maxt).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "federation failed reading storage");
            return text_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                PLAIN,
                format!("storage error: {e}\n"),
            );
        }
    };
    let mut latest: Vec<_> = data
        .into_iter()
        .filter_map(|s| {
            let last = *s.samples.last()?;
            (last.v.to_bits() != STALE_NAN_BITS).then_some((s.labels, last.t, last.v))
        })
        .collect();
    latest.sort_by(|a, b| {
        a.0.metric_name()
            .cmp(b.0.metric_name())
            .then_with(|| a.0.cmp(&b.0))
    });
    text_response(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        federate_text(&latest),
    )
}
