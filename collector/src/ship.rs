//! Shipping: every poll goes to each destination's on-disk [`Spool`]
//! first; one task per destination sends the spool's records in order and
//! acknowledges them once the receiver answered 2xx.
//!
//! - 2xx: delivered, acknowledged.
//! - 429, 5xx, connection errors and timeouts: retried with exponential
//!   backoff (100 ms doubling to 30 s, ±50 % jitter; `Retry-After` is
//!   honoured), while new polls keep spooling. Nothing is lost while the
//!   receiver is away, up to the spool's bound; beyond it the oldest data
//!   is dropped and counted.
//! - other 4xx: the receiver refuses the data for good (e.g. samples too
//!   old); retrying cannot help, so the batch is dropped and counted.
//!
//! After an outage the backlog goes out oldest first, several polls per
//! request (two encoded `WriteRequest`s concatenated are one).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use altimeter_model::Clock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{Notify, watch};

use crate::remote_write;
use crate::spool::{Dropped, Record, Spool};

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: the receiver is down, overloaded or timed out.
    #[error("{message}")]
    Retry {
        /// What happened.
        message: String,
        /// The receiver's `Retry-After`, if it sent one.
        after: Option<Duration>,
    },
    /// The receiver refused the data for good.
    #[error("{0}")]
    Reject(String),
}

/// A boxed send future.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Somewhere polls are shipped to.
pub trait Destination: Send + Sync + 'static {
    /// Stable name: the URL, or `local` for the in-process TSDB. Used in
    /// logs, metric labels and the spool directory name.
    fn name(&self) -> &str;
    /// Sends one remote-write body (snappy-compressed `WriteRequest`).
    fn send(&self, body: Vec<u8>) -> SendFuture<'_>;
}

/// Installs the process-wide TLS crypto provider (ring) that `reqwest` needs
/// to build any client, even a plain-HTTP one: the workspace builds reqwest
/// with rustls but without a default provider (the alarm notifier speaks
/// HTTPS). Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A remote-write receiver over plain HTTP (TLS is not built in).
#[derive(Debug)]
pub struct HttpDestination {
    url: String,
    client: reqwest::Client,
}

impl HttpDestination {
    /// A destination posting to `url` with a 30 s timeout per request.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("altimeter-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpDestination {
            url: url.to_string(),
            client,
        })
    }
}

impl Destination for HttpDestination {
    fn name(&self) -> &str {
        &self.url
    }

    fn send(&self, body: Vec<u8>) -> SendFuture<'_> {
        Box::pin(async move {
            let r = self
                .client
                .post(&self.url)
                .header("Content-Encoding", "snappy")
                .header("Content-Type", "application/x-protobuf")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .body(body)
                .send()
                .await
                .map_err(|e| SendError::Retry {
                    message: format!("{e}"),
                    after: None,
                })?;
            let status = r.status();
            if status.is_success() {
                return Ok(());
            }
            let after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = r.text().await.unwrap_or_default();
            let message = format!("HTTP {status}: {}", text.trim());
            if status.as_u16() == 429 || status.is_server_error() {
                Err(SendError::Retry { message, after })
            } else {
                Err(SendError::Reject(message))
            }
        })
    }
}

/// The per-destination metric handles.
#[derive(Debug, Clone, Default)]
pub struct ShipMetrics {
    /// Samples appended to the spool.
    pub spooled: Counter,
    /// Samples the receiver acknowledged.
    pub sent: Counter,
    /// Samples dropped because the spool was full.
    pub dropped_full: Counter,
    /// Samples the receiver refused for good.
    pub dropped_rejected: Counter,
    /// Samples lost to a damaged spool record.
    pub dropped_corrupt: Counter,
    /// Failed send attempts.
    pub failures: Counter,
    /// Bytes in the spool.
    pub spool_bytes: Gauge,
    /// Samples waiting in the spool.
    pub pending: Gauge,
    /// Seconds between the oldest waiting sample and now.
    pub lag_seconds: Gauge,
    /// 1 when the last send succeeded.
    pub up: Gauge,
}

/// Limits of one request when catching up.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most samples per request (a single bigger poll still goes alone).
    pub max_samples: u64,
}

/// One destination with its spool.
pub struct Shipper {
    dest: Arc<dyn Destination>,
    spool: Arc<Mutex<Spool>>,
    wake: Arc<Notify>,
    metrics: ShipMetrics,
    limits: BatchLimits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Shipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shipper")
            .field("destination", &self.dest.name())
            .finish()
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Shipper {
    /// A shipper for `dest` over `spool`.
    pub fn new(
        dest: Arc<dyn Destination>,
        spool: Spool,
        metrics: ShipMetrics,
        clock: Arc<dyn Clock>,
        limits: BatchLimits,
    ) -> Arc<Self> {
        let s = Arc::new(Shipper {
            dest,
            spool: Arc::new(Mutex::new(spool)),
            wake: Arc::new(Notify::new()),
            metrics,
            limits,
            clock,
        });
        s.update_gauges();
        s
    }

    /// The destination's name.
    pub fn name(&self) -> &str {
        self.dest.name()
    }

    /// Appends one encoded poll to the spool (durably; blocking I/O, call
    /// from a blocking context) and wakes the sender.
    pub fn enqueue(&self, samples: u32, first_ts_ms: i64, compressed: &[u8]) -> anyhow::Result<()> {
        let dropped: Dropped = {
            let mut s = self.spool.lock().unwrap_or_else(|e| e.into_inner());
            s.append(samples, first_ts_ms, compressed)?
        };
        self.metrics.spooled.inc_by(u64::from(samples));
        if dropped.samples > 0 {
            self.metrics.dropped_full.inc_by(dropped.samples);
            tracing::warn!(
                destination = self.name(),
                samples = dropped.samples,
                "spool full: dropped the oldest unsent samples (raise agent.spool_max_size or fix the receiver)"
            );
        }
        self.update_gauges();
        self.wake.notify_one();
        Ok(())
    }

    fn update_gauges(&self) {
        let s = self.spool.lock().unwrap_or_else(|e| e.into_inner());
        self.metrics
            .spool_bytes
            .set(i64::try_from(s.pending_bytes()).unwrap_or(i64::MAX));
        self.metrics
            .pending
            .set(i64::try_from(s.pending_samples()).unwrap_or(i64::MAX));
        let lag = s
            .oldest_pending_ts_ms()
            .map_or(0, |t| (self.clock.now_ms() - t).max(0) / 1000);
        self.metrics.lag_seconds.set(lag);
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Spool) -> T + Send + 'static,
    ) -> T {
        let spool = self.spool.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = spool.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut s)
        })
        .await
        .expect("spool task panicked")
    }

    /// Sends the spool's records until `shutdown` turns true. What is not
    /// acknowledged stays in the spool for the next start.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        let mut down_since: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let (peeked, corrupted) = self
                .blocking(|s| (s.peek(256, 32 << 20), s.take_corrupted()))
                .await;
            if corrupted.samples > 0 {
                self.metrics.dropped_corrupt.inc_by(corrupted.samples);
            }
            let records = match peeked {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(destination = self.name(), error = %e, "reading the spool failed; retrying in 5 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            };
            if records.is_empty() {
                self.update_gauges();
                tokio::select! {
                    () = self.wake.notified() => continue,
                    _ = shutdown.changed() => return,
                }
            }
            let (batch, samples) = self.batch(&records);
            let last = records[batch.len() - 1].id;
            let body = match join(batch) {
                Ok(b) => b,
                Err(e) => {
                    // Checksummed on disk, so this is a bug or a foreign file.
                    tracing::error!(destination = self.name(), error = %e, "undecodable spool record dropped");
                    self.metrics.dropped_rejected.inc_by(samples);
                    let _ = self.blocking(move |s| s.ack(last)).await;
                    continue;
                }
            };
            loop {
                match self.dest.send(body.clone()).await {
                    Ok(()) => {
                        self.metrics.sent.inc_by(samples);
                        self.metrics.up.set(1);
                        if let Some(t) = down_since.take() {
                            tracing::info!(
                                destination = self.name(),
                                down_for_s = t.elapsed().as_secs(),
                                "remote-write receiver is back; delivering the spool"
                            );
                        }
                        backoff = MIN_BACKOFF;
                        break;
                    }
                    Err(SendError::Reject(message)) => {
                        self.metrics.dropped_rejected.inc_by(samples);
                        tracing::error!(destination = self.name(), samples, %message,
                            "remote-write receiver refused a batch; dropped (it would be refused again)");
                        break;
                    }
                    Err(SendError::Retry { message, after }) => {
                        self.metrics.failures.inc();
                        self.metrics.up.set(0);
                        if down_since.is_none() {
                            down_since = Some(Instant::now());
                            tracing::warn!(destination = self.name(), %message,
                                "remote-write failing; spooling to disk and retrying with backoff");
                        } else {
                            tracing::debug!(destination = self.name(), %message, "retrying");
                        }
                        self.update_gauges();
                        let wait = after.unwrap_or_else(|| jitter(backoff));
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            _ = shutdown.changed() => return,
                        }
                    }
                }
            }
            if let Err(e) = self.blocking(move |s| s.ack(last)).await {
                tracing::error!(destination = self.name(), error = %e,
                    "acknowledging in the spool failed; the batch may be sent again after a restart");
            }
            self.update_gauges();
        }
    }

    /// The leading records that fit the request limits (at least one), and
    /// their sample count.
    fn batch<'r>(&self, records: &'r [Record]) -> (&'r [Record], u64) {
        let mut samples = 0u64;
        let mut n = 0;
        for r in records {
            let s = u64::from(r.samples);
            if n > 0 && samples + s > self.limits.max_samples {
                break;
            }
            samples += s;
            n += 1;
        }
        (&records[..n], samples)
    }
}

/// One request body from spooled records (each a compressed
/// `WriteRequest`): as is for one, else decompressed, concatenated and
/// compressed again.
fn join(records: &[Record]) -> Result<Vec<u8>, snap::Error> {
    if let [one] = records {
        return Ok(one.payload.clone());
    }
    let mut proto = Vec::new();
    for r in records {
        proto.extend_from_slice(&remote_write::decompress(&r.payload)?);
    }
    Ok(remote_write::compress(&proto))
}

/// `d` ± 50 %.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + fastrand::f64())
}
