//! The TSDB's HTTP routes: ingest (remote-write, text import), SQL, admin.
//!
//! Until the WAL replay has finished, every route answers 503 so that no
//! request is acknowledged by a half-open database.

use std::sync::{Arc, OnceLock};

use altimeter_model::Label;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use crate::db::Tsdb;
use crate::ingest::remote_write::BodyLimits;
use crate::ingest::{self, IngestError};

/// The database once it is open.
pub type TsdbCell = Arc<OnceLock<Arc<Tsdb>>>;

/// Router state.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The database (empty while starting).
    pub db: TsdbCell,
    /// Request body limits.
    pub limits: BodyLimits,
    /// Most rows a SQL answer carries.
    pub sql_max_rows: usize,
}

/// The routes: `POST /api/v1/write`, `POST /api/v1/import/prometheus`,
/// `POST /api/v1/sql`, `POST /api/v1/admin/flush`, `POST /api/v1/admin/compact`.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/api/v1/write", post(remote_write))
        .route("/api/v1/import/prometheus", post(import_prometheus))
        .route("/api/v1/sql", post(sql))
        .route("/api/v1/admin/flush", post(flush))
        .route("/api/v1/admin/compact", post(compact))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut r = (status, msg.into() + "\n").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn not_ready() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "starting: the write-ahead log is being replayed; retry shortly",
    )
}

/// How much of an oversized body is still read (and discarded) before the
/// refusal is sent. Closing a connection the client is still writing to
/// makes the kernel reset it, and the client then sees a broken pipe
/// instead of the 400 (and a remote-write client would retry the same
/// batch forever); Go's net/http lingers the same way.
const DRAIN_MAX: usize = 256 << 20;

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    use futures::StreamExt;
    let unreadable = |e: axum::Error| {
        text(
            StatusCode::BAD_REQUEST,
            format!("request body is unreadable: {e}"),
        )
    };
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if buf.len() + chunk.len() > limit {
            let mut seen = buf.len() + chunk.len();
            while seen <= DRAIN_MAX {
                match stream.next().await {
                    Some(Ok(c)) => seen += c.len(),
                    _ => break,
                }
            }
            return Err(text(
                StatusCode::BAD_REQUEST,
                format!("request body is over the limit of {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// 204 and the sample count for a stored request; the error's status,
/// message and rejection count otherwise.
fn ingest_response(db: &Tsdb, protocol: &'static str, r: Result<u64, IngestError>) -> Response {
    let e = match r {
        Ok(n) => {
            db.metrics()
                .ingest_samples
                .get_or_create(&vec![("protocol", protocol)])
                .inc_by(n);
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(e) => e,
    };
    db.metrics()
        .ingest_rejected
        .get_or_create(&vec![("protocol", protocol), ("reason", e.reason())])
        .inc();
    match e {
        IngestError::BadRequest { message, .. } => {
            tracing::debug!(protocol, error = %message, "ingest request rejected");
            text(
                StatusCode::BAD_REQUEST,
                format!("{message}; nothing from this request was stored"),
            )
        }
        IngestError::Storage(err) => {
            tracing::error!(protocol, error = %err, "ingest failed in storage");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storage error, retry later: {err}"),
            )
        }
    }
}

async fn remote_write(State(st): State<HttpState>, req: Request) -> Response {
    let Some(db) = st.db.get().cloned() else {
        return not_ready();
    };
    let body = match read_body(req.into_body(), st.limits.max_body).await {
        Ok(b) => b,
        Err(r) => {
            db.metrics()
                .ingest_rejected
                .get_or_create(&vec![("protocol", "remote_write"), ("reason", "too_large")])
                .inc();
            return r;
        }
    };
    let r = ingest::remote_write(&db, &body, st.limits).await;
    ingest_response(&db, "remote_write", r)
}

async fn import_prometheus(State(st): State<HttpState>, req: Request) -> Response {
    let Some(db) = st.db.get().cloned() else {
        return not_ready();
    };
    let query = req.uri().query().unwrap_or("").to_string();
    let extra: Vec<Label> = match serde_urlencoded_pairs(&query) {
        Ok(p) => p,
        Err(m) => return text(StatusCode::BAD_REQUEST, m),
    };
    let body = match read_body(req.into_body(), st.limits.max_decompressed).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = ingest::import_text(&db, &body, &extra).await;
    ingest_response(&db, "prometheus_text", r)
}

/// Parses repeated `extra_label=name=value` query parameters
/// (VictoriaMetrics-compatible); other parameters are ignored.
fn serde_urlencoded_pairs(query: &str) -> Result<Vec<Label>, String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "extra_label")
        .map(|(_, kv)| {
            kv.split_once('=')
                .map(|(k, v)| Label::new(k, v))
                .ok_or_else(|| format!("extra_label {kv:?} must look like name=value"))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct SqlRequest {
    query: String,
}

async fn sql(State(st): State<HttpState>, body: Bytes) -> Response {
    let Some(db) = st.db.get().cloned() else {
        return not_ready();
    };
    let req: SqlRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("body must be JSON {{\"query\": \"...\"}}: {e}"),
            );
        }
    };
    match crate::sql::run(db, &req.query, st.sql_max_rows).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(crate::sql::SqlError::Plan(m)) => json_error(StatusCode::BAD_REQUEST, m),
        Err(crate::sql::SqlError::Execution(m)) => json_error(StatusCode::UNPROCESSABLE_ENTITY, m),
    }
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// `POST /api/v1/admin/flush[?compact=1]`: persist the head now; with
/// `compact`, then also merge blocks of the same window (like
/// VictoriaMetrics' `/internal/force_merge`).
async fn flush(State(st): State<HttpState>, req: Request) -> Response {
    let Some(db) = st.db.get().cloned() else {
        return not_ready();
    };
    let compact = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "compact" && (v == "1" || v == "true"));
    let r = async {
        let stats = db.flush().await?;
        let mut v = serde_json::to_value(stats).unwrap_or_default();
        if compact {
            v["blocks_compacted"] = db.compact().await?.into();
        }
        Ok::<_, crate::TsdbError>(v)
    }
    .await;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn compact(State(st): State<HttpState>) -> Response {
    let Some(db) = st.db.get().cloned() else {
        return not_ready();
    };
    let r = async {
        let written = db.compact().await?;
        let dropped = db.enforce_retention().await?;
        Ok::<_, crate::TsdbError>(
            serde_json::json!({ "blocks_written": written, "blocks_dropped": dropped }),
        )
    }
    .await;
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
