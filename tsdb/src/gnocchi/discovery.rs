//! Guests the agent reports become Gnocchi `instance` resources, and their
//! meters the resources' metrics, the way Ceilometer's publisher fills
//! Gnocchi — without a publisher: the series are the data.
//!
//! A series of a catalogue meter of the `instance` type (no sub-resource)
//! with an `instance_id` label that is a UUID makes that instance known:
//! the resource is created when missing (attributes from the labels:
//! `display_name` or `domain`, `flavor` as flavor name and id, `host`,
//! `project_id`, `user_id`), and a metric named after the meter's
//! Ceilometer name is added when missing, with Ceilometer's archive
//! policies: `ceilometer-low-rate` for cumulative meters,
//! `ceilometer-low` for gauges. Existing resources and metrics are never
//! changed, so edits made through the API stay.

use std::collections::BTreeMap;

use altimeter_model::meters::{INSTANCE_ID, METERS, MeterKind};
use serde_json::{Map, Value, json};

use super::Gnocchi;
use super::catalog::{CatalogError, Change, Metric, Resource};
use super::series::agent_selector_for;

/// Who discovered resources and metrics are created by.
pub const CREATOR: &str = "altimeter-agent";

#[derive(Debug, Default)]
struct Guest {
    labels: BTreeMap<String, String>,
    meters: Vec<&'static altimeter_model::meters::Meter>,
}

impl Gnocchi {
    /// Scans the series index for guests and meters the catalog lacks and
    /// adds them (one catalog transaction). Returns how many resources and
    /// metrics were created. Cheap when the index has not grown.
    pub fn discover(&self) -> Result<(usize, usize), CatalogError> {
        let Some(db) = self.db.get() else {
            return Ok((0, 0));
        };
        let n = db.index().len();
        {
            let mut seen = self.discovered_at.lock();
            if *seen == n {
                return Ok((0, 0));
            }
            *seen = n;
        }
        let mut guests: BTreeMap<String, Guest> = BTreeMap::new();
        for e in db.index().all() {
            let name = e.labels.metric_name();
            let Some(meter) = METERS.iter().find(|m| {
                m.prometheus == name && m.resource_type == "instance" && m.sub_resource.is_none()
            }) else {
                continue;
            };
            let Some(id) = e
                .labels
                .get(INSTANCE_ID)
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
            else {
                continue;
            };
            let g = guests.entry(id.hyphenated().to_string()).or_default();
            for l in e.labels.iter() {
                g.labels
                    .entry(l.name.to_string())
                    .or_insert_with(|| l.value.to_string());
            }
            if !g.meters.iter().any(|m| m.ceilometer == meter.ceilometer) {
                g.meters.push(meter);
            }
        }
        let now = self.now_us();
        let created = self.catalog.update(|v| {
            let mut ch = Vec::new();
            let (mut resources, mut metrics) = (0, 0);
            for (id, g) in &guests {
                let r = match v.resource(id) {
                    Some(r) if r.type_ == "instance" => r.clone(),
                    Some(_) => continue,
                    None => {
                        let l = |k: &str| g.labels.get(k).cloned();
                        let flavor = l("flavor").unwrap_or_default();
                        let mut attrs = Map::new();
                        if let Some(t) = v.resource_type("instance") {
                            for k in t.attributes.keys() {
                                attrs.insert(k.clone(), Value::Null);
                            }
                        }
                        attrs.insert(
                            "display_name".into(),
                            json!(l("display_name").or(l("domain")).unwrap_or_default()),
                        );
                        attrs.insert("flavor_name".into(), json!(flavor));
                        attrs.insert("flavor_id".into(), json!(flavor));
                        attrs.insert("host".into(), json!(l("host")));
                        let r = Resource {
                            id: id.clone(),
                            type_: "instance".into(),
                            creator: Some(CREATOR.into()),
                            original_resource_id: id.clone(),
                            started_at: now,
                            ended_at: None,
                            revision_start: now,
                            revision_end: None,
                            revision: 1,
                            user_id: l("user_id"),
                            project_id: l("project_id"),
                            attrs,
                        };
                        ch.push(Change::PutResource(r.clone()));
                        resources += 1;
                        r
                    }
                };
                for meter in &g.meters {
                    if v.named_metric(id, meter.ceilometer).is_some() {
                        continue;
                    }
                    let policy = match meter.kind {
                        MeterKind::Cumulative => "ceilometer-low-rate",
                        MeterKind::Gauge => "ceilometer-low",
                    };
                    if v.policy(policy).is_none() {
                        continue;
                    }
                    let mid = uuid::Uuid::new_v4().hyphenated().to_string();
                    let (selector, scale) =
                        agent_selector_for(&mid, Some(meter.ceilometer), Some(&r));
                    ch.push(Change::PutMetric(Metric {
                        id: mid,
                        name: Some(meter.ceilometer.into()),
                        unit: Some(meter.ceilometer_unit.into()),
                        resource_id: Some(id.clone()),
                        archive_policy_name: policy.into(),
                        creator: Some(CREATOR.into()),
                        selector,
                        scale,
                        created_us: now,
                    }));
                    metrics += 1;
                }
            }
            Ok::<_, CatalogError>((ch, (resources, metrics)))
        })?;
        if created != (0, 0) {
            tracing::info!(
                resources = created.0,
                metrics = created.1,
                "discovered guests from agent series as Gnocchi instance resources"
            );
        }
        Ok(created)
    }
}
