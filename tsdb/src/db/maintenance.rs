//! Background persistence of the [`Tsdb`]: flushing the head into blocks,
//! compacting blocks of the same window, and retention.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use altimeter_model::Sample;

use super::{FlushStats, Frozen, Tsdb, TsdbError, dur_ms};
use crate::block::{Block, BlockError, BlockWriter};
use crate::head::sort_dedup_last_wins;
use crate::index::{SeriesEntry, SeriesId};

impl Tsdb {
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
            // Its series are in the index already (they came from the head).
            blocks.push(Arc::new(Block::open(&self.store, meta, None).await?));
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
        self.delete_retired().await?;
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
        // Labels come from the index (blocks keep none). A series may carry
        // another id in an older block (the index aliases it): merge by the
        // index's canonical entry, and remember each source's own id for it.
        let mut series: HashMap<SeriesId, Arc<SeriesEntry>> = HashMap::new();
        let mut lookups: Vec<HashMap<SeriesId, SeriesId>> = Vec::with_capacity(sources.len());
        for b in &sources {
            let mut local = HashMap::with_capacity(b.series.len());
            for sid in b.series.keys() {
                let e = self.index.get(*sid).ok_or_else(|| {
                    TsdbError::Io(format!(
                        "block {} holds series {sid} that the index does not know",
                        b.meta.id
                    ))
                })?;
                local.insert(e.id, *sid);
                series.entry(e.id).or_insert(e);
            }
            lookups.push(local);
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
        let mut ordered: Vec<Arc<SeriesEntry>> = series.into_values().collect();
        ordered.sort_by(|a, b| a.labels.cmp(&b.labels));
        // Series in chunks keep memory bounded whatever the window size.
        for chunk in ordered.chunks(2048) {
            let mut parts: Vec<Vec<Sample>> = vec![Vec::new(); chunk.len()];
            // Sources in ascending recency, so "last wins" below keeps the newest.
            for (b, lookup) in sources.iter().zip(&lookups) {
                let mut ids = Vec::new();
                let mut pos: HashMap<SeriesId, usize> = HashMap::new();
                for (i, e) in chunk.iter().enumerate() {
                    if let Some(sid) = lookup.get(&e.id) {
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
            for (e, mut s) in chunk.iter().zip(parts) {
                sort_dedup_last_wins(&mut s);
                w.push(e.id, &e.labels, &s)?;
            }
        }
        let staged = tokio::task::spawn_blocking(move || w.finish(seq, level, names))
            .await
            .map_err(|e| TsdbError::Io(format!("compaction task failed: {e}")))??;
        let new_block = match staged {
            Some((dir, meta)) => {
                self.store.publish(&dir, &meta).await?;
                Some(Arc::new(Block::open(&self.store, meta, None).await?))
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
                // Block ids may be aliases: count their canonical series live.
                let mut s: HashSet<SeriesId> = st
                    .blocks
                    .iter()
                    .flat_map(|b| b.series.keys())
                    .map(|id| self.index.get(*id).map_or(*id, |e| e.id))
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
        self.delete_retired().await?;
        self.update_gauges();
        Ok(dropped)
    }

    /// Deletes the files of replaced or expired blocks that no reader holds
    /// any more; the others wait for the next maintenance pass.
    async fn delete_retired(&self) -> Result<(), TsdbError> {
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
        Ok(())
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
}
