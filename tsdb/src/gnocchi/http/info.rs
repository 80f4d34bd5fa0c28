//! `/v1` (links), `/v1/capabilities`, `/v1/status`.

use altimeter_model::gnocchi::policy::valid_aggregation_methods;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::{ApiResult, bool_param, identity, json_response, query_pairs};

const SUB: &[&str] = &[
    "aggregates",
    "archive_policy",
    "archive_policy_rule",
    "batch",
    "capabilities",
    "metric",
    "resource",
    "resource_type",
    "search",
    "status",
];

/// `GET /v1`.
pub async fn index(h: HeaderMap) -> Response {
    let host = h
        .get(header::HOST)
        .and_then(|x| x.to_str().ok())
        .unwrap_or("localhost");
    let base = format!("http://{host}/v1");
    let mut links = vec![json!({"rel": "self", "href": base})];
    links.extend(
        SUB.iter()
            .map(|n| json!({"rel": n, "href": format!("{base}/{n}")})),
    );
    json_response(StatusCode::OK, &json!({"version": "1.0", "links": links}))
}

/// `GET /v1/capabilities`: every aggregation method archive policies accept.
pub async fn capabilities(h: HeaderMap) -> ApiResult {
    identity(&h)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"aggregation_methods": valid_aggregation_methods()}),
    ))
}

/// `GET /v1/status`: there is never a backlog — measures are aggregated
/// when read — so the summary is always zero; the processor list names
/// this server.
pub async fn status(
    State(g): State<super::State>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult {
    identity(&h)?;
    let q = query_pairs(q.as_deref());
    let details = bool_param(&q, "details", true)?;
    let metrics = g.catalog.view().metrics().count();
    let mut storage = json!({"summary": {"metrics": 0, "measures": 0}});
    if details {
        storage["measures_to_process"] = json!({});
    }
    let processor = "altimeter";
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "storage": storage,
            "metricd": {
                "processors": [processor],
                "statistics": {processor: {
                    "metrics known": metrics,
                    "processed measures": g.metrics.measures.get(),
                    "dropped measures (back window)": g.metrics.measures_dropped.get(),
                }},
            },
        }),
    ))
}
