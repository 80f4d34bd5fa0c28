//! The spool: a bounded on-disk queue of remote-write batches, one directory
//! per destination, between the poller (which appends one batch per poll)
//! and the sender (which peeks, sends, and acknowledges after a 2xx).
//!
//! Synchronous (`std::fs`); callers on an async runtime wrap it in
//! `spawn_blocking` or a dedicated thread.
//!
//! # Guarantees
//!
//! - **At least once, in order.** Every batch for which [`Spool::append`]
//!   returned `Ok` is returned by [`Spool::peek`], in append order, until it
//!   is acknowledged with [`Spool::ack`] — across restarts and crashes
//!   (`kill -9`; with [`SpoolOptions::fsync`] also power loss) — unless it
//!   was dropped for space (reported by `append` as [`Dropped`]) or failed
//!   its checksum (reported by [`Spool::take_corrupted`]).
//! - **Duplicates only after a crash.** An acknowledged batch is never
//!   returned again by this `Spool` or by one opened after it was dropped.
//!   A crash between a send and its `ack` returns the in-flight batches
//!   again after restart; a power loss may also return batches
//!   acknowledged shortly before it.
//! - **Bounded.** Before an append would take the segment files past
//!   [`SpoolOptions::max_bytes`], the oldest segments are deleted whole,
//!   acknowledged or not — the newest data is kept. The segment being
//!   written is never deleted, so the bound holds as long as no record is
//!   larger than a segment ([`SpoolOptions::segment_bytes`] less its 8-byte
//!   header); `max_bytes` must be at least `segment_bytes`.
//!
//! # On-disk format, version 1
//!
//! This is the byte-level specification (the spool's counterpart of
//! `docs/format/wal.md`). All integers are little-endian.
//!
//! ```text
//! <spool dir>/
//!   00000000000000000001.seg   segments: 20-digit zero-padded numbers from 1,
//!   00000000000000000002.seg   so lexical order is append order; never reused
//!   cursor                     the first unacknowledged position
//!   cursor.tmp                 a cursor being written; deleted on open
//!   lock                       flock(2)ed while a Spool has the directory open
//! ```
//!
//! **Segment header** (8 bytes): magic `ALTS` (`41 4C 54 53`), then the
//! format version as u32 (= 1). A reader refuses versions it does not know.
//!
//! **Records** follow the header back to back, one per batch:
//!
//! | offset | size  | content                                             |
//! |--------|-------|-----------------------------------------------------|
//! | 0      | 4     | `len`: payload length, u32, at most 64 MiB          |
//! | 4      | 4     | CRC-32C (Castagnoli) of bytes 8..20, then the payload |
//! | 8      | 4     | `samples`: samples in the batch, u32                |
//! | 12     | 8     | `first_ts_ms`: oldest sample timestamp, i64 (ms since the epoch) |
//! | 20     | `len` | payload (the encoded remote-write request, opaque here) |
//!
//! A record's [`RecordId`] is (segment number, byte offset of its frame).
//! A segment is closed when the next record would take it past
//! `segment_bytes` (a record larger than that gets a segment of its own);
//! only the newest segment is ever written.
//!
//! **Cursor** (28 bytes): magic `ALTC` (`41 4C 54 43`), version u32 (= 1),
//! segment u64, offset u64, CRC-32C of bytes 0..24. Every record before
//! (segment, offset) is acknowledged. It is replaced atomically on each
//! `ack`: write `cursor.tmp`, rename over `cursor` (not fsynced, see
//! Durability). Segments numbered below the cursor's are fully acknowledged
//! and deleted; if the cursor's segment is gone (dropped for space, or
//! deleted once fully acknowledged) reading starts at the oldest segment
//! left.
//!
//! # Durability
//!
//! With `fsync` (the default) `append` returns after `fdatasync` of the
//! segment (and, for a new segment, of its header and the directory).
//! Without it, data reaches the page cache only: a process crash loses
//! nothing, a power loss may lose recent appends.
//!
//! `ack` replaces the cursor atomically (rename) but never fsyncs it: an
//! acknowledgement lost to a power loss only means its batches are sent
//! again (a stale or unreadable cursor re-delivers, it never skips), while
//! fsyncing after every send would cost more disk flushes than the appends
//! themselves.
//!
//! # Recovery (on [`Spool::open`])
//!
//! - The newest segment is read whole and every record's checksum is
//!   verified: the first frame that is cut short, longer than the file or
//!   64 MiB, or whose checksum does not match is the one being written when
//!   the process died (its `append` never returned `Ok`); the segment is
//!   truncated there with a `warn!`, and appends continue after the last
//!   good record.
//! - Older segments were complete (and, with `fsync`, on disk) before the
//!   next one was started, so only their frame lengths are walked (no
//!   payload reads) to rebuild the pending counters. A frame that does not
//!   fit its file there is disk corruption: the segment is truncated at it
//!   with an `error!` (records after it cannot be counted) and the
//!   following segments are kept. Their checksums are verified by `peek`.
//! - A missing or unreadable cursor (bad magic or checksum) means "nothing
//!   acknowledged": everything left is delivered again (`warn!`). A cursor
//!   inside a record moves back to that record's start.
//! - A newest segment no longer than its header and without a valid one (a
//!   crash while creating it) gets its header rewritten; any other segment
//!   without a valid header is refused with an error, as is an unknown
//!   version in a segment or the cursor (nothing is deleted).
//! - An `append` that returned an error may still be delivered (at least
//!   once): its record can be complete on disk.
//!
//! # Corruption in older records
//!
//! A record whose checksum fails when [`Spool::peek`] reads it — disk
//! corruption, since torn writes only happen at the newest segment's tail
//! and are removed on open — is **skipped, with an `error!`**, together
//! with the rest of its segment (after a bad frame its successors' framing
//! cannot be trusted); the segment file is truncated there and reading
//! continues with the next segment. The skipped records and their samples
//! (as counted from their headers) are added to [`Spool::take_corrupted`],
//! so the agent can count them as lost. Stopping the queue instead would
//! block the destination until the spool filled and dropped the bad
//! segment anyway.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use tracing::{debug, error, info, warn};

/// Magic at the start of every segment file.
const SEGMENT_MAGIC: &[u8; 4] = b"ALTS";
/// Magic at the start of the cursor file.
const CURSOR_MAGIC: &[u8; 4] = b"ALTC";
/// The on-disk format version this code reads and writes.
const VERSION: u32 = 1;
/// Segment header: magic + version.
const SEGMENT_HEADER_LEN: u64 = 8;
/// Record frame header: len, crc, samples, first_ts_ms.
const FRAME_LEN: usize = 20;
/// Largest payload accepted by `append` and on read.
const MAX_PAYLOAD: usize = 64 << 20;
/// Cursor file: magic, version, segment, offset, crc.
const CURSOR_LEN: usize = 28;
const CURSOR_FILE: &str = "cursor";
const CURSOR_TMP: &str = "cursor.tmp";
const LOCK_FILE: &str = "lock";
const SEGMENT_SUFFIX: &str = ".seg";

/// Spool sizing and durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Upper bound on the segment files' total size, in bytes; the oldest
    /// segments are deleted to stay under it. At least `segment_bytes`.
    pub max_bytes: u64,
    /// A segment is closed when the next record would take it past this
    /// size, in bytes.
    pub segment_bytes: u64,
    /// fsync on `append` and `ack`, so that they survive a power loss.
    pub fsync: bool,
}

impl Default for SpoolOptions {
    /// 256 MiB in 8 MiB segments, fsync on.
    fn default() -> Self {
        SpoolOptions {
            max_bytes: 256 << 20,
            segment_bytes: 8 << 20,
            fsync: true,
        }
    }
}

/// Where a record is stored: its segment number and the byte offset of its
/// frame. Ids order records in append order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId {
    segment: u64,
    offset: u64,
}

impl RecordId {
    /// The segment number.
    pub fn segment(self) -> u64 {
        self.segment
    }

    /// The byte offset of the record's frame in its segment.
    pub fn offset(self) -> u64 {
        self.offset
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}{SEGMENT_SUFFIX}@{}", self.segment, self.offset)
    }
}

/// One stored batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its position; pass it to [`Spool::ack`] once it is delivered.
    pub id: RecordId,
    /// Samples in the batch, as given to `append`.
    pub samples: u32,
    /// Oldest sample timestamp of the batch (ms since the epoch), as given to
    /// `append`.
    pub first_ts_ms: i64,
    /// The batch, as given to `append`.
    pub payload: Vec<u8>,
}

/// Unacknowledged records lost, and the samples they held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Records lost.
    pub records: u64,
    /// Samples in those records.
    pub samples: u64,
}

impl Dropped {
    fn add(&mut self, other: Dropped) {
        self.records += other.records;
        self.samples += other.samples;
    }
}

/// Spool failures. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A filesystem operation failed.
    #[error("spool: cannot {op} {path}: {source}; {hint}", hint = io_hint(.source))]
    Io {
        /// What was being done ("create directory", "fsync", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Another process has the spool directory open.
    #[error(
        "spool directory {path} is in use by another process; run one agent per spool directory (agent.spool_dir, --spool-dir)"
    )]
    Locked {
        /// The spool directory.
        path: PathBuf,
    },
    /// A file named like a segment that is not one.
    #[error(
        "{path} is not an Altimeter spool segment ({detail}); move it out of the spool directory"
    )]
    NotASegment {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: &'static str,
    },
    /// A file written by a newer (or unknown) format version.
    #[error(
        "{path} has spool format version {found}, this agent reads version {VERSION}; \
         upgrade the agent, or move the spool directory away (its data is then not sent)"
    )]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// `append` of a batch above the record size limit.
    #[error(
        "batch of {len} bytes exceeds the spool's {MAX_PAYLOAD}-byte record limit; \
         split it into smaller batches"
    )]
    TooLarge {
        /// The payload size.
        len: usize,
    },
    /// `ack` of an id that is not a pending record.
    #[error("ack({id}): {reason}; acknowledge only ids returned by peek (a bug in the caller)")]
    BadAck {
        /// The id given.
        id: RecordId,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Unusable options.
    #[error("invalid spool options: {0}")]
    Options(String),
}

fn io_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "check that the agent's user can write the spool directory (agent.spool_dir, --spool-dir)"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "the disk is full: free space or lower agent.spool_max_size"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            "the filesystem is read-only: point agent.spool_dir (--spool-dir) at a writable one"
        }
        _ => "check the disk and the spool directory (agent.spool_dir, --spool-dir)",
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A record frame header.
#[derive(Debug, Clone, Copy)]
struct Frame {
    len: u32,
    crc: u32,
    samples: u32,
    first_ts_ms: i64,
}

impl Frame {
    fn decode(b: &[u8; FRAME_LEN]) -> Frame {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[12..20]);
        Frame {
            len: u32_at(0),
            crc: u32_at(4),
            samples: u32_at(8),
            first_ts_ms: i64::from_le_bytes(ts),
        }
    }

    /// The whole record: frame header then payload.
    fn encode(samples: u32, first_ts_ms: i64, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).expect("payload length checked by the caller");
        let mut buf = Vec::with_capacity(FRAME_LEN + payload.len());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&samples.to_le_bytes());
        buf.extend_from_slice(&first_ts_ms.to_le_bytes());
        buf.extend_from_slice(payload);
        let crc = crc32c::crc32c(&buf[8..]);
        buf[4..8].copy_from_slice(&crc.to_le_bytes());
        buf
    }

    /// Record size on disk, frame header included.
    fn bytes(&self) -> u64 {
        FRAME_LEN as u64 + u64::from(self.len)
    }

    fn checks(&self, header: &[u8; FRAME_LEN], payload: &[u8]) -> bool {
        crc32c::crc32c_append(crc32c::crc32c(&header[8..]), payload) == self.crc
    }

    /// Why a frame at `offset` cannot be one in a segment of `seg_len` valid
    /// bytes, if it cannot.
    fn framing_error(&self, offset: u64, seg_len: u64) -> Option<&'static str> {
        if self.len as usize > MAX_PAYLOAD {
            Some("length above the 64 MiB limit")
        } else if offset + self.bytes() > seg_len {
            Some("record runs past the end of the segment")
        } else {
            None
        }
    }
}

/// Records, samples and on-disk bytes (frame headers included) of a run of
/// records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    records: u64,
    samples: u64,
    bytes: u64,
}

impl Counts {
    /// Counts one more record of `samples` samples and `bytes` bytes.
    fn add(&mut self, samples: u32, bytes: u64) {
        self.records += 1;
        self.samples += u64::from(samples);
        self.bytes += bytes;
    }

    fn dropped(&self) -> Dropped {
        Dropped {
            records: self.records,
            samples: self.samples,
        }
    }
}

/// One segment's state.
#[derive(Debug)]
struct Segment {
    seq: u64,
    /// Valid bytes (header and whole records); appends go here.
    len: u64,
    /// Its unacknowledged records.
    pending: Counts,
}

/// A bounded, crash-safe, append-only queue of batches in one directory.
/// See the module documentation for the format and the guarantees.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    opts: SpoolOptions,
    /// The directory itself, for fsyncing entries.
    dir_file: File,
    /// Holds the flock on `lock`.
    _lock: File,
    /// Never empty: the front segment holds the cursor, the back one is
    /// written to. Every segment before the cursor is deleted.
    segments: VecDeque<Segment>,
    /// The back segment, read-write.
    writer: File,
    /// A read handle on an older segment, by number.
    reader: Option<(u64, File)>,
    /// First unacknowledged position; `segment` is the front segment's.
    cursor: RecordId,
    /// `first_ts_ms` of the record at the cursor, if any is pending.
    oldest_ts_ms: Option<i64>,
    /// Dropped for space by an `append` that then failed; reported by the
    /// next successful one.
    unreported: Dropped,
    /// Skipped as corrupt since the last `take_corrupted`.
    corrupted: Dropped,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SEGMENT_SUFFIX}"))
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Segment numbers in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, SpoolError> {
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        match name.to_str().and_then(parse_segment_name) {
            Some(seq) => seqs.push(seq),
            None => {
                let known = [CURSOR_FILE, CURSOR_TMP, LOCK_FILE];
                if !name.to_str().is_some_and(|n| known.contains(&n)) {
                    debug!(dir = %dir.display(), file = ?name, "spool: ignoring unknown file");
                }
            }
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

fn encode_cursor(at: RecordId) -> [u8; CURSOR_LEN] {
    let mut buf = [0u8; CURSOR_LEN];
    buf[..4].copy_from_slice(CURSOR_MAGIC);
    buf[4..8].copy_from_slice(&VERSION.to_le_bytes());
    buf[8..16].copy_from_slice(&at.segment.to_le_bytes());
    buf[16..24].copy_from_slice(&at.offset.to_le_bytes());
    let crc = crc32c::crc32c(&buf[..24]);
    buf[24..].copy_from_slice(&crc.to_le_bytes());
    buf
}

/// The stored cursor; `None` when there is none or it is unreadable (then
/// everything left is delivered again).
fn read_cursor(dir: &Path) -> Result<Option<RecordId>, SpoolError> {
    let path = dir.join(CURSOR_FILE);
    let buf = match fs::read(&path) {
        Ok(buf) => buf,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[i..i + 8]);
        u64::from_le_bytes(b)
    };
    if buf.len() != CURSOR_LEN || &buf[..4] != CURSOR_MAGIC {
        warn!(path = %path.display(), "spool: cursor file is damaged; every record left will be sent again");
        return Ok(None);
    }
    let version = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if version != VERSION {
        return Err(SpoolError::UnknownVersion {
            path,
            found: version,
        });
    }
    let crc = u32::from_le_bytes([buf[24], buf[25], buf[26], buf[27]]);
    if crc32c::crc32c(&buf[..24]) != crc {
        warn!(path = %path.display(), "spool: cursor checksum mismatch; every record left will be sent again");
        return Ok(None);
    }
    Ok(Some(RecordId {
        segment: u64_at(8),
        offset: u64_at(16),
    }))
}

/// The end of a segment's valid records, and the first bad frame if any.
#[derive(Debug)]
struct Scan {
    end: u64,
    bad: Option<&'static str>,
}

/// Walks a segment's frames from its header, calling `each(offset, frame)`
/// for each valid one. Checksums are verified for frames at offsets
/// `>= verify_from`; earlier frames are only checked to fit the file.
fn scan_segment(
    file: &File,
    path: &Path,
    file_len: u64,
    verify_from: u64,
    mut each: impl FnMut(u64, &Frame),
) -> Result<Scan, SpoolError> {
    let mut r = BufReader::with_capacity(1 << 16, file);
    r.seek(SeekFrom::Start(SEGMENT_HEADER_LEN))
        .map_err(io_err("read", path))?;
    let mut payload = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    loop {
        if pos == file_len {
            return Ok(Scan {
                end: pos,
                bad: None,
            });
        }
        let bad = |reason| {
            Ok(Scan {
                end: pos,
                bad: Some(reason),
            })
        };
        if file_len - pos < FRAME_LEN as u64 {
            return bad("record header cut short");
        }
        let mut header = [0u8; FRAME_LEN];
        r.read_exact(&mut header).map_err(io_err("read", path))?;
        let frame = Frame::decode(&header);
        if let Some(reason) = frame.framing_error(pos, file_len) {
            return bad(reason);
        }
        if pos >= verify_from {
            payload.resize(frame.len as usize, 0);
            r.read_exact(&mut payload).map_err(io_err("read", path))?;
            if !frame.checks(&header, &payload) {
                return bad("checksum mismatch");
            }
        } else {
            r.seek_relative(i64::from(frame.len))
                .map_err(io_err("read", path))?;
        }
        each(pos, &frame);
        pos += frame.bytes();
    }
}

/// Reads the frame header at `offset`.
fn read_frame(
    file: &File,
    path: &Path,
    offset: u64,
) -> Result<([u8; FRAME_LEN], Frame), SpoolError> {
    let mut header = [0u8; FRAME_LEN];
    file.read_exact_at(&mut header, offset)
        .map_err(io_err("read", path))?;
    Ok((header, Frame::decode(&header)))
}

fn segment_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[..4].copy_from_slice(SEGMENT_MAGIC);
    h[4..].copy_from_slice(&VERSION.to_le_bytes());
    h
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Creates (or empties) segment `seq` holding just its header, durably with
/// `fsync`.
fn create_segment(dir: &Path, dir_file: &File, seq: u64, fsync: bool) -> Result<File, SpoolError> {
    let path = segment_path(dir, seq);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io_err("create", &path))?;
    file.write_all_at(&segment_header(), 0)
        .map_err(io_err("write to", &path))?;
    if fsync {
        file.sync_data().map_err(io_err("fsync", &path))?;
        dir_file.sync_all().map_err(io_err("fsync", dir))?;
    }
    Ok(file)
}

/// A segment as found by [`recover_segment`].
#[derive(Debug)]
struct Recovered {
    file: File,
    segment: Segment,
    /// Start of a record that `count_from` falls inside.
    straddled: Option<u64>,
}

/// Checks segment `seq`'s header, walks its records (verifying checksums if
/// it is the newest), truncates it at the first bad frame, and counts the
/// records ending after `count_from` as pending.
fn recover_segment(
    dir: &Path,
    seq: u64,
    newest: bool,
    count_from: u64,
    fsync: bool,
) -> Result<Recovered, SpoolError> {
    let path = segment_path(dir, seq);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    let mut file_len = file.metadata().map_err(io_err("stat", &path))?.len();
    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    let short = file_len < SEGMENT_HEADER_LEN;
    if !short {
        file.read_exact_at(&mut header, 0)
            .map_err(io_err("read", &path))?;
    }
    if short || &header[..4] != SEGMENT_MAGIC {
        if !(newest && file_len <= SEGMENT_HEADER_LEN) {
            return Err(SpoolError::NotASegment {
                path,
                detail: if short { "too short" } else { "bad magic" },
            });
        }
        warn!(path = %path.display(), "spool: newest segment has no valid header (crash while creating it); rewriting it");
        file.set_len(0).map_err(io_err("truncate", &path))?;
        file.write_all_at(&segment_header(), 0)
            .map_err(io_err("write to", &path))?;
        if fsync {
            file.sync_data().map_err(io_err("fsync", &path))?;
        }
        file_len = SEGMENT_HEADER_LEN;
    } else {
        let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if version != VERSION {
            return Err(SpoolError::UnknownVersion {
                path,
                found: version,
            });
        }
    }

    // Only the newest segment can end in a torn write: verify its checksums
    // (from the cursor on); walk the lengths of the others.
    let verify_from = if newest { count_from } else { u64::MAX };
    let mut pending = Counts::default();
    let mut straddled = None;
    let scan = scan_segment(&file, &path, file_len, verify_from, |offset, frame| {
        let end = offset + frame.bytes();
        if end <= count_from {
            return;
        }
        if offset < count_from {
            straddled = Some(offset);
        }
        pending.add(frame.samples, frame.bytes());
    })?;
    if let Some(reason) = scan.bad {
        let lost = file_len - scan.end;
        if newest {
            warn!(
                path = %path.display(), offset = scan.end, bytes = lost, reason,
                "spool: truncating a torn record at the end of the newest segment \
                 (it was being written when the agent stopped; it was never acknowledged)"
            );
        } else {
            error!(
                path = %path.display(), offset = scan.end, bytes = lost, reason,
                "spool: corrupt record in an older segment (disk corruption?); \
                 discarding the rest of that segment"
            );
        }
        file.set_len(scan.end).map_err(io_err("truncate", &path))?;
        if fsync {
            file.sync_data().map_err(io_err("fsync", &path))?;
        }
    }
    Ok(Recovered {
        file,
        segment: Segment {
            seq,
            len: scan.end,
            pending,
        },
        straddled,
    })
}

/// Takes the flock on `dir/lock`, held as long as the returned file is open.
fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err("create", &path))?;
    match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(lock),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(SpoolError::Locked {
            path: dir.to_path_buf(),
        }),
        Err(e) => Err(io_err("lock", &path)(e.into())),
    }
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir` and recovers after a
    /// crash: truncates a torn record at the end, deletes fully acknowledged
    /// segments, and rebuilds the pending counters from the record headers
    /// after the stored cursor. Fails if another process has it open.
    pub fn open(dir: &Path, opts: SpoolOptions) -> Result<Spool, SpoolError> {
        let min_segment = SEGMENT_HEADER_LEN + FRAME_LEN as u64;
        if opts.segment_bytes < min_segment {
            return Err(SpoolError::Options(format!(
                "segment_bytes is {}, the minimum is {min_segment}",
                opts.segment_bytes
            )));
        }
        if opts.max_bytes < opts.segment_bytes {
            return Err(SpoolError::Options(format!(
                "max_bytes ({}) is below segment_bytes ({}); raise agent.spool_max_size \
                 (or lower the segment size)",
                opts.max_bytes, opts.segment_bytes
            )));
        }
        fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let dir_file = File::open(dir).map_err(io_err("open directory", dir))?;
        let lock = lock_dir(dir)?;
        let tmp = dir.join(CURSOR_TMP);
        remove_if_exists(&tmp).map_err(io_err("remove", &tmp))?;

        let listed = list_segments(dir)?;
        let stored = read_cursor(dir)?;
        let mut cursor = stored.unwrap_or(RecordId {
            segment: 0,
            offset: 0,
        });
        let mut kept = Vec::with_capacity(listed.len());
        for &seq in &listed {
            if seq < cursor.segment {
                // Fully acknowledged; the process died before deleting it.
                let path = segment_path(dir, seq);
                remove_if_exists(&path).map_err(io_err("remove", &path))?;
                debug!(path = %path.display(), "spool: removed acknowledged segment");
            } else {
                kept.push(seq);
            }
        }
        match kept.first() {
            Some(&first) if first == cursor.segment => {
                cursor.offset = cursor.offset.max(SEGMENT_HEADER_LEN);
            }
            Some(&first) => {
                cursor = RecordId {
                    segment: first,
                    offset: SEGMENT_HEADER_LEN,
                };
            }
            None => {
                // Numbers are never reused, even if every file is gone.
                let seq = listed.last().copied().unwrap_or(0).max(cursor.segment) + 1;
                create_segment(dir, &dir_file, seq, opts.fsync)?;
                kept.push(seq);
                cursor = RecordId {
                    segment: seq,
                    offset: SEGMENT_HEADER_LEN,
                };
            }
        }

        let mut segments = VecDeque::with_capacity(kept.len());
        let mut writer = None;
        for (i, &seq) in kept.iter().enumerate() {
            let newest = i + 1 == kept.len();
            let count_from = if i == 0 {
                cursor.offset
            } else {
                SEGMENT_HEADER_LEN
            };
            let found = recover_segment(dir, seq, newest, count_from, opts.fsync)?;
            if i == 0 {
                let path = segment_path(dir, seq);
                if let Some(offset) = found.straddled {
                    warn!(path = %path.display(), cursor = cursor.offset, record = offset,
                          "spool: cursor points inside a record; sending that record again");
                    cursor.offset = offset;
                } else if cursor.offset > found.segment.len {
                    warn!(path = %path.display(), cursor = cursor.offset, end = found.segment.len,
                          "spool: cursor is past the end of its segment; treating the segment as acknowledged");
                    cursor.offset = found.segment.len;
                }
            }
            segments.push_back(found.segment);
            if newest {
                writer = Some(found.file);
            }
        }

        let mut spool = Spool {
            dir: dir.to_path_buf(),
            opts,
            dir_file,
            _lock: lock,
            segments,
            writer: writer.expect("at least one segment is kept"),
            reader: None,
            cursor,
            oldest_ts_ms: None,
            unreported: Dropped::default(),
            corrupted: Dropped::default(),
        };
        spool.drop_acknowledged_segments();
        spool.refresh_oldest()?;
        info!(
            dir = %dir.display(),
            segments = spool.segments.len(),
            pending_records = spool.pending_records(),
            pending_bytes = spool.pending_bytes(),
            "spool: opened"
        );
        Ok(spool)
    }

    /// Appends one batch; it is durable when this returns (with
    /// [`SpoolOptions::fsync`]). If the spool would exceed `max_bytes`, the
    /// oldest segments (except the one being written) are deleted first; the
    /// unacknowledged records they held are returned.
    pub fn append(
        &mut self,
        samples: u32,
        first_ts_ms: i64,
        payload: &[u8],
    ) -> Result<Dropped, SpoolError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(SpoolError::TooLarge { len: payload.len() });
        }
        let record = Frame::encode(samples, first_ts_ms, payload);
        let record_len = record.len() as u64;
        let active = self.segments.back().expect("segments are never empty");
        if active.len > SEGMENT_HEADER_LEN && active.len + record_len > self.opts.segment_bytes {
            self.roll_over()?;
        }
        self.make_room(record_len)?;

        let active = self.segments.back().expect("segments are never empty");
        let (seq, at) = (active.seq, active.len);
        let path = segment_path(&self.dir, seq);
        if let Err(e) = self.writer.write_all_at(&record, at) {
            // Leave no partial record behind (a later append would overwrite
            // it anyway, and open() would truncate it).
            let _ = self.writer.set_len(at);
            return Err(io_err("write to", &path)(e));
        }
        if self.opts.fsync {
            self.writer.sync_data().map_err(io_err("fsync", &path))?;
        }
        let active = self.segments.back_mut().expect("segments are never empty");
        active.len += record_len;
        active.pending.add(samples, record_len);
        if self.oldest_ts_ms.is_none() {
            self.oldest_ts_ms = Some(first_ts_ms);
        }
        Ok(std::mem::take(&mut self.unreported))
    }

    /// Returns the oldest unacknowledged records, in order, without consuming
    /// them: at most `max_records`, and at most `max_bytes` of payload — but
    /// at least one if any is pending, however large. Records failing their
    /// checksum are skipped (see [`Spool::take_corrupted`]).
    pub fn peek(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Record>, SpoolError> {
        let max_records = max_records.max(1);
        let mut out = Vec::new();
        let mut payload_bytes = 0usize;
        let mut idx = 0;
        let mut pos = self.cursor.offset;
        // Pending records read from segments[idx] by this call so far.
        let mut read_here = Counts::default();
        let mut skipped = false;
        while out.len() < max_records {
            let (seq, seg_len) = (self.segments[idx].seq, self.segments[idx].len);
            if pos >= seg_len {
                if idx + 1 == self.segments.len() {
                    break;
                }
                idx += 1;
                pos = SEGMENT_HEADER_LEN;
                read_here = Counts::default();
                continue;
            }
            let path = segment_path(&self.dir, seq);
            let file = self.file_for(idx)?;
            let (header, frame) = read_frame(file, &path, pos)?;
            let bad = match frame.framing_error(pos, seg_len) {
                Some(reason) => Some(reason),
                None => {
                    if !out.is_empty() && payload_bytes + frame.len as usize > max_bytes {
                        break;
                    }
                    let mut payload = vec![0u8; frame.len as usize];
                    file.read_exact_at(&mut payload, pos + FRAME_LEN as u64)
                        .map_err(io_err("read", &path))?;
                    if frame.checks(&header, &payload) {
                        payload_bytes += payload.len();
                        read_here.add(frame.samples, frame.bytes());
                        out.push(Record {
                            id: RecordId {
                                segment: seq,
                                offset: pos,
                            },
                            samples: frame.samples,
                            first_ts_ms: frame.first_ts_ms,
                            payload,
                        });
                        pos += frame.bytes();
                        None
                    } else {
                        Some("checksum mismatch")
                    }
                }
            };
            if let Some(reason) = bad {
                self.discard_tail(idx, pos, read_here, reason)?;
                skipped = true;
            }
        }
        if skipped {
            self.drop_acknowledged_segments();
            self.refresh_oldest()?;
        }
        Ok(out)
    }

    /// Marks every record up to and including `upto` delivered: persists the
    /// cursor after it (crash-safe) and deletes fully acknowledged segments.
    /// Acknowledging an already acknowledged or dropped record does nothing.
    pub fn ack(&mut self, upto: RecordId) -> Result<(), SpoolError> {
        if upto < self.cursor {
            return Ok(());
        }
        let bad = |reason| Err(SpoolError::BadAck { id: upto, reason });
        // Walk the headers from the cursor to `upto`, collecting what each
        // segment loses.
        let mut idx = 0;
        let mut pos = self.cursor.offset;
        let mut acked = vec![Counts::default(); self.segments.len()];
        loop {
            let (seq, seg_len) = (self.segments[idx].seq, self.segments[idx].len);
            if seq > upto.segment || (seq == upto.segment && pos > upto.offset) {
                return bad("not the start of a record");
            }
            if pos >= seg_len {
                if idx + 1 == self.segments.len() {
                    return bad("past the last appended record");
                }
                idx += 1;
                pos = SEGMENT_HEADER_LEN;
                continue;
            }
            let path = segment_path(&self.dir, seq);
            let (_, frame) = read_frame(self.file_for(idx)?, &path, pos)?;
            if frame.framing_error(pos, seg_len).is_some() {
                return bad("the records before it are not readable");
            }
            acked[idx].add(frame.samples, frame.bytes());
            let this = pos;
            pos += frame.bytes();
            if seq == upto.segment && this == upto.offset {
                break;
            }
        }
        let cursor = RecordId {
            segment: self.segments[idx].seq,
            offset: pos,
        };
        self.write_cursor(cursor)?;
        for (seg, done) in self.segments.iter_mut().zip(&acked) {
            seg.pending.records -= done.records;
            seg.pending.samples -= done.samples;
            seg.pending.bytes -= done.bytes;
        }
        self.cursor = cursor;
        self.drop_acknowledged_segments();
        self.refresh_oldest()
    }

    /// Records and samples skipped because they failed their checksum since
    /// the last call (see "Corruption in older records" in the module
    /// documentation). Add them to the lost-samples count.
    pub fn take_corrupted(&mut self) -> Dropped {
        std::mem::take(&mut self.corrupted)
    }

    /// Unacknowledged records.
    pub fn pending_records(&self) -> u64 {
        self.segments.iter().map(|s| s.pending.records).sum()
    }

    /// Samples in the unacknowledged records.
    pub fn pending_samples(&self) -> u64 {
        self.segments.iter().map(|s| s.pending.samples).sum()
    }

    /// Bytes of the unacknowledged records on disk, frame headers included.
    pub fn pending_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.pending.bytes).sum()
    }

    /// `first_ts_ms` of the oldest unacknowledged record.
    pub fn oldest_pending_ts_ms(&self) -> Option<i64> {
        self.oldest_ts_ms
    }

    /// A handle to read `segments[idx]`.
    fn file_for(&mut self, idx: usize) -> Result<&File, SpoolError> {
        if idx + 1 == self.segments.len() {
            return Ok(&self.writer);
        }
        let seq = self.segments[idx].seq;
        if self.reader.as_ref().is_none_or(|(s, _)| *s != seq) {
            let path = segment_path(&self.dir, seq);
            let file = File::open(&path).map_err(io_err("open", &path))?;
            self.reader = Some((seq, file));
        }
        Ok(&self.reader.as_ref().expect("just set").1)
    }

    /// Closes the segment being written and starts the next one.
    fn roll_over(&mut self) -> Result<(), SpoolError> {
        let seq = self.segments.back().expect("segments are never empty").seq + 1;
        let file = create_segment(&self.dir, &self.dir_file, seq, self.opts.fsync)?;
        self.writer = file;
        self.segments.push_back(Segment {
            seq,
            len: SEGMENT_HEADER_LEN,
            pending: Counts::default(),
        });
        self.drop_acknowledged_segments();
        Ok(())
    }

    /// Deletes the oldest segments until `incoming` more bytes fit under
    /// `max_bytes` (never the one being written), adding what they held to
    /// `self.unreported`.
    fn make_room(&mut self, incoming: u64) -> Result<(), SpoolError> {
        let mut total: u64 = self.segments.iter().map(|s| s.len).sum();
        let mut dropped = Dropped::default();
        let mut deleted = 0;
        while total + incoming > self.opts.max_bytes && self.segments.len() > 1 {
            let seq = self.segments[0].seq;
            let path = segment_path(&self.dir, seq);
            remove_if_exists(&path).map_err(io_err("remove", &path))?;
            let seg = self.segments.pop_front().expect("more than one segment");
            total -= seg.len;
            dropped.add(seg.pending.dropped());
            self.unreported.add(seg.pending.dropped());
            deleted += 1;
            if self.reader.as_ref().is_some_and(|(s, _)| *s == seq) {
                self.reader = None;
            }
            self.cursor = RecordId {
                segment: self.segments[0].seq,
                offset: SEGMENT_HEADER_LEN,
            };
        }
        if deleted > 0 {
            if self.opts.fsync {
                self.dir_file
                    .sync_all()
                    .map_err(io_err("fsync", &self.dir))?;
            }
            warn!(
                dir = %self.dir.display(),
                segments = deleted,
                records = dropped.records,
                samples = dropped.samples,
                max_bytes = self.opts.max_bytes,
                "spool: full, dropped the oldest unsent data (is the destination down?)"
            );
            self.refresh_oldest()?;
        }
        Ok(())
    }

    /// Drops the records of `segments[idx]` from `at` on (a bad frame there):
    /// truncates the file, and counts the pending records lost — all of the
    /// segment's except `kept`, those this peek read before `at`.
    fn discard_tail(
        &mut self,
        idx: usize,
        at: u64,
        kept: Counts,
        reason: &'static str,
    ) -> Result<(), SpoolError> {
        let last = idx + 1 == self.segments.len();
        let seg = &mut self.segments[idx];
        let lost = Dropped {
            records: seg.pending.records.saturating_sub(kept.records),
            samples: seg.pending.samples.saturating_sub(kept.samples),
        };
        let lost_bytes = seg.len - at;
        let path = segment_path(&self.dir, seg.seq);
        seg.pending = kept;
        seg.len = at;
        self.corrupted.add(lost);
        error!(
            path = %path.display(), offset = at, bytes = lost_bytes, reason,
            records = lost.records, samples = lost.samples,
            "spool: corrupt record (disk corruption?); skipping the rest of its segment"
        );
        let opened;
        let file = if last {
            &self.writer
        } else {
            self.reader = None;
            opened = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            &opened
        };
        file.set_len(at).map_err(io_err("truncate", &path))?;
        if self.opts.fsync {
            file.sync_data().map_err(io_err("fsync", &path))?;
        }
        Ok(())
    }

    /// Deletes the front segments whose records are all acknowledged (never
    /// the one being written), so that the cursor is in the front segment —
    /// at its start if it was at the end of a deleted one. A failed delete is
    /// only logged: open() deletes the file next time.
    fn drop_acknowledged_segments(&mut self) {
        while self.segments.len() > 1 {
            let front = &self.segments[0];
            let acknowledged = front.seq < self.cursor.segment
                || (front.seq == self.cursor.segment && self.cursor.offset >= front.len);
            if !acknowledged {
                break;
            }
            let seg = self.segments.pop_front().expect("more than one segment");
            debug_assert_eq!(
                seg.pending.records, 0,
                "a fully acknowledged segment has no pending records"
            );
            let path = segment_path(&self.dir, seg.seq);
            if let Err(e) = remove_if_exists(&path) {
                warn!(path = %path.display(), error = %e, "spool: cannot delete an acknowledged segment; it is retried on the next start");
            }
            if self.reader.as_ref().is_some_and(|(s, _)| *s == seg.seq) {
                self.reader = None;
            }
            if self.cursor.segment < self.segments[0].seq {
                self.cursor = RecordId {
                    segment: self.segments[0].seq,
                    offset: SEGMENT_HEADER_LEN,
                };
            }
        }
    }

    /// Re-reads `first_ts_ms` of the record at the cursor.
    fn refresh_oldest(&mut self) -> Result<(), SpoolError> {
        self.oldest_ts_ms = None;
        if self.pending_records() == 0 {
            return Ok(());
        }
        let path = segment_path(&self.dir, self.cursor.segment);
        let offset = self.cursor.offset;
        let (_, frame) = read_frame(self.file_for(0)?, &path, offset)?;
        self.oldest_ts_ms = Some(frame.first_ts_ms);
        Ok(())
    }

    /// Atomically replaces the stored cursor.
    fn write_cursor(&self, at: RecordId) -> Result<(), SpoolError> {
        let tmp = self.dir.join(CURSOR_TMP);
        // No fsync: see "Durability" in the module documentation.
        let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(&encode_cursor(at))
            .map_err(io_err("write to", &tmp))?;
        let path = self.dir.join(CURSOR_FILE);
        fs::rename(&tmp, &path).map_err(io_err("rename to", &path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
