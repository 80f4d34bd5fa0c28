//! What the evaluator needs from the rest of Altimeter: "run this PromQL at
//! time t" and "ask the Gnocchi v1 API". The binary implements it over the
//! TSDB's engine and the in-process Gnocchi router; tests implement it over
//! fixed data.

use async_trait::async_trait;
use serde_json::Value;

/// A data source for rules.
#[async_trait]
pub trait Source: Send + Sync + std::fmt::Debug {
    /// The values of the samples an instant PromQL query returns at `t_ms`
    /// (a scalar result is one value). With `scope`, every selector is first
    /// restricted to that project.
    async fn promql(&self, query: &str, scope: Option<&str>, t_ms: i64)
    -> Result<Vec<f64>, String>;

    /// One request to the Gnocchi v1 API with service (admin) credentials:
    /// `(status, JSON body)`.
    async fn gnocchi(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String>;
}

/// Gnocchi's aggregation methods (`GET /v1/capabilities`), used to validate
/// Gnocchi rules as Aodh does.
pub async fn aggregation_methods(src: &dyn Source) -> Result<Vec<String>, String> {
    let (status, body) = src.gnocchi("GET", "/v1/capabilities", None).await?;
    if status != 200 {
        return Err(format!("Gnocchi capabilities answered {status}: {body}"));
    }
    Ok(body
        .get("aggregation_methods")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}
