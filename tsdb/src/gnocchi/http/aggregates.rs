//! `POST /v1/aggregates`: Gnocchi's dynamic aggregates over metrics given
//! by id, or over the metrics of the resources a search selects, optionally
//! grouped by resource attributes.

use std::collections::BTreeMap;

use altimeter_model::gnocchi::carbonara;
use altimeter_model::gnocchi::filter;
use altimeter_model::gnocchi::ops::{self, EvalOptions, Fill, Input, InputKey};
use altimeter_model::gnocchi::policy::AggregationMethod;
use altimeter_model::gnocchi::timefmt;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::metric::{Detail, metric_json};
use super::resource::resource_json;
use super::{
    ApiError, ApiResult, Identity, bool_param, db, identity, json_body, json_text_response, param,
    params, query_pairs,
};
use crate::gnocchi::Gnocchi;
use crate::gnocchi::catalog::{Metric, Resource};

/// The handler.
pub async fn aggregates(
    State(g): State<super::State>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let who = identity(&h)?;
    let q = query_pairs(q.as_deref());
    let body = json_body(&h, &body, &["application/json"])?;
    let now = g.now_us();
    let time = |k: &str| -> ApiResult<Option<i64>> {
        param(&q, k)
            .map(|s| {
                timefmt::parse_timestamp_str(s, now)
                    .map(|us| us.div_euclid(1000))
                    .map_err(|_| ApiError::argument(k, "Must be a datetime or a timestamp"))
            })
            .transpose()
    };
    let granularity = params(&q, "granularity")
        .into_iter()
        .map(|s| {
            timefmt::parse_timespan_str(s)
                .map_err(|e| ApiError::argument("granularity", e.to_string()))
        })
        .collect::<ApiResult<Vec<i64>>>()?;
    let needed_overlap = param(&q, "needed_overlap")
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| ApiError::argument("needed_overlap", "Must be a number"))
        })
        .transpose()?;
    let fill = param(&q, "fill")
        .map(|s| Fill::parse(s).map_err(ops_error))
        .transpose()?;
    let opts = EvalOptions {
        start: time("start")?,
        stop: time("stop")?,
        granularity,
        fill,
        needed_overlap,
    }
    .with_aggregates_defaults();
    let details = bool_param(&q, "details", false)?;
    let groupby: Vec<String> = params(&q, "groupby")
        .iter()
        .map(|s| s.to_string())
        .collect();
    let o = body
        .as_object()
        .ok_or_else(|| ApiError::bad("Invalid input: expected a dictionary"))?;
    let operations = o.get("operations").ok_or_else(|| {
        ApiError::detailed(
            StatusCode::BAD_REQUEST,
            json!({"cause": "Argument value error", "reason": "required key not provided @ data['operations']", "detail": ["operations"]}),
        )
    })?;
    let op = ops::parse(operations).map_err(ops_error)?;
    let db = db(&g)?;
    let refs = ops::referenced_metrics(&op);

    let Some(rtype) = o.get("resource_type").and_then(Value::as_str) else {
        // Metrics by id.
        let (metrics, policies, refs_json) = {
            let v = g.catalog.view();
            let mut metrics: BTreeMap<String, Metric> = BTreeMap::new();
            let mut ordered: Vec<String> = Vec::new();
            let mut missing = Vec::new();
            let mut bad_agg = Vec::new();
            for (id, agg) in &refs {
                let Ok(u) = uuid::Uuid::parse_str(id) else {
                    return Err(ApiError::detailed(
                        StatusCode::BAD_REQUEST,
                        json!({"cause": "Invalid metric references",
                               "reason": format!("badly formed hexadecimal UUID string: {id}"),
                               "detail": refs.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>()}),
                    ));
                };
                let m = v
                    .metric(&u.hyphenated().to_string())
                    .filter(|m| super::metric::visible(&v, &who, m));
                match m {
                    Some(m) => {
                        if check_agg(&v, m, agg).is_err() {
                            bad_agg.push(json!([m.id, agg]));
                        }
                        if !ordered.contains(id) {
                            ordered.push(id.clone());
                        }
                        metrics.insert(id.clone(), m.clone());
                    }
                    None => {
                        if !missing.contains(&json!(id)) {
                            missing.push(json!(id));
                        }
                    }
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::detailed(
                    StatusCode::NOT_FOUND,
                    json!({"cause": "Unknown metrics", "reason": "Provided metrics don't exists", "detail": missing}),
                ));
            }
            if !bad_agg.is_empty() {
                return Err(ApiError::detailed(
                    StatusCode::NOT_FOUND,
                    json!({"cause": "Metrics with unknown aggregation", "detail": bad_agg}),
                ));
            }
            let policies: BTreeMap<String, _> = metrics
                .values()
                .filter_map(|m| {
                    v.policy(&m.archive_policy_name)
                        .map(|p| (m.id.clone(), p.clone()))
                })
                .collect();
            let refs_json: Vec<Value> = ordered
                .iter()
                .map(|id| metric_json(&v, &metrics[id], Detail::List))
                .collect();
            (metrics, policies, refs_json)
        };
        let mut raws: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for (id, m) in &metrics {
            raws.insert(id.clone(), g.raw_for_read(&db, m, &policies[&m.id]).await?);
        }
        let resolve = |id: &str, agg: &str| -> Result<Vec<Input>, ops::OpsError> {
            let m = &metrics[id];
            inputs(
                &g,
                m,
                &raws[id],
                &policies[&m.id],
                agg,
                &opts,
                InputKey::Metric { id: m.id.clone() },
            )
        };
        let out = ops::evaluate(&op, &resolve, &opts).map_err(ops_error)?;
        let refs = details.then_some(Value::Array(refs_json));
        return Ok(json_text_response(
            StatusCode::OK,
            answer_text(&out, refs.as_ref()),
        ));
    };

    // Metrics of the resources a search selects.
    let filter = match o.get("search") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(filter::parse(s).map_err(super::search::filter_error)?),
        Some(j) if j.as_object().is_some_and(Map::is_empty) => None,
        Some(j) => Some(filter::from_json(j).map_err(super::search::filter_error)?),
    };
    let resources: Vec<Resource> =
        super::search::matching_resources(&g, &who, rtype, filter.as_ref())?;
    // Group by the requested attributes.
    let mut groups: BTreeMap<String, (Map<String, Value>, Vec<Resource>)> = BTreeMap::new();
    for r in resources {
        let j = resource_json(&r, None, true, &[]);
        let mut key = Map::new();
        for k in &groupby {
            key.insert(k.clone(), j.get(k).cloned().unwrap_or(Value::Null));
        }
        groups
            .entry(Value::Object(key.clone()).to_string())
            .or_insert_with(|| (key, Vec::new()))
            .1
            .push(r);
    }
    if groups.is_empty() && groupby.is_empty() {
        groups.insert(String::new(), (Map::new(), Vec::new()));
    }
    let mut answers = Vec::new();
    for (_, (key, rs)) in groups {
        let answer = match aggregate_group(&g, &db, &who, &op, &refs, &rs, &opts, details).await {
            // Gnocchi leaves out groups none of whose resources has the metric.
            Err(e) if !groupby.is_empty() && e.status == StatusCode::NOT_FOUND => continue,
            r => r?,
        };
        if groupby.is_empty() {
            return Ok(json_text_response(StatusCode::OK, answer));
        }
        answers.push(format!(
            "{{\"group\": {}, \"measures\": {answer}}}",
            Value::Object(key)
        ));
    }
    Ok(json_text_response(
        StatusCode::OK,
        format!("[{}]", answers.join(", ")),
    ))
}

/// Aggregation → measures, in first-seen order.
type ByAgg = Vec<(String, Vec<Value>)>;

/// `{"measures": …[, "references": …]}` with the measures' keys in the
/// order the series came (references, then resources), as Gnocchi's
/// Python dicts keep them and clients print them.
fn answer_text(out: &ops::Output, references: Option<&Value>) -> String {
    let measures = match out {
        ops::Output::Aggregated(_) => ops::render(out).to_string(),
        ops::Output::Series(series) => {
            // Ordered tree: first key → second key → (aggregation → measures).
            let mut tree: Vec<(String, Vec<(String, ByAgg)>)> = Vec::new();
            fn slot<T: Default>(v: &mut Vec<(String, T)>, k: &str) -> usize {
                match v.iter().position(|(x, _)| x == k) {
                    Some(i) => i,
                    None => {
                        v.push((k.to_string(), T::default()));
                        v.len() - 1
                    }
                }
            }
            for sr in series {
                let (a, b) = match &sr.key {
                    InputKey::Metric { id } => (id.as_str(), None),
                    InputKey::Resource {
                        resource_id,
                        metric_name,
                    } => (resource_id.as_str(), Some(metric_name.as_str())),
                };
                let i = slot(&mut tree, a);
                let j = slot(&mut tree[i].1, b.unwrap_or(""));
                let k = slot(&mut tree[i].1[j].1, &sr.aggregation);
                tree[i].1[j].1[k].1.extend(sr.measures.iter().map(|m| {
                    json!([
                        timefmt::render_timestamp_ms(m.timestamp),
                        m.granularity as f64 / 1000.0,
                        serde_json::Number::from_f64(m.value).map_or(Value::Null, Value::Number),
                    ])
                }));
            }
            let by_agg = |v: &Vec<(String, Vec<Value>)>| -> String {
                let parts: Vec<String> = v
                    .iter()
                    .map(|(agg, ms)| format!("{}: {}", json!(agg), Value::Array(ms.clone())))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            };
            let parts: Vec<String> = tree
                .iter()
                .map(|(a, inner)| {
                    let body = if inner.len() == 1 && inner[0].0.is_empty() {
                        by_agg(&inner[0].1)
                    } else {
                        let ps: Vec<String> = inner
                            .iter()
                            .map(|(name, aggs)| format!("{}: {}", json!(name), by_agg(aggs)))
                            .collect();
                        format!("{{{}}}", ps.join(", "))
                    };
                    format!("{}: {body}", json!(a))
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    };
    match references {
        Some(r) => format!("{{\"measures\": {measures}, \"references\": {r}}}"),
        None => format!("{{\"measures\": {measures}}}"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn aggregate_group(
    g: &Gnocchi,
    db: &crate::Tsdb,
    _who: &Identity,
    op: &ops::Op,
    refs: &[(String, String)],
    rs: &[Resource],
    opts: &EvalOptions,
    details: bool,
) -> ApiResult<String> {
    // (resource id, metric name) → metric, for every referenced name glob.
    let data = {
        let v = g.catalog.view();
        let mut data = Vec::new();
        for r in rs {
            for (name, mid) in v.resource_metrics(&r.id) {
                if refs.iter().any(|(pat, _)| glob(pat, &name))
                    && let Some(m) = v.metric(&mid)
                {
                    let p = v.policy(&m.archive_policy_name).cloned().ok_or_else(|| {
                        ApiError::not_found(format!("Metric {} does not exist", m.id))
                    })?;
                    data.push((r.id.clone(), name, m.clone(), p));
                }
            }
        }
        data
    };
    let mut raws = Vec::new();
    for (_, _, m, p) in &data {
        raws.push(g.raw_for_read(db, m, p).await?);
    }
    let resolve = |pat: &str, agg: &str| -> Result<Vec<Input>, ops::OpsError> {
        let mut out = Vec::new();
        for ((rid, name, m, p), raw) in data.iter().zip(&raws) {
            if !glob(pat, name) {
                continue;
            }
            if agg
                .parse::<AggregationMethod>()
                .is_ok_and(|a| !p.aggregation_methods.contains(&a))
            {
                return Err(ops::OpsError::Other {
                    status: 404,
                    description: json!(format!(
                        "Aggregation method '{agg}' for metric {} does not exist",
                        m.id
                    )),
                });
            }
            out.extend(inputs(
                g,
                m,
                raw,
                p,
                agg,
                opts,
                InputKey::Resource {
                    resource_id: rid.clone(),
                    metric_name: name.clone(),
                },
            )?);
        }
        Ok(out)
    };
    let out = ops::evaluate(op, &resolve, opts).map_err(ops_error)?;
    let refs = details.then(|| {
        Value::Array(
            rs.iter()
                .map(|r| resource_json(r, None, true, &[]))
                .collect(),
        )
    });
    Ok(answer_text(&out, refs.as_ref()))
}

fn ops_error(e: ops::OpsError) -> ApiError {
    ApiError::detailed(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        e.description(),
    )
}

fn check_agg(v: &crate::gnocchi::catalog::View<'_>, m: &Metric, agg: &str) -> ApiResult<()> {
    let ok = v.policy(&m.archive_policy_name).is_some_and(|p| {
        agg.parse::<AggregationMethod>()
            .is_ok_and(|a| p.aggregation_methods.contains(&a))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Aggregation method '{agg}' for metric {} does not exist",
            m.id
        )))
    }
}

/// The aggregated series of one metric at each wanted granularity, as
/// stored (sealed rollups + head, timespan applied), sliced to
/// `[start, stop)`.
fn inputs(
    g: &Gnocchi,
    m: &Metric,
    raw: &[(i64, f64)],
    p: &altimeter_model::gnocchi::policy::ArchivePolicy,
    agg: &str,
    opts: &EvalOptions,
    key: InputKey,
) -> Result<Vec<Input>, ops::OpsError> {
    let Ok(method) = agg.parse::<AggregationMethod>() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in &p.definition {
        if !opts.granularity.is_empty() && !opts.granularity.contains(&item.granularity) {
            continue;
        }
        let s = g.rollups.series(m, item, method, raw).map_err(|e| {
            tracing::error!(error = %e, "reading Gnocchi rollups");
            ops::OpsError::Other {
                status: 500,
                description: json!("The rollup store failed; see the server log."),
            }
        })?;
        let s = carbonara::fetch(&s, Some(item.granularity), opts.start, opts.stop).to_vec();
        out.push(Input {
            key: key.clone(),
            aggregation: agg.to_string(),
            granularity: item.granularity,
            points: s,
        });
    }
    Ok(out)
}

/// fnmatch-style `*`, `?` matching for metric name patterns.
fn glob(pat: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => rec(&p[1..], n) || (!n.is_empty() && rec(p, &n[1..])),
            (Some('?'), Some(_)) => rec(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => rec(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}
