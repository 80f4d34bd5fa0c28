//! `/metrics`: the latest poll of every pollster plus the agent's own
//! metrics, encoded by `prometheus-client`.
//!
//! Prometheus scrapes this the way it scrapes node-exporter; a scrape only
//! encodes the snapshot the pollsters left (it never triggers a poll), so
//! scrapes are cheap and any number of scrapers see the same values.

use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::family::{Family, Kind};

/// A pollster's name and its latest families.
type Poll = (&'static str, Arc<Vec<Family>>);

/// The latest families of each pollster.
#[derive(Debug, Default)]
pub struct Snapshot {
    polls: RwLock<Vec<Poll>>,
}

impl Snapshot {
    /// Replaces what `pollster` last produced.
    pub fn set(&self, pollster: &'static str, families: Arc<Vec<Family>>) {
        let mut p = self.polls.write().unwrap_or_else(|e| e.into_inner());
        match p.iter_mut().find(|(n, _)| *n == pollster) {
            Some(slot) => slot.1 = families,
            None => {
                p.push((pollster, families));
                p.sort_by_key(|(n, _)| *n);
            }
        }
    }

    /// The families of every pollster, in pollster-name order.
    pub fn all(&self) -> Vec<Arc<Vec<Family>>> {
        let p = self.polls.read().unwrap_or_else(|e| e.into_inner());
        p.iter().map(|(_, f)| f.clone()).collect()
    }
}

/// Registers `snapshot` with a registry: every scrape encodes it.
pub fn register(registry: &mut Registry, snapshot: Arc<Snapshot>) {
    registry.register_collector(Box::new(SnapshotCollector(snapshot)));
}

#[derive(Debug)]
struct SnapshotCollector(Arc<Snapshot>);

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for fams in self.0.all() {
            for f in fams.iter() {
                // prometheus-client appends `_total` to counters itself.
                let (name, ty) = match f.kind {
                    Kind::Counter => (
                        f.name.strip_suffix("_total").unwrap_or(&f.name),
                        MetricType::Counter,
                    ),
                    Kind::Gauge => (f.name.as_ref(), MetricType::Gauge),
                };
                let mut me = encoder.encode_descriptor(name, &f.help, None, ty)?;
                for s in &f.series {
                    let enc = me.encode_family(&s.labels)?;
                    match f.kind {
                        Kind::Counter => ConstCounter::new(s.value).encode(enc)?,
                        Kind::Gauge => ConstGauge::new(s.value).encode(enc)?,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Serves a registry: OpenMetrics when the scraper asks for it (Prometheus
/// does), the classic Prometheus text format (0.0.4) otherwise — which is
/// what `promtool check metrics`, curl and older scrapers understand.
pub fn serve(registry: &Registry, headers: &HeaderMap) -> Response {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response();
    }
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            out,
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            openmetrics_to_text(&out),
        )
            .into_response()
    }
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4: counter families are
/// named with their `_total` suffix in HELP/TYPE, `# UNIT` and `# EOF` go.
pub fn openmetrics_to_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        match rewritten {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::label;

    #[test]
    fn counters_get_total_in_help_and_type() {
        let om = "# HELP a_ops Ops.\n# TYPE a_ops counter\na_ops_total 3\n# HELP b_size Size.\n# TYPE b_size gauge\n# UNIT b_size bytes\nb_size 1\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP a_ops_total Ops.\n# TYPE a_ops_total counter\na_ops_total 3\n# HELP b_size Size.\n# TYPE b_size gauge\nb_size 1\n"
        );
    }

    #[test]
    fn snapshot_encodes_families_with_escaped_labels() {
        let snap = Arc::new(Snapshot::default());
        let mut c = Family::new("node_cpu_seconds_total", "CPU.", Kind::Counter);
        c.push(vec![label("cpu", "0"), label("mode", "idle")], 12.5);
        let mut g = Family::new("instance_power_state", "State.", Kind::Gauge);
        g.push(vec![label("display_name", "a \"b\"\\c")], 1.0);
        snap.set("host", Arc::new(vec![c]));
        snap.set("libvirt", Arc::new(vec![g]));
        let mut reg = Registry::default();
        register(&mut reg, snap.clone());
        let mut om = String::new();
        prometheus_client::encoding::text::encode(&mut om, &reg).unwrap();
        let text = openmetrics_to_text(&om);
        assert!(
            text.contains("# TYPE node_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(text.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12.5\n"));
        assert!(text.contains(r#"instance_power_state{display_name="a \"b\"\\c"} 1"#));
        // A newer poll replaces the pollster's families.
        snap.set("host", Arc::new(Vec::new()));
        let mut om = String::new();
        prometheus_client::encoding::text::encode(&mut om, &reg).unwrap();
        assert!(!om.contains("node_cpu"));
        assert!(om.contains("instance_power_state"));
    }
}
