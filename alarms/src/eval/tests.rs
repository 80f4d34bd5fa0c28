//! Aodh's evaluation semantics against fixed statistics.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::model::{RuleContext, parse_rule};
use crate::source::Source;

/// Answers PromQL by exact query text and Gnocchi by path prefix.
#[derive(Debug, Default)]
struct Fixed {
    promql: HashMap<String, Vec<f64>>,
    gnocchi: Vec<(String, u16, Value)>,
}

#[async_trait]
impl Source for Fixed {
    async fn promql(&self, query: &str, scope: Option<&str>, _t: i64) -> Result<Vec<f64>, String> {
        let key = match scope {
            Some(p) => format!("{query}@{p}"),
            None => query.to_owned(),
        };
        self.promql
            .get(&key)
            .cloned()
            .ok_or_else(|| format!("no data for {key}"))
    }
    async fn gnocchi(
        &self,
        _m: &str,
        path: &str,
        _b: Option<Value>,
    ) -> Result<(u16, Value), String> {
        self.gnocchi
            .iter()
            .find(|(p, _, _)| path.starts_with(p.as_str()))
            .map(|(_, s, v)| (*s, v.clone()))
            .ok_or_else(|| "connection refused".to_owned())
    }
}

fn alarm(type_: &str, rule: Value, state: State, repeat: bool) -> AlarmRecord {
    let methods = vec!["mean".to_owned(), "max".to_owned()];
    let ctx = RuleContext {
        scope_project: None,
        aggregation_methods: &methods,
    };
    let (parsed, rule) = parse_rule(type_, &rule, &ctx).unwrap();
    AlarmRecord {
        alarm_id: "a".into(),
        name: "n".into(),
        description: String::new(),
        type_: type_.into(),
        enabled: true,
        state,
        state_reason: String::new(),
        severity: "low".into(),
        ok_actions: vec![],
        alarm_actions: vec![],
        insufficient_data_actions: vec![],
        repeat_actions: repeat,
        time_constraints: vec![],
        project_id: "p".into(),
        user_id: "u".into(),
        timestamp_us: 0,
        state_timestamp_us: 0,
        evaluate_timestamp_us: None,
        rule,
        parsed,
        version: 1,
    }
}

fn prom(q: &str) -> Value {
    json!({"query": q, "threshold": 50, "comparison_operator": "gt"})
}

async fn run(src: &Fixed, a: &AlarmRecord) -> Option<Outcome> {
    evaluate(src, a, 1_700_000_000_000_000, 0).await
}

#[tokio::test]
async fn all_outside_alarms_with_aodh_reason() {
    let src = Fixed {
        promql: [("hi".to_owned(), vec![60.0, 82.1])].into(),
        ..Fixed::default()
    };
    let o = run(&src, &alarm("prometheus", prom("hi"), State::Ok, false))
        .await
        .unwrap();
    assert_eq!(o.state, State::Alarm);
    assert_eq!(
        o.reason,
        "Transition to alarm due to 2 samples outside threshold, most recent: 82.1"
    );
    assert_eq!(
        o.reason_data,
        json!({"type": "threshold", "disposition": "outside", "count": 2, "most_recent": 82.1})
    );
    // Already alarmed: nothing to do, unless repeat_actions.
    assert_eq!(
        run(&src, &alarm("prometheus", prom("hi"), State::Alarm, false)).await,
        None
    );
    let again = run(&src, &alarm("prometheus", prom("hi"), State::Alarm, true))
        .await
        .unwrap();
    assert_eq!(again.state, State::Alarm);
    assert!(
        again
            .reason
            .starts_with("Remaining as alarm due to 2 samples outside"),
        "{}",
        again.reason
    );
}

#[tokio::test]
async fn all_inside_is_ok_and_counts_inside_samples() {
    let src = Fixed {
        promql: [("lo".to_owned(), vec![1.0, 2.0, 3.0])].into(),
        ..Fixed::default()
    };
    let o = run(
        &src,
        &alarm("prometheus", prom("lo"), State::InsufficientData, false),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::Ok);
    assert_eq!(
        o.reason,
        "Transition to ok due to 3 samples inside threshold, most recent: 3.0"
    );
    assert_eq!(o.reason_data["disposition"], "inside");
}

#[tokio::test]
async fn mixed_points_change_nothing_except_from_insufficient_data() {
    let src = Fixed {
        promql: [("mixed".to_owned(), vec![99.0, 1.0])].into(),
        ..Fixed::default()
    };
    assert_eq!(
        run(
            &src,
            &alarm("prometheus", prom("mixed"), State::Alarm, false)
        )
        .await,
        None
    );
    assert_eq!(
        run(&src, &alarm("prometheus", prom("mixed"), State::Ok, false)).await,
        None
    );
    // From insufficient data the latest point decides.
    let o = run(
        &src,
        &alarm("prometheus", prom("mixed"), State::InsufficientData, false),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::Ok);
    assert_eq!(
        o.reason,
        "Transition to ok due to 1 samples inside threshold, most recent: 1.0"
    );
}

#[tokio::test]
async fn no_data_goes_to_insufficient_data_once() {
    let src = Fixed {
        promql: [("empty".to_owned(), vec![])].into(),
        ..Fixed::default()
    };
    let o = run(
        &src,
        &alarm("prometheus", prom("empty"), State::Alarm, false),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::InsufficientData);
    assert_eq!(o.reason, "datapoints are unknown");
    assert_eq!(o.reason_data["disposition"], "unknown");
    assert_eq!(
        run(
            &src,
            &alarm("prometheus", prom("empty"), State::InsufficientData, false)
        )
        .await,
        None
    );
    // A failing source is unknown too, with the error in the reason.
    let o = run(
        &src,
        &alarm("prometheus", prom("missing"), State::Ok, false),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::InsufficientData);
    assert!(
        o.reason
            .starts_with("alarm statistics retrieval failed: no data for missing"),
        "{}",
        o.reason
    );
}

fn gnocchi_rule(periods: i64) -> Value {
    json!({"metric": "cpu", "resource_id": "r1", "resource_type": "instance", "threshold": 50,
           "comparison_operator": "gt", "aggregation_method": "mean", "granularity": 60,
           "evaluation_periods": periods})
}

#[tokio::test]
async fn gnocchi_takes_the_last_periods_at_the_rule_granularity() {
    let rows = json!([
        ["2023-11-14T22:00:00+00:00", 300.0, 10.0],
        ["2023-11-14T22:10:00+00:00", 60.0, 10.0],
        ["2023-11-14T22:11:00+00:00", 60.0, 70.0],
        ["2023-11-14T22:12:00+00:00", 60.0, 80.0]
    ]);
    let src = Fixed {
        gnocchi: vec![(
            "/v1/resource/generic/r1/metric/cpu/measures?".into(),
            200,
            rows,
        )],
        ..Fixed::default()
    };
    let o = run(
        &src,
        &alarm(
            "gnocchi_resources_threshold",
            gnocchi_rule(2),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::Alarm);
    assert_eq!(
        o.reason,
        "Transition to alarm due to 2 samples outside threshold, most recent: 80.0"
    );
    // Three periods include the 10.0 point: mixed, no change.
    assert_eq!(
        run(
            &src,
            &alarm(
                "gnocchi_resources_threshold",
                gnocchi_rule(3),
                State::Ok,
                false
            )
        )
        .await,
        None
    );
    // Four periods: only three points at 60 s.
    let o = run(
        &src,
        &alarm(
            "gnocchi_resources_threshold",
            gnocchi_rule(4),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::InsufficientData);
    assert_eq!(o.reason, "4 datapoints are unknown");
    assert_eq!(o.reason_data["count"], 4);
}

#[tokio::test]
async fn gnocchi_404s_are_insufficient_data_with_aodh_reasons() {
    let src = Fixed {
        gnocchi: vec![(
            "/v1/resource/generic/r1/metric/cpu/measures?".into(),
            404,
            json!({"code": 404, "description": "Resource r1 does not exist"}),
        )],
        ..Fixed::default()
    };
    let o = run(
        &src,
        &alarm(
            "gnocchi_resources_threshold",
            gnocchi_rule(1),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.reason, "resource r1 does not exists");
    let src = Fixed {
        gnocchi: vec![(
            "/v1/resource/generic/r1/metric/cpu/measures?".into(),
            404,
            json!({"code": 404, "description": "Aggregation method 'mean' at granularity '60.0' for metric x does not exist"}),
        )],
        ..Fixed::default()
    };
    let o = run(
        &src,
        &alarm(
            "gnocchi_resources_threshold",
            gnocchi_rule(1),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        o.reason,
        "aggregation mean does not exist for metric cpu of resource r1"
    );
}

#[tokio::test]
async fn composite_and_or_follow_aodh() {
    let src = Fixed {
        promql: [
            ("hi".to_owned(), vec![99.0]),
            ("lo".to_owned(), vec![1.0]),
            ("none".to_owned(), vec![]),
        ]
        .into(),
        ..Fixed::default()
    };
    let sub = |q: &str| json!({"type": "prometheus", "query": q, "threshold": 50, "comparison_operator": "gt"});
    let or = json!({"or": [sub("lo"), {"and": [sub("hi"), sub("hi")]}]});
    let o = run(&src, &alarm("composite", or, State::Ok, false))
        .await
        .unwrap();
    assert_eq!(o.state, State::Alarm);
    assert_eq!(
        o.reason,
        "Composite rule alarm with composition form: (rule1 or (rule2 and rule3)) transition to alarm, due to rules: rule2, rule3 outside their threshold."
    );
    assert_eq!(
        o.reason_data["composition_form"],
        "(rule1 or (rule2 and rule3))"
    );
    assert_eq!(o.reason_data["causative_rules"]["rule2"]["query"], "hi");
    // and(hi, lo) is ok (one side ok); and(hi, none) is unknown.
    let o = run(
        &src,
        &alarm(
            "composite",
            json!({"and": [sub("hi"), sub("lo")]}),
            State::Alarm,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::Ok);
    let o = run(
        &src,
        &alarm(
            "composite",
            json!({"and": [sub("hi"), sub("none")]}),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::InsufficientData);
    assert!(
        o.reason
            .ends_with("due to rules: rule2 state evaluated to unknown."),
        "{}",
        o.reason
    );
    // or(hi, none) alarms even with an unknown side.
    let o = run(
        &src,
        &alarm(
            "composite",
            json!({"or": [sub("none"), sub("hi")]}),
            State::Ok,
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(o.state, State::Alarm);
}

#[test]
fn lstrip_is_a_character_set() {
    assert_eq!(lstrip_chars("rate:mean", "rate:"), "mean");
    assert_eq!(lstrip_chars("mean", "rate:"), "mean");
    assert_eq!(lstrip_chars("max", "rate:"), "max");
}
