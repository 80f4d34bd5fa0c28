//! libvirt's event loop on its own thread, and the sink domain callbacks
//! report to: a guest that starts, stops or changes metadata wakes the
//! libvirt pollster at once instead of at the next interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

/// Where the callbacks of one connection report.
#[derive(Debug, Default)]
pub struct EventSink {
    notify: Arc<Notify>,
    /// Domains (UUIDs) whose cached description must be re-read.
    dirty: Mutex<Vec<String>>,
    events: AtomicU64,
}

impl EventSink {
    /// A sink that wakes `notify`.
    pub fn new(notify: Arc<Notify>) -> Self {
        EventSink {
            notify,
            ..EventSink::default()
        }
    }

    pub(super) fn lifecycle(&self, uuid: String, event: i32, detail: i32) {
        tracing::debug!(
            uuid,
            event = event_name(event),
            detail,
            "libvirt domain event"
        );
        self.mark(uuid);
    }

    pub(super) fn metadata_changed(&self, uuid: String) {
        tracing::debug!(uuid, "libvirt domain metadata changed");
        self.mark(uuid);
    }

    fn mark(&self, uuid: String) {
        self.events.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut d) = self.dirty.lock() {
            d.push(uuid);
        }
        self.notify.notify_one();
    }

    /// Takes the domains marked since the last call.
    pub fn take_dirty(&self) -> Vec<String> {
        self.dirty
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }

    /// Events received so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

fn event_name(event: i32) -> &'static str {
    use virt::sys;
    match u32::try_from(event).unwrap_or(u32::MAX) {
        sys::VIR_DOMAIN_EVENT_DEFINED => "defined",
        sys::VIR_DOMAIN_EVENT_UNDEFINED => "undefined",
        sys::VIR_DOMAIN_EVENT_STARTED => "started",
        sys::VIR_DOMAIN_EVENT_SUSPENDED => "suspended",
        sys::VIR_DOMAIN_EVENT_RESUMED => "resumed",
        sys::VIR_DOMAIN_EVENT_STOPPED => "stopped",
        sys::VIR_DOMAIN_EVENT_SHUTDOWN => "shutdown",
        sys::VIR_DOMAIN_EVENT_PMSUSPENDED => "pmsuspended",
        sys::VIR_DOMAIN_EVENT_CRASHED => "crashed",
        _ => "other",
    }
}

/// Registers libvirt's default event loop implementation and runs it on a
/// dedicated thread, once per process. Must happen before opening a
/// connection that registers callbacks (libvirt otherwise fails with
/// "could not initialize domain event timer").
pub fn ensure_loop() -> Result<(), String> {
    static LOOP: OnceLock<Result<(), String>> = OnceLock::new();
    LOOP.get_or_init(|| {
        // libvirt prints every error to stderr by default; we log them.
        virt::error::clear_error_callback();
        virt::event::event_register_default_impl()
            .map_err(|e| format!("registering libvirt's event loop: {e}"))?;
        std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| {
                loop {
                    if let Err(e) = virt::event::event_run_default_impl() {
                        tracing::warn!(error = %e, "libvirt event loop iteration failed");
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                }
            })
            .map_err(|e| format!("starting the libvirt event thread: {e}"))?;
        Ok(())
    })
    .clone()
}
