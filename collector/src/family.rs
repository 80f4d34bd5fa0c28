//! What a pollster produces: metric families, each a name, help, type and
//! its series (labels + one value) as of one poll.

use std::borrow::Cow;

/// Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic total; the name ends in `_total`.
    Counter,
    /// A level.
    Gauge,
}

/// A label name and value. Names are almost always static.
pub type LabelPair = (Cow<'static, str>, String);

/// One series of a family: its labels (without `__name__`) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label pairs, in any order, names unique.
    pub labels: Vec<LabelPair>,
    /// The value, in the family's base unit.
    pub value: f64,
}

/// A metric family as of one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Full sample name (`node_cpu_seconds_total`): counters end in `_total`.
    pub name: Cow<'static, str>,
    /// One-line help text.
    pub help: Cow<'static, str>,
    /// Counter or gauge.
    pub kind: Kind,
    /// The series.
    pub series: Vec<Series>,
}

impl Family {
    /// An empty family.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: Kind,
    ) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            series: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn push(&mut self, labels: Vec<LabelPair>, value: f64) {
        self.series.push(Series { labels, value });
    }
}

/// Shorthand for a label pair with a static name.
pub fn label(name: &'static str, value: impl Into<String>) -> LabelPair {
    (Cow::Borrowed(name), value.into())
}

/// A source of families, polled on the agent's interval from a blocking
/// thread. A pollster keeps whatever state it needs between polls (open
/// handles, previous counters).
pub trait Pollster: Send {
    /// Short name for logs and self-metrics (`libvirt`, `cgroup`, `host`).
    fn name(&self) -> &'static str;
    /// Appends this poll's families to `out`. An error fails this pollster's
    /// poll only; the agent logs it, counts it and tries again next time.
    fn poll(&mut self, out: &mut Vec<Family>) -> anyhow::Result<()>;
}
