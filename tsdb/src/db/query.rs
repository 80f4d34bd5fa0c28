//! Metadata reads for the Prometheus API (`/api/v1/series`, `/labels`,
//! `/label/<name>/values`): which series have data in a time range, decided
//! from time ranges alone — head buffers' first/last timestamps, blocks'
//! per-series row ranges — without decoding a sample. Like Prometheus, a
//! series counts when its data *spans* part of the range (a gap in the
//! range may still count).

use std::collections::{BTreeSet, HashSet};

use altimeter_model::{Labels, MatchOp, Matcher};

use super::Tsdb;
use crate::index::SeriesId;

fn overlaps(r: Option<(i64, i64)>, mint: i64, maxt: i64) -> bool {
    r.is_some_and(|(a, b)| a <= maxt && b >= mint)
}

impl Tsdb {
    /// Canonical ids of the series matching any of `matcher_sets` (an
    /// empty list of sets selects every series), sorted, without duplicates.
    pub fn select_ids_any(&self, matcher_sets: &[Vec<Matcher>]) -> Vec<SeriesId> {
        if matcher_sets.is_empty() {
            return self.index.select(&[]);
        }
        let mut ids: Vec<SeriesId> = matcher_sets
            .iter()
            .flat_map(|set| self.index.select(set))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The subset of `ids` (canonical) with data in `[mint, maxt]`
    /// (inclusive), in the order given. Nothing is decoded: head buffers'
    /// and blocks' per-series time ranges decide.
    pub fn ids_with_data(&self, ids: &[SeriesId], mint: i64, maxt: i64) -> Vec<SeriesId> {
        if ids.is_empty() || mint > maxt {
            return Vec::new();
        }
        // Under the gate no flush can move data from the head to a frozen
        // head; the state snapshot is consistent with the head we see.
        let _g = self.gate.read();
        let (blocks, frozen) = {
            let st = self.state.read();
            let blocks: Vec<_> = st
                .blocks
                .iter()
                .filter(|b| b.overlaps(mint, maxt))
                .cloned()
                .collect();
            (blocks, st.frozen.clone())
        };
        let mut hit: HashSet<SeriesId> = HashSet::new();
        let mut rest: Vec<SeriesId> = Vec::new();
        for id in ids {
            match self.index.get(*id) {
                Some(e) if overlaps(e.head.lock().time_range(), mint, maxt) => {
                    hit.insert(*id);
                }
                Some(_) => rest.push(*id),
                None => {}
            }
        }
        if !rest.is_empty() && !frozen.is_empty() {
            let wanted: HashSet<SeriesId> = rest.iter().copied().collect();
            for f in &frozen {
                for (e, buf) in &f.series {
                    if wanted.contains(&e.id) && overlaps(buf.time_range(), mint, maxt) {
                        hit.insert(e.id);
                    }
                }
            }
            rest.retain(|id| !hit.contains(id));
        }
        if !rest.is_empty() && !blocks.is_empty() {
            for id in self.index.with_aliases(&rest) {
                let in_range = blocks.iter().any(|b| {
                    b.series
                        .get(&id)
                        .is_some_and(|r| r.min_t <= maxt && r.max_t >= mint)
                });
                if in_range {
                    hit.insert(self.index.get(id).map_or(id, |e| e.id));
                }
            }
        }
        ids.iter().copied().filter(|id| hit.contains(id)).collect()
    }

    /// Labels of the series matching any of `matcher_sets` that have data
    /// in `[mint, maxt]`, sorted (Prometheus's `/api/v1/series`).
    pub fn series_labels(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<Labels> {
        let ids = self.select_ids_any(matcher_sets);
        let mut out: Vec<Labels> = self
            .ids_with_data(&ids, mint, maxt)
            .into_iter()
            .filter_map(|id| self.index.get(id).map(|e| e.labels.clone()))
            .collect();
        out.sort();
        out
    }

    /// Label names of the series matching any of `matcher_sets` (all
    /// series when empty) with data in `[mint, maxt]`, sorted.
    pub fn label_names_in(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<String> {
        let ids = self.select_ids_any(matcher_sets);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for id in self.ids_with_data(&ids, mint, maxt) {
            if let Some(e) = self.index.get(id) {
                for l in &e.labels {
                    if !names.contains(&l.name) {
                        names.insert(l.name.clone());
                    }
                }
            }
        }
        names.into_iter().collect()
    }

    /// Values of label `name` among the series matching any of
    /// `matcher_sets` (all series when empty) with data in `[mint, maxt]`,
    /// sorted.
    pub fn label_values_in(
        &self,
        name: &str,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<String> {
        // Only series carrying the label can contribute a value.
        let has_label = Matcher::new(MatchOp::NotEqual, name, "").expect("not a regex");
        let sets: Vec<Vec<Matcher>> = if matcher_sets.is_empty() {
            vec![vec![has_label]]
        } else {
            matcher_sets
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    s.push(has_label.clone());
                    s
                })
                .collect()
        };
        let ids = self.select_ids_any(&sets);
        let mut values: BTreeSet<String> = BTreeSet::new();
        for id in self.ids_with_data(&ids, mint, maxt) {
            if let Some(v) = self
                .index
                .get(id)
                .and_then(|e| e.labels.get(name).map(str::to_owned))
            {
                values.insert(v);
            }
        }
        values.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use altimeter_model::{Labels, ManualClock, Matcher, Sample};

    use crate::db::{Tsdb, TsdbOptions};
    use crate::metrics::TsdbMetrics;

    const NOW: i64 = 1_700_000_000_000;

    async fn open(dir: &std::path::Path) -> Arc<Tsdb> {
        let mut reg = prometheus_client::registry::Registry::default();
        let mut opts = TsdbOptions::new(dir);
        opts.retention = std::time::Duration::ZERO;
        Tsdb::open(
            opts,
            Arc::new(ManualClock::new(NOW)),
            Arc::new(TsdbMetrics::new(&mut reg)),
        )
        .await
        .unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    async fn write(db: &Tsdb, l: &Labels, ts: &[i64]) {
        let s: Vec<Sample> = ts.iter().map(|t| Sample { t: *t, v: 1.0 }).collect();
        db.write(&[(l.clone(), &s[..])]).await.unwrap();
    }

    #[tokio::test]
    async fn time_ranges_decide_across_head_and_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).await;
        let a = labels(&[("__name__", "up"), ("job", "a")]);
        let b = labels(&[("__name__", "up"), ("job", "b"), ("zone", "z1")]);
        let c = labels(&[("__name__", "other"), ("job", "a")]);
        write(&db, &a, &[NOW - 10_000, NOW - 9_000]).await;
        write(&db, &b, &[NOW - 5_000]).await;
        db.flush().await.unwrap();
        // `a` now lives in a block; `c` only in the head.
        write(&db, &c, &[NOW - 1_000]).await;
        let up = vec![vec![Matcher::equal("__name__", "up")]];
        let all = i64::MIN..=i64::MAX;
        assert_eq!(
            db.series_labels(&up, *all.start(), *all.end()),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            db.series_labels(&up, NOW - 9_500, NOW - 9_500),
            vec![a.clone()]
        );
        assert_eq!(db.series_labels(&up, NOW - 8_000, NOW - 6_000), vec![]);
        assert_eq!(db.series_labels(&up, NOW - 5_000, NOW), vec![b.clone()]);
        assert_eq!(
            db.label_names_in(&[], NOW - 2_000, NOW),
            vec!["__name__".to_string(), "job".to_string()]
        );
        assert_eq!(
            db.label_names_in(&[], i64::MIN, i64::MAX),
            vec!["__name__", "job", "zone"]
        );
        assert_eq!(
            db.label_values_in("__name__", &[], i64::MIN, i64::MAX),
            vec!["other", "up"]
        );
        assert_eq!(db.label_values_in("job", &up, NOW - 6_000, NOW), vec!["b"]);
        assert_eq!(
            db.label_values_in("zone", &[], NOW - 20_000, NOW - 8_000),
            Vec::<String>::new()
        );
        // Several sets are a union.
        let two = vec![
            vec![Matcher::equal("job", "b")],
            vec![Matcher::equal("__name__", "other")],
        ];
        assert_eq!(db.series_labels(&two, i64::MIN, i64::MAX), vec![c, b]);
    }
}
