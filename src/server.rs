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
use axum::http::{HeaderMap, StatusCode};
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

/// `/metrics`: see [`altimeter_collector::exposition::serve`].
async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    altimeter_collector::exposition::serve(&st.registry, &headers)
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

fn alarms_config(cfg: &Config) -> altimeter_alarms::AlarmsConfig {
    let (a, n) = (&cfg.alarms, &cfg.notify);
    altimeter_alarms::AlarmsConfig {
        evaluation_interval: a.evaluation_interval,
        evaluation_concurrency: usize::try_from(a.evaluation_concurrency).unwrap_or(usize::MAX),
        additional_ingestion_lag: a.additional_ingestion_lag,
        project_label: a.project_label.clone(),
        notify: altimeter_alarms::NotifyConfig {
            retry_initial: n.retry_initial,
            retry_max: n.retry_max,
            give_up_after: n.give_up_after,
            timeout: n.timeout,
            workers: usize::try_from(n.workers).unwrap_or(usize::MAX),
            keep_delivered: n.keep_delivered,
            webhook_secret: n.webhook_secret.clone(),
            smtp_host: n.smtp_host.clone(),
            smtp_port: u16::try_from(n.smtp_port).unwrap_or(25),
            smtp_tls: altimeter_alarms::SmtpTls::parse(&n.smtp_tls).unwrap_or_default(),
            smtp_username: n.smtp_username.clone(),
            smtp_password: n.smtp_password.clone(),
            smtp_from: n.smtp_from.clone(),
        },
        ..altimeter_alarms::AlarmsConfig::default()
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
    let gnocchi = altimeter_tsdb::gnocchi::Gnocchi::open(
        &cfg.server.data_dir,
        db_cell.clone(),
        clock.clone(),
        altimeter_tsdb::gnocchi::GnocchiMetrics::new(&mut registry),
    )
    .with_context(|| {
        format!(
            "opening the Gnocchi catalog in {}",
            cfg.server.data_dir.display()
        )
    })?;
    let gnocchi_router = altimeter_tsdb::gnocchi::http::router(gnocchi.clone());
    let alarms = altimeter_alarms::Alarms::open(
        &cfg.server.data_dir,
        Arc::new(crate::alarm_source::LocalSource {
            db: db_cell.clone(),
            engine: engine_options(&cfg),
            gnocchi: gnocchi_router.clone(),
            project_label: cfg.alarms.project_label.clone(),
            engine_cell: Arc::default(),
        }),
        clock.clone(),
        alarms_config(&cfg),
        &mut registry,
    )
    .map_err(anyhow::Error::msg)
    .with_context(|| {
        format!(
            "opening the alarm database {}",
            cfg.server.data_dir.join("alarms.sqlite").display()
        )
    })?;
    let limits = BodyLimits {
        max_body: usize::try_from(cfg.ingest.max_body_bytes).unwrap_or(usize::MAX),
        max_decompressed: usize::try_from(cfg.ingest.max_decompressed_bytes).unwrap_or(usize::MAX),
    };
    // all-in-one: the local agent polls this machine and ships in-process,
    // through its spool, so samples taken while the WAL replays are kept.
    let agent = if mode == "all-in-one" {
        let local: Arc<dyn altimeter_collector::ship::Destination> =
            Arc::new(crate::agent::LocalTsdb {
                db: db_cell.clone(),
                limits,
            });
        let opts =
            crate::agent::options(&cfg, cfg.server.data_dir.join("agent-spool"), vec![local])?;
        Some(altimeter_collector::agent::Agent::start(
            opts,
            &mut registry,
        )?)
    } else {
        None
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
        .merge(gnocchi_router)
        .merge(altimeter_alarms::http::router(alarms.clone()))
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
    // Paths are normalized before routing: OpenStack clients send
    // `/v1/metric/` and `/v1/archive_policy//name`.
    let app = tower::Layer::layer(
        &tower::util::MapRequestLayer::new(
            altimeter_tsdb::gnocchi::http::normalize_path::<axum::body::Body>,
        ),
        app,
    );
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
        )
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
    let sealer = tokio::spawn(gnocchi.clone().run_sealer(cfg.storage.rollup_interval));
    // Evaluation starts once the WAL is replayed: earlier, every alarm would
    // see no data and flap to "insufficient data".
    let alarm_tasks = alarms.start();
    let r = server.await;
    if let Some(a) = &agent {
        a.stop().await;
    }
    maintenance.abort();
    sealer.abort();
    alarm_tasks.iter().for_each(tokio::task::JoinHandle::abort);
    db.close();
    tracing::info!("stopped; unflushed samples are safe in the write-ahead log");
    r.context("server task")?.context("HTTP server")?;
    Ok(())
}

pub(crate) async fn shutdown_signal() {
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
