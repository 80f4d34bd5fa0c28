//! Persistence in SQLite (`<data_dir>/alarms.sqlite`): alarms, their history,
//! the notification outbox and quotas.
//!
//! Every change goes through [`Store::apply`], one transaction per call: a
//! state transition, its history row and its outbox rows commit together or
//! not at all, so a crash can neither lose a transition's notification nor
//! notify a transition that was never recorded. The database runs in WAL
//! mode with `synchronous=FULL`: a change is on disk before the API answers
//! or the notifier is woken.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::model::{Rule, State, iso, reparse_rule};
use crate::timecons::TimeConstraint;

/// A storage failure (I/O, corruption); the caller reports it as a 500/503.
#[derive(Debug, thiserror::Error)]
#[error("alarm storage: {0}")]
pub struct StoreError(pub(crate) String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

/// Result of storage calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// One alarm as held in memory and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRecord {
    /// UUID.
    pub alarm_id: String,
    /// Name.
    pub name: String,
    /// Description as given ("" means the rule's default).
    pub description: String,
    /// Rule type.
    pub type_: String,
    /// Evaluated at all?
    pub enabled: bool,
    /// Current state.
    pub state: State,
    /// Why.
    pub state_reason: String,
    /// `low` / `moderate` / `critical`.
    pub severity: String,
    /// Actions on entering `ok`.
    pub ok_actions: Vec<String>,
    /// Actions on entering `alarm`.
    pub alarm_actions: Vec<String>,
    /// Actions on entering `insufficient data`.
    pub insufficient_data_actions: Vec<String>,
    /// Re-notify on every evaluation.
    pub repeat_actions: bool,
    /// When the alarm is evaluated.
    pub time_constraints: Vec<TimeConstraint>,
    /// Owner project.
    pub project_id: String,
    /// Owner user.
    pub user_id: String,
    /// Last definition change (µs).
    pub timestamp_us: i64,
    /// Last state change (µs).
    pub state_timestamp_us: i64,
    /// Last evaluation (µs), kept in memory only.
    pub evaluate_timestamp_us: Option<i64>,
    /// The normalized rule JSON.
    pub rule: Value,
    /// The rule, parsed.
    pub parsed: Rule,
    /// Bumped on every definition change; the evaluator drops results computed
    /// against an older version.
    pub version: u64,
}

impl AlarmRecord {
    /// The actions run on entering `state`.
    pub fn actions(&self, state: State) -> &[String] {
        match state {
            State::Ok => &self.ok_actions,
            State::Alarm => &self.alarm_actions,
            State::InsufficientData => &self.insufficient_data_actions,
        }
    }

    /// The description shown: the given one or the rule's default.
    pub fn shown_description(&self) -> String {
        if self.description.is_empty() {
            crate::model::default_description(&self.type_, &self.rule)
        } else {
            self.description.clone()
        }
    }

    /// Aodh's JSON for this alarm.
    pub fn to_json(&self) -> Value {
        let mut o = json!({
            "alarm_id": self.alarm_id,
            "name": self.name,
            "description": self.shown_description(),
            "type": self.type_,
            "enabled": self.enabled,
            "state": self.state.as_str(),
            "state_reason": self.state_reason,
            "severity": self.severity,
            "ok_actions": shown_actions(&self.ok_actions),
            "alarm_actions": shown_actions(&self.alarm_actions),
            "insufficient_data_actions": shown_actions(&self.insufficient_data_actions),
            "repeat_actions": self.repeat_actions,
            "time_constraints": self.time_constraints,
            "project_id": self.project_id,
            "user_id": self.user_id,
            "timestamp": iso(self.timestamp_us),
            "state_timestamp": iso(self.state_timestamp_us),
            "evaluate_timestamp": self.evaluate_timestamp_us.map(iso),
        });
        // Aodh keeps a non-admin's prometheus scope in storage (and in
        // history) but does not show it.
        let mut rule = self.rule.clone();
        if let Value::Object(r) = &mut rule {
            r.remove("scope_to_project");
        }
        o[format!("{}_rule", self.type_)] = rule;
        o
    }

    fn to_doc(&self) -> String {
        json!({
            "name": self.name,
            "description": self.description,
            "type": self.type_,
            "enabled": self.enabled,
            "state_reason": self.state_reason,
            "severity": self.severity,
            "ok_actions": self.ok_actions,
            "alarm_actions": self.alarm_actions,
            "insufficient_data_actions": self.insufficient_data_actions,
            "repeat_actions": self.repeat_actions,
            "time_constraints": self.time_constraints,
            "timestamp_us": self.timestamp_us,
            "state_timestamp_us": self.state_timestamp_us,
            "evaluate_timestamp_us": self.evaluate_timestamp_us,
            "rule": self.rule,
        })
        .to_string()
    }

    fn from_row(
        alarm_id: String,
        project_id: String,
        user_id: String,
        state: &str,
        doc: &str,
    ) -> Result<AlarmRecord, String> {
        let d: Value = serde_json::from_str(doc).map_err(|e| e.to_string())?;
        let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let list = |k: &str| -> Vec<String> {
            d.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let type_ = s("type");
        let rule = d.get("rule").cloned().unwrap_or(Value::Null);
        let parsed = reparse_rule(&type_, &rule).map_err(|e| e.0)?;
        Ok(AlarmRecord {
            alarm_id,
            name: s("name"),
            description: s("description"),
            type_,
            enabled: d.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            state: State::parse(state).unwrap_or(State::InsufficientData),
            state_reason: s("state_reason"),
            severity: s("severity"),
            ok_actions: list("ok_actions"),
            alarm_actions: list("alarm_actions"),
            insufficient_data_actions: list("insufficient_data_actions"),
            repeat_actions: d
                .get("repeat_actions")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            time_constraints: d
                .get("time_constraints")
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
            project_id,
            user_id,
            timestamp_us: d.get("timestamp_us").and_then(Value::as_i64).unwrap_or(0),
            state_timestamp_us: d
                .get("state_timestamp_us")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            evaluate_timestamp_us: d.get("evaluate_timestamp_us").and_then(Value::as_i64),
            rule,
            parsed,
            version: 0,
        })
    }
}

/// Actions as Aodh shows them: each URL goes through Python's
/// `urlsplit(...).geturl()`, which drops an empty authority for schemes
/// without one (`log://` reads back as `log:`).
fn shown_actions(actions: &[String]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a.split_once("://") {
            Some((scheme, ""))
                if !["http", "https"].contains(&scheme.to_ascii_lowercase().as_str()) =>
            {
                format!("{scheme}:")
            }
            _ => a.clone(),
        })
        .collect()
}

/// One alarm change (`AlarmChange` in Aodh).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// UUID.
    pub event_id: String,
    /// The alarm.
    pub alarm_id: String,
    /// `creation`, `rule change`, `state transition`, `deletion`.
    pub type_: String,
    /// JSON string of what changed.
    pub detail: String,
    /// Project of the actor.
    pub project_id: String,
    /// User of the actor.
    pub user_id: String,
    /// The alarm's project.
    pub on_behalf_of: String,
    /// µs.
    pub timestamp_us: i64,
    /// The alarm's severity then.
    pub severity: String,
}

impl HistoryEntry {
    /// Aodh's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "event_id": self.event_id,
            "alarm_id": self.alarm_id,
            "type": self.type_,
            "detail": self.detail,
            "project_id": self.project_id,
            "user_id": self.user_id,
            "on_behalf_of": self.on_behalf_of,
            "timestamp": iso(self.timestamp_us),
        })
    }
}

/// Delivery state of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for its (next) attempt.
    Pending,
    /// Accepted by the receiver.
    Delivered,
    /// Given up; kept for operators.
    Dead,
}

impl Delivery {
    /// Wire and column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Dead => "dead",
        }
    }

    /// Parses the spelling.
    pub fn parse(s: &str) -> Option<Delivery> {
        [Delivery::Pending, Delivery::Delivered, Delivery::Dead]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One outbox row: one action of one transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// UUID; also the idempotency key receivers see.
    pub id: String,
    /// Enqueue order.
    pub seq: i64,
    /// The alarm.
    pub alarm_id: String,
    /// The alarm's project.
    pub project_id: String,
    /// The action URL.
    pub action: String,
    /// Aodh's notification body.
    pub payload: Value,
    /// Where it is.
    pub state: Delivery,
    /// Attempts made.
    pub attempts: i64,
    /// Last failure.
    pub last_error: String,
    /// µs.
    pub created_us: i64,
    /// µs.
    pub next_attempt_us: i64,
    /// µs.
    pub delivered_us: Option<i64>,
}

impl Notification {
    /// The API's JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "alarm_id": self.alarm_id,
            "project_id": self.project_id,
            "action": self.action,
            "state": self.state.as_str(),
            "attempts": self.attempts,
            "last_error": if self.last_error.is_empty() { Value::Null } else { json!(self.last_error) },
            "created_at": iso(self.created_us),
            "next_attempt_at": if self.state == Delivery::Pending { json!(iso(self.next_attempt_us)) } else { Value::Null },
            "delivered_at": self.delivered_us.map(iso),
            "payload": self.payload,
        })
    }
}

/// One change inside a transaction.
#[derive(Debug)]
pub enum Op<'a> {
    /// Insert or replace an alarm.
    PutAlarm(&'a AlarmRecord),
    /// Delete an alarm (its history stays, as in Aodh).
    DeleteAlarm(&'a str),
    /// Append to history.
    History(&'a HistoryEntry),
    /// Enqueue a notification.
    Enqueue(&'a Notification),
    /// Record a delivery attempt's outcome.
    Attempt {
        /// Notification id.
        id: &'a str,
        /// New state.
        state: Delivery,
        /// Attempts so far.
        attempts: i64,
        /// Error of this attempt ("" on success).
        error: &'a str,
        /// Next attempt (pending) or completion time (µs).
        at_us: i64,
    },
    /// Set a quota (`limit < 0` removes it).
    Quota {
        /// Project.
        project_id: &'a str,
        /// Resource (`alarms`).
        resource: &'a str,
        /// Limit.
        limit: i64,
    },
}

/// The SQLite database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alarm (
    alarm_id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    alarm_id TEXT NOT NULL,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    on_behalf_of TEXT NOT NULL,
    timestamp_us INTEGER NOT NULL,
    severity TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_alarm ON history (alarm_id, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    alarm_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_us INTEGER NOT NULL,
    next_attempt_us INTEGER NOT NULL,
    delivered_us INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);
CREATE TABLE IF NOT EXISTS quota (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    max INTEGER NOT NULL,
    PRIMARY KEY (project_id, resource)
);
";

fn notification_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    let payload: String = r.get(5)?;
    let state: String = r.get(6)?;
    Ok(Notification {
        seq: r.get(0)?,
        id: r.get(1)?,
        alarm_id: r.get(2)?,
        project_id: r.get(3)?,
        action: r.get(4)?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        state: Delivery::parse(&state).unwrap_or(Delivery::Dead),
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        created_us: r.get(9)?,
        next_attempt_us: r.get(10)?,
        delivered_us: r.get(11)?,
    })
}

const NOTIFICATION_COLS: &str = "seq, id, alarm_id, project_id, action, payload, state, attempts, last_error, created_us, next_attempt_us, delivered_us";

fn history_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        event_id: r.get(0)?,
        alarm_id: r.get(1)?,
        type_: r.get(2)?,
        detail: r.get(3)?,
        project_id: r.get(4)?,
        user_id: r.get(5)?,
        on_behalf_of: r.get(6)?,
        timestamp_us: r.get(7)?,
        severity: r.get(8)?,
    })
}

const HISTORY_COLS: &str =
    "event_id, alarm_id, type, detail, project_id, user_id, on_behalf_of, timestamp_us, severity";

impl Store {
    /// Opens (creating if needed) `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// Every stored alarm. Rows that no longer parse are reported and skipped.
    pub fn load_alarms(&self) -> StoreResult<Vec<AlarmRecord>> {
        let c = self.conn.lock();
        let mut st = c.prepare("SELECT alarm_id, project_id, user_id, state, doc FROM alarm")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, p, u, s, doc) = row?;
            match AlarmRecord::from_row(id.clone(), p, u, &s, &doc) {
                Ok(a) => out.push(a),
                Err(e) => {
                    tracing::error!(alarm_id = %id, error = %e, "stored alarm does not parse; skipped")
                }
            }
        }
        Ok(out)
    }

    /// Applies `ops` in one transaction.
    pub fn apply(&self, ops: &[Op<'_>]) -> StoreResult<()> {
        let mut c = self.conn.lock();
        let tx = c.transaction()?;
        for op in ops {
            match op {
                Op::PutAlarm(a) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO alarm (alarm_id, project_id, user_id, state, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![a.alarm_id, a.project_id, a.user_id, a.state.as_str(), a.to_doc()],
                    )?;
                }
                Op::DeleteAlarm(id) => {
                    tx.execute("DELETE FROM alarm WHERE alarm_id = ?1", params![id])?;
                }
                Op::History(h) => {
                    tx.execute(
                        &format!("INSERT INTO history ({HISTORY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                        params![h.event_id, h.alarm_id, h.type_, h.detail, h.project_id, h.user_id, h.on_behalf_of, h.timestamp_us, h.severity],
                    )?;
                }
                Op::Enqueue(n) => {
                    tx.execute(
                        "INSERT INTO outbox (id, alarm_id, project_id, action, payload, state, attempts, last_error, created_us, next_attempt_us) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, '', ?6, ?7)",
                        params![n.id, n.alarm_id, n.project_id, n.action, n.payload.to_string(), n.created_us, n.next_attempt_us],
                    )?;
                }
                Op::Attempt {
                    id,
                    state,
                    attempts,
                    error,
                    at_us,
                } => {
                    match state {
                        Delivery::Pending => tx.execute(
                            "UPDATE outbox SET attempts = ?2, last_error = ?3, next_attempt_us = ?4 WHERE id = ?1",
                            params![id, attempts, error, at_us],
                        )?,
                        Delivery::Delivered => tx.execute(
                            "UPDATE outbox SET state = 'delivered', attempts = ?2, delivered_us = ?3 WHERE id = ?1",
                            params![id, attempts, at_us],
                        )?,
                        Delivery::Dead => tx.execute(
                            "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3, next_attempt_us = ?4 WHERE id = ?1",
                            params![id, attempts, error, at_us],
                        )?,
                    };
                }
                Op::Quota {
                    project_id,
                    resource,
                    limit,
                } => {
                    if *limit < 0 {
                        tx.execute(
                            "DELETE FROM quota WHERE project_id = ?1 AND resource = ?2",
                            params![project_id, resource],
                        )?;
                    } else {
                        tx.execute(
                            "INSERT OR REPLACE INTO quota (project_id, resource, max) VALUES (?1, ?2, ?3)",
                            params![project_id, resource, limit],
                        )?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// History of one alarm, oldest first.
    pub fn history_of(&self, alarm_id: &str) -> StoreResult<Vec<HistoryEntry>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {HISTORY_COLS} FROM history WHERE alarm_id = ?1 ORDER BY seq"
        ))?;
        let rows = st.query_map(params![alarm_id], history_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All history (optionally of one project's alarms), oldest first.
    pub fn history_all(&self, on_behalf_of: Option<&str>) -> StoreResult<Vec<HistoryEntry>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {HISTORY_COLS} FROM history WHERE ?1 IS NULL OR on_behalf_of = ?1 ORDER BY seq"
        ))?;
        let rows = st.query_map(params![on_behalf_of], history_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pending notifications in enqueue order (at most `limit`).
    pub fn pending(&self, limit: usize) -> StoreResult<Vec<Notification>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {NOTIFICATION_COLS} FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1"
        ))?;
        let rows = st.query_map(params![limit as i64], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notifications by state / alarm / project, newest first.
    pub fn notifications(
        &self,
        state: Option<Delivery>,
        alarm_id: Option<&str>,
        project_id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {NOTIFICATION_COLS} FROM outbox WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR alarm_id = ?2) AND (?3 IS NULL OR project_id = ?3) ORDER BY seq DESC LIMIT ?4"
        ))?;
        let rows = st.query_map(
            params![
                state.map(Delivery::as_str),
                alarm_id,
                project_id,
                limit as i64
            ],
            notification_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One notification.
    pub fn notification(&self, id: &str) -> StoreResult<Option<Notification>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {NOTIFICATION_COLS} FROM outbox WHERE id = ?1"
        ))?;
        Ok(st.query_row(params![id], notification_row).optional()?)
    }

    /// Puts a dead notification back in the queue, due at `now_us`.
    pub fn requeue(&self, id: &str, now_us: i64) -> StoreResult<bool> {
        let c = self.conn.lock();
        let n = c.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_us = ?2, created_us = ?2 WHERE id = ?1 AND state = 'dead'",
            params![id, now_us],
        )?;
        Ok(n == 1)
    }

    /// Deletes delivered notifications completed before `before_us`.
    pub fn prune_delivered(&self, before_us: i64) -> StoreResult<usize> {
        let c = self.conn.lock();
        Ok(c.execute(
            "DELETE FROM outbox WHERE state = 'delivered' AND delivered_us < ?1",
            params![before_us],
        )?)
    }

    /// Count of notifications per state.
    pub fn outbox_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let c = self.conn.lock();
        let mut st = c.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The quota of `project_id` on `resource`, if set.
    pub fn quota(&self, project_id: &str, resource: &str) -> StoreResult<Option<i64>> {
        let c = self.conn.lock();
        Ok(c.query_row(
            "SELECT max FROM quota WHERE project_id = ?1 AND resource = ?2",
            params![project_id, resource],
            |r| r.get(0),
        )
        .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RuleContext, parse_rule};

    fn record(id: &str) -> AlarmRecord {
        let methods = vec!["mean".to_owned()];
        let ctx = RuleContext {
            scope_project: None,
            aggregation_methods: &methods,
        };
        let (parsed, rule) = parse_rule(
            "prometheus",
            &json!({"query": "up", "threshold": 1, "comparison_operator": "lt"}),
            &ctx,
        )
        .unwrap();
        AlarmRecord {
            alarm_id: id.into(),
            name: "n".into(),
            description: String::new(),
            type_: "prometheus".into(),
            enabled: true,
            state: State::InsufficientData,
            state_reason: "Not evaluated yet".into(),
            severity: "low".into(),
            ok_actions: vec![],
            alarm_actions: vec!["log://".into()],
            insufficient_data_actions: vec![],
            repeat_actions: false,
            time_constraints: vec![],
            project_id: "p".into(),
            user_id: "u".into(),
            timestamp_us: 1,
            state_timestamp_us: 1,
            evaluate_timestamp_us: None,
            rule,
            parsed,
            version: 0,
        }
    }

    #[test]
    fn a_transition_and_its_notification_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alarms.sqlite");
        let s = Store::open(&path).unwrap();
        let mut a = record("a1");
        s.apply(&[Op::PutAlarm(&a)]).unwrap();
        a.state = State::Alarm;
        let n = Notification {
            id: "n1".into(),
            seq: 0,
            alarm_id: "a1".into(),
            project_id: "p".into(),
            action: "log://".into(),
            payload: json!({"current": "alarm"}),
            state: Delivery::Pending,
            attempts: 0,
            last_error: String::new(),
            created_us: 5,
            next_attempt_us: 5,
            delivered_us: None,
        };
        // A failing op (duplicate notification id) rolls back the whole batch.
        let err = s.apply(&[Op::PutAlarm(&a), Op::Enqueue(&n), Op::Enqueue(&n)]);
        assert!(err.is_err());
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.load_alarms().unwrap()[0].state, State::InsufficientData);
        assert!(s.pending(10).unwrap().is_empty());
        s.apply(&[Op::PutAlarm(&a), Op::Enqueue(&n)]).unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        let loaded = s.load_alarms().unwrap();
        assert_eq!(loaded[0].state, State::Alarm);
        assert_eq!(loaded[0].rule, a.rule);
        assert_eq!(loaded[0].parsed, a.parsed);
        let p = s.pending(10).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].payload["current"], "alarm");
        s.apply(&[Op::Attempt {
            id: "n1",
            state: Delivery::Dead,
            attempts: 3,
            error: "HTTP 503",
            at_us: 9,
        }])
        .unwrap();
        assert!(s.pending(10).unwrap().is_empty());
        let dead = s
            .notifications(Some(Delivery::Dead), None, None, 10)
            .unwrap();
        assert_eq!(dead[0].last_error, "HTTP 503");
        assert!(s.requeue("n1", 20).unwrap());
        assert_eq!(s.pending(10).unwrap()[0].attempts, 0);
    }
}
