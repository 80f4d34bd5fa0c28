//! [`Tsdb`]: the storage engine that ties the WAL, the head, the series
//! index and the Parquet blocks together.
//!
//! Write path: validate → resolve series → one WAL record (group-committed
//! fsync) → head. Read path: index → head + frozen heads + blocks, merged per
//! series with "last write wins" for equal timestamps. Background work:
//! flush the head into blocks (by size or age), compact blocks of the same
//! time window, delete blocks past the retention.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use altimeter_model::{Clock, Labels, Matcher, Sample};
use parking_lot::RwLock;

use crate::block::{Block, BlockError, BlockStore, BlockWriter};
use crate::head::{SeriesBuf, sort_dedup_last_wins};
use crate::index::{Index, SeriesEntry, SeriesId};
use crate::metrics::TsdbMetrics;
use crate::wal::record::{TYPE_BATCH, decode_batch, encode_samples, encode_series_defs};
use crate::wal::{self, Wal, WalError};

/// Engine options (see the configuration reference for defaults).
#[derive(Debug, Clone)]
pub struct TsdbOptions {
    /// Data directory: `wal/`, `blocks/`, `tmp/`.
    pub data_dir: PathBuf,
    /// Samples older than now − retention are deleted; zero keeps forever.
    pub retention: Duration,
    /// Blocks are cut on aligned windows of this length.
    pub block_duration: Duration,
    /// Flush the head when it holds more samples than this.
    pub head_max_samples: u64,
    /// Flush the head when its oldest unflushed write is this old.
    pub head_max_age: Duration,
    /// WAL segment size in bytes.
    pub wal_segment_size: u64,
    /// How far back (from now) a sample may be; zero means "back to the retention".
    pub out_of_order_window: Duration,
    /// How far into the future (from now) a sample may be.
    pub max_future: Duration,
}

impl TsdbOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            retention: Duration::from_secs(30 * 86_400),
            block_duration: Duration::from_secs(2 * 3600),
            head_max_samples: 4_000_000,
            head_max_age: Duration::from_secs(3600),
            wal_segment_size: 128 << 20,
            out_of_order_window: Duration::ZERO,
            max_future: Duration::from_secs(3600),
        }
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    /// WAL trouble.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// Block trouble.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// A sample outside the accepted time range; nothing of the request was stored.
    #[error(
        "sample for series {series} at {t} ms is outside the accepted range [{min}, {max}] ms (too old for the out-of-order window / retention, or too far in the future)"
    )]
    OutOfBounds {
        /// The series.
        series: String,
        /// The sample timestamp.
        t: i64,
        /// Oldest accepted.
        min: i64,
        /// Newest accepted.
        max: i64,
    },
    /// Other I/O.
    #[error("{0}")]
    Io(String),
}

/// A series as ingest sees it: found by hash and compared without allocating.
pub trait SeriesKey {
    /// [`Labels::stable_hash`] of the labels this key stands for.
    fn key_hash(&self) -> u64;
    /// Whether `labels` are exactly this key's labels.
    fn key_eq(&self, labels: &Labels) -> bool;
    /// The labels, allocated (only for new series).
    fn to_labels(&self) -> Labels;
}

impl SeriesKey for Labels {
    fn key_hash(&self) -> u64 {
        self.stable_hash()
    }
    fn key_eq(&self, labels: &Labels) -> bool {
        self == labels
    }
    fn to_labels(&self) -> Labels {
        self.clone()
    }
}

/// One series of a query result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    /// Global id.
    pub id: SeriesId,
    /// Labels.
    pub labels: Labels,
    /// Samples, sorted, one per timestamp.
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
struct Frozen {
    seq: u64,
    series: Vec<(Arc<SeriesEntry>, SeriesBuf)>,
}

#[derive(Debug, Default)]
struct State {
    blocks: Vec<Arc<Block>>,
    frozen: Vec<Arc<Frozen>>,
    /// Replaced blocks whose files are deleted once no reader holds them.
    retired: Vec<Arc<Block>>,
}

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlushStats {
    /// Samples persisted.
    pub samples: u64,
    /// Series persisted.
    pub series: u64,
    /// Blocks written.
    pub blocks: u64,
    /// WAL segments deleted.
    pub wal_segments_deleted: u64,
}

/// The storage engine.
#[derive(Debug)]
pub struct Tsdb {
    opts: TsdbOptions,
    clock: Arc<dyn Clock>,
    metrics: Arc<TsdbMetrics>,
    index: Index,
    wal: Wal,
    store: BlockStore,
    /// Appends hold it shared; a flush takes it exclusively to cut the head.
    gate: RwLock<()>,
    state: RwLock<State>,
    head_samples: AtomicU64,
    /// Clock time of the first write since the last flush (0 = empty head).
    head_since: AtomicI64,
    /// Serialises flushes, compactions and retention.
    maintenance: tokio::sync::Mutex<()>,
    next_block: AtomicU64,
    next_seq: AtomicU64,
}

fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Tsdb {
    /// Opens (or creates) the database: loads blocks, replays the WAL.
    /// Returns once everything acknowledged before is queryable again.
    pub async fn open(
        opts: TsdbOptions,
        clock: Arc<dyn Clock>,
        metrics: Arc<TsdbMetrics>,
    ) -> Result<Arc<Self>, TsdbError> {
        let started = Instant::now();
        let store = BlockStore::local(&opts.data_dir)?;
        let index = Index::new();
        let mut blocks = Vec::new();
        let listed = store.list_blocks().await?;
        let mut replaced: HashSet<String> = HashSet::new();
        let mut max_seq = 0;
        let mut max_block = 0;
        for (id, complete) in &listed {
            max_block = max_block.max(u64::from_str_radix(id, 16).unwrap_or(0));
            if !complete {
                tracing::warn!(block = %id, "removing unfinished block (no meta.json): an interrupted flush or compaction");
                store.delete_block(id).await?;
                continue;
            }
            let b = Block::open(&store, id).await?;
            replaced.extend(b.meta.sources.iter().cloned());
            max_seq = max_seq.max(b.meta.seq);
            blocks.push(b);
        }
        let mut kept = Vec::new();
        for b in blocks {
            if replaced.contains(&b.meta.id) {
                tracing::info!(block = %b.meta.id, "removing block already merged into a compacted block");
                store.delete_block(&b.meta.id).await?;
            } else {
                for (sid, (labels, _)) in &b.series {
                    index.insert_with_id(*sid, labels.clone());
                }
                kept.push(Arc::new(b));
            }
        }
        kept.sort_by_key(|b| (b.meta.min_t, b.meta.seq));
        let _ = std::fs::remove_dir_all(opts.data_dir.join("tmp"));

        let wal_dir = opts.data_dir.join("wal");
        let mut replayed = 0u64;
        let mut unknown = 0u64;
        let mut bad = 0u64;
        let stats = {
            let index = &index;
            wal::replay(&wal_dir, |rec| {
                if rec.ty != TYPE_BATCH {
                    bad += 1;
                    return;
                }
                match decode_batch(&rec.payload) {
                    Ok(batch) => {
                        for (id, labels) in batch.series {
                            index.insert_with_id(id, labels);
                        }
                        for (id, s) in batch.samples {
                            match index.get(id) {
                                Some(e) => {
                                    e.head.lock().push(s);
                                    replayed += 1;
                                }
                                None => unknown += 1,
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!(segment = rec.segment, error = %e, "undecodable WAL record skipped");
                        bad += 1;
                    }
                }
            })?
        };
        if unknown > 0 || bad > 0 {
            tracing::error!(
                unknown_series_samples = unknown,
                bad_records = bad,
                "WAL replay found inconsistencies"
            );
        }
        metrics.wal_truncated_bytes.inc_by(stats.truncated_bytes);
        let wal = Wal::open(
            &wal_dir,
            stats.last_segment,
            opts.wal_segment_size,
            metrics.clone(),
        )?;
        let db = Arc::new(Self {
            clock: clock.clone(),
            metrics,
            index,
            wal,
            store,
            gate: RwLock::new(()),
            state: RwLock::new(State {
                blocks: kept,
                frozen: Vec::new(),
                retired: Vec::new(),
            }),
            head_samples: AtomicU64::new(replayed),
            head_since: AtomicI64::new(if replayed > 0 { clock.now_ms() } else { 0 }),
            maintenance: tokio::sync::Mutex::new(()),
            next_block: AtomicU64::new(max_block + 1),
            next_seq: AtomicU64::new(max_seq + 1),
            opts,
        });
        db.update_gauges();
        tracing::info!(
            blocks = db.state.read().blocks.len(),
            series = db.index.len(),
            wal_segments = stats.segments,
            wal_records = stats.records,
            head_samples = replayed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "storage opened; WAL replayed"
        );
        Ok(db)
    }

    /// The options in force.
    pub fn options(&self) -> &TsdbOptions {
        &self.opts
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<TsdbMetrics> {
        &self.metrics
    }

    /// The series index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Why ingest cannot work right now, if it cannot.
    pub fn failure(&self) -> Option<Arc<str>> {
        self.wal.failure()
    }

    /// The oldest and newest timestamps a write may carry now.
    pub fn accepted_range(&self) -> (i64, i64) {
        let now = self.clock.now_ms();
        let back = if !self.opts.out_of_order_window.is_zero() {
            dur_ms(self.opts.out_of_order_window)
        } else if !self.opts.retention.is_zero() {
            dur_ms(self.opts.retention)
        } else {
            i64::MAX
        };
        (
            now.saturating_sub(back),
            now.saturating_add(dur_ms(self.opts.max_future)),
        )
    }

    /// Writes a batch durably: returns once every sample is in the WAL on
    /// disk (and visible to queries). All or nothing: a sample outside the
    /// accepted range fails the whole batch before anything is stored.
    pub async fn write<K: SeriesKey>(&self, batch: &[(K, &[Sample])]) -> Result<u64, TsdbError> {
        let (lsn, n) = self.append(batch)?;
        if n > 0 {
            self.wal.wait(lsn).await?;
        }
        Ok(n)
    }

    /// The synchronous part of [`Tsdb::write`]: WAL record appended (not yet
    /// durable) and head updated. Returns the WAL sequence to wait for.
    pub fn append<K: SeriesKey>(&self, batch: &[(K, &[Sample])]) -> Result<(u64, u64), TsdbError> {
        let (min, max) = self.accepted_range();
        let mut n = 0u64;
        let mut base_t = None;
        for (k, samples) in batch {
            for s in *samples {
                if s.t < min || s.t > max {
                    return Err(TsdbError::OutOfBounds {
                        series: k.to_labels().to_string(),
                        t: s.t,
                        min,
                        max,
                    });
                }
                base_t.get_or_insert(s.t);
            }
            n += samples.len() as u64;
        }
        if n == 0 {
            return Ok((0, 0));
        }
        let _gate = self.gate.read();
        let found = self
            .index
            .lookup_many(batch, |(k, _)| k.key_hash(), |(k, _), l| k.key_eq(l));
        let entries: Vec<Arc<SeriesEntry>> = found
            .into_iter()
            .zip(batch)
            .map(|(f, (k, _))| {
                f.unwrap_or_else(|| {
                    let (e, created) = self.index.get_or_create(k.to_labels());
                    if created {
                        self.metrics.series_created.inc();
                    }
                    e
                })
            })
            .collect();
        let base_t = base_t.unwrap_or(0);
        let (lsn, ()) = self.wal.append(TYPE_BATCH, |sink| {
            let seg = sink.segment;
            let defs: Vec<&SeriesEntry> = entries
                .iter()
                .filter(|e| e.wal_segment.swap(seg, Ordering::Relaxed) != seg)
                .map(|e| &**e)
                .collect();
            let buf = sink.buf();
            encode_series_defs(buf, defs.iter().map(|e| (e.id, &e.labels)));
            encode_samples(
                buf,
                n as usize,
                base_t,
                entries
                    .iter()
                    .zip(batch)
                    .flat_map(|(e, (_, ss))| ss.iter().map(move |s| (e.id, *s))),
            );
        })?;
        let mut ooo = 0u64;
        for (e, (_, ss)) in entries.iter().zip(batch) {
            let mut h = e.head.lock();
            for s in *ss {
                if !h.push(*s) {
                    ooo += 1;
                }
            }
        }
        if ooo > 0 {
            self.metrics.out_of_order_samples.inc_by(ooo);
        }
        self.head_samples.fetch_add(n, Ordering::Relaxed);
        let _ = self.head_since.compare_exchange(
            0,
            self.clock.now_ms().max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        Ok((lsn, n))
    }

    /// Samples in memory, not yet persisted.
    pub fn head_samples(&self) -> u64 {
        self.head_samples.load(Ordering::Relaxed)
    }

    /// The blocks currently live.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.state.read().blocks.clone()
    }

    /// Series matching `matchers` with their samples in `[mint, maxt]`
    /// (inclusive), merged from head and blocks without duplicates. Series
    /// without samples in the range are left out. Sorted by labels.
    pub async fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, TsdbError> {
        let ids = self.index.select(matchers);
        self.select_ids(&ids, mint, maxt).await
    }

    /// Like [`Tsdb::select`] for known series ids.
    pub async fn select_ids(
        &self,
        ids: &[SeriesId],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, TsdbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Under the gate no flush can move samples between head, frozen and blocks.
        let (blocks, frozen, mut parts) = {
            let _g = self.gate.read();
            let st = self.state.read();
            let blocks: Vec<Arc<Block>> = st
                .blocks
                .iter()
                .filter(|b| b.overlaps(mint, maxt))
                .cloned()
                .collect();
            let frozen = st.frozen.clone();
            drop(st);
            let mut parts: HashMap<SeriesId, Vec<(u64, Vec<Sample>)>> =
                HashMap::with_capacity(ids.len());
            for id in ids {
                if let Some(e) = self.index.get(*id) {
                    let h = e.head.lock();
                    if !h.is_empty() {
                        let s = h.samples_in(mint, maxt);
                        if !s.is_empty() {
                            parts.entry(e.id).or_default().push((u64::MAX, s));
                        }
                    }
                }
            }
            (blocks, frozen, parts)
        };
        let wanted: HashSet<SeriesId> = ids.iter().copied().collect();
        for f in &frozen {
            for (e, buf) in &f.series {
                if wanted.contains(&e.id) {
                    let s = buf.samples_in(mint, maxt);
                    if !s.is_empty() {
                        parts.entry(e.id).or_default().push((f.seq, s));
                    }
                }
            }
        }
        for b in &blocks {
            for (id, s) in b.read(ids, mint, maxt).await? {
                let canonical = self.index.get(id).map_or(id, |e| e.id);
                parts.entry(canonical).or_default().push((b.meta.seq, s));
            }
        }
        let mut out = Vec::with_capacity(parts.len());
        for (id, mut p) in parts {
            let Some(e) = self.index.get(id) else {
                continue;
            };
            let samples = if p.len() == 1 {
                p.pop().map(|x| x.1).unwrap_or_default()
            } else {
                p.sort_by_key(|x| x.0);
                let mut all: Vec<Sample> = p.into_iter().flat_map(|x| x.1).collect();
                sort_dedup_last_wins(&mut all);
                all
            };
            out.push(SeriesData {
                id: e.id,
                labels: e.labels.clone(),
                samples,
            });
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn new_block_id(&self) -> String {
        format!("{:016x}", self.next_block.fetch_add(1, Ordering::Relaxed))
    }

    fn staging(&self, id: &str) -> PathBuf {
        self.opts.data_dir.join("tmp").join(id)
    }

    /// Persists the whole head into blocks now and truncates the WAL.
    pub async fn flush(&self) -> Result<FlushStats, TsdbError> {
        let _m = self.maintenance.lock().await;
        let started = Instant::now();
        let r = self.flush_locked().await;
        match &r {
            Ok(s) if s.samples > 0 => {
                self.metrics
                    .flush_seconds
                    .observe(started.elapsed().as_secs_f64());
                tracing::info!(
                    samples = s.samples,
                    series = s.series,
                    blocks = s.blocks,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "head flushed to blocks"
                );
            }
            Ok(_) => {}
            Err(e) => {
                self.metrics.flush_failures.inc();
                tracing::error!(error = %e, "head flush failed; samples stay in the head and the WAL");
            }
        }
        self.update_gauges();
        r
    }

    async fn flush_locked(&self) -> Result<FlushStats, TsdbError> {
        let (frozen, cut) = {
            let _g = self.gate.write();
            let cut = self.wal.cut();
            let mut series = Vec::new();
            for e in self.index.all() {
                let mut h = e.head.lock();
                if !h.is_empty() {
                    let buf = std::mem::take(&mut *h);
                    drop(h);
                    series.push((e, buf));
                }
            }
            self.head_samples.store(0, Ordering::Relaxed);
            self.head_since.store(0, Ordering::Relaxed);
            let f = Arc::new(Frozen {
                seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
                series,
            });
            self.state.write().frozen.push(f.clone());
            (f, cut)
        };
        let result = self.persist_frozen(&frozen).await;
        match result {
            Ok((blocks, stats)) => {
                {
                    let mut st = self.state.write();
                    st.blocks.extend(blocks);
                    st.blocks.sort_by_key(|b| (b.meta.min_t, b.meta.seq));
                    st.frozen.retain(|f| !Arc::ptr_eq(f, &frozen));
                }
                let deleted = self.wal.truncate_before(cut)?;
                Ok(FlushStats {
                    wal_segments_deleted: deleted as u64,
                    ..stats
                })
            }
            Err(e) => {
                // Put the samples back so nothing is lost; the WAL still has them too.
                let _g = self.gate.write();
                let mut n = 0;
                for (e, buf) in &frozen.series {
                    let mut h = e.head.lock();
                    for s in buf.to_samples() {
                        h.push(s);
                        n += 1;
                    }
                }
                self.head_samples.fetch_add(n, Ordering::Relaxed);
                let _ = self.head_since.compare_exchange(
                    0,
                    self.clock.now_ms().max(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                self.state
                    .write()
                    .frozen
                    .retain(|f| !Arc::ptr_eq(f, &frozen));
                Err(e)
            }
        }
    }

    /// Writes a frozen head into one block per `block_duration` window it
    /// touches. Series are decoded one at a time, in label order, straight into
    /// the block writer, so memory stays bounded by one series and the
    /// writer's row-group buffer, not by the size of the head.
    async fn persist_frozen(
        &self,
        frozen: &Arc<Frozen>,
    ) -> Result<(Vec<Arc<Block>>, FlushStats), TsdbError> {
        let window = dur_ms(self.opts.block_duration).max(1);
        let mut windows: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
        for (_, buf) in &frozen.series {
            if let Some((a, b)) = buf.time_range() {
                let (wa, wb) = (a.div_euclid(window), b.div_euclid(window));
                if wa == wb {
                    windows.insert(wa);
                } else {
                    windows.extend(buf.to_samples().iter().map(|s| s.t.div_euclid(window)));
                }
            }
        }
        let jobs: Vec<(i64, String, PathBuf)> = windows
            .into_iter()
            .map(|w| {
                let id = self.new_block_id();
                let staging = self.staging(&id);
                (w, id, staging)
            })
            .collect();
        let frozen2 = frozen.clone();
        let staged = tokio::task::spawn_blocking(move || -> Result<_, BlockError> {
            let mut order: Vec<usize> = (0..frozen2.series.len()).collect();
            order.sort_by(|a, b| {
                frozen2.series[*a]
                    .0
                    .labels
                    .cmp(&frozen2.series[*b].0.labels)
            });
            let mut stats = FlushStats::default();
            let mut staged = Vec::new();
            for (w, id, staging) in jobs {
                let lo = w.saturating_mul(window);
                let hi = (w + 1).saturating_mul(window) - 1;
                let mut writer = BlockWriter::new(&id, staging, 3)?;
                for &i in &order {
                    let (e, buf) = &frozen2.series[i];
                    if buf.time_range().is_some_and(|(a, b)| a <= hi && b >= lo) {
                        writer.push(e.id, &e.labels, &buf.samples_in(lo, hi))?;
                    }
                }
                stats.samples += writer.samples();
                if let Some(done) = writer.finish(frozen2.seq, 0, Vec::new())? {
                    staged.push(done);
                }
            }
            stats.series = frozen2.series.len() as u64;
            Ok((staged, stats))
        })
        .await
        .map_err(|e| TsdbError::Io(format!("flush task failed: {e}")))?;
        let (staged, mut stats) = staged?;
        let mut blocks = Vec::new();
        for (dir, meta) in staged {
            self.store.publish(&dir, &meta).await?;
            blocks.push(Arc::new(Block::open(&self.store, &meta.id).await?));
        }
        stats.blocks = blocks.len() as u64;
        Ok((blocks, stats))
    }

    /// Flushes the head if it is over its size or age limit.
    pub async fn maybe_flush(&self) -> Result<Option<FlushStats>, TsdbError> {
        let n = self.head_samples();
        let since = self.head_since.load(Ordering::Relaxed);
        let age = if since > 0 {
            self.clock.now_ms() - since
        } else {
            0
        };
        if n >= self.opts.head_max_samples || (n > 0 && age >= dur_ms(self.opts.head_max_age)) {
            return self.flush().await.map(Some);
        }
        Ok(None)
    }

    /// Merges blocks that share a time window: first the small blocks of
    /// each `block_duration` window, then, for windows that ended at least
    /// one block duration ago, the blocks of each 12×`block_duration`
    /// window. Returns the number of blocks written.
    pub async fn compact(&self) -> Result<usize, TsdbError> {
        let _m = self.maintenance.lock().await;
        let started = Instant::now();
        let base = dur_ms(self.opts.block_duration).max(1);
        let now = self.clock.now_ms();
        let mut written = 0;
        for (level, window) in [(1u32, base), (2u32, base.saturating_mul(12))] {
            loop {
                let group = {
                    let st = self.state.read();
                    let mut groups: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
                    for b in &st.blocks {
                        let w = b.meta.min_t.div_euclid(window);
                        if b.meta.max_t.div_euclid(window) == w {
                            groups.entry(w).or_default().push(b.clone());
                        }
                    }
                    groups.into_iter().find(|(w, bs)| {
                        bs.len() >= 2
                            && (level == 1 || (w + 1).saturating_mul(window) <= now - base)
                    })
                };
                let Some((_, group)) = group else { break };
                match self.merge_blocks(&group, level).await {
                    Ok(()) => written += 1,
                    Err(e) => {
                        self.metrics.compaction_failures.inc();
                        tracing::error!(error = %e, "compaction failed; the source blocks stay as they are");
                        return Err(e);
                    }
                }
            }
        }
        if written > 0 {
            self.metrics
                .compaction_seconds
                .observe(started.elapsed().as_secs_f64());
            tracing::info!(
                blocks_written = written,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "compaction done"
            );
        }
        self.update_gauges();
        Ok(written)
    }

    async fn merge_blocks(&self, group: &[Arc<Block>], level: u32) -> Result<(), TsdbError> {
        let mut sources: Vec<Arc<Block>> = group.to_vec();
        sources.sort_by_key(|b| b.meta.seq);
        let mut series: BTreeMap<Labels, SeriesId> = BTreeMap::new();
        for b in &sources {
            for (id, (labels, _)) in &b.series {
                series.entry(labels.clone()).or_insert(*id);
            }
        }
        let id = self.new_block_id();
        let seq = sources.iter().map(|b| b.meta.seq).max().unwrap_or(0);
        let level = sources
            .iter()
            .map(|b| b.meta.level)
            .max()
            .unwrap_or(0)
            .max(level);
        let names: Vec<String> = sources.iter().map(|b| b.meta.id.clone()).collect();
        // Day-sized (cold) blocks get a stronger zstd level: ~2% smaller, written once.
        let zstd_level = if level >= 2 { 9 } else { 3 };
        let mut w = BlockWriter::new(&id, self.staging(&id), zstd_level)?;
        let ordered: Vec<(Labels, SeriesId)> = series.into_iter().collect();
        // A series may carry another id in an older block: match by labels.
        let lookups: Vec<HashMap<&Labels, SeriesId>> = sources
            .iter()
            .map(|b| b.series.iter().map(|(sid, (l, _))| (l, *sid)).collect())
            .collect();
        // Series in chunks keep memory bounded whatever the window size.
        for chunk in ordered.chunks(2048) {
            let mut parts: Vec<Vec<Sample>> = vec![Vec::new(); chunk.len()];
            // Sources in ascending recency, so "last wins" below keeps the newest.
            for (b, lookup) in sources.iter().zip(&lookups) {
                let mut ids = Vec::new();
                let mut pos: HashMap<SeriesId, usize> = HashMap::new();
                for (i, (l, _)) in chunk.iter().enumerate() {
                    if let Some(sid) = lookup.get(l) {
                        ids.push(*sid);
                        pos.insert(*sid, i);
                    }
                }
                for (sid, samples) in b.read(&ids, i64::MIN, i64::MAX).await? {
                    if let Some(i) = pos.get(&sid) {
                        parts[*i].extend(samples);
                    }
                }
            }
            for ((labels, sid), mut s) in chunk.iter().zip(parts) {
                sort_dedup_last_wins(&mut s);
                w.push(*sid, labels, &s)?;
            }
        }
        let staged = tokio::task::spawn_blocking(move || w.finish(seq, level, names))
            .await
            .map_err(|e| TsdbError::Io(format!("compaction task failed: {e}")))??;
        let new_block = match staged {
            Some((dir, meta)) => {
                self.store.publish(&dir, &meta).await?;
                Some(Arc::new(Block::open(&self.store, &id).await?))
            }
            None => None,
        };
        let mut st = self.state.write();
        st.blocks
            .retain(|b| !sources.iter().any(|s| Arc::ptr_eq(s, b)));
        st.blocks.extend(new_block);
        st.blocks.sort_by_key(|b| (b.meta.min_t, b.meta.seq));
        st.retired.extend(sources);
        Ok(())
    }

    /// Deletes blocks whose newest sample is older than now − retention,
    /// forgets series that no longer have data anywhere, and removes the
    /// files of replaced blocks no reader holds any more.
    pub async fn enforce_retention(&self) -> Result<usize, TsdbError> {
        let _m = self.maintenance.lock().await;
        let mut dropped = 0;
        if !self.opts.retention.is_zero() {
            let cutoff = self
                .clock
                .now_ms()
                .saturating_sub(dur_ms(self.opts.retention));
            let mut st = self.state.write();
            let (old, keep): (Vec<_>, Vec<_>) =
                st.blocks.drain(..).partition(|b| b.meta.max_t < cutoff);
            st.blocks = keep;
            dropped = old.len();
            st.retired.extend(old);
        }
        if dropped > 0 {
            self.metrics.retention_deleted_blocks.inc_by(dropped as u64);
            let live: HashSet<SeriesId> = {
                let st = self.state.read();
                let mut s: HashSet<SeriesId> = st
                    .blocks
                    .iter()
                    .flat_map(|b| b.series.keys().copied())
                    .collect();
                s.extend(
                    st.frozen
                        .iter()
                        .flat_map(|f| f.series.iter().map(|(e, _)| e.id)),
                );
                s
            };
            let _g = self.gate.write();
            let forgotten = self
                .index
                .retain(|e| live.contains(&e.id) || !e.head.lock().is_empty());
            tracing::info!(
                blocks = dropped,
                series_forgotten = forgotten,
                "retention applied"
            );
        }
        let retired: Vec<Arc<Block>> = {
            let mut st = self.state.write();
            let (free, busy): (Vec<_>, Vec<_>) = st
                .retired
                .drain(..)
                .partition(|b| Arc::strong_count(b) == 1);
            st.retired = busy;
            free
        };
        for b in retired {
            self.store.delete_block(&b.meta.id).await?;
        }
        self.update_gauges();
        Ok(dropped)
    }

    /// Runs flush, compaction and retention forever (spawn it).
    pub async fn run_maintenance(self: Arc<Self>, compaction_interval: Duration) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_compaction = Instant::now();
        loop {
            tick.tick().await;
            if let Err(e) = self.maybe_flush().await {
                tracing::error!(error = %e, "background flush failed; will retry");
            }
            if last_compaction.elapsed() >= compaction_interval {
                last_compaction = Instant::now();
                if let Err(e) = self.compact().await {
                    tracing::error!(error = %e, "background compaction failed; will retry");
                }
                if let Err(e) = self.enforce_retention().await {
                    tracing::error!(error = %e, "retention failed; will retry");
                }
            }
        }
    }

    /// Stops the WAL writer after it wrote what is pending.
    pub fn close(&self) {
        self.wal.close();
    }

    fn update_gauges(&self) {
        let st = self.state.read();
        self.metrics.blocks.set(st.blocks.len() as i64);
        self.metrics
            .block_bytes
            .set(st.blocks.iter().map(|b| b.bytes()).sum::<u64>() as i64);
        self.metrics.series.set(self.index.len() as i64);
        self.metrics.head_samples.set(self.head_samples() as i64);
    }
}
