//! Labels and label sets with Prometheus's naming rules.
//!
//! A series is identified by its [`Labels`]: a set of name/value pairs sorted
//! by name, names unique, one of them `__name__` (the metric name). A label
//! with an empty value is the same as no label at all, as in Prometheus.

use std::fmt;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
    pub name: String,
    /// The label value, any UTF-8.
    pub value: String,
}

impl Label {
    /// A label from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Why a label set is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// No `__name__` label, or an empty one.
    #[error("series has no metric name (label __name__ is missing or empty)")]
    MissingMetricName,
    /// The metric name breaks `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    /// A label name breaks `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName(String),
    /// The same name appears twice.
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    /// Names are not in ascending order.
    #[error("labels are not sorted by name: {0:?} comes after {1:?}")]
    Unsorted(String, String),
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &[u8]) -> bool {
    match name.split_first() {
        None => false,
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        }
    }
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &[u8]) -> bool {
    match name.split_first() {
        None => false,
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_' || *first == b':')
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
        }
    }
}

/// A label set sorted by name with unique names.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from pairs in any order: sorts them, drops empty
    /// values and rejects invalid or duplicate names. Does not require a
    /// metric name (see [`Labels::validate_series`]).
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Self, LabelError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .map(|(n, v)| Label::new(n, v))
            .filter(|l| !l.value.is_empty())
            .collect();
        v.sort();
        for w in v.windows(2) {
            if w[0].name == w[1].name {
                return Err(LabelError::DuplicateLabel(w[0].name.clone()));
            }
        }
        for l in &v {
            if !is_valid_label_name(l.name.as_bytes()) {
                return Err(LabelError::InvalidLabelName(l.name.clone()));
            }
        }
        Ok(Self(v))
    }

    /// Wraps labels already known to be sorted, unique and valid
    /// (for example read back from storage).
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Self(labels)
    }

    /// Checks what every stored series must satisfy: a valid metric name.
    pub fn validate_series(&self) -> Result<(), LabelError> {
        match self.get(METRIC_NAME) {
            None => Err(LabelError::MissingMetricName),
            Some(n) if !is_valid_metric_name(n.as_bytes()) => {
                Err(LabelError::InvalidMetricName(n.to_string()))
            }
            Some(_) => Ok(()),
        }
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name, or `""`.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME).unwrap_or("")
    }

    /// The labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels as a slice.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// A stable 64-bit hash of the label set (names and values, in order).
    /// Used to find a series quickly; equality is always checked after.
    pub fn stable_hash(&self) -> u64 {
        let mut h = LabelHasher::new();
        for l in &self.0 {
            h.add(l.name.as_bytes(), l.value.as_bytes());
        }
        h.finish()
    }
}

impl fmt::Display for Labels {
    /// `name{a="b", c="d"}` as Prometheus prints series.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{{", self.metric_name())?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                write!(f, ", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        write!(f, "}}")
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The hash behind [`Labels::stable_hash`], usable on borrowed bytes so
/// ingest can look a series up before allocating its labels.
///
/// FNV-1a over `name 0xff value 0xff` for each pair: stable across releases
/// and platforms (it is never persisted, but tests rely on determinism).
#[derive(Debug, Clone)]
pub struct LabelHasher(u64);

impl Default for LabelHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl LabelHasher {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A fresh hasher.
    pub fn new() -> Self {
        Self(Self::OFFSET)
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        // Eight bytes at a time, then the tail: FNV-style mixing, fast on short strings.
        let mut h = self.0;
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h ^ w).wrapping_mul(Self::PRIME).rotate_left(23);
        }
        for &c in chunks.remainder() {
            h = (h ^ u64::from(c)).wrapping_mul(Self::PRIME);
        }
        self.0 = (h ^ 0xff).wrapping_mul(Self::PRIME);
    }

    /// Adds one label.
    #[inline]
    pub fn add(&mut self, name: &[u8], value: &[u8]) {
        self.bytes(name);
        self.bytes(value);
    }

    /// The hash, finalised (avalanche mix).
    pub fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_drops_empty_and_rejects_duplicates() {
        let l =
            Labels::from_pairs([("b", "2"), ("__name__", "up"), ("a", ""), ("c", "3")]).unwrap();
        let names: Vec<_> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "b", "c"]);
        assert_eq!(l.metric_name(), "up");
        assert_eq!(l.get("c"), Some("3"));
        assert_eq!(l.get("a"), None);
        assert_eq!(
            Labels::from_pairs([("a", "1"), ("a", "2")]),
            Err(LabelError::DuplicateLabel("a".into()))
        );
        assert_eq!(
            Labels::from_pairs([("1a", "x")]),
            Err(LabelError::InvalidLabelName("1a".into()))
        );
    }

    #[test]
    fn names_follow_prometheus_rules() {
        assert!(is_valid_metric_name(b"node_cpu_seconds_total"));
        assert!(is_valid_metric_name(b":recording:rule"));
        assert!(!is_valid_metric_name(b"9lives"));
        assert!(!is_valid_metric_name(b"a-b"));
        assert!(!is_valid_metric_name(b""));
        assert!(is_valid_label_name(b"_x9"));
        assert!(!is_valid_label_name(b"a:b"));
        let no_name = Labels::from_pairs([("job", "x")]).unwrap();
        assert_eq!(
            no_name.validate_series(),
            Err(LabelError::MissingMetricName)
        );
        let bad = Labels::from_pairs([("__name__", "a.b")]).unwrap();
        assert!(matches!(
            bad.validate_series(),
            Err(LabelError::InvalidMetricName(_))
        ));
    }

    #[test]
    fn hash_depends_on_boundaries() {
        let a = Labels::from_pairs([("ab", "c")]).unwrap();
        let b = Labels::from_pairs([("a", "bc")]).unwrap();
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.stable_hash(), a.clone().stable_hash());
    }

    #[test]
    fn display_like_prometheus() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]).unwrap();
        assert_eq!(l.to_string(), r#"up{job="a\"b"}"#);
    }
}
