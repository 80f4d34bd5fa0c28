//! The series index: every known series (in the head or in any block), found
//! by label hash on ingest and by label matchers on query.
//!
//! Series ids are global, assigned once, never reused, and persisted in the WAL
//! and in every block's series table.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use altimeter_model::{Labels, MatchOp, Matcher};
use parking_lot::{Mutex, RwLock};

use crate::head::SeriesBuf;

/// A global series id.
pub type SeriesId = u64;

/// One series: identity, labels and its head buffer.
#[derive(Debug)]
pub struct SeriesEntry {
    /// Global id.
    pub id: SeriesId,
    /// The label set.
    pub labels: Labels,
    /// [`Labels::stable_hash`] of `labels`.
    pub hash: u64,
    /// Recent samples not yet in a block.
    pub head: Mutex<SeriesBuf>,
    /// The last WAL segment that carries this series' definition
    /// (0 = none yet); every segment is self-describing.
    pub wal_segment: AtomicU32,
}

/// A hasher for keys that are already hashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashKeyed<Vec<Arc<SeriesEntry>>>,
    by_id: HashKeyed<Arc<SeriesEntry>>,
    /// name → value → sorted series ids.
    postings: BTreeMap<String, BTreeMap<String, Vec<SeriesId>>>,
    /// canonical id → other ids the same series has in blocks (rare: a
    /// series forgotten by retention and re-created, met again on replay).
    aliases: HashKeyed<Vec<SeriesId>>,
}

/// The index of all series.
#[derive(Debug, Default)]
pub struct Index {
    inner: RwLock<Inner>,
    next_id: AtomicU64,
}

impl Index {
    /// An empty index whose first new id is 1.
    pub fn new() -> Self {
        Self {
            inner: RwLock::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        let g = self.inner.read();
        g.by_id.len() - g.aliases.values().map(Vec::len).sum::<usize>()
    }

    /// Whether there are no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves many series at once under one read lock; `None` where unknown.
    pub fn lookup_many<T>(
        &self,
        items: &[T],
        hash: impl Fn(&T) -> u64,
        eq: impl Fn(&T, &Labels) -> bool,
    ) -> Vec<Option<Arc<SeriesEntry>>> {
        let g = self.inner.read();
        items
            .iter()
            .map(|it| {
                g.by_hash
                    .get(&hash(it))
                    .and_then(|v| v.iter().find(|e| eq(it, &e.labels)).cloned())
            })
            .collect()
    }

    /// The series by id.
    pub fn get(&self, id: SeriesId) -> Option<Arc<SeriesEntry>> {
        self.inner.read().by_id.get(&id).cloned()
    }

    /// The entries of `ids` (aliases resolve to their canonical entry;
    /// unknown ids are left out), under one lock.
    pub fn entries(&self, ids: &[SeriesId]) -> Vec<Arc<SeriesEntry>> {
        let g = self.inner.read();
        ids.iter()
            .filter_map(|id| g.by_id.get(id).cloned())
            .collect()
    }

    /// Returns the series with these labels, creating it (with a new id) if needed.
    /// The flag says whether it was created.
    pub fn get_or_create(&self, labels: Labels) -> (Arc<SeriesEntry>, bool) {
        let hash = labels.stable_hash();
        let mut g = self.inner.write();
        if let Some(e) = g
            .by_hash
            .get(&hash)
            .and_then(|v| v.iter().find(|e| e.labels == labels))
        {
            return (e.clone(), false);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        (insert(&mut g, id, labels, hash), true)
    }

    /// Registers a series with a known id (WAL replay, block load). When the
    /// labels are already known under another id the existing entry wins and
    /// is returned: ids are aliases of the same series then.
    pub fn insert_with_id(&self, id: SeriesId, labels: Labels) -> Arc<SeriesEntry> {
        self.next_id.fetch_max(id + 1, Ordering::Relaxed);
        let hash = labels.stable_hash();
        let mut g = self.inner.write();
        if let Some(e) = g.by_id.get(&id) {
            return e.clone();
        }
        if let Some(e) = g
            .by_hash
            .get(&hash)
            .and_then(|v| v.iter().find(|e| e.labels == labels))
        {
            let e = e.clone();
            g.by_id.insert(id, e.clone());
            g.aliases.entry(e.id).or_default().push(id);
            return e;
        }
        insert(&mut g, id, labels, hash)
    }

    /// `ids` (canonical) plus every other id their series carry in blocks.
    pub fn with_aliases(&self, ids: &[SeriesId]) -> Vec<SeriesId> {
        let g = self.inner.read();
        if g.aliases.is_empty() {
            return ids.to_vec();
        }
        let mut out = ids.to_vec();
        for id in ids {
            if let Some(a) = g.aliases.get(id) {
                out.extend_from_slice(a);
            }
        }
        out
    }

    /// Every series entry (a snapshot).
    pub fn all(&self) -> Vec<Arc<SeriesEntry>> {
        let g = self.inner.read();
        let mut v: Vec<_> = g
            .by_id
            .iter()
            .filter(|(id, e)| **id == e.id)
            .map(|(_, e)| e.clone())
            .collect();
        v.sort_by_key(|e| e.id);
        v
    }

    /// Ids of the series matching all `matchers`, sorted. No matchers selects all.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesId> {
        let g = self.inner.read();
        let mut result: Option<Vec<SeriesId>> = None;
        let mut negatives: Vec<&Matcher> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Selects series lacking the label too: apply as a filter.
                negatives.push(m);
                continue;
            }
            let ids = match (m.op, g.postings.get(&m.name)) {
                (_, None) => Vec::new(),
                (MatchOp::Equal, Some(vals)) => vals.get(&m.value).cloned().unwrap_or_default(),
                (_, Some(vals)) => {
                    let lists: Vec<&Vec<SeriesId>> = vals
                        .iter()
                        .filter(|(v, _)| m.matches(v))
                        .map(|(_, l)| l)
                        .collect();
                    union_all(&lists)
                }
            };
            result = Some(match result {
                None => ids,
                Some(r) => intersect(&r, &ids),
            });
            if result.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let base = match result {
            Some(r) => r,
            None => {
                let mut all: Vec<SeriesId> = g
                    .by_id
                    .iter()
                    .filter(|(id, e)| **id == e.id)
                    .map(|(id, _)| *id)
                    .collect();
                all.sort_unstable();
                all
            }
        };
        if negatives.is_empty() {
            return base;
        }
        base.into_iter()
            .filter(|id| {
                g.by_id.get(id).is_some_and(|e| {
                    negatives
                        .iter()
                        .all(|m| m.matches(e.labels.get(&m.name).unwrap_or("")))
                })
            })
            .collect()
    }

    /// Removes the series for which `keep` is false (retention). Returns how many.
    pub fn retain(&self, keep: impl Fn(&SeriesEntry) -> bool) -> usize {
        let mut g = self.inner.write();
        let dead: Vec<Arc<SeriesEntry>> = g
            .by_id
            .iter()
            .filter(|(id, e)| **id == e.id && !keep(e))
            .map(|(_, e)| e.clone())
            .collect();
        for e in &dead {
            g.by_id.retain(|_, x| !Arc::ptr_eq(x, e));
            g.aliases.remove(&e.id);
            if let Some(v) = g.by_hash.get_mut(&e.hash) {
                v.retain(|x| !Arc::ptr_eq(x, e));
                if v.is_empty() {
                    g.by_hash.remove(&e.hash);
                }
            }
            for l in &e.labels {
                if let Some(vals) = g.postings.get_mut(&l.name) {
                    if let Some(list) = vals.get_mut(&l.value) {
                        list.retain(|id| *id != e.id);
                        if list.is_empty() {
                            vals.remove(&l.value);
                        }
                    }
                    if vals.is_empty() {
                        g.postings.remove(&l.name);
                    }
                }
            }
        }
        dead.len()
    }

    /// All label names, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.inner.read().postings.keys().cloned().collect()
    }

    /// All values of label `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.inner
            .read()
            .postings
            .get(name)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn insert(g: &mut Inner, id: SeriesId, labels: Labels, hash: u64) -> Arc<SeriesEntry> {
    for l in &labels {
        let list = g
            .postings
            .entry(l.name.clone())
            .or_default()
            .entry(l.value.clone())
            .or_default();
        match list.last() {
            Some(last) if *last > id => {
                let pos = list.partition_point(|x| *x < id);
                list.insert(pos, id);
            }
            _ => list.push(id),
        }
    }
    let e = Arc::new(SeriesEntry {
        id,
        labels,
        hash,
        head: Mutex::new(SeriesBuf::default()),
        wal_segment: AtomicU32::new(0),
    });
    g.by_hash.entry(hash).or_default().push(e.clone());
    g.by_id.insert(id, e.clone());
    e
}

fn intersect(a: &[SeriesId], b: &[SeriesId]) -> Vec<SeriesId> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn union_all(lists: &[&Vec<SeriesId>]) -> Vec<SeriesId> {
    let mut out: Vec<SeriesId> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn select_with_all_matcher_kinds() {
        let idx = Index::new();
        let a = idx
            .get_or_create(l(&[("__name__", "m"), ("job", "api"), ("env", "prod")]))
            .0
            .id;
        let b = idx
            .get_or_create(l(&[("__name__", "m"), ("job", "db")]))
            .0
            .id;
        let c = idx
            .get_or_create(l(&[("__name__", "n"), ("job", "api-2")]))
            .0
            .id;
        let sel = |ms: Vec<Matcher>| idx.select(&ms);
        assert_eq!(sel(vec![Matcher::equal("__name__", "m")]), vec![a, b]);
        assert_eq!(
            sel(vec![Matcher::new(MatchOp::Regex, "job", "api").unwrap()]),
            vec![a]
        );
        assert_eq!(
            sel(vec![Matcher::new(MatchOp::Regex, "job", "api.*").unwrap()]),
            vec![a, c]
        );
        assert_eq!(
            sel(vec![
                Matcher::equal("__name__", "m"),
                Matcher::new(MatchOp::NotEqual, "job", "api").unwrap()
            ]),
            vec![b]
        );
        assert_eq!(
            sel(vec![
                Matcher::equal("__name__", "m"),
                Matcher::equal("env", "")
            ]),
            vec![b]
        );
        assert_eq!(
            sel(vec![Matcher::new(MatchOp::NotEqual, "env", "").unwrap()]),
            vec![a]
        );
        assert_eq!(
            sel(vec![
                Matcher::new(MatchOp::NotRegex, "job", "api.*").unwrap()
            ]),
            vec![b]
        );
        assert_eq!(sel(vec![]), vec![a, b, c]);
        assert_eq!(sel(vec![Matcher::equal("nope", "x")]), Vec::<u64>::new());
        assert_eq!(idx.label_values("job"), vec!["api", "api-2", "db"]);
    }

    #[test]
    fn ids_are_stable_and_aliases_resolve() {
        let idx = Index::new();
        let e = idx.insert_with_id(7, l(&[("__name__", "x")]));
        assert_eq!(e.id, 7);
        let (again, created) = idx.get_or_create(l(&[("__name__", "x")]));
        assert!(!created);
        assert_eq!(again.id, 7);
        let (n, created) = idx.get_or_create(l(&[("__name__", "y")]));
        assert!(created);
        assert_eq!(n.id, 8);
        let alias = idx.insert_with_id(3, l(&[("__name__", "x")]));
        assert_eq!(alias.id, 7);
        assert_eq!(idx.get(3).map(|e| e.id), Some(7));
        assert_eq!(idx.with_aliases(&[7, 8]), vec![7, 8, 3]);
        assert_eq!(idx.retain(|e| e.id != 7), 1);
        assert_eq!(
            idx.select(&[Matcher::equal("__name__", "x")]),
            Vec::<u64>::new()
        );
        assert_eq!(idx.len(), 1);
    }
}
