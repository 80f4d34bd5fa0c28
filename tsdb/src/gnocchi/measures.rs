//! Reading a metric's aggregates the way Gnocchi answers
//! `GET /v1/metric/{id}/measures`: for each granularity of the archive
//! policy (coarsest first), bucket the raw points, apply the aggregation
//! method, keep what the policy's timespan retains, optionally resample,
//! then cut to `[start rounded down to the granularity, stop)`.

use altimeter_model::gnocchi::carbonara;
use altimeter_model::gnocchi::policy::{AggregationMethod, ArchivePolicy};
use altimeter_model::gnocchi::timefmt;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Gnocchi;
use super::catalog::Metric;
use super::http::{ApiError, ApiResult, param};
use crate::db::Tsdb;

/// The query of a measures read.
#[derive(Debug, Clone)]
pub struct Request {
    /// The aggregation method as given.
    pub aggregation: String,
    /// One granularity (ms), or all of the policy's.
    pub granularity: Option<i64>,
    /// Inclusive start (ms), rounded down per granularity.
    pub start: Option<i64>,
    /// Exclusive stop (ms).
    pub stop: Option<i64>,
    /// Read-time resampling.
    pub resample: Option<carbonara::Resample>,
}

impl Request {
    /// From `aggregation`, `granularity`, `start`, `stop`, `resample`.
    pub fn from_query(q: &[(String, String)], now_us: i64) -> ApiResult<Request> {
        let granularity_given = param(q, "granularity");
        let resample = match param(q, "resample") {
            None => None,
            Some(r) => {
                if granularity_given.is_none() {
                    return Err(ApiError::bad("A granularity must be specified to resample"));
                }
                Some(carbonara::Resample::parse(r).map_err(|e| ApiError::bad(e.to_string()))?)
            }
        };
        let time = |k: &str| -> ApiResult<Option<i64>> {
            param(q, k)
                .map(|s| {
                    timefmt::parse_timestamp_str(s, now_us)
                        .map(|us| us.div_euclid(1000))
                        .map_err(|_| ApiError::argument(k, "Must be a datetime or a timestamp"))
                })
                .transpose()
        };
        let start = time("start")?;
        let stop = time("stop")?;
        let granularity = granularity_given
            .map(|g| {
                timefmt::parse_timespan_str(g)
                    .map_err(|e| ApiError::argument("granularity", e.to_string()))
            })
            .transpose()?;
        Ok(Request {
            aggregation: param(q, "aggregation").unwrap_or("mean").to_string(),
            granularity,
            start,
            stop,
            resample,
        })
    }
}

/// Seconds as Gnocchi renders a granularity (a float).
pub fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn python_float(ms: i64) -> String {
    let s = secs(ms);
    if s.fract() == 0.0 {
        format!("{s:.1}")
    } else {
        format!("{s}")
    }
}

/// The `[[timestamp, granularity, value], …]` answer.
pub async fn measures(
    g: &Gnocchi,
    db: &Tsdb,
    m: &Metric,
    policy: &ArchivePolicy,
    req: &Request,
) -> ApiResult<Value> {
    let method: AggregationMethod = req.aggregation.parse().map_err(|_| not_in_policy(m, req))?;
    if !policy.aggregation_methods.contains(&method) {
        return Err(not_in_policy(m, req));
    }
    let mut grans: Vec<i64> = match req.granularity {
        Some(g) => vec![g],
        None => policy.definition.iter().map(|d| d.granularity).collect(),
    };
    grans.sort_unstable_by(|a, b| b.cmp(a));
    let mut items = Vec::with_capacity(grans.len());
    for g in &grans {
        let item = policy
            .definition
            .iter()
            .find(|d| d.granularity == *g)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Aggregation method '{}' at granularity '{}' for metric {} does not exist",
                    req.aggregation,
                    python_float(*g),
                    m.id
                ))
            })?;
        items.push(item);
    }
    let raw = g.raw_for_read(db, m, policy).await?;
    let mut out = Vec::new();
    for item in items {
        let s = g.rollups.series(m, item, method, &raw)?;
        let (s, g) = match req.resample {
            Some(r) => {
                let s = carbonara::resample_by(&s, r, method)
                    .map_err(|e| ApiError::bad(e.to_string()))?;
                match r {
                    carbonara::Resample::Fixed(g) => (s, Some(g)),
                    carbonara::Resample::Calendar(_) => (s, None),
                }
            }
            None => (s, Some(item.granularity)),
        };
        let shown = g.unwrap_or(item.granularity);
        for &(t, v) in carbonara::fetch(&s, g, req.start, req.stop) {
            out.push(json!([timefmt::render_timestamp_ms(t), secs(shown), v]));
        }
    }
    Ok(Value::Array(out))
}

fn not_in_policy(m: &Metric, req: &Request) -> ApiError {
    ApiError::detailed(
        StatusCode::NOT_FOUND,
        json!({
            "cause": "Aggregation method does not exist for this metric",
            "detail": {"metric": m.id, "aggregation_method": req.aggregation},
        }),
    )
}
