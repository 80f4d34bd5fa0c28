//! Aodh's query languages against cases checked with jsonschema and Aodh's converters.
use super::*;
use serde_json::{Value, json};

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn filter(text: &str) -> Result<Filter, QueryError> {
    parse_filter(text, ALARM_FIELDS, TIMESTAMP_FIELDS)
}

fn err(text: &str) -> String {
    filter(text).expect_err(text).to_string()
}

fn alarms() -> Vec<Value> {
    vec![
        json!({"alarm_id": "a1", "name": "cpu", "state": "alarm", "severity": "low", "enabled": true,
               "project_id": "p1", "user_id": "u1", "timestamp": "2013-12-01T18:00:00",
               "state_timestamp": "2013-12-01T18:00:00.5"}),
        json!({"alarm_id": "a2", "name": "disk", "state": "ok", "severity": "critical", "enabled": false,
               "project_id": "p2", "user_id": "u2", "timestamp": "2013-12-01T18:30:00",
               "state_timestamp": "2013-12-02T00:00:00"}),
        json!({"alarm_id": "a3", "name": "Mem", "state": "insufficient data", "severity": "moderate",
               "enabled": true, "project_id": "p1", "user_id": "u2", "timestamp": "2013-12-01T19:00:00",
               "state_timestamp": null}),
    ]
}

fn selected(f: &Filter) -> Vec<String> {
    alarms()
        .iter()
        .filter(|d| matches(f, d))
        .map(|d| d["alarm_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn simple_terms_group_positionally_and_default_op() {
    let t = parse_simple(&pairs(&[
        ("q.field", "state"),
        ("q.value", "alarm"),
        ("limit", "5"),
        ("q.field", "enabled"),
        ("q.op", ""),
        ("q.op", "eq"),
        ("q.value", "True"),
        ("q.type", ""),
        ("q.type", "boolean"),
    ]))
    .expect("valid");
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].field.as_str(), t[0].op.as_str(), t[0].value.as_str()),
        ("state", "eq", "alarm")
    );
    assert_eq!(
        (
            t[1].field.as_str(),
            t[1].type_.as_str(),
            t[1].value.as_str()
        ),
        ("enabled", "boolean", "True")
    );
    let missing = parse_simple(&pairs(&[
        ("q.field", "a"),
        ("q.field", "b"),
        ("q.value", "x"),
    ]));
    assert_eq!(
        missing.expect_err("second term has no value").to_string(),
        "Invalid input for field/attribute value. Value: 'None'. Mandatory field missing."
    );
    assert_eq!(
        parse_simple(&pairs(&[("q.bogus", "x")]))
            .expect_err("unknown")
            .to_string(),
        "Unknown argument: \"q.bogus\""
    );
}

#[test]
fn simple_values_convert_like_aodh() {
    assert_eq!(convert_value(" 42 ", "integer"), Ok(json!(42)));
    assert_eq!(convert_value("1_000", "integer"), Ok(json!(1000)));
    assert_eq!(convert_value("1.5e3", "float"), Ok(json!(1500.0)));
    assert_eq!(convert_value("Yes", "boolean"), Ok(json!(true)));
    assert_eq!(convert_value("off", "boolean"), Ok(json!(false)));
    assert_eq!(
        convert_value("2013-12-05T20:38:29.5+01:00", "datetime"),
        Ok(json!("2013-12-05T19:38:29.500000"))
    );
    assert_eq!(
        convert_value("maybe", "boolean")
            .expect_err("bad bool")
            .to_string(),
        "Unable to convert the value maybe to the expected data type boolean."
    );
    assert_eq!(
        convert_value("1.5", "integer")
            .expect_err("bad int")
            .to_string(),
        "Unable to convert the value 1.5 to the expected data type integer."
    );
    assert_eq!(
        convert_value("x", "blob")
            .expect_err("bad type")
            .to_string(),
        "The data type blob is not supported. The supported data type list is: \
         ['integer', 'float', 'string', 'boolean', 'datetime']"
    );
}

#[test]
fn untyped_values_are_guessed_like_literal_eval() {
    assert_eq!(convert_value("True", ""), Ok(json!(true)));
    assert_eq!(convert_value("true", ""), Ok(json!("true")));
    assert_eq!(convert_value("None", ""), Ok(Value::Null));
    assert_eq!(convert_value("-12", ""), Ok(json!(-12)));
    assert_eq!(convert_value("0x1f", ""), Ok(json!(31)));
    assert_eq!(convert_value("007", ""), Ok(json!("007")));
    assert_eq!(convert_value("2.5", ""), Ok(json!(2.5)));
    assert_eq!(convert_value("'it''", ""), Ok(json!("'it''")));
    assert_eq!(convert_value("'quoted'", ""), Ok(json!("quoted")));
    assert_eq!(convert_value("alarm", ""), Ok(json!("alarm")));
}

#[test]
fn operators_aliases_and_case() {
    let f = filter(
        r#"{"AND": [{"=": {"project": "p1"}}, {"=<": {"timestamp": "2013-12-01T18:30:00"}}]}"#,
    )
    .expect("valid");
    assert_eq!(selected(&f), ["a1"]);
    let f = filter(r#"{"Or": [{"=~": {"name": "^d"}}, {"In": {"user": ["u1"]}}]}"#).expect("valid");
    assert_eq!(selected(&f), ["a1", "a2"]);
    let f = filter(r#"{"not": {"=": {"enabled": true}}}"#).expect("valid");
    assert_eq!(selected(&f), ["a2"]);
    // Strings compare by code point: "moderate" >= "low", "critical" < "low".
    let f = filter(r#"{"=>": {"severity": "low"}}"#).expect("valid");
    assert_eq!(selected(&f), ["a1", "a3"]);
    let f = filter(r#"{"!=": {"name": "cpu"}}"#).expect("valid");
    assert_eq!(selected(&f), ["a2", "a3"]);
}

#[test]
fn timestamps_compare_as_datetimes_with_offset_dropped() {
    // Fraction-less literal against a document with a fraction.
    let f = filter(r#"{">": {"state_timestamp": "2013-12-01T18:00:00"}}"#).expect("valid");
    assert_eq!(selected(&f), ["a1", "a2"]);
    // Aodh drops the offset without converting: 19:00+05:00 means 19:00.
    let f = filter(r#"{"=": {"timestamp": "2013-12-01T19:00:00+05:00"}}"#).expect("valid");
    assert_eq!(selected(&f), ["a3"]);
    let f = filter(r#"{"<": {"timestamp": "2013-12-01 18:30"}}"#).expect("valid");
    assert_eq!(selected(&f), ["a1"]);
    assert_eq!(
        err(r#"{"=": {"timestamp": "not a valid isotime string"}}"#),
        "Failed to parse the timestamp value not a valid isotime string"
    );
    assert_eq!(
        err(r#"{"=": {"timestamp": 5}}"#),
        "Failed to parse the timestamp value 5"
    );
    assert_eq!(
        err(r#"{"in": {"timestamp": ["2013-12-01"]}}"#),
        "Failed to parse the timestamp value ['2013-12-01']"
    );
    assert_eq!(
        err(r#"{"=": {"timestamp": "201312"}}"#),
        "Failed to parse the timestamp value 201312"
    );
}

#[test]
fn null_fields_are_unknown_even_under_not() {
    let f = filter(r#"{"not": {"<": {"state_timestamp": "2030-01-01"}}}"#).expect("valid");
    assert!(selected(&f).is_empty());
    let f = filter(r#"{"or": [{"=": {"state_timestamp": "2013-12-02"}}, {"=": {"name": "Mem"}}]}"#)
        .expect("valid");
    assert_eq!(selected(&f), ["a2", "a3"]);
}

#[test]
fn schema_errors_read_like_jsonschema() {
    let p = "Filter expression not valid: ";
    assert_eq!(
        err(r#"{"=": {"project_id11": 42}}"#),
        format!(
            "{p}'project_id11' does not match any of the regexes: '{}'",
            Schema::new(ALARM_FIELDS).fields_pattern
        )
    );
    assert_eq!(
        err(r#"{"xx": {"name": 1}}"#),
        format!("{p}{{'xx': {{'name': 1}}}} is not valid under any of the given schemas")
    );
    assert_eq!(err("{}"), format!("{p}{{}} should be non-empty"));
    assert_eq!(
        err(r#"{"=": {"name": "a"}, "<": {"name": "b"}}"#),
        format!("{p}{{'<': {{'name': 'b'}}, '=': {{'name': 'a'}}}} has too many properties")
    );
    assert_eq!(
        err(r#"{"and": [{"=": {"name": "a"}}]}"#),
        format!("{p}[{{'=': {{'name': 'a'}}}}] is too short")
    );
    assert_eq!(
        err(r#"{"=": {"name": null}}"#),
        format!("{p}None is not valid under any of the given schemas")
    );
    assert_eq!(
        err(r#"{"in": {"name": []}}"#),
        format!("{p}[] should be non-empty")
    );
    assert_eq!(
        err(r#"{"in": {"name": [true]}}"#),
        format!("{p}True is not valid under any of the given schemas")
    );
    assert_eq!(
        err(r#"{"=": "name"}"#),
        format!("{p}'name' is not of type 'object'")
    );
    assert_eq!(
        err(r#"{"and": [{"=": {"name": "a"}}, {"=": {"nam": 0.5}}]}"#),
        format!(
            "{p}'nam' does not match any of the regexes: '{}'",
            Schema::new(ALARM_FIELDS).fields_pattern
        )
    );
    assert!(err("{not json").starts_with(p));
    assert!(
        err(r#"{"=~": {"name": "("}}"#).starts_with("Filter expression not valid: invalid regular")
    );
}

#[test]
fn history_fields_differ_from_alarm_fields() {
    assert!(
        parse_filter(
            r#"{"=": {"on_behalf_of": "p"}}"#,
            ALARM_CHANGE_FIELDS,
            TIMESTAMP_FIELDS
        )
        .is_ok()
    );
    assert!(
        parse_filter(
            r#"{"=": {"on_behalf_of": "p"}}"#,
            ALARM_FIELDS,
            TIMESTAMP_FIELDS
        )
        .is_err()
    );
}

#[test]
fn orderby_parses_validates_and_sorts() {
    let o =
        parse_orderby(r#"[{"user": "DESC"}, {"timestamp": "asc"}]"#, ALARM_FIELDS).expect("valid");
    assert_eq!(
        o,
        [
            OrderBy {
                field: "user_id".into(),
                desc: true
            },
            OrderBy {
                field: "timestamp".into(),
                desc: false
            }
        ]
    );
    let mut docs = alarms();
    sort(&mut docs, &o);
    let ids: Vec<_> = docs.iter().map(|d| d["alarm_id"].clone()).collect();
    assert_eq!(ids, [json!("a2"), json!("a3"), json!("a1")]);

    sort(
        &mut docs,
        &parse_orderby(r#"[{"severity": "desc"}]"#, ALARM_FIELDS).expect("valid"),
    );
    let sev: Vec<_> = docs.iter().map(|d| d["severity"].clone()).collect();
    assert_eq!(sev, [json!("critical"), json!("moderate"), json!("low")]);

    sort(
        &mut docs,
        &[OrderBy {
            field: "state_timestamp".into(),
            desc: false,
        }],
    );
    assert_eq!(docs[0]["alarm_id"], json!("a3"), "null sorts first");

    sort(&mut docs, &default_order());
    assert_eq!(docs[0]["alarm_id"], json!("a3"));

    let p = "Order-by expression not valid: ";
    let e = |t: &str| parse_orderby(t, ALARM_FIELDS).expect_err(t).to_string();
    assert_eq!(
        e(r#"[{"project_id": "up"}]"#),
        format!("{p}'up' does not match '(?i)^asc$|^desc$'")
    );
    assert_eq!(
        e(r#"{"project_id": "asc"}"#),
        format!("{p}{{'project_id': 'asc'}} is not of type 'array'")
    );
    assert_eq!(
        e(r#"[{"project_id": 1}]"#),
        format!("{p}1 is not of type 'string'")
    );
    assert!(e(r#"[{"": "asc"}]"#).contains("'' does not match any of the regexes"));
    assert!(
        parse_orderby("[]", ALARM_FIELDS)
            .expect("empty is valid")
            .is_empty()
    );
}

#[test]
fn project_scoping() {
    let own = filter(r#"{"=": {"project": "p1"}}"#).expect("valid");
    let scoped = and_project(Some(own.clone()), "p1");
    assert_eq!(check_visibility(&scoped, "project_id", "p1"), Ok(()));
    assert_eq!(selected(&scoped), ["a1", "a3"]);
    let other = and_project(
        Some(filter(r#"{"not": {"=": {"project_id": "p2"}}}"#).expect("valid")),
        "p1",
    );
    let e = check_visibility(&other, "project_id", "p1").expect_err("other project");
    assert_eq!(e.status(), 401);
    assert_eq!(e.faultstring(), "Not Authorized to access project p2");
    let listed = filter(r#"{"in": {"project_id": ["p1"]}}"#).expect("valid");
    assert_eq!(
        check_visibility(&listed, "project_id", "p1")
            .expect_err("in")
            .to_string(),
        "Not Authorized to access project ['p1']"
    );
    assert_eq!(selected(&and_project(None, "p2")), ["a2"]);
    let history = restrict(None, "on_behalf_of", "p1");
    assert!(matches(&history, &json!({"on_behalf_of": "p1"})));
    assert!(!matches(&history, &json!({"on_behalf_of": "p2"})));
}

#[test]
fn limit_must_be_positive() {
    assert_eq!(
        check_limit(Some(0)).expect_err("zero").to_string(),
        "Limit should be positive"
    );
    assert_eq!(check_limit(Some(3)), Ok(()));
    assert_eq!(check_limit(None), Ok(()));
}

#[test]
fn python_reprs() {
    assert_eq!(py_float_repr(0.23), "0.23");
    assert_eq!(py_float_repr(100.0), "100.0");
    assert_eq!(py_float_repr(1e16), "1e+16");
    assert_eq!(py_float_repr(1e15), "1000000000000000.0");
    assert_eq!(py_float_repr(1.5e-5), "1.5e-05");
    assert_eq!(py_float_repr(0.0001), "0.0001");
    assert_eq!(py_str_repr("it's"), "\"it's\"");
    assert_eq!(
        py_repr(&json!({"a": [1, 2.5, null, false]})),
        "{'a': [1, 2.5, None, False]}"
    );
}

#[test]
fn iso8601_forms() {
    let p = |s: &str| parse_iso8601(s).map(|(d, o)| (isoformat(d), o));
    assert_eq!(p("2013"), Some(("2013-01-01T00:00:00".to_owned(), None)));
    assert_eq!(
        p("2013-2-3"),
        Some(("2013-02-03T00:00:00".to_owned(), None))
    );
    assert_eq!(
        p("20131205T1938"),
        Some(("2013-12-05T19:38:00".to_owned(), None))
    );
    assert_eq!(
        p("2013-12-05T19:38:29,1234567Z"),
        Some(("2013-12-05T19:38:29.123456".to_owned(), Some(0)))
    );
    assert_eq!(
        p("2013-12-05T19:38:29-0130"),
        Some(("2013-12-05T19:38:29".to_owned(), Some(-5400)))
    );
    assert_eq!(p("201312"), None);
    assert_eq!(p("2013-13-01"), None);
    assert_eq!(p("2013-12-05T24:00"), None);
}
