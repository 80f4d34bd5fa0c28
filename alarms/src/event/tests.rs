//! Event rule validation and matching against Aodh's semantics.
use super::*;
use serde_json::json;

fn q(field: &str, op: &str, value: &str, type_: &str) -> EventQuery {
    EventQuery {
        field: field.to_owned(),
        op: op.to_owned(),
        value: value.to_owned(),
        type_: type_.to_owned(),
    }
}

fn event(event_type: &str, traits: Value) -> Event {
    Event::from_notification(&json!({
        "message_id": "m-1", "event_type": event_type, "generated": "2015-09-01T18:52:27.214309",
        "traits": traits, "raw": {}
    }))
    .expect("valid event")
}

#[test]
fn event_types_match_fnmatch_globs() {
    let e = event("compute.instance.update", json!([]));
    assert!(matches("*", &[], &e));
    assert!(matches("", &[], &e));
    assert!(matches("compute.instance.*", &[], &e));
    assert!(!matches("compute.instance.exists", &[], &e));
    assert!(!matches(
        "compute.instance.*",
        &[],
        &event("dummy.compute.instance", json!([]))
    ));
    assert!(!matches("Compute.*", &[], &e), "case-sensitive");
    assert!(fnmatch("image.upload", "image.[!d]*"));
    assert!(!fnmatch("image.delete", "image.[!d]*"));
    assert!(fnmatch("v2", "v[0-9]"));
    assert!(fnmatch("v-", "v[a-]"));
    assert!(fnmatch("a?c", "a[?]c"));
    assert!(fnmatch("[x", "[x"), "unclosed bracket is literal");
    assert!(fnmatch("]", "[]]"));
    assert!(!fnmatch("b", "[z-a]"), "empty range matches nothing");
    assert!(fnmatch("abcbc", "a*bc"));
    assert!(!fnmatch("abcb", "a*bc"));
}

#[test]
fn trait_conditions_compare_by_type() {
    let e = event(
        "compute.instance.update",
        json!([
            ["state", 1, "stopped"],
            ["instance_type_id", 2, 5],
            ["io_read_kbs", 3, 123.456],
            ["created_at", 4, "2015-09-01T18:52:27.214309"],
            ["project_id", 1, "p1"]
        ]),
    );
    let hit = |c: EventQuery| matches("*", &[c], &e);
    assert!(hit(q("traits.state", "eq", "stopped", "")));
    assert!(!hit(q("traits.state", "eq", "active", "string")));
    assert!(hit(q("traits.instance_type_id", "eq", "5", "integer")));
    assert!(
        !hit(q("traits.instance_type_id", "eq", "5", "")),
        "text never equals an int"
    );
    assert!(hit(q("traits.instance_type_id", "ne", "5", "")));
    assert!(hit(q("traits.instance_type_id", "lt", "5.5", "float")));
    assert!(
        !hit(q("traits.instance_type_id", "lt", "6", "")),
        "ordering across kinds fails"
    );
    assert!(hit(q("traits.io_read_kbs", "eq", "123.456", "float")));
    assert!(hit(q("traits.io_read_kbs", "ge", "123", "integer")));
    assert!(hit(q(
        "traits.created_at",
        "eq",
        "2015-09-01T20:52:27.214309+02:00",
        "datetime"
    )));
    assert!(!hit(q(
        "traits.created_at",
        "gt",
        "2015-09-02T00:00:00",
        "datetime"
    )));
    assert!(
        !hit(q("traits.io_read_kbs", "eq", "2015-09-01", "datetime")),
        "uncomparable trait"
    );
    assert!(!hit(q("traits.missing", "eq", "x", "")));
    assert!(hit(q("traits.missing", "ne", "x", "")));
    assert!(!hit(q("traits.missing", "lt", "x", "")));
    assert!(
        !hit(q("traits.state", "eq", "True", "boolean")),
        "Aodh has no boolean trait type"
    );
    assert!(
        !hit(q("event_type", "eq", "compute.instance.update", "")),
        "Aodh raises on non-trait fields"
    );
    assert!(!hit(q("traits.instance_type_id", "eq", "five", "integer")));
    let both = [
        q("traits.state", "eq", "stopped", ""),
        q("traits.instance_type_id", "gt", "4", "integer"),
    ];
    assert!(matches("compute.*", &both, &e));
    assert!(!matches("image.*", &both, &e));
}

#[test]
fn notifications_are_read_like_aodh() {
    let e = event(
        "x",
        json!([
            ["n", "integer", "7"],
            ["f", 3, "1_0.5"],
            ["t", 1, 2.5],
            ["p", 2, 9.9]
        ]),
    );
    assert_eq!(e.traits[0].1, TraitValue::Int(7));
    assert_eq!(e.traits[1].1, TraitValue::Float(10.5));
    assert_eq!(e.traits[2].1, TraitValue::Text("2.5".to_owned()));
    assert_eq!(e.traits[3].1, TraitValue::Int(9));
    assert!(Event::from_notification(&json!({"message_id": "m"})).is_err());
    assert!(Event::from_notification(&json!({"event_type": "x", "message_id": ""})).is_err());
    assert!(
        Event::from_notification(
            &json!({"event_type": "x", "message_id": "m", "traits": [["d", 4, "nope"]]})
        )
        .is_err()
    );
    assert!(
        Event::from_notification(
            &json!({"event_type": "x", "message_id": "m", "traits": [["i", 2, "1.5"]]})
        )
        .is_err()
    );
    let bare =
        Event::from_notification(&json!({"event_type": "x", "message_id": "m"})).expect("valid");
    assert!(bare.traits.is_empty());
    assert_eq!(bare.raw, json!({}));
    // A hand-built event with an unparsable datetime matches nothing.
    let mut broken = bare.clone();
    broken
        .traits
        .push(("d".to_owned(), TraitValue::Datetime("nope".to_owned())));
    assert!(!matches("*", &[], &broken));
}

#[test]
fn project_comes_from_the_last_project_or_tenant_trait() {
    assert_eq!(
        project_of(&event("x", json!([["project_id", 1, "p1"]]))),
        Some("p1")
    );
    assert_eq!(
        project_of(&event("x", json!([["tenant_id", 1, "t1"]]))),
        Some("t1")
    );
    assert_eq!(
        project_of(&event(
            "x",
            json!([["project_id", 1, "p1"], ["tenant_id", 1, "t1"]])
        )),
        Some("t1")
    );
    assert_eq!(project_of(&event("x", json!([["user_id", 1, "u"]]))), None);
}

#[test]
fn rule_validation_messages() {
    assert_eq!(
        validate_rule("*", &[q("traits.state", "eq", "stopped", "string")]),
        Ok(())
    );
    assert_eq!(validate_rule("*", &[q("traits.n", "ne", "5", "")]), Ok(()));
    assert_eq!(
        validate_rule("*", &[q("traits.n", "eq", "five", "integer")]),
        Err("Unable to convert the value five to the expected data type integer.".to_owned())
    );
    assert_eq!(
        validate_rule("*", &[q("traits.n", "eq", "5", "long")]),
        Err(
            "The data type long is not supported. The supported data type list is: \
             ['integer', 'float', 'string', 'boolean', 'datetime']"
                .to_owned()
        )
    );
    assert_eq!(
        validate_rule("*", &[q("traits.n", "eq", "2015-09-01", "datetime")]),
        Err("Query value or traits invalid: value must be one of \
             ['', 'boolean', 'float', 'integer', 'string'] for dictionary value @ data['value']"
            .to_owned())
    );
    assert_eq!(
        validate_rule("*", &[q("traits.n x", "eq", "5", "")]),
        Err(
            "Query value or traits invalid: does not match regular expression \
             ^[a-zA-Z.',0-9_-]*$ for dictionary value @ data['field']"
                .to_owned()
        )
    );
    assert_eq!(
        validate_rule("*", &[q("traits.n", "like", "5", "")]),
        Err("Query value or traits invalid: value must be one of \
             ['eq', 'ge', 'gt', 'le', 'lt', 'ne'] for dictionary value @ data['op']"
            .to_owned())
    );
}

#[test]
fn query_serde_shape() {
    let parsed: Vec<EventQuery> =
        serde_json::from_value(json!([{"field": "traits.a", "value": "1"}, {"field": "traits.b", "op": "", "value": "2", "type": "integer"}]))
            .expect("valid");
    assert_eq!(parsed[0].op, "eq");
    assert_eq!(parsed[0].type_, "");
    assert_eq!(parsed[1].op, "eq");
    assert_eq!(
        serde_json::to_value(&parsed[1]).expect("serialises"),
        json!({"field": "traits.b", "op": "eq", "value": "2", "type": "integer"})
    );
}

#[test]
fn notification_shapes_and_reason() {
    let e = event(
        "compute.instance.update",
        json!([["state", 1, "stopped"], ["n", 2, 5]]),
    );
    assert_eq!(
        event_json(&e),
        json!({"event_type": "compute.instance.update", "message_id": "m-1",
               "generated": "2015-09-01T18:52:27.214309",
               "traits": [["state", 1, "stopped"], ["n", 2, 5]], "raw": {}})
    );
    assert_eq!(
        reason(&e, &[q("traits.state", "eq", "stopped", "string")]),
        "Event <id=m-1,event_type=compute.instance.update> hits the query \
         <query=[{\"field\": \"traits.state\", \"op\": \"eq\", \"type\": \"string\", \"value\": \"stopped\"}]>."
    );
    assert_eq!(
        reason(&e, &[]),
        "Event <id=m-1,event_type=compute.instance.update> hits the query <query=[]>."
    );
    assert_eq!(py_json_str("é\"\n"), "\"\\u00e9\\\"\\n\"");
    assert_eq!(event_field(&e, "traits.n"), Some(json!(5)));
    assert_eq!(
        event_field(&e, "event_type"),
        Some(json!("compute.instance.update"))
    );
    assert_eq!(event_field(&e, "raw.nothing"), None);
}
