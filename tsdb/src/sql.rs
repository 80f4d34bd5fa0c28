//! SQL over the TSDB with DataFusion.
//!
//! Tables:
//! - `samples(series_id UInt64, timestamp Timestamp(ms), value Float64)` — every
//!   sample, exactly as the read API sees them (head and blocks merged, no
//!   duplicates), streamed series by series;
//! - `series(series_id, metric, labels)` — labels as a JSON object string;
//! - `labels(series_id, name, value)` — one row per label.
//!
//! `samples` is scanned in full (no predicate pushdown yet): join it with
//! `series`/`labels` to select by name.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::db::Tsdb;
use crate::index::SeriesId;

/// Series read per batch of the `samples` table.
const SERIES_PER_BATCH: usize = 512;

/// A SQL failure; `Plan` errors are the user's (HTTP 400), others 422.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// Bad SQL or unknown table/column.
    #[error("{0}")]
    Plan(String),
    /// Failure while running.
    #[error("{0}")]
    Execution(String),
}

/// A SQL answer.
#[derive(Debug, serde::Serialize)]
pub struct SqlResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of JSON values.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Set when rows beyond `max_rows` were cut off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

fn samples_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("value", DataType::Float64, false),
    ]))
}

#[derive(Debug)]
struct SamplesPartition {
    db: Arc<Tsdb>,
    schema: SchemaRef,
}

impl PartitionStream for SamplesPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let ids: Vec<SeriesId> = self.db.index().select(&[]);
        let chunks: Vec<Vec<SeriesId>> = ids
            .chunks(SERIES_PER_BATCH)
            .map(<[SeriesId]>::to_vec)
            .collect();
        let db = self.db.clone();
        let schema = self.schema.clone();
        let s2 = schema.clone();
        let stream = futures::stream::iter(chunks).then(move |chunk| {
            let db = db.clone();
            let schema = s2.clone();
            async move {
                let data = db
                    .select_ids(&chunk, i64::MIN, i64::MAX)
                    .await
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                let n: usize = data.iter().map(|s| s.samples.len()).sum();
                let (mut ids, mut ts, mut vs) = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                for s in &data {
                    for x in &s.samples {
                        ids.push(s.id);
                        ts.push(x.t);
                        vs.push(x.v);
                    }
                }
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(UInt64Array::from(ids)),
                    Arc::new(TimestampMillisecondArray::from(ts)),
                    Arc::new(Float64Array::from(vs)),
                ];
                Ok(RecordBatch::try_new(schema, cols)?)
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, stream))
    }
}

fn catalog_tables(db: &Tsdb) -> Result<(MemTable, MemTable), datafusion::error::DataFusionError> {
    let all = db.index().all();
    let series_schema = Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("labels", DataType::Utf8, false),
    ]));
    let json = |e: &crate::index::SeriesEntry| {
        let m: serde_json::Map<String, serde_json::Value> = e
            .labels
            .iter()
            .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
            .collect();
        serde_json::Value::Object(m).to_string()
    };
    let series = RecordBatch::try_new(
        series_schema.clone(),
        vec![
            Arc::new(UInt64Array::from_iter_values(all.iter().map(|e| e.id))),
            Arc::new(StringArray::from_iter_values(
                all.iter().map(|e| e.labels.metric_name().to_string()),
            )),
            Arc::new(StringArray::from_iter_values(all.iter().map(|e| json(e)))),
        ],
    )?;
    let labels_schema = Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]));
    let rows: Vec<(u64, &str, &str)> = all
        .iter()
        .flat_map(|e| {
            e.labels
                .iter()
                .map(move |l| (e.id, l.name.as_str(), l.value.as_str()))
        })
        .collect();
    let labels = RecordBatch::try_new(
        labels_schema.clone(),
        vec![
            Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )?;
    Ok((
        MemTable::try_new(series_schema, vec![vec![series]])?,
        MemTable::try_new(labels_schema, vec![vec![labels]])?,
    ))
}

/// Runs one SQL statement (read-only) and returns at most `max_rows` rows.
pub async fn run(db: Arc<Tsdb>, query: &str, max_rows: usize) -> Result<SqlResult, SqlError> {
    let ctx = SessionContext::new();
    let plan_err = |e: datafusion::error::DataFusionError| SqlError::Plan(e.to_string());
    let schema = samples_schema();
    let samples = StreamingTable::try_new(
        schema.clone(),
        vec![Arc::new(SamplesPartition {
            db: db.clone(),
            schema,
        })],
    )
    .map_err(plan_err)?;
    ctx.register_table("samples", Arc::new(samples))
        .map_err(plan_err)?;
    let (series, labels) = catalog_tables(&db).map_err(plan_err)?;
    ctx.register_table("series", Arc::new(series))
        .map_err(plan_err)?;
    ctx.register_table("labels", Arc::new(labels))
        .map_err(plan_err)?;
    let state = ctx.state();
    let plan = state.create_logical_plan(query).await.map_err(plan_err)?;
    if !matches!(
        plan,
        datafusion::logical_expr::LogicalPlan::Projection(_)
            | datafusion::logical_expr::LogicalPlan::Aggregate(_)
            | datafusion::logical_expr::LogicalPlan::Sort(_)
            | datafusion::logical_expr::LogicalPlan::Limit(_)
            | datafusion::logical_expr::LogicalPlan::Filter(_)
            | datafusion::logical_expr::LogicalPlan::Distinct(_)
            | datafusion::logical_expr::LogicalPlan::Union(_)
            | datafusion::logical_expr::LogicalPlan::Window(_)
            | datafusion::logical_expr::LogicalPlan::Join(_)
            | datafusion::logical_expr::LogicalPlan::SubqueryAlias(_)
            | datafusion::logical_expr::LogicalPlan::Values(_)
            | datafusion::logical_expr::LogicalPlan::EmptyRelation(_)
            | datafusion::logical_expr::LogicalPlan::TableScan(_)
            | datafusion::logical_expr::LogicalPlan::Explain(_)
    ) {
        return Err(SqlError::Plan(
            "only queries (SELECT, EXPLAIN) are allowed".into(),
        ));
    }
    let df = ctx.execute_logical_plan(plan).await.map_err(plan_err)?;
    let out_schema = df.schema().as_arrow().clone();
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| SqlError::Execution(e.to_string()))?;
    let columns: Vec<String> = out_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    let mut truncated = false;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| SqlError::Execution(e.to_string()))?;
        for i in 0..batch.num_rows() {
            if rows.len() >= max_rows {
                truncated = true;
                break;
            }
            let mut row = Vec::with_capacity(batch.num_columns());
            for c in batch.columns() {
                row.push(cell(c, i).map_err(|e| SqlError::Execution(e.to_string()))?);
            }
            rows.push(row);
        }
        if truncated {
            break;
        }
    }
    Ok(SqlResult {
        columns,
        rows,
        truncated,
    })
}

fn float(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or_else(
        || {
            serde_json::Value::String(if v.is_nan() {
                "NaN".into()
            } else if v > 0.0 {
                "+Inf".into()
            } else {
                "-Inf".into()
            })
        },
        serde_json::Value::Number,
    )
}

fn cell(a: &ArrayRef, i: usize) -> Result<serde_json::Value, arrow::error::ArrowError> {
    use arrow::array::AsArray;
    use arrow::datatypes::*;
    if a.is_null(i) {
        return Ok(serde_json::Value::Null);
    }
    Ok(match a.data_type() {
        DataType::Boolean => serde_json::Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).into(),
        DataType::Float32 => float(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => a.as_string::<i32>().value(i).into(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).into(),
        DataType::Utf8View => a.as_string_view().value(i).into(),
        _ => {
            let f = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())?;
            serde_json::Value::String(f.value(i).to_string())
        }
    })
}
