//! Delivery of the outbox: webhooks (`http://`, `https://`), e-mail
//! (`mailto:` through SMTP with `lettre`) and `log://`.
//!
//! The dispatcher takes pending notifications in enqueue order, at most one
//! in flight per (alarm, action) so a receiver sees an alarm's transitions in
//! the order they happened, and records every attempt's outcome before it
//! looks at the row again. Failures that may heal (connection errors,
//! timeouts, 5xx, 429, SMTP 4xx) are retried with exponential backoff and
//! full jitter until `give_up_after` has passed since the notification was
//! enqueued; then — or at once for a permanent failure (other 4xx, SMTP 5xx,
//! an unusable URL) — it is dead-lettered: kept, visible through
//! `GET /v2/notifications?state=dead`, counted, and re-queueable.
//!
//! Delivery is at least once: a crash after the receiver answered but before
//! the outcome was committed repeats the request, with the same
//! `Idempotency-Key`, so receivers can drop the duplicate.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use lettre::AsyncTransport;
use serde_json::Value;

use crate::store::{Delivery, Notification, Op};
use crate::{Inner, NotifyConfig, SmtpTls};

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Accepted.
    Delivered,
    /// Worth retrying.
    Transient(String),
    /// Will never work.
    Permanent(String),
}

/// The transports.
#[derive(Debug)]
pub struct Notifiers {
    http: reqwest::Client,
    http_insecure: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
    smtp_error: String,
    cfg: NotifyConfig,
}

impl Notifiers {
    /// Builds the HTTP clients and the SMTP transport from configuration.
    pub fn new(cfg: &NotifyConfig) -> Result<Notifiers, String> {
        // reqwest and lettre are built without a default TLS provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .timeout(cfg.timeout)
                .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
                .user_agent(concat!("altimeter/", env!("CARGO_PKG_VERSION")))
                .tls_danger_accept_invalid_certs(insecure)
                .build()
                .map_err(|e| format!("building the webhook HTTP client: {e}"))
        };
        let (smtp, smtp_error) = match smtp_transport(cfg) {
            Ok(t) => (Some(t), String::new()),
            Err(e) => (None, e),
        };
        Ok(Notifiers {
            http: build(false)?,
            http_insecure: build(true)?,
            smtp,
            smtp_error,
            cfg: cfg.clone(),
        })
    }

    /// Makes one attempt.
    pub async fn deliver(&self, n: &Notification) -> Attempt {
        let action = n.action.as_str();
        let scheme = action.split(':').next().unwrap_or("").to_ascii_lowercase();
        match scheme.as_str() {
            "http" | "https" => self.webhook(n).await,
            "mailto" => self.email(n).await,
            "log" => {
                tracing::info!(target: "altimeter_alarms::log_action",
                    alarm_id = %n.alarm_id,
                    alarm_name = %n.payload["alarm_name"].as_str().unwrap_or(""),
                    previous = %n.payload["previous"].as_str().unwrap_or(""),
                    current = %n.payload["current"].as_str().unwrap_or(""),
                    reason = %n.payload["reason"].as_str().unwrap_or(""),
                    "alarm notification");
                Attempt::Delivered
            }
            other => Attempt::Permanent(format!("unsupported action scheme {other:?}")),
        }
    }

    async fn webhook(&self, n: &Notification) -> Attempt {
        let Ok(mut url) = reqwest::Url::parse(&n.action) else {
            return Attempt::Permanent(format!("unparsable URL {}", n.action));
        };
        // Aodh's per-URL switch, stripped before sending.
        let mut insecure = false;
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, v)| {
                if k == "aodh-alarm-ssl-verify" {
                    insecure = v == "0" || v.eq_ignore_ascii_case("false");
                    false
                } else {
                    true
                }
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if insecure
            || url
                .query()
                .is_some_and(|q| q.contains("aodh-alarm-ssl-verify"))
        {
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(kept.iter());
            }
        }
        let body = webhook_body(&n.payload);
        let client = if insecure {
            &self.http_insecure
        } else {
            &self.http
        };
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header(
                "x-openstack-request-id",
                format!("req-{}", uuid::Uuid::new_v4()),
            )
            .header("idempotency-key", &n.id);
        if !self.cfg.webhook_secret.is_empty() {
            req = req.header(
                "x-altimeter-signature",
                sign(&self.cfg.webhook_secret, body.as_bytes()),
            );
        }
        match req.body(body).send().await {
            Ok(resp) => {
                let s = resp.status();
                if s.is_success() {
                    Attempt::Delivered
                } else if s.is_server_error() || s.as_u16() == 429 || s.as_u16() == 408 {
                    Attempt::Transient(format!("HTTP {s}"))
                } else if s.is_redirection() {
                    Attempt::Permanent(format!("HTTP {s}: redirects are not followed"))
                } else {
                    Attempt::Permanent(format!("HTTP {s}"))
                }
            }
            Err(e) => Attempt::Transient(error_chain(&e)),
        }
    }

    async fn email(&self, n: &Notification) -> Attempt {
        let Some(smtp) = &self.smtp else {
            return Attempt::Transient(format!("SMTP is not usable: {}", self.smtp_error));
        };
        let to = n.action.trim_start_matches("mailto:");
        let to = to.split('?').next().unwrap_or("");
        let to = percent_decode(to);
        let p = &n.payload;
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let subject = format!(
            "[Altimeter] alarm {} is {} (was {}, severity {})",
            s("alarm_name"),
            s("current"),
            s("previous"),
            s("severity")
        );
        let body = format!(
            "Alarm:     {}\nAlarm id:  {}\nSeverity:  {}\nState:     {} -> {}\nReason:    {}\n\nReason data:\n{}\n\nNotification id (idempotency key): {}\n",
            s("alarm_name"),
            s("alarm_id"),
            s("severity"),
            s("previous"),
            s("current"),
            s("reason"),
            serde_json::to_string_pretty(p.get("reason_data").unwrap_or(&Value::Null))
                .unwrap_or_default(),
            n.id
        );
        let from = match self.cfg.smtp_from.parse::<lettre::message::Mailbox>() {
            Ok(m) => m,
            Err(e) => {
                return Attempt::Permanent(format!(
                    "notify.smtp_from {:?}: {e}",
                    self.cfg.smtp_from
                ));
            }
        };
        let mut b = lettre::Message::builder().from(from).subject(subject);
        let mut any = false;
        for addr in to.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            match addr.parse::<lettre::message::Mailbox>() {
                Ok(m) => {
                    b = b.to(m);
                    any = true;
                }
                Err(e) => return Attempt::Permanent(format!("bad address {addr:?}: {e}")),
            }
        }
        if !any {
            return Attempt::Permanent(format!("no recipient in {}", n.action));
        }
        let msg = match b
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
        {
            Ok(m) => m,
            Err(e) => return Attempt::Permanent(format!("building the message: {e}")),
        };
        match smtp.send(msg).await {
            Ok(_) => Attempt::Delivered,
            Err(e) if e.is_permanent() => Attempt::Permanent(format!("SMTP: {e}")),
            Err(e) => Attempt::Transient(format!("SMTP: {}", error_chain(&e))),
        }
    }
}

fn smtp_transport(
    cfg: &NotifyConfig,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, String> {
    use lettre::transport::smtp::authentication::Credentials;
    type T = lettre::AsyncSmtpTransport<lettre::Tokio1Executor>;
    let mut b = match cfg.smtp_tls {
        SmtpTls::None => T::builder_dangerous(&cfg.smtp_host),
        SmtpTls::StartTls => T::starttls_relay(&cfg.smtp_host).map_err(|e| e.to_string())?,
        SmtpTls::Tls => T::relay(&cfg.smtp_host).map_err(|e| e.to_string())?,
    };
    b = b.port(cfg.smtp_port).timeout(Some(cfg.timeout));
    if !cfg.smtp_username.is_empty() {
        b = b.credentials(Credentials::new(
            cfg.smtp_username.clone(),
            cfg.smtp_password.clone(),
        ));
    }
    Ok(b.build())
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// The webhook body: Aodh's seven keys, in Aodh's order.
pub fn webhook_body(payload: &Value) -> String {
    let g = |k: &str| payload.get(k).cloned().unwrap_or(Value::Null);
    // serde_json sorts object keys; write the envelope by hand to keep Aodh's order.
    format!(
        "{{\"alarm_name\": {}, \"alarm_id\": {}, \"severity\": {}, \"previous\": {}, \"current\": {}, \"reason\": {}, \"reason_data\": {}}}",
        g("alarm_name"),
        g("alarm_id"),
        g("severity"),
        g("previous"),
        g("current"),
        g("reason"),
        g("reason_data")
    )
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + bytes.len() * 2);
    hex.push_str("sha256=");
    for b in bytes.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Backoff before attempt `attempts + 1`: `initial · 2^(attempts-1)` capped at
/// `max`, with full jitter in its upper half (never less than half of it).
pub fn backoff(cfg: &NotifyConfig, attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = cfg
        .retry_initial
        .saturating_mul(1u32 << exp.min(20))
        .min(cfg.retry_max);
    let half = base / 2;
    half + half.mul_f64(fastrand::f64())
}

/// The dispatcher: runs until the process ends.
pub(crate) async fn run(inner: Arc<Inner>) {
    // Owned by this loop: an id leaves it only when its attempt's outcome is
    // committed and this loop has seen the completion, before it reads the
    // outbox again; so a stale read can never start a second delivery.
    let mut in_flight: HashSet<String> = HashSet::new();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let slots = Arc::new(tokio::sync::Semaphore::new(inner.cfg.notify.workers.max(1)));
    let mut last_prune = 0i64;
    loop {
        while let Ok(id) = done_rx.try_recv() {
            in_flight.remove(&id);
        }
        let now_us = inner.now_us();
        if now_us - last_prune > 3_600_000_000 {
            last_prune = now_us;
            let keep = inner.cfg.notify.keep_delivered;
            let before = now_us - i64::try_from(keep.as_micros()).unwrap_or(i64::MAX);
            let st = inner.clone();
            match tokio::task::spawn_blocking(move || st.store.prune_delivered(before)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(pruned = n, "pruned delivered notifications"),
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning delivered notifications"),
                _ => {}
            }
        }
        let st = inner.clone();
        let pending = match tokio::task::spawn_blocking(move || st.store.pending(10_000)).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading the notification outbox; retrying in 1s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        inner.metrics.outbox_pending.set(pending.len() as i64);
        let mut next_due = i64::MAX;
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        for n in pending {
            let key = (n.alarm_id.clone(), n.action.clone());
            if blocked.contains(&key) {
                continue;
            }
            // An earlier notification for the same receiver goes first.
            blocked.insert(key);
            if in_flight.contains(&n.id) {
                continue;
            }
            if n.next_attempt_us > now_us {
                next_due = next_due.min(n.next_attempt_us);
                continue;
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                // All workers busy: the next completion wakes the loop.
                break;
            };
            in_flight.insert(n.id.clone());
            let (inner, done) = (inner.clone(), done_tx.clone());
            tokio::spawn(async move {
                attempt(&inner, n.clone()).await;
                drop(permit);
                let _ = done.send(n.id);
            });
        }
        let wait = if next_due == i64::MAX {
            Duration::from_secs(5)
        } else {
            Duration::from_micros(u64::try_from((next_due - now_us).max(0)).unwrap_or(0))
                .min(Duration::from_secs(5))
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = inner.wake.notified() => {}
            Some(id) = done_rx.recv() => {
                in_flight.remove(&id);
            }
        }
    }
}

async fn attempt(inner: &Arc<Inner>, n: Notification) {
    let scheme = n
        .action
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let started = std::time::Instant::now();
    let result = inner.notifiers.deliver(&n).await;
    let now_us = inner.now_us();
    let attempts = n.attempts + 1;
    let cfg = &inner.cfg.notify;
    let give_up_at =
        n.created_us + i64::try_from(cfg.give_up_after.as_micros()).unwrap_or(i64::MAX);
    let (state, error, at_us) = match &result {
        Attempt::Delivered => (Delivery::Delivered, String::new(), now_us),
        Attempt::Transient(e) => {
            let next =
                now_us + i64::try_from(backoff(cfg, attempts).as_micros()).unwrap_or(i64::MAX / 2);
            if now_us >= give_up_at {
                (
                    Delivery::Dead,
                    format!("{e} (gave up after {attempts} attempts)"),
                    now_us,
                )
            } else {
                (
                    Delivery::Pending,
                    e.clone(),
                    next.min(give_up_at.max(now_us)),
                )
            }
        }
        Attempt::Permanent(e) => (Delivery::Dead, format!("{e} (permanent)"), now_us),
    };
    let label = scheme_label(&scheme);
    match state {
        Delivery::Delivered => {
            inner.metrics.delivered.get_or_create(&label).inc();
            inner
                .metrics
                .delivery_seconds
                .observe(started.elapsed().as_secs_f64());
            let created = n.created_us;
            inner
                .metrics
                .enqueue_to_delivery_seconds
                .observe((now_us - created).max(0) as f64 / 1e6);
            tracing::debug!(id = %n.id, alarm_id = %n.alarm_id, action = %n.action, attempts, "notification delivered");
        }
        Delivery::Pending => {
            inner.metrics.failed_attempts.get_or_create(&label).inc();
            tracing::warn!(id = %n.id, alarm_id = %n.alarm_id, action = %n.action, attempts, error = %error,
                retry_in_ms = (at_us - now_us) / 1000, "notification attempt failed; will retry");
        }
        Delivery::Dead => {
            inner.metrics.failed_attempts.get_or_create(&label).inc();
            inner.metrics.dead_lettered.get_or_create(&label).inc();
            tracing::error!(id = %n.id, alarm_id = %n.alarm_id, action = %n.action, attempts, error = %error,
                "notification dead-lettered; see GET /v2/notifications?state=dead, requeue with POST /v2/notifications/{{id}}/retry");
        }
    }
    let st = inner.clone();
    let id = n.id.clone();
    let r = tokio::task::spawn_blocking(move || {
        st.store.apply(&[Op::Attempt {
            id: &id,
            state,
            attempts,
            error: &error,
            at_us,
        }])
    })
    .await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::error!(id = %n.id, "recording a delivery attempt failed; the notification stays pending and will be retried");
    }
}

fn scheme_label(scheme: &str) -> Vec<(&'static str, &'static str)> {
    let s = match scheme {
        "http" => "http",
        "https" => "https",
        "mailto" => "mailto",
        "log" => "log",
        _ => "other",
    };
    vec![("scheme", s)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn body_has_aodh_keys_in_order() {
        let p = serde_json::json!({"alarm_id": "a", "alarm_name": "n", "severity": "low", "previous": "ok",
            "current": "alarm", "reason": "r", "reason_data": {"type": "threshold"}, "actions": ["x"]});
        let b = webhook_body(&p);
        assert_eq!(
            b,
            r#"{"alarm_name": "n", "alarm_id": "a", "severity": "low", "previous": "ok", "current": "alarm", "reason": "r", "reason_data": {"type":"threshold"}}"#
        );
        let v: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 7);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let cfg = NotifyConfig {
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(1),
            ..NotifyConfig::default()
        };
        for _ in 0..50 {
            let b1 = backoff(&cfg, 1);
            assert!(
                b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100),
                "{b1:?}"
            );
            let b3 = backoff(&cfg, 3);
            assert!(
                b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400),
                "{b3:?}"
            );
            let b20 = backoff(&cfg, 20);
            assert!(
                b20 >= Duration::from_millis(500) && b20 <= Duration::from_secs(1),
                "{b20:?}"
            );
        }
    }
}
