//! Alarms: Aodh-compatible rules over the TSDB (PromQL) and the Gnocchi
//! model, an evaluator whose time is injected, a state machine whose every
//! transition is committed together with its notifications, and a persistent
//! outbox delivered by webhook, e-mail and log notifiers. [`http::router`]
//! serves the Aodh v2 API.
//!
//! Layout: [`model`] (states, rules, Aodh JSON), [`eval`] (Aodh's evaluation
//! semantics), [`store`] (SQLite), [`notify`] (outbox delivery), [`http`]
//! (the API), [`query`] (Aodh's query languages), [`timecons`] (time
//! constraints), [`event`] (event rules), [`source`] (what rules read).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use altimeter_model::Clock;
use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

pub mod eval;
pub mod event;
pub mod http;
pub mod model;
pub mod notify;
pub mod query;
pub mod source;
pub mod store;
pub mod timecons;

use model::State;
use source::Source;
use store::{AlarmRecord, HistoryEntry, Notification, Op, Store, StoreError};

/// How SMTP connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain SMTP (a local relay).
    #[default]
    None,
    /// STARTTLS required.
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
}

impl SmtpTls {
    /// Parses `none`, `starttls`, `tls`.
    pub fn parse(s: &str) -> Option<SmtpTls> {
        match s {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

/// Notification delivery settings.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Backoff before the second attempt.
    pub retry_initial: Duration,
    /// Backoff cap.
    pub retry_max: Duration,
    /// A notification still failing this long after it was enqueued is dead-lettered.
    pub give_up_after: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub workers: usize,
    /// Delivered notifications are kept this long (for the API), then pruned.
    pub keep_delivered: Duration,
    /// HMAC key for `X-Altimeter-Signature`; empty disables signing.
    pub webhook_secret: String,
    /// SMTP server.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// SMTP security.
    pub smtp_tls: SmtpTls,
    /// SMTP user ("" = no authentication).
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: String,
    /// From address.
    pub smtp_from: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            workers: 16,
            keep_delivered: Duration::from_secs(7 * 86_400),
            webhook_secret: String::new(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            smtp_tls: SmtpTls::None,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_from: "altimeter@localhost".into(),
        }
    }
}

/// Alarm settings.
#[derive(Debug, Clone)]
pub struct AlarmsConfig {
    /// Evaluation period (Aodh's `evaluation_interval`).
    pub evaluation_interval: Duration,
    /// Alarms evaluated at once within a cycle.
    pub evaluation_concurrency: usize,
    /// Widens Gnocchi windows (Aodh's `additional_ingestion_lag`).
    pub additional_ingestion_lag: Duration,
    /// Default per-project alarm quota (-1 = unlimited); `/v2/quotas` overrides.
    pub project_alarm_quota: i64,
    /// Default per-user alarm quota (-1 = unlimited).
    pub user_alarm_quota: i64,
    /// Most actions per state list (-1 = unlimited).
    pub alarm_max_actions: i64,
    /// The label naming a series' project, used to scope non-admins' PromQL.
    pub project_label: String,
    /// Delivery.
    pub notify: NotifyConfig,
}

impl Default for AlarmsConfig {
    fn default() -> Self {
        AlarmsConfig {
            evaluation_interval: Duration::from_secs(10),
            evaluation_concurrency: 64,
            additional_ingestion_lag: Duration::ZERO,
            project_alarm_quota: -1,
            user_alarm_quota: -1,
            alarm_max_actions: -1,
            project_label: "project_id".into(),
            notify: NotifyConfig::default(),
        }
    }
}

/// Self-metrics.
#[derive(Debug)]
pub(crate) struct AlarmMetrics {
    evaluations: Counter,
    transitions: Family<Vec<(&'static str, &'static str)>, Counter>,
    cycle_seconds: Histogram,
    cycle_overruns: Counter,
    alarms: Family<Vec<(&'static str, &'static str)>, Gauge>,
    delivered: Family<Vec<(&'static str, &'static str)>, Counter>,
    failed_attempts: Family<Vec<(&'static str, &'static str)>, Counter>,
    dead_lettered: Family<Vec<(&'static str, &'static str)>, Counter>,
    outbox_pending: Gauge,
    delivery_seconds: Histogram,
    enqueue_to_delivery_seconds: Histogram,
}

impl AlarmMetrics {
    fn new(r: &mut Registry) -> AlarmMetrics {
        let buckets = || {
            Histogram::new([
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ])
        };
        let m = AlarmMetrics {
            evaluations: Counter::default(),
            transitions: Family::default(),
            cycle_seconds: buckets(),
            cycle_overruns: Counter::default(),
            alarms: Family::default(),
            delivered: Family::default(),
            failed_attempts: Family::default(),
            dead_lettered: Family::default(),
            outbox_pending: Gauge::default(),
            delivery_seconds: buckets(),
            enqueue_to_delivery_seconds: buckets(),
        };
        r.register(
            "altimeter_alarm_evaluations",
            "Alarm evaluations run",
            m.evaluations.clone(),
        );
        r.register(
            "altimeter_alarm_transitions",
            "Alarm state transitions committed, by new state",
            m.transitions.clone(),
        );
        r.register(
            "altimeter_alarm_evaluation_cycle_seconds",
            "Duration of one evaluation cycle over all alarms",
            m.cycle_seconds.clone(),
        );
        r.register(
            "altimeter_alarm_evaluation_cycle_overruns",
            "Evaluation cycles that took longer than alarms.evaluation_interval",
            m.cycle_overruns.clone(),
        );
        r.register("altimeter_alarms", "Alarms by state", m.alarms.clone());
        r.register(
            "altimeter_notifications_delivered",
            "Notifications accepted by their receiver, by action scheme",
            m.delivered.clone(),
        );
        r.register(
            "altimeter_notification_failed_attempts",
            "Failed delivery attempts, by action scheme",
            m.failed_attempts.clone(),
        );
        r.register(
            "altimeter_notifications_dead_lettered",
            "Notifications given up on (see GET /v2/notifications?state=dead), by action scheme",
            m.dead_lettered.clone(),
        );
        r.register(
            "altimeter_notifications_pending",
            "Notifications waiting in the outbox",
            m.outbox_pending.clone(),
        );
        r.register(
            "altimeter_notification_attempt_seconds",
            "Duration of one successful delivery attempt",
            m.delivery_seconds.clone(),
        );
        r.register(
            "altimeter_notification_latency_seconds",
            "Time from a transition's commit to its notification's delivery",
            m.enqueue_to_delivery_seconds.clone(),
        );
        m
    }
}

/// Shared state of the alarm service.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) alarms: RwLock<HashMap<String, Arc<AlarmRecord>>>,
    evaluated_at: RwLock<HashMap<String, i64>>,
    pub(crate) source: Arc<dyn Source>,
    clock: Arc<dyn Clock>,
    pub(crate) cfg: AlarmsConfig,
    pub(crate) metrics: AlarmMetrics,
    pub(crate) notifiers: notify::Notifiers,
    pub(crate) wake: tokio::sync::Notify,
    /// Serializes changes so memory and database agree on their order.
    write: tokio::sync::Mutex<()>,
    version: AtomicU64,
}

impl Inner {
    pub(crate) fn now_us(&self) -> i64 {
        self.clock.now_ms().saturating_mul(1000)
    }

    fn next_version(&self) -> u64 {
        self.version.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Aodh's JSON of an alarm, with the in-memory evaluation time.
    pub(crate) fn render(&self, a: &AlarmRecord) -> Value {
        let mut v = a.to_json();
        if let Some(t) = self.evaluated_at.read().get(&a.alarm_id) {
            v["evaluate_timestamp"] = json!(model::iso(*t));
        }
        v
    }

    fn refresh_state_gauge(&self) {
        let mut counts = [0i64; 3];
        for a in self.alarms.read().values() {
            counts[a.state as usize] += 1;
        }
        for s in State::ALL {
            self.metrics
                .alarms
                .get_or_create(&vec![("state", s.as_str())])
                .set(counts[s as usize]);
        }
    }

    /// Commits `ops` and then installs `put`/`delete` in memory, under the
    /// write lock held by the caller.
    async fn commit(
        self: &Arc<Self>,
        puts: Vec<AlarmRecord>,
        delete: Option<String>,
        history: Vec<HistoryEntry>,
        outbox: Vec<Notification>,
    ) -> Result<(), StoreError> {
        let me = self.clone();
        let enqueued = !outbox.is_empty();
        let (puts, delete) = tokio::task::spawn_blocking(move || {
            let mut ops: Vec<Op<'_>> =
                Vec::with_capacity(puts.len() + history.len() + outbox.len() + 1);
            ops.extend(puts.iter().map(Op::PutAlarm));
            if let Some(d) = &delete {
                ops.push(Op::DeleteAlarm(d));
            }
            ops.extend(history.iter().map(Op::History));
            ops.extend(outbox.iter().map(Op::Enqueue));
            let r = me.store.apply(&ops);
            drop(ops);
            r.map(|()| (puts, delete))
        })
        .await
        .map_err(|e| StoreError(format!("the storage task failed: {e}")))??;
        {
            let mut map = self.alarms.write();
            for p in puts {
                map.insert(p.alarm_id.clone(), Arc::new(p));
            }
            if let Some(d) = delete {
                map.remove(&d);
                self.evaluated_at.write().remove(&d);
            }
        }
        self.refresh_state_gauge();
        if enqueued {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The notifications a state change (or a repeat) of `a` enqueues.
    fn notifications(
        &self,
        a: &AlarmRecord,
        previous: State,
        reason: &str,
        reason_data: &Value,
        now_us: i64,
    ) -> Vec<Notification> {
        let mut seen = std::collections::HashSet::new();
        a.actions(a.state)
            .iter()
            .filter(|act| seen.insert(act.as_str()))
            .map(|act| Notification {
                id: uuid::Uuid::new_v4().to_string(),
                seq: 0,
                alarm_id: a.alarm_id.clone(),
                project_id: a.project_id.clone(),
                action: act.clone(),
                payload: json!({
                    "alarm_name": a.name,
                    "alarm_id": a.alarm_id,
                    "severity": a.severity,
                    "previous": previous.as_str(),
                    "current": a.state.as_str(),
                    "reason": reason,
                    "reason_data": reason_data,
                }),
                state: store::Delivery::Pending,
                attempts: 0,
                last_error: String::new(),
                created_us: now_us,
                next_attempt_us: now_us,
                delivered_us: None,
            })
            .collect()
    }

    /// Commits evaluation outcomes: each alarm still at the version and
    /// state it was evaluated at gets its transition, history row and
    /// notifications in one transaction for the whole batch.
    async fn apply_outcomes(
        self: &Arc<Self>,
        outcomes: Vec<(Arc<AlarmRecord>, eval::Outcome)>,
        now_us: i64,
    ) -> usize {
        if outcomes.is_empty() {
            return 0;
        }
        let _w = self.write.lock().await;
        let mut puts = Vec::new();
        let mut history = Vec::new();
        let mut outbox = Vec::new();
        let mut transitions = Vec::new();
        {
            let map = self.alarms.read();
            for (seen, o) in outcomes {
                let Some(cur) = map.get(&seen.alarm_id) else {
                    continue; // deleted meanwhile
                };
                if cur.version != seen.version || cur.state != seen.state {
                    continue; // changed meanwhile; the next cycle sees the new definition
                }
                let previous = cur.state;
                if o.state == previous {
                    // repeat_actions: notify again, nothing to record.
                    outbox.extend(self.notifications(
                        cur,
                        previous,
                        &o.reason,
                        &o.reason_data,
                        now_us,
                    ));
                    continue;
                }
                let mut next = (**cur).clone();
                next.state = o.state;
                next.state_reason = o.reason.clone();
                next.state_timestamp_us = now_us;
                history.push(HistoryEntry {
                    event_id: uuid::Uuid::new_v4().to_string(),
                    alarm_id: next.alarm_id.clone(),
                    type_: "state transition".into(),
                    detail: json!({"state": o.state.as_str(), "transition_reason": o.reason})
                        .to_string(),
                    project_id: String::new(),
                    user_id: String::new(),
                    on_behalf_of: next.project_id.clone(),
                    timestamp_us: now_us,
                    severity: next.severity.clone(),
                });
                outbox.extend(self.notifications(
                    &next,
                    previous,
                    &o.reason,
                    &o.reason_data,
                    now_us,
                ));
                transitions.push((next.alarm_id.clone(), previous, o.state, o.reason.clone()));
                puts.push(next);
            }
        }
        let n = transitions.len();
        match self.commit(puts, None, history, outbox).await {
            Ok(()) => {
                for (id, from, to, reason) in transitions {
                    self.metrics
                        .transitions
                        .get_or_create(&vec![("state", to.as_str())])
                        .inc();
                    tracing::info!(alarm_id = %id, from = %from, to = %to, reason = %reason, "alarm transition");
                }
                n
            }
            Err(e) => {
                // Nothing was recorded; the next cycle evaluates again.
                tracing::error!(error = %e, "committing alarm transitions failed; they will be re-evaluated next cycle");
                0
            }
        }
    }
}

/// The alarm service: API state, evaluator and notifier.
#[derive(Debug, Clone)]
pub struct Alarms {
    pub(crate) inner: Arc<Inner>,
}

impl Alarms {
    /// Opens `<data_dir>/alarms.sqlite` and loads every alarm.
    pub fn open(
        data_dir: &Path,
        source: Arc<dyn Source>,
        clock: Arc<dyn Clock>,
        cfg: AlarmsConfig,
        registry: &mut Registry,
    ) -> Result<Alarms, String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
        let store = Store::open(&data_dir.join("alarms.sqlite")).map_err(|e| e.to_string())?;
        let loaded = store.load_alarms().map_err(|e| e.to_string())?;
        let notifiers = notify::Notifiers::new(&cfg.notify)?;
        let version = AtomicU64::new(0);
        let alarms = loaded
            .into_iter()
            .map(|mut a| {
                a.version = version.fetch_add(1, Ordering::Relaxed) + 1;
                (a.alarm_id.clone(), Arc::new(a))
            })
            .collect::<HashMap<_, _>>();
        tracing::info!(alarms = alarms.len(), "alarms loaded");
        let inner = Arc::new(Inner {
            store,
            alarms: RwLock::new(alarms),
            evaluated_at: RwLock::default(),
            source,
            clock,
            metrics: AlarmMetrics::new(registry),
            notifiers,
            cfg,
            wake: tokio::sync::Notify::new(),
            write: tokio::sync::Mutex::new(()),
            version,
        });
        inner.refresh_state_gauge();
        Ok(Alarms { inner })
    }

    /// Starts the evaluator and the notification dispatcher.
    pub fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let ev = self.clone();
        vec![
            tokio::spawn(async move { ev.run_evaluator().await }),
            tokio::spawn(notify::run(self.inner.clone())),
        ]
    }

    async fn run_evaluator(self) {
        let every = self.inner.cfg.evaluation_interval;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(
            interval_ms = every.as_millis() as u64,
            "alarm evaluator started"
        );
        loop {
            tick.tick().await;
            let started = std::time::Instant::now();
            let (evaluated, changed) = self.evaluate_once().await;
            let took = started.elapsed();
            self.inner.metrics.cycle_seconds.observe(took.as_secs_f64());
            if took > every {
                self.inner.metrics.cycle_overruns.inc();
                tracing::warn!(
                    evaluated,
                    took_ms = took.as_millis() as u64,
                    interval_ms = every.as_millis() as u64,
                    "alarm evaluation cycle took longer than alarms.evaluation_interval; raise the interval or alarms.evaluation_concurrency"
                );
            } else {
                tracing::debug!(
                    evaluated,
                    changed,
                    took_ms = took.as_millis() as u64,
                    "alarm evaluation cycle"
                );
            }
        }
    }

    /// One evaluation cycle at the clock's now: `(alarms evaluated, outcomes committed)`.
    pub async fn evaluate_once(&self) -> (usize, usize) {
        use futures::StreamExt;
        let inner = &self.inner;
        let now_us = inner.now_us();
        let now_ms = now_us / 1000;
        let due: Vec<Arc<AlarmRecord>> = inner
            .alarms
            .read()
            .values()
            .filter(|a| a.enabled && model::is_periodic(&a.type_))
            .filter(|a| timecons::active(&a.time_constraints, now_ms))
            .cloned()
            .collect();
        let lag = i64::try_from(inner.cfg.additional_ingestion_lag.as_secs()).unwrap_or(0);
        let n = due.len();
        let ids: Vec<String> = due.iter().map(|a| a.alarm_id.clone()).collect();
        let src = inner.source.clone();
        let outcomes: Vec<(Arc<AlarmRecord>, eval::Outcome)> = futures::stream::iter(due)
            .map(|a| {
                let src = src.clone();
                async move {
                    let o = eval::evaluate(src.as_ref(), &a, now_us, lag).await;
                    (a, o)
                }
            })
            .buffer_unordered(inner.cfg.evaluation_concurrency.max(1))
            .filter_map(|(a, o)| async move { o.map(|o| (a, o)) })
            .collect()
            .await;
        inner.metrics.evaluations.inc_by(n as u64);
        {
            let mut at = inner.evaluated_at.write();
            for id in ids {
                at.insert(id, now_us);
            }
        }
        let changed = inner.apply_outcomes(outcomes, now_us).await;
        (n, changed)
    }

    /// Feeds one event to the `event` alarms of its project: a match moves
    /// the alarm to `alarm` (re-notifying only with `repeat_actions`).
    pub async fn on_event(&self, e: &event::Event) -> usize {
        let Some(project) = event::project_of(e).map(str::to_owned) else {
            return 0;
        };
        let now_us = self.inner.now_us();
        let hits: Vec<(Arc<AlarmRecord>, eval::Outcome)> = self
            .inner
            .alarms
            .read()
            .values()
            .filter(|a| a.enabled && a.project_id == project)
            .filter(|a| a.state != State::Alarm || a.repeat_actions)
            .filter_map(|a| match &a.parsed {
                model::Rule::Event { event_type, query }
                    if event::matches(event_type, query, e) =>
                {
                    Some((
                        a.clone(),
                        eval::Outcome {
                            state: State::Alarm,
                            reason: event::reason(e, query),
                            reason_data: json!({"type": "event", "event": event::event_json(e)}),
                        },
                    ))
                }
                _ => None,
            })
            .collect();
        self.inner.apply_outcomes(hits, now_us).await
    }
}

#[cfg(test)]
mod tests;
