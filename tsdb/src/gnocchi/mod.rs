//! The Gnocchi view of the TSDB: archive policies, resource types,
//! revisioned resources and metrics in a SQLite [`catalog`], measures in
//! the TSDB's own series ([`series`]), aggregates computed with Gnocchi's
//! arithmetic ([`altimeter_model::gnocchi::carbonara`]) and the v1 HTTP API
//! the real gnocchiclient, Ceilometer and Aodh speak ([`http`]).
//!
//! Unlike Gnocchi there is no backlog: a measure is queryable at every
//! granularity as soon as its POST is answered, because aggregates of
//! the recent past are computed from the raw points when read.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use altimeter_model::Clock;
use altimeter_model::gnocchi::policy::{builtin_policies, builtin_rules};
use altimeter_model::gnocchi::resource_type::builtin_types;
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

use altimeter_model::gnocchi::carbonara;

use crate::http::TsdbCell;
use catalog::Metric;
use http::{ApiError, ApiResult};

pub mod catalog;
pub mod discovery;
pub mod http;
pub mod measures;
pub mod rollup;
pub mod series;

pub use catalog::{Catalog, CatalogError};

/// Counters of the Gnocchi API.
#[derive(Debug, Default, Clone)]
pub struct GnocchiMetrics {
    /// Measures accepted through the API.
    pub measures: Counter,
    /// Measures silently dropped because they were older than the
    /// archive policy's back window (as Gnocchi does).
    pub measures_dropped: Counter,
    /// Buckets sealed into the rollup store.
    pub rollup_buckets: Counter,
    /// Rollup splits deleted by the archive policies' timespans.
    pub rollup_expired_splits: Counter,
    /// Sealing failures (see the log).
    pub rollup_errors: Counter,
}

impl GnocchiMetrics {
    /// Registers the counters.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "altimeter_gnocchi_measures",
            "Measures accepted through the Gnocchi API",
            m.measures.clone(),
        );
        registry.register(
            "altimeter_gnocchi_measures_dropped",
            "Measures dropped for being older than the archive policy's back window",
            m.measures_dropped.clone(),
        );
        registry.register(
            "altimeter_gnocchi_rollup_buckets",
            "Aggregated buckets sealed into the rollup store",
            m.rollup_buckets.clone(),
        );
        registry.register(
            "altimeter_gnocchi_rollup_expired_splits",
            "Rollup splits deleted by archive policy timespans",
            m.rollup_expired_splits.clone(),
        );
        registry.register(
            "altimeter_gnocchi_rollup_errors",
            "Failed rollup sealing passes of one metric (see the log)",
            m.rollup_errors.clone(),
        );
        m
    }
}

/// The Gnocchi service: catalog, storage and clock.
#[derive(Debug)]
pub struct Gnocchi {
    /// Policies, types, resources, metrics.
    pub catalog: Catalog,
    /// The TSDB (empty while the WAL replays).
    pub db: TsdbCell,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Counters.
    pub metrics: GnocchiMetrics,
    /// Sealed aggregates.
    pub rollups: rollup::Rollups,
    /// Newest raw timestamp per metric (ms), for the back-window rule;
    /// loaded from storage on a metric's first write after start.
    last_raw: Mutex<HashMap<String, Option<i64>>>,
    /// Index size at the last guest discovery.
    discovered_at: Mutex<usize>,
}

impl Gnocchi {
    /// Opens the catalog in `data_dir` and installs the built-in archive
    /// policies, rules and resource types that are missing.
    pub fn open(
        data_dir: &Path,
        db: TsdbCell,
        clock: Arc<dyn Clock>,
        metrics: GnocchiMetrics,
    ) -> Result<Arc<Gnocchi>, CatalogError> {
        std::fs::create_dir_all(data_dir).map_err(|e| CatalogError::Corrupt {
            kind: "directory".into(),
            key: data_dir.display().to_string(),
            err: e.to_string(),
        })?;
        let catalog = Catalog::open(&data_dir.join("catalog.sqlite"))?;
        catalog.ensure_builtins(builtin_policies(), builtin_rules(), builtin_types())?;
        let rollups = rollup::Rollups::open(&data_dir.join("gnocchi-rollups.sqlite"))?;
        Ok(Arc::new(Gnocchi {
            catalog,
            rollups,
            db,
            clock,
            metrics,
            last_raw: Mutex::new(HashMap::new()),
            discovered_at: Mutex::new(0),
        }))
    }

    /// Now, in µs.
    pub fn now_us(&self) -> i64 {
        self.clock.now_ms().saturating_mul(1000)
    }
}

impl Gnocchi {
    /// Records that a metric was just created: it has no points yet, so
    /// its first write needs no storage lookup for the back-window rule.
    pub fn metric_created(&self, id: &str) {
        self.last_raw.lock().insert(id.to_string(), None);
    }

    /// The newest raw timestamp of a metric (ms), from the cache or storage.
    /// Only the raw points after the rollup watermark are read; older ones
    /// cannot be the newest.
    async fn last_raw(
        &self,
        db: &crate::Tsdb,
        m: &Metric,
        policy: &altimeter_model::gnocchi::policy::ArchivePolicy,
    ) -> ApiResult<Option<i64>> {
        if let Some(t) = self.last_raw.lock().get(&m.id) {
            return Ok(*t);
        }
        let pts = self.raw_for_read(db, m, policy).await?;
        let t = pts.last().map(|p| p.0);
        self.last_raw.lock().insert(m.id.clone(), t);
        Ok(t)
    }

    /// Stores measures durably (returns once they are in the WAL on disk).
    /// Per metric, as Gnocchi does ([`carbonara::merge_raw`]): points
    /// sorted, one per timestamp, and points older than the archive policy's back window silently
    /// dropped, as Gnocchi does. All metrics in one write: all or nothing.
    pub async fn write(&self, batch: Vec<(Metric, Vec<(i64, f64)>)>) -> ApiResult<()> {
        let db = http::db(self)?;
        let mut prepared = Vec::with_capacity(batch.len());
        let mut lasts = Vec::with_capacity(batch.len());
        let mut dropped = 0u64;
        let mut n = 0u64;
        for (m, pts) in batch {
            if pts.is_empty() {
                continue;
            }
            // One catalog read for the policy and the write labels.
            let (policy, labels) = {
                let v = self.catalog.view();
                let policy = v.policy(&m.archive_policy_name).cloned().ok_or_else(|| {
                    ApiError::not_found(format!("Metric {} does not exist", m.id))
                })?;
                let r = m.resource_id.as_deref().and_then(|id| v.resource(id));
                (policy, series::write_labels(&m, r))
            };
            let last = self.last_raw(&db, &m, &policy).await?;
            let mut dedup = pts;
            dropped += carbonara::merge_raw(last, &mut dedup, &policy) as u64;
            let Some(newest) = dedup.last().map(|p| p.0) else {
                continue;
            };
            n += dedup.len() as u64;
            lasts.push((m.id.clone(), last.map_or(newest, |l| l.max(newest))));
            prepared.push((labels, series::to_samples(&m, &dedup)));
        }
        let (labels, samples): (
            Vec<altimeter_model::Labels>,
            Vec<Vec<altimeter_model::Sample>>,
        ) = prepared.into_iter().unzip();
        let refs: Vec<(altimeter_model::Labels, &[altimeter_model::Sample])> = labels
            .into_iter()
            .zip(samples.iter().map(Vec::as_slice))
            .collect();
        db.write(&refs).await?;
        let mut cache = self.last_raw.lock();
        for (id, t) in lasts {
            cache.insert(id, Some(t));
        }
        self.metrics.measures.inc_by(n);
        self.metrics.measures_dropped.inc_by(dropped);
        Ok(())
    }
}

impl Gnocchi {
    /// The raw points a read of `m` needs: from two of the policy's
    /// largest buckets before the rollup watermark on (everything when
    /// nothing is sealed yet).
    pub async fn raw_for_read(
        &self,
        db: &crate::Tsdb,
        m: &Metric,
        policy: &altimeter_model::gnocchi::policy::ArchivePolicy,
    ) -> ApiResult<Vec<(i64, f64)>> {
        let from = self.rollups.read_from(&m.id, policy);
        Ok(series::raw_points(db, m, from, i64::MAX).await?)
    }

    /// Seals what can be sealed for every metric and forgets the rollups
    /// of deleted metrics. Returns the buckets written.
    pub async fn seal_all(&self) -> u64 {
        let Some(db) = self.db.get().cloned() else {
            return 0;
        };
        let metrics: Vec<(Metric, altimeter_model::gnocchi::policy::ArchivePolicy)> = {
            let v = self.catalog.view();
            v.metrics()
                .filter_map(|m| Some((m.clone(), v.policy(&m.archive_policy_name)?.clone())))
                .collect()
        };
        let known: std::collections::HashSet<&str> =
            metrics.iter().map(|(m, _)| m.id.as_str()).collect();
        for gone in self.rollups.metrics_with_marks() {
            if !known.contains(gone.as_str())
                && let Err(e) = self.rollups.forget(&gone)
            {
                tracing::warn!(metric = %gone, error = %e, "forgetting rollups of a deleted metric");
            }
        }
        let mut buckets = 0;
        for (m, p) in &metrics {
            let raw = match self.raw_for_read(&db, m, p).await {
                Ok(r) => r,
                Err(e) => {
                    self.metrics.rollup_errors.inc();
                    tracing::warn!(metric = %m.id, error = ?e.description, "reading raw points to seal rollups");
                    continue;
                }
            };
            if let Some(&(t, _)) = raw.last() {
                let mut cache = self.last_raw.lock();
                let e = cache.entry(m.id.clone()).or_insert(Some(t));
                *e = Some(e.map_or(t, |x| x.max(t)));
            }
            match self.rollups.seal(m, p, &raw) {
                Ok(st) => {
                    buckets += st.buckets;
                    self.metrics.rollup_buckets.inc_by(st.buckets);
                    self.metrics.rollup_expired_splits.inc_by(st.expired_splits);
                }
                Err(e) => {
                    self.metrics.rollup_errors.inc();
                    tracing::warn!(metric = %m.id, error = %e, "sealing rollups");
                }
            }
            tokio::task::yield_now().await;
        }
        buckets
    }

    /// Until the task is dropped: discovers agent guests every 10 s (or
    /// `rollup_interval` if shorter) and seals rollups every
    /// `rollup_interval`.
    pub async fn run_sealer(self: Arc<Self>, rollup_interval: std::time::Duration) {
        let step = rollup_interval.min(std::time::Duration::from_secs(10));
        let mut tick = tokio::time::interval(step);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seal: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = self.discover() {
                tracing::warn!(error = %e, "discovering agent guests as Gnocchi resources");
            }
            if last_seal.is_some_and(|t| t.elapsed() < rollup_interval) {
                continue;
            }
            last_seal = Some(std::time::Instant::now());
            let started = std::time::Instant::now();
            let n = self.seal_all().await;
            if n > 0 {
                tracing::debug!(
                    buckets = n,
                    took_ms = started.elapsed().as_millis() as u64,
                    "sealed Gnocchi rollups"
                );
            }
        }
    }
}
