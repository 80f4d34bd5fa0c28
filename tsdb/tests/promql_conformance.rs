//! PromQL conformance: Prometheus 2.42's own promqltest files
//! (`tests/promql/testdata/*.test`) run against Altimeter's PromQL engine
//! over a real `Tsdb`, with the checks of Prometheus's `promql/test.go`.
//! One test per file; failures must be listed in the known-exceptions table
//! of `docs/promql-conformance.md`, and listed cases must still fail.
//!
//! `PROMQLTEST_FILE=functions.test` runs one file,
//! `PROMQLTEST_FILE=functions.test:295` one case; `PROMQLTEST_FLUSH=1`
//! reads from Parquet blocks instead of the head.

mod promqltest;

mod promql_conformance {
    use super::promqltest::run_file;

    /// Every file in the test data directory with its test below.
    const FILES: [&str; 11] = [
        "aggregators.test",
        "at_modifier.test",
        "collision.test",
        "functions.test",
        "histograms.test",
        "literals.test",
        "operators.test",
        "selectors.test",
        "staleness.test",
        "subquery.test",
        "trig_functions.test",
    ];

    #[test]
    fn aggregators() {
        run_file("aggregators.test");
    }

    #[test]
    fn at_modifier() {
        run_file("at_modifier.test");
    }

    #[test]
    fn collision() {
        run_file("collision.test");
    }

    #[test]
    fn functions() {
        run_file("functions.test");
    }

    #[test]
    fn histograms() {
        run_file("histograms.test");
    }

    #[test]
    fn literals() {
        run_file("literals.test");
    }

    #[test]
    fn operators() {
        run_file("operators.test");
    }

    #[test]
    fn selectors() {
        run_file("selectors.test");
    }

    #[test]
    fn staleness() {
        run_file("staleness.test");
    }

    #[test]
    fn subquery() {
        run_file("subquery.test");
    }

    #[test]
    fn trig_functions() {
        run_file("trig_functions.test");
    }

    #[test]
    fn every_testdata_file_has_a_test() {
        let mut found: Vec<String> = std::fs::read_dir(super::promqltest::testdata_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".test"))
            .collect();
        found.sort();
        assert_eq!(found, FILES, "add a #[test] per file (and to FILES)");
    }

    /// Every row of the table names a case that exists, with its query.
    #[test]
    fn exceptions_table_names_existing_cases() {
        use super::promqltest::parse::{Command, parse_file};
        let mut problems = Vec::new();
        for e in super::promqltest::load_exceptions() {
            if !FILES.contains(&e.file.as_str()) {
                problems.push(format!("{}:{}: no such test file", e.file, e.line));
                continue;
            }
            let text =
                std::fs::read_to_string(super::promqltest::testdata_dir().join(&e.file)).unwrap();
            let found = parse_file(&text)
                .unwrap()
                .into_iter()
                .find_map(|c| match c {
                    Command::Eval(ev) if ev.line == e.line => Some(ev.query),
                    Command::Load(l) if l.line == e.line => Some(l.text),
                    _ => None,
                });
            match found {
                None => problems.push(format!("{}:{}: no case on that line", e.file, e.line)),
                Some(q) if q != e.query => problems.push(format!(
                    "{}:{}: listed query `{}` but the case is `{q}`",
                    e.file, e.line, e.query
                )),
                Some(_) => {}
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The runner against the engine: right expectations pass, each kind of
    /// wrong one fails.
    mod runner {
        use crate::promqltest::parse::parse_file;
        use crate::promqltest::run::{RunOptions, run_commands};

        const DATA: &str = "
load 5m
  m{a=\"1\"} 0+10x10
  m{a=\"2\"} 5x2 stale
";

        fn run(script: &str) -> Vec<(usize, Option<String>)> {
            let cmds = parse_file(&format!("{DATA}\n{script}")).unwrap();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(run_commands(&cmds, &RunOptions::default()))
                .into_iter()
                .map(|r| (r.line, r.failure))
                .collect()
        }

        #[test]
        fn right_expectations_pass() {
            let script = "
eval instant at 10m m
  m{a=\"1\"} 20
  m{a=\"2\"} 5.000001

eval_ordered instant at 10m sort_desc(m)
  m{a=\"1\"} 20
  m{a=\"2\"} 5

eval instant at 10m sum(m)
  {} 25

eval instant at 10m 1 + 1
  2

eval instant at 15m m{a=\"2\"}

eval_fail instant at 10m label_replace(m, \"b\", \"\", \"a\", \"(\")

clear

eval instant at 10m m
";
            for (line, failure) in run(script) {
                assert_eq!(failure, None, "line {line}");
            }
        }

        #[test]
        fn wrong_expectations_fail() {
            let script = "
eval instant at 10m m
  m{a=\"1\"} 21
  m{a=\"2\"} 5

eval instant at 10m m
  m{a=\"1\"} 20

eval instant at 10m m
  m{a=\"1\"} 20
  m{a=\"2\"} 5
  m{a=\"3\"} 5

eval instant at 10m m
  {a=\"1\"} 20
  {a=\"2\"} 5

eval_fail instant at 10m m

eval instant at 10m no_such_function(m)

eval_fail instant at 10m sum(m

eval_ordered instant at 10m sort_desc(m)
  m{a=\"2\"} 5
  m{a=\"1\"} 20

eval instant at 10m 1 + 1
  3

eval instant at 10m 1 + 1
  {} 2

eval instant at 10m m[5m]

eval instant at 15m m{a=\"2\"}
  m{a=\"2\"} 5

clear

eval instant at 10m m
  m{a=\"1\"} 20
";
            let results = run(script);
            assert_eq!(results.len(), 13);
            for (line, failure) in results {
                assert!(failure.is_some(), "the case on line {line} should fail");
            }
        }
    }

    /// test.go's extra @-modifier queries.
    mod at_variants {
        use crate::promqltest::variants::at_modifier_variants;

        fn variants(q: &str, t: i64) -> Vec<(String, i64)> {
            at_modifier_variants(&promql_parser::parser::parse(q).unwrap(), t).unwrap()
        }

        #[test]
        fn selectors_get_the_eval_time_and_run_at_other_times() {
            let q = "sum(rate(m{a=\"b\"}[5m] @ start())) + n @ -50 + o offset 1m";
            let want = "sum(rate(m{a=\"b\"}[5m] @ 7.000)) + n @ -50.000 + o @ 7.000 offset 1m";
            let times: Vec<i64> = variants(q, 7000)
                .into_iter()
                .map(|(v, t)| {
                    assert_eq!(v, want);
                    t
                })
                .collect();
            assert_eq!(times, [-70_000, 0, 1400, 7000, 70_000]);
            let times: Vec<i64> = variants("m", 0).into_iter().map(|(_, t)| t).collect();
            assert_eq!(times, [-1000, 0, 1000]);
        }

        #[test]
        fn subqueries_keep_their_insides() {
            let v = variants(
                "max_over_time(rate(m[1m])[5m:1m]) + time_not_a_call",
                60_000,
            );
            assert_eq!(
                v[0].0,
                "max_over_time(rate(m[1m])[5m:1m] @ 60.000) + time_not_a_call @ 60.000"
            );
            // Time functions count only outside subqueries.
            assert_eq!(variants("sum_over_time(minute()[50m:1m])", 1000).len(), 5);
            assert!(variants("minute(m)", 1000).is_empty());
            assert!(variants("timestamp(m)", 1000).is_empty());
        }
    }

    /// The test-file format itself.
    mod format {
        use std::collections::BTreeMap;

        use altimeter_model::Labels;

        use crate::promqltest::parse::{
            Command, EvalKind, STALE_NAN_BITS, parse_duration, parse_file, parse_go_number,
            parse_series_desc,
        };
        use crate::promqltest::run::almost_equal;
        use crate::promqltest::{Exception, judge, parse_exceptions, run::CaseResult};

        fn labels(pairs: &[(&str, &str)]) -> Labels {
            Labels::from_pairs(pairs.iter().copied()).unwrap()
        }

        fn values(line: &str) -> Vec<Option<f64>> {
            parse_series_desc(line).unwrap().1
        }

        #[test]
        fn expanding_notation() {
            let s = |v: &[f64]| v.iter().map(|x| Some(*x)).collect::<Vec<_>>();
            assert_eq!(values("m 0+10x3"), s(&[0.0, 10.0, 20.0, 30.0]));
            assert_eq!(values("m 1-2x2"), s(&[1.0, -1.0, -3.0]));
            assert_eq!(values("m -1+1x2"), s(&[-1.0, 0.0, 1.0]));
            assert_eq!(values("m 5x2"), s(&[5.0, 5.0, 5.0]));
            assert_eq!(values("m 7x0"), s(&[7.0]));
            // No hexadecimal in series values: `0x2` is 0 three times.
            assert_eq!(values("m 0x2"), s(&[0.0, 0.0, 0.0]));
            assert_eq!(values("m _x3 1"), vec![None, None, None, Some(1.0)]);
            assert_eq!(values("m 1 _ 2"), vec![Some(1.0), None, Some(2.0)]);
            assert_eq!(
                values("m 1e3 .5 2. 1e-3+1e-3x1"),
                s(&[1000.0, 0.5, 2.0, 0.001, 0.002])
            );
            assert_eq!(values("m"), vec![]);
            // Accumulated by repeated addition, as Prometheus does.
            let v = values("m 0+0.1x3");
            assert_eq!(v[3], Some(0.1 + 0.1 + 0.1));
        }

        #[test]
        fn special_values() {
            let v = values("m Inf -Inf +Inf inf NaN nan stale 1 stale");
            assert_eq!(v[0], Some(f64::INFINITY));
            assert_eq!(v[1], Some(f64::NEG_INFINITY));
            assert_eq!(v[2], Some(f64::INFINITY));
            assert_eq!(v[3], Some(f64::INFINITY));
            assert!(v[4].unwrap().is_nan() && v[5].unwrap().is_nan());
            assert_ne!(v[4].unwrap().to_bits(), STALE_NAN_BITS);
            assert_eq!(v[6].unwrap().to_bits(), STALE_NAN_BITS);
            assert_eq!(v[8].unwrap().to_bits(), STALE_NAN_BITS);
            // Go's ParseInt with base 0: a leading 0 is octal.
            assert_eq!(values("m 010 08"), vec![Some(8.0), Some(8.0)]);
        }

        #[test]
        fn bad_values_are_rejected() {
            for bad in [
                "m 1+2",
                "m 1x",
                "m 1x1.5",
                "m stalex2",
                "m Infx2",
                "m foo",
                "m 1e400",
                "m 1x2x3",
                "m 1,2",
                "m{a=\"b\"}1",
                "m {a=\"b\"} 1",
                "1 2",
                "m{a!=\"b\"} 1",
                "m{a=b} 1",
                "m{a=\"b\",a=\"c\"} 1",
                "bool 1",
            ] {
                assert!(parse_series_desc(bad).is_err(), "{bad} should not parse");
            }
        }

        #[test]
        fn labels_and_escapes() {
            let (l, v) =
                parse_series_desc(r#"m{a="x\"y", b='it\'s', c=`raw\n`, d="\u00e9\x41\101\t",} 1"#)
                    .unwrap();
            assert_eq!(
                l,
                labels(&[
                    ("__name__", "m"),
                    ("a", "x\"y"),
                    ("b", "it's"),
                    ("c", "raw\\n"),
                    ("d", "éAA\t"),
                ])
            );
            assert_eq!(v, vec![Some(1.0)]);
            let (l, _) = parse_series_desc(r#"{__name__="m", job="j"} 1"#).unwrap();
            assert_eq!(l, labels(&[("__name__", "m"), ("job", "j")]));
            let (l, _) = parse_series_desc("{} 3").unwrap();
            assert_eq!(l, Labels::default());
            let (l, _) = parse_series_desc("node:kube_pod_info: 1").unwrap();
            assert_eq!(l, labels(&[("__name__", "node:kube_pod_info:")]));
            assert!(parse_series_desc(r#"m{a="\q"} 1"#).is_err());
            assert!(parse_series_desc(r#"m{a="it\'s"} 1"#).is_err());
        }

        #[test]
        fn durations() {
            assert_eq!(parse_duration("0"), Ok(0));
            assert_eq!(parse_duration("1ms"), Ok(1));
            assert_eq!(parse_duration("10s"), Ok(10_000));
            assert_eq!(parse_duration("5m"), Ok(300_000));
            assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
            assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784_005));
            assert_eq!(parse_duration("1w"), Ok(604_800_000));
            assert_eq!(parse_duration("1y"), Ok(31_536_000_000));
            for bad in ["", "5", "30m1h", "1h1h", "1.5h", "-1m", "1M", "m"] {
                assert!(parse_duration(bad).is_err(), "{bad} should not parse");
            }
        }

        #[test]
        fn go_numbers() {
            assert_eq!(parse_go_number("12340000"), Some(12_340_000.0));
            assert_eq!(parse_go_number("-0.0000002"), Some(-0.0000002));
            assert_eq!(parse_go_number("+Inf"), Some(f64::INFINITY));
            assert_eq!(parse_go_number("0x1f"), Some(31.0));
            assert_eq!(parse_go_number("-010"), Some(-8.0));
            assert_eq!(parse_go_number("1e400"), None);
            assert_eq!(parse_go_number("-nan"), None);
            assert_eq!(parse_go_number("{} 1"), None);
            assert!(parse_go_number("NaN").unwrap().is_nan());
        }

        #[test]
        fn commands() {
            let file = "\
# a comment
load 5m
  m{a=\"1\"} 0+1x2
  m{a=\"2\"} _ 4
  m{a=\"1\"} 9

eval instant at 1h30m sum(m)
  {} 13

eval_ordered instant at 10m   sort(m)
\tm{a=\"2\"} 4
\tm{a=\"1\"} 9

eval_fail instant at 0 foo(

eval instant at 50m 1 + 1
  2
clear
";
            let cmds = parse_file(file).unwrap();
            assert_eq!(cmds.len(), 6);
            assert_eq!(cmds[5], Command::Clear);
            let Command::Load(load) = &cmds[0] else {
                panic!()
            };
            assert_eq!(load.line, 2);
            let mut want = BTreeMap::new();
            want.insert(labels(&[("__name__", "m"), ("a", "1")]), vec![(0, 9.0)]);
            want.insert(
                labels(&[("__name__", "m"), ("a", "2")]),
                vec![(300_000, 4.0)],
            );
            assert_eq!(load.series, want);
            let Command::Eval(e) = &cmds[1] else { panic!() };
            assert_eq!((e.line, e.kind, e.at_ms), (7, EvalKind::Plain, 5_400_000));
            assert_eq!(e.query, "sum(m)");
            assert_eq!(
                e.expected.series.get(&Labels::default()),
                Some(&(1, Some(13.0)))
            );
            let Command::Eval(e) = &cmds[2] else { panic!() };
            assert_eq!(
                (e.kind, e.at_ms, e.query.as_str()),
                (EvalKind::Ordered, 600_000, "sort(m)")
            );
            assert_eq!(
                e.expected
                    .series
                    .get(&labels(&[("__name__", "m"), ("a", "1")])),
                Some(&(2, Some(9.0)))
            );
            // Expressions are checked when run, not when read.
            let Command::Eval(e) = &cmds[3] else { panic!() };
            assert_eq!((e.kind, e.query.as_str()), (EvalKind::Fail, "foo("));
            let Command::Eval(e) = &cmds[4] else { panic!() };
            assert_eq!(e.expected.scalar, Some(2.0));
            assert!(e.expected.series.is_empty());
        }

        #[test]
        fn a_scalar_line_ends_the_expectation() {
            let err = parse_file("eval instant at 0 1\n  1\n  {} 2\n").unwrap_err();
            assert_eq!(err.line, 3);
        }

        #[test]
        fn bad_commands_are_rejected() {
            for bad in [
                "lod 5m",
                "load",
                "load 5x",
                "eval instant 5m foo",
                "eval range at 5m foo",
                "eval_foo instant at 5m foo",
                "eval instant at 5m",
                "EVAL instant at 5m foo",
                "eval instant at 5m foo\n  {} 1 2",
            ] {
                assert!(parse_file(bad).is_err(), "{bad:?} should not parse");
            }
        }

        #[test]
        fn almost_equal_is_prometheus_almost_equal() {
            assert!(almost_equal(f64::NAN, f64::from_bits(STALE_NAN_BITS)));
            assert!(almost_equal(1.0, 1.0 + 1e-7));
            assert!(!almost_equal(1.0, 1.0 + 1e-5));
            assert!(!almost_equal(0.0, 1e-300));
            assert!(almost_equal(f64::INFINITY, f64::INFINITY));
            assert!(!almost_equal(f64::INFINITY, f64::MAX));
            assert!(!almost_equal(f64::NAN, 0.0));
        }

        #[test]
        fn exceptions_table() {
            let md = "# x\n\n## Known exceptions\n\ntext\n\n\
| file:line | query | reason |\n|---|---|---|\n\
| `a.test:12` | `sum(x{a=~\"b\\|c\"})` | not yet |\n\nafter\n| not | a | row |\n";
            let got = parse_exceptions(md).unwrap();
            assert_eq!(
                got,
                vec![Exception {
                    file: "a.test".into(),
                    line: 12,
                    query: "sum(x{a=~\"b|c\"})".into(),
                    reason: "not yet".into(),
                }]
            );
            let empty = "## Known exceptions\n\n| file:line | query | reason |\n|---|---|---|\n";
            assert_eq!(parse_exceptions(empty).unwrap(), vec![]);
            assert!(parse_exceptions("| file:line | query | reason |\n").is_err());
            let dup = format!("{empty}| a.test:1 | q | r |\n| a.test:1 | q | r |\n");
            assert!(parse_exceptions(&dup).is_err());
            let no_reason = format!("{empty}| a.test:1 | q | |\n");
            assert!(parse_exceptions(&no_reason).is_err());
        }

        #[test]
        fn judging_against_the_table() {
            let case = |line, failure: Option<&str>| CaseResult {
                line,
                query: format!("q{line}"),
                failure: failure.map(str::to_string),
                queries: 2,
            };
            let listed = |line| Exception {
                file: "a.test".into(),
                line,
                query: format!("q{line}"),
                reason: "r".into(),
            };
            let table: BTreeMap<usize, Exception> = [(2, listed(2))].into_iter().collect();
            assert!(judge("a.test", &[case(1, None), case(2, Some("x"))], &table, true).ok);
            // An unlisted failure, a listed pass, a row naming no case.
            assert!(
                !judge(
                    "a.test",
                    &[case(1, Some("x")), case(2, Some("x"))],
                    &table,
                    true
                )
                .ok
            );
            assert!(!judge("a.test", &[case(1, None), case(2, None)], &table, true).ok);
            assert!(!judge("a.test", &[case(1, None)], &table, true).ok);
            assert!(judge("a.test", &[case(1, None)], &table, false).ok);
            // A row whose query no longer matches its line.
            let mut moved = table.clone();
            moved.get_mut(&2).unwrap().query = "other".into();
            assert!(!judge("a.test", &[case(2, Some("x"))], &moved, true).ok);
        }
    }
}
