//! The Gnocchi catalog: archive policies and their rules, resource types,
//! resources with their revision history, and metrics.
//!
//! Everything lives in memory for the request path and is written through
//! to SQLite (`<data_dir>/catalog.sqlite`, WAL journal, `synchronous=FULL`)
//! before a change is acknowledged. A change that SQLite refuses changes
//! nothing in memory either.
//!
//! Schema (version 1): `objects(kind, key, body)` holds one JSON document
//! per policy (`policy`), rule (`rule`), resource type (`type`), resource
//! (`resource`, the current revision) and metric (`metric`);
//! `history(id, revision, body)` holds superseded resource revisions.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use altimeter_model::gnocchi::policy::{ArchivePolicy, ArchivePolicyRule};
use altimeter_model::gnocchi::resource_type::ResourceType;
use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Catalog failures.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// SQLite trouble.
    #[error("catalog database: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored document that does not parse.
    #[error("catalog database: corrupt {kind} {key}: {err}")]
    Corrupt {
        /// Object kind.
        kind: String,
        /// Its key.
        key: String,
        /// The parse error.
        err: String,
    },
}

/// A resource revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The UUID.
    pub id: String,
    /// Resource type name.
    #[serde(rename = "type")]
    pub type_: String,
    /// Who created it (`user` or `user:project`).
    pub creator: Option<String>,
    /// The id as given (before the uuid5 rule).
    pub original_resource_id: String,
    /// µs since the epoch.
    pub started_at: i64,
    /// µs since the epoch.
    pub ended_at: Option<i64>,
    /// When this revision started (µs).
    pub revision_start: i64,
    /// When this revision ended (µs); `None` for the current one.
    pub revision_end: Option<i64>,
    /// Revision number, increasing.
    pub revision: i64,
    /// Owner user.
    pub user_id: Option<String>,
    /// Owner project.
    pub project_id: Option<String>,
    /// Type-specific attributes, every attribute of the type present.
    pub attrs: Map<String, Value>,
}

/// A metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The UUID.
    pub id: String,
    /// Name (unique per resource).
    pub name: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// The resource it belongs to.
    pub resource_id: Option<String>,
    /// Its archive policy (fixed at creation).
    pub archive_policy_name: String,
    /// Who created it.
    pub creator: Option<String>,
    /// Equality matchers selecting its series in the TSDB.
    pub selector: Vec<(String, String)>,
    /// Gnocchi value = stored value × scale (unit conversion of catalogue meters).
    pub scale: f64,
    /// When it was created (µs); orders a resource's metrics as Gnocchi lists them.
    #[serde(default)]
    pub created_us: i64,
}

#[derive(Debug, Default)]
struct State {
    policies: BTreeMap<String, ArchivePolicy>,
    rules: BTreeMap<String, ArchivePolicyRule>,
    types: BTreeMap<String, ResourceType>,
    resources: HashMap<String, Resource>,
    history: HashMap<String, Vec<Resource>>,
    metrics: HashMap<String, Metric>,
    /// (resource id, metric name) → metric id.
    named: HashMap<(String, String), String>,
}

/// One change, applied to SQLite and then to memory.
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert or replace a policy.
    PutPolicy(ArchivePolicy),
    /// Delete a policy.
    DelPolicy(String),
    /// Insert or replace a rule (renames are a delete plus a put).
    PutRule(ArchivePolicyRule),
    /// Delete a rule.
    DelRule(String),
    /// Insert or replace a resource type.
    PutType(ResourceType),
    /// Delete a resource type.
    DelType(String),
    /// Insert or replace the current revision of a resource.
    PutResource(Resource),
    /// Append a superseded revision to a resource's history.
    PushHistory(Resource),
    /// Delete a resource and its history.
    DelResource(String),
    /// Insert or replace a metric.
    PutMetric(Metric),
    /// Delete a metric.
    DelMetric(String),
}

/// The catalog.
#[derive(Debug)]
pub struct Catalog {
    conn: Mutex<Connection>,
    state: RwLock<State>,
}

/// A read-only view of the catalog under its lock.
pub struct View<'a>(parking_lot::RwLockReadGuard<'a, State>);

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("View")
    }
}

impl View<'_> {
    /// Policies by name.
    pub fn policies(&self) -> impl Iterator<Item = &ArchivePolicy> {
        self.0.policies.values()
    }
    /// One policy.
    pub fn policy(&self, name: &str) -> Option<&ArchivePolicy> {
        self.0.policies.get(name)
    }
    /// Rules by name.
    pub fn rules(&self) -> impl Iterator<Item = &ArchivePolicyRule> {
        self.0.rules.values()
    }
    /// One rule.
    pub fn rule(&self, name: &str) -> Option<&ArchivePolicyRule> {
        self.0.rules.get(name)
    }
    /// Resource types by name.
    pub fn types(&self) -> impl Iterator<Item = &ResourceType> {
        self.0.types.values()
    }
    /// One resource type.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.0.types.get(name)
    }
    /// All current resources (any type).
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.0.resources.values()
    }
    /// One resource.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.0.resources.get(id)
    }
    /// Superseded revisions of a resource, oldest first.
    pub fn history(&self, id: &str) -> &[Resource] {
        self.0.history.get(id).map_or(&[], Vec::as_slice)
    }
    /// All metrics.
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.0.metrics.values()
    }
    /// One metric.
    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.0.metrics.get(id)
    }
    /// The metric `name` of resource `rid`.
    pub fn named_metric(&self, rid: &str, name: &str) -> Option<&Metric> {
        self.0
            .named
            .get(&(rid.to_string(), name.to_string()))
            .and_then(|id| self.0.metrics.get(id))
    }
    /// Metrics of a resource in creation order.
    pub fn resource_metric_list(&self, rid: &str) -> Vec<&Metric> {
        let mut v: Vec<&Metric> = self
            .0
            .metrics
            .values()
            .filter(|m| m.resource_id.as_deref() == Some(rid))
            .collect();
        v.sort_by(|a, b| a.created_us.cmp(&b.created_us).then(a.id.cmp(&b.id)));
        v
    }

    /// Metrics of a resource by name.
    pub fn resource_metrics(&self, rid: &str) -> BTreeMap<String, String> {
        self.0
            .metrics
            .values()
            .filter(|m| m.resource_id.as_deref() == Some(rid))
            .filter_map(|m| Some((m.name.clone()?, m.id.clone())))
            .collect()
    }
}

impl Catalog {
    /// Opens (or creates) the catalog file and loads it.
    pub fn open(path: &Path) -> Result<Catalog, CatalogError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
             CREATE TABLE IF NOT EXISTS history (id TEXT NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id, revision));
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT OR IGNORE INTO meta VALUES ('schema_version', '1');",
        )?;
        let mut st = State::default();
        {
            let mut q = conn.prepare("SELECT kind, key, body FROM objects")?;
            let rows = q.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (kind, key, body) = row?;
                let (k1, k2) = (kind.clone(), key.clone());
                let bad = move |e: serde_json::Error| CatalogError::Corrupt {
                    kind: k1,
                    key: k2,
                    err: e.to_string(),
                };
                match kind.as_str() {
                    "policy" => {
                        st.policies
                            .insert(key, serde_json::from_str(&body).map_err(bad)?);
                    }
                    "rule" => {
                        st.rules
                            .insert(key, serde_json::from_str(&body).map_err(bad)?);
                    }
                    "type" => {
                        st.types
                            .insert(key, serde_json::from_str(&body).map_err(bad)?);
                    }
                    "resource" => {
                        st.resources
                            .insert(key, serde_json::from_str(&body).map_err(bad)?);
                    }
                    "metric" => {
                        let m: Metric = serde_json::from_str(&body).map_err(bad)?;
                        if let (Some(r), Some(n)) = (&m.resource_id, &m.name) {
                            st.named.insert((r.clone(), n.clone()), m.id.clone());
                        }
                        st.metrics.insert(key, m);
                    }
                    _ => tracing::warn!(kind, key, "unknown catalog object kind; ignored"),
                }
            }
            let mut q = conn.prepare("SELECT id, body FROM history ORDER BY id, revision")?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (id, body) = row?;
                let r: Resource =
                    serde_json::from_str(&body).map_err(|e| CatalogError::Corrupt {
                        kind: "history".into(),
                        key: id.clone(),
                        err: e.to_string(),
                    })?;
                st.history.entry(id).or_default().push(r);
            }
        }
        Ok(Catalog {
            conn: Mutex::new(conn),
            state: RwLock::new(st),
        })
    }

    /// A consistent read view.
    pub fn view(&self) -> View<'_> {
        View(self.state.read())
    }

    /// Validates against the current state with `plan` (which returns the
    /// changes to make, or a caller error), writes the changes durably in
    /// one SQLite transaction, then applies them in memory. Serialized.
    pub fn update<T, E: From<CatalogError>>(
        &self,
        plan: impl FnOnce(&View<'_>) -> Result<(Vec<Change>, T), E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock();
        let (changes, out) = {
            let v = self.view();
            plan(&v)?
        };
        if changes.is_empty() {
            return Ok(out);
        }
        let tx = conn.transaction().map_err(CatalogError::from)?;
        for c in &changes {
            persist(&tx, c).map_err(CatalogError::from)?;
        }
        tx.commit().map_err(CatalogError::from)?;
        let mut st = self.state.write();
        for c in changes {
            apply(&mut st, c);
        }
        Ok(out)
    }

    /// Inserts the built-in policies, rules and resource types that are
    /// missing (a fresh catalog, or new built-ins after an upgrade).
    pub fn ensure_builtins(
        &self,
        policies: Vec<ArchivePolicy>,
        rules: Vec<ArchivePolicyRule>,
        types: Vec<ResourceType>,
    ) -> Result<(), CatalogError> {
        self.update(|v| {
            let mut ch = Vec::new();
            for p in policies {
                if v.policy(&p.name).is_none() {
                    ch.push(Change::PutPolicy(p));
                }
            }
            for r in rules {
                if v.rule(&r.name).is_none() {
                    ch.push(Change::PutRule(r));
                }
            }
            for t in types {
                if v.resource_type(&t.name).is_none() {
                    ch.push(Change::PutType(t));
                }
            }
            Ok::<_, CatalogError>((ch, ()))
        })
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn put(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    key: &str,
    body: String,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO objects (kind, key, body) VALUES (?1, ?2, ?3)",
        params![kind, key, body],
    )?;
    Ok(())
}

fn del(tx: &rusqlite::Transaction<'_>, kind: &str, key: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM objects WHERE kind = ?1 AND key = ?2",
        params![kind, key],
    )?;
    Ok(())
}

fn persist(tx: &rusqlite::Transaction<'_>, c: &Change) -> rusqlite::Result<()> {
    match c {
        Change::PutPolicy(p) => put(tx, "policy", &p.name, json(p)),
        Change::DelPolicy(n) => del(tx, "policy", n),
        Change::PutRule(r) => put(tx, "rule", &r.name, json(r)),
        Change::DelRule(n) => del(tx, "rule", n),
        Change::PutType(t) => put(tx, "type", &t.name, json(t)),
        Change::DelType(n) => del(tx, "type", n),
        Change::PutResource(r) => put(tx, "resource", &r.id, json(r)),
        Change::PushHistory(r) => {
            tx.execute(
                "INSERT OR REPLACE INTO history (id, revision, body) VALUES (?1, ?2, ?3)",
                params![r.id, r.revision, json(r)],
            )?;
            Ok(())
        }
        Change::DelResource(id) => {
            del(tx, "resource", id)?;
            tx.execute("DELETE FROM history WHERE id = ?1", params![id])?;
            Ok(())
        }
        Change::PutMetric(m) => put(tx, "metric", &m.id, json(m)),
        Change::DelMetric(id) => del(tx, "metric", id),
    }
}

fn apply(st: &mut State, c: Change) {
    match c {
        Change::PutPolicy(p) => {
            st.policies.insert(p.name.clone(), p);
        }
        Change::DelPolicy(n) => {
            st.policies.remove(&n);
        }
        Change::PutRule(r) => {
            st.rules.insert(r.name.clone(), r);
        }
        Change::DelRule(n) => {
            st.rules.remove(&n);
        }
        Change::PutType(t) => {
            st.types.insert(t.name.clone(), t);
        }
        Change::DelType(n) => {
            st.types.remove(&n);
        }
        Change::PutResource(r) => {
            st.resources.insert(r.id.clone(), r);
        }
        Change::PushHistory(r) => st.history.entry(r.id.clone()).or_default().push(r),
        Change::DelResource(id) => {
            st.resources.remove(&id);
            st.history.remove(&id);
        }
        Change::PutMetric(m) => {
            if let Some(old) = st.metrics.get(&m.id)
                && let (Some(r), Some(n)) = (&old.resource_id, &old.name)
            {
                st.named.remove(&(r.clone(), n.clone()));
            }
            if let (Some(r), Some(n)) = (&m.resource_id, &m.name) {
                st.named.insert((r.clone(), n.clone()), m.id.clone());
            }
            st.metrics.insert(m.id.clone(), m);
        }
        Change::DelMetric(id) => {
            if let Some(old) = st.metrics.remove(&id)
                && let (Some(r), Some(n)) = (old.resource_id, old.name)
            {
                st.named.remove(&(r, n));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(id: &str, rid: Option<&str>, name: &str) -> Metric {
        Metric {
            id: id.into(),
            name: Some(name.into()),
            unit: None,
            resource_id: rid.map(Into::into),
            archive_policy_name: "low".into(),
            creator: Some("admin".into()),
            selector: vec![("__name__".into(), name.into())],
            scale: 1.0,
            created_us: 0,
        }
    }

    #[test]
    fn changes_survive_reopen_and_failed_plans_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        {
            let c = Catalog::open(&path).unwrap();
            c.update(|_| {
                Ok::<_, CatalogError>((
                    vec![
                        Change::PutMetric(metric("m1", Some("r1"), "cpu")),
                        Change::PutMetric(metric("m2", None, "x")),
                    ],
                    (),
                ))
            })
            .unwrap();
            let r: Result<(), CatalogError> = c.update(|_| {
                Err(CatalogError::Corrupt {
                    kind: "test".into(),
                    key: "refused".into(),
                    err: String::new(),
                })
            });
            assert!(r.is_err());
            c.update(|_| Ok::<_, CatalogError>((vec![Change::DelMetric("m2".into())], ())))
                .unwrap();
        }
        let c = Catalog::open(&path).unwrap();
        let v = c.view();
        assert_eq!(v.named_metric("r1", "cpu").unwrap().id, "m1");
        assert!(v.metric("m2").is_none());
        assert_eq!(v.resource_metrics("r1").len(), 1);
    }
}
