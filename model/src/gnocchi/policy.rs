//! Gnocchi archive policies, aggregation methods and archive policy rules.
//!
//! Sources (Gnocchi 4.7): `gnocchi/archive_policy.py` (`ArchivePolicy`,
//! `ArchivePolicyItem`, `DEFAULT_ARCHIVE_POLICIES`), `gnocchi/rest/api.py`
//! (`ArchivePolicySchema`, `ArchivePolicyController.patch`,
//! `ArchivePolicyRulesController`, `CapabilityController`),
//! `gnocchi/indexer/sqlalchemy.py` (`update_archive_policy`,
//! `list_archive_policy_rules`), `gnocchi/indexer/__init__.py`
//! (`get_archive_policy_for_metric`), `gnocchi/cli/manage.py` (`upgrade`)
//! and Ceilometer's `publisher/data/gnocchi_resources.yaml`.
//!
//! Granularities and timespans are milliseconds. Gnocchi keeps nanoseconds:
//! a granularity that is not a whole number of milliseconds (only possible
//! with `points` + `timespan` that do not divide, e.g. 7 points over 1 h) is
//! truncated to the millisecond here, and `timespan = granularity × points`
//! is recomputed from that, so such a policy prints e.g. `0:08:34.285000`
//! where Gnocchi prints `0:08:34.285714`.
//!
//! Error texts are Gnocchi's: voluptuous schema errors become
//! [`PolicyError::Invalid`] (`{"cause": "Invalid input", "reason": …,
//! "detail": [path…]}`), `ValueError`s a plain string. When a body has
//! several errors, the first in key order (keys sorted, as `serde_json`
//! maps are) is reported, missing required keys last — voluptuous reports
//! the first in the document's key order.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

pub use super::timefmt::fnmatch;
use super::timefmt::{self, render_timedelta};

use crate::pyfmt::str_repr as py_repr;

/// Why an archive policy (rule) request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A voluptuous schema error: `reason` is `str(Invalid)` (e.g.
    /// `expected int for dictionary value @ data['back_window']`), `path`
    /// its `detail` list.
    #[error("{reason}")]
    Invalid {
        /// voluptuous' message with its ` @ data[...]` suffix.
        reason: String,
        /// The path, each element as `str()` (list indexes as digits).
        path: Vec<String>,
    },
    /// A `ValueError` from the archive policy model (Gnocchi answers 400
    /// with this string as `description`).
    #[error("{0}")]
    Value(String),
    /// `indexer.UnsupportedArchivePolicyChange` (PATCH; 400).
    #[error("Archive policy {name} does not support change: {message}")]
    UnsupportedChange {
        /// The policy's name.
        name: String,
        /// What was refused.
        message: String,
    },
    /// Not a valid aggregation method name.
    #[error("Unknown aggregation method `{0}'")]
    UnknownAggregationMethod(String),
}

impl PolicyError {
    /// The `description` of Gnocchi's 400 error body for this error.
    #[must_use]
    pub fn description(&self) -> Value {
        match self {
            PolicyError::Invalid { reason, path } => json!({
                "cause": "Invalid input",
                "reason": reason,
                "detail": path,
            }),
            other => Value::String(other.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------
// aggregation methods

/// A per-bucket aggregation (`GroupedTimeSeries` methods in
/// `carbonara.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aggregation {
    /// Arithmetic mean.
    Mean,
    /// Sum.
    Sum,
    /// Value with the latest timestamp.
    Last,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
    /// Sample standard deviation (n − 1); buckets of one point are omitted.
    Std,
    /// Median.
    Median,
    /// Value with the earliest timestamp.
    First,
    /// Number of points.
    Count,
    /// `Npct`, N in 1..=99: linearly interpolated percentile.
    Percentile(u8),
}

const BASE_NAMES: [(&str, Aggregation); 9] = [
    ("mean", Aggregation::Mean),
    ("sum", Aggregation::Sum),
    ("last", Aggregation::Last),
    ("max", Aggregation::Max),
    ("min", Aggregation::Min),
    ("std", Aggregation::Std),
    ("median", Aggregation::Median),
    ("first", Aggregation::First),
    ("count", Aggregation::Count),
];

impl FromStr for Aggregation {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((_, a)) = BASE_NAMES.iter().find(|(n, _)| *n == s) {
            return Ok(*a);
        }
        let unknown = || PolicyError::UnknownAggregationMethod(s.to_owned());
        let n = s.strip_suffix("pct").ok_or_else(unknown)?;
        let valid = matches!(n.len(), 1 | 2)
            && n.bytes().all(|c| c.is_ascii_digit())
            && !n.starts_with('0');
        if !valid {
            return Err(unknown());
        }
        n.parse()
            .map(Aggregation::Percentile)
            .map_err(|_| unknown())
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Percentile(n) => write!(f, "{n}pct"),
            other => {
                let name = BASE_NAMES
                    .iter()
                    .find(|(_, a)| a == other)
                    .map_or("", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

/// An archive policy aggregation method: `mean`, `95pct`, `rate:mean`…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregationMethod {
    /// `rate:` — aggregate the differences between consecutive raw points.
    pub rate: bool,
    /// The per-bucket aggregation.
    pub base: Aggregation,
}

impl AggregationMethod {
    /// A plain (non-rate) method.
    #[must_use]
    pub const fn plain(base: Aggregation) -> Self {
        Self { rate: false, base }
    }

    /// A `rate:` method.
    #[must_use]
    pub const fn rate(base: Aggregation) -> Self {
        Self { rate: true, base }
    }
}

impl FromStr for AggregationMethod {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rate, base) = match s.strip_prefix("rate:") {
            Some(b) => (true, b),
            None => (false, s),
        };
        let base = base
            .parse()
            .map_err(|_| PolicyError::UnknownAggregationMethod(s.to_owned()))?;
        Ok(Self { rate, base })
    }
}

impl fmt::Display for AggregationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rate {
            f.write_str("rate:")?;
        }
        self.base.fmt(f)
    }
}

impl Serialize for AggregationMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AggregationMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every valid aggregation method (`ArchivePolicy.VALID_AGGREGATION_METHODS`:
/// the 9 base methods and `1pct`…`99pct`, each also as `rate:`), 216
/// entries — what `GET /v1/capabilities` returns as `aggregation_methods`.
/// Gnocchi returns a Python `set`, whose order depends on the process'
/// string-hash seed (it changes between Gnocchi workers and restarts); this
/// list is sorted by name instead.
#[must_use]
pub fn valid_aggregation_methods() -> Vec<String> {
    let mut all: Vec<String> = all_methods().iter().map(ToString::to_string).collect();
    all.sort();
    all
}

fn all_methods() -> Vec<AggregationMethod> {
    let bases = BASE_NAMES
        .iter()
        .map(|(_, a)| *a)
        .chain((1..=99).map(Aggregation::Percentile));
    bases
        .flat_map(|b| [AggregationMethod::plain(b), AggregationMethod::rate(b)])
        .collect()
}

/// `[archive_policy]default_aggregation_methods` (Gnocchi's default
/// configuration): used when a created policy names no methods.
pub const DEFAULT_AGGREGATION_METHODS: &[&str] = &["mean", "min", "max", "sum", "std", "count"];

fn default_methods() -> Vec<AggregationMethod> {
    DEFAULT_AGGREGATION_METHODS
        .iter()
        .filter_map(|m| m.parse().ok())
        .collect()
}

/// Sorts methods by name and removes duplicates (the order Altimeter
/// stores and prints them in).
fn normalize_methods(
    methods: impl IntoIterator<Item = AggregationMethod>,
) -> Vec<AggregationMethod> {
    let set: BTreeSet<(String, AggregationMethod)> =
        methods.into_iter().map(|m| (m.to_string(), m)).collect();
    set.into_iter().map(|(_, m)| m).collect()
}

// ---------------------------------------------------------------------------
// voluptuous-style validation helpers

#[derive(Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `voluptuous.Invalid`: `msg[ for dictionary value][ @ data[...]]`.
fn invalid(msg: &str, path: &[Seg], dict_value: bool) -> PolicyError {
    let mut reason = msg.to_owned();
    if dict_value {
        reason.push_str(" for dictionary value");
    }
    if !path.is_empty() {
        let segs: Vec<String> = path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => py_repr(k),
                Seg::Index(i) => i.to_string(),
            })
            .collect();
        reason.push_str(&format!(" @ data[{}]", segs.join("][")));
    }
    let path = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    PolicyError::Invalid { reason, path }
}

fn missing(key: &str) -> PolicyError {
    invalid(
        "required key not provided",
        &[Seg::Key(key.to_owned())],
        false,
    )
}

fn with(path: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

fn expect_object<'a>(v: &'a Value, path: &[Seg]) -> Result<&'a Map<String, Value>, PolicyError> {
    v.as_object()
        .ok_or_else(|| invalid("expected a dictionary", path, false))
}

fn expect_str<'a>(v: &'a Value, path: &[Seg]) -> Result<&'a str, PolicyError> {
    v.as_str()
        .ok_or_else(|| invalid("expected str", path, true))
}

/// voluptuous `All(Coerce(int), Range(min=min))` on a dictionary value.
fn coerce_int_min(v: &Value, min: i128, path: &[Seg]) -> Result<u64, PolicyError> {
    let n: Option<i128> = match v {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| {
            n.as_u64().map(i128::from).or_else(|| {
                // int(float) truncates toward zero.
                #[allow(clippy::cast_possible_truncation)]
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e38)
                    .map(|f| f.trunc() as i128)
            })
        }),
        Value::String(s) => timefmt::python_int_str(s),
        _ => None,
    };
    let n = n.ok_or_else(|| invalid("expected int", path, true))?;
    if n < min {
        return Err(invalid(
            &format!("value must be at least {min}"),
            path,
            true,
        ));
    }
    u64::try_from(n).map_err(|_| invalid("expected int", path, true))
}

/// The `Timespan` validator (`utils.to_timespan` in a voluptuous wrapper).
fn timespan_value(v: &Value, path: &[Seg]) -> Result<i64, PolicyError> {
    timefmt::parse_timespan(v).map_err(|e| invalid(&e.to_string(), path, true))
}

/// Python's `repr(float)` of a number of seconds given in milliseconds.
fn seconds_repr(ms: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    if s.fract() == 0.0 && s.abs() < 1e16 {
        format!("{s:.1}")
    } else {
        format!("{s}")
    }
}

// ---------------------------------------------------------------------------
// policy items

/// One line of an archive policy definition (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyItem {
    /// Bucket width, ms (> 0).
    pub granularity: i64,
    /// Points kept; `None` = unbounded (granularity given alone).
    pub points: Option<u64>,
    /// Retention, ms (`granularity × points`); `None` = unbounded.
    pub timespan: Option<i64>,
}

impl PolicyItem {
    /// `ArchivePolicyItem(granularity, points, timespan)` in milliseconds.
    ///
    /// # Errors
    /// [`PolicyError::Value`] with Gnocchi's messages.
    pub fn new(
        granularity: Option<i64>,
        points: Option<u64>,
        timespan: Option<i64>,
    ) -> Result<Self, PolicyError> {
        let err = |m: &str| Err(PolicyError::Value(m.to_owned()));
        if let (Some(g), Some(p), Some(t)) = (granularity, points, timespan)
            && i128::from(g) * i128::from(p) != i128::from(t)
        {
            return err("timespan ≠ granularity × points");
        }
        if granularity.is_some_and(|g| g <= 0) {
            return err("Granularity should be > 0");
        }
        if points == Some(0) {
            return err("Number of points should be > 0");
        }
        let granularity = match (granularity, points, timespan) {
            (Some(g), _, _) => g,
            (None, Some(p), Some(t)) => {
                // numpy `timedelta64 / float`: truncated.
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                let g = (t as f64 / p as f64) as i64;
                if g <= 0 {
                    return err("Granularity should be > 0");
                }
                g
            }
            _ => return err("At least two of granularity/points/timespan must be provided"),
        };
        let (points, timespan) = match (points, timespan) {
            (None, None) => (None, None),
            (None, Some(t)) => {
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                let p = (t as f64 / granularity as f64) as i64;
                if p <= 0 {
                    return err("Calculated number of points is < 0");
                }
                let p = p.unsigned_abs();
                (Some(p), Some(mul(granularity, p)?))
            }
            (Some(p), _) => (Some(p), Some(mul(granularity, p)?)),
        };
        Ok(Self {
            granularity,
            points,
            timespan,
        })
    }

    /// Gnocchi's `ArchivePolicyItem.jsonify()`: `str(timedelta)` strings.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "granularity": render_timedelta(self.granularity),
            "points": self.points,
            "timespan": self.timespan.map(render_timedelta),
        })
    }
}

fn mul(g: i64, p: u64) -> Result<i64, PolicyError> {
    i64::try_from(p)
        .ok()
        .and_then(|p| g.checked_mul(p))
        .ok_or_else(|| PolicyError::Value("Timespan too large".to_owned()))
}

/// A definition line as given: (granularity, points, timespan).
type RawItem = (Option<i64>, Option<u64>, Option<i64>);

/// `definition`, validated like `ArchivePolicyDefinitionSchema`.
fn parse_definition(v: &Value, path: &[Seg]) -> Result<Vec<RawItem>, PolicyError> {
    let list = v
        .as_array()
        .ok_or_else(|| invalid("expected a list", path, true))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let ipath = with(path, Seg::Index(i));
        let obj = expect_object(item, &ipath)?;
        let (mut g, mut p, mut t) = (None, None, None);
        for (k, v) in obj {
            let kpath = with(&ipath, Seg::Key(k.clone()));
            match k.as_str() {
                "granularity" => g = Some(timespan_value(v, &kpath)?),
                "timespan" => t = Some(timespan_value(v, &kpath)?),
                "points" => p = Some(coerce_int_min(v, 1, &kpath)?),
                _ => return Err(invalid("extra keys not allowed", &kpath, false)),
            }
        }
        out.push((g, p, t));
    }
    if out.is_empty() {
        return Err(invalid("length of value must be at least 1", path, true));
    }
    Ok(out)
}

fn build_items(raw: Vec<RawItem>) -> Result<Vec<PolicyItem>, PolicyError> {
    raw.into_iter()
        .map(|(g, p, t)| PolicyItem::new(g, p, t))
        .collect()
}

// ---------------------------------------------------------------------------
// archive policies

/// An archive policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivePolicy {
    /// Name (the primary key).
    pub name: String,
    /// How many blocks of the largest granularity before the newest raw
    /// point late measures may still land in.
    pub back_window: u64,
    /// Definition lines, in the order they were given.
    pub definition: Vec<PolicyItem>,
    /// Methods, sorted by name, without duplicates.
    pub aggregation_methods: Vec<AggregationMethod>,
}

impl ArchivePolicy {
    /// Validates a `POST /v1/archive_policy` body like Gnocchi, with the
    /// default `default_aggregation_methods`.
    ///
    /// `aggregation_methods`: an explicit list, `+m`/`-m` deltas applied to
    /// the defaults (when every entry is a delta; `[]` = defaults), `*` =
    /// every method (deltas then apply to it). Deviation: Gnocchi keeps the
    /// literal `+m` string in the set when deltas are mixed with plain names
    /// (`["mean", "+max"]` → `+max, max, mean`) and applies deltas in set
    /// order; here deltas are applied in list order and never kept.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`] for schema errors, [`PolicyError::Value`]
    /// for `ArchivePolicyItem`/duplicate granularity errors.
    pub fn from_request(body: &Value) -> Result<ArchivePolicy, PolicyError> {
        Self::from_request_with_defaults(body, &default_methods())
    }

    /// [`ArchivePolicy::from_request`] with configured default methods.
    ///
    /// # Errors
    /// As [`ArchivePolicy::from_request`].
    pub fn from_request_with_defaults(
        body: &Value,
        defaults: &[AggregationMethod],
    ) -> Result<ArchivePolicy, PolicyError> {
        let obj = expect_object(body, &[])?;
        let (mut name, mut back_window, mut methods, mut definition) = (None, 0, None, None);
        for (k, v) in obj {
            let path = [Seg::Key(k.clone())];
            match k.as_str() {
                "name" => name = Some(expect_str(v, &path)?.to_owned()),
                "back_window" => back_window = coerce_int_min(v, 0, &path)?,
                "aggregation_methods" => methods = Some(parse_method_entries(v, &path)?),
                "definition" => definition = Some(parse_definition(v, &path)?),
                _ => return Err(invalid("extra keys not allowed", &path, false)),
            }
        }
        let definition = definition.ok_or_else(|| missing("definition"))?;
        let name = name.ok_or_else(|| missing("name"))?;
        let definition = build_items(definition)?;
        let mut seen = Vec::new();
        let mut dup = None;
        for g in definition.iter().map(|d| d.granularity) {
            if seen.contains(&g) {
                dup = dup.or(Some(g));
            } else {
                seen.push(g);
            }
        }
        if let Some(g) = dup {
            return Err(PolicyError::Value(format!(
                "More than one archive policy uses granularity `{}'",
                seconds_repr(g)
            )));
        }
        let aggregation_methods = expand_methods(&methods.unwrap_or_default(), defaults);
        Ok(ArchivePolicy {
            name,
            back_window,
            definition,
            aggregation_methods,
        })
    }

    /// Gnocchi's JSON for an archive policy (`GET /v1/archive_policy/{name}`
    /// and embedded in metrics). Gnocchi prints `aggregation_methods` in
    /// Python set order, which varies between processes; they are sorted by
    /// name here.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let methods = normalize_methods(self.aggregation_methods.iter().copied());
        json!({
            "name": self.name,
            "back_window": self.back_window,
            "definition": self.definition.iter().map(PolicyItem::to_json).collect::<Vec<_>>(),
            "aggregation_methods": methods.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }

    /// Applies a `PATCH /v1/archive_policy/{name}` body: `definition`
    /// (required) may only change points/timespan of the existing
    /// granularities; `back_window` (optional, ≥ 0). The new definition
    /// replaces the old one in the order given. Lowering `back_window`
    /// makes Gnocchi mark the policy's metrics for raw truncation.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`], [`PolicyError::Value`],
    /// [`PolicyError::UnsupportedChange`] (`Cannot add or drop
    /// granularities`, `300.0 granularity interval was changed`).
    pub fn apply_update(&mut self, body: &Value) -> Result<(), PolicyError> {
        let obj = expect_object(body, &[])?;
        let (mut definition, mut back_window) = (None, None);
        for (k, v) in obj {
            let path = [Seg::Key(k.clone())];
            match k.as_str() {
                "definition" => definition = Some(parse_definition(v, &path)?),
                "back_window" => back_window = Some(coerce_int_min(v, 0, &path)?),
                _ => return Err(invalid("extra keys not allowed", &path, false)),
            }
        }
        let definition = definition.ok_or_else(|| missing("definition"))?;
        let items = build_items(definition)?;
        let unsupported = |message: String| PolicyError::UnsupportedChange {
            name: self.name.clone(),
            message,
        };
        if items.len() != self.definition.len() {
            return Err(unsupported("Cannot add or drop granularities".to_owned()));
        }
        let mut current: Vec<i64> = self.definition.iter().map(|d| d.granularity).collect();
        let mut new: Vec<i64> = items.iter().map(|d| d.granularity).collect();
        current.sort_unstable();
        new.sort_unstable();
        if let Some((c, _)) = current.iter().zip(&new).find(|(c, n)| c != n) {
            return Err(unsupported(format!(
                "{} granularity interval was changed",
                seconds_repr(*c)
            )));
        }
        self.definition = items;
        if let Some(bw) = back_window {
            self.back_window = bw;
        }
        Ok(())
    }

    /// The largest granularity (`max_block_size`): the raw buffer's block.
    #[must_use]
    pub fn max_block_size(&self) -> i64 {
        self.definition
            .iter()
            .map(|d| d.granularity)
            .max()
            .unwrap_or(0)
    }

    /// Whether any method is a `rate:` one (the raw buffer then keeps one
    /// more block, see `carbonara::raw_cutoff`).
    #[must_use]
    pub fn has_rate(&self) -> bool {
        self.aggregation_methods.iter().any(|m| m.rate)
    }

    /// Whether the policy computes `method`.
    #[must_use]
    pub fn has_method(&self, method: AggregationMethod) -> bool {
        self.aggregation_methods.contains(&method)
    }

    /// The definition line of `granularity`, if any.
    #[must_use]
    pub fn item(&self, granularity: i64) -> Option<&PolicyItem> {
        self.definition
            .iter()
            .find(|d| d.granularity == granularity)
    }

    /// Definition lines by granularity, coarsest first (the order Gnocchi
    /// returns measures in).
    #[must_use]
    pub fn items_coarsest_first(&self) -> Vec<PolicyItem> {
        let mut v = self.definition.clone();
        v.sort_by_key(|d| std::cmp::Reverse(d.granularity));
        v
    }
}

/// Validates `aggregation_methods` (a list of valid values).
fn parse_method_entries(v: &Value, path: &[Seg]) -> Result<Vec<String>, PolicyError> {
    let list = v
        .as_array()
        .ok_or_else(|| invalid("expected a list", path, true))?;
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            let s = e.as_str().filter(|s| {
                *s == "*"
                    || s.strip_prefix(['+', '-'])
                        .unwrap_or(s)
                        .parse::<AggregationMethod>()
                        .is_ok()
            });
            s.map(str::to_owned)
                .ok_or_else(|| invalid("not a valid value", &with(path, Seg::Index(i)), false))
        })
        .collect()
}

/// `ArchivePolicy.aggregation_methods` (the property) on validated entries.
fn expand_methods(entries: &[String], defaults: &[AggregationMethod]) -> Vec<AggregationMethod> {
    let is_delta = |e: &String| e.starts_with('+') || e.starts_with('-');
    let mut set: Vec<AggregationMethod> = if entries.iter().any(|e| e == "*") {
        all_methods()
    } else if entries.iter().all(is_delta) {
        defaults.to_vec()
    } else {
        entries
            .iter()
            .filter(|e| !is_delta(e) && *e != "*")
            .filter_map(|e| e.parse().ok())
            .collect()
    };
    for e in entries {
        if let Some(m) = e.strip_prefix('-').and_then(|m| m.parse().ok()) {
            set.retain(|x| *x != m);
        } else if let Some(m) = e.strip_prefix('+').and_then(|m| m.parse().ok()) {
            set.push(m);
        }
    }
    normalize_methods(set)
}

fn builtin(name: &str, back_window: u64, items: &[(i64, i64)], methods: &[&str]) -> ArchivePolicy {
    ArchivePolicy {
        name: name.to_owned(),
        back_window,
        definition: items
            .iter()
            .map(|&(g, t)| PolicyItem {
                granularity: g,
                points: Some(t.unsigned_abs() / g.unsigned_abs()),
                timespan: Some(t),
            })
            .collect(),
        aggregation_methods: normalize_methods(methods.iter().filter_map(|m| m.parse().ok())),
    }
}

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// The policies `gnocchi-upgrade` creates (`DEFAULT_ARCHIVE_POLICIES`):
/// `bool` (1 s × 365 d, `last`, back_window 3600), `low` (5 min × 30 d),
/// `medium` (1 min × 7 d, 1 h × 365 d), `high` (1 s × 1 h, 1 min × 7 d,
/// 1 h × 365 d); the last three with the default methods.
#[must_use]
pub fn gnocchi_upgrade_policies() -> Vec<ArchivePolicy> {
    let d = DEFAULT_AGGREGATION_METHODS;
    vec![
        builtin("bool", 3600, &[(SEC, 365 * DAY)], &["last"]),
        builtin("low", 0, &[(5 * MIN, 30 * DAY)], d),
        builtin("medium", 0, &[(MIN, 7 * DAY), (HOUR, 365 * DAY)], d),
        builtin(
            "high",
            0,
            &[(SEC, HOUR), (MIN, 7 * DAY), (HOUR, 365 * DAY)],
            d,
        ),
    ]
}

/// The policies Ceilometer's Gnocchi publisher creates through the API on
/// first use (`gnocchi_resources.yaml`): `ceilometer-low` (5 min × 30 d,
/// `mean`), `ceilometer-low-rate` (same, `mean`, `rate:mean`),
/// `ceilometer-high` (1 s × 1 h, 1 min × 1 d, 1 h × 365 d, `mean`),
/// `ceilometer-high-rate` (same, `mean`, `rate:mean`).
#[must_use]
pub fn ceilometer_policies() -> Vec<ArchivePolicy> {
    let high = [(SEC, HOUR), (MIN, DAY), (HOUR, 365 * DAY)];
    vec![
        builtin("ceilometer-low", 0, &[(5 * MIN, 30 * DAY)], &["mean"]),
        builtin(
            "ceilometer-low-rate",
            0,
            &[(5 * MIN, 30 * DAY)],
            &["mean", "rate:mean"],
        ),
        builtin("ceilometer-high", 0, &high, &["mean"]),
        builtin("ceilometer-high-rate", 0, &high, &["mean", "rate:mean"]),
    ]
}

/// [`gnocchi_upgrade_policies`] then [`ceilometer_policies`]. A real
/// Gnocchi has the Ceilometer ones only once Ceilometer has published.
#[must_use]
pub fn builtin_policies() -> Vec<ArchivePolicy> {
    let mut v = gnocchi_upgrade_policies();
    v.extend(ceilometer_policies());
    v
}

// ---------------------------------------------------------------------------
// archive policy rules

/// An archive policy rule: metrics created without a policy get the one of
/// the first rule whose pattern matches their name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArchivePolicyRule {
    /// Name (the primary key).
    pub name: String,
    /// An `fnmatch` pattern on metric names.
    pub metric_pattern: String,
    /// The policy given to matching metrics.
    pub archive_policy_name: String,
}

impl ArchivePolicyRule {
    /// Gnocchi's JSON for a rule.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "metric_pattern": self.metric_pattern,
            "archive_policy_name": self.archive_policy_name,
        })
    }

    /// Validates a `POST /v1/archive_policy_rule` body (`name`,
    /// `metric_pattern`, `archive_policy_name`, all strings, nothing else).
    /// Whether the policy exists is the caller's check (Gnocchi: 400
    /// `Archive policy X does not exist`).
    ///
    /// # Errors
    /// [`PolicyError::Invalid`].
    pub fn from_request(body: &Value) -> Result<Self, PolicyError> {
        let [archive_policy_name, metric_pattern, name] =
            str_fields(body, ["archive_policy_name", "metric_pattern", "name"])?;
        Ok(Self {
            name,
            metric_pattern,
            archive_policy_name,
        })
    }

    /// Validates a `PATCH /v1/archive_policy_rule/{name}` body (`{"name":
    /// new}`, rename only) and returns the new name.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`].
    pub fn rename_request(body: &Value) -> Result<String, PolicyError> {
        let [name] = str_fields(body, ["name"])?;
        Ok(name)
    }

    /// Python's `fnmatch.fnmatch(metric_name, pattern)` on POSIX
    /// (case-sensitive; `*`, `?`, `[seq]`, `[!seq]`, no escaping).
    #[must_use]
    pub fn matches(&self, metric_name: &str) -> bool {
        fnmatch(metric_name, &self.metric_pattern)
    }
}

/// A schema of required string keys only; `keys` sorted.
fn str_fields<const N: usize>(body: &Value, keys: [&str; N]) -> Result<[String; N], PolicyError> {
    let obj = expect_object(body, &[])?;
    let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
    for (k, v) in obj {
        let path = [Seg::Key(k.clone())];
        let Some(i) = keys.iter().position(|x| x == k) else {
            return Err(invalid("extra keys not allowed", &path, false));
        };
        out[i] = Some(expect_str(v, &path)?.to_owned());
    }
    let mut absent = None;
    let out = std::array::from_fn(|i| {
        out[i].take().unwrap_or_else(|| {
            absent = absent.or(Some(i));
            String::new()
        })
    });
    match absent {
        Some(i) => Err(missing(keys[i])),
        None => Ok(out),
    }
}

fn rule_order(a: &ArchivePolicyRule, b: &ArchivePolicyRule) -> std::cmp::Ordering {
    b.metric_pattern
        .cmp(&a.metric_pattern)
        .then_with(|| a.name.cmp(&b.name))
}

/// Sorts rules like `list_archive_policy_rules`: `metric_pattern`
/// descending, then `name` ascending (code-point order; the database's
/// collation may differ for non-ASCII or mixed case).
pub fn sort_rules(rules: &mut [ArchivePolicyRule]) {
    rules.sort_by(rule_order);
}

/// The rule Gnocchi applies to a new metric (`get_archive_policy_for_metric`):
/// the first match in [`sort_rules`] order. So the pattern that sorts last
/// wins, usually but not always the most specific one: `disk.*` beats `*`
/// and `d*`, but `d*` also beats `?isk.read.bytes` (`*` and `?` sort before
/// letters). Pass `""` for a metric without a name.
#[must_use]
pub fn pick_rule<'a>(
    rules: &'a [ArchivePolicyRule],
    metric_name: &str,
) -> Option<&'a ArchivePolicyRule> {
    let mut sorted: Vec<&ArchivePolicyRule> = rules.iter().collect();
    sorted.sort_by(|a, b| rule_order(a, b));
    sorted.into_iter().find(|r| r.matches(metric_name))
}

/// The rule `gnocchi-upgrade` creates: `default`, `*` → `low`.
#[must_use]
pub fn builtin_rules() -> Vec<ArchivePolicyRule> {
    vec![ArchivePolicyRule {
        name: "default".to_owned(),
        metric_pattern: "*".to_owned(),
        archive_policy_name: "low".to_owned(),
    }]
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
