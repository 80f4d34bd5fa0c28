//! The write-ahead log: every acknowledged sample is here, fsynced, until it
//! is persisted in a block.
//!
//! Layout: `wal/<8-digit segment number>`, each segment starting with an
//! 8-byte header (`ALTW` + u32 LE version) and holding framed records:
//! `u32 LE length | u32 LE crc32c(type ‖ payload) | u8 type | payload`.
//! The byte-level specification is `docs/format/wal.md`.
//!
//! **Group commit.** Appenders encode records into a shared buffer under a
//! mutex and get a log sequence number; one writer thread writes whatever has
//! accumulated, fsyncs once, and publishes the durable sequence number. Many
//! concurrent requests therefore share one fsync.
//!
//! **Segments are self-describing**: a series' labels are written again in
//! the first record of each segment that mentions it, so any prefix of
//! segments can be deleted once its samples are in blocks.

pub mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::metrics::TsdbMetrics;

/// Segment file magic.
pub const MAGIC: &[u8; 4] = b"ALTW";
/// Current segment format version.
pub const VERSION: u32 = 1;
/// Segment header length.
pub const HEADER_LEN: u64 = 8;
/// Record frame header length (length + crc + type).
pub const FRAME_LEN: usize = 9;
/// Largest record payload accepted on replay.
pub const MAX_RECORD: usize = 1 << 30;

/// WAL errors.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Filesystem trouble.
    #[error("WAL I/O on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A previous write or fsync failed; the WAL refuses further appends.
    #[error("WAL is failed after an earlier error: {0}; restart after fixing the disk")]
    Failed(Arc<str>),
    /// The WAL was closed.
    #[error("WAL is closed")]
    Closed,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The path of segment `n` under `dir`.
pub fn segment_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// Segment numbers present in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<u32>, WalError> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        if let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            v.push(n);
        }
    }
    v.sort_unstable();
    Ok(v)
}

/// Durability progress published by the writer thread.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Every record with a sequence number ≤ this is fsynced.
    pub durable: u64,
    /// Set once a write or fsync failed.
    pub failed: Option<Arc<str>>,
}

#[derive(Debug)]
struct Chunk {
    segment: u32,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct State {
    chunks: Vec<Chunk>,
    /// Sequence number of the last appended record.
    appended: u64,
    segment: u32,
    segment_bytes: u64,
    closed: bool,
    failed: Option<Arc<str>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    segment_size: u64,
    state: Mutex<State>,
    wake: Condvar,
    progress: watch::Sender<Progress>,
    metrics: Arc<TsdbMetrics>,
}

/// The write-ahead log writer.
#[derive(Debug)]
pub struct Wal {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// A place to encode one record into; see [`Wal::append`].
#[derive(Debug)]
pub struct RecordSink<'a> {
    /// The segment this record lands in; series defined in an older segment
    /// must be defined again.
    pub segment: u32,
    buf: &'a mut Vec<u8>,
}

impl RecordSink<'_> {
    /// The payload buffer to append to.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.buf
    }
}

impl Wal {
    /// Opens the WAL for writing in `dir`, starting a fresh segment after
    /// `last_segment` (the highest one replayed).
    pub fn open(
        dir: &Path,
        last_segment: u32,
        segment_size: u64,
        metrics: Arc<TsdbMetrics>,
    ) -> Result<Self, WalError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let (progress, _) = watch::channel(Progress::default());
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            segment_size,
            state: Mutex::new(State {
                chunks: Vec::new(),
                appended: 0,
                segment: last_segment + 1,
                segment_bytes: HEADER_LEN,
                closed: false,
                failed: None,
            }),
            wake: Condvar::new(),
            progress,
            metrics,
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer_loop(&s2))
            .map_err(io(dir))?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Appends one record of type `ty`, encoded by `encode`, and returns its
    /// sequence number. The record is durable once [`Wal::wait`] returns for it.
    /// `encode` runs under the WAL lock, so records are ordered as appended.
    pub fn append<R>(
        &self,
        ty: u8,
        encode: impl FnOnce(&mut RecordSink<'_>) -> R,
    ) -> Result<(u64, R), WalError> {
        let mut st = self.shared.state.lock();
        if let Some(f) = &st.failed {
            return Err(WalError::Failed(f.clone()));
        }
        if st.closed {
            return Err(WalError::Closed);
        }
        if st.segment_bytes > HEADER_LEN && st.segment_bytes >= self.shared.segment_size {
            st.segment += 1;
            st.segment_bytes = HEADER_LEN;
        }
        let segment = st.segment;
        if st.chunks.last().is_none_or(|c| c.segment != segment) {
            st.chunks.push(Chunk {
                segment,
                bytes: Vec::with_capacity(1 << 16),
            });
        }
        let chunk = st
            .chunks
            .last_mut()
            .map(|c| &mut c.bytes)
            .ok_or(WalError::Closed)?;
        let start = chunk.len();
        chunk.extend_from_slice(&[0u8; FRAME_LEN]);
        chunk[start + 8] = ty;
        let mut sink = RecordSink {
            segment,
            buf: chunk,
        };
        let r = encode(&mut sink);
        let len = chunk.len() - start - FRAME_LEN;
        let crc = crc32c::crc32c(&chunk[start + 8..]);
        chunk[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
        chunk[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        st.segment_bytes += (len + FRAME_LEN) as u64;
        st.appended += 1;
        let lsn = st.appended;
        drop(st);
        self.shared.wake.notify_one();
        Ok((lsn, r))
    }

    /// Waits until record `lsn` is fsynced.
    pub async fn wait(&self, lsn: u64) -> Result<(), WalError> {
        let mut rx = self.shared.progress.subscribe();
        let p = rx
            .wait_for(|p| p.durable >= lsn || p.failed.is_some())
            .await
            .map_err(|_| WalError::Closed)?;
        match &p.failed {
            Some(f) if p.durable < lsn => Err(WalError::Failed(f.clone())),
            _ => Ok(()),
        }
    }

    /// Blocking variant of [`Wal::wait`] (for non-async callers).
    pub fn wait_blocking(&self, lsn: u64) -> Result<(), WalError> {
        let mut rx = self.shared.progress.subscribe();
        loop {
            {
                let p = rx.borrow_and_update();
                if p.durable >= lsn {
                    return Ok(());
                }
                if let Some(f) = &p.failed {
                    return Err(WalError::Failed(f.clone()));
                }
            }
            // Short sleeps instead of a runtime: only used outside request paths.
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Starts a new segment for the records that follow and returns its
    /// number: every record appended before lies in a lower segment.
    pub fn cut(&self) -> u32 {
        let mut st = self.shared.state.lock();
        if st.segment_bytes > HEADER_LEN {
            st.segment += 1;
            st.segment_bytes = HEADER_LEN;
        }
        st.segment
    }

    /// Deletes every segment numbered below `segment` (its data is in blocks).
    pub fn truncate_before(&self, segment: u32) -> Result<usize, WalError> {
        let dir = &self.shared.dir;
        let mut n = 0;
        for s in list_segments(dir)? {
            if s < segment {
                let p = segment_path(dir, s);
                fs::remove_file(&p).map_err(io(&p))?;
                n += 1;
            }
        }
        if n > 0 {
            sync_dir(dir)?;
        }
        Ok(n)
    }

    /// Whether the WAL is healthy; the error text otherwise.
    pub fn failure(&self) -> Option<Arc<str>> {
        self.shared.state.lock().failed.clone()
    }

    /// Flushes what is pending and stops the writer thread.
    pub fn close(&self) {
        self.shared.state.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close();
    }
}

/// fsyncs a directory so renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

fn writer_loop(sh: &Shared) {
    let mut file: Option<(u32, File)> = None;
    loop {
        let (chunks, lsn, closed) = {
            let mut st = sh.state.lock();
            while st.chunks.is_empty() && !st.closed {
                sh.wake.wait(&mut st);
            }
            (std::mem::take(&mut st.chunks), st.appended, st.closed)
        };
        if !chunks.is_empty() {
            if let Err(e) = write_chunks(sh, &mut file, chunks) {
                let msg: Arc<str> = Arc::from(e.to_string());
                tracing::error!(error = %msg, "WAL write failed; ingest is refused until restart");
                sh.state.lock().failed = Some(msg.clone());
                sh.progress.send_modify(|p| p.failed = Some(msg));
                return;
            }
            sh.progress.send_modify(|p| p.durable = lsn);
        }
        if closed {
            let st = sh.state.lock();
            if st.chunks.is_empty() {
                return;
            }
        }
    }
}

fn write_chunks(
    sh: &Shared,
    file: &mut Option<(u32, File)>,
    chunks: Vec<Chunk>,
) -> Result<(), WalError> {
    let mut bytes = 0u64;
    for c in chunks {
        if file.as_ref().is_none_or(|(n, _)| *n != c.segment) {
            if let Some((n, f)) = file.take() {
                f.sync_data().map_err(io(&segment_path(&sh.dir, n)))?;
            }
            let p = segment_path(&sh.dir, c.segment);
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(io(&p))?;
            let mut header = [0u8; HEADER_LEN as usize];
            header[..4].copy_from_slice(MAGIC);
            header[4..].copy_from_slice(&VERSION.to_le_bytes());
            f.write_all(&header).map_err(io(&p))?;
            sync_dir(&sh.dir)?;
            sh.metrics.wal_segments_created.inc();
            *file = Some((c.segment, f));
        }
        if let Some((n, f)) = file.as_mut() {
            f.write_all(&c.bytes)
                .map_err(io(&segment_path(&sh.dir, *n)))?;
            bytes += c.bytes.len() as u64;
        }
    }
    if let Some((n, f)) = file.as_ref() {
        let t = Instant::now();
        f.sync_data().map_err(io(&segment_path(&sh.dir, *n)))?;
        sh.metrics
            .wal_fsync_seconds
            .observe(t.elapsed().as_secs_f64());
    }
    sh.metrics.wal_bytes_written.inc_by(bytes);
    Ok(())
}

/// One record read back on replay.
#[derive(Debug)]
pub struct ReplayRecord {
    /// Segment it came from.
    pub segment: u32,
    /// Record type.
    pub ty: u8,
    /// Payload.
    pub payload: Vec<u8>,
}

/// What replay found.
#[derive(Debug, Default)]
pub struct ReplayStats {
    /// Segments read.
    pub segments: usize,
    /// Records read.
    pub records: u64,
    /// Highest segment number seen (0 if none).
    pub last_segment: u32,
    /// Bytes cut off torn or corrupt tails.
    pub truncated_bytes: u64,
}

/// Reads every record of every segment in order, calling `apply` on each.
/// A torn or corrupt record ends its segment: the segment is truncated there
/// (such a record was never acknowledged if it is the last one written) and
/// replay goes on with the next segment.
pub fn replay(dir: &Path, mut apply: impl FnMut(ReplayRecord)) -> Result<ReplayStats, WalError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut stats = ReplayStats::default();
    for seg in list_segments(dir)? {
        stats.segments += 1;
        stats.last_segment = seg;
        let p = segment_path(dir, seg);
        let mut data = Vec::new();
        File::open(&p)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(io(&p))?;
        let valid_end = if data.len() < HEADER_LEN as usize || &data[..4] != MAGIC {
            tracing::error!(segment = %p.display(), "WAL segment has no valid header; ignoring its contents");
            0
        } else {
            let version = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
            if version != VERSION {
                return Err(WalError::Io {
                    path: p,
                    source: std::io::Error::other(format!(
                        "unsupported WAL version {version} (this build reads version {VERSION})"
                    )),
                });
            }
            let mut pos = HEADER_LEN as usize;
            while let Some(frame) = data.get(pos..pos + FRAME_LEN) {
                let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
                let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
                if len > MAX_RECORD {
                    break;
                }
                let Some(body) = data.get(pos + 8..pos + FRAME_LEN + len) else {
                    break;
                };
                if crc32c::crc32c(body) != crc {
                    break;
                }
                apply(ReplayRecord {
                    segment: seg,
                    ty: body[0],
                    payload: body[1..].to_vec(),
                });
                stats.records += 1;
                pos += FRAME_LEN + len;
            }
            pos
        };
        if valid_end < data.len() {
            let cut = (data.len() - valid_end) as u64;
            tracing::warn!(segment = %p.display(), offset = valid_end, bytes = cut,
                "WAL segment ends in a torn or corrupt record; truncating it there");
            stats.truncated_bytes += cut;
            let f = OpenOptions::new().write(true).open(&p).map_err(io(&p))?;
            f.set_len(valid_end.max(HEADER_LEN as usize) as u64)
                .map_err(io(&p))?;
            f.sync_all().map_err(io(&p))?;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Arc<TsdbMetrics> {
        Arc::new(TsdbMetrics::new(
            &mut prometheus_client::registry::Registry::default(),
        ))
    }

    #[tokio::test]
    async fn append_wait_replay_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), 0, 1 << 20, metrics()).unwrap();
        let mut last = 0;
        for i in 0..100u8 {
            let (lsn, ()) = wal
                .append(7, |s| s.buf().extend_from_slice(&[i; 10]))
                .unwrap();
            last = lsn;
        }
        wal.wait(last).await.unwrap();
        wal.close();
        let mut got = Vec::new();
        let st = replay(dir.path(), |r| got.push(r)).unwrap();
        assert_eq!(st.records, 100);
        assert_eq!(got[42].payload, vec![42u8; 10]);
        assert_eq!(got[0].ty, 7);
        // Tear the last record: replay keeps the 99 before it and truncates.
        let p = segment_path(dir.path(), 1);
        let len = fs::metadata(&p).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let st = replay(dir.path(), |_| {}).unwrap();
        assert_eq!(st.records, 99);
        assert_eq!(st.truncated_bytes, (FRAME_LEN + 10 - 3) as u64);
        // Flip a byte in the middle: everything from there on in that segment is dropped.
        let mut data = fs::read(&p).unwrap();
        let mid = HEADER_LEN as usize + 50 * (FRAME_LEN + 10) + FRAME_LEN + 2;
        data[mid] ^= 0xff;
        fs::write(&p, &data).unwrap();
        assert_eq!(replay(dir.path(), |_| {}).unwrap().records, 50);
    }

    #[tokio::test]
    async fn segments_rotate_cut_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), 4, 1000, metrics()).unwrap();
        let mut last = 0;
        for _ in 0..50 {
            last = wal
                .append(1, |s| s.buf().extend_from_slice(&[1; 100]))
                .unwrap()
                .0;
        }
        let cut = wal.cut();
        let (lsn, seg) = wal.append(1, |s| s.segment).unwrap();
        assert_eq!(seg, cut);
        wal.wait(lsn.max(last)).await.unwrap();
        let segs = list_segments(dir.path()).unwrap();
        assert_eq!(segs.first(), Some(&5));
        assert!(segs.len() > 3);
        wal.truncate_before(cut).unwrap();
        assert_eq!(list_segments(dir.path()).unwrap(), vec![cut]);
    }
}
