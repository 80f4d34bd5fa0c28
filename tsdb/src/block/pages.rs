//! The fast read path of `data.parquet`: selected rows of `t_delta`,
//! `m_delta` and `scale` decoded page by page with our own decoders.
//!
//! The Arrow reader decodes BYTE_STREAM_SPLIT a byte at a time with bounds
//! checks and builds Arrow arrays we only copy out of; on dashboard queries
//! that was the largest single cost. Here only the pages holding wanted rows
//! are fetched (offset index), the Parquet crate's page reader decompresses
//! them, and the values of just the wanted rows are gathered straight into
//! flat vectors. Anything this path does not know (other encodings, no
//! offset index, nullable columns) makes it step aside (`Ok(None)`) for the
//! general Arrow path, which reads every valid file.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use object_store::path::Path as ObjPath;
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use super::BlockError;

/// Leaf column indexes in `data.parquet` (see `write::data_schema`).
const T_DELTA: usize = 1;
const M_DELTA: usize = 2;
const SCALE: usize = 3;

/// The wanted rows' values, in row order.
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub t_delta: Vec<i64>,
    pub m_delta: Vec<i64>,
    pub scale: Vec<i8>,
}

/// Reads the rows of `ranges` (sorted, disjoint `first_row..end` ranges of
/// the whole file); `None` when the file needs the general reader.
pub(super) async fn read_rows(
    store: &Arc<dyn object_store::ObjectStore>,
    path: &ObjPath,
    file_size: u64,
    meta: &ParquetMetaData,
    ranges: &[Range<u64>],
) -> Result<Option<Rows>, BlockError> {
    let Some(offsets) = meta.offset_index() else {
        return Ok(None);
    };
    let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
    let mut out = Rows {
        t_delta: Vec::with_capacity(total as usize),
        m_delta: Vec::with_capacity(total as usize),
        scale: Vec::with_capacity(total as usize),
    };
    let mut rg_start = 0u64;
    let mut next = 0usize; // first range not wholly before this row group
    for (rg_idx, rg) in meta.row_groups().iter().enumerate() {
        let rg_rows = rg.num_rows().max(0) as u64;
        let rg_end = rg_start + rg_rows;
        while next < ranges.len() && ranges[next].end <= rg_start {
            next += 1;
        }
        // The wanted rows of this row group, relative to its start.
        let local: Vec<Range<u64>> = ranges[next..]
            .iter()
            .take_while(|r| r.start < rg_end)
            .map(|r| r.start.max(rg_start) - rg_start..r.end.min(rg_end) - rg_start)
            .filter(|r| !r.is_empty())
            .collect();
        if !local.is_empty() {
            if rg.num_columns() <= SCALE || offsets.len() <= rg_idx {
                return Ok(None);
            }
            for col in [T_DELTA, M_DELTA, SCALE] {
                let Some(oi) = offsets[rg_idx].get(col) else {
                    return Ok(None);
                };
                let chunk = rg.column(col);
                let locations = oi.page_locations();
                // Pages holding wanted rows, and the bytes to fetch for them.
                let page_rows = |i: usize| -> Range<u64> {
                    let a = locations[i].first_row_index.max(0) as u64;
                    let b = locations
                        .get(i + 1)
                        .map_or(rg_rows, |l| l.first_row_index.max(0) as u64);
                    a..b
                };
                let wanted: Vec<bool> = (0..locations.len())
                    .map(|i| !overlapping(&local, &page_rows(i)).is_empty())
                    .collect();
                let mut fetch: Vec<Range<u64>> = Vec::new();
                let (chunk_start, _) = chunk.byte_range();
                // A dictionary page precedes the data pages (the page
                // reader's rule too).
                let has_dict = locations
                    .first()
                    .is_some_and(|first| first.offset.max(0) as u64 != chunk_start);
                if has_dict {
                    fetch.push(chunk_start..locations[0].offset.max(0) as u64);
                }
                for (i, l) in locations.iter().enumerate() {
                    if wanted[i] {
                        let a = l.offset.max(0) as u64;
                        fetch.push(a..a + l.compressed_page_size.max(0) as u64);
                    }
                }
                let bytes = store.get_ranges(path, &fetch).await?;
                let reader = Arc::new(Sparse {
                    size: file_size,
                    parts: fetch.iter().map(|r| r.start).zip(bytes).collect(),
                });
                let mut pages = SerializedPageReader::new(
                    reader,
                    chunk,
                    rg_rows as usize,
                    Some(locations.clone()),
                )?;
                let column = Column {
                    physical: chunk.column_type(),
                    has_dict,
                    wanted: &wanted,
                    page_rows: &page_rows,
                    local: &local,
                };
                if !column.decode(&mut pages, &mut out, col)? {
                    return Ok(None);
                }
            }
        }
        rg_start = rg_end;
    }
    let n = total as usize;
    if out.t_delta.len() != n || out.m_delta.len() != n || out.scale.len() != n {
        return Err(BlockError::Parquet(ParquetError::General(format!(
            "decoded {}/{}/{} rows of {n} wanted",
            out.t_delta.len(),
            out.m_delta.len(),
            out.scale.len()
        ))));
    }
    Ok(Some(out))
}

/// One column chunk of a row group and what to read of it.
struct Column<'a> {
    physical: PhysicalType,
    /// Whether a dictionary page comes first.
    has_dict: bool,
    /// Per data page: does it hold wanted rows?
    wanted: &'a [bool],
    /// Per data page: its rows within the row group.
    page_rows: &'a dyn Fn(usize) -> Range<u64>,
    /// The wanted rows within the row group, sorted.
    local: &'a [Range<u64>],
}

impl Column<'_> {
    /// Decodes the wanted rows into `out`'s column `col`; `false` when an
    /// encoding or type is not ours.
    fn decode(
        &self,
        pages: &mut SerializedPageReader<Sparse>,
        out: &mut Rows,
        col: usize,
    ) -> Result<bool, BlockError> {
        let mut dict: Vec<i64> = Vec::new();
        if self.has_dict {
            match pages.get_next_page()? {
                Some(Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY,
                    ..
                }) => {
                    if !plain(&buf, self.physical, 0..num_values as usize, &mut dict) {
                        return Ok(false);
                    }
                }
                _ => return Ok(false),
            }
        }
        let mut scratch: Vec<i64> = Vec::new();
        let mut indices: Vec<u32> = Vec::new();
        for (page, wanted) in self.wanted.iter().enumerate() {
            if !wanted {
                pages.skip_next_page()?;
                continue;
            }
            let (buf, n, encoding) = match pages.get_next_page()? {
                Some(Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    ..
                }) => (buf, num_values as usize, encoding),
                Some(Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    num_nulls: 0,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                }) => {
                    let skip = (def_levels_byte_len + rep_levels_byte_len) as usize;
                    if skip > buf.len() {
                        return Ok(false);
                    }
                    (buf.slice(skip..), num_values as usize, encoding)
                }
                _ => return Ok(false),
            };
            let rows = (self.page_rows)(page);
            if n as u64 != rows.end - rows.start {
                return Ok(false);
            }
            // The wanted parts of this page, relative to it.
            let parts: Vec<Range<usize>> = overlapping(self.local, &rows)
                .iter()
                .map(|r| {
                    (r.start.max(rows.start) - rows.start) as usize
                        ..(r.end.min(rows.end) - rows.start) as usize
                })
                .collect();
            scratch.clear();
            let dest = match col {
                T_DELTA => &mut out.t_delta,
                M_DELTA => &mut out.m_delta,
                _ => &mut scratch,
            };
            let ok = match encoding {
                Encoding::PLAIN => parts
                    .iter()
                    .all(|r| plain(&buf, self.physical, r.clone(), dest)),
                Encoding::BYTE_STREAM_SPLIT => {
                    self.physical == PhysicalType::INT64
                        && parts
                            .iter()
                            .all(|r| byte_stream_split_i64(&buf, n, r.clone(), dest))
                }
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => {
                    indices.clear();
                    dictionary_indices(&buf, n, &mut indices)
                        && parts.iter().all(|r| {
                            indices[r.clone()]
                                .iter()
                                .all(|&i| match dict.get(i as usize) {
                                    Some(v) => {
                                        scratch.push(*v);
                                        true
                                    }
                                    None => false,
                                })
                        })
                }
                _ => false,
            };
            if !ok {
                return Ok(false);
            }
            if col == SCALE {
                out.scale.extend(scratch.iter().map(|v| *v as i8));
            }
        }
        Ok(true)
    }
}

/// The ranges of `sorted` (disjoint, in order) that overlap `rows`.
fn overlapping<'a>(sorted: &'a [Range<u64>], rows: &Range<u64>) -> &'a [Range<u64>] {
    let a = sorted.partition_point(|r| r.end <= rows.start);
    let b = a + sorted[a..].partition_point(|r| r.start < rows.end);
    &sorted[a..b]
}

/// PLAIN values `rows` of an INT64 or INT32 page, widened to i64.
fn plain(buf: &[u8], physical: PhysicalType, rows: Range<usize>, out: &mut Vec<i64>) -> bool {
    let width = match physical {
        PhysicalType::INT64 => 8,
        PhysicalType::INT32 => 4,
        _ => return false,
    };
    let Some(bytes) = buf.get(rows.start * width..rows.end * width) else {
        return false;
    };
    if width == 8 {
        out.extend(
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))),
        );
    } else {
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes")))),
        );
    }
    true
}

/// BYTE_STREAM_SPLIT INT64 values `rows` of a page of `n` values: byte `k`
/// of value `i` is at `k * n + i`. Eight values at a time: a word from each
/// stream, then an 8×8 byte transpose.
fn byte_stream_split_i64(buf: &[u8], n: usize, rows: Range<usize>, out: &mut Vec<i64>) -> bool {
    if buf.len() < n * 8 || rows.end > n || rows.start > rows.end {
        return false;
    }
    let len = rows.end - rows.start;
    let s: [&[u8]; 8] = std::array::from_fn(|k| &buf[k * n + rows.start..][..len]);
    out.reserve(len);
    let whole = len - len % 8;
    for i in (0..whole).step_by(8) {
        let mut r: [u64; 8] = std::array::from_fn(|k| {
            u64::from_le_bytes(s[k][i..i + 8].try_into().expect("8 bytes"))
        });
        transpose8x8(&mut r);
        out.extend(r.iter().map(|w| *w as i64));
    }
    out.extend((whole..len).map(|i| i64::from_le_bytes(std::array::from_fn(|k| s[k][i]))));
    true
}

/// Transposes an 8×8 byte matrix held as eight little-endian words (row
/// `k` = word `k`, column `j` = byte `j`): 4×4, 2×2, then 1×1 block swaps.
#[inline]
fn transpose8x8(r: &mut [u64; 8]) {
    for k in 0..4 {
        let (a, b) = (r[k], r[k + 4]);
        r[k] = (a & 0x0000_0000_FFFF_FFFF) | (b << 32);
        r[k + 4] = (a >> 32) | (b & 0xFFFF_FFFF_0000_0000);
    }
    for k in [0, 1, 4, 5] {
        let (a, b) = (r[k], r[k + 2]);
        r[k] = (a & 0x0000_FFFF_0000_FFFF) | ((b & 0x0000_FFFF_0000_FFFF) << 16);
        r[k + 2] = ((a >> 16) & 0x0000_FFFF_0000_FFFF) | (b & 0xFFFF_0000_FFFF_0000);
    }
    for k in [0, 2, 4, 6] {
        let (a, b) = (r[k], r[k + 1]);
        r[k] = (a & 0x00FF_00FF_00FF_00FF) | ((b & 0x00FF_00FF_00FF_00FF) << 8);
        r[k + 1] = ((a >> 8) & 0x00FF_00FF_00FF_00FF) | (b & 0xFF00_FF00_FF00_FF00);
    }
}

/// The `n` dictionary indices of an RLE_DICTIONARY page: a bit-width byte,
/// then the RLE / bit-packed hybrid runs.
fn dictionary_indices(buf: &[u8], n: usize, out: &mut Vec<u32>) -> bool {
    let Some((&bit_width, mut rest)) = buf.split_first() else {
        return n == 0;
    };
    if bit_width > 32 {
        return false;
    }
    let bw = usize::from(bit_width);
    while out.len() < n {
        let Some(header) = uleb128(&mut rest) else {
            return false;
        };
        if header & 1 == 1 {
            // Bit-packed: groups of 8 values, `bw` bits each, LSB first.
            let groups = (header >> 1) as usize;
            let bytes = groups * bw;
            let Some(data) = rest.get(..bytes) else {
                return false;
            };
            for i in 0..groups * 8 {
                let mut v = 0u32;
                for b in 0..bw {
                    let bit = i * bw + b;
                    v |= u32::from((data[bit / 8] >> (bit % 8)) & 1) << b;
                }
                out.push(v);
            }
            rest = &rest[bytes..];
        } else {
            let count = (header >> 1) as usize;
            let width = bw.div_ceil(8);
            let Some(data) = rest.get(..width) else {
                return false;
            };
            let mut v = 0u32;
            for (i, b) in data.iter().enumerate() {
                v |= u32::from(*b) << (8 * i);
            }
            out.extend(std::iter::repeat_n(v, count));
            rest = &rest[width..];
        }
    }
    out.truncate(n);
    true
}

fn uleb128(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The fetched byte ranges of a file, as a [`ChunkReader`] over the whole
/// file (the page reader asks only for the pages it was told about).
struct Sparse {
    size: u64,
    parts: Vec<(u64, Bytes)>,
}

impl Sparse {
    fn slice(&self, start: u64, len: usize) -> parquet::errors::Result<Bytes> {
        for (at, b) in &self.parts {
            if start >= *at && start + len as u64 <= at + b.len() as u64 {
                let off = (start - at) as usize;
                return Ok(b.slice(off..off + len));
            }
        }
        Err(ParquetError::General(format!(
            "bytes {start}..{} of data.parquet were not fetched",
            start + len as u64
        )))
    }
}

impl Length for Sparse {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for Sparse {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let (at, b) = self
            .parts
            .iter()
            .find(|(at, b)| start >= *at && start < at + b.len() as u64)
            .ok_or_else(|| {
                ParquetError::General(format!("offset {start} of data.parquet was not fetched"))
            })?;
        Ok(b.slice((start - at) as usize..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_stream_split_gathers_each_value() {
        let vals: [i64; 3] = [1, -2, 0x0102_0304_0506_0708];
        let n = vals.len();
        let mut buf = vec![0u8; n * 8];
        for (i, v) in vals.iter().enumerate() {
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                buf[k * n + i] = *b;
            }
        }
        let mut out = Vec::new();
        assert!(byte_stream_split_i64(&buf, n, 0..3, &mut out));
        assert_eq!(out, vals);
        out.clear();
        assert!(byte_stream_split_i64(&buf, n, 1..2, &mut out));
        assert_eq!(out, [-2]);
        assert!(!byte_stream_split_i64(&buf, n, 2..4, &mut out));
    }

    #[test]
    fn byte_stream_split_word_path_matches_the_definition() {
        let n = 1000;
        let vals: Vec<i64> = (0..n as i64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15u64 as i64) ^ (i << 3))
            .collect();
        let mut buf = vec![0u8; n * 8];
        for (i, v) in vals.iter().enumerate() {
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                buf[k * n + i] = *b;
            }
        }
        for rows in [0..n, 3..n, 5..13, 17..17, 999..1000, 8..992] {
            let mut out = Vec::new();
            assert!(byte_stream_split_i64(&buf, n, rows.clone(), &mut out));
            assert_eq!(out, vals[rows.clone()], "{rows:?}");
        }
    }

    #[test]
    fn overlapping_ranges_are_found_by_bisection() {
        let r = [0..5, 10..20, 30..31];
        assert_eq!(overlapping(&r, &(0..1)), &r[..1]);
        assert_eq!(overlapping(&r, &(5..10)), &[] as &[Range<u64>]);
        assert_eq!(overlapping(&r, &(4..11)), &r[..2]);
        assert_eq!(overlapping(&r, &(19..40)), &r[1..]);
        assert_eq!(overlapping(&r, &(31..40)), &[] as &[Range<u64>]);
    }

    #[test]
    fn hybrid_runs_decode() {
        // bit width 2; an RLE run of 3 × value 2, then one bit-packed group
        // of 8 values 0,1,2,3,0,1,2,3.
        let buf = [2u8, 3 << 1, 2, (1 << 1) | 1, 0b1110_0100, 0b1110_0100];
        let mut out = Vec::new();
        assert!(dictionary_indices(&buf, 11, &mut out));
        assert_eq!(out, [2, 2, 2, 0, 1, 2, 3, 0, 1, 2, 3]);
        out.clear();
        assert!(
            !dictionary_indices(&buf[..4], 11, &mut out),
            "truncated input"
        );
    }
}
