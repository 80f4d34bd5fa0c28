//! The storage engine against a simple model: random sequences of writes
//! (in and out of order, overwrites), flushes, compactions, restarts and
//! queries must always answer what a sorted map per series answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use altimeter_model::{Labels, ManualClock, MatchOp, Matcher, Sample};
use altimeter_tsdb::{Tsdb, TsdbMetrics, TsdbOptions};
use proptest::prelude::*;

const BASE: i64 = 1_700_000_000_000;
const NSERIES: usize = 4;

#[derive(Debug, Clone)]
enum Action {
    Write(Vec<(usize, i64, i32)>),
    Flush,
    Compact,
    Restart,
    Query {
        series: Vec<usize>,
        mint: i64,
        maxt: i64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => proptest::collection::vec((0..NSERIES, 0i64..400, -50i32..50), 1..12).prop_map(Action::Write),
        2 => Just(Action::Flush),
        1 => Just(Action::Compact),
        1 => Just(Action::Restart),
        3 => (proptest::collection::vec(0..NSERIES, 1..3), 0i64..400, 0i64..400)
            .prop_map(|(series, a, b)| Action::Query { series, mint: a.min(b), maxt: a.max(b) }),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("s", i.to_string())]).unwrap()
}

fn ts(x: i64) -> i64 {
    BASE + x * 1000
}

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> Arc<Tsdb> {
    let mut opts = TsdbOptions::new(dir);
    opts.retention = Duration::ZERO;
    // Small windows so data spans several blocks and both compaction levels run.
    opts.block_duration = Duration::from_secs(50);
    opts.wal_segment_size = 4096;
    let mut reg = prometheus_client::registry::Registry::default();
    Tsdb::open(opts, clock, Arc::new(TsdbMetrics::new(&mut reg)))
        .await
        .unwrap()
}

async fn check(
    db: &Tsdb,
    model: &BTreeMap<usize, BTreeMap<i64, f64>>,
    series: &[usize],
    mint: i64,
    maxt: i64,
) {
    let re = series
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("|");
    let ms = [
        Matcher::equal("__name__", "m"),
        Matcher::new(MatchOp::Regex, "s", re).unwrap(),
    ];
    let got = db.select(&ms, ts(mint), ts(maxt)).await.unwrap();
    let mut want: Vec<(Labels, Vec<Sample>)> = Vec::new();
    let mut wanted: Vec<usize> = series.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for i in wanted {
        if let Some(m) = model.get(&i) {
            let s: Vec<Sample> = m
                .range(ts(mint)..=ts(maxt))
                .map(|(t, v)| Sample::new(*t, *v))
                .collect();
            if !s.is_empty() {
                want.push((labels(i), s));
            }
        }
    }
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<(Labels, Vec<Sample>)> = got.into_iter().map(|s| (s.labels, s.samples)).collect();
    assert_eq!(got, want);
}

fn run(actions: Vec<Action>) {
    let rt = runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(BASE + 10_000_000));
        let mut db = open(dir.path(), clock.clone()).await;
        let mut model: BTreeMap<usize, BTreeMap<i64, f64>> = BTreeMap::new();
        for a in actions {
            match a {
                Action::Write(samples) => {
                    let mut by_series: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
                    for (i, t, v) in samples {
                        by_series
                            .entry(i)
                            .or_default()
                            .push(Sample::new(ts(t), f64::from(v) / 4.0));
                        model
                            .entry(i)
                            .or_default()
                            .insert(ts(t), f64::from(v) / 4.0);
                    }
                    let batch: Vec<(Labels, Vec<Sample>)> =
                        by_series.into_iter().map(|(i, s)| (labels(i), s)).collect();
                    let refs: Vec<(Labels, &[Sample])> = batch
                        .iter()
                        .map(|(l, s)| (l.clone(), s.as_slice()))
                        .collect();
                    db.write(&refs).await.unwrap();
                }
                Action::Flush => {
                    db.flush().await.unwrap();
                    assert_eq!(db.head_samples(), 0);
                }
                Action::Compact => {
                    db.compact().await.unwrap();
                    db.enforce_retention().await.unwrap();
                }
                Action::Restart => {
                    db.close();
                    drop(db);
                    db = open(dir.path(), clock.clone()).await;
                }
                Action::Query { series, mint, maxt } => {
                    check(&db, &model, &series, mint, maxt).await
                }
            }
        }
        check(&db, &model, &(0..NSERIES).collect::<Vec<_>>(), 0, 400).await;
        // A last flush + compaction + restart still gives the same answer.
        db.flush().await.unwrap();
        db.compact().await.unwrap();
        db.close();
        drop(db);
        let db = open(dir.path(), clock.clone()).await;
        check(&db, &model, &(0..NSERIES).collect::<Vec<_>>(), 0, 400).await;
        db.close();
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn storage_matches_model(actions in proptest::collection::vec(action(), 1..40)) {
        run(actions);
    }
}

#[test]
fn retention_drops_old_blocks_and_forgets_their_series() {
    let rt = runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(BASE));
        let mut opts = TsdbOptions::new(dir.path());
        opts.retention = Duration::from_secs(3600);
        opts.block_duration = Duration::from_secs(600);
        let mut reg = prometheus_client::registry::Registry::default();
        let db = Tsdb::open(opts, clock.clone(), Arc::new(TsdbMetrics::new(&mut reg)))
            .await
            .unwrap();
        let old = labels(0);
        db.write(&[(old.clone(), &[Sample::new(BASE - 1000, 1.0)][..])])
            .await
            .unwrap();
        db.flush().await.unwrap();
        clock.advance(2 * 3600 * 1000);
        let new = labels(1);
        db.write(&[(new.clone(), &[Sample::new(clock_now(&clock), 2.0)][..])])
            .await
            .unwrap();
        assert_eq!(db.enforce_retention().await.unwrap(), 1);
        let all = db
            .select(&[Matcher::equal("__name__", "m")], i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].labels, new);
        assert_eq!(db.index().len(), 1);
        // Writes older than the retention are refused whole.
        let err = db
            .write(&[(old, &[Sample::new(BASE, 1.0)][..])])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("outside the accepted range"),
            "{err}"
        );
        db.close();
    });
}

fn clock_now(c: &ManualClock) -> i64 {
    use altimeter_model::Clock;
    c.now_ms()
}
