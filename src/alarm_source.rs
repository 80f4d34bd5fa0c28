//! The alarm evaluator's view of this server: PromQL through the TSDB's
//! engine and the Gnocchi v1 API through its router, in process, with the
//! same requests Aodh's evaluator sends to Gnocchi over HTTP (so 404s,
//! archive-policy granularities and search semantics are Gnocchi's).

use std::sync::{Arc, OnceLock};

use altimeter_alarms::source::Source;
use altimeter_tsdb::http::TsdbCell;
use altimeter_tsdb::promql::{Engine, EngineOptions, QueryValue};
use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use tower::ServiceExt;

/// PromQL and Gnocchi, in process.
#[derive(Clone)]
pub struct LocalSource {
    pub db: TsdbCell,
    pub engine: EngineOptions,
    pub gnocchi: axum::Router,
    pub project_label: String,
    /// The alarms' own engine (own concurrency slots: dashboards cannot
    /// starve evaluation), made once the TSDB is open.
    pub engine_cell: Arc<OnceLock<Engine>>,
}

impl std::fmt::Debug for LocalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSource").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Source for LocalSource {
    async fn promql(
        &self,
        query: &str,
        scope: Option<&str>,
        t_ms: i64,
    ) -> Result<Vec<f64>, String> {
        let Some(db) = self.db.get() else {
            return Err("the TSDB is still replaying its write-ahead log".into());
        };
        let scoped;
        let query = match scope {
            Some(p) => {
                scoped = altimeter_tsdb::promql::scope_query(query, &self.project_label, p)
                    .map_err(|e| e.to_string())?;
                scoped.as_str()
            }
            None => query,
        };
        let engine = self
            .engine_cell
            .get_or_init(|| Engine::new(db.clone(), self.engine.clone()));
        match engine
            .instant_query(query, t_ms)
            .await
            .map_err(|e| e.to_string())?
        {
            QueryValue::Scalar { v, .. } => Ok(vec![v]),
            QueryValue::Vector(samples) => Ok(samples.iter().map(|s| s.v).collect()),
            QueryValue::Matrix(series) => Ok(series
                .iter()
                .filter_map(|s| s.points.last().map(|p| p.v))
                .collect()),
            QueryValue::String { .. } => Err("a string is not a number to compare".into()),
        }
    }

    async fn gnocchi(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            // The service user: Gnocchi basic auth, user "admin".
            .header("authorization", "Basic YWRtaW46");
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let req = req.body(body).map_err(|e| e.to_string())?;
        let resp = self
            .gnocchi
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 256 << 20)
            .await
            .map_err(|e| e.to_string())?;
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, v))
    }
}
