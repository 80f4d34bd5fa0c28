use serde_json::{Value, json};

use super::*;

fn ts(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

const M1: &str = "6a2b8f8e-0000-4000-8000-000000000001";
const M2: &str = "6a2b8f8e-0000-4000-8000-000000000002";
const M3: &str = "6a2b8f8e-0000-4000-8000-000000000003";
const M4: &str = "6a2b8f8e-0000-4000-8000-000000000004";

fn pts(v: &[(&str, f64)]) -> Vec<(i64, f64)> {
    v.iter().map(|(t, x)| (ts(t), *x)).collect()
}

fn metric_input(id: &str, agg: &str, g_s: i64, points: &[(&str, f64)]) -> Input {
    Input {
        key: InputKey::Metric { id: id.into() },
        aggregation: agg.into(),
        granularity: g_s * 1000,
        points: pts(points),
    }
}

/// The metrics of gabbit aggregates-with-metric-ids.yaml (archive policy
/// `cookies`: 1 s and 60 s; `cake`: 5 s). `extra` adds the later
/// "push new measurements to metric1" points.
fn gabbit_metrics(extra: bool) -> impl Fn(&str, &str) -> Result<Vec<Input>, OpsError> {
    move |id: &str, agg: &str| {
        let day = "2015-03-06T14:";
        let p = |v: &[(&str, f64)]| -> Vec<(String, f64)> {
            v.iter().map(|(t, x)| (format!("{day}{t}"), *x)).collect()
        };
        let conv = |v: Vec<(String, f64)>| -> Vec<(&'static str, f64)> {
            v.into_iter()
                .map(|(t, x)| (&*Box::leak(t.into_boxed_str()), x))
                .collect()
        };
        type Pair = (Vec<(String, f64)>, Vec<(String, f64)>);
        let (s60, s1): Pair = match (id, agg) {
            (M1, "mean") => {
                let mut a = p(&[("33:00", 43.1), ("34:00", -2.0), ("35:00", 10.0)]);
                let mut b = p(&[
                    ("33:57", 43.1),
                    ("34:12", 12.0),
                    ("34:15", -16.0),
                    ("35:12", 9.0),
                    ("35:15", 11.0),
                ]);
                if extra {
                    a.extend(p(&[("37:00", 15.0), ("38:00", 15.0)]));
                    b.extend(p(&[("37:00", 15.0), ("38:00", 15.0)]));
                }
                (a, b)
            }
            (M1, "max") => (
                p(&[("33:00", 43.1), ("34:00", 12.0), ("35:00", 11.0)]),
                vec![],
            ),
            (M2, "mean") => (
                p(&[("33:00", 2.0), ("34:00", 4.5), ("35:00", 12.5)]),
                p(&[
                    ("33:57", 2.0),
                    ("34:12", 4.0),
                    ("34:15", 5.0),
                    ("35:12", 10.0),
                    ("35:15", 15.0),
                ]),
            ),
            (M2, "min") => (
                p(&[("33:00", 2.0), ("34:00", 4.0), ("35:00", 10.0)]),
                vec![],
            ),
            (M3, "mean") => return Ok(vec![metric_input(M3, "mean", 5, &[])]),
            (M4, "mean") => {
                return Ok(vec![
                    metric_input(
                        M4,
                        "mean",
                        60,
                        &[("2017-04-06T14:33:00", 20.0), ("2017-04-06T14:34:00", 10.0)],
                    ),
                    metric_input(
                        M4,
                        "mean",
                        1,
                        &[("2017-04-06T14:33:57", 20.0), ("2017-04-06T14:34:12", 10.0)],
                    ),
                ]);
            }
            _ => {
                return Err(OpsError::Other {
                    status: 404,
                    description: json!({"cause": "Metrics with unknown aggregation", "detail": [[id, agg]]}),
                });
            }
        };
        Ok(vec![
            metric_input(id, agg, 60, &conv(s60)),
            metric_input(id, agg, 1, &conv(s1)),
        ])
    }
}

fn run(ops: Value, opts: EvalOptions, extra: bool) -> Result<Value, OpsError> {
    let op = parse(&ops)?;
    let resolver = gabbit_metrics(extra);
    evaluate(&op, &resolver, &opts.with_aggregates_defaults()).map(|o| render(&o))
}

fn ok(ops: Value, opts: EvalOptions) -> Value {
    run(ops, opts, false).unwrap()
}

fn m1_mean_all() -> Value {
    json!([
        ["2015-03-06T14:33:00+00:00", 60.0, 43.1],
        ["2015-03-06T14:34:00+00:00", 60.0, -2.0],
        ["2015-03-06T14:35:00+00:00", 60.0, 10.0],
        ["2015-03-06T14:33:57+00:00", 1.0, 43.1],
        ["2015-03-06T14:34:12+00:00", 1.0, 12.0],
        ["2015-03-06T14:34:15+00:00", 1.0, -16.0],
        ["2015-03-06T14:35:12+00:00", 1.0, 9.0],
        ["2015-03-06T14:35:15+00:00", 1.0, 11.0]
    ])
}

fn m2_mean_all() -> Value {
    json!([
        ["2015-03-06T14:33:00+00:00", 60.0, 2.0],
        ["2015-03-06T14:34:00+00:00", 60.0, 4.5],
        ["2015-03-06T14:35:00+00:00", 60.0, 12.5],
        ["2015-03-06T14:33:57+00:00", 1.0, 2.0],
        ["2015-03-06T14:34:12+00:00", 1.0, 4.0],
        ["2015-03-06T14:34:15+00:00", 1.0, 5.0],
        ["2015-03-06T14:35:12+00:00", 1.0, 10.0],
        ["2015-03-06T14:35:15+00:00", 1.0, 15.0]
    ])
}

// --- gabbit aggregates-with-metric-ids.yaml ---------------------------------

#[test]
fn gabbit_no_references_and_dedup() {
    let want = json!({M1: {"mean": m1_mean_all()}, M2: {"mean": m2_mean_all()}});
    assert_eq!(
        ok(
            json!(["metric", [M1, "mean"], [M2, "mean"]]),
            EvalOptions::default()
        ),
        want
    );
    // "we put metric2 twice to ensure we retrieve it once"
    assert_eq!(
        ok(
            json!(["metric", [M1, "mean"], [M2, "mean"], [M2, "mean"]]),
            EvalOptions::default()
        ),
        want
    );
    let op = parse(&json!(["metric", [M1, "mean"], [M2, "mean"], [M2, "mean"]])).unwrap();
    assert_eq!(
        referenced_metrics(&op),
        vec![(M1.into(), "mean".into()), (M2.into(), "mean".into())]
    );
}

#[test]
fn gabbit_start_stop() {
    let opts = EvalOptions {
        start: Some(ts("2015-03-06T14:34:00")),
        stop: Some(ts("2015-03-06T14:35:13")),
        ..Default::default()
    };
    assert_eq!(
        ok(json!(["metric", [M1, "mean"], [M2, "mean"]]), opts),
        json!({
            M1: {"mean": [
                ["2015-03-06T14:34:00+00:00", 60.0, -2.0],
                ["2015-03-06T14:35:00+00:00", 60.0, 10.0],
                ["2015-03-06T14:34:12+00:00", 1.0, 12.0],
                ["2015-03-06T14:34:15+00:00", 1.0, -16.0],
                ["2015-03-06T14:35:12+00:00", 1.0, 9.0]]},
            M2: {"mean": [
                ["2015-03-06T14:34:00+00:00", 60.0, 4.5],
                ["2015-03-06T14:35:00+00:00", 60.0, 12.5],
                ["2015-03-06T14:34:12+00:00", 1.0, 4.0],
                ["2015-03-06T14:34:15+00:00", 1.0, 5.0],
                ["2015-03-06T14:35:12+00:00", 1.0, 10.0]]}
        })
    );
}

#[test]
fn gabbit_granularity_max_min() {
    // The resolver only has 60 s for these: 1 s series are empty.
    let opts = EvalOptions {
        granularity: vec![60_000],
        ..Default::default()
    };
    assert_eq!(
        ok(json!(["metric", [M1, "max"], [M2, "min"]]), opts),
        json!({
            M1: {"max": [
                ["2015-03-06T14:33:00+00:00", 60.0, 43.1],
                ["2015-03-06T14:34:00+00:00", 60.0, 12.0],
                ["2015-03-06T14:35:00+00:00", 60.0, 11.0]]},
            M2: {"min": [
                ["2015-03-06T14:33:00+00:00", 60.0, 2.0],
                ["2015-03-06T14:34:00+00:00", 60.0, 4.0],
                ["2015-03-06T14:35:00+00:00", 60.0, 10.0]]}
        })
    );
}

#[test]
fn gabbit_math_array_and_string() {
    let want = json!({
        M1: {"mean": [
            ["2015-03-06T14:33:00+00:00", 60.0, 45.1],
            ["2015-03-06T14:34:00+00:00", 60.0, 0.0],
            ["2015-03-06T14:35:00+00:00", 60.0, 12.0],
            ["2015-03-06T14:33:57+00:00", 1.0, 45.1],
            ["2015-03-06T14:34:12+00:00", 1.0, 14.0],
            ["2015-03-06T14:34:15+00:00", 1.0, -14.0],
            ["2015-03-06T14:35:12+00:00", 1.0, 11.0],
            ["2015-03-06T14:35:15+00:00", 1.0, 13.0]]},
        M2: {"mean": [
            ["2015-03-06T14:33:00+00:00", 60.0, 4.0],
            ["2015-03-06T14:34:00+00:00", 60.0, 6.5],
            ["2015-03-06T14:35:00+00:00", 60.0, 14.5],
            ["2015-03-06T14:33:57+00:00", 1.0, 4.0],
            ["2015-03-06T14:34:12+00:00", 1.0, 6.0],
            ["2015-03-06T14:34:15+00:00", 1.0, 7.0],
            ["2015-03-06T14:35:12+00:00", 1.0, 12.0],
            ["2015-03-06T14:35:15+00:00", 1.0, 17.0]]}
    });
    assert_eq!(
        ok(
            json!(["+", ["metric", [M1, "mean"], [M2, "mean"]], 2.0]),
            EvalOptions::default()
        ),
        want
    );
    let s = format!("(+ (metric ({M1} mean) ({M2} mean)) 2.0)");
    assert_eq!(ok(json!(s), EvalOptions::default()), want);
}

#[test]
fn gabbit_resample_and_rolling() {
    let opts = EvalOptions {
        granularity: vec![1000],
        ..Default::default()
    };
    assert_eq!(
        ok(
            json!([
                "resample",
                "mean",
                60,
                ["metric", [M1, "mean"], [M2, "mean"]]
            ]),
            opts.clone()
        ),
        json!({
            M1: {"mean": [
                ["2015-03-06T14:33:00+00:00", 60.0, 43.1],
                ["2015-03-06T14:34:00+00:00", 60.0, -2.0],
                ["2015-03-06T14:35:00+00:00", 60.0, 10.0]]},
            M2: {"mean": [
                ["2015-03-06T14:33:00+00:00", 60.0, 2.0],
                ["2015-03-06T14:34:00+00:00", 60.0, 4.5],
                ["2015-03-06T14:35:00+00:00", 60.0, 12.5]]}
        })
    );
    assert_eq!(
        ok(
            json!(["rolling", "mean", 2, ["metric", [M1, "mean"], [M2, "mean"]]]),
            opts
        ),
        json!({
            M1: {"mean": [
                ["2015-03-06T14:34:12+00:00", 1.0, 27.55],
                ["2015-03-06T14:34:15+00:00", 1.0, -2.0],
                ["2015-03-06T14:35:12+00:00", 1.0, -3.5],
                ["2015-03-06T14:35:15+00:00", 1.0, 10.0]]},
            M2: {"mean": [
                ["2015-03-06T14:34:12+00:00", 1.0, 3.0],
                ["2015-03-06T14:34:15+00:00", 1.0, 4.5],
                ["2015-03-06T14:35:12+00:00", 1.0, 7.5],
                ["2015-03-06T14:35:15+00:00", 1.0, 12.5]]}
        })
    );
}

#[test]
fn gabbit_one_metric_string() {
    assert_eq!(
        ok(json!(format!("(metric {M1} mean)")), EvalOptions::default()),
        json!({M1: {"mean": m1_mean_all()}})
    );
}

fn aggregated_mean() -> Value {
    json!({"aggregated": [
        ["2015-03-06T14:33:00+00:00", 60.0, 22.55],
        ["2015-03-06T14:34:00+00:00", 60.0, 1.25],
        ["2015-03-06T14:35:00+00:00", 60.0, 11.25],
        ["2015-03-06T14:33:57+00:00", 1.0, 22.55],
        ["2015-03-06T14:34:12+00:00", 1.0, 8.0],
        ["2015-03-06T14:34:15+00:00", 1.0, -5.5],
        ["2015-03-06T14:35:12+00:00", 1.0, 9.5],
        ["2015-03-06T14:35:15+00:00", 1.0, 13.0]]})
}

#[test]
fn gabbit_aggregates() {
    assert_eq!(
        ok(
            json!(["aggregate", "mean", ["metric", [M1, "mean"], [M2, "mean"]]]),
            EvalOptions::default()
        ),
        aggregated_mean()
    );
    assert_eq!(
        ok(
            json!(format!("(aggregate mean (metric ({M1} mean) ({M2} mean)))")),
            EvalOptions::default()
        ),
        aggregated_mean()
    );
    assert_eq!(
        ok(
            json!([
                "aggregate",
                "rate:mean",
                ["metric", [M1, "mean"], [M2, "mean"]]
            ]),
            EvalOptions::default()
        ),
        json!({"aggregated": [
            ["2015-03-06T14:34:00+00:00", 60.0, -21.30],
            ["2015-03-06T14:35:00+00:00", 60.0, 10.0],
            ["2015-03-06T14:34:12+00:00", 1.0, -14.55],
            ["2015-03-06T14:34:15+00:00", 1.0, -13.5],
            ["2015-03-06T14:35:12+00:00", 1.0, 15.0],
            ["2015-03-06T14:35:15+00:00", 1.0, 3.5]]})
    );
    let one = ok(
        json!(format!("(aggregate mean (metric {M1} mean))")),
        EvalOptions::default(),
    );
    assert_eq!(one, json!({"aggregated": m1_mean_all()}));
    assert_eq!(
        ok(
            json!(format!("(rateofchange (metric {M1} mean))")),
            EvalOptions::default()
        ),
        json!({M1: {"mean": [
            ["2015-03-06T14:34:00+00:00", 60.0, -45.1],
            ["2015-03-06T14:35:00+00:00", 60.0, 12.0],
            ["2015-03-06T14:34:12+00:00", 1.0, -31.1],
            ["2015-03-06T14:34:15+00:00", 1.0, -28.0],
            ["2015-03-06T14:35:12+00:00", 1.0, 25.0],
            ["2015-03-06T14:35:15+00:00", 1.0, 2.0]]}})
    );
    // Trailing garbage after the expression is ignored, as pyparsing does.
    assert_eq!(
        ok(
            json!(format!("(- (metric {M1} mean) (metric {M2} mean)))")),
            EvalOptions::default()
        ),
        json!({"aggregated": [
            ["2015-03-06T14:33:00+00:00", 60.0, 41.1],
            ["2015-03-06T14:34:00+00:00", 60.0, -6.5],
            ["2015-03-06T14:35:00+00:00", 60.0, -2.5],
            ["2015-03-06T14:33:57+00:00", 1.0, 41.1],
            ["2015-03-06T14:34:12+00:00", 1.0, 8.0],
            ["2015-03-06T14:34:15+00:00", 1.0, -21.0],
            ["2015-03-06T14:35:12+00:00", 1.0, -1.0],
            ["2015-03-06T14:35:15+00:00", 1.0, -4.0]]})
    );
    assert_eq!(
        ok(
            json!(format!(
                "(negative (absolute (aggregate mean (metric ({M1} mean) ({M2} mean)))))"
            )),
            EvalOptions::default()
        ),
        json!({"aggregated": [
            ["2015-03-06T14:33:00+00:00", 60.0, -22.55],
            ["2015-03-06T14:34:00+00:00", 60.0, -1.25],
            ["2015-03-06T14:35:00+00:00", 60.0, -11.25],
            ["2015-03-06T14:33:57+00:00", 1.0, -22.55],
            ["2015-03-06T14:34:12+00:00", 1.0, -8.0],
            ["2015-03-06T14:34:15+00:00", 1.0, -5.5],
            ["2015-03-06T14:35:12+00:00", 1.0, -9.5],
            ["2015-03-06T14:35:15+00:00", 1.0, -13.0]]})
    );
}

#[test]
fn gabbit_fill_number_and_no_overlap() {
    let s = format!("(metric ({M1} mean) ({M2} mean))");
    let opts = EvalOptions {
        fill: Some(Fill::parse("123").unwrap()),
        ..Default::default()
    };
    let got = run(json!(s), opts, true).unwrap();
    let extra = |g: f64, v: f64| {
        json!([
            ["2015-03-06T14:37:00+00:00", g, v],
            ["2015-03-06T14:38:00+00:00", g, v]
        ])
    };
    let splice = |base: Value, g60: Value, g1: Value| {
        let b = base.as_array().unwrap();
        let mut out = b[..3].to_vec();
        out.extend(g60.as_array().unwrap().iter().cloned());
        out.extend(b[3..].iter().cloned());
        out.extend(g1.as_array().unwrap().iter().cloned());
        Value::Array(out)
    };
    assert_eq!(
        got,
        json!({
            M1: {"mean": splice(m1_mean_all(), extra(60.0, 15.0), extra(1.0, 15.0))},
            M2: {"mean": splice(m2_mean_all(), extra(60.0, 123.0), extra(1.0, 123.0))}
        })
    );

    // "no overlap dropna": the default drops the holes.
    let s = format!("(metric ({M1} mean) ({M4} mean))");
    let got = run(json!(s.clone()), EvalOptions::default(), true).unwrap();
    let m1 = splice(m1_mean_all(), extra(60.0, 15.0), extra(1.0, 15.0));
    assert_eq!(
        got,
        json!({
            M1: {"mean": m1.clone()},
            M4: {"mean": [
                ["2017-04-06T14:33:00+00:00", 60.0, 20.0],
                ["2017-04-06T14:34:00+00:00", 60.0, 10.0],
                ["2017-04-06T14:33:57+00:00", 1.0, 20.0],
                ["2017-04-06T14:34:12+00:00", 1.0, 10.0]]}
        })
    );

    // "no overlap null": NaN holes kept (rendered null).
    let opts = EvalOptions {
        fill: Some(Fill::Null),
        ..Default::default()
    };
    let got = run(json!(s.clone()), opts, true).unwrap();
    let m1_60 = &got[M1]["mean"];
    assert_eq!(m1_60.as_array().unwrap().len(), 16);
    assert_eq!(m1_60[5], json!(["2017-04-06T14:33:00+00:00", 60.0, null]));
    assert_eq!(m1_60[14], json!(["2017-04-06T14:33:57+00:00", 1.0, null]));
    assert_eq!(
        got[M4]["mean"][0],
        json!(["2015-03-06T14:33:00+00:00", 60.0, null])
    );
    assert_eq!(
        got[M4]["mean"][5],
        json!(["2017-04-06T14:33:00+00:00", 60.0, 20.0])
    );

    // With needed_overlap and no fill: Gnocchi's errors.
    let opts = EvalOptions {
        needed_overlap: Some(100.0),
        ..Default::default()
    };
    let e = run(json!(s), opts, true).unwrap_err();
    assert_eq!(
        e.description(),
        json!({"cause": "Metrics cannot be aggregated", "reason": "No overlap", "detail": [[M1, "mean"], [M4, "mean"]]})
    );
}

#[test]
fn gabbit_errors() {
    let e = run(
        json!(["metric", [M1, "mean"], [M2, "mean"], [M3, "mean"]]),
        EvalOptions::default(),
        false,
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.description(),
        json!({"cause": "Metrics cannot be aggregated", "reason": "No granularity match",
               "detail": [[M1, "mean"], [M2, "mean"], [M3, "mean"]]})
    );
    let opts = EvalOptions {
        granularity: vec![123_000],
        ..Default::default()
    };
    let e = run(json!(["metric", M1, "mean"]), opts, false).unwrap_err();
    assert_eq!(
        e.description(),
        json!({"cause": "Metrics cannot be aggregated", "reason": "Granularities are missing", "detail": [[M1, "mean", 123.0]]})
    );
    let e = run(
        json!(["metric", [M1, "what?"], [M2, "mean"]]),
        EvalOptions::default(),
        false,
    )
    .unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(
        e.description()["cause"],
        json!("Metrics with unknown aggregation")
    );
    let e = Fill::parse("foobar").unwrap_err();
    assert_eq!(
        e.description(),
        json!({"cause": "Argument value error", "detail": "fill",
               "reason": "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'"})
    );
    let e = run(
        json!(format!("(rolling mean 6 (metric {M1} mean))")),
        EvalOptions::default(),
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.description()["reason"],
        json!("Rolling window '6' is greater than serie length '3'")
    );
}

// --- parsing -----------------------------------------------------------------

fn invalid(ops: Value) -> (String, Vec<String>) {
    match parse(&ops) {
        Err(OpsError::Invalid { reason, detail }) => (reason, detail),
        other => panic!("{ops}: {other:?}"),
    }
}

/// Messages pinned from Gnocchi's schema (voluptuous 0.16, pyparsing 3).
#[test]
fn parse_errors_are_gnocchis() {
    let sfx = " for dictionary value @ data['operations']";
    let cases: Vec<(Value, String)> = vec![
        (json!([]), format!("Operation must not be empty{sfx}")),
        (
            json!({"foo": "bar"}),
            format!("Expected a tuple/list, got a <class 'dict'>{sfx}"),
        ),
        (
            json!(5),
            format!("Expected a tuple/list, got a <class 'int'>{sfx}"),
        ),
        (
            json!(["metric"]),
            format!("Operation need at least one argument{sfx}"),
        ),
        (
            json!([["metric", "a", "mean"]]),
            format!("Operation need at least one argument{sfx}"),
        ),
        (
            json!("(rolling blah 2 (metric a mean))"),
            format!("'rolling' operation invalid{sfx}"),
        ),
        (
            json!("(rolling mean (metric a mean))"),
            format!("'rolling' operation invalid{sfx}"),
        ),
        (
            json!("(rolling mean 2.5 (metric a mean))"),
            format!("'rolling' operation invalid{sfx}"),
        ),
        (
            json!("(rolling mean 0 (metric a mean))"),
            format!("'rolling' operation invalid{sfx}"),
        ),
        (
            json!("(notexist (absolute (metric a mean)))"),
            format!("'notexist' operation invalid{sfx}"),
        ),
        (
            json!("(resample mean invalid (metric a mean))"),
            format!("'resample' operation invalid{sfx}"),
        ),
        (
            json!("(resample 100pct 60 (metric a mean))"),
            format!("'resample' operation invalid{sfx}"),
        ),
        (
            json!(["resample", "mean", "-5", ["metric", "a", "mean"]]),
            format!("'resample' operation invalid{sfx}"),
        ),
        (
            json!("(aggregate last (metric a mean))"),
            format!("'aggregate' operation invalid{sfx}"),
        ),
        (
            json!(["+", ["metric", "a", "mean"], "x"]),
            format!("'+' operation invalid{sfx}"),
        ),
        (
            json!(["+", ["metric", "a", "mean"]]),
            format!("'+' operation invalid{sfx}"),
        ),
        (
            json!(["clip", ["metric", "a", "mean"], 1, 2, 3]),
            format!("'clip' operation invalid{sfx}"),
        ),
        (
            json!("(+ (metric a mean) (foo 1))"),
            format!("'+' operation invalid{sfx}"),
        ),
        (
            json!(["aggregate", "mean", ["metric", "a", "mean"], 1]),
            format!("'aggregate' operation invalid{sfx}"),
        ),
    ];
    for (ops, want) in cases {
        let (r, d) = invalid(ops.clone());
        assert_eq!(r, want, "{ops}");
        assert_eq!(d, vec!["operations".to_string()]);
    }
    for (ops, i) in [
        (json!(["metric", 1, "mean"]), 0),
        (json!(["metric", "a"]), 0),
        (json!(["metric", "a", "mean", "x"]), 0),
        (json!(["metric", ["a", "mean"], ["b"]]), 1),
    ] {
        let (r, d) = invalid(ops);
        assert_eq!(r, format!("None @ data['operations'][{i}]"));
        assert_eq!(d, vec!["operations".to_string(), i.to_string()]);
    }
    for (s, detail) in [
        (
            "(metroc foo bar",
            "Expected ')', found end of text  (at char 15), (line:1, col:16)",
        ),
        ("5", "Expected '(', found '5'  (at char 0), (line:1, col:1)"),
        (
            "(metric a",
            "Expected ')', found end of text  (at char 9), (line:1, col:10)",
        ),
        ("", "Expected '('  (at char 0), (line:1, col:1)"),
    ] {
        let e = parse(&json!(s)).unwrap_err();
        assert_eq!(
            e.description(),
            json!({"cause": "Invalid operations", "reason": "Fail to parse the operations string", "detail": detail}),
            "{s}"
        );
    }
    let e = parse(&json!(["+", 1, 2])).unwrap_err();
    assert_eq!(
        e.description(),
        json!({"cause": "Operations is invalid", "reason": "At least one 'metric' is required", "detail": ["+", 1.0, 2.0]})
    );
}

#[test]
fn parse_accepts_what_gnocchi_accepts() {
    let m = || Box::new(Op::Metric(vec![("a".into(), "mean".into())]));
    let cases: Vec<(Value, Op)> = vec![
        (
            json!(["rolling", "mean", 2.5, ["metric", "a", "mean"]]),
            Op::Rolling {
                method: ReduceMethod::from_name("mean").unwrap(),
                window: 2,
                operand: m(),
            },
        ),
        (
            json!(["rolling", "mean", "3", ["metric", "a", "mean"]]),
            Op::Rolling {
                method: ReduceMethod::from_name("mean").unwrap(),
                window: 3,
                operand: m(),
            },
        ),
        (
            json!(["rolling", "rate:max", true, ["metric", "a", "mean"]]),
            Op::Rolling {
                method: ReduceMethod::from_name("rate:max").unwrap(),
                window: 1,
                operand: m(),
            },
        ),
        (
            json!("(resample mean 1d (metric a mean))"),
            Op::Resample {
                method: "mean".parse().unwrap(),
                granularity: 86_400_000,
                operand: m(),
            },
        ),
        (
            json!("(resample 99pct 60 (metric a mean))"),
            Op::Resample {
                method: "99pct".parse().unwrap(),
                granularity: 60_000,
                operand: m(),
            },
        ),
        (
            json!([
                "resample",
                "rate:mean",
                "5 minutes",
                ["metric", "a", "mean"]
            ]),
            Op::Resample {
                method: "rate:mean".parse().unwrap(),
                granularity: 300_000,
                operand: m(),
            },
        ),
        (
            json!(["resample", "last", 0.5, ["metric", "a", "mean"]]),
            Op::Resample {
                method: "last".parse().unwrap(),
                granularity: 500,
                operand: m(),
            },
        ),
        (
            json!(["+", ["metric", "a", "mean"], "2"]),
            Op::Binary {
                op: BinaryOp::Add,
                lhs: m(),
                rhs: Box::new(Op::Number(2.0)),
            },
        ),
        (
            json!(["×", true, ["metric", "a", "mean"]]),
            Op::Binary {
                op: BinaryOp::Mul,
                lhs: Box::new(Op::Number(1.0)),
                rhs: m(),
            },
        ),
        (
            json!("(clip (metric a mean) 1)"),
            Op::Clip {
                operand: m(),
                min: Box::new(Op::Number(1.0)),
                max: None,
            },
        ),
        (
            json!("(clip (metric a mean) 1 2)"),
            Op::Clip {
                operand: m(),
                min: Box::new(Op::Number(1.0)),
                max: Some(Box::new(Op::Number(2.0))),
            },
        ),
        (
            json!("(absolute (metric a mean))"),
            Op::Unary {
                op: UnaryOp::Abs,
                operand: m(),
            },
        ),
        (
            json!("(max (metric a mean) 3)"),
            Op::Binary {
                op: BinaryOp::Max,
                lhs: m(),
                rhs: Box::new(Op::Number(3.0)),
            },
        ),
        (
            json!("(metric \"a\" mean)(b)"),
            Op::Metric(vec![("a".into(), "mean".into())]),
        ),
        (
            json!("  (metric (a mean) (b max))"),
            Op::Metric(vec![
                ("a".into(), "mean".into()),
                ("b".into(), "max".into()),
            ]),
        ),
        (
            json!(["metric", ["a", "mean"]]),
            Op::Metric(vec![("a".into(), "mean".into())]),
        ),
        (
            json!("(metric 'cpu util' rate:mean)"),
            Op::Metric(vec![("cpu util".into(), "rate:mean".into())]),
        ),
    ];
    for (ops, want) in cases {
        assert_eq!(
            parse(&ops).unwrap_or_else(|e| panic!("{ops}: {e:?}")),
            want,
            "{ops}"
        );
    }
    // Every operator spelling.
    for name in [
        "+", "add", "-", "sub", "*", "×", "mul", "/", "÷", "div", "**", "^", "pow", "%", "mod",
        "=", "==", "eq", "<", "lt", ">", "gt", "<=", "≤", "le", ">=", "≥", "ge", "!=", "≠", "ne",
        "clip_min", "clip_max", "max",
    ] {
        assert!(
            parse(&json!([name, ["metric", "a", "mean"], 1])).is_ok(),
            "{name}"
        );
    }
    for name in [
        "abs",
        "absolute",
        "neg",
        "negative",
        "cos",
        "sin",
        "tan",
        "floor",
        "ceil",
        "rateofchange",
        "rateofchangesec",
    ] {
        assert!(
            parse(&json!([name, ["metric", "a", "mean"]])).is_ok(),
            "{name}"
        );
    }
    for agg in [
        "mean",
        "median",
        "std",
        "min",
        "max",
        "sum",
        "var",
        "count",
        "rate:mean",
        "rate:var",
        "rate:count",
    ] {
        assert!(
            parse(&json!(["aggregate", agg, ["metric", "a", "mean"]])).is_ok(),
            "{agg}"
        );
        assert!(
            parse(&json!(["rolling", agg, 2, ["metric", "a", "mean"]])).is_ok(),
            "{agg}"
        );
    }
    // String and JSON forms are the same tree.
    assert_eq!(
        parse(&json!(
            "(* (aggregate mean (metric 5a301761-f78b-46e2-8900-8b4f6fe6675a mean)) 4)"
        ))
        .unwrap(),
        parse(&json!([
            "*",
            [
                "aggregate",
                "mean",
                ["metric", "5a301761-f78b-46e2-8900-8b4f6fe6675a", "mean"]
            ],
            4
        ]))
        .unwrap()
    );
}

// --- processor semantics (gnocchi/tests/test_aggregates.py) ------------------

/// A named series at one granularity.
type Stored = (&'static str, i64, Vec<(i64, f64)>);

fn series_resolver(series: Vec<Stored>) -> impl Fn(&str, &str) -> Result<Vec<Input>, OpsError> {
    move |name: &str, agg: &str| {
        Ok(series
            .iter()
            .filter(|(n, _, _)| *n == name)
            .map(|(n, g, p)| Input {
                key: InputKey::Metric { id: (*n).into() },
                aggregation: agg.into(),
                granularity: *g,
                points: p.clone(),
            })
            .collect())
    }
}

fn minutes(h: i64, m: i64) -> i64 {
    ts("2014-01-01T00:00:00") + (h * 60 + m) * 60_000
}

fn agg_values(out: &Output) -> Vec<(i64, f64)> {
    match out {
        Output::Aggregated(ms) => ms.iter().map(|m| (m.timestamp, m.value)).collect(),
        Output::Series(_) => panic!("not aggregated"),
    }
}

#[test]
fn overlap_percent_and_boundaries() {
    // test_aggregated_different_archive_overlap
    let a = vec![
        (minutes(11, 0), 4.0),
        (minutes(12, 1), 3.0),
        (minutes(12, 2), 2.0),
        (minutes(12, 3), 4.0),
        (minutes(12, 4), 2.0),
        (minutes(12, 5), 3.0),
        (minutes(12, 6), 4.0),
        (minutes(12, 7), 10.0),
        (minutes(12, 9), 2.0),
    ];
    let b = vec![
        (minutes(12, 1), 3.0),
        (minutes(12, 2), 4.0),
        (minutes(12, 3), 4.0),
        (minutes(12, 4), 6.0),
        (minutes(12, 5), 3.0),
        (minutes(12, 6), 6.0),
        (minutes(12, 9), 2.0),
        (minutes(12, 11), 2.0),
        (minutes(12, 12), 2.0),
    ];
    let res = series_resolver(vec![("a", 60_000, a), ("b", 60_000, b)]);
    let op = parse(&json!([
        "aggregate",
        "mean",
        ["metric", ["a", "mean"], ["b", "mean"]]
    ]))
    .unwrap();
    let base = EvalOptions {
        start: Some(minutes(12, 0)),
        stop: Some(minutes(12, 10)),
        ..Default::default()
    };
    let e = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(100.0),
            ..base.clone()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.description(),
        json!({"cause": "Metrics cannot be aggregated",
               "reason": "Less than 100.000000% of datapoints overlap in this timespan (87.50%)",
               "detail": [["a", "mean"], ["b", "mean"]]})
    );
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(80.0),
            ..base
        },
    )
    .unwrap();
    assert_eq!(
        agg_values(&out),
        vec![
            (minutes(12, 1), 3.0),
            (minutes(12, 2), 3.0),
            (minutes(12, 3), 4.0),
            (minutes(12, 4), 4.0),
            (minutes(12, 5), 3.0),
            (minutes(12, 6), 5.0),
            (minutes(12, 7), 10.0),
            (minutes(12, 9), 2.0),
        ]
    );
}

#[test]
fn overlap_edges_and_partial() {
    // test_aggregated_different_archive_overlap_edge_missing1
    let a = vec![
        (minutes(12, 3), 9.0),
        (minutes(12, 4), 1.0),
        (minutes(12, 5), 2.0),
        (minutes(12, 6), 7.0),
        (minutes(12, 7), 5.0),
        (minutes(12, 8), 3.0),
    ];
    let b = vec![
        (minutes(11, 0), 6.0),
        (minutes(12, 1), 2.0),
        (minutes(12, 2), 13.0),
        (minutes(12, 3), 24.0),
        (minutes(12, 4), 4.0),
        (minutes(12, 5), 16.0),
        (minutes(12, 6), 12.0),
    ];
    let res = series_resolver(vec![("a", 60_000, a), ("b", 60_000, b)]);
    let op = parse(&json!([
        "aggregate",
        "sum",
        ["metric", ["a", "mean"], ["b", "mean"]]
    ]))
    .unwrap();
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(100.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        agg_values(&out),
        vec![
            (minutes(12, 3), 33.0),
            (minutes(12, 4), 5.0),
            (minutes(12, 5), 18.0),
            (minutes(12, 6), 19.0)
        ]
    );

    // test_aggregated_partial_overlap (1 s granularity)
    let t = |m: i64| ts("2015-12-03T13:00:00") + m * 60_000 + 15_000;
    let a = vec![(t(19), 1.0), (t(20), 1.0), (t(21), 1.0), (t(22), 1.0)];
    let b = vec![(t(21), 10.0), (t(22), 10.0), (t(23), 10.0), (t(24), 10.0)];
    let res = series_resolver(vec![("foo", 1000, a), ("bar", 1000, b)]);
    let op = parse(&json!([
        "aggregate",
        "sum",
        ["metric", ["foo", "mean"], ["bar", "mean"]]
    ]))
    .unwrap();
    let strict = EvalOptions {
        needed_overlap: Some(100.0),
        ..Default::default()
    };
    let out = evaluate(&op, &res, &strict).unwrap();
    assert_eq!(agg_values(&out), vec![(t(21), 11.0), (t(22), 11.0)]);
    let from = ts("2015-12-03T13:17:00");
    let to = ts("2015-12-03T13:25:00");
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            start: Some(from),
            stop: Some(to),
            needed_overlap: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        agg_values(&out),
        vec![
            (t(19), 1.0),
            (t(20), 1.0),
            (t(21), 11.0),
            (t(22), 11.0),
            (t(23), 10.0),
            (t(24), 10.0)
        ]
    );
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(agg_values(&out), vec![(t(21), 11.0), (t(22), 11.0)]);
    assert!(
        evaluate(
            &op,
            &res,
            &EvalOptions {
                stop: Some(to),
                ..strict.clone()
            }
        )
        .is_err()
    );
    assert!(
        evaluate(
            &op,
            &res,
            &EvalOptions {
                start: Some(from),
                ..strict
            }
        )
        .is_err()
    );
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            start: Some(from),
            needed_overlap: Some(50.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        agg_values(&out),
        vec![(t(19), 1.0), (t(20), 1.0), (t(21), 11.0), (t(22), 11.0)]
    );
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            stop: Some(to),
            needed_overlap: Some(50.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        agg_values(&out),
        vec![(t(21), 11.0), (t(22), 11.0), (t(23), 10.0), (t(24), 10.0)]
    );
}

#[test]
fn empty_series_overlap() {
    // test_get_measures_empty_metric_needed_overlap_zero / _no_overlap
    let res = series_resolver(vec![("m", 300_000, vec![]), ("n", 300_000, vec![])]);
    let op = parse(&json!(["metric", "m", "mean"])).unwrap();
    let out = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(0.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(render(&out), json!({"m": {"mean": []}}));
    let op = parse(&json!([
        "aggregate",
        "mean",
        ["metric", ["m", "mean"], ["n", "mean"]]
    ]))
    .unwrap();
    let e = evaluate(
        &op,
        &res,
        &EvalOptions {
            needed_overlap: Some(100.0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.description()["reason"], json!("No overlap"));
}

/// Every fill mode on two series with holes; expected values computed by
/// Gnocchi's processor.aggregated.
#[test]
fn every_fill_mode() {
    let t = |i: i64| ts("2020-01-01T00:00:00") + i * 60_000;
    let a = vec![(t(1), 1.0), (t(2), 2.0), (t(4), 4.0)];
    let b = vec![(t(0), 10.0), (t(2), 20.0), (t(3), 30.0)];
    let res = series_resolver(vec![("a", 60_000, a), ("b", 60_000, b)]);
    let sum = parse(&json!([
        "aggregate",
        "sum",
        ["metric", ["a", "mean"], ["b", "mean"]]
    ]))
    .unwrap();
    let plain = parse(&json!(["metric", ["a", "mean"], ["b", "mean"]])).unwrap();
    let n = f64::NAN;
    type Case = (Fill, Vec<f64>, Vec<f64>, Vec<f64>);
    let cases: Vec<Case> = vec![
        (
            Fill::Value(0.0),
            vec![10.0, 1.0, 22.0, 30.0, 4.0],
            vec![0.0, 1.0, 2.0, 0.0, 4.0],
            vec![10.0, 0.0, 20.0, 30.0, 0.0],
        ),
        (
            Fill::Null,
            vec![10.0, 1.0, 22.0, 30.0, 4.0],
            vec![n, 1.0, 2.0, n, 4.0],
            vec![10.0, n, 20.0, 30.0, n],
        ),
        (
            Fill::DropNa,
            vec![10.0, 1.0, 22.0, 30.0, 4.0],
            vec![1.0, 2.0, 4.0],
            vec![10.0, 20.0, 30.0],
        ),
        (
            Fill::Ffill,
            vec![10.0, 11.0, 22.0, 32.0, 34.0],
            vec![1.0, 2.0, 2.0, 4.0],
            vec![10.0, 10.0, 20.0, 30.0, 30.0],
        ),
        (
            Fill::Bfill,
            vec![11.0, 21.0, 22.0, 34.0, 4.0],
            vec![1.0, 1.0, 2.0, 4.0, 4.0],
            vec![10.0, 20.0, 20.0, 30.0],
        ),
        (
            Fill::FullFfill,
            vec![11.0, 11.0, 22.0, 32.0, 34.0],
            vec![1.0, 1.0, 2.0, 2.0, 4.0],
            vec![10.0, 10.0, 20.0, 30.0, 30.0],
        ),
        (
            Fill::FullBfill,
            vec![11.0, 21.0, 22.0, 34.0, 34.0],
            vec![1.0, 1.0, 2.0, 4.0, 4.0],
            vec![10.0, 20.0, 20.0, 30.0, 30.0],
        ),
    ];
    let same = |got: Vec<f64>, want: &[f64]| {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| g == w || (g.is_nan() && w.is_nan()))
    };
    for (fill, want_sum, want_a, want_b) in cases {
        let opts = EvalOptions {
            fill: Some(fill),
            ..Default::default()
        };
        let out = evaluate(&sum, &res, &opts).unwrap();
        let got: Vec<f64> = agg_values(&out).into_iter().map(|p| p.1).collect();
        assert!(same(got.clone(), &want_sum), "{fill:?} sum: {got:?}");
        let Output::Series(s) = evaluate(&plain, &res, &opts).unwrap() else {
            panic!()
        };
        let va: Vec<f64> = s[0].measures.iter().map(|m| m.value).collect();
        let vb: Vec<f64> = s[1].measures.iter().map(|m| m.value).collect();
        assert!(same(va.clone(), &want_a), "{fill:?} a: {va:?}");
        assert!(same(vb.clone(), &want_b), "{fill:?} b: {vb:?}");
    }
    assert_eq!(Fill::parse("full_bfill").unwrap(), Fill::FullBfill);
    assert_eq!(Fill::parse(" 1.5 ").unwrap(), Fill::Value(1.5));
}

// --- gabbit aggregates-with-resources.yaml ------------------------------------

const R1: &str = "1ed9c196-4c9f-4ba8-a5be-c9a71a82aac4";
const R2: &str = "2447cd7e-48a6-4c50-a991-6677cc0d00e6";
const R3: &str = "33333bc5-5948-4f29-b7df-7de607660452";

/// `*` globs (enough for the gabbit's `cpu.*` and `*way`).
fn glob_match(name: &str, glob: &str) -> bool {
    match glob.split_once('*') {
        None => name == glob,
        Some((pre, rest)) => {
            name.starts_with(pre)
                && (0..=name.len() - pre.len()).any(|k| {
                    name.is_char_boundary(pre.len() + k) && glob_match(&name[pre.len() + k..], rest)
                })
        }
    }
}

fn resources() -> impl Fn(&str, &str) -> Result<Vec<Input>, OpsError> {
    |glob: &str, agg: &str| {
        type Row<'a> = (&'a str, &'a str, Vec<(i64, f64)>, Vec<(i64, f64)>);
        let data: Vec<Row> = vec![
            (
                R1,
                "cpu.util",
                vec![(ts("2015-03-06T14:30:00"), 27.55)],
                pts(&[("2015-03-06T14:33:57", 43.1), ("2015-03-06T14:34:12", 12.0)]),
            ),
            (R1, "cpu.idle", vec![], vec![]),
            (R1, "noway", vec![], vec![]),
            (
                R2,
                "cpu.util",
                vec![(ts("2015-03-06T14:30:00"), 15.5)],
                pts(&[("2015-03-06T14:33:57", 23.0), ("2015-03-06T14:34:12", 8.0)]),
            ),
            (
                R2,
                "unique.stuff",
                vec![(ts("2015-03-06T14:30:00"), 15.5)],
                pts(&[("2015-03-06T14:33:57", 23.0), ("2015-03-06T14:34:12", 8.0)]),
            ),
            (
                R3,
                "cpu.util",
                vec![(ts("2015-03-06T14:30:00"), 137.70499999999998)],
                pts(&[
                    ("2015-03-06T14:33:57", 230.0),
                    ("2015-03-06T14:34:12", 45.41),
                ]),
            ),
        ];
        let mut out = Vec::new();
        for (r, name, p300, p1) in data {
            if glob_match(name, glob) {
                let key = InputKey::Resource {
                    resource_id: r.into(),
                    metric_name: name.into(),
                };
                out.push(Input {
                    key: key.clone(),
                    aggregation: agg.into(),
                    granularity: 300_000,
                    points: p300,
                });
                out.push(Input {
                    key,
                    aggregation: agg.into(),
                    granularity: 1000,
                    points: p1,
                });
            }
        }
        Ok(out)
    }
}

fn res_run(ops: &str) -> Result<Value, OpsError> {
    let op = parse(&json!(ops))?;
    evaluate(
        &op,
        &resources(),
        &EvalOptions::default().with_aggregates_defaults(),
    )
    .map(|o| render(&o))
}

#[test]
fn gabbit_resources() {
    assert_eq!(
        res_run("(aggregate mean (metric cpu.util mean))").unwrap(),
        json!({"aggregated": [
            ["2015-03-06T14:30:00+00:00", 300.0, 60.251666666666665],
            ["2015-03-06T14:33:57+00:00", 1.0, 98.7],
            ["2015-03-06T14:34:12+00:00", 1.0, 21.80333333333333]]})
    );
    let cpu = |r: &str| match r {
        R1 => json!([
            ["2015-03-06T14:30:00+00:00", 300.0, 27.55],
            ["2015-03-06T14:33:57+00:00", 1.0, 43.1],
            ["2015-03-06T14:34:12+00:00", 1.0, 12.0]
        ]),
        R2 => json!([
            ["2015-03-06T14:30:00+00:00", 300.0, 15.5],
            ["2015-03-06T14:33:57+00:00", 1.0, 23.0],
            ["2015-03-06T14:34:12+00:00", 1.0, 8.0]
        ]),
        _ => json!([
            ["2015-03-06T14:30:00+00:00", 300.0, 137.70499999999998],
            ["2015-03-06T14:33:57+00:00", 1.0, 230.0],
            ["2015-03-06T14:34:12+00:00", 1.0, 45.41]
        ]),
    };
    assert_eq!(
        res_run("(metric (cpu.util mean) (cpu.idle mean))").unwrap(),
        json!({
            R1: {"cpu.util": {"mean": cpu(R1)}, "cpu.idle": {"mean": []}},
            R2: {"cpu.util": {"mean": cpu(R2)}},
            R3: {"cpu.util": {"mean": cpu(R3)}}
        })
    );
    assert_eq!(
        res_run("(metric (cpu.* mean) (*way mean))").unwrap(),
        json!({
            R1: {"cpu.util": {"mean": cpu(R1)}, "cpu.idle": {"mean": []}, "noway": {"mean": []}},
            R2: {"cpu.util": {"mean": cpu(R2)}},
            R3: {"cpu.util": {"mean": cpu(R3)}}
        })
    );
    assert_eq!(
        res_run("(> (metric cpu.util mean) 20)").unwrap(),
        json!({
            R1: {"cpu.util": {"mean": [["2015-03-06T14:30:00+00:00", 300.0, 1.0], ["2015-03-06T14:33:57+00:00", 1.0, 1.0], ["2015-03-06T14:34:12+00:00", 1.0, 0.0]]}},
            R2: {"cpu.util": {"mean": [["2015-03-06T14:30:00+00:00", 300.0, 0.0], ["2015-03-06T14:33:57+00:00", 1.0, 1.0], ["2015-03-06T14:34:12+00:00", 1.0, 0.0]]}},
            R3: {"cpu.util": {"mean": [["2015-03-06T14:30:00+00:00", 300.0, 1.0], ["2015-03-06T14:33:57+00:00", 1.0, 1.0], ["2015-03-06T14:34:12+00:00", 1.0, 1.0]]}}
        })
    );
    // "aggregate and drop infinity from divide by zero"
    assert_eq!(
        res_run("(/ (* 100 (aggregate mean (metric cpu.util mean))) 0 )").unwrap(),
        json!({"aggregated": []})
    );
    let op = parse(&json!(
        "(/ (* 100 (aggregate mean (metric cpu.util mean))) 0 )"
    ))
    .unwrap();
    let out = evaluate(
        &op,
        &resources(),
        &EvalOptions {
            fill: Some(Fill::Null),
            ..Default::default()
        },
    )
    .unwrap();
    let vals: Vec<f64> = match out {
        Output::Aggregated(ms) => ms.iter().map(|m| m.value).collect(),
        Output::Series(_) => panic!(),
    };
    assert_eq!(vals, vec![f64::INFINITY; 3]);
    // "not matching metrics"
    let e = res_run("(aggregate mean (metric (notexists mean) (foobar mean)))").unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(
        e.description(),
        json!("Metric ['foobar', 'notexists'] does not exist")
    );
}
