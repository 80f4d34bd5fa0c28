//! Time constraints against cases checked with croniter and Aodh's evaluator.
use super::*;

fn tc(start: &str, duration: i64, timezone: &str) -> TimeConstraint {
    TimeConstraint {
        name: "c".to_owned(),
        description: String::new(),
        start: start.to_owned(),
        duration,
        timezone: timezone.to_owned(),
    }
}

fn ms(iso: &str) -> i64 {
    DateTime::parse_from_rfc3339(iso)
        .expect("test timestamp")
        .timestamp_millis()
}

fn at(cons: &[TimeConstraint], iso: &str) -> bool {
    active(cons, ms(iso))
}

fn cron_err(expr: &str) -> String {
    validate_cron(expr).expect_err(expr)
}

fn dt(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test datetime")
}

#[test]
fn serde_defaults_and_description() {
    let c: TimeConstraint =
        serde_json::from_str(r#"{"name":"n","start":"0 23 * * *","duration":10800}"#)
            .expect("valid json");
    assert_eq!(c.timezone, "");
    assert_eq!(c.description, "");
    assert_eq!(
        default_description(&c),
        "Time constraint at 0 23 * * * lasting for 10800 seconds"
    );
}

#[test]
fn validation_messages() {
    assert_eq!(validate(&[tc("0 23 * * *", 0, "Europe/Ljubljana")]), Ok(()));
    assert_eq!(
        validate(&[tc("* * *", 1, "")]),
        Err("Invalid input for field/attribute start. Value: '* * *'. \
             Exactly 5, 6 or 7 columns has to be specified for iterator expression."
            .to_owned())
    );
    assert_eq!(
        validate(&[tc("0 1 * * *", -1, "")]),
        Err("Invalid input for field/attribute duration. Value: '-1'. Value should be greater or equal to 0"
            .to_owned())
    );
    assert_eq!(
        validate(&[tc("0 1 * * *", 1, "Mars/Olympus")]),
        Err("Timezone Mars/Olympus is not valid".to_owned())
    );
    let mut two = vec![tc("0 1 * * *", 1, ""), tc("0 2 * * *", 1, "")];
    assert_eq!(
        validate(&two),
        Err("Time constraint names must be unique for a given alarm.".to_owned())
    );
    two[1].name = "other".to_owned();
    assert_eq!(validate(&two), Ok(()));
}

#[test]
fn croniter_syntax_and_messages() {
    for ok in [
        "*/15 9-17 * * mon-fri",
        "0 0 L * *",
        "0 0 * * 5#2",
        "0 0 * * l5",
        "0 0 ? * 7",
        "@daily",
        "0 0 1 jan,Jul *",
        "0 12 * * * 30",
        "0 0 1 1 * 0 2030",
        "10/20 * * * *",
    ] {
        assert_eq!(validate_cron(ok), Ok(()), "{ok}");
    }
    assert_eq!(
        cron_err("61 * * * *"),
        "[61 * * * *] is not acceptable, out of range"
    );
    assert_eq!(
        cron_err("0 0 0-5 * *"),
        "[0 0 0-5 * *] is not acceptable, out of range"
    );
    assert_eq!(cron_err("0 0 32-40 * *"), "0 0 32-40 * * is out of bands");
    assert_eq!(cron_err("0 0 * * Foo"), "[0 0 * * foo] is not acceptable");
    assert_eq!(
        cron_err("-1 * * * *"),
        "[-1 * * * *] is not acceptable,negative numbers not allowed"
    );
    assert_eq!(
        cron_err("0 0 * * sat#6"),
        "[0 0 * * sat#6] is not acceptable. Invalid day_of_week value: '6'"
    );
    assert_eq!(
        cron_err("H * * * *"),
        "Hashed definitions must include hash_id"
    );
    assert_eq!(
        cron_err("0 0 1? * *"),
        "[0 0 1? * *] is not acceptable. Question mark can not used with other characters"
    );
    assert_eq!(
        cron_err("? * * * *"),
        "[? * * * *] is not acceptable. Question mark can only used in day_of_month or day_of_week"
    );
    assert_eq!(
        cron_err("*/0 * * * *"),
        "invalid range: range() arg 3 must not be zero"
    );
    assert!(cron_err("0 0 * * 1,sat#2").starts_with("day-of-week field does not support mixing"));
    assert_eq!(
        cron_err("0 0 * * 7 0"),
        "[0 0 * * 7 0] is not acceptable, out of range"
    );
}

#[test]
fn utc_window_boundaries() {
    let c = [tc("0 23 * * *", 10800, "")];
    assert!(at(&c, "2026-11-22T23:00:00Z"), "exactly at start");
    assert!(at(&c, "2026-11-22T23:30:00Z"));
    assert!(
        at(&c, "2026-11-23T02:00:00Z"),
        "start + duration is inclusive"
    );
    assert!(!at(&c, "2026-11-23T02:00:01Z"));
    assert!(!at(&c, "2026-11-22T12:00:00Z"));
    // Aodh's exact-match check fires in the minute before a start.
    assert!(at(&c, "2026-11-22T22:59:30Z"));
    assert!(at(&c, "2026-11-22T22:59:00.001Z"));
    assert!(!at(&c, "2026-11-22T22:59:00Z"));
}

#[test]
fn zero_duration_is_the_start_second_only() {
    let c = [tc("0 23 * * *", 0, "")];
    assert!(at(&c, "2026-11-22T23:00:00Z"));
    assert!(!at(&c, "2026-11-22T23:00:00.500Z"));
    assert!(!at(&c, "2026-11-22T23:00:01Z"));
}

#[test]
fn ljubljana_follows_local_time_in_winter_and_summer() {
    let c = [tc("0 23 * * *", 10800, "Europe/Ljubljana")];
    assert!(at(&c, "2026-01-15T22:30:00Z"), "23:30 CET");
    assert!(!at(&c, "2026-01-15T21:30:00Z"), "22:30 CET");
    assert!(at(&c, "2026-07-15T21:30:00Z"), "23:30 CEST");
    assert!(!at(&c, "2026-07-15T20:30:00Z"), "22:30 CEST");
    assert!(at(&c, "2026-07-16T00:00:00Z"), "02:00 CEST, end");
    assert!(!at(&c, "2026-07-16T00:00:01Z"));
}

#[test]
fn dst_changes_use_wall_clock_arithmetic() {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 01:00 + 2h = 03:00 wall,
    // only one real hour later.
    let spring = [tc("0 1 * * *", 7200, "Europe/Ljubljana")];
    assert!(at(&spring, "2026-03-29T00:00:00Z"), "01:00 CET");
    assert!(at(&spring, "2026-03-29T01:00:00Z"), "03:00 CEST");
    assert!(!at(&spring, "2026-03-29T01:00:01Z"));
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; the window now
    // spans three real hours.
    let autumn = [tc("0 1 * * *", 7200, "Europe/Ljubljana")];
    assert!(at(&autumn, "2026-10-25T01:30:00Z"), "second 02:30");
    assert!(at(&autumn, "2026-10-25T02:00:00Z"), "03:00 CET");
    assert!(!at(&autumn, "2026-10-25T02:00:01Z"));
}

#[test]
fn lists_and_failures() {
    assert!(active(&[], 0));
    let two = [tc("0 8 * * *", 60, ""), tc("0 12 * * *", 3600, "")];
    assert!(at(&two, "2026-05-05T12:30:00Z"));
    assert!(!at(&two, "2026-05-05T10:00:00Z"));
    // A constraint Aodh cannot evaluate stops the check, as its exception does.
    let bad_first = [
        tc("0 12 * * *", 60, "Nowhere/Land"),
        tc("* * * * *", 60, ""),
    ];
    assert!(!at(&bad_first, "2026-05-05T12:30:00Z"));
    let good_first = [
        tc("* * * * *", 60, ""),
        tc("0 12 * * *", 60, "Nowhere/Land"),
    ];
    assert!(at(&good_first, "2026-05-05T12:30:00Z"));
    let never = [tc("0 0 30 2 *", 60, "")];
    assert!(!at(&never, "2026-05-05T12:30:00Z"));
}

#[test]
fn day_rules_match_croniter() {
    // Both day fields restricted: either matches (the 13th or a Friday).
    let c = Cron::parse("0 12 13 * 5").expect("valid");
    assert_eq!(
        c.prev(dt("2026-04-12 12:00:00")),
        Some(dt("2026-04-10 12:00:00"))
    );
    assert_eq!(
        c.next(dt("2026-04-11 00:00:00")),
        Some(dt("2026-04-13 12:00:00"))
    );
    assert_eq!(
        c.next(dt("2026-04-14 00:00:00")),
        Some(dt("2026-04-17 12:00:00"))
    );
    // croniter collapses a full day-of-month list to "*" only when the
    // day-of-week text has a "*": then both must match...
    let c = Cron::parse("0 0 1-31 * */2").expect("valid");
    assert_eq!(
        c.next(dt("2026-02-03 00:00:01")),
        Some(dt("2026-02-05 00:00:00"))
    );
    // ...otherwise either may, so every day matches.
    let c = Cron::parse("0 0 1-31 * 1").expect("valid");
    assert_eq!(
        c.next(dt("2026-02-03 00:00:01")),
        Some(dt("2026-02-04 00:00:00"))
    );
    let c = Cron::parse("0 6 L * *").expect("valid");
    assert_eq!(
        c.next(dt("2028-02-01 00:00:00")),
        Some(dt("2028-02-29 06:00:00"))
    );
    let c = Cron::parse("0 0 * * fri#2").expect("valid");
    assert_eq!(
        c.next(dt("2026-05-01 00:00:00")),
        Some(dt("2026-05-08 00:00:00"))
    );
    let c = Cron::parse("0 0 * * l1").expect("valid");
    assert_eq!(
        c.prev(dt("2026-05-31 00:00:00")),
        Some(dt("2026-05-25 00:00:00"))
    );
    let c = Cron::parse("30 1 * * fri-mon").expect("valid");
    assert_eq!(
        c.next(dt("2026-05-05 00:00:00")),
        Some(dt("2026-05-08 01:30:00"))
    );
    let c = Cron::parse("0 12 * * * 30").expect("valid");
    assert_eq!(
        c.prev(dt("2026-05-05 12:00:29")),
        Some(dt("2026-05-04 12:00:30"))
    );
    let c = Cron::parse("0 0 1 1 * 0 2031").expect("valid");
    assert_eq!(
        c.next(dt("2026-05-05 00:00:00")),
        Some(dt("2031-01-01 00:00:00"))
    );
}
