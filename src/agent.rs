//! Wiring of the collector agent: `altimeter agent` on its own, and the
//! local agent inside `altimeter all-in-one` that ships in-process.

use std::sync::Arc;

use altimeter_collector::agent::{Agent, AgentOptions, hostname};
use altimeter_collector::ship::{Destination, HttpDestination, SendError, SendFuture};
use altimeter_model::{Clock, SystemClock};
use altimeter_tsdb::http::TsdbCell;
use altimeter_tsdb::ingest::{self, IngestError, remote_write::BodyLimits};
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

use crate::config::Config;

/// Agent options from the configuration, shipping to the configured
/// remote-write URLs plus `extra` destinations.
pub fn options(
    cfg: &Config,
    spool_dir: std::path::PathBuf,
    extra: Vec<Arc<dyn Destination>>,
) -> anyhow::Result<AgentOptions> {
    let a = &cfg.agent;
    let mut destinations = extra;
    for url in &a.remote_write {
        destinations.push(Arc::new(
            HttpDestination::new(url).with_context(|| format!("remote-write URL {url}"))?,
        ));
    }
    Ok(AgentOptions {
        interval: a.interval,
        host: if a.host.is_empty() {
            hostname()
        } else {
            a.host.clone()
        },
        pollsters: a.pollsters.clone(),
        libvirt_uri: a.libvirt_uri.clone(),
        cgroup_watch: a.cgroup_watch.clone(),
        host_root: "/".into(),
        destinations,
        spool_dir,
        spool_max_bytes: a.spool_max_size,
        max_samples_per_send: a.max_samples_per_send,
        clock: Arc::new(SystemClock),
    })
}

/// The in-process TSDB as a destination (all-in-one): the same ingest
/// path, validation and durability as a remote-write request.
pub struct LocalTsdb {
    pub db: TsdbCell,
    pub limits: BodyLimits,
}

impl Destination for LocalTsdb {
    fn name(&self) -> &str {
        "local"
    }

    fn send(&self, body: Vec<u8>) -> SendFuture<'_> {
        Box::pin(async move {
            let Some(db) = self.db.get().cloned() else {
                return Err(SendError::Retry {
                    message: "the TSDB is still replaying its write-ahead log".into(),
                    after: None,
                });
            };
            match ingest::remote_write(&db, &body, self.limits).await {
                Ok(_) => Ok(()),
                Err(IngestError::BadRequest { message, .. }) => Err(SendError::Reject(message)),
                Err(IngestError::Storage(e)) => Err(SendError::Retry {
                    message: e.to_string(),
                    after: None,
                }),
            }
        })
    }
}

#[derive(Clone)]
struct AgentState {
    registry: Arc<Registry>,
    agent: Arc<Agent>,
}

async fn metrics(State(st): State<AgentState>, headers: HeaderMap) -> Response {
    altimeter_collector::exposition::serve(&st.registry, &headers)
}

async fn ready(State(st): State<AgentState>) -> Response {
    if st.agent.is_ready() {
        (StatusCode::OK, "Altimeter agent is Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Altimeter agent is starting: not every pollster has run yet.\n",
        )
            .into_response()
    }
}

/// Runs `altimeter agent` until SIGINT or SIGTERM.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let started = SystemClock.now_ms() as f64 / 1000.0;
    registry.register_collector(Box::new(crate::process::ProcessCollector::new(started)));
    let opts = options(&cfg, cfg.agent.spool_dir.clone(), Vec::new())?;
    if opts.destinations.is_empty() {
        tracing::info!("no --remote-write destination: serving /metrics only");
    }
    let agent = Arc::new(Agent::start(opts, &mut registry)?);
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route(
            "/-/healthy",
            get(|| async { "Altimeter agent is Healthy.\n" }),
        )
        .route("/-/ready", get(ready))
        .with_state(AgentState {
            registry: Arc::new(registry),
            agent: agent.clone(),
        });
    let listener = tokio::net::TcpListener::bind(cfg.agent.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {} (is another agent or exporter using the port? set --listen)",
                cfg.agent.listen
            )
        })?;
    tracing::info!(listen = %cfg.agent.listen, spool_dir = %cfg.agent.spool_dir.display(),
        version = env!("CARGO_PKG_VERSION"), "altimeter agent listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::server::shutdown_signal())
        .await
        .context("HTTP server")?;
    agent.stop().await;
    tracing::info!("stopped; unsent samples are safe in the spool");
    Ok(())
}
