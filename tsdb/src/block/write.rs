//! Writing a block: sort series by labels, encode values as exact decimals,
//! and write the Parquet files with encodings chosen for size.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use altimeter_model::{Labels, Sample};
use arrow::array::{Array, ArrayRef, Int8Array, Int64Array, StringArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::meta::{BlockMeta, FORMAT, VERSION};

use super::{BlockError, io};
use crate::codec::{from_decimal, to_decimal, to_decimal_at, unzigzag, zigzag};
use crate::index::SeriesId;

/// Scale marking a raw `f64` bit pattern in the mantissa column.
pub const RAW_SCALE: i8 = -1;

/// Rows per Arrow batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;

/// The schema of `data.parquet`.
pub fn data_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::UInt64, false),
        Field::new("t_delta", DataType::Int64, false),
        Field::new("m_delta", DataType::Int64, false),
        Field::new("scale", DataType::Int8, false),
    ]))
}

/// The fixed columns of `series.parquet`; a `labels` struct column with one
/// nullable, dictionary-encoded string field per label name follows.
pub const SERIES_FIXED_COLUMNS: [&str; 5] = ["series_id", "first_row", "rows", "min_t", "max_t"];

/// Encodings measured on the cloudgen 100×20×1 h set (docs/format/blocks.md):
/// per-series deltas in BYTE_STREAM_SPLIT + zstd beat DELTA_BINARY_PACKED,
/// which pays for the jump at every series start.
fn data_props(zstd_level: i32) -> Result<WriterProperties, BlockError> {
    let col = |n: &str| ColumnPath::from(n);
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(zstd_level)?))
        .set_max_row_group_row_count(Some(1 << 20))
        .set_data_page_row_count_limit(8192)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_column_dictionary_enabled(col("series_id"), false)
        .set_column_encoding(col("series_id"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(col("t_delta"), false)
        .set_column_encoding(col("t_delta"), Encoding::BYTE_STREAM_SPLIT)
        .set_column_statistics_enabled(col("t_delta"), EnabledStatistics::None)
        .set_column_dictionary_enabled(col("m_delta"), false)
        .set_column_encoding(col("m_delta"), Encoding::BYTE_STREAM_SPLIT)
        .set_column_statistics_enabled(col("m_delta"), EnabledStatistics::None)
        .set_column_statistics_enabled(col("scale"), EnabledStatistics::None)
        .build())
}

/// Encodes the values of one series with a common scale: the largest of the
/// per-value minimal scales, so mantissas of a series are comparable. Each
/// mantissa is stored as the zigzag delta from the previous decimal value of
/// the series (the first one from zero). Values without an exact decimal keep
/// their raw bits with scale [`RAW_SCALE`] and do not take part in the deltas.
pub fn encode_values(samples: &[Sample], m_delta: &mut Vec<i64>, scale: &mut Vec<i8>) {
    let mut k_max = 0u8;
    let mut prev = 0u8;
    for s in samples {
        let k = if to_decimal_at(s.v, prev).is_some() {
            // A scale that works bounds the minimal one.
            (0..=prev)
                .find(|k| to_decimal_at(s.v, *k).is_some())
                .unwrap_or(prev)
        } else {
            to_decimal(s.v).map_or(prev, |(_, k)| k)
        };
        prev = k;
        k_max = k_max.max(k);
    }
    let mut last = 0i64;
    for s in samples {
        match to_decimal_at(s.v, k_max) {
            Some(m) => {
                m_delta.push(zigzag(m.wrapping_sub(last)) as i64);
                last = m;
                scale.push(k_max as i8);
            }
            None => {
                m_delta.push(s.v.to_bits() as i64);
                scale.push(RAW_SCALE);
            }
        }
    }
}

/// Decodes the values of one series run, the inverse of [`encode_values`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ValueDecoder {
    last: i64,
}

impl ValueDecoder {
    /// Decodes the next value of the series.
    #[inline]
    pub fn next(&mut self, m_delta: i64, scale: i8) -> f64 {
        if scale < 0 {
            f64::from_bits(m_delta as u64)
        } else {
            self.last = self.last.wrapping_add(unzigzag(m_delta as u64));
            from_decimal(self.last, scale as u8)
        }
    }
}

/// The `labels` struct column: one field per label name present in the
/// block (sorted), null where a series lacks that label. Dictionary encoding
/// stores each distinct value once, however many series share it.
fn labels_struct(labels: &[&Labels]) -> StructArray {
    let names: BTreeSet<&str> = labels
        .iter()
        .flat_map(|l| l.iter().map(|x| x.name.as_str()))
        .collect();
    let fields: Vec<(Arc<Field>, ArrayRef)> = names
        .into_iter()
        .map(|name| {
            let col: StringArray = labels.iter().map(|l| l.get(name)).collect();
            (
                Arc::new(Field::new(name, DataType::Utf8, true)),
                Arc::new(col) as ArrayRef,
            )
        })
        .collect();
    if fields.is_empty() {
        return StructArray::new_empty_fields(labels.len(), None);
    }
    StructArray::from(fields)
}

/// Streams series, in label order, into a new block's files in a local
/// staging directory; [`super::BlockStore::publish`] makes it a block.
pub struct BlockWriter {
    id: String,
    staging: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    ids: Vec<u64>,
    ts: Vec<i64>,
    man: Vec<i64>,
    sc: Vec<i8>,
    rows_meta: Vec<(SeriesId, Labels, u64, u64, i64, i64)>,
    row: u64,
    min_t: i64,
    max_t: i64,
}

impl std::fmt::Debug for BlockWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockWriter")
            .field("id", &self.id)
            .field("rows", &self.row)
            .finish()
    }
}

impl BlockWriter {
    /// Starts block `id`, staging its files in `staging` (created, emptied).
    /// `zstd_level`: 3 for fresh flushes (cheap), higher for compactions.
    pub fn new(id: &str, staging: PathBuf, zstd_level: i32) -> Result<Self, BlockError> {
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let path = staging.join("data.parquet");
        let f = File::create(&path).map_err(io(&path))?;
        let schema = data_schema();
        let writer = ArrowWriter::try_new(f, schema.clone(), Some(data_props(zstd_level)?))?;
        Ok(Self {
            id: id.to_string(),
            staging,
            schema,
            writer,
            ids: Vec::with_capacity(BATCH_ROWS),
            ts: Vec::with_capacity(BATCH_ROWS),
            man: Vec::with_capacity(BATCH_ROWS),
            sc: Vec::with_capacity(BATCH_ROWS),
            rows_meta: Vec::new(),
            row: 0,
            min_t: i64::MAX,
            max_t: i64::MIN,
        })
    }

    /// Number of samples written so far.
    pub fn samples(&self) -> u64 {
        self.row
    }

    /// Adds one series; calls must come in label order. `samples` must be
    /// sorted by time without duplicates; an empty series is skipped.
    pub fn push(
        &mut self,
        id: SeriesId,
        labels: &Labels,
        samples: &[Sample],
    ) -> Result<(), BlockError> {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Ok(());
        };
        debug_assert!(self.rows_meta.last().is_none_or(|r| &r.1 < labels));
        encode_values(samples, &mut self.man, &mut self.sc);
        // The first timestamp is absolute (ms since epoch), later ones are deltas.
        let mut prev = 0i64;
        for s in samples {
            self.ids.push(id);
            self.ts.push(s.t.wrapping_sub(prev));
            prev = s.t;
        }
        self.rows_meta.push((
            id,
            labels.clone(),
            self.row,
            samples.len() as u64,
            first.t,
            last.t,
        ));
        self.row += samples.len() as u64;
        self.min_t = self.min_t.min(first.t);
        self.max_t = self.max_t.max(last.t);
        if self.ids.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), BlockError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.ids))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.ts))),
            Arc::new(Int64Array::from(std::mem::take(&mut self.man))),
            Arc::new(Int8Array::from(std::mem::take(&mut self.sc))),
        ];
        self.writer
            .write(&RecordBatch::try_new(self.schema.clone(), cols)?)?;
        Ok(())
    }

    /// Finishes the files (fsynced) and returns the staging directory and
    /// the block's metadata, or `None` when no sample was written.
    pub fn finish(
        mut self,
        seq: u64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<Option<(PathBuf, BlockMeta)>, BlockError> {
        self.flush_batch()?;
        let f = self.writer.into_inner()?;
        f.sync_all().map_err(io(&self.staging))?;
        if self.row == 0 {
            std::fs::remove_dir_all(&self.staging).map_err(io(&self.staging))?;
            return Ok(None);
        }
        let data_bytes = f.metadata().map_err(io(&self.staging))?.len();
        let r = &self.rows_meta;
        let all_labels: Vec<&Labels> = r.iter().map(|r| &r.1).collect();
        let labels = labels_struct(&all_labels);
        let mut fields: Vec<Field> = vec![
            Field::new(SERIES_FIXED_COLUMNS[0], DataType::UInt64, false),
            Field::new(SERIES_FIXED_COLUMNS[1], DataType::UInt64, false),
            Field::new(SERIES_FIXED_COLUMNS[2], DataType::UInt64, false),
            Field::new(SERIES_FIXED_COLUMNS[3], DataType::Int64, false),
            Field::new(SERIES_FIXED_COLUMNS[4], DataType::Int64, false),
        ];
        fields.push(Field::new("labels", labels.data_type().clone(), false));
        let sschema = Arc::new(Schema::new(fields));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from_iter_values(r.iter().map(|r| r.0))),
            Arc::new(UInt64Array::from_iter_values(r.iter().map(|r| r.2))),
            Arc::new(UInt64Array::from_iter_values(r.iter().map(|r| r.3))),
            Arc::new(Int64Array::from_iter_values(r.iter().map(|r| r.4))),
            Arc::new(Int64Array::from_iter_values(r.iter().map(|r| r.5))),
            Arc::new(labels),
        ];
        let path = self.staging.join("series.parquet");
        let sf = File::create(&path).map_err(io(&path))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .build();
        let mut sw = ArrowWriter::try_new(sf, sschema.clone(), Some(props))?;
        sw.write(&RecordBatch::try_new(sschema, cols)?)?;
        let sf = sw.into_inner()?;
        sf.sync_all().map_err(io(&path))?;
        let series_bytes = sf.metadata().map_err(io(&path))?.len();
        let meta = BlockMeta {
            format: FORMAT.into(),
            version: VERSION,
            id: self.id.clone(),
            min_t: self.min_t,
            max_t: self.max_t,
            samples: self.row,
            series: r.len() as u64,
            seq,
            level,
            sources,
            data_bytes,
            series_bytes,
        };
        Ok(Some((self.staging, meta)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_scale_and_raw_fallback() {
        let s: Vec<Sample> = [1.5, 2.0, 2.25, f64::NAN, -0.0]
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64, *v))
            .collect();
        let (mut m, mut k) = (Vec::new(), Vec::new());
        encode_values(&s, &mut m, &mut k);
        assert_eq!(&m[..3], &[300, 100, 50]); // zigzag of 150, +50, +25
        assert_eq!(&k[..3], &[2, 2, 2]);
        assert_eq!(k[3], RAW_SCALE);
        let mut d = ValueDecoder::default();
        for (i, s) in s.iter().enumerate() {
            assert_eq!(d.next(m[i], k[i]).to_bits(), s.v.to_bits());
        }
    }
}
