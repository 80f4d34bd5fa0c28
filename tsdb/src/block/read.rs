//! Reading a block: its series table (ids and row ranges, not labels: those
//! live once, in the database's index) is held in memory; sample reads select
//! exactly the row ranges of the wanted series (Parquet page index prunes
//! the rest).
#![allow(deprecated)] // ParquetObjectReader, see the import below

use std::collections::HashMap;

use altimeter_model::{Labels, Sample};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int8Type, Int64Type, UInt64Type};
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
// `ParquetObjectReader` is deprecated in parquet 59 in favour of a hand-written
// `AsyncFileReader`; it still does exactly what blocks need (ranged GETs on
// the object store) until that replacement lands here.
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::file::metadata::PageIndexPolicy;

use super::meta::{BlockMeta, FORMAT, VERSION};
use super::write::{SERIES_FIXED_COLUMNS, ValueDecoder};
use super::{BlockError, BlockStore};
use crate::index::SeriesId;

/// Where one series' samples are in `data.parquet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesRange {
    /// First row.
    pub first_row: u64,
    /// Number of rows.
    pub rows: u64,
    /// Smallest timestamp.
    pub min_t: i64,
    /// Largest timestamp.
    pub max_t: i64,
}

/// An open block.
#[derive(Debug)]
pub struct Block {
    /// Its metadata.
    pub meta: BlockMeta,
    /// Series id → rows. Labels are not kept here: a block's labels are
    /// handed to the caller once, at open, for the index to hold.
    pub series: HashMap<SeriesId, SeriesRange>,
    store: BlockStore,
    data_meta: ArrowReaderMetadata,
}

fn invalid(id: &str, message: impl Into<String>) -> BlockError {
    BlockError::Invalid {
        id: id.to_string(),
        message: message.into(),
    }
}

impl Block {
    /// Reads and checks block `id`'s `meta.json`.
    pub async fn read_meta(store: &BlockStore, id: &str) -> Result<BlockMeta, BlockError> {
        let meta_bytes = store.get(&format!("blocks/{id}/meta.json")).await?;
        let meta: BlockMeta = serde_json::from_slice(&meta_bytes)
            .map_err(|e| invalid(id, format!("meta.json: {e}")))?;
        if meta.format != FORMAT {
            return Err(invalid(
                id,
                format!("meta.json format is {:?}, expected {FORMAT:?}", meta.format),
            ));
        }
        if meta.version > VERSION {
            return Err(invalid(
                id,
                format!(
                    "block format version {} is newer than this build reads ({VERSION}); upgrade Altimeter",
                    meta.version
                ),
            ));
        }
        Ok(meta)
    }

    /// Opens the block `meta` describes: reads the series table and the data
    /// file's footer and page index. `on_labels`, if given, receives every
    /// series' labels (a block keeps only ids and row ranges).
    pub async fn open(
        store: &BlockStore,
        meta: BlockMeta,
        on_labels: Option<&mut (dyn FnMut(SeriesId, Labels) + Send)>,
    ) -> Result<Self, BlockError> {
        let id = meta.id.as_str();
        let dir = format!("blocks/{id}");
        let series = read_series(store, &dir, id, meta.series_bytes, on_labels).await?;
        let mut reader = ParquetObjectReader::new(
            store.object_store(),
            ObjPath::from(format!("{dir}/data.parquet")),
        )
        .with_file_size(meta.data_bytes);
        let data_meta = ArrowReaderMetadata::load_async(
            &mut reader,
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
        )
        .await?;
        Ok(Self {
            meta,
            series,
            store: store.clone(),
            data_meta,
        })
    }

    fn reader(&self) -> ParquetObjectReader {
        ParquetObjectReader::new(
            self.store.object_store(),
            ObjPath::from(format!("blocks/{}/data.parquet", self.meta.id)),
        )
        .with_file_size(self.meta.data_bytes)
    }

    /// Whether the block overlaps `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.min_t <= maxt && self.meta.max_t >= mint
    }

    /// Total bytes of the block's files.
    pub fn bytes(&self) -> u64 {
        self.meta.data_bytes + self.meta.series_bytes
    }

    /// Samples of the given series within `[mint, maxt]`, in the order of
    /// `ids` that are present in this block.
    pub async fn read(
        &self,
        ids: &[SeriesId],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(SeriesId, Vec<Sample>)>, BlockError> {
        let mut wanted: Vec<(SeriesId, SeriesRange)> = ids
            .iter()
            .filter_map(|id| self.series.get(id).map(|r| (*id, *r)))
            .filter(|(_, r)| r.min_t <= maxt && r.max_t >= mint)
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        wanted.sort_by_key(|(_, r)| r.first_row);
        let mut selectors = Vec::with_capacity(wanted.len() * 2);
        let mut pos = 0u64;
        for (_, r) in &wanted {
            if r.first_row > pos {
                selectors.push(RowSelector::skip((r.first_row - pos) as usize));
            }
            selectors.push(RowSelector::select(r.rows as usize));
            pos = r.first_row + r.rows;
        }
        let schema = self.data_meta.parquet_schema();
        let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader(),
            self.data_meta.clone(),
        )
        .with_projection(ProjectionMask::roots(schema, [1, 2, 3]))
        .with_row_selection(RowSelection::from(selectors))
        .with_batch_size(65_536);
        let mut stream = builder.build()?;
        let mut out: Vec<(SeriesId, Vec<Sample>)> = Vec::with_capacity(wanted.len());
        let mut cur = 0usize; // index into wanted
        let mut left = wanted.first().map_or(0, |w| w.1.rows);
        let mut acc: Vec<Sample> = Vec::new();
        let (mut t, mut dec) = (0i64, ValueDecoder::default());
        while let Some(batch) = stream.try_next().await? {
            let ts = batch.column(0).as_primitive::<Int64Type>();
            let man = batch.column(1).as_primitive::<Int64Type>();
            let sc = batch.column(2).as_primitive::<Int8Type>();
            for i in 0..batch.num_rows() {
                while left == 0 {
                    out.push((wanted[cur].0, std::mem::take(&mut acc)));
                    cur += 1;
                    left = wanted.get(cur).map_or(u64::MAX, |w| w.1.rows);
                    (t, dec) = (0, ValueDecoder::default());
                }
                // Runs always start at a series' first row: deltas restart there.
                t = t.wrapping_add(ts.value(i));
                let v = dec.next(man.value(i), sc.value(i));
                if t >= mint && t <= maxt {
                    acc.push(Sample { t, v });
                }
                left -= 1;
            }
        }
        if cur < wanted.len() {
            out.push((wanted[cur].0, acc));
        }
        out.retain(|(_, s)| !s.is_empty());
        Ok(out)
    }
}

async fn read_series(
    store: &BlockStore,
    dir: &str,
    id: &str,
    size: u64,
    mut on_labels: Option<&mut (dyn FnMut(SeriesId, Labels) + Send)>,
) -> Result<HashMap<SeriesId, SeriesRange>, BlockError> {
    let reader = ParquetObjectReader::new(
        store.object_store(),
        ObjPath::from(format!("{dir}/series.parquet")),
    )
    .with_file_size(size);
    let mut builder = ParquetRecordBatchStreamBuilder::new(reader).await?;
    if on_labels.is_none() {
        // Labels are the bulk of the file: skip decoding them when unwanted.
        let mask = ProjectionMask::roots(builder.parquet_schema(), 0..SERIES_FIXED_COLUMNS.len());
        builder = builder.with_projection(mask);
    }
    let mut stream = builder.build()?;
    let mut out = HashMap::new();
    while let Some(b) = stream.try_next().await? {
        let col = |name: &str| {
            b.column_by_name(name)
                .ok_or_else(|| invalid(id, format!("series.parquet has no column {name:?}")))
        };
        let sid = col("series_id")?.as_primitive::<UInt64Type>();
        let first = col("first_row")?.as_primitive::<UInt64Type>();
        let rows = col("rows")?.as_primitive::<UInt64Type>();
        let min_t = col("min_t")?.as_primitive::<Int64Type>();
        let max_t = col("max_t")?.as_primitive::<Int64Type>();
        let children: Vec<(&str, &arrow::array::StringArray)> = match on_labels {
            Some(_) => {
                let labels = col("labels")?.as_struct();
                labels
                    .fields()
                    .iter()
                    .zip(labels.columns())
                    .map(|(f, c)| (f.name().as_str(), c.as_string::<i32>()))
                    .collect()
            }
            None => Vec::new(),
        };
        for i in 0..b.num_rows() {
            if let Some(f) = on_labels.as_mut() {
                let pairs = children
                    .iter()
                    .filter(|(_, c)| c.is_valid(i))
                    .map(|(n, c)| (*n, c.value(i)));
                let ls = Labels::from_pairs(pairs)
                    .map_err(|e| invalid(id, format!("series.parquet labels: {e}")))?;
                f(sid.value(i), ls);
            }
            out.insert(
                sid.value(i),
                SeriesRange {
                    first_row: first.value(i),
                    rows: rows.value(i),
                    min_t: min_t.value(i),
                    max_t: max_t.value(i),
                },
            );
        }
    }
    Ok(out)
}
