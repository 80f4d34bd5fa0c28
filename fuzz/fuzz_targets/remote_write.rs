//! Differential fuzzing of the remote-write decoder: the zero-copy decoder
//! must never panic, and whenever it accepts a body, prost's derived decoder
//! must accept it too and agree on every series and sample.
#![no_main]

use altimeter_tsdb::ingest::remote_write::{BodyLimits, decode, decompress, proto};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    // The snappy path with tight limits must fail cleanly, never allocate wildly.
    let _ = decompress(data, BodyLimits { max_body: 1 << 20, max_decompressed: 1 << 20 });

    let fast = decode(data);
    let reference = proto::WriteRequest::decode(data);
    if let Ok(batch) = fast {
        let reference = reference.expect("fast decoder accepted what prost rejects");
        let want: Vec<(Vec<(String, String)>, Vec<(i64, u64)>)> = reference
            .timeseries
            .iter()
            .filter(|ts| !ts.samples.is_empty())
            .map(|ts| {
                (
                    ts.labels
                        .iter()
                        .filter(|l| !l.value.is_empty())
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect(),
                    ts.samples.iter().map(|s| (s.timestamp, s.value.to_bits())).collect(),
                )
            })
            .collect();
        let got: Vec<(Vec<(String, String)>, Vec<(i64, u64)>)> = batch
            .entries()
            .iter()
            .map(|(l, s)| {
                (
                    l.pairs().iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
                    s.iter().map(|x| (x.t, x.v.to_bits())).collect(),
                )
            })
            .collect();
        assert_eq!(got, want);
    }
});
