use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

fn j(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn fj(s: &str) -> Filter {
    from_json(&j(s)).unwrap()
}

fn reason(r: Result<Filter, FilterError>) -> (String, Vec<String>) {
    match r {
        Err(FilterError::Invalid { reason, detail }) => (reason, detail),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// --- JSON form --------------------------------------------------------------

#[test]
fn json_every_spelling() {
    for (op, want) in [
        ("=", CmpOp::Eq),
        ("==", CmpOp::Eq),
        ("eq", CmpOp::Eq),
        ("<", CmpOp::Lt),
        ("lt", CmpOp::Lt),
        (">", CmpOp::Gt),
        ("gt", CmpOp::Gt),
        ("<=", CmpOp::Le),
        ("≤", CmpOp::Le),
        ("le", CmpOp::Le),
        (">=", CmpOp::Ge),
        ("≥", CmpOp::Ge),
        ("ge", CmpOp::Ge),
        ("!=", CmpOp::Ne),
        ("≠", CmpOp::Ne),
        ("ne", CmpOp::Ne),
    ] {
        let f = from_json(&json!({ op: {"host": "a"} })).unwrap();
        assert_eq!(
            f,
            Filter::Compare {
                op: want,
                attr: "host".into(),
                value: json!("a")
            }
        );
    }
    let a = fj(r#"{"=": {"a": 1}}"#);
    let b = fj(r#"{"=": {"b": 2}}"#);
    assert_eq!(
        fj(r#"{"and": [{"=": {"a": 1}}, {"=": {"b": 2}}]}"#),
        Filter::And(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        fj(r#"{"∧": [{"=": {"a": 1}}, {"=": {"b": 2}}]}"#),
        Filter::And(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        fj(r#"{"or": [{"=": {"a": 1}}, {"=": {"b": 2}}]}"#),
        Filter::Or(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        fj(r#"{"∨": [{"=": {"a": 1}}, {"=": {"b": 2}}]}"#),
        Filter::Or(vec![a.clone(), b])
    );
    assert_eq!(fj(r#"{"not": {"=": {"a": 1}}}"#), Filter::Not(Box::new(a)));
    assert_eq!(
        fj(r#"{"like": {"host": "compute%"}}"#),
        Filter::Like {
            attr: "host".into(),
            pattern: "compute%".into()
        }
    );
    assert_eq!(
        fj(r#"{"like": {"host": 5}}"#),
        Filter::Like {
            attr: "host".into(),
            pattern: "5".into()
        }
    );
    assert_eq!(
        fj(r#"{"in": {"id": ["a", "b"]}}"#),
        Filter::In {
            attr: "id".into(),
            values: vec![json!("a"), json!("b")]
        }
    );
    assert_eq!(
        fj(r#"{"=": {"ended_at": null}}"#).attributes(),
        vec!["ended_at"]
    );
    assert_eq!(fj("{}"), Filter::And(vec![]));
    assert_eq!(fj("{}").to_json(), json!({}));
}

/// Messages pinned from Gnocchi's own schema (voluptuous 0.16) and gabbit
/// search.yaml.
#[test]
fn json_errors_are_gnocchis() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            r#"{"wrongoperator": {"user_id": "bar"}}"#,
            "not a valid value @ data['wrongoperator']",
            &["wrongoperator"],
        ),
        (
            r#"{"and": {"project_id": "foobar"}}"#,
            "expected a list for dictionary value @ data['and']",
            &["and"],
        ),
        (
            r#"{"like": {"id": "fa%"}}"#,
            "value must not be one of ['id'] @ data['like']['id']",
            &["like", "id"],
        ),
        (
            r#"{"like": {"id": ["fa%"]}}"#,
            "value must not be one of ['id'] @ data['like']['id']",
            &["like", "id"],
        ),
        (
            r#"{"ne": {"project_id": ["foobar"]}}"#,
            "expected str for dictionary value @ data['ne']['project_id']",
            &["ne", "project_id"],
        ),
        (
            r#"{"not": [{"project_id": "foobar"}]}"#,
            "expected a dictionary for dictionary value @ data['not']",
            &["not"],
        ),
        (
            r#"{"in": {"id": []}}"#,
            "length of value must be at least 1 for dictionary value @ data['in']['id']",
            &["in", "id"],
        ),
        (
            r#"{"in": {"foo": "x"}}"#,
            "expected a list for dictionary value @ data['in']['foo']",
            &["in", "foo"],
        ),
        (
            r#"{"=": {"a": 1}, "!=": {"b": 2}}"#,
            "length of value must be at most 1",
            &[],
        ),
        (
            r#"{"=": {"a": 1, "b": 2}}"#,
            "length of value must be at most 1 for dictionary value @ data['=']",
            &["="],
        ),
        (
            r#"{"=": {}}"#,
            "length of value must be at least 1 for dictionary value @ data['=']",
            &["="],
        ),
        (
            r#"{"=": "x"}"#,
            "expected a dictionary for dictionary value @ data['=']",
            &["="],
        ),
        (
            r#"{"and": []}"#,
            "length of value must be at least 1 for dictionary value @ data['and']",
            &["and"],
        ),
        (
            r#"{"and": [{"=": {"a": 1}}, {"foo": {"a": 1}}]}"#,
            "not a valid value @ data['and'][1]['foo']",
            &["and", "1", "foo"],
        ),
        (
            r#"{"not": {"=": {"a": [1]}}}"#,
            "expected str for dictionary value @ data['not']['=']['a']",
            &["not", "=", "a"],
        ),
        (
            r#"{"and": [{"=": {"a": 1}, "!=": {"b": 2}}]}"#,
            "length of value must be at most 1 @ data['and'][0]",
            &["and", "0"],
        ),
        (
            r#"{"and": [5]}"#,
            "invalid value or type @ data['and'][0]",
            &["and", "0"],
        ),
        (
            r#"{"not": {"=": {"a": 1}, "!=": {"b": 2}}}"#,
            "length of value must be at most 1 for dictionary value @ data['not']",
            &["not"],
        ),
        (
            r#"{"in": {"a": [1, [2]]}}"#,
            "expected str @ data['in']['a'][1]",
            &["in", "a", "1"],
        ),
        ("[1]", "expected a dictionary", &[]),
        ("null", "invalid value or type", &[]),
    ];
    for (input, want, detail) in cases {
        let (r, d) = reason(from_json(&j(input)));
        assert_eq!(&r, want, "{input}");
        assert_eq!(
            d,
            detail.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{input}"
        );
    }
    // A nested {} passes the schema but not Gnocchi's indexer.
    assert_eq!(
        from_json(&j(r#"{"not": {}}"#)),
        Err(FilterError::Query("Unable to parse this query".into()))
    );
    let e = from_json(&j(r#"{"and": {"project_id": "foobar"}}"#)).unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.description(),
        json!({"cause": "Invalid input", "reason": "expected a list for dictionary value @ data['and']", "detail": ["and"]})
    );
}

// --- String form ------------------------------------------------------------

/// Gnocchi's test_rest.py QueryStringSearchAttrFilterTest, with in-order
/// lists (Gnocchi reverses them; same meaning) and integers for integer
/// literals (Gnocchi makes them floats).
#[test]
fn string_form_matches_gnocchis_parser() {
    let cases: &[(&str, &str)] = &[
        (
            "foo=7EED6CC3-EDC8-48C9-8EF6-8A36B9ACC91C",
            r#"{"=": {"foo": "7EED6CC3-EDC8-48C9-8EF6-8A36B9ACC91C"}}"#,
        ),
        (
            "foo=7EED6CC3EDC848C98EF68A36B9ACC91C",
            r#"{"=": {"foo": "7EED6CC3EDC848C98EF68A36B9ACC91C"}}"#,
        ),
        ("foo=bar", r#"{"=": {"foo": "bar"}}"#),
        ("foo!=1", r#"{"!=": {"foo": 1}}"#),
        ("foo=True", r#"{"=": {"foo": true}}"#),
        ("foo=null", r#"{"=": {"foo": null}}"#),
        ("foo=None", r#"{"=": {"foo": null}}"#),
        ("foo=none", r#"{"=": {"foo": null}}"#),
        ("foo=\"null\"", r#"{"=": {"foo": "null"}}"#),
        (
            "foo in [\"null\", \"foo\"]",
            r#"{"in": {"foo": ["null", "foo"]}}"#,
        ),
        (
            "foo=\"quote\" and bar≠1",
            r#"{"and": [{"=": {"foo": "quote"}}, {"≠": {"bar": 1}}]}"#,
        ),
        (
            "foo=\"quote\" or bar like \"%%foo\"",
            r#"{"or": [{"=": {"foo": "quote"}}, {"like": {"bar": "%%foo"}}]}"#,
        ),
        (
            "not (foo=\"quote\" or bar like \"%%foo\" or foo=\"what!\" or bar=\"who?\")",
            r#"{"not": {"or": [{"=": {"foo": "quote"}}, {"like": {"bar": "%%foo"}}, {"=": {"foo": "what!"}}, {"=": {"bar": "who?"}}]}}"#,
        ),
        (
            "(foo=\"quote\" or bar like \"%%foo\" or not foo=\"what!\" or bar=\"who?\") and cat=\"meme\"",
            r#"{"and": [{"or": [{"=": {"foo": "quote"}}, {"like": {"bar": "%%foo"}}, {"not": {"=": {"foo": "what!"}}}, {"=": {"bar": "who?"}}]}, {"=": {"cat": "meme"}}]}"#,
        ),
        (
            "foo=\"quote\" or bar like \"%%foo\" or foo=\"what!\" or bar=\"who?\" and cat=\"meme\"",
            r#"{"or": [{"=": {"foo": "quote"}}, {"like": {"bar": "%%foo"}}, {"=": {"foo": "what!"}}, {"and": [{"=": {"bar": "who?"}}, {"=": {"cat": "meme"}}]}]}"#,
        ),
        (
            "foo=\"quote\" or bar like \"%%foo\" and foo=\"what!\" or bar=\"who?\" or cat=\"meme\"",
            r#"{"or": [{"=": {"foo": "quote"}}, {"and": [{"like": {"bar": "%%foo"}}, {"=": {"foo": "what!"}}]}, {"=": {"bar": "who?"}}, {"=": {"cat": "meme"}}]}"#,
        ),
        (
            "host = \"example1\" or owner like \"admin-%\"",
            r#"{"or": [{"=": {"host": "example1"}}, {"like": {"owner": "admin-%"}}]}"#,
        ),
        (
            "user_id = 'x' and started_at >= \"2010-01-01\"",
            r#"{"and": [{"=": {"user_id": "x"}}, {">=": {"started_at": "2010-01-01"}}]}"#,
        ),
        ("id in [\"a\",\"b\"]", r#"{"in": {"id": ["a", "b"]}}"#),
        ("a in [1, 2, abc]", r#"{"in": {"a": [1, 2, "abc"]}}"#),
        ("a = 1.5e3", r#"{"=": {"a": 1500.0}}"#),
        ("a = -2", r#"{"=": {"a": -2}}"#),
        ("a = +2.", r#"{"=": {"a": 2.0}}"#),
        ("a = 'x y'", r#"{"=": {"a": "x y"}}"#),
        ("a = ''", r#"{"=": {"a": ""}}"#),
        ("\"a\" = 1", r#"{"=": {"a": 1}}"#),
        ("a eq 1", r#"{"eq": {"a": 1}}"#),
        ("a≤1", r#"{"≤": {"a": 1}}"#),
        (
            "a ≥ 1 ∧ b lt 2 ∨ c gt 3",
            r#"{"or": [{"and": [{"≥": {"a": 1}}, {"lt": {"b": 2}}]}, {"gt": {"c": 3}}]}"#,
        ),
        (
            "a=5a301761-f78b-46e2-8900-8b4f6fe6675a",
            r#"{"=": {"a": "5a301761-f78b-46e2-8900-8b4f6fe6675a"}}"#,
        ),
        (
            "a=5a301761f78b46e289008b4f6fe6675a",
            r#"{"=": {"a": "5a301761f78b46e289008b4f6fe6675a"}}"#,
        ),
        ("not not a=1", r#"{"not": {"not": {"=": {"a": 1}}}}"#),
        (
            "a = 1 or not b = 2 and c = 3",
            r#"{"or": [{"=": {"a": 1}}, {"and": [{"not": {"=": {"b": 2}}}, {"=": {"c": 3}}]}]}"#,
        ),
        (
            "((a=1) and (b=2))",
            r#"{"and": [{"=": {"a": 1}}, {"=": {"b": 2}}]}"#,
        ),
        ("a = \"é\"", r#"{"=": {"a": "é"}}"#),
        // Leniencies: keyword boundaries, `-`/`.` in bare words.
        ("notes = 1", r#"{"=": {"notes": 1}}"#),
        (
            "host = compute-1.example",
            r#"{"=": {"host": "compute-1.example"}}"#,
        ),
    ];
    for (s, want) in cases {
        let got = parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
        assert_eq!(got, fj(want), "{s}");
        // And the string form equals the JSON of its own rendering.
        assert_eq!(from_json(&got.to_json()).unwrap(), got, "{s}");
    }
}

#[test]
fn string_form_errors() {
    for bad in [
        "id == foobar",
        "nullable",
        "a = \"x \\\" y\"",
        "a = b = c",
        "a=1 and",
        "started_at >= 2010-01-01",
        "a = 12abc",
        "(a = 1",
        "a = 1)",
        "",
        "not",
        "a in [1,]",
        "a in [1 2]",
        "a = 'x",
        "a = 1 2",
        "= 1",
        "a ! 1",
    ] {
        match parse(bad) {
            Err(FilterError::Syntax(m)) => {
                assert!(m.starts_with("Expected"), "{bad}: {m}");
                let d = FilterError::Syntax(m).description();
                assert!(
                    d.as_str().unwrap().starts_with("Invalid filter: Expected"),
                    "{bad}"
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // Schema errors come out of the string form too.
    assert_eq!(
        reason(parse("foo in []")).0,
        "length of value must be at least 1 for dictionary value @ data['in']['foo']"
    );
    assert_eq!(
        reason(parse("id like \"x\"")).0,
        "value must not be one of ['id'] @ data['like']['id']"
    );
    assert_eq!(
        reason(parse("a in 1")).0,
        "expected a list for dictionary value @ data['in']['a']"
    );
    assert_eq!(
        reason(parse("a = [1]")).0,
        "expected str for dictionary value @ data['=']['a']"
    );
    assert_eq!(
        reason(parse("a in [[1]]")).0,
        "expected str @ data['in']['a'][0]"
    );
}

// --- Evaluation ---------------------------------------------------------------

struct Res(HashMap<&'static str, Typed>);

impl AttrSource for Res {
    fn get(&self, attr: &str) -> Result<Typed, FilterError> {
        self.0
            .get(attr)
            .cloned()
            .ok_or_else(|| FilterError::unknown_attribute("generic", attr))
    }
    fn coerce(&self, attr: &str, v: &Value) -> Result<Typed, FilterError> {
        let bad = || FilterError::invalid_value(v, attr);
        match attr {
            "started_at" | "ended_at" => {
                let s = v.as_str().ok_or_else(bad)?;
                let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
                Ok(Typed::Time(
                    d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros(),
                ))
            }
            "ram" | "lifespan" => match v {
                Value::Number(n) => Ok(Typed::Num(n.as_f64().unwrap())),
                Value::String(s) => s.parse().map(Typed::Num).map_err(|_| bad()),
                _ => Err(bad()),
            },
            "enabled" => v.as_bool().map(Typed::Bool).ok_or_else(bad),
            _ => Ok(Typed::Str(py_str(v))),
        }
    }
}

fn res(host: Option<&str>, ram: Option<f64>) -> Res {
    let mut m = HashMap::new();
    m.insert("host", host.map_or(Typed::Null, |h| Typed::Str(h.into())));
    m.insert("ram", ram.map_or(Typed::Null, Typed::Num));
    m.insert("started_at", Typed::Time(1_388_534_400_000_000)); // 2014-01-01
    m.insert("ended_at", Typed::Null);
    m.insert("enabled", Typed::Bool(true));
    m.insert("creator", Typed::Str("u1:p1".into()));
    m.insert("lifespan", Typed::Null);
    Res(m)
}

fn m(f: &str, r: &Res) -> bool {
    parse(f).unwrap().matches(r).unwrap()
}

#[test]
fn comparisons_and_types() {
    let r = res(Some("compute1"), Some(2048.0));
    assert!(m("host = compute1", &r));
    assert!(m("host != compute2", &r));
    assert!(m("ram > 1024 and ram <= 2048", &r));
    assert!(m("ram ge 2048 and ram lt 2048.5", &r));
    assert!(!m("ram < 2048", &r));
    assert!(m(
        "started_at >= '2013-12-31' and started_at < '2014-01-02'",
        &r
    ));
    assert!(m("enabled = true", &r));
    assert!(m("host in [a, compute1]", &r));
    assert!(!m("host in [a, b]", &r));
    assert!(m("host > compute0", &r)); // byte order
    assert_eq!(
        parse("nosuch = 1").unwrap().matches(&r),
        Err(FilterError::Query(
            "Resource type generic has no nosuch attribute".into()
        ))
    );
    assert_eq!(
        parse("started_at > 'yesterday'")
            .unwrap()
            .matches(&r)
            .unwrap_err()
            .description(),
        json!("Invalid value: `yesterday' for field `started_at'")
    );
    // Errors surface even when another branch already decides.
    assert!(
        parse("host = compute1 or nosuch = 1")
            .unwrap()
            .matches(&r)
            .is_err()
    );
}

#[test]
fn null_semantics_are_sqls() {
    let r = res(None, None);
    // = null is IS NULL, != null is IS NOT NULL.
    assert!(m("host = null", &r));
    assert!(!m("host != null", &r));
    assert!(m("started_at != null", &r));
    assert!(!m("started_at = null", &r));
    // Comparisons with a NULL column are unknown, and so is their negation…
    assert!(!m("host = compute1", &r));
    assert!(!m("not host = compute1", &r));
    assert!(!m("ram > 1", &r));
    assert!(!m("not ram > 1", &r));
    assert!(!m("ram < null", &r));
    assert!(!m("not ram < null", &r));
    assert!(!m("host in [a, b]", &r));
    assert!(!m("not host in [a, b]", &r));
    assert!(!m("host like '%'", &r));
    assert!(!m("not host like '%'", &r));
    // …except Gnocchi's `!=`, which is `IS NULL OR !=`.
    assert!(m("host != compute1", &r));
    assert!(!m("not host != compute1", &r));
    // Three-valued and/or.
    assert!(!m("host = compute1 or ram = 3", &r));
    assert!(m("host = compute1 or enabled = true", &r));
    assert!(!m("not (host = compute1 or enabled = false)", &r)); // not (unknown or false) = unknown
    assert!(m("not (host = compute1 and enabled = false)", &r)); // not (unknown and false) = true
    assert!(!m("not (host = compute1 and enabled = true)", &r)); // not unknown
    // `x IN (…, NULL)`: true on a hit, unknown otherwise.
    let r2 = res(Some("a"), None);
    assert!(m("host in [a, null]", &r2));
    assert!(!m("host in [b, null]", &r2));
    assert!(!m("not host in [b, null]", &r2));
    assert!(m("not host in [b, c]", &r2));
}

#[test]
fn like_is_sql_like() {
    for (p, t, want) in [
        ("compute%", "compute-1", true),
        ("compute%", "Compute-1", false),
        ("%", "", true),
        ("_", "", false),
        ("_", "é", true),
        ("a_c", "abc", true),
        ("a_c", "abbc", false),
        ("%b%", "abc", true),
        ("%b", "abc", false),
        ("a%c%e", "abXcYe", true),
        ("a%%", "a", true),
        ("a\\%", "a%", true),
        ("a\\%", "ab", false),
        ("a\\_b", "a_b", true),
        ("a\\_b", "axb", false),
        ("%%foo", "barfoo", true),
        ("admin-%", "admin-x", true),
    ] {
        assert_eq!(like_match(p, t), want, "{p} ~ {t}");
    }
}

#[test]
fn creator_magic_attributes() {
    let r = res(Some("h"), None);
    assert!(m("created_by_user_id = u1", &r));
    assert!(!m("created_by_user_id = p1", &r));
    assert!(m("created_by_project_id = p1", &r));
    assert!(m("created_by_project_id != u1", &r));
    assert!(!m("created_by_project_id != p1", &r));
    assert!(m("created_by_user_id like 'u%'", &r));
    assert_eq!(
        parse("created_by_user_id > u1")
            .unwrap()
            .matches(&r)
            .unwrap_err()
            .description(),
        json!("Invalid value: `u1' for field `created_by_user_id'")
    );
    // gabbit search.yaml: creator "foobar" has no project part.
    let mut r2 = res(Some("h"), None);
    r2.0.insert("creator", Typed::Str("foobar".into()));
    assert!(
        !fj(r#"{"eq": {"created_by_project_id": "f3d41b770cc14f0bb94a1d5be9c0e3ea"}}"#)
            .matches(&r2)
            .unwrap()
    );
    assert!(fj(r#"{"eq": {"creator": "foobar"}}"#).matches(&r2).unwrap());
    assert!(fj(r#"{"like": {"creator": "foo%"}}"#).matches(&r2).unwrap());
}

#[test]
fn lifespan_and_empty_filter() {
    let mut r = res(Some("h"), None);
    assert!(!m("lifespan > 1800", &r)); // still running: NULL
    r.0.insert("lifespan", Typed::Num(3600.0));
    assert!(m("lifespan > 1800", &r));
    assert!(!fj(r#"{">": {"lifespan": 7200}}"#).matches(&r).unwrap());
    assert!(fj("{}").matches(&r).unwrap());
}

#[test]
fn attributes_and_to_json() {
    let f = parse("host = a or (ram > 1 and not host like 'x%') or id in [b]").unwrap();
    assert_eq!(f.attributes(), vec!["host", "ram", "id"]);
    assert_eq!(
        f.to_json(),
        json!({"or": [
            {"=": {"host": "a"}},
            {"and": [{">": {"ram": 1}}, {"not": {"like": {"host": "x%"}}}]},
            {"in": {"id": ["b"]}}
        ]})
    );
}

#[test]
fn python_renderings() {
    for (x, want) in [
        (1.0, "1.0"),
        (1500.0, "1500.0"),
        (0.1, "0.1"),
        (1e16, "1e+16"),
        (1.5e-5, "1.5e-05"),
        (0.0001, "0.0001"),
        (-2.5, "-2.5"),
        (123456789012345.6, "123456789012345.6"),
    ] {
        assert_eq!(py_float_repr(x), want);
    }
    assert_eq!(
        py_repr(&json!(["a", 1, 2.0, null, true])),
        "['a', 1, 2.0, None, True]"
    );
}
