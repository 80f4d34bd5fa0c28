//! The agent: runs the pollsters on the interval (libvirt also at once on
//! guest events), keeps the latest poll for `/metrics`, and ships every
//! poll to each destination through its spool.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use altimeter_model::Clock;
use anyhow::Context;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family as MetricFamily;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::cgroup::{CgroupOptions, CgroupPollster};
use crate::exposition::Snapshot;
use crate::family::{Family, Pollster, label};
use crate::host::HostPollster;
use crate::libvirt::{LibvirtOptions, LibvirtPollster};
use crate::remote_write::{self, Encoded, PollEncoder};
use crate::ship::{BatchLimits, Destination, ShipMetrics, Shipper};
use crate::spool::{Spool, SpoolOptions};

/// What the agent runs and where it ships.
pub struct AgentOptions {
    /// Poll interval.
    pub interval: Duration,
    /// The `host` label (guest series; added to everything shipped).
    pub host: String,
    /// Pollsters to run: `libvirt`, `cgroup`, `host`.
    pub pollsters: Vec<String>,
    /// libvirt URI.
    pub libvirt_uri: String,
    /// cgroup subtrees to watch.
    pub cgroup_watch: Vec<String>,
    /// Root of /proc and the mounts for the host pollster (`/`).
    pub host_root: PathBuf,
    /// Where polls are shipped.
    pub destinations: Vec<Arc<dyn Destination>>,
    /// Parent directory of the per-destination spools.
    pub spool_dir: PathBuf,
    /// Bound on each spool.
    pub spool_max_bytes: u64,
    /// Most samples per request.
    pub max_samples_per_send: u64,
    /// Source of poll timestamps.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOptions")
            .field("interval", &self.interval)
            .field("host", &self.host)
            .field("pollsters", &self.pollsters)
            .field(
                "destinations",
                &self
                    .destinations
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// This machine's hostname, for the `host` label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

type Labels = Vec<(String, String)>;

/// The agent's self-metrics.
#[derive(Debug, Clone, Default)]
struct AgentMetrics {
    polls: MetricFamily<Labels, Counter>,
    poll_errors: MetricFamily<Labels, Counter>,
    wakeups: MetricFamily<Labels, Counter>,
    poll_seconds: MetricFamily<Labels, Gauge<f64, AtomicU64>>,
    series: MetricFamily<Labels, Gauge>,
    up: MetricFamily<Labels, Gauge>,
    spooled: MetricFamily<Labels, Counter>,
    sent: MetricFamily<Labels, Counter>,
    dropped: MetricFamily<Labels, Counter>,
    failures: MetricFamily<Labels, Counter>,
    spool_bytes: MetricFamily<Labels, Gauge>,
    pending: MetricFamily<Labels, Gauge>,
    lag: MetricFamily<Labels, Gauge>,
    dest_up: MetricFamily<Labels, Gauge>,
}

impl AgentMetrics {
    fn register(r: &mut Registry) -> Self {
        let m = AgentMetrics::default();
        let p = "altimeter_agent_";
        r.register(
            format!("{p}polls"),
            "Polls run, per pollster",
            m.polls.clone(),
        );
        r.register(
            format!("{p}poll_errors"),
            "Polls that failed, per pollster (see the log)",
            m.poll_errors.clone(),
        );
        r.register(
            format!("{p}event_polls"),
            "Polls run at once because of a libvirt domain event",
            m.wakeups.clone(),
        );
        r.register(
            format!("{p}poll_duration_seconds"),
            "Duration of the last poll",
            m.poll_seconds.clone(),
        );
        r.register(
            format!("{p}series"),
            "Series in the last poll",
            m.series.clone(),
        );
        r.register(
            format!("{p}pollster_up"),
            "1 when the pollster's last poll succeeded",
            m.up.clone(),
        );
        r.register(
            format!("{p}samples_spooled"),
            "Samples written to the destination's spool",
            m.spooled.clone(),
        );
        r.register(
            format!("{p}samples_sent"),
            "Samples the destination acknowledged",
            m.sent.clone(),
        );
        r.register(format!("{p}samples_dropped"), "Samples given up: reason spool_full (oldest dropped for space), rejected (refused by the receiver) or corrupt (damaged spool record)", m.dropped.clone());
        r.register(
            format!("{p}send_failures"),
            "Failed send attempts (each is retried)",
            m.failures.clone(),
        );
        r.register(
            format!("{p}spool_bytes"),
            "Bytes waiting in the destination's spool",
            m.spool_bytes.clone(),
        );
        r.register(
            format!("{p}spool_pending_samples"),
            "Samples waiting in the destination's spool",
            m.pending.clone(),
        );
        r.register(
            format!("{p}shipping_lag_seconds"),
            "Age of the oldest sample not yet delivered (0 when caught up)",
            m.lag.clone(),
        );
        r.register(
            format!("{p}destination_up"),
            "1 when the last send to the destination succeeded",
            m.dest_up.clone(),
        );
        m
    }

    fn ship(&self, dest: &str) -> ShipMetrics {
        let l = vec![("destination".to_string(), dest.to_string())];
        let reason = |r: &str| {
            let mut l = l.clone();
            l.push(("reason".to_string(), r.to_string()));
            l
        };
        // get_or_create returns a lock guard: clone it out before the next
        // call, which may need the write lock for a new label set.
        fn c<M: Clone + Default>(f: &MetricFamily<Labels, M>, l: &Labels) -> M {
            f.get_or_create(l).clone()
        }
        ShipMetrics {
            spooled: c(&self.spooled, &l),
            sent: c(&self.sent, &l),
            dropped_full: c(&self.dropped, &reason("spool_full")),
            dropped_rejected: c(&self.dropped, &reason("rejected")),
            dropped_corrupt: c(&self.dropped, &reason("corrupt")),
            failures: c(&self.failures, &l),
            spool_bytes: c(&self.spool_bytes, &l),
            pending: c(&self.pending, &l),
            lag_seconds: c(&self.lag, &l),
            up: c(&self.dest_up, &l),
        }
    }
}

/// A running agent.
#[derive(Debug)]
pub struct Agent {
    /// The latest poll of every pollster (served on `/metrics`).
    pub snapshot: Arc<Snapshot>,
    ready: watch::Receiver<bool>,
    shutdown: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// A pollster, and whether the shared event notify also triggers it.
type PollsterWithWake = (Box<dyn Pollster>, bool);

/// One poll cycle: every pollster on the interval, or the event-driven
/// ones on a wake-up. It is spooled and shipped as one record.
struct Cycle {
    ts_ms: i64,
    /// Pollster name and its families (failed polls with nothing gathered
    /// are left out, keeping their previous snapshot).
    polls: Vec<(&'static str, Arc<Vec<Family>>)>,
    /// Every pollster has completed a poll at least once.
    all_ran: bool,
}

/// A directory name for a destination's spool: readable, unique.
fn spool_name(dest: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    dest.hash(&mut h);
    let readable: String = dest
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{readable}-{:08x}", h.finish() as u32)
}

impl Agent {
    /// Starts the pollsters and shippers; registers the self-metrics and
    /// the snapshot in `registry`. Runs until [`Agent::stop`].
    pub fn start(opts: AgentOptions, registry: &mut Registry) -> anyhow::Result<Agent> {
        let metrics = AgentMetrics::register(registry);
        let snapshot = Arc::new(Snapshot::default());
        crate::exposition::register(registry, snapshot.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let mut shippers = Vec::new();
        for dest in opts.destinations {
            let dir = opts.spool_dir.join(spool_name(dest.name()));
            let spool = Spool::open(
                &dir,
                SpoolOptions {
                    max_bytes: opts.spool_max_bytes,
                    segment_bytes: (opts.spool_max_bytes / 16).clamp(1 << 16, 64 << 20),
                    fsync: true,
                },
            )
            .with_context(|| {
                format!("opening the spool of {} in {}", dest.name(), dir.display())
            })?;
            if spool.pending_samples() > 0 {
                tracing::info!(
                    destination = dest.name(),
                    samples = spool.pending_samples(),
                    "spool holds samples from before the restart; delivering them first"
                );
            }
            let m = metrics.ship(dest.name());
            let s = Shipper::new(
                dest,
                spool,
                m,
                opts.clock.clone(),
                BatchLimits {
                    max_samples: opts.max_samples_per_send,
                },
            );
            tasks.push(tokio::spawn(s.clone().run(shutdown_rx.clone())));
            shippers.push(s);
        }

        // One notify for every pollster that polls on events (libvirt).
        let wake = Arc::new(Notify::new());
        let mut pollsters: Vec<PollsterWithWake> = Vec::new();
        for name in &opts.pollsters {
            match name.as_str() {
                "libvirt" => {
                    let p = LibvirtPollster::with_wakeup(
                        LibvirtOptions {
                            uri: opts.libvirt_uri.clone(),
                            host: opts.host.clone(),
                        },
                        wake.clone(),
                    );
                    pollsters.push((Box::new(p), true));
                }
                "cgroup" => {
                    let p = CgroupPollster::new(CgroupOptions {
                        watch: opts.cgroup_watch.clone(),
                        ..CgroupOptions::default()
                    })?;
                    pollsters.push((Box::new(p), false));
                }
                "host" => {
                    pollsters.push((Box::new(HostPollster::new(opts.host_root.clone())), false))
                }
                other => anyhow::bail!("unknown pollster {other:?} (known: libvirt, cgroup, host)"),
            }
        }
        let (tx, rx) = mpsc::channel::<Cycle>(16);
        let (ready_tx, ready) = watch::channel(false);
        tasks.push(tokio::spawn(poll_loop(
            pollsters,
            wake,
            opts.clock.clone(),
            opts.interval,
            tx,
            metrics,
            shutdown_rx.clone(),
        )));
        let encoder = PollEncoder::new(vec![label("host", opts.host.clone())]);
        tasks.push(tokio::spawn(publish(
            rx,
            snapshot.clone(),
            encoder,
            shippers,
            ready_tx,
        )));
        tracing::info!(pollsters = ?opts.pollsters, interval_s = opts.interval.as_secs_f64(),
            host = %opts.host, "agent started");
        Ok(Agent {
            snapshot,
            ready,
            shutdown,
            tasks: std::sync::Mutex::new(tasks),
        })
    }

    /// True once every pollster has run at least once.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Stops polling and shipping; unsent data stays in the spools.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

async fn poll_loop(
    mut pollsters: Vec<PollsterWithWake>,
    wake: Arc<Notify>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    tx: mpsc::Sender<Cycle>,
    metrics: AgentMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let labels: Vec<Labels> = pollsters
        .iter()
        .map(|(p, _)| vec![("pollster".to_string(), p.name().to_string())])
        .collect();
    let mut last_error: Vec<Option<String>> = vec![None; pollsters.len()];
    let mut ran = vec![false; pollsters.len()];
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let woken = tokio::select! {
            _ = tick.tick() => false,
            () = wake.notified() => true,
            _ = shutdown.changed() => return,
        };
        if woken {
            // Coalesce the burst of events one start or stop produces.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let run: Vec<bool> = pollsters.iter().map(|(_, w)| !woken || *w).collect();
        let ts_ms = clock.now_ms();
        // All pollsters of a cycle run one after the other on one blocking
        // thread: a poll is a few milliseconds, and one cycle means one
        // spool append and one request per destination.
        let joined = tokio::task::spawn_blocking(move || {
            let mut results = Vec::new();
            for (i, (p, _)) in pollsters.iter_mut().enumerate() {
                if !run[i] {
                    continue;
                }
                let started = Instant::now();
                let mut out = Vec::new();
                let r = p.poll(&mut out);
                results.push((i, out, r, started.elapsed()));
            }
            (pollsters, results)
        })
        .await;
        let results = match joined {
            Ok((p, results)) => {
                pollsters = p;
                results
            }
            Err(e) => {
                tracing::error!(error = %e, "a pollster panicked; the agent stops polling (restart it)");
                for l in &labels {
                    metrics.up.get_or_create(l).set(0);
                }
                return;
            }
        };
        let mut polls = Vec::with_capacity(results.len());
        for (i, families, result, took) in results {
            let (name, l) = (pollsters[i].0.name(), &labels[i]);
            metrics.polls.get_or_create(l).inc();
            if woken {
                metrics.wakeups.get_or_create(l).inc();
            }
            metrics
                .poll_seconds
                .get_or_create(l)
                .set(took.as_secs_f64());
            match &result {
                Ok(()) => {
                    metrics.up.get_or_create(l).set(1);
                    if last_error[i].take().is_some() {
                        tracing::info!(pollster = name, "poll works again");
                    }
                }
                Err(e) => {
                    metrics.poll_errors.get_or_create(l).inc();
                    metrics.up.get_or_create(l).set(0);
                    // The same failure every interval (libvirtd not
                    // installed) is logged once, then at debug level.
                    let msg = format!("{e:#}");
                    if last_error[i].as_deref() == Some(msg.as_str()) {
                        tracing::debug!(pollster = name, error = msg, "poll failed again");
                    } else {
                        tracing::warn!(
                            pollster = name,
                            error = msg.as_str(),
                            "poll failed; retrying every interval (altimeter_agent_pollster_up is 0 meanwhile)"
                        );
                        last_error[i] = Some(msg);
                    }
                }
            }
            ran[i] = true;
            // A failed poll with nothing gathered keeps the previous
            // snapshot (and does not mark every series stale); partial
            // results are used.
            if result.is_err() && families.is_empty() {
                continue;
            }
            let series: usize = families.iter().map(|f| f.series.len()).sum();
            metrics
                .series
                .get_or_create(l)
                .set(i64::try_from(series).unwrap_or(i64::MAX));
            polls.push((name, Arc::new(families)));
        }
        let cycle = Cycle {
            ts_ms,
            polls,
            all_ran: ran.iter().all(|r| *r),
        };
        if tx.send(cycle).await.is_err() {
            return;
        }
    }
}

async fn publish(
    mut rx: mpsc::Receiver<Cycle>,
    snapshot: Arc<Snapshot>,
    mut encoder: PollEncoder,
    shippers: Vec<Arc<Shipper>>,
    ready: watch::Sender<bool>,
) {
    while let Some(c) = rx.recv().await {
        for (name, families) in &c.polls {
            snapshot.set(name, families.clone());
        }
        if c.all_ran && !*ready.borrow() {
            let _ = ready.send(true);
        }
        if shippers.is_empty() {
            continue;
        }
        let mut enc = Encoded::default();
        for (name, families) in c.polls {
            encoder.encode_into(name, families, c.ts_ms, &mut enc);
        }
        let samples = enc.samples;
        if samples == 0 {
            continue;
        }
        let body = remote_write::compress(&enc.proto);
        let shippers = shippers.clone();
        let ts = c.ts_ms;
        // Appends are fsynced: off the async threads, in cycle order.
        let res = tokio::task::spawn_blocking(move || {
            for s in &shippers {
                if let Err(e) = s.enqueue(samples, ts, &body) {
                    tracing::error!(
                        destination = s.name(),
                        error = format!("{e:#}"),
                        "could not spool a poll; its samples are lost for this destination"
                    );
                }
            }
        })
        .await;
        if let Err(e) = res {
            tracing::error!(error = %e, "spooling task panicked");
        }
    }
}
