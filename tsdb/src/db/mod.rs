//! [`Tsdb`]: the storage engine that ties the WAL, the head, the series
//! index and the Parquet blocks together.
//!
//! Write path: validate → resolve series → one WAL record (group-committed
//! fsync) → head. Read path: index → head + frozen heads + blocks, merged per
//! series with "last write wins" for equal timestamps. Background work:
//! flush the head into blocks (by size or age), compact blocks of the same
//! time window, delete blocks past the retention.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use altimeter_model::{Clock, Labels, Matcher, Sample};
use parking_lot::RwLock;

use crate::block::{Block, BlockError, BlockStore};
use crate::head::{SeriesBuf, sort_dedup_last_wins};
use crate::index::{Index, SeriesEntry, SeriesId};
use crate::metrics::TsdbMetrics;
use crate::wal::record::{TYPE_BATCH, decode_batch, encode_samples, encode_series_defs};
use crate::wal::{self, Wal, WalError};

mod maintenance;
mod query;

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

/// Rows below which a block read is not split further: smaller reads cost
/// more in task and Parquet set-up than they gain.
const MIN_SPLIT_ROWS: u64 = 32_768;

/// Samples read from a block: its sequence number and the series.
type BlockPart = (u64, Vec<(SeriesId, Vec<Sample>)>);

/// Block reads of one select, running as tasks.
#[derive(Default)]
struct BlockReads {
    tasks: tokio::task::JoinSet<Result<BlockPart, BlockError>>,
}

impl BlockReads {
    /// Starts reading `ids`' samples in `[mint, maxt]` from `block`, split
    /// into up to one task per core.
    fn start(&mut self, block: &Arc<Block>, ids: &[SeriesId], mint: i64, maxt: i64) {
        let plan = block.plan(ids, mint, maxt);
        if plan.is_empty() {
            return;
        }
        let rows: u64 = plan.iter().map(|(_, r)| r.rows).sum();
        let cores = crate::cores() as u64;
        let parts = (rows / MIN_SPLIT_ROWS).clamp(1, cores);
        let per_part = rows.div_ceil(parts);
        let mut chunk = Vec::new();
        let mut chunk_rows = 0u64;
        let mut plan = plan.into_iter().peekable();
        while let Some(w) = plan.next() {
            chunk_rows += w.1.rows;
            chunk.push(w);
            if chunk_rows >= per_part || plan.peek().is_none() {
                let b = block.clone();
                let c = std::mem::take(&mut chunk);
                self.tasks
                    .spawn(async move { Ok((b.meta.seq, b.read_planned(&c, mint, maxt).await?)) });
                chunk_rows = 0;
            }
        }
    }

    /// Every read's samples with the block's sequence number.
    async fn finish(mut self) -> Result<Vec<BlockPart>, TsdbError> {
        let mut out = Vec::with_capacity(self.tasks.len());
        while let Some(r) = self.tasks.join_next().await {
            let r = r.map_err(|e| TsdbError::Io(format!("block read task failed: {e}")))?;
            out.push(r?);
        }
        Ok(out)
    }
}

/// One series' samples from several sources (`(seq, samples)`, each sorted,
/// a higher `seq` written later) merged: time-disjoint parts, the usual
/// case, are concatenated; overlapping ones resolved "last write wins".
fn merge_parts(mut p: Vec<(u64, Vec<Sample>)>) -> Vec<Sample> {
    if p.len() <= 1 {
        return p.pop().map(|x| x.1).unwrap_or_default();
    }
    p.sort_unstable_by_key(|x| x.1.first().map_or(i64::MIN, |s| s.t));
    let disjoint = p.windows(2).all(|w| match (w[0].1.last(), w[1].1.first()) {
        (Some(a), Some(b)) => a.t < b.t,
        _ => false,
    });
    if disjoint {
        let total: usize = p.iter().map(|x| x.1.len()).sum();
        let mut parts = p.into_iter();
        let mut all = parts.next().map(|x| x.1).unwrap_or_default();
        all.reserve_exact(total - all.len());
        for (_, s) in parts {
            all.extend_from_slice(&s);
        }
        return all;
    }
    p.sort_by_key(|x| x.0);
    let mut all: Vec<Sample> = p.into_iter().flat_map(|x| x.1).collect();
    sort_dedup_last_wins(&mut all);
    all
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
        let mut metas = Vec::new();
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
            let meta = Block::read_meta(&store, id).await?;
            replaced.extend(meta.sources.iter().cloned());
            max_seq = max_seq.max(meta.seq);
            metas.push(meta);
        }
        let mut kept = Vec::new();
        for meta in metas {
            if replaced.contains(&meta.id) {
                tracing::info!(block = %meta.id, "removing block already merged into a compacted block");
                store.delete_block(&meta.id).await?;
            } else {
                let mut register = |sid, labels| {
                    index.insert_with_id(sid, labels);
                };
                kept.push(Arc::new(
                    Block::open(&store, meta, Some(&mut register)).await?,
                ));
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
    ///
    /// Blocks are read by parallel tasks (large plans split into row
    /// ranges, one per core) while this task decodes the head.
    pub async fn select_ids(
        &self,
        ids: &[SeriesId],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, TsdbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let block_ids = self.index.with_aliases(ids);
        // Each series once, however it was named (an alias, twice).
        let mut slot: HashMap<SeriesId, usize> = HashMap::with_capacity(ids.len());
        let mut entries = self.index.entries(ids);
        entries.retain(|e| {
            let next = slot.len();
            *slot.entry(e.id).or_insert(next) == next
        });
        // Sources of each entry's samples: (seq, samples), by entry index.
        let mut parts: Vec<Vec<(u64, Vec<Sample>)>> = vec![Vec::new(); entries.len()];
        let mut reads = BlockReads::default();
        // Under the gate no flush can move samples between head, frozen and blocks.
        let frozen = {
            let _g = self.gate.read();
            let st = self.state.read();
            for b in st.blocks.iter().filter(|b| b.overlaps(mint, maxt)) {
                reads.start(b, &block_ids, mint, maxt);
            }
            let frozen = st.frozen.clone();
            drop(st);
            for (e, p) in entries.iter().zip(parts.iter_mut()) {
                let h = e.head.lock();
                if !h.is_empty() {
                    let s = h.samples_in(mint, maxt);
                    if !s.is_empty() {
                        p.push((u64::MAX, s));
                    }
                }
            }
            frozen
        };
        for f in &frozen {
            for (e, buf) in &f.series {
                if let Some(&i) = slot.get(&e.id) {
                    let s = buf.samples_in(mint, maxt);
                    if !s.is_empty() {
                        parts[i].push((f.seq, s));
                    }
                }
            }
        }
        for (seq, series) in reads.finish().await? {
            for (id, s) in series {
                // Blocks may hold a series under an older (alias) id.
                let i = match slot.get(&id) {
                    Some(&i) => i,
                    None => match self.index.get(id).and_then(|e| slot.get(&e.id).copied()) {
                        Some(i) => i,
                        None => continue,
                    },
                };
                parts[i].push((seq, s));
            }
        }
        let mut out: Vec<SeriesData> = entries
            .iter()
            .zip(parts)
            .filter(|(_, p)| !p.is_empty())
            .map(|(e, p)| SeriesData {
                id: e.id,
                labels: e.labels.clone(),
                samples: merge_parts(p),
            })
            .collect();
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn new_block_id(&self) -> String {
        format!("{:016x}", self.next_block.fetch_add(1, Ordering::Relaxed))
    }

    fn staging(&self, id: &str) -> PathBuf {
        self.opts.data_dir.join("tmp").join(id)
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

#[cfg(test)]
mod tests {
    use super::merge_parts;
    use altimeter_model::Sample;

    fn s(pairs: &[(i64, f64)]) -> Vec<Sample> {
        pairs.iter().map(|(t, v)| Sample::new(*t, *v)).collect()
    }

    #[test]
    fn disjoint_parts_concatenate_in_time_order() {
        // Sources come in any order; the head (u64::MAX) holds the newest.
        let merged = merge_parts(vec![
            (u64::MAX, s(&[(50, 5.0), (60, 6.0)])),
            (1, s(&[(10, 1.0), (20, 2.0)])),
            (2, s(&[(30, 3.0), (40, 4.0)])),
        ]);
        assert_eq!(
            merged,
            s(&[
                (10, 1.0),
                (20, 2.0),
                (30, 3.0),
                (40, 4.0),
                (50, 5.0),
                (60, 6.0)
            ])
        );
    }

    #[test]
    fn overlapping_parts_keep_the_last_write() {
        // Block 2 was written after block 1 and rewrote t=20; the head
        // interleaves with block 2.
        let merged = merge_parts(vec![
            (2, s(&[(20, 22.0), (30, 3.0)])),
            (u64::MAX, s(&[(25, 9.0), (30, 33.0)])),
            (1, s(&[(10, 1.0), (20, 2.0)])),
        ]);
        assert_eq!(merged, s(&[(10, 1.0), (20, 22.0), (25, 9.0), (30, 33.0)]));
        assert_eq!(merge_parts(vec![]), vec![]);
        assert_eq!(merge_parts(vec![(7, s(&[(1, 1.0)]))]), s(&[(1, 1.0)]));
    }
}
