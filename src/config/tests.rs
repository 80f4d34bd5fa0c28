//! Tests of configuration loading.
use super::*;

fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Loads `text` as a config file (written to a temporary path) plus env and overrides.
fn load_text(
    text: &str,
    env: &[(&str, &str)],
    cli: &[(&str, String, &str)],
) -> (Result<Config, ConfigErrors>, String) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "altimeter-cfg-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, text).expect("write temp file");
    let r = load(Some(&path), vars(env), cli);
    std::fs::remove_file(&path).expect("remove temp file");
    (r, format!("config file {}", path.display()))
}

fn errs(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    let e = load_text(text, env, &[]).0.expect_err("expected errors").0;
    e.iter()
        .map(|e| format!("{}: {}", e.key, e.message))
        .collect()
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

#[test]
fn defaults_and_key_table() {
    let c = load(None, vars(&[]), &[]).expect("defaults are valid");
    assert_eq!(c, Config::default());
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8041");
    assert_eq!(
        (c.storage.retention, c.storage.head_max_age),
        (days(30), Duration::from_secs(3600))
    );
    let mut c = Config::default();
    for spec in KEYS {
        let v = (spec.get)(&c);
        assert_eq!(
            parse_raw(&v, &render_raw(&v)),
            Ok(v.clone()),
            "{}",
            spec.path()
        );
        (spec.set)(&mut c, v);
    }
    assert_eq!(c, Config::default());
}

#[test]
#[rustfmt::skip] // keep the case tables compact
fn durations() {
    let ms = Duration::from_millis;
    for (s, d) in [
        ("0", ms(0)), ("0s", ms(0)), ("30d", days(30)), ("12h", ms(43_200_000)), ("15m", ms(900_000)),
        ("10s", ms(10_000)), ("500ms", ms(500)), ("1w", days(7)), ("1y", days(365)),
        ("1h30m", ms(5_400_000)), ("1d2h3m4s5ms", ms(93_784_005)),
    ] {
        assert_eq!(parse_duration(s), Ok(d), "{s}");
    }
    for s in ["", "3x", "h", "30", "1.5h", "-1h", " 1h", "1h ", "1H", "1h30", "m30"] {
        assert!(parse_duration(s).expect_err(s).contains(DURATION_HELP), "{s}");
    }
    assert_eq!(parse_duration("3x").expect_err("3x"),
        "invalid duration \"3x\" (expected a number and a unit: ms, s, m, h, d, w, y — e.g. 30d)");
    for (s, why) in [("30m1h", "largest to smallest"), ("1h1h", "largest to smallest"),
        ("99999999999999y", "too large"), ("99999999999999999999999ms", "too large")] {
        assert!(parse_duration(s).expect_err(s).contains(why), "{s}");
    }
    for (d, s) in [
        (ms(0), "0s"), (days(30), "30d"), (days(14), "2w"), (days(365), "1y"), (days(366), "366d"),
        (days(372), "372d"), (ms(5_400_000), "1h30m"), (ms(1500), "1s500ms"), (Duration::from_micros(1), "0s"),
    ] {
        assert_eq!(format_duration(d), s);
    }
    for n in [1, 999, 60_000, 86_399_999, 90 * 86_400_000, 800 * 86_400_000 + 1234] {
        assert_eq!(parse_duration(&format_duration(ms(n))), Ok(ms(n)), "{n}");
    }
}

#[test]
#[rustfmt::skip] // keep the case tables compact
fn sizes_and_counts() {
    for (s, n) in [
        ("1024", 1024), ("0", 0), ("128MiB", 128 * MIB), ("1GiB", GIB), ("512KiB", 512 * KIB),
        ("10MB", 10_000_000), ("1.5GiB", GIB + GIB / 2), ("2 tib", 2 * TIB), ("7B", 7),
    ] {
        assert_eq!(parse_size(s), Ok(n), "{s}");
    }
    for s in ["", "MiB", "1.MiB", ".5MiB", "1..5MiB", "10XB", "-1", "1_000", "1.5.5KiB", "1  MiB"] {
        assert!(parse_size(s).expect_err(s).starts_with("invalid size"), "{s}");
    }
    for (s, why) in [("1.5B", "whole number of bytes"), ("20000000TiB", "too large"),
        ("999999999999999999999999999999999999999999", "too large")] {
        assert!(parse_size(s).expect_err(s).contains(why), "{s}");
    }
    assert_eq!([format_size(128 * MIB), format_size(1000), format_size(1536 * MIB)], ["128MiB", "1000", "1536MiB"]);
    assert_eq!((parse_count("4_000_000"), parse_count("1000")), (Ok(4_000_000), Ok(1000)));
    for s in ["", "_1", "1_", "1__0", "1e6", "-5", "99999999999999999999"] {
        assert!(parse_count(s).is_err(), "{s}");
    }
    assert_eq!(render_raw(&Val::Count(12_345)), "12_345");
}

#[test]
fn file_values() {
    let text = r#"
        [server]
        listen = "0.0.0.0:9000"
        data_dir = "/var/lib/altimeter"
        [storage]
        retention = "90d"
        head_max_samples = "2_000_000"
        wal_segment_size = 67108864
        out_of_order_window = "1h30m"
        [ingest]
        max_body_bytes = "1MiB"
        [log]
        level = "info,altimeter_tsdb=debug"
        format = "json"
    "#;
    let c = load_text(text, &[], &[]).0.expect("valid");
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(c.server.data_dir, PathBuf::from("/var/lib/altimeter"));
    assert_eq!(
        (c.storage.retention, c.storage.head_max_samples),
        (days(90), 2_000_000)
    );
    assert_eq!(
        (c.storage.wal_segment_size, c.ingest.max_body_bytes),
        (64 * MIB, MIB)
    );
    assert_eq!(c.storage.out_of_order_window, Duration::from_secs(5400));
    assert_eq!(
        (c.log.level.as_str(), c.log.format),
        ("info,altimeter_tsdb=debug", LogFormat::Json)
    );
    let c = load_text("[storage]\nhead_max_samples = 5_000\n", &[], &[])
        .0
        .expect("valid");
    assert_eq!(c.storage.head_max_samples, 5000);
}

#[test]
fn unreadable_file_and_syntax_error() {
    let e = load(Some(Path::new("/nonexistent/a.toml")), vars(&[]), &[])
        .expect_err("missing")
        .0;
    assert_eq!(e.len(), 1);
    assert!(
        e[0].to_string()
            .starts_with("config file /nonexistent/a.toml: cannot read the file: ")
    );
    let e = errs("[server]\nlisten = \"1.2.3.4:5\"\nretention = = 3\n", &[]);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(": TOML syntax error at line 3, column 13: "),
        "{e:?}"
    );
}

#[test]
fn unknown_names_with_hints() {
    let text = "listen = \"x\"\n[stroage]\n[storage]\nretenton = \"1d\"\nmax_future = \"1h\"\nbogus = 1\n[zzz]\n";
    let mut e = errs(
        text,
        &[
            ("ALTIMETER_SERVR_LISTEN", "1.2.3.4:5"),
            ("ALTIMETER_FOO", "1"),
        ],
    );
    e.sort();
    assert_eq!(
        e,
        [
            ": unknown environment variable (configuration variables are ALTIMETER_<SECTION>_<KEY>)",
            ": unknown environment variable (did you mean ALTIMETER_SERVER_LISTEN?)",
            "listen: unknown top-level key (did you mean server.listen? keys belong in a [server] section)",
            "storage.bogus: unknown key (valid keys in [storage]: retention, block_duration, head_max_samples, \
         head_max_age, wal_segment_size, compaction_interval, rollup_interval, out_of_order_window)",
            "storage.max_future: unknown key (did you mean ingest.max_future? it belongs in [ingest])",
            "storage.retenton: unknown key (did you mean retention?)",
            "stroage: unknown section (did you mean storage?)",
            "zzz: unknown section",
        ]
    );
    let cli = [
        ("server.lisen", "1.2.3.4:5".to_owned(), "command line --set"),
        ("nodot", String::new(), "cli"),
    ];
    let e = load(None, vars(&[]), &cli).expect_err("unknown").0;
    assert_eq!(
        e[0].to_string(),
        "command line --set: server.lisen: unknown configuration key (did you mean server.listen?)"
    );
    assert_eq!(e[1].to_string(), "cli: nodot: unknown configuration key");
}

#[test]
fn wrong_types_and_invalid_values() {
    let text = "server = 5\n[storage]\nretention = 30\nhead_max_samples = 1.5\nwal_segment_size = -5\n\
                [log]\nformat = true\nlevel = \"verbose\"\n";
    assert_eq!(
        errs(text, &[]),
        [
            "log.format: expected a string, \"text\" or \"json\", found boolean",
            "log.level: invalid log level \"verbose\" (expected trace, debug, info, warn, error, off, or directives containing '=' such as \"info,altimeter_tsdb=debug\")",
            "server: expected a table [server], found integer",
            "storage.head_max_samples: expected an integer (e.g. 4_000_000), found float",
            "storage.retention: expected a duration string (e.g. \"30d\" or \"1h30m\"), found integer",
            "storage.wal_segment_size: must not be negative, found -5",
        ]
    );
    let text = "[server]\nlisten = \"localhost:80\"\ndata_dir = \"\"\n[log]\nformat = \"xml\"\n";
    let e = errs(text, &[]);
    assert_eq!(
        e[0],
        "log.format: invalid log format \"xml\" (expected \"text\" or \"json\")"
    );
    assert_eq!(e[1], "server.data_dir: must not be empty");
    assert!(e[2].starts_with("server.listen: invalid address \"localhost:80\" (expected IP:port"));
}

#[test]
fn all_errors_reported_together_across_layers() {
    let cli = [(
        "storage.compaction_interval",
        "100ms".to_owned(),
        "command line --compaction-interval",
    )];
    let env = [("ALTIMETER_INGEST_MAX_FUTURE", "soon")];
    let (r, file) = load_text(
        "[storage]\nretention = \"3x\"\nhead_max_samples = 10\n",
        &env,
        &cli,
    );
    let text = r.expect_err("invalid").to_string();
    let expected = [
        "invalid configuration (4 errors):".to_owned(),
        format!("  {file}: storage.head_max_samples: 10 is too small (must be at least 1000)"),
        format!("  {file}: storage.retention: invalid duration \"3x\" ({DURATION_HELP})"),
        format!("  environment ALTIMETER_INGEST_MAX_FUTURE: ingest.max_future: invalid duration \"soon\" ({DURATION_HELP})"),
        "  command line --compaction-interval: storage.compaction_interval: 100ms is too short (must be at least 1s)".to_owned(),
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    let one = ConfigErrors(vec![ConfigError {
        source: "a".into(),
        key: String::new(),
        message: "b".into(),
    }]);
    assert_eq!(one.to_string(), "invalid configuration (1 error):\n  a: b");
}

#[test]
fn precedence_env_over_file_cli_over_env() {
    let text = "[storage]\nretention = \"10d\"\nblock_duration = \"1h\"\n[server]\nlisten = \"127.0.0.1:1\"\n";
    let env = [
        ("ALTIMETER_STORAGE_RETENTION", "90d"),
        ("ALTIMETER_SERVER_LISTEN", "0.0.0.0:9000"),
        ("ALTIMETER_LOG", "not a level"),
        ("ALTIMETER_CONFIG", "/etc/altimeter.toml"),
        ("PATH", "/bin"),
    ];
    let c = load_text(text, &env, &[]).0.expect("valid");
    assert_eq!(
        (c.storage.retention, c.storage.block_duration),
        (days(90), Duration::from_secs(3600))
    );
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9000");
    let cli = [(
        "server.listen",
        "[::1]:7000".to_owned(),
        "command line --listen",
    )];
    let c = load_text(text, &env, &cli).0.expect("valid");
    assert_eq!(
        (c.server.listen.to_string(), c.storage.retention),
        ("[::1]:7000".to_owned(), days(90))
    );
}

#[test]
fn cross_field_rules() {
    let e = load(None, vars(&[("ALTIMETER_STORAGE_RETENTION", "1h")]), &[])
        .expect_err("block > retention")
        .0;
    assert_eq!(
        e[0].to_string(),
        "built-in default: storage.block_duration: 2h is longer than storage.retention = 1h \
        (from environment ALTIMETER_STORAGE_RETENTION); a block must fit in the retention period (retention 0 keeps data forever)"
    );
    let e = errs("[ingest]\nmax_decompressed_bytes = \"16MiB\"\n", &[]);
    assert_eq!(
        e,
        [
            "ingest.max_decompressed_bytes: 16MiB is smaller than ingest.max_body_bytes = 32MiB (from built-in default); it must be at least as large"
        ]
    );
    let ok = |key: &str, value: &str| load(None, vars(&[(key, value)]), &[]).is_ok();
    assert!(
        ok("ALTIMETER_STORAGE_RETENTION", "0"),
        "retention 0 = forever"
    );
    assert!(!ok("ALTIMETER_STORAGE_BLOCK_DURATION", "0"));
    for (size, valid) in [
        ("1MiB", true),
        ("4GiB", true),
        ("1048575", false),
        ("4097MiB", false),
    ] {
        assert_eq!(
            ok("ALTIMETER_STORAGE_WAL_SEGMENT_SIZE", size),
            valid,
            "{size}"
        );
    }
    assert!(
        !ok("ALTIMETER_STORAGE_HEAD_MAX_SAMPLES", "999")
            && ok("ALTIMETER_STORAGE_HEAD_MAX_SAMPLES", "1000")
    );
    assert!(
        !ok("ALTIMETER_STORAGE_COMPACTION_INTERVAL", "999ms")
            && ok("ALTIMETER_STORAGE_COMPACTION_INTERVAL", "1s")
    );
    assert!(!ok("ALTIMETER_INGEST_MAX_BODY_BYTES", "0"));
    // An invalid retention is reported once, without follow-on cross-field noise.
    let e = errs(
        "[storage]\nretention = \"x\"\nblock_duration = \"60d\"\n",
        &[],
    );
    assert_eq!(e.len(), 1, "{e:?}");
}

#[test]
fn to_toml_round_trips() {
    let text = Config::default().to_toml();
    for spec in KEYS {
        assert!(text.contains(&format!("\n{} = ", spec.key)), "{}", spec.key);
    }
    for line in [
        "retention = \"30d\"",
        "head_max_samples = 4_000_000",
        "wal_segment_size = \"128MiB\"",
    ] {
        assert!(text.contains(line), "{line}");
    }
    assert_eq!(load_text(&text, &[], &[]).0, Ok(Config::default()));
    let mut c = Config::default();
    c.server.data_dir = PathBuf::from("C:\\data \"quoted\"");
    c.storage.retention = Duration::ZERO;
    c.storage.block_duration = Duration::from_millis(5_400_500);
    c.storage.wal_segment_size = MIB + 1;
    c.log = LogConfig {
        level: "info,a=debug".to_owned(),
        format: LogFormat::Json,
    };
    let text = c.to_toml();
    assert!(text.contains("wal_segment_size = 1048577"));
    assert_eq!(load_text(&text, &[], &[]).0, Ok(c));
}

#[test]
fn reference_and_hints() {
    let md = reference_markdown();
    for spec in KEYS {
        assert!(md.contains(&format!("| `{}` | `{}` |", spec.path(), spec.env_name())));
    }
    assert!(
        md.contains("| `storage.retention` | `ALTIMETER_STORAGE_RETENTION` | `30d` | *duration*: ")
    );
    assert_eq!(
        (
            levenshtein("retention", "retenton"),
            levenshtein("", "abc"),
            levenshtein("kitten", "sitting")
        ),
        (1, 3, 3)
    );
    assert_eq!(
        did_you_mean("Retention", ["retention".to_owned()].into_iter()).as_deref(),
        Some(" (did you mean retention?)")
    );
    assert_eq!(
        did_you_mean("zzzzzz", ["retention".to_owned()].into_iter()),
        None
    );
}

#[test]
fn docs_config_md_is_the_generated_reference() {
    // Regenerate with: altimeter config reference > docs/config.md
    assert_eq!(
        include_str!("../../docs/config.md").trim_end(),
        reference_markdown().trim_end()
    );
}

#[test]
fn agent_lists_from_toml_environment_and_command_line() {
    let (c, _) = load_text(
        "[agent]\nremote_write = [\"http://a:8041/api/v1/write\", \"http://b/w\"]\npollsters = [\"host\"]\ninterval = \"500ms\"\n",
        &[(
            "ALTIMETER_AGENT_CGROUP_WATCH",
            "machine.slice, system.slice",
        )],
        &[],
    );
    let c = c.expect("valid");
    assert_eq!(
        c.agent.remote_write,
        vec!["http://a:8041/api/v1/write", "http://b/w"]
    );
    assert_eq!(c.agent.pollsters, vec!["host"]);
    assert_eq!(c.agent.interval, Duration::from_millis(500));
    assert_eq!(c.agent.cgroup_watch, vec!["machine.slice", "system.slice"]);
    // The command line (a joined repeatable flag) wins; an empty list is allowed.
    let c = load(
        None,
        vars(&[]),
        &[
            ("agent.remote_write", "http://x/w,http://y/w".into(), "cli"),
            ("agent.pollsters", String::new(), "cli"),
        ],
    )
    .unwrap();
    assert_eq!(c.agent.remote_write, vec!["http://x/w", "http://y/w"]);
    assert!(c.agent.pollsters.is_empty());
    // to_toml round-trips lists.
    assert_eq!(load_text(&c.to_toml(), &[], &[]).0.unwrap(), c);
}

#[test]
fn agent_values_are_checked() {
    let e = errs(
        "[agent]\nremote_write = [\"https://secure/w\", \"ftp://x\"]\npollsters = [\"host\", \"gpu\"]\ninterval = \"10ms\"\nspool_max_size = \"1KiB\"\nmax_samples_per_send = 0\ncgroup_watch = [1]\n",
        &[],
    );
    let joined = e.join("\n");
    for want in [
        "agent.remote_write: [\"https://secure/w\", \"ftp://x\"]: every URL must start with http://",
        "agent.pollsters: unknown pollster in [\"host\", \"gpu\"]",
        "agent.interval: 10ms is too short",
        "agent.spool_max_size: 1KiB is too small",
        "agent.max_samples_per_send: must be at least 1",
        "agent.cgroup_watch: expected strings in the array, found integer",
    ] {
        assert!(joined.contains(want), "missing {want:?} in:\n{joined}");
    }
    assert_eq!(e.len(), 6, "{joined}");
}
