//! One dataset, two views: how a Gnocchi metric maps onto TSDB series.
//!
//! - A metric [discovered](super::discovery) from the agent's series of a
//!   catalogue meter (`cpu`, `memory.usage`, ...) is that meter's
//!   Prometheus series for the instance:
//!   `instance_cpu_seconds_total{instance_id="<resource>"}`, values stored
//!   in the Prometheus base unit and converted on the way out (`scale`).
//!   Measures posted to it through Gnocchi are converted on the way in,
//!   which can move a value by one unit in the last place.
//! - Any metric created through the API is the series
//!   `{__name__="<name, sanitized>", metric_id="<uuid>"}` holding exactly
//!   the values posted (a Ceilometer-style `cpu` posted in ns stays ns).
//!
//! Writes add `resource_id`, `project_id` and `user_id` of the metric's
//! resource as labels, so PromQL can select and group by them; reads
//! select on the metric's selector alone and merge every series it
//! matches (a resource whose project changed has two), last write winning
//! on equal timestamps.

use altimeter_model::meters::METERS;
use altimeter_model::{Labels, Matcher, Sample};

use super::catalog::{Metric, Resource};
use crate::db::{Tsdb, TsdbError};

/// The selector and scale of a new metric created through the API.
pub fn selector_for(id: &str, name: Option<&str>) -> (Vec<(String, String)>, f64) {
    (
        vec![
            (
                "__name__".into(),
                sanitize(name.unwrap_or("gnocchi_metric")),
            ),
            ("metric_id".into(), id.to_string()),
        ],
        1.0,
    )
}

/// The selector and scale of a metric discovered from the agent's series
/// of a catalogue meter (falls back to [`selector_for`] for other names).
pub fn agent_selector_for(
    id: &str,
    name: Option<&str>,
    resource: Option<&Resource>,
) -> (Vec<(String, String)>, f64) {
    if let (Some(n), Some(r)) = (name, resource)
        && let Some(m) = METERS
            .iter()
            .find(|m| m.ceilometer == n && m.resource_type == r.type_ && m.sub_resource.is_none())
    {
        return (
            vec![
                ("__name__".into(), m.prometheus.into()),
                ("instance_id".into(), r.id.clone()),
            ],
            m.to_ceilometer,
        );
    }
    selector_for(id, name)
}

/// A Gnocchi metric name as a valid Prometheus metric name: every
/// character outside `[a-zA-Z0-9_:]` becomes `_`, and a leading digit gets
/// a `_` in front.
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The labels Gnocchi writes to a metric use.
pub fn write_labels(m: &Metric, resource: Option<&Resource>) -> Labels {
    let mut pairs: Vec<(String, String)> = m.selector.clone();
    if let Some(r) = resource {
        pairs.push(("resource_id".into(), r.id.clone()));
        if let Some(p) = r.project_id.as_deref().filter(|p| !p.is_empty()) {
            pairs.push(("project_id".into(), p.into()));
        }
        if let Some(u) = r.user_id.as_deref().filter(|u| !u.is_empty()) {
            pairs.push(("user_id".into(), u.into()));
        }
    }
    pairs.sort();
    pairs.dedup_by(|a, b| a.0 == b.0);
    Labels::from_sorted_unchecked(
        pairs
            .into_iter()
            .map(|(k, v)| altimeter_model::Label::new(k, v))
            .collect(),
    )
}

/// The metric's raw points in `[mint, maxt]` (ms), in Gnocchi units,
/// sorted, one per timestamp.
pub async fn raw_points(
    db: &Tsdb,
    m: &Metric,
    mint: i64,
    maxt: i64,
) -> Result<Vec<(i64, f64)>, TsdbError> {
    let matchers: Vec<Matcher> = m
        .selector
        .iter()
        .map(|(k, v)| Matcher::equal(k.clone(), v.clone()))
        .collect();
    let series = db.select(&matchers, mint, maxt).await?;
    let mut out: Vec<(i64, f64)> = match series.len() {
        0 => return Ok(Vec::new()),
        1 => series[0].samples.iter().map(|s| (s.t, s.v)).collect(),
        _ => {
            let mut all: Vec<(i64, f64)> = series
                .iter()
                .flat_map(|s| s.samples.iter().map(|x| (x.t, x.v)))
                .collect();
            // Stable: later series win on equal timestamps.
            all.sort_by_key(|p| p.0);
            let mut d: Vec<(i64, f64)> = Vec::with_capacity(all.len());
            for p in all {
                match d.last_mut() {
                    Some(l) if l.0 == p.0 => *l = p,
                    _ => d.push(p),
                }
            }
            d
        }
    };
    // Staleness markers (the agent's "series ended") are not measures.
    out.retain(|p| !altimeter_model::sample::is_stale_nan(p.1));
    if m.scale != 1.0 {
        for p in &mut out {
            p.1 *= m.scale;
        }
    }
    Ok(out)
}

/// Converts Gnocchi values to stored samples.
pub fn to_samples(m: &Metric, points: &[(i64, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(t, v)| Sample::new(t, if m.scale == 1.0 { v } else { v / m.scale }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("cpu.util"), "cpu_util");
        assert_eq!(sanitize("bench-ab-1"), "bench_ab_1");
        assert_eq!(sanitize("9lives"), "_9lives");
        assert_eq!(sanitize(""), "_");
    }

    #[test]
    fn catalogue_meters_map_onto_agent_series() {
        let r = Resource {
            id: "0f1e2d3c-0000-4000-8000-000000000001".into(),
            type_: "instance".into(),
            creator: None,
            original_resource_id: String::new(),
            started_at: 0,
            ended_at: None,
            revision_start: 0,
            revision_end: None,
            revision: 0,
            user_id: Some("u".into()),
            project_id: Some("p".into()),
            attrs: Default::default(),
        };
        let (sel, scale) = agent_selector_for("m", Some("cpu"), Some(&r));
        assert_eq!(sel[0].1, "instance_cpu_seconds_total");
        assert_eq!(sel[1], ("instance_id".to_string(), r.id.clone()));
        assert_eq!(scale, 1e9);
        let (sel, scale) = agent_selector_for("m", Some("cpu.util"), Some(&r));
        assert_eq!(
            sel,
            vec![
                ("__name__".into(), "cpu_util".into()),
                ("metric_id".into(), "m".into())
            ]
        );
        assert_eq!(scale, 1.0);
        let m = Metric {
            id: "m".into(),
            name: Some("cpu.util".into()),
            unit: None,
            resource_id: Some(r.id.clone()),
            archive_policy_name: "low".into(),
            creator: None,
            selector: sel,
            scale,
            created_us: 0,
        };
        let l = write_labels(&m, Some(&r));
        assert_eq!(l.get("project_id"), Some("p"));
        assert_eq!(l.get("resource_id"), Some(r.id.as_str()));
        assert_eq!(l.metric_name(), "cpu_util");
    }
}
