//! Expected values were produced with Gnocchi's own `utils.py` (numpy 2.4,
//! pytimeparse 1.1.10) and CPython 3.11.

use serde_json::{Value, json};

use super::*;

const NOW_US: i64 = 1_700_000_000_123_456; // 2023-11-14T22:13:20.123456Z

#[test]
fn timespans_match_gnocchi() {
    // (input, nanoseconds from Gnocchi's `to_timespan`)
    let ok: &[(&str, i64)] = &[
        ("1h", 3_600_000_000_000),
        ("5 minutes", 300_000_000_000),
        ("7 day", 604_800_000_000_000),
        ("30s", 30_000_000_000),
        ("1 second", 1_000_000_000),
        ("1:00:00", 3_600_000_000_000),
        ("300", 300_000_000_000),
        ("300.5", 300_500_000_000),
        (" 60 ", 60_000_000_000),
        ("1.5h", 5_400_000_000_000),
        ("4.1m", 246_000_000_000),
        ("1w 2d", 777_600_000_000_000),
        ("1w, 2d/3h", 788_400_000_000_000),
        ("2 weeks", 1_209_600_000_000_000),
        ("1:30", 90_000_000_000),
        ("10:00:00", 36_000_000_000_000),
        ("1-00:00:00", 86_400_000_000_000),
        ("2:03:04:05", 183_845_000_000_000),
        (":30", 30_000_000_000),
        ("1d 1:00:00", 90_000_000_000_000),
        ("1.5 minutes 10 seconds", 100_000_000_000),
        ("0.5s", 500_000_000),
        ("1e3", 1_000_000_000_000),
        ("1_000", 1_000_000_000_000),
        ("1 h 30 m", 5_400_000_000_000),
        ("90 min", 5_400_000_000_000),
        ("1hr", 3_600_000_000_000),
        ("3 hrs", 10_800_000_000_000),
        ("2 mins", 120_000_000_000),
        ("5 secs", 5_000_000_000),
        ("1 dy", 86_400_000_000_000),
        ("1.", 1_000_000_000),
        (".5m", 30_000_000_000),
        ("1 minute, 24 secs", 84_000_000_000),
        ("1m24s", 84_000_000_000),
        ("+ 1 minute", 60_000_000_000),
        ("1.2 seconds", 1_200_000_000),
        ("1H", 3_600_000_000_000),
        ("1 HOUR", 3_600_000_000_000),
        ("2 Days", 172_800_000_000_000),
        ("0.001", 1_000_000),
        ("1.0000001", 1_000_000_100),
        ("12 wks", 7_257_600_000_000_000),
        ("3 d 4 h 5 m 6 s", 273_906_000_000_000),
        ("1 d, 4 h, 5 m, 6 s", 101_106_000_000_000),
        ("1.5d 30s", 129_630_000_000_000),
        ("4.1m 0.5s", 246_499_999_999),
    ];
    for (s, ns) in ok {
        assert_eq!(parse_timespan_str(s), Ok(ns / 1_000_000), "{s:?}");
    }
    let err: &[(&str, TimeError)] = &[
        ("1.2.3m", TimeError::UnparsableTimespan),
        ("abc", TimeError::UnparsableTimespan),
        ("", TimeError::UnparsableTimespan),
        ("-1h", TimeError::NotPositive),
        ("0", TimeError::NotPositive),
        ("nan", TimeError::NanTimespan),
        ("inf", TimeError::InfiniteTimespan),
        ("0.0005", TimeError::SubMillisecond),
    ];
    for (s, e) in err {
        assert_eq!(parse_timespan_str(s).as_ref(), Err(e), "{s:?}");
    }
    assert_eq!(parse_timespan(&json!(300)), Ok(300_000));
    assert_eq!(parse_timespan(&json!(0.25)), Ok(250));
    assert_eq!(parse_timespan(&json!(true)), Ok(1000));
    assert_eq!(
        parse_timespan(&Value::Null),
        Err(TimeError::InvalidTimespan)
    );
    assert_eq!(parse_timespan(&json!(1e-10)), Err(TimeError::NotPositive));
    assert_eq!(parse_timespan(&json!(-5)), Err(TimeError::NotPositive));
    assert_eq!(
        parse_timespan(&json!([1])),
        Err(TimeError::UnparsableTimespan)
    );
    assert_eq!(
        TimeError::UnparsableTimespan.to_string(),
        "Unable to parse timespan"
    );
    assert_eq!(
        TimeError::NotPositive.to_string(),
        "Timespan must be positive"
    );
}

#[test]
fn pytimeparse_signs_and_types() {
    assert_eq!(pytimeparse("- 1 minute"), Some(PySeconds::Int(-60)));
    assert_eq!(pytimeparse("-2 days"), Some(PySeconds::Int(-172_800)));
    assert_eq!(pytimeparse("1.2 seconds"), Some(PySeconds::Float(1.2)));
    assert_eq!(pytimeparse("-1.5m 10s"), Some(PySeconds::Int(-100)));
    assert_eq!(pytimeparse("1:30"), Some(PySeconds::Int(90)));
    assert_eq!(pytimeparse("x"), None);
    assert_eq!(pytimeparse(" "), None);
}

#[test]
fn timestamps_match_gnocchi() {
    // (input, nanoseconds from Gnocchi's `to_timestamps`)
    let ok: &[(Value, i64)] = &[
        (json!("2014-01-01 12:12:34"), 1_388_578_354_000_000_000),
        (
            json!("2014-05-20T10:00:45.856219"),
            1_400_580_045_856_219_000,
        ),
        (
            json!("2014-05-20T10:00:45.856219999Z"),
            1_400_580_045_856_219_999,
        ),
        (
            json!("2015-03-06T14:33:00+01:00"),
            1_425_648_780_000_000_000,
        ),
        (json!("2015-03-06T14:33:00-0530"), 1_425_672_180_000_000_000),
        (json!("2015-03-06T14:33:00+02"), 1_425_645_180_000_000_000),
        (json!("2015-03-06"), 1_425_600_000_000_000_000),
        (json!("2015-03"), 1_425_168_000_000_000_000),
        (json!("2015-03-06T14"), 1_425_650_400_000_000_000),
        (json!("2015-03-06T14:33"), 1_425_652_380_000_000_000),
        (json!("1425652380"), 1_425_652_380_000_000_000),
        (json!("1425652380.123"), 1_425_652_380_122_999_808),
        (json!(" 1425652380.5 "), 1_425_652_380_500_000_000),
        (json!(1_425_652_380), 1_425_652_380_000_000_000),
        (json!(1_425_652_380.999), 1_425_652_380_999_000_064),
        (json!(0), 0),
        (json!("0"), 0),
        (json!("2015-03-06T14:33:00 "), 1_425_652_380_000_000_000),
        (
            json!("2016-02-29T23:59:59.999999"),
            1_456_790_399_999_999_000,
        ),
        (json!(true), 1_000_000_000),
        (json!("1e9"), 1_000_000_000_000_000_000),
    ];
    for (v, ns) in ok {
        assert_eq!(
            parse_timestamps_ns(std::slice::from_ref(v), NOW_US),
            Ok(vec![*ns]),
            "{v}"
        );
        assert_eq!(parse_timestamp(v, NOW_US), Ok(ns.div_euclid(1000)), "{v}");
    }
    let err: &[(Value, TimeError)] = &[
        (json!("1969-12-31T23:59:59"), TimeError::BeforeEpoch),
        (json!(-1), TimeError::BeforeEpoch),
        (json!("-1"), TimeError::BeforeEpoch),
        (json!("1970-01-01T00:00:00+01:00"), TimeError::BeforeEpoch),
        (json!("2015-13-01"), TimeError::Unconvertible),
        (json!("2015-02-29"), TimeError::Unconvertible),
        (json!("junk"), TimeError::Unconvertible),
        (
            json!("2015-03-06T14:33:00+01:00:00"),
            TimeError::Unconvertible,
        ),
        (json!("2015-03-06t14:33:00"), TimeError::Unconvertible),
        (json!("2015-03-06T24:00:00"), TimeError::Unconvertible),
        (json!("2015-03-06 "), TimeError::Unconvertible),
        (Value::Null, TimeError::WrongType),
        (json!([1]), TimeError::WrongType),
    ];
    for (v, e) in err {
        assert_eq!(parse_timestamp(v, NOW_US).as_ref(), Err(e), "{v}");
    }
}

#[test]
fn timestamp_lists_use_the_first_format() {
    let ns = |v: Value| parse_timestamps_ns(v.as_array().map_or(&[][..], |a| a), NOW_US);
    assert_eq!(
        ns(json!(["2015-03-06", 1_425_652_380])),
        Ok(vec![1_425_600_000_000_000_000, 1_425_652_380])
    );
    assert_eq!(
        ns(json!(["1425652380", "2015-03-06"])),
        Err(TimeError::Unconvertible)
    );
    assert_eq!(ns(json!([1, "2"])), Ok(vec![1_000_000_000, 2_000_000_000]));
    assert_eq!(
        ns(json!(["-2 days", "2015-03-06"])),
        Err(TimeError::Unconvertible)
    );
    assert_eq!(ns(json!([])), Ok(vec![]));
    assert_eq!(
        parse_timestamps_ms(&[json!("2015-03-06T14:33:00.123456")], NOW_US),
        Ok(vec![1_425_652_380_123])
    );
}

#[test]
fn relative_and_now() {
    assert_eq!(
        parse_timestamp_str("-2 days", NOW_US),
        Ok(NOW_US - 2 * 86_400_000_000)
    );
    assert_eq!(
        parse_timestamp_str("10 minutes", NOW_US),
        Ok(NOW_US + 600_000_000)
    );
    assert_eq!(parse_timestamp_str("-1.5s", NOW_US), Ok(NOW_US - 1_500_000));
    // numpy's `now` is truncated to the second, `today` to the day.
    assert_eq!(
        parse_timestamp_str("now", NOW_US),
        Ok(1_700_000_000_000_000)
    );
    assert_eq!(
        parse_timestamp_str("NOW", NOW_US),
        Ok(1_700_000_000_000_000)
    );
    assert_eq!(
        parse_timestamp_str("today", NOW_US),
        Ok(1_699_920_000_000_000)
    );
    assert_eq!(
        parse_timestamp_str("-100 weeks", 1_000_000),
        Err(TimeError::BeforeEpoch)
    );
}

#[test]
fn resource_datetimes_round_like_python() {
    let dt = |s: &str| parse_datetime(&json!(s), NOW_US).map(render_timestamp_us);
    assert_eq!(
        dt("1425652380.123"),
        Ok("2015-03-06T14:33:00.123000+00:00".into())
    );
    assert_eq!(
        dt("2014-05-20T10:00:45.856219"),
        Ok("2014-05-20T10:00:45.856219+00:00".into())
    );
    assert_eq!(
        dt("1425652380.0000005"),
        Ok("2015-03-06T14:33:00+00:00".into())
    );
    assert_eq!(
        dt("1425652380.9999996"),
        Ok("2015-03-06T14:33:01+00:00".into())
    );
}

#[test]
fn renders_timedelta_like_python() {
    let cases: &[(i64, &str)] = &[
        (300_000, "0:05:00"),
        (3_600_000, "1:00:00"),
        (86_400_000, "1 day, 0:00:00"),
        (2_592_000_000, "30 days, 0:00:00"),
        (1000, "0:00:01"),
        (500, "0:00:00.500000"),
        (0, "0:00:00"),
        (1, "0:00:00.001000"),
        (90_061_001, "1 day, 1:01:01.001000"),
        (-1000, "-1 day, 23:59:59"),
        (172_800_005, "2 days, 0:00:00.005000"),
    ];
    for (ms, s) in cases {
        assert_eq!(render_timedelta(*ms), *s, "{ms}");
    }
}

#[test]
fn renders_timestamps_like_gnocchi() {
    assert_eq!(
        render_timestamp_us(1_425_652_380_000_000),
        "2015-03-06T14:33:00+00:00"
    );
    assert_eq!(
        render_timestamp_us(1_425_652_380_123_456),
        "2015-03-06T14:33:00.123456+00:00"
    );
    assert_eq!(
        render_timestamp_us(1_425_652_380_000_001),
        "2015-03-06T14:33:00.000001+00:00"
    );
    assert_eq!(render_timestamp_us(0), "1970-01-01T00:00:00+00:00");
    // Measures: whole seconds, fraction dropped.
    assert_eq!(
        render_timestamp_ms(1_425_652_380_999),
        "2015-03-06T14:33:00+00:00"
    );
    assert_eq!(
        render_timestamp_ms(1_425_652_380_000),
        "2015-03-06T14:33:00+00:00"
    );
}

#[test]
fn uuid5_matches_python() {
    // python3: uuid.uuid5(uuid.UUID('0a7a15ff-…'), name)
    assert_eq!(
        uuid5_resource_id("foo", "admin"),
        "7acf4bc8-81de-5932-ab59-eda92e59b49a"
    );
    assert_eq!(
        uuid5_resource_id("instance-0001-vda", "\0"),
        "e5674968-92a2-5eda-8d6b-ba3d15ed77ce"
    );
    assert_eq!(
        uuid5_resource_id("été", "ad"),
        "25afd581-f339-5d96-95f8-67d7c6a8347f"
    );
}

#[test]
fn resource_ids_like_gnocchi() {
    let u = "12345678-1234-5678-1234-567812345678";
    assert_eq!(resource_uuid(u, "admin").as_deref(), Ok(u));
    assert_eq!(
        resource_uuid("12345678-1234-5678-1234-567812345ABC", "x").as_deref(),
        Ok("12345678-1234-5678-1234-567812345abc")
    );
    for (s, want) in [
        ("{12345678-1234-5678-1234-567812345678}", Some(u)),
        ("urn:uuid:12345678123456781234567812345678", Some(u)),
        ("1234567812345678123456781234567-", None),
        (
            "0x345678123456781234567812345678",
            Some("00345678-1234-5678-1234-567812345678"),
        ),
        ("12345678-1234-5678-1234-56781234567g", None),
        (
            " 2345678123456781234567812345678",
            Some("02345678-1234-5678-1234-567812345678"),
        ),
    ] {
        assert_eq!(parse_python_uuid(s).as_deref(), want, "{s:?}");
    }
    assert_eq!(
        resource_uuid("foo", "admin").as_deref(),
        Ok("7acf4bc8-81de-5932-ab59-eda92e59b49a")
    );
    assert_eq!(
        resource_uuid("a/b", "admin"),
        Err(TimeError::SlashInResourceId)
    );
    assert_eq!(
        resource_uuid(&"x".repeat(290), "admin"),
        Err(TimeError::ResourceIdTooLong)
    );
    assert!(resource_uuid(&"é".repeat(289), "admin").is_ok());
    assert_eq!(
        TimeError::ResourceIdTooLong.to_string(),
        "transformable resource id >289 max allowed characters"
    );
}

#[test]
fn python_number_parsing() {
    assert_eq!(python_float_str(" 1_000.5 "), Some(1000.5));
    assert_eq!(python_float_str("1__0"), None);
    assert_eq!(python_float_str("--1"), None);
    assert_eq!(python_float_str("0x10"), None);
    assert_eq!(python_float_str("-Infinity"), Some(f64::NEG_INFINITY));
    assert!(python_float_str("NaN").is_some_and(f64::is_nan));
    assert_eq!(python_float(&json!("12.5")), Some(12.5));
    assert_eq!(python_float(&Value::Null), None);
    assert_eq!(python_int_str(" +3_0 "), Some(30));
    assert_eq!(python_int_str("3.0"), None);
    assert_eq!(python_int_str("3_"), None);
}
