//! Reading a block: its series table (ids and row ranges, not labels: those
//! live once, in the database's index) is held in memory; sample reads select
//! exactly the row ranges of the wanted series (Parquet page index prunes
//! the rest).
#![allow(deprecated)] // ParquetObjectReader, see the import below

use foldhash::{HashMap, HashMapExt};

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
use super::{BlockError, BlockStore, pages};
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

impl SeriesRange {
    /// About how many of the rows fall in `[mint, maxt]` (assuming evenly
    /// spaced samples): what to reserve for them.
    pub fn rows_within(&self, mint: i64, maxt: i64) -> usize {
        if self.min_t >= mint && self.max_t <= maxt {
            return self.rows as usize;
        }
        let (lo, hi) = (self.min_t.max(mint), self.max_t.min(maxt));
        if hi < lo {
            return 0;
        }
        let span = (self.max_t - self.min_t).max(1) as f64;
        let part = ((hi - lo) as f64 / span * self.rows as f64) as usize + 1;
        part.min(self.rows as usize)
    }
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

    /// Samples of the given series within `[mint, maxt]`, in row order
    /// (the block's label order), series without samples left out.
    pub async fn read(
        &self,
        ids: &[SeriesId],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(SeriesId, Vec<Sample>)>, BlockError> {
        self.read_planned(&self.plan(ids, mint, maxt), mint, maxt)
            .await
    }

    /// The row ranges of those of `ids` that have samples in `[mint, maxt]`
    /// here, in row order: the input of [`Block::read_planned`], which a
    /// caller may split to read parts of a block in parallel.
    pub fn plan(&self, ids: &[SeriesId], mint: i64, maxt: i64) -> Vec<(SeriesId, SeriesRange)> {
        let mut wanted: Vec<(SeriesId, SeriesRange)> = ids
            .iter()
            .filter_map(|id| self.series.get(id).map(|r| (*id, *r)))
            .filter(|(_, r)| r.min_t <= maxt && r.max_t >= mint)
            .collect();
        wanted.sort_unstable_by_key(|(_, r)| r.first_row);
        wanted
    }

    /// Samples within `[mint, maxt]` of the planned series (sorted by
    /// `first_row`, as [`Block::plan`] gives them), series without samples
    /// left out.
    pub async fn read_planned(
        &self,
        wanted: &[(SeriesId, SeriesRange)],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<(SeriesId, Vec<Sample>)>, BlockError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let ranges: Vec<std::ops::Range<u64>> = wanted
            .iter()
            .map(|(_, r)| r.first_row..r.first_row + r.rows)
            .collect();
        let runs = Runs::new(wanted, mint, maxt);
        let path = ObjPath::from(format!("blocks/{}/data.parquet", self.meta.id));
        let store = self.store.object_store();
        let fast = pages::read_rows(
            &store,
            &path,
            self.meta.data_bytes,
            self.data_meta.metadata(),
            &ranges,
        )
        .await?;
        match fast {
            Some(rows) => {
                let mut runs = runs;
                runs.feed(&rows.t_delta, &rows.m_delta, &rows.scale);
                Ok(runs.finish())
            }
            None => self.read_with_arrow(runs).await,
        }
    }

    /// The general read path: the Arrow reader, for files the fast one
    /// ([`pages::read_rows`]) does not know.
    async fn read_with_arrow(
        &self,
        mut runs: Runs<'_>,
    ) -> Result<Vec<(SeriesId, Vec<Sample>)>, BlockError> {
        let wanted = runs.wanted;
        let mut selectors = Vec::with_capacity(wanted.len() * 2);
        let mut pos = 0u64;
        for (_, r) in wanted {
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
        while let Some(batch) = stream.try_next().await? {
            runs.feed(
                batch.column(0).as_primitive::<Int64Type>().values(),
                batch.column(1).as_primitive::<Int64Type>().values(),
                batch.column(2).as_primitive::<Int8Type>().values(),
            );
        }
        Ok(runs.finish())
    }
}

/// Turns the selected rows of consecutive series runs (fed in order, in
/// pieces of any size) back into samples.
struct Runs<'a> {
    wanted: &'a [(SeriesId, SeriesRange)],
    mint: i64,
    maxt: i64,
    out: Vec<(SeriesId, Vec<Sample>)>,
    /// The series being decoded: its index in `wanted` and rows left.
    cur: usize,
    left: u64,
    acc: Vec<Sample>,
    /// Running time and value (deltas restart at a series' first row).
    t: i64,
    dec: ValueDecoder,
}

impl<'a> Runs<'a> {
    fn new(wanted: &'a [(SeriesId, SeriesRange)], mint: i64, maxt: i64) -> Self {
        Self {
            wanted,
            mint,
            maxt,
            out: Vec::with_capacity(wanted.len()),
            cur: 0,
            left: wanted.first().map_or(u64::MAX, |w| w.1.rows),
            acc: Vec::with_capacity(wanted.first().map_or(0, |w| w.1.rows_within(mint, maxt))),
            t: 0,
            dec: ValueDecoder::default(),
        }
    }

    fn feed(&mut self, ts: &[i64], man: &[i64], sc: &[i8]) {
        let mut i = 0usize;
        while i < ts.len() {
            if self.left == 0 {
                self.out
                    .push((self.wanted[self.cur].0, std::mem::take(&mut self.acc)));
                self.cur += 1;
                self.left = match self.wanted.get(self.cur) {
                    Some((_, r)) => {
                        self.acc.reserve_exact(r.rows_within(self.mint, self.maxt));
                        r.rows
                    }
                    None => u64::MAX,
                };
                (self.t, self.dec) = (0, ValueDecoder::default());
                continue;
            }
            // The rest of this series' run within the piece.
            let n = (self.left as usize).min(ts.len() - i);
            let (mut t, mut dec) = (self.t, self.dec);
            for j in i..i + n {
                t = t.wrapping_add(ts[j]);
                let v = dec.next(man[j], sc[j]);
                if t >= self.mint && t <= self.maxt {
                    self.acc.push(Sample { t, v });
                }
            }
            (self.t, self.dec) = (t, dec);
            i += n;
            self.left -= n as u64;
        }
    }

    fn finish(mut self) -> Vec<(SeriesId, Vec<Sample>)> {
        if self.cur < self.wanted.len() {
            self.out.push((self.wanted[self.cur].0, self.acc));
        }
        self.out.retain(|(_, s)| !s.is_empty());
        self.out
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

#[cfg(test)]
mod tests {
    use altimeter_model::{Labels, Sample};

    use super::*;
    use crate::block::write::BlockWriter;

    /// Writes a block of `series` series × `per` samples (values of every
    /// shape: counters, decimals, NaN, staleness markers, -0.0, π) and opens it.
    async fn block(dir: &std::path::Path, series: u64, per: i64) -> Block {
        let store = BlockStore::local(dir).unwrap();
        let mut w = BlockWriter::new("00000000000000aa", dir.join("staging"), 3).unwrap();
        for id in 0..series {
            let labels =
                Labels::from_pairs([("__name__", "m"), ("i", &format!("{id:06}"))]).unwrap();
            let samples: Vec<Sample> = (0..per)
                .map(|k| {
                    let v = match (id + k as u64) % 7 {
                        0 => f64::NAN,
                        1 => f64::from_bits(0x7ff0_0000_0000_0002),
                        2 => -0.0,
                        3 => std::f64::consts::PI * k as f64,
                        _ => (id * 1000) as f64 + k as f64 * 0.25,
                    };
                    Sample::new(1_000_000 + k * 10_000 + id as i64, v)
                })
                .collect();
            w.push(id, &labels, &samples).unwrap();
        }
        let (staging, meta) = w.finish(1, 0, Vec::new()).unwrap().unwrap();
        store.publish(&staging, &meta).await.unwrap();
        Block::open(&store, meta, None).await.unwrap()
    }

    fn same(a: &[(SeriesId, Vec<Sample>)], b: &[(SeriesId, Vec<Sample>)]) {
        assert_eq!(a.len(), b.len());
        for ((ia, sa), (ib, sb)) in a.iter().zip(b) {
            assert_eq!(ia, ib);
            let bits = |s: &[Sample]| s.iter().map(|x| (x.t, x.v.to_bits())).collect::<Vec<_>>();
            assert_eq!(bits(sa), bits(sb), "series {ia}");
        }
    }

    #[tokio::test]
    async fn page_reader_and_arrow_reader_agree() {
        let dir = tempfile::tempdir().unwrap();
        // 300 × 100 rows: several 8192-row pages, runs crossing pages.
        let b = block(dir.path(), 300, 100).await;
        let all: Vec<SeriesId> = (0..300).collect();
        let some: Vec<SeriesId> = (0..300)
            .filter(|i| i % 7 == 3 || (100..190).contains(i))
            .collect();
        for (ids, mint, maxt) in [
            (&all, i64::MIN, i64::MAX),
            (&some, i64::MIN, i64::MAX),
            (&some, 1_300_000, 1_700_000),
            (&all, 1_990_000, i64::MAX),
        ] {
            let plan = b.plan(ids, mint, maxt);
            // The page reader takes these files (no silent fallback).
            let ranges: Vec<_> = plan
                .iter()
                .map(|(_, r)| r.first_row..r.first_row + r.rows)
                .collect();
            let path = ObjPath::from("blocks/00000000000000aa/data.parquet");
            let rows = pages::read_rows(
                &b.store.object_store(),
                &path,
                b.meta.data_bytes,
                b.data_meta.metadata(),
                &ranges,
            )
            .await
            .unwrap()
            .expect("the page reader knows Altimeter's own files");
            assert_eq!(
                rows.t_delta.len() as u64,
                plan.iter().map(|(_, r)| r.rows).sum::<u64>()
            );
            let fast = b.read_planned(&plan, mint, maxt).await.unwrap();
            let general = b
                .read_with_arrow(Runs::new(&plan, mint, maxt))
                .await
                .unwrap();
            assert!(!fast.is_empty());
            same(&fast, &general);
        }
        // Exactly what was written, bit for bit.
        let one = b.read(&[5], i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].1.len(), 100);
        assert!(one[0].1[2].v.is_nan() && one[0].1[3].v.to_bits() == 0x7ff0_0000_0000_0002);
        assert_eq!(one[0].1[4].v.to_bits(), (-0.0f64).to_bits());
        assert_eq!(one[0].1[5].v, std::f64::consts::PI * 5.0);
        assert_eq!(one[0].1[6].v, 5000.0 + 6.0 * 0.25);
    }
}
