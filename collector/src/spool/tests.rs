use super::*;
use proptest::prelude::*;
use tempfile::TempDir;

/// Payload of test record `tag`: the tag, then `len - 8` bytes derived
/// from it (shorter payloads are a prefix of the tag).
fn payload(tag: u64, len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = tag.to_le_bytes().into_iter().collect();
    p.extend((0..len.saturating_sub(8)).map(|i| (tag as u8).wrapping_mul(31) ^ i as u8));
    p.truncate(len);
    p
}

fn ts(tag: u64) -> i64 {
    1_700_000_000_000 + tag as i64 * 10_000
}

fn opts(segment_bytes: u64, max_bytes: u64) -> SpoolOptions {
    SpoolOptions {
        max_bytes,
        segment_bytes,
        fsync: true,
    }
}

/// Appends record `tag` with `tag + 1` samples and a `len`-byte payload.
fn put(spool: &mut Spool, tag: u64, len: usize) -> Dropped {
    spool
        .append(tag as u32 + 1, ts(tag), &payload(tag, len))
        .expect("append")
}

fn tags(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .map(|r| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&r.payload[..8]);
            let tag = u64::from_le_bytes(b);
            assert_eq!(r.payload, payload(tag, r.payload.len()), "payload of {tag}");
            assert_eq!(r.samples, tag as u32 + 1, "samples of {tag}");
            assert_eq!(r.first_ts_ms, ts(tag), "first_ts_ms of {tag}");
            tag
        })
        .collect()
}

fn all(spool: &mut Spool) -> Vec<Record> {
    spool.peek(usize::MAX, usize::MAX).expect("peek")
}

fn segment_files(dir: &Path) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let seq = parse_segment_name(e.file_name().to_str()?)?;
            Some((seq, e.metadata().unwrap().len()))
        })
        .collect();
    v.sort_unstable();
    v
}

fn disk_bytes(dir: &Path) -> u64 {
    segment_files(dir).iter().map(|(_, len)| len).sum()
}

/// Pending counters as a tuple, for one-line asserts.
fn counters(spool: &Spool) -> (u64, u64, u64, Option<i64>) {
    (
        spool.pending_records(),
        spool.pending_samples(),
        spool.pending_bytes(),
        spool.oldest_pending_ts_ms(),
    )
}

/// Expected counters for records `tags` with `len`-byte payloads.
fn expect(tags: impl IntoIterator<Item = u64> + Clone, len: usize) -> (u64, u64, u64, Option<i64>) {
    let n = tags.clone().into_iter().count() as u64;
    let samples = tags.clone().into_iter().map(|t| t + 1).sum();
    (
        n,
        samples,
        n * (FRAME_LEN + len) as u64,
        tags.into_iter().next().map(ts),
    )
}

fn flip_byte(path: &Path, offset: u64) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, offset).unwrap();
    file.write_all_at(&[b[0] ^ 0x40], offset).unwrap();
}

// 8-byte header + 3 records of 20 + 50 bytes = 218: three records per segment.
const LEN: usize = 50;
const REC: u64 = (FRAME_LEN + LEN) as u64;
const SEG3: u64 = SEGMENT_HEADER_LEN + 3 * REC;

#[test]
fn append_peek_ack_round_trip_across_segments() {
    let dir = TempDir::new().unwrap();
    let mut spool = Spool::open(dir.path(), opts(SEG3, 1 << 20)).unwrap();
    assert_eq!(counters(&spool), (0, 0, 0, None));
    assert!(all(&mut spool).is_empty());
    for tag in 0..10 {
        assert_eq!(put(&mut spool, tag, LEN), Dropped::default());
    }
    assert_eq!(counters(&spool), expect(0..10, LEN));
    assert_eq!(
        segment_files(dir.path()),
        vec![
            (1, SEG3),
            (2, SEG3),
            (3, SEG3),
            (4, SEGMENT_HEADER_LEN + REC)
        ]
    );

    // peek does not consume.
    let first = spool.peek(4, usize::MAX).unwrap();
    assert_eq!(tags(&first), vec![0, 1, 2, 3]);
    assert_eq!(spool.peek(4, usize::MAX).unwrap(), first);
    assert_eq!(
        first[3].id.segment(),
        2,
        "the fourth record starts segment 2"
    );
    assert!(first.windows(2).all(|w| w[0].id < w[1].id));

    spool.ack(first[1].id).unwrap();
    assert_eq!(counters(&spool), expect(2..10, LEN));
    assert_eq!(tags(&all(&mut spool)), (2..10).collect::<Vec<_>>());
    assert_eq!(
        segment_files(dir.path()).len(),
        4,
        "segment 1 still holds record 2"
    );

    spool.ack(first[3].id).unwrap();
    assert_eq!(counters(&spool), expect(4..10, LEN));
    assert_eq!(
        segment_files(dir.path())[0].0,
        2,
        "acknowledged segment 1 deleted"
    );

    let rest = all(&mut spool);
    assert_eq!(tags(&rest), (4..10).collect::<Vec<_>>());
    spool.ack(rest.last().unwrap().id).unwrap();
    assert_eq!(counters(&spool), (0, 0, 0, None));
    assert!(all(&mut spool).is_empty());
    assert_eq!(
        segment_files(dir.path()),
        vec![(4, SEGMENT_HEADER_LEN + REC)],
        "only the segment being written is left"
    );

    put(&mut spool, 10, LEN);
    assert_eq!(counters(&spool), expect([10], LEN));
    assert_eq!(tags(&all(&mut spool)), vec![10]);
}

#[test]
fn peek_limits() {
    let dir = TempDir::new().unwrap();
    let mut spool = Spool::open(dir.path(), opts(1 << 20, 1 << 20)).unwrap();
    for tag in 0..5 {
        put(&mut spool, tag, 100);
    }
    assert_eq!(
        tags(&spool.peek(10, 99).unwrap()),
        vec![0],
        "one record even if too large"
    );
    assert_eq!(tags(&spool.peek(10, 0).unwrap()), vec![0]);
    assert_eq!(
        tags(&spool.peek(0, usize::MAX).unwrap()),
        vec![0],
        "max_records 0 means 1"
    );
    assert_eq!(tags(&spool.peek(10, 299).unwrap()), vec![0, 1]);
    assert_eq!(tags(&spool.peek(10, 300).unwrap()), vec![0, 1, 2]);
    assert_eq!(tags(&spool.peek(2, 300).unwrap()), vec![0, 1]);
    assert_eq!(spool.peek(10, usize::MAX).unwrap().len(), 5);
}

#[test]
fn reopen_resumes_at_the_cursor() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..7 {
        put(&mut spool, tag, LEN);
    }
    let batch = spool.peek(5, usize::MAX).unwrap();
    spool.ack(batch[3].id).unwrap();
    // Record 4 is in flight (peeked, not acknowledged) when the process stops.
    drop(spool);

    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(counters(&spool), expect(4..7, LEN));
    let again = all(&mut spool);
    assert_eq!(
        tags(&again),
        vec![4, 5, 6],
        "acknowledged records are not returned again"
    );
    assert_eq!(again[0].id, batch[4].id, "ids are stable across restarts");
    spool.ack(again[2].id).unwrap();
    drop(spool);

    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(counters(&spool), (0, 0, 0, None));
    assert!(all(&mut spool).is_empty());
    put(&mut spool, 7, LEN);
    let last = all(&mut spool);
    assert_eq!(tags(&last), vec![7]);
    assert!(last[0].id > again[2].id);
}

#[test]
fn ack_checks_its_argument() {
    let dir = TempDir::new().unwrap();
    let mut spool = Spool::open(dir.path(), opts(SEG3, 1 << 20)).unwrap();
    for tag in 0..4 {
        put(&mut spool, tag, LEN);
    }
    let recs = all(&mut spool);
    let inside = RecordId {
        offset: recs[1].id.offset + 1,
        ..recs[1].id
    };
    let err = spool.ack(inside).unwrap_err();
    assert!(matches!(err, SpoolError::BadAck { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("acknowledge only ids returned by peek")
    );
    let end = RecordId {
        offset: recs[3].id.offset + REC,
        ..recs[3].id
    };
    assert!(matches!(spool.ack(end), Err(SpoolError::BadAck { .. })));
    let later = RecordId {
        segment: 9,
        offset: SEGMENT_HEADER_LEN,
    };
    assert!(matches!(spool.ack(later), Err(SpoolError::BadAck { .. })));
    assert_eq!(
        counters(&spool),
        expect(0..4, LEN),
        "refused acks change nothing"
    );

    spool.ack(recs[1].id).unwrap();
    spool.ack(recs[1].id).unwrap();
    spool.ack(recs[0].id).unwrap();
    assert_eq!(
        counters(&spool),
        expect(2..4, LEN),
        "repeated acks are no-ops"
    );
}

/// A process killed while appending leaves a prefix of the record; open()
/// cuts it off and keeps every earlier record, at every cut point.
#[test]
fn torn_tail_is_truncated_at_every_cut() {
    let sizes = [30usize, 0, 45, 12];
    let mut ends = vec![SEGMENT_HEADER_LEN];
    for s in sizes {
        ends.push(ends.last().unwrap() + (FRAME_LEN + s) as u64);
    }
    let o = SpoolOptions {
        fsync: false,
        ..opts(1 << 20, 1 << 20)
    };
    for cut in ends[2]..ends[4] {
        let dir = TempDir::new().unwrap();
        let mut spool = Spool::open(dir.path(), o).unwrap();
        for (tag, s) in sizes.iter().enumerate() {
            put(&mut spool, tag as u64, *s);
        }
        drop(spool);
        let seg = segment_path(dir.path(), 1);
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();

        let mut spool = Spool::open(dir.path(), o).unwrap();
        let whole = ends.iter().filter(|&&e| e <= cut).count() - 1;
        let got = all(&mut spool);
        assert_eq!(got.len(), whole, "cut at {cut}");
        assert_eq!(
            got.iter().map(|r| r.payload.len()).collect::<Vec<_>>(),
            sizes[..whole].to_vec()
        );
        assert_eq!(spool.pending_records(), whole as u64);
        assert_eq!(
            fs::metadata(&seg).unwrap().len(),
            ends[whole],
            "truncated on open"
        );
        put(&mut spool, 99, 9);
        let got = all(&mut spool);
        assert_eq!(got.len(), whole + 1);
        assert_eq!(
            got[whole].payload,
            payload(99, 9),
            "appends continue after the last good record"
        );
    }
}

/// A corrupt byte anywhere in the last record (header fields or payload)
/// fails its checksum: open() drops it and keeps every earlier record,
/// including those in older segments.
#[test]
fn corrupt_last_record_is_dropped_on_open() {
    // Offsets inside the frame: len is not flipped (that is a torn
    // length, covered above); crc, samples, first_ts_ms, payload.
    for within in [4u64, 9, 15, 20, 20 + LEN as u64 - 1] {
        let dir = TempDir::new().unwrap();
        let o = opts(SEG3, 1 << 20);
        let mut spool = Spool::open(dir.path(), o).unwrap();
        for tag in 0..5 {
            put(&mut spool, tag, LEN);
        }
        drop(spool);
        // Record 4 is the second in segment 2.
        flip_byte(
            &segment_path(dir.path(), 2),
            SEGMENT_HEADER_LEN + REC + within,
        );
        let mut spool = Spool::open(dir.path(), o).unwrap();
        assert_eq!(
            tags(&all(&mut spool)),
            vec![0, 1, 2, 3],
            "flip at +{within}"
        );
        assert_eq!(counters(&spool), expect(0..4, LEN));
        assert_eq!(spool.take_corrupted(), Dropped::default());
    }
}

/// A bad checksum in an older segment is disk corruption: the record and
/// the rest of its segment are skipped when read, counted in
/// take_corrupted(), and later segments are delivered.
#[test]
fn corrupt_record_in_older_segment_is_skipped_and_counted() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..9 {
        put(&mut spool, tag, LEN);
    }
    // While open: record 4 (middle of segment 2) rots.
    flip_byte(&segment_path(dir.path(), 2), SEGMENT_HEADER_LEN + REC + 30);
    let first = spool.peek(2, usize::MAX).unwrap();
    assert_eq!(tags(&first), vec![0, 1]);
    spool.ack(first[1].id).unwrap();
    assert_eq!(tags(&all(&mut spool)), vec![2, 3, 6, 7, 8]);
    assert_eq!(
        spool.take_corrupted(),
        Dropped {
            records: 2,
            samples: 5 + 6
        }
    );
    assert_eq!(spool.take_corrupted(), Dropped::default(), "reported once");
    assert_eq!(counters(&spool), expect([2, 3, 6, 7, 8], LEN));
    assert_eq!(
        fs::metadata(segment_path(dir.path(), 2)).unwrap().len(),
        SEGMENT_HEADER_LEN + REC,
        "segment truncated before the bad record"
    );
    drop(spool);

    // Found after a restart, at the cursor: same outcome.
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(counters(&spool), expect([2, 3, 6, 7, 8], LEN));
    flip_byte(&segment_path(dir.path(), 2), SEGMENT_HEADER_LEN + 25);
    assert_eq!(tags(&all(&mut spool)), vec![2, 6, 7, 8]);
    assert_eq!(
        spool.take_corrupted(),
        Dropped {
            records: 1,
            samples: 4
        }
    );
    assert_eq!(counters(&spool), expect([2, 6, 7, 8], LEN));
    let recs = spool.peek(2, usize::MAX).unwrap();
    spool.ack(recs[1].id).unwrap();
    assert_eq!(counters(&spool), expect([7, 8], LEN));
    assert_eq!(segment_files(dir.path())[0].0, 3);
}

/// A frame length running past the end of an older segment is found on
/// open: that segment is cut there (records after it cannot be counted)
/// and the later segments are kept.
#[test]
fn broken_frame_length_in_older_segment_is_cut_on_open() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..9 {
        put(&mut spool, tag, LEN);
    }
    drop(spool);
    let seg1 = segment_path(dir.path(), 1);
    OpenOptions::new()
        .write(true)
        .open(&seg1)
        .unwrap()
        .write_all_at(&0xFFFF_FFF0u32.to_le_bytes(), SEGMENT_HEADER_LEN + REC)
        .unwrap();
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(counters(&spool), expect([0, 3, 4, 5, 6, 7, 8], LEN));
    assert_eq!(tags(&all(&mut spool)), vec![0, 3, 4, 5, 6, 7, 8]);
    assert_eq!(fs::metadata(&seg1).unwrap().len(), SEGMENT_HEADER_LEN + REC);
}

#[test]
fn full_spool_drops_oldest_segments_and_reports_exactly() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 3 * SEG3);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..9 {
        assert_eq!(put(&mut spool, tag, LEN), Dropped::default());
    }
    assert_eq!(disk_bytes(dir.path()), 3 * SEG3, "exactly full");
    // Records 0 and 1 are delivered; record 2 is in flight.
    let batch = spool.peek(3, usize::MAX).unwrap();
    spool.ack(batch[1].id).unwrap();

    // Record 9 needs a fourth segment: segment 1 goes, and with it only
    // record 2 was unsent.
    assert_eq!(
        put(&mut spool, 9, LEN),
        Dropped {
            records: 1,
            samples: 3
        }
    );
    assert_eq!(counters(&spool), expect(3..10, LEN));
    // The in-flight batch is acknowledged late: nothing changes.
    spool.ack(batch[2].id).unwrap();
    assert_eq!(counters(&spool), expect(3..10, LEN));

    for tag in 10..20 {
        let dropped = put(&mut spool, tag, LEN);
        let expected = if tag % 3 == 0 {
            // Segment holding tag-9 .. tag-7 dropped.
            Dropped {
                records: 3,
                samples: (tag - 8) + (tag - 7) + (tag - 6),
            }
        } else {
            Dropped::default()
        };
        assert_eq!(dropped, expected, "append {tag}");
        assert!(disk_bytes(dir.path()) <= o.max_bytes);
    }
    assert_eq!(
        counters(&spool),
        expect(12..20, LEN),
        "the newest data is kept"
    );
    assert_eq!(tags(&all(&mut spool)), (12..20).collect::<Vec<_>>());
    drop(spool);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(counters(&spool), expect(12..20, LEN));
    assert_eq!(tags(&all(&mut spool)), (12..20).collect::<Vec<_>>());
}

#[test]
fn a_record_larger_than_a_segment_gets_its_own() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 3 * SEG3);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    put(&mut spool, 0, LEN);
    put(&mut spool, 1, 400);
    put(&mut spool, 2, LEN);
    let big = SEGMENT_HEADER_LEN + FRAME_LEN as u64 + 400;
    assert_eq!(
        segment_files(dir.path()),
        vec![
            (1, SEGMENT_HEADER_LEN + REC),
            (2, big),
            (3, SEGMENT_HEADER_LEN + REC)
        ]
    );
    assert_eq!(tags(&all(&mut spool)), vec![0, 1, 2]);
    // Filling segment 3 drops segment 1; starting segment 4 drops the
    // big segment 2, whole.
    assert_eq!(put(&mut spool, 3, LEN), Dropped::default());
    assert_eq!(
        put(&mut spool, 4, LEN),
        Dropped {
            records: 1,
            samples: 1
        }
    );
    assert_eq!(
        put(&mut spool, 5, LEN),
        Dropped {
            records: 1,
            samples: 2
        }
    );
    assert!(disk_bytes(dir.path()) <= o.max_bytes);
    assert_eq!(tags(&all(&mut spool)), vec![2, 3, 4, 5]);
}

#[test]
fn damaged_cursor_sends_everything_again() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..3 {
        put(&mut spool, tag, LEN);
    }
    let recs = all(&mut spool);
    spool.ack(recs[0].id).unwrap();
    drop(spool);
    flip_byte(&dir.path().join(CURSOR_FILE), 12);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(tags(&all(&mut spool)), vec![0, 1, 2], "at least once");
}

#[test]
fn cursor_inside_a_record_moves_back_to_its_start() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..3 {
        put(&mut spool, tag, LEN);
    }
    drop(spool);
    let bytes = encode_cursor(RecordId {
        segment: 1,
        offset: SEGMENT_HEADER_LEN + REC + 7,
    });
    fs::write(dir.path().join(CURSOR_FILE), bytes).unwrap();
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert_eq!(tags(&all(&mut spool)), vec![1, 2]);
    assert_eq!(counters(&spool), expect(1..3, LEN));
}

/// The process died after persisting the cursor but before deleting the
/// acknowledged segment: open() deletes it, nothing is sent again.
#[test]
fn acknowledged_segment_left_by_a_crash_is_deleted() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    for tag in 0..5 {
        put(&mut spool, tag, LEN);
    }
    let seg1 = segment_path(dir.path(), 1);
    let saved = fs::read(&seg1).unwrap();
    let recs = spool.peek(3, usize::MAX).unwrap();
    spool.ack(recs[2].id).unwrap();
    assert!(!seg1.exists());
    drop(spool);
    fs::write(&seg1, saved).unwrap();
    let mut spool = Spool::open(dir.path(), o).unwrap();
    assert!(!seg1.exists());
    assert_eq!(tags(&all(&mut spool)), vec![3, 4]);
}

#[test]
fn newest_segment_without_a_header_is_rewritten() {
    for garbage in [&b""[..], b"ALT", b"\0\0\0\0\0\0\0\0"] {
        let dir = TempDir::new().unwrap();
        let o = opts(SEG3, 1 << 20);
        let mut spool = Spool::open(dir.path(), o).unwrap();
        for tag in 0..2 {
            put(&mut spool, tag, LEN);
        }
        drop(spool);
        fs::write(segment_path(dir.path(), 2), garbage).unwrap();
        let mut spool = Spool::open(dir.path(), o).unwrap();
        put(&mut spool, 2, LEN);
        assert_eq!(tags(&all(&mut spool)), vec![0, 1, 2]);
        assert_eq!(segment_files(dir.path())[1], (2, SEGMENT_HEADER_LEN + REC));
    }
}

#[test]
fn foreign_or_newer_files_are_refused() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let mut spool = Spool::open(dir.path(), o).unwrap();
    put(&mut spool, 0, LEN);
    drop(spool);
    let seg1 = segment_path(dir.path(), 1);
    let original = fs::read(&seg1).unwrap();

    let mut newer = original.clone();
    newer[4..8].copy_from_slice(&2u32.to_le_bytes());
    fs::write(&seg1, &newer).unwrap();
    let err = Spool::open(dir.path(), o).unwrap_err();
    assert!(
        matches!(err, SpoolError::UnknownVersion { found: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade the agent"), "{err}");

    let mut foreign = original.clone();
    foreign[..4].copy_from_slice(b"JUNK");
    fs::write(&seg1, &foreign).unwrap();
    let err = Spool::open(dir.path(), o).unwrap_err();
    assert!(matches!(err, SpoolError::NotASegment { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("move it out of the spool directory"),
        "{err}"
    );

    fs::write(&seg1, &original).unwrap();
    fs::write(dir.path().join(CURSOR_FILE), {
        let mut c = encode_cursor(RecordId {
            segment: 1,
            offset: 8,
        });
        c[4] = 7;
        c
    })
    .unwrap();
    let err = Spool::open(dir.path(), o).unwrap_err();
    assert!(
        matches!(err, SpoolError::UnknownVersion { found: 7, .. }),
        "{err}"
    );
}

#[test]
fn one_open_spool_per_directory() {
    let dir = TempDir::new().unwrap();
    let o = opts(SEG3, 1 << 20);
    let spool = Spool::open(dir.path(), o).unwrap();
    let err = Spool::open(dir.path(), o).unwrap_err();
    assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("--spool-dir"), "{err}");
    drop(spool);
    Spool::open(dir.path(), o).unwrap();
}

#[test]
fn bad_options_sizes_and_paths_are_explained() {
    let dir = TempDir::new().unwrap();
    let err = Spool::open(dir.path(), opts(1000, 999)).unwrap_err();
    assert!(
        err.to_string().contains("raise agent.spool_max_size"),
        "{err}"
    );
    assert!(Spool::open(dir.path(), opts(10, 1000)).is_err());

    let file = dir.path().join("a-file");
    fs::write(&file, b"").unwrap();
    let err = Spool::open(&file.join("spool"), opts(SEG3, 1 << 20)).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            SpoolError::Io {
                op: "create directory",
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("a-file/spool") && msg.contains("--spool-dir"),
        "{msg}"
    );

    let mut spool = Spool::open(&dir.path().join("s"), opts(SEG3, 1 << 20)).unwrap();
    let err = spool.append(1, 0, &vec![0; MAX_PAYLOAD + 1]).unwrap_err();
    assert!(matches!(err, SpoolError::TooLarge { .. }), "{err}");
    assert_eq!(spool.pending_records(), 0);
}

#[derive(Debug, Clone)]
enum Op {
    Append {
        samples: u32,
        len: usize,
    },
    Peek {
        max_records: usize,
        max_bytes: usize,
    },
    /// Acknowledge up to one record of the last peek.
    Ack(prop::sample::Index),
    /// Close (or kill: nothing is buffered in memory) and open again.
    Reopen,
    /// Killed in the middle of an append: a prefix of the record, or the
    /// whole record with a bad byte, is at the end of the newest segment.
    Torn {
        keep: prop::sample::Index,
        corrupt: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..1000, 0usize..120).prop_map(|(samples, len)| Op::Append { samples, len }),
        3 => (0usize..6, 0usize..400)
            .prop_map(|(max_records, max_bytes)| Op::Peek { max_records, max_bytes }),
        3 => any::<prop::sample::Index>().prop_map(Op::Ack),
        1 => Just(Op::Reopen),
        1 => (any::<prop::sample::Index>(), any::<bool>())
            .prop_map(|(keep, corrupt)| Op::Torn { keep, corrupt }),
    ]
}

/// The reference: the pending records as (tag, samples, payload length).
#[derive(Debug, Default)]
struct Model {
    next: u64,
    pending: VecDeque<(u64, u32, usize)>,
    appended: Vec<u64>,
    dropped: Vec<u64>,
    delivered: Vec<u64>,
    last_peek: Vec<(RecordId, u64)>,
}

fn model_payload(tag: u64, len: usize) -> Vec<u8> {
    let mut p = tag.to_le_bytes().to_vec();
    p.extend(std::iter::repeat_n(tag as u8, len));
    p
}

fn check_counters(spool: &Spool, model: &Model) -> Result<(), TestCaseError> {
    let samples: u64 = model.pending.iter().map(|p| u64::from(p.1)).sum();
    let bytes: u64 = model
        .pending
        .iter()
        .map(|p| (FRAME_LEN + 8 + p.2) as u64)
        .sum();
    prop_assert_eq!(spool.pending_records(), model.pending.len() as u64);
    prop_assert_eq!(spool.pending_samples(), samples);
    prop_assert_eq!(spool.pending_bytes(), bytes);
    prop_assert_eq!(
        spool.oldest_pending_ts_ms(),
        model.pending.front().map(|p| ts(p.0))
    );
    Ok(())
}

fn run(ops: Vec<Op>, segment_bytes: u64, segments: u64) -> Result<(), TestCaseError> {
    let dir = TempDir::new().unwrap();
    let o = SpoolOptions {
        max_bytes: segment_bytes * segments,
        segment_bytes,
        fsync: false,
    };
    let mut spool = Spool::open(dir.path(), o).unwrap();
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::Append { samples, len } => {
                let tag = m.next;
                m.next += 1;
                let dropped = spool
                    .append(samples, ts(tag), &model_payload(tag, len))
                    .unwrap();
                let lost: Vec<_> = m.pending.drain(..dropped.records as usize).collect();
                prop_assert_eq!(
                    lost.len() as u64,
                    dropped.records,
                    "dropped more than pending"
                );
                prop_assert_eq!(
                    lost.iter().map(|l| u64::from(l.1)).sum::<u64>(),
                    dropped.samples
                );
                m.dropped.extend(lost.iter().map(|l| l.0));
                m.pending.push_back((tag, samples, len));
                m.appended.push(tag);
                prop_assert!(disk_bytes(dir.path()) <= o.max_bytes);
            }
            Op::Peek {
                max_records,
                max_bytes,
            } => {
                let got = spool.peek(max_records, max_bytes).unwrap();
                prop_assert!(got.len() <= max_records.max(1));
                prop_assert_eq!(got.is_empty(), m.pending.is_empty());
                let payload: usize = got.iter().map(|r| r.payload.len()).sum();
                prop_assert!(got.len() <= 1 || payload <= max_bytes);
                if let Some(&(_, _, len)) = m.pending.get(got.len()) {
                    // Maximal: the next one did not fit.
                    prop_assert!(got.len() == max_records.max(1) || payload + 8 + len > max_bytes);
                }
                m.last_peek.clear();
                for (r, &(tag, samples, len)) in got.iter().zip(&m.pending) {
                    prop_assert_eq!(&r.payload, &model_payload(tag, len), "record {}", tag);
                    prop_assert_eq!(r.samples, samples);
                    prop_assert_eq!(r.first_ts_ms, ts(tag));
                    m.last_peek.push((r.id, tag));
                }
            }
            Op::Ack(pick) => {
                if m.last_peek.is_empty() {
                    continue;
                }
                let (id, tag) = m.last_peek[pick.index(m.last_peek.len())];
                spool.ack(id).unwrap();
                if let Some(i) = m.pending.iter().position(|p| p.0 == tag) {
                    m.delivered.extend(m.pending.drain(..=i).map(|p| p.0));
                }
            }
            Op::Reopen => {
                drop(spool);
                spool = Spool::open(dir.path(), o).unwrap();
            }
            Op::Torn { keep, corrupt } => {
                drop(spool);
                let (seq, len) = *segment_files(dir.path()).last().unwrap();
                let mut record = Frame::encode(1, 2, &model_payload(u64::MAX, 30));
                if corrupt {
                    let i = keep.index(record.len());
                    record[i] ^= 1;
                    if i < 4 {
                        // A larger length must run past the end, not shrink the record.
                        record[3] = 0x7F;
                    }
                } else {
                    record.truncate(keep.index(record.len()));
                }
                let file = OpenOptions::new()
                    .write(true)
                    .open(segment_path(dir.path(), seq))
                    .unwrap();
                file.write_all_at(&record, len).unwrap();
                drop(file);
                spool = Spool::open(dir.path(), o).unwrap();
                prop_assert_eq!(
                    segment_files(dir.path()).last().unwrap().1,
                    len,
                    "torn tail cut"
                );
            }
        }
        check_counters(&spool, &m)?;
    }
    // Drain everything.
    loop {
        let got = spool.peek(usize::MAX, usize::MAX).unwrap();
        let Some(last) = got.last() else { break };
        for (r, &(tag, _, len)) in got.iter().zip(&m.pending) {
            prop_assert_eq!(&r.payload, &model_payload(tag, len));
        }
        prop_assert_eq!(got.len(), m.pending.len());
        spool.ack(last.id).unwrap();
        m.delivered.extend(m.pending.drain(..).map(|p| p.0));
    }
    check_counters(&spool, &m)?;
    prop_assert_eq!(spool.take_corrupted(), Dropped::default());
    let expected: Vec<u64> = m
        .appended
        .iter()
        .copied()
        .filter(|t| !m.dropped.contains(t))
        .collect();
    prop_assert_eq!(
        m.delivered,
        expected,
        "delivered = appended - dropped, in order, once"
    );
    Ok(())
}

proptest! {
    #[test]
    fn behaves_like_a_queue(
        ops in prop::collection::vec(op(), 1..80),
        segment_bytes in 160u64..700,
        segments in 1u64..5,
    ) {
        run(ops, segment_bytes, segments)?;
    }
}
