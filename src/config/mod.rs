//! Altimeter's configuration: built-in defaults, then a TOML file, then
//! `ALTIMETER_<SECTION>_<KEY>` environment variables, then command-line overrides.
//!
//! Every layer is validated and *all* problems are reported together ([`ConfigErrors`]);
//! nothing is silently corrected. One static table of known keys (`KEYS`) drives file
//! parsing, environment handling, [`Config::to_toml`] and [`reference_markdown`].

use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The complete, validated configuration (see [`load`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[server]`: network listener and data location.
    pub server: ServerConfig,
    /// `[storage]`: TSDB retention, blocks, head and WAL.
    pub storage: StorageConfig,
    /// `[ingest]`: limits applied to write requests.
    pub ingest: IngestConfig,
    /// `[query]`: PromQL engine limits.
    pub query: QueryConfig,
    /// `[log]`: log filter and output format.
    pub log: LogConfig,
    /// `[agent]`: the collector agent (`altimeter agent`, and in `all-in-one`).
    pub agent: AgentConfig,
    /// `[alarms]`: the alarm evaluator.
    pub alarms: AlarmsConfig,
    /// `[notify]`: delivery of alarm notifications.
    pub notify: NotifyConfig,
}

/// `[alarms]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmsConfig {
    /// Evaluation period of periodic alarms.
    pub evaluation_interval: Duration,
    /// Alarms evaluated at once.
    pub evaluation_concurrency: u64,
    /// Widens Gnocchi rule windows.
    pub additional_ingestion_lag: Duration,
    /// Label naming a series' project.
    pub project_label: String,
}

/// `[notify]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// First retry delay.
    pub retry_initial: Duration,
    /// Retry delay cap.
    pub retry_max: Duration,
    /// Dead-letter after failing this long.
    pub give_up_after: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Deliveries in flight.
    pub workers: u64,
    /// Retention of delivered notifications.
    pub keep_delivered: Duration,
    /// HMAC key for webhook signatures.
    pub webhook_secret: String,
    /// SMTP host.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u64,
    /// none | starttls | tls.
    pub smtp_tls: String,
    /// SMTP user.
    pub smtp_username: String,
    /// SMTP password.
    pub smtp_password: String,
    /// Sender address.
    pub smtp_from: String,
}

/// `[agent]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// Address of the standalone agent's `/metrics`. Default `127.0.0.1:9101`.
    pub listen: SocketAddr,
    /// How often every pollster runs. Default 10s; ≥ 100ms.
    pub interval: Duration,
    /// Pollsters to run: `libvirt`, `cgroup`, `host`. Default all three.
    pub pollsters: Vec<String>,
    /// The `host` label; empty means this machine's hostname.
    pub host: String,
    /// libvirt connection URI. Default `qemu:///system`.
    pub libvirt_uri: String,
    /// cgroup subtrees to watch, relative to each hierarchy root.
    pub cgroup_watch: Vec<String>,
    /// Remote-write URLs to ship every poll to. Default none.
    pub remote_write: Vec<String>,
    /// Directory of the per-destination spools. Default `./agent-data`.
    pub spool_dir: PathBuf,
    /// Bound on each destination's spool; the oldest data goes first. Default 1GiB.
    pub spool_max_size: u64,
    /// Most samples in one remote-write request. Default 10,000; ≥ 1.
    pub max_samples_per_send: u64,
}

/// `[server]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address the HTTP server binds to (IP literal and port). Default `127.0.0.1:8041`.
    pub listen: SocketAddr,
    /// Directory holding the WAL and blocks. Default `./data`.
    pub data_dir: PathBuf,
}

/// `[storage]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Raw samples older than `now - retention` are deleted. Default 30d.
    /// **Zero means keep forever** (no retention-based deletion).
    pub retention: Duration,
    /// Blocks are cut on aligned windows of this size. Default 2h; > 0 and,
    /// unless `retention` is zero, ≤ `retention`.
    pub block_duration: Duration,
    /// The head is flushed to a block when it holds more samples. Default 4,000,000; ≥ 1000.
    pub head_max_samples: u64,
    /// The head is flushed when its oldest unflushed sample arrived this long ago. Default 1h.
    pub head_max_age: Duration,
    /// Bytes per WAL segment file. Default 128 MiB; between 1 MiB and 4 GiB.
    pub wal_segment_size: u64,
    /// How often compaction and retention run. Default 1m; ≥ 1s.
    pub compaction_interval: Duration,
    /// How often Gnocchi rollups of buckets past the back window are sealed. Default 1m; ≥ 1s.
    pub rollup_interval: Duration,
    /// Samples older than `now - out_of_order_window` are rejected. Default zero, meaning
    /// unlimited (back to the retention horizon).
    pub out_of_order_window: Duration,
}

/// `[ingest]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Limit on the request body as sent (compressed). Default 32 MiB; > 0.
    pub max_body_bytes: u64,
    /// Limit on the decompressed request body. Default 256 MiB; ≥ `max_body_bytes`.
    pub max_decompressed_bytes: u64,
    /// Samples with timestamps beyond `now + max_future` are rejected. Default 1h.
    pub max_future: Duration,
}

/// `[query]` section: the PromQL engine (Prometheus's `--query.*` flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryConfig {
    /// A query running longer is aborted (503 `timeout`). Default 2m; > 0.
    pub timeout: Duration,
    /// Most samples one query may load or hold at once. Default 50,000,000; ≥ 1.
    pub max_samples: u64,
    /// Queries evaluated at once; more wait, their wait counting against
    /// their timeout. Default 20; ≥ 1.
    pub max_concurrency: u64,
    /// How far back an instant selector (and `/federate`) looks for a
    /// sample. Default 5m; > 0.
    pub lookback_delta: Duration,
}

/// `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Tracing filter: `trace`, `debug`, `info`, `warn`, `error`, `off`, or directives
    /// containing `=` (e.g. `info,altimeter_tsdb=debug`). Default `info`.
    pub level: String,
    /// Output format. Default [`LogFormat::Text`].
    pub format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (`"text"`).
    #[default]
    Text,
    /// One JSON object per line (`"json"`).
    Json,
}

impl LogFormat {
    /// The configuration spelling: `"text"` or `"json"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

impl Default for Config {
    fn default() -> Self {
        let secs = Duration::from_secs;
        Config {
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8041)),
                data_dir: PathBuf::from("./data"),
            },
            storage: StorageConfig {
                retention: secs(30 * 86_400),
                block_duration: secs(2 * 3600),
                head_max_samples: 4_000_000,
                head_max_age: secs(3600),
                wal_segment_size: 128 * MIB,
                compaction_interval: secs(60),
                rollup_interval: secs(60),
                out_of_order_window: Duration::ZERO,
            },
            ingest: IngestConfig {
                max_body_bytes: 32 * MIB,
                max_decompressed_bytes: 256 * MIB,
                max_future: secs(3600),
            },
            query: QueryConfig {
                timeout: secs(120),
                max_samples: 50_000_000,
                max_concurrency: 20,
                lookback_delta: secs(300),
            },
            log: LogConfig {
                level: "info".to_owned(),
                format: LogFormat::Text,
            },
            agent: AgentConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 9101)),
                interval: secs(10),
                pollsters: ["libvirt", "cgroup", "host"].map(String::from).to_vec(),
                host: String::new(),
                libvirt_uri: "qemu:///system".to_owned(),
                cgroup_watch: altimeter_collector::cgroup::CgroupOptions::default().watch,
                remote_write: Vec::new(),
                spool_dir: PathBuf::from("./agent-data"),
                spool_max_size: GIB,
                max_samples_per_send: 10_000,
            },
            alarms: AlarmsConfig {
                evaluation_interval: secs(10),
                evaluation_concurrency: 64,
                additional_ingestion_lag: Duration::ZERO,
                project_label: "project_id".to_owned(),
            },
            notify: NotifyConfig {
                retry_initial: secs(1),
                retry_max: secs(300),
                give_up_after: secs(86_400),
                timeout: secs(10),
                workers: 16,
                keep_delivered: secs(7 * 86_400),
                webhook_secret: String::new(),
                smtp_host: "127.0.0.1".to_owned(),
                smtp_port: 25,
                smtp_tls: "none".to_owned(),
                smtp_username: String::new(),
                smtp_password: String::new(),
                smtp_from: "altimeter@localhost".to_owned(),
            },
        }
    }
}

/// One problem in the configuration. Displays as `<source>: <key>: <message>`, e.g.
/// `environment ALTIMETER_STORAGE_RETENTION: storage.retention: invalid duration "3x" (…)`;
/// the key part is left out when empty (file-level problems such as syntax errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the value came from: `config file …`, `environment ALTIMETER_…`, a command-line
    /// label, or `built-in default`.
    pub source: String,
    /// Dotted key path (`storage.retention`), or the offending name; may be empty.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key.as_str() {
            "" => write!(f, "{}: {}", self.source, self.message),
            key => write!(f, "{}: {key}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found while loading. Displays a line `invalid configuration (N errors):`
/// followed by one indented line per error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid configuration ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        self.0.iter().try_for_each(|e| write!(f, "\n  {e}"))
    }
}

impl std::error::Error for ConfigErrors {}

/// A typed value of one key. The variant of a key's current value is also its *kind*:
/// it decides how raw input is parsed and how the value is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Addr(SocketAddr),
    Path(PathBuf),
    Duration(Duration),
    Size(u64),
    Count(u64),
    Level(String),
    Format(LogFormat),
    Text(String),
    List(Vec<String>),
}

/// One known configuration key.
#[derive(Debug)]
struct KeySpec {
    section: &'static str,
    key: &'static str,
    doc: &'static str,
    get: fn(&Config) -> Val,
    set: fn(&mut Config, Val),
}

impl KeySpec {
    fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }
    fn env_name(&self) -> String {
        format!("ALTIMETER_{}_{}", self.section, self.key).to_ascii_uppercase()
    }
}

fn owned<T: Clone>(t: &T) -> T {
    t.clone()
}

macro_rules! key_table {
    ($($section:ident . $key:ident : $kind:ident => $doc:literal;)*) => {
        /// All known keys in section order.
        static KEYS: &[KeySpec] = &[$(KeySpec {
            section: stringify!($section),
            key: stringify!($key),
            doc: $doc,
            get: |c| Val::$kind(owned(&c.$section.$key)),
            set: |c, v| if let Val::$kind(x) = v { c.$section.$key = x },
        },)*];
    };
}

key_table! {
    server.listen: Addr => "Address the HTTP server listens on: IP literal and port (host names are not resolved).";
    server.data_dir: Path => "Directory holding the write-ahead log and blocks.";
    storage.retention: Duration => "Raw samples older than now - retention are deleted; 0 keeps data forever.";
    storage.block_duration: Duration => "Blocks are cut on aligned windows of this size; > 0 and at most retention (unless retention is 0).";
    storage.head_max_samples: Count => "The in-memory head is flushed to a block when it holds more samples than this (at least 1000).";
    storage.head_max_age: Duration => "The head is flushed when its oldest unflushed sample arrived this long ago.";
    storage.wal_segment_size: Size => "Size of one write-ahead-log segment file (1MiB to 4GiB).";
    storage.compaction_interval: Duration => "How often compaction and retention run (at least 1s).";
    storage.rollup_interval: Duration => "How often Gnocchi aggregates of buckets older than the archive policy's back window are computed and stored (at least 1s).";
    storage.out_of_order_window: Duration => "Samples older than now - window are rejected; 0 accepts any age back to the retention horizon.";
    ingest.max_body_bytes: Size => "Limit on a request body as sent (compressed); > 0.";
    ingest.max_decompressed_bytes: Size => "Limit on a request body after decompression; at least max_body_bytes.";
    ingest.max_future: Duration => "Samples with timestamps beyond now + max_future are rejected.";
    query.timeout: Duration => "A PromQL query running longer is aborted with a timeout error (503); > 0.";
    query.max_samples: Count => "Most samples one PromQL query may load or hold at once (at least 1).";
    query.max_concurrency: Count => "PromQL queries evaluated at once; further queries wait, the wait counting against their timeout (at least 1).";
    query.lookback_delta: Duration => "How far back an instant selector (and /federate) looks for the latest sample; > 0.";
    log.level: Level => "Log filter: trace, debug, info, warn, error, off, or tracing directives containing '=' (e.g. info,altimeter_tsdb=debug).";
    log.format: Format => "Log output format: text or json.";
    agent.listen: Addr => "Address of the standalone agent's /metrics and health endpoints (all-in-one serves them on server.listen).";
    agent.interval: Duration => "How often the agent polls libvirt, cgroups and the host (at least 100ms); libvirt is also polled at once on guest lifecycle events.";
    agent.pollsters: List => "Pollsters the agent runs: libvirt, cgroup, host (comma-separated in the environment).";
    agent.host: Text => "The host label on guest series and on everything shipped; empty means this machine's hostname.";
    agent.libvirt_uri: Text => "libvirt connection URI (opened read-only), e.g. qemu:///system or test:///default.";
    agent.cgroup_watch: List => "cgroup subtrees to watch, relative to each hierarchy root (comma-separated in the environment).";
    agent.remote_write: List => "Remote-write URLs every poll is shipped to (comma-separated in the environment); all-in-one also ships in-process.";
    agent.spool_dir: Path => "Directory of the agent's on-disk spools, one per destination (all-in-one uses <server.data_dir>/agent-spool).";
    agent.spool_max_size: Size => "Bound on each destination's spool; when full the oldest data is dropped and counted.";
    agent.max_samples_per_send: Count => "Most samples in one remote-write request when catching up (at least 1).";
    alarms.evaluation_interval: Duration => "How often periodic alarms (prometheus, gnocchi_*, composite) are evaluated (Aodh's evaluation_interval; at least 1s).";
    alarms.evaluation_concurrency: Count => "Alarms evaluated at once within a cycle (at least 1).";
    alarms.additional_ingestion_lag: Duration => "Widens the window of Gnocchi-typed rules to allow for late measures (Aodh's additional_ingestion_lag).";
    alarms.project_label: Text => "Series label naming the project; a non-admin's prometheus alarm only sees series with its project here.";
    notify.retry_initial: Duration => "Delay before the second delivery attempt; doubles per attempt with jitter (> 0).";
    notify.retry_max: Duration => "Cap on the delay between delivery attempts (at least retry_initial).";
    notify.give_up_after: Duration => "A notification still failing this long after its transition is dead-lettered (GET /v2/notifications?state=dead) (> 0).";
    notify.timeout: Duration => "Timeout of one webhook or SMTP attempt (> 0).";
    notify.workers: Count => "Deliveries in flight at once (at least 1).";
    notify.keep_delivered: Duration => "Delivered notifications stay visible in /v2/notifications this long, then are pruned.";
    notify.webhook_secret: Text => "When set, webhooks carry X-Altimeter-Signature: sha256=<hex HMAC-SHA256 of the body with this key>. Prefer the environment variable.";
    notify.smtp_host: Text => "SMTP server for mailto: actions.";
    notify.smtp_port: Count => "SMTP port (1-65535).";
    notify.smtp_tls: Text => "SMTP security: none, starttls (required) or tls (SMTPS).";
    notify.smtp_username: Text => "SMTP user; empty means no authentication.";
    notify.smtp_password: Text => "SMTP password. Prefer the environment variable; config check prints it redacted.";
    notify.smtp_from: Text => "Sender address of alarm e-mails.";
}

/// `ALTIMETER_*` environment variables that are not configuration keys.
const IGNORED_ENV: [&str; 2] = ["ALTIMETER_LOG", "ALTIMETER_CONFIG"];
const DEFAULT_SOURCE: &str = "built-in default";
const DURATION_HELP: &str = "expected a number and a unit: ms, s, m, h, d, w, y — e.g. 30d";

/// (type name for docs, what a TOML value must look like) for a kind.
fn describe(kind: &Val) -> (&'static str, &'static str) {
    match kind {
        Val::Addr(_) => ("address", "a string \"IP:port\" (e.g. \"127.0.0.1:8041\")"),
        Val::Path(_) => ("path", "a string (a directory path)"),
        Val::Duration(_) => ("duration", "a duration string (e.g. \"30d\" or \"1h30m\")"),
        Val::Size(_) => (
            "size",
            "a string with a unit (e.g. \"128MiB\") or an integer of bytes",
        ),
        Val::Count(_) => ("integer", "an integer (e.g. 4_000_000)"),
        Val::Level(_) => ("log filter", "a string log filter (e.g. \"info\")"),
        Val::Format(_) => ("text or json", "a string, \"text\" or \"json\""),
        Val::Text(_) => ("string", "a string"),
        Val::List(_) => ("list", "an array of strings (e.g. [\"a\", \"b\"])"),
    }
}

/// Parses raw text (environment, command line, or a TOML string) as a value of `kind`.
fn parse_raw(kind: &Val, s: &str) -> Result<Val, String> {
    match kind {
        Val::Addr(_) => s.parse().map(Val::Addr).map_err(|_| {
            format!("invalid address {s:?} (expected IP:port, e.g. 127.0.0.1:8041 or [::]:8041; host names are not resolved)")
        }),
        Val::Path(_) if s.is_empty() => Err("must not be empty".to_owned()),
        Val::Path(_) => Ok(Val::Path(PathBuf::from(s))),
        Val::Duration(_) => parse_duration(s).map(Val::Duration),
        Val::Size(_) => parse_size(s).map(Val::Size),
        Val::Count(_) => parse_count(s).map(Val::Count),
        Val::Level(_) => {
            let known = ["trace", "debug", "info", "warn", "error", "off"];
            if known.iter().any(|l| l.eq_ignore_ascii_case(s)) || s.contains('=') {
                Ok(Val::Level(s.to_owned()))
            } else {
                Err(format!("invalid log level {s:?} (expected trace, debug, info, warn, error, off, or directives containing '=' such as \"info,altimeter_tsdb=debug\")"))
            }
        }
        Val::Format(_) => match s {
            "text" => Ok(Val::Format(LogFormat::Text)),
            "json" => Ok(Val::Format(LogFormat::Json)),
            _ => Err(format!("invalid log format {s:?} (expected \"text\" or \"json\")")),
        },
        Val::Text(_) => Ok(Val::Text(s.to_owned())),
        Val::List(_) => Ok(Val::List(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
    }
}

/// Parses a TOML value as a value of `kind`, checking its TOML type.
fn parse_toml(kind: &Val, v: &toml::Value) -> Result<Val, String> {
    let negative = |n: &i64| format!("must not be negative, found {n}");
    match (kind, v) {
        (_, toml::Value::String(s)) => parse_raw(kind, s),
        (Val::Size(_), toml::Value::Integer(n)) => {
            u64::try_from(*n).map(Val::Size).map_err(|_| negative(n))
        }
        (Val::Count(_), toml::Value::Integer(n)) => {
            u64::try_from(*n).map(Val::Count).map_err(|_| negative(n))
        }
        (Val::List(_), toml::Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("expected strings in the array, found {}", x.type_str()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Val::List),
        _ => Err(format!(
            "expected {}, found {}",
            describe(kind).1,
            v.type_str()
        )),
    }
}

/// Range rules on a single key, applied to the value given by every layer.
fn check_single(path: &str, v: &Val) -> Result<(), String> {
    let err = match (path, v) {
        ("storage.block_duration", Val::Duration(d)) if d.is_zero() => {
            "must be greater than 0".to_owned()
        }
        ("storage.head_max_samples", Val::Count(n)) if *n < 1000 => {
            format!("{n} is too small (must be at least 1000)")
        }
        ("storage.wal_segment_size", Val::Size(n)) if !(MIB..=4 * GIB).contains(n) => {
            format!(
                "{} is out of range (must be between 1MiB and 4GiB)",
                format_size(*n)
            )
        }
        ("storage.compaction_interval" | "storage.rollup_interval", Val::Duration(d))
            if d.as_secs() < 1 =>
        {
            format!("{} is too short (must be at least 1s)", format_duration(*d))
        }
        ("ingest.max_body_bytes", Val::Size(0)) => "must be greater than 0".to_owned(),
        ("query.timeout" | "query.lookback_delta", Val::Duration(d)) if d.is_zero() => {
            "must be greater than 0".to_owned()
        }
        (
            "query.max_samples" | "query.max_concurrency" | "agent.max_samples_per_send",
            Val::Count(0),
        ) => "must be at least 1".to_owned(),
        ("agent.interval", Val::Duration(d)) if d.as_millis() < 100 => {
            format!(
                "{} is too short (must be at least 100ms)",
                format_duration(*d)
            )
        }
        ("alarms.evaluation_interval", Val::Duration(d)) if d.as_secs() < 1 => {
            format!("{} is too short (must be at least 1s)", format_duration(*d))
        }
        (
            "notify.retry_initial" | "notify.retry_max" | "notify.give_up_after" | "notify.timeout",
            Val::Duration(d),
        ) if d.is_zero() => "must be greater than 0".to_owned(),
        ("alarms.evaluation_concurrency" | "notify.workers", Val::Count(0)) => {
            "must be at least 1".to_owned()
        }
        ("notify.smtp_port", Val::Count(n)) if !(1..=65535).contains(n) => {
            format!("{n} is not a TCP port (1-65535)")
        }
        ("notify.smtp_tls", Val::Text(t)) if !["none", "starttls", "tls"].contains(&t.as_str()) => {
            format!("{t:?} is not one of none, starttls, tls")
        }
        ("agent.spool_max_size", Val::Size(n)) if *n < MIB => {
            format!("{} is too small (must be at least 1MiB)", format_size(*n))
        }
        ("agent.pollsters", Val::List(l))
            if l.iter()
                .any(|p| !["libvirt", "cgroup", "host"].contains(&p.as_str())) =>
        {
            format!("unknown pollster in {l:?} (known: libvirt, cgroup, host)")
        }
        ("agent.remote_write", Val::List(l)) if l.iter().any(|u| !u.starts_with("http://")) => {
            format!(
                "{l:?}: every URL must start with http:// (https is not built in yet: put a TLS-terminating proxy such as stunnel or nginx on the agent's host)"
            )
        }
        _ => return Ok(()),
    };
    Err(err)
}

/// Loads the configuration: defaults, then the TOML `file` (if given; a missing or unreadable
/// file is an error), then `ALTIMETER_<SECTION>_<KEY>` variables from `env` (pass
/// `std::env::vars()`; `ALTIMETER_LOG` and `ALTIMETER_CONFIG` are ignored, other unknown
/// `ALTIMETER_*` variables are errors), then `overrides` as (key path such as `"server.listen"`,
/// raw value, source label such as `"command line --listen"`). Later layers win.
///
/// Every layer is validated, then the cross-field rules.
///
/// # Errors
/// [`ConfigErrors`] with every problem from every layer, in layer order.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &[(&str, String, &str)],
) -> Result<Config, ConfigErrors> {
    let mut l = Loader {
        config: Config::default(),
        origins: vec![(DEFAULT_SOURCE.to_owned(), false); KEYS.len()],
        errors: Vec::new(),
    };
    if let Some(path) = file {
        let source = format!("config file {}", path.display());
        match std::fs::read_to_string(path) {
            Ok(text) => l.apply_toml(&source, &text),
            Err(e) => l.error(&source, "", format!("cannot read the file: {e}")),
        }
    }
    let mut vars: Vec<_> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("ALTIMETER_"))
        .collect();
    vars.sort();
    for (name, value) in vars
        .iter()
        .filter(|(k, _)| !IGNORED_ENV.contains(&k.as_str()))
    {
        let source = format!("environment {name}");
        let path = KEYS
            .iter()
            .find(|k| k.env_name() == *name)
            .map(KeySpec::path);
        if !path.is_some_and(|p| l.apply(&source, &p, |kind| parse_raw(kind, value))) {
            let hint =
                did_you_mean(name, KEYS.iter().map(KeySpec::env_name)).unwrap_or_else(|| {
                    " (configuration variables are ALTIMETER_<SECTION>_<KEY>)".to_owned()
                });
            l.error(&source, "", format!("unknown environment variable{hint}"));
        }
    }
    for (path, raw, label) in overrides {
        if !l.apply(label, path, |kind| parse_raw(kind, raw)) {
            let hint = did_you_mean(path, KEYS.iter().map(KeySpec::path)).unwrap_or_default();
            l.error(label, path, format!("unknown configuration key{hint}"));
        }
    }
    l.cross_check();
    if l.errors.is_empty() {
        Ok(l.config)
    } else {
        Err(ConfigErrors(l.errors))
    }
}

#[derive(Debug)]
struct Loader {
    config: Config,
    /// Per key (index into `KEYS`): source of the current value, and whether the last
    /// attempt to set it failed (cross-field rules then skip it to avoid follow-on noise).
    origins: Vec<(String, bool)>,
    errors: Vec<ConfigError>,
}

impl Loader {
    fn error(&mut self, source: &str, key: &str, message: String) {
        let (source, key) = (source.to_owned(), key.to_owned());
        self.errors.push(ConfigError {
            source,
            key,
            message,
        });
    }

    /// Parses and sets the key `path`; returns false if there is no such key.
    fn apply(
        &mut self,
        source: &str,
        path: &str,
        parse: impl FnOnce(&Val) -> Result<Val, String>,
    ) -> bool {
        let Some(i) = KEYS.iter().position(|k| k.path() == path) else {
            return false;
        };
        let parsed = parse(&(KEYS[i].get)(&self.config));
        match parsed.and_then(|v| check_single(path, &v).map(|()| v)) {
            Ok(v) => {
                (KEYS[i].set)(&mut self.config, v);
                self.origins[i] = (source.to_owned(), false);
            }
            Err(message) => {
                self.origins[i].1 = true;
                self.error(source, path, message);
            }
        }
        true
    }

    fn apply_toml(&mut self, source: &str, text: &str) {
        let table = match text.parse::<toml::Table>() {
            Ok(t) => t,
            Err(e) => {
                let msg = e.message().trim().replace('\n', "; ");
                let message = match e.span() {
                    Some(span) => {
                        let before = text.get(..span.start).unwrap_or(text);
                        let line = before.matches('\n').count() + 1;
                        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                        format!("TOML syntax error at line {line}, column {col}: {msg}")
                    }
                    None => format!("TOML syntax error: {msg}"),
                };
                return self.error(source, "", message);
            }
        };
        let is_section = |name: &str| KEYS.iter().any(|k| k.section == name);
        for (name, value) in &table {
            let message = match value {
                toml::Value::Table(t) if is_section(name) => {
                    for (key, v) in t {
                        let path = format!("{name}.{key}");
                        if !self.apply(source, &path, |kind| parse_toml(kind, v)) {
                            self.error(source, &path, unknown_key_message(name, key));
                        }
                    }
                    continue;
                }
                _ if is_section(name) => {
                    format!("expected a table [{name}], found {}", value.type_str())
                }
                toml::Value::Table(_) => {
                    let hint = did_you_mean(name, KEYS.iter().map(|k| k.section.to_owned()));
                    format!("unknown section{}", hint.unwrap_or_default())
                }
                _ => match KEYS.iter().find(|k| k.key == name) {
                    Some(k) => format!(
                        "unknown top-level key (did you mean {}? keys belong in a [{}] section)",
                        k.path(),
                        k.section
                    ),
                    None => "unknown top-level key".to_owned(),
                },
            };
            self.error(source, name, message);
        }
    }

    /// Source of a key's value and whether setting it failed.
    fn origin(&self, path: &str) -> (&str, bool) {
        KEYS.iter()
            .position(|k| k.path() == path)
            .map_or((DEFAULT_SOURCE, false), |i| {
                (&self.origins[i].0, self.origins[i].1)
            })
    }

    /// Rules relating two keys, checked on the merged configuration.
    fn cross_check(&mut self) {
        let (s, i, n) = (
            &self.config.storage,
            &self.config.ingest,
            &self.config.notify,
        );
        let rules = [
            (
                "notify.retry_max",
                "notify.retry_initial",
                n.retry_max < n.retry_initial,
                format!(
                    "{} is shorter than notify.retry_initial = {}",
                    format_duration(n.retry_max),
                    format_duration(n.retry_initial)
                ),
                "the cap must be at least the first delay",
            ),
            (
                "storage.block_duration",
                "storage.retention",
                !s.retention.is_zero() && s.block_duration > s.retention,
                format!(
                    "{} is longer than storage.retention = {}",
                    format_duration(s.block_duration),
                    format_duration(s.retention)
                ),
                "a block must fit in the retention period (retention 0 keeps data forever)",
            ),
            (
                "ingest.max_decompressed_bytes",
                "ingest.max_body_bytes",
                i.max_decompressed_bytes < i.max_body_bytes,
                format!(
                    "{} is smaller than ingest.max_body_bytes = {}",
                    format_size(i.max_decompressed_bytes),
                    format_size(i.max_body_bytes)
                ),
                "it must be at least as large",
            ),
        ];
        let mut found = Vec::new();
        for (key, other, violated, what, why) in rules {
            let ((source, failed), (other_source, other_failed)) =
                (self.origin(key), self.origin(other));
            if violated && !failed && !other_failed {
                let message = format!("{what} (from {other_source}); {why}");
                found.push(ConfigError {
                    source: source.to_owned(),
                    key: key.to_owned(),
                    message,
                });
            }
        }
        self.errors.extend(found);
    }
}

fn unknown_key_message(section: &str, key: &str) -> String {
    let same = KEYS
        .iter()
        .filter(|k| k.section == section)
        .map(|k| k.key.to_owned());
    if let Some(hint) = did_you_mean(key, same) {
        return format!("unknown key{hint}");
    }
    match KEYS.iter().find(|k| k.key == key) {
        Some(k) => {
            format!(
                "unknown key (did you mean {}? it belongs in [{}])",
                k.path(),
                k.section
            )
        }
        None => {
            let valid: Vec<_> = KEYS
                .iter()
                .filter(|k| k.section == section)
                .map(|k| k.key)
                .collect();
            format!(
                "unknown key (valid keys in [{section}]: {})",
                valid.join(", ")
            )
        }
    }
}

/// ` (did you mean X?)` for the closest candidate within edit distance 2 (ignoring case).
fn did_you_mean(name: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let name = name.to_ascii_lowercase();
    candidates
        .map(|c| (levenshtein(&name, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean {c}?)"))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses a duration: `30d`, `12h`, `15m`, `10s`, `500ms`, `1w`, `1y` (= 365d), compound
/// `1h30m` (units from largest to smallest, each at most once, like Prometheus), or `0`.
/// Numbers are whole; signs and whitespace are rejected.
///
/// # Errors
/// A message quoting the input and saying what is expected.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    use altimeter_model::duration::{self, DurationError};
    duration::parse_duration(s)
        .map(Duration::from_millis)
        .map_err(|e| match e {
            DurationError::Syntax => format!("invalid duration {s:?} ({DURATION_HELP})"),
            DurationError::Order => format!(
                "invalid duration {s:?} (units must go from largest to smallest, each at most once, e.g. 1h30m)"
            ),
            DurationError::TooLarge => format!("duration {s:?} is too large"),
        })
}

/// Renders a duration in the canonical form [`parse_duration`] accepts, as Prometheus prints
/// one (`30d`, `1h30m`; years and weeks only when they divide it); zero is `0s`.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    altimeter_model::duration::format_duration(d.as_millis())
}

/// Parses a byte size: a plain number of bytes (`1024`) or a number and a unit, binary `KiB`,
/// `MiB`, `GiB`, `TiB` or decimal `B`, `KB`, `MB`, `GB`, `TB` (case-insensitive, one space
/// allowed before it). Fractions (`1.5GiB`) are allowed if they come to whole bytes.
///
/// # Errors
/// A message quoting the input and saying what is expected.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid size {s:?} (expected bytes, or a number and a unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB — e.g. 128MiB)"
        )
    };
    let too_large = || format!("size {s:?} is too large");
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let mult = match unit
        .strip_prefix(' ')
        .unwrap_or(unit)
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => KIB,
        "mib" => MIB,
        "gib" => GIB,
        "tib" => TIB,
        _ => return Err(bad()),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() || frac.contains('.') || (num.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let digits: u128 = format!("{int}{frac}").parse().map_err(|_| too_large())?;
    let scale = u32::try_from(frac.len())
        .ok()
        .and_then(|k| 10u128.checked_pow(k))
        .ok_or_else(too_large)?;
    let bytes = digits.checked_mul(u128::from(mult)).ok_or_else(too_large)?;
    if !bytes.is_multiple_of(scale) {
        return Err(format!("size {s:?} is not a whole number of bytes"));
    }
    u64::try_from(bytes / scale).map_err(|_| too_large())
}

/// Bytes with the largest binary unit dividing them exactly (`128MiB`), else plain bytes.
fn format_size(n: u64) -> String {
    [("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)]
        .into_iter()
        .find(|(_, m)| n >= *m && n.is_multiple_of(*m))
        .map_or_else(|| n.to_string(), |(unit, m)| format!("{}{unit}", n / m))
}

/// Parses a non-negative integer, optionally grouped with underscores (`4_000_000`).
fn parse_count(s: &str) -> Result<u64, String> {
    if !s
        .split('_')
        .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "invalid integer {s:?} (expected digits, optionally grouped with underscores, e.g. 4_000_000)"
        ));
    }
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("integer {s:?} is too large"))
}

/// The value as a user would type it (environment, command line, docs).
fn render_raw(v: &Val) -> String {
    match v {
        Val::Addr(a) => a.to_string(),
        Val::Path(p) => p.display().to_string(),
        Val::Duration(d) => format_duration(*d),
        Val::Size(n) => format_size(*n),
        Val::Count(n) => {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push('_');
                }
                out.push(c);
            }
            out
        }
        Val::Level(s) | Val::Text(s) => s.clone(),
        Val::Format(f) => f.as_str().to_owned(),
        Val::List(l) => l.join(","),
    }
}

/// The value as a TOML literal: integers for counts and unit-less sizes, strings otherwise.
fn render_toml(v: &Val) -> String {
    let raw = render_raw(v);
    let integer = match v {
        Val::Size(n) => !raw.ends_with('B') && i64::try_from(*n).is_ok(),
        Val::Count(n) => i64::try_from(*n).is_ok(),
        _ => false,
    };
    if let Val::List(l) = v {
        toml::Value::Array(l.iter().cloned().map(toml::Value::String).collect()).to_string()
    } else if integer {
        raw
    } else {
        toml::Value::String(raw).to_string()
    }
}

impl Config {
    /// The configuration as TOML with every key present, each preceded by its description as
    /// a comment; [`load`] reads it back to an equal `Config` (non-UTF-8 paths are lossy).
    #[must_use]
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for (i, spec) in KEYS.iter().enumerate() {
            if i == 0 || KEYS[i - 1].section != spec.section {
                let _ = writeln!(out, "{}[{}]", if i == 0 { "" } else { "\n" }, spec.section);
            }
            let _ = writeln!(
                out,
                "# {}\n{} = {}",
                spec.doc,
                spec.key,
                if matches!(spec.key, "smtp_password" | "webhook_secret")
                    && (spec.get)(self) != Val::Text(String::new())
                {
                    "\"<redacted>\"".to_owned()
                } else {
                    render_toml(&(spec.get)(self))
                }
            );
        }
        out
    }
}

/// The configuration reference in Markdown (for `docs/config.md`): precedence, value formats,
/// and a table of every key with its environment variable, default and description.
#[must_use]
pub fn reference_markdown() -> String {
    let defaults = Config::default();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated by config::reference_markdown() in src/config/mod.rs (`altimeter config reference`); do not edit. -->\n\n\
         Altimeter reads its configuration from, in increasing order of precedence: built-in \
         defaults, a TOML file, environment variables `ALTIMETER_<SECTION>_<KEY>`, and \
         command-line flags. Every layer is validated and all problems are reported together at \
         start-up. Unknown sections, keys and `ALTIMETER_*` variables are errors, except \
         `ALTIMETER_CONFIG` (the configuration file path) and `ALTIMETER_LOG` (a tracing filter).\n\n\
         - **duration**: a whole number and a unit `ms`, `s`, `m`, `h`, `d`, `w`, `y` (365d), \
         compound from largest to smallest unit (`1h30m`), or `0`; a string in TOML (`\"30d\"`).\n\
         - **size**: bytes, or a number and a unit `KiB`, `MiB`, `GiB`, `TiB` (binary) or `B`, \
         `KB`, `MB`, `GB`, `TB` (decimal), e.g. `1.5GiB`; in TOML a string or an integer of bytes.\n\
         - **integer**: digits, optionally grouped with underscores (`4_000_000`).\n\
         - **address**: `IP:port`, e.g. `0.0.0.0:8041` or `[::]:8041`.\n\n\
         | Key | Environment variable | Default | Description |\n|---|---|---|---|\n",
    );
    for spec in KEYS {
        let value = (spec.get)(&defaults);
        let (key, env, doc) = (spec.path(), spec.env_name(), spec.doc.replace('|', "\\|"));
        let (kind, default) = (describe(&value).0, render_raw(&value));
        let _ = writeln!(out, "| `{key}` | `{env}` | `{default}` | *{kind}*: {doc} |");
    }
    out
}

#[cfg(test)]
mod tests;
