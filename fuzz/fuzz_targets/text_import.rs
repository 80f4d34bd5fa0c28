//! The text-exposition parser must never panic, and what it accepts must be
//! valid series.
#![no_main]

use altimeter_tsdb::ingest::text::parse_exposition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(series) = parse_exposition(data, 1_700_000_000_000, &[]) {
        for s in series {
            assert!(s.labels.validate_series().is_ok());
            assert!(!s.samples.is_empty());
        }
    }
});
