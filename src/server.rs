//! Wiring of the server: configuration → storage → HTTP routes → background work.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use altimeter_model::{Clock, SystemClock};
use altimeter_tsdb::http::{HttpState, TsdbCell};
use altimeter_tsdb::ingest::remote_write::BodyLimits;
use altimeter_tsdb::promql::EngineOptions;
use altimeter_tsdb::promql::api::ApiOptions;
use altimeter_tsdb::{Tsdb, TsdbMetrics, TsdbOptions};
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::config::{Config, LogConfig, LogFormat};

/// Sets up logging: `ALTIMETER_LOG` (a tracing filter) wins over `log.level`.
pub fn init_logging(cfg: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALTIMETER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.level));
    use std::io::IsTerminal;
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cfg.format {
        LogFormat::Json => b.json().init(),
        LogFormat::Text => b.init(),
    }
}

#[derive(Clone)]
struct AppState {
    db: TsdbCell,
    registry: Arc<Registry>,
}

async fn healthy(State(st): State<AppState>) -> Response {
    match st.db.get().and_then(|db| db.failure()) {
        Some(f) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("unhealthy: {f}\n"),
        )
            .into_response(),
        None => (StatusCode::OK, "Altimeter is Healthy.\n").into_response(),
    }
}

async fn ready(State(st): State<AppState>) -> Response {
    if st.db.get().is_some() {
        (StatusCode::OK, "Altimeter is Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Altimeter is starting: replaying the write-ahead log.\n",
        )
            .into_response()
    }
}

/// `/metrics`: OpenMetrics when the scraper asks for it (Prometheus does),
/// the classic Prometheus text format (0.0.4) otherwise — which is what
/// `promtool check metrics`, curl and older scrapers understand.
async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &st.registry) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response();
    }
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            openmetrics_to_text(&out),
        )
            .into_response()
    }
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4: counter families are
/// named with their `_total` suffix in HELP/TYPE, `# UNIT` and `# EOF` go.
fn openmetrics_to_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match rewritten {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn engine_options(cfg: &Config) -> EngineOptions {
    let q = &cfg.query;
    EngineOptions {
        lookback: q.lookback_delta,
        timeout: q.timeout,
        max_samples: usize::try_from(q.max_samples).unwrap_or(usize::MAX),
        max_concurrent: usize::try_from(q.max_concurrency).unwrap_or(usize::MAX),
        ..EngineOptions::default()
    }
}

fn tsdb_options(cfg: &Config) -> TsdbOptions {
    let s = &cfg.storage;
    TsdbOptions {
        data_dir: cfg.server.data_dir.clone(),
        retention: s.retention,
        block_duration: s.block_duration,
        head_max_samples: s.head_max_samples,
        head_max_age: s.head_max_age,
        wal_segment_size: s.wal_segment_size,
        out_of_order_window: s.out_of_order_window,
        max_future: cfg.ingest.max_future,
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(cfg: Config, mode: &'static str) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut registry = Registry::default();
    let tsdb_metrics = Arc::new(TsdbMetrics::new(&mut registry));
    // A gauge rather than an OpenMetrics "info" metric: the Prometheus text
    // parser (promtool, older scrapers) does not know the info type.
    let build_info: Family<Vec<(&'static str, &'static str)>, Gauge> = Family::default();
    build_info
        .get_or_create(&vec![
            ("version", env!("CARGO_PKG_VERSION")),
            ("mode", mode),
        ])
        .set(1);
    registry.register(
        "altimeter_build_info",
        "Altimeter build information (always 1)",
        build_info,
    );
    registry.register_collector(Box::new(crate::process::ProcessCollector::new(
        clock.now_ms() as f64 / 1000.0,
    )));
    let db_cell: TsdbCell = Arc::new(OnceLock::new());
    let limits = BodyLimits {
        max_body: usize::try_from(cfg.ingest.max_body_bytes).unwrap_or(usize::MAX),
        max_decompressed: usize::try_from(cfg.ingest.max_decompressed_bytes).unwrap_or(usize::MAX),
    };
    let app = Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(AppState {
            db: db_cell.clone(),
            registry: Arc::new(registry),
        })
        .merge(altimeter_tsdb::http::router(HttpState {
            db: db_cell.clone(),
            limits,
            sql_max_rows: 100_000,
        }))
        .merge(altimeter_tsdb::promql::api::router(
            db_cell.clone(),
            ApiOptions {
                engine: engine_options(&cfg),
                start_time_ms: clock.now_ms(),
            },
        ));
    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .with_context(|| {
            format!(
                "listening on {} (is another process using the port? set --listen)",
                cfg.server.listen
            )
        })?;
    tracing::info!(mode, listen = %cfg.server.listen, data_dir = %cfg.server.data_dir.display(),
        version = env!("CARGO_PKG_VERSION"), "altimeter starting");
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });
    let db = Tsdb::open(tsdb_options(&cfg), clock, tsdb_metrics)
        .await
        .with_context(|| {
            format!(
                "opening the data directory {}",
                cfg.server.data_dir.display()
            )
        })?;
    let _ = db_cell.set(db.clone());
    tracing::info!("ready");
    let maintenance = tokio::spawn(db.clone().run_maintenance(cfg.storage.compaction_interval));
    let r = server.await;
    maintenance.abort();
    db.close();
    tracing::info!("stopped; unflushed samples are safe in the write-ahead log");
    r.context("server task")?.context("HTTP server")?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[cfg(test)]
mod tests {
    use super::openmetrics_to_text;

    #[test]
    fn counters_get_total_in_help_and_type() {
        let om = "# HELP a_ops Ops.\n# TYPE a_ops counter\na_ops_total 3\n# HELP b_size Size.\n# TYPE b_size gauge\n# UNIT b_size bytes\nb_size 1\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP a_ops_total Ops.\n# TYPE a_ops_total counter\na_ops_total 3\n# HELP b_size Size.\n# TYPE b_size gauge\nb_size 1\n"
        );
    }
}
