//! Persisted rollups: the aggregates of buckets that can no longer change,
//! kept per metric × granularity × method, with each granularity's
//! retention (timespan) applied.
//!
//! A bucket is **sealed** once it lies entirely before the metric's
//! back-window cutoff ([`carbonara::raw_cutoff`] of its newest raw point):
//! Gnocchi drops measures older than that cutoff, so no write through the
//! Gnocchi API can change such a bucket again. The sealer computes sealed
//! buckets once, stores them, and advances the metric's watermark `W`
//! (every bucket with `start + granularity <= W` is sealed). Reads take
//! sealed buckets from here and compute the rest from the raw points at
//! and after `W` (see [`Rollups::series`]), so reads of old data do not
//! touch raw samples, and aggregates outlive the raw retention of the
//! TSDB up to each granularity's timespan.
//!
//! Storage: SQLite `<data_dir>/gnocchi-rollups.sqlite` (WAL journal,
//! `synchronous=FULL`), schema version 1:
//!
//! ```text
//! watermark(metric TEXT PRIMARY KEY, until INTEGER)       -- W, ms
//! split(metric TEXT, granularity INTEGER, method TEXT, start INTEGER, points BLOB,
//!       PRIMARY KEY (metric, granularity, method, start))  -- WITHOUT ROWID
//! ```
//!
//! A split holds up to 3,600 buckets (Gnocchi's split size): `start` is
//! the bucket time floored to `granularity × 3600`; `points` is a sequence
//! of (zig-zag varint delta of the bucket time from the previous one, or
//! from `start` for the first; little-endian f64 value).
//!
//! Deviation: samples that reach a metric through remote-write (the
//! agent) after its buckets were sealed are kept raw but not folded into
//! the sealed aggregates — the same as Gnocchi dropping late measures.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use altimeter_model::gnocchi::carbonara;
use altimeter_model::gnocchi::policy::{AggregationMethod, ArchivePolicy, PolicyItem};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};

use super::catalog::{CatalogError, Metric};

/// Buckets per split, as Gnocchi.
pub const POINTS_PER_SPLIT: i64 = 3600;

/// The rollup store.
#[derive(Debug)]
pub struct Rollups {
    conn: Mutex<Connection>,
    /// Watermarks by metric id (ms).
    marks: Mutex<HashMap<String, i64>>,
}

/// What one sealing pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SealStats {
    /// Metrics whose watermark moved.
    pub metrics: u64,
    /// Buckets written.
    pub buckets: u64,
    /// Splits deleted by retention.
    pub expired_splits: u64,
}

fn encode(start: i64, points: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * 10);
    let mut prev = start;
    for &(t, v) in points {
        let d = t - prev;
        let mut z = ((d << 1) ^ (d >> 63)) as u64;
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(&v.to_le_bytes());
        prev = t;
    }
    out
}

fn decode(start: i64, mut b: &[u8], out: &mut Vec<(i64, f64)>) -> Option<()> {
    let mut prev = start;
    while !b.is_empty() {
        let mut z: u64 = 0;
        let mut shift = 0;
        loop {
            let (&x, rest) = b.split_first()?;
            b = rest;
            z |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        let d = (z >> 1) as i64 ^ -((z & 1) as i64);
        let (v, rest) = b.split_at_checked(8)?;
        b = rest;
        prev += d;
        out.push((prev, f64::from_le_bytes(v.try_into().ok()?)));
    }
    Some(())
}

fn split_start(t: i64, g: i64) -> i64 {
    carbonara::bucket_start(t, g.saturating_mul(POINTS_PER_SPLIT))
}

impl Rollups {
    /// Opens (or creates) the store.
    pub fn open(path: &Path) -> Result<Rollups, CatalogError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS watermark (metric TEXT PRIMARY KEY, until INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS split (metric TEXT NOT NULL, granularity INTEGER NOT NULL,
                 method TEXT NOT NULL, start INTEGER NOT NULL, points BLOB NOT NULL,
                 PRIMARY KEY (metric, granularity, method, start)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');",
        )?;
        let mut marks = HashMap::new();
        {
            let mut q = conn.prepare("SELECT metric, until FROM watermark")?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (m, w) = row?;
                marks.insert(m, w);
            }
        }
        Ok(Rollups {
            conn: Mutex::new(conn),
            marks: Mutex::new(marks),
        })
    }

    /// The metric's watermark: every bucket with `start + g <= W` is sealed.
    pub fn watermark(&self, metric: &str) -> Option<i64> {
        self.marks.lock().get(metric).copied()
    }

    /// Metrics that have a watermark.
    pub fn metrics_with_marks(&self) -> Vec<String> {
        self.marks.lock().keys().cloned().collect()
    }

    /// Sealed buckets of one granularity × method, ascending.
    pub fn sealed(
        &self,
        metric: &str,
        g: i64,
        method: AggregationMethod,
    ) -> Result<Vec<(i64, f64)>, CatalogError> {
        let conn = self.conn.lock();
        let mut q = conn.prepare_cached(
            "SELECT start, points FROM split WHERE metric = ?1 AND granularity = ?2 AND method = ?3 ORDER BY start",
        )?;
        let rows = q.query_map(params![metric, g, method.to_string()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (start, blob) = row?;
            decode(start, &blob, &mut out).ok_or_else(|| CatalogError::Corrupt {
                kind: "rollup split".into(),
                key: format!("{metric}/{g}/{method}/{start}"),
                err: "truncated".into(),
            })?;
        }
        Ok(out)
    }

    /// Forgets a deleted metric's rollups.
    pub fn forget(&self, metric: &str) -> Result<(), CatalogError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM split WHERE metric = ?1", params![metric])?;
        tx.execute("DELETE FROM watermark WHERE metric = ?1", params![metric])?;
        tx.commit()?;
        self.marks.lock().remove(metric);
        Ok(())
    }

    /// Seals what `raw` (the metric's raw points from [`Rollups::read_from`]
    /// on) allows: buckets entirely before the back-window cutoff of its
    /// newest point. Applies each granularity's timespan to the stored
    /// splits. One transaction.
    pub fn seal(
        &self,
        m: &Metric,
        policy: &ArchivePolicy,
        raw: &[(i64, f64)],
    ) -> Result<SealStats, CatalogError> {
        let mut stats = SealStats::default();
        let Some(&(last, _)) = raw.last() else {
            return Ok(stats);
        };
        let cutoff = carbonara::raw_cutoff(last, policy);
        let w0 = self.watermark(&m.id);
        if w0.is_some_and(|w| cutoff <= w) {
            return Ok(stats);
        }
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        for item in &policy.definition {
            let g = item.granularity;
            for &method in &policy.aggregation_methods {
                let fresh: Vec<(i64, f64)> = carbonara::aggregate(raw, g, method)
                    .into_iter()
                    .filter(|&(b, _)| {
                        b.saturating_add(g) <= cutoff && w0.is_none_or(|w| b.saturating_add(g) > w)
                    })
                    .collect();
                stats.buckets += fresh.len() as u64;
                let key = method.to_string();
                // Group by split and merge with what is stored.
                let mut by_split: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
                for p in fresh {
                    by_split.entry(split_start(p.0, g)).or_default().push(p);
                }
                for (start, pts) in by_split {
                    let old: Option<Vec<u8>> = tx
                        .query_row(
                            "SELECT points FROM split WHERE metric = ?1 AND granularity = ?2 AND method = ?3 AND start = ?4",
                            params![m.id, g, key, start],
                            |r| r.get(0),
                        )
                        .optional()?;
                    let mut merged = Vec::new();
                    if let Some(b) = old {
                        decode(start, &b, &mut merged).ok_or_else(|| CatalogError::Corrupt {
                            kind: "rollup split".into(),
                            key: format!("{}/{g}/{key}/{start}", m.id),
                            err: "truncated".into(),
                        })?;
                    }
                    merged.extend(pts);
                    merged.sort_by_key(|p| p.0);
                    merged.dedup_by_key(|p| p.0);
                    tx.execute(
                        "INSERT OR REPLACE INTO split (metric, granularity, method, start, points) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![m.id, g, key, start, encode(start, &merged)],
                    )?;
                }
            }
            stats.expired_splits += expire(&tx, &m.id, item, last)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO watermark (metric, until) VALUES (?1, ?2)",
            params![m.id, cutoff],
        )?;
        tx.commit()?;
        self.marks.lock().insert(m.id.clone(), cutoff);
        stats.metrics = 1;
        Ok(stats)
    }

    /// Where raw reads for a metric start: two of the policy's largest
    /// buckets before the watermark (the unsealed buckets, plus the point
    /// before them that `rate:` methods difference against); everything
    /// when nothing is sealed yet.
    pub fn read_from(&self, metric: &str, policy: &ArchivePolicy) -> i64 {
        match self.watermark(metric) {
            None => i64::MIN,
            Some(w) => w.saturating_sub(policy.max_block_size().saturating_mul(2)),
        }
    }

    /// One aggregated series, as Gnocchi stores it: sealed buckets from
    /// the store, the others computed from `raw` (the points from
    /// [`Rollups::read_from`] on), then the timespan applied.
    pub fn series(
        &self,
        m: &Metric,
        item: &PolicyItem,
        method: AggregationMethod,
        raw: &[(i64, f64)],
    ) -> Result<Vec<(i64, f64)>, CatalogError> {
        let g = item.granularity;
        let mut s = match self.watermark(&m.id) {
            None => carbonara::aggregate(raw, g, method),
            Some(w) => {
                let mut s = self.sealed(&m.id, g, method)?;
                s.retain(|&(b, _)| b.saturating_add(g) <= w);
                s.extend(
                    carbonara::aggregate(raw, g, method)
                        .into_iter()
                        .filter(|&(b, _)| b.saturating_add(g) > w),
                );
                s
            }
        };
        carbonara::truncate(&mut s, item);
        Ok(s)
    }
}

/// Deletes splits whose every bucket is older than what the timespan keeps
/// (relative to the newest possible bucket, that of `last`).
fn expire(
    tx: &rusqlite::Transaction<'_>,
    metric: &str,
    item: &PolicyItem,
    last: i64,
) -> Result<u64, CatalogError> {
    let Some(span) = item.timespan else {
        return Ok(0);
    };
    let g = item.granularity;
    let oldest_kept = carbonara::bucket_start(last, g).saturating_sub(span);
    // A split [start, start + g·3600) is entirely ≤ oldest_kept when its
    // last bucket start is.
    let n = tx.execute(
        "DELETE FROM split WHERE metric = ?1 AND granularity = ?2 AND start + ?3 <= ?4",
        params![
            metric,
            g,
            g.saturating_mul(POINTS_PER_SPLIT - 1),
            oldest_kept
        ],
    )?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use altimeter_model::gnocchi::policy::{Aggregation, ArchivePolicy};
    use serde_json::json;

    fn metric() -> Metric {
        Metric {
            id: "m".into(),
            name: None,
            unit: None,
            resource_id: None,
            archive_policy_name: "p".into(),
            creator: None,
            selector: Vec::new(),
            scale: 1.0,
            created_us: 0,
        }
    }

    fn policy(back_window: u64) -> ArchivePolicy {
        ArchivePolicy::from_request(&json!({
            "name": "p", "back_window": back_window,
            "aggregation_methods": ["mean", "max", "count", "std", "95pct", "rate:mean", "last"],
            "definition": [{"granularity": "1 minute", "timespan": "1 hour"},
                           {"granularity": "10 minutes", "timespan": "1 day"}]
        }))
        .unwrap()
    }

    #[test]
    fn split_encoding_round_trips() {
        let pts = vec![
            (0, 1.5),
            (60_000, -2.0),
            (7_200_000, f64::NAN),
            (7_260_000, 1e300),
        ];
        let b = encode(0, &pts);
        let mut out = Vec::new();
        decode(0, &b, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[1], (60_000, -2.0));
        assert!(out[2].1.is_nan());
        assert!(decode(0, &b[..b.len() - 1], &mut Vec::new()).is_none());
    }

    /// Sealing in steps, at arbitrary points, gives exactly the series
    /// computed from all raw points at once, and survives a reopen.
    #[test]
    fn sealed_plus_head_equals_full_computation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let m = metric();
        for back_window in [0, 2] {
            let p = policy(back_window);
            let r = Rollups::open(&path).unwrap();
            r.forget(&m.id).unwrap();
            // Four hours of an irregular counter with a reset, 17 s apart.
            let raw: Vec<(i64, f64)> = (0..850)
                .map(|i| {
                    let t = 1_700_000_000_000 + i * 17_000;
                    let v = if i < 400 {
                        (i * i % 97) as f64 + i as f64
                    } else {
                        (i - 400) as f64
                    };
                    (t, v)
                })
                .collect();
            for step in [100, 333, 600, 850] {
                let seen = &raw[..step];
                let from = r.read_from(&m.id, &p);
                let tail: Vec<_> = seen.iter().copied().filter(|x| x.0 >= from).collect();
                r.seal(&m, &p, &tail).unwrap();
            }
            let r = Rollups::open(&path).unwrap();
            assert!(r.watermark(&m.id).is_some());
            let from = r.read_from(&m.id, &p);
            let tail: Vec<_> = raw.iter().copied().filter(|x| x.0 >= from).collect();
            for item in &p.definition {
                for &method in &p.aggregation_methods {
                    let mut want = carbonara::aggregate(&raw, item.granularity, method);
                    carbonara::truncate(&mut want, item);
                    let got = r.series(&m, item, method, &tail).unwrap();
                    assert_eq!(got.len(), want.len(), "{method} @ {}", item.granularity);
                    for (a, b) in got.iter().zip(&want) {
                        assert_eq!(a.0, b.0);
                        // Gnocchi's percentile interpolates on positions in the
                        // array it was handed, so where the read window starts
                        // moves its last bit; everything else is exact.
                        let pct = matches!(method.base, Aggregation::Percentile(_));
                        let close = pct && (a.1 - b.1).abs() <= 1e-12 * b.1.abs().max(1.0);
                        assert!(
                            a.1 == b.1 || close || (a.1.is_nan() && b.1.is_nan()),
                            "{method} @ {}: {a:?} vs {b:?}",
                            item.granularity
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn retention_drops_whole_old_splits() {
        let dir = tempfile::tempdir().unwrap();
        let r = Rollups::open(&dir.path().join("r.sqlite")).unwrap();
        let p = ArchivePolicy::from_request(&json!({
            "name": "p", "back_window": 0, "aggregation_methods": ["mean"],
            "definition": [{"granularity": "1 second", "timespan": "1 hour"}]
        }))
        .unwrap();
        // Three hours of 1 s data: three 3,600-bucket splits.
        let raw: Vec<(i64, f64)> = (0..3 * 3600).map(|i| (i * 1000, i as f64)).collect();
        let st = r.seal(&metric(), &p, &raw).unwrap();
        assert!(st.expired_splits >= 1, "{st:?}");
        let kept = r.sealed("m", 1000, "mean".parse().unwrap()).unwrap();
        assert!(kept.first().unwrap().0 >= 3600 * 1000, "{:?}", kept.first());
    }
}
