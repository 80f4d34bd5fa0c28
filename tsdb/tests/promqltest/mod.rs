//! A runner for Prometheus's promqltest files (`tests/promql/testdata/`,
//! from Prometheus v2.42.0) against Altimeter's PromQL engine over a real
//! [`altimeter_tsdb::Tsdb`].
//!
//! [`parse`] reads the format, [`run`] executes it with test.go's checks,
//! [`variants`] builds test.go's extra @-modifier queries. Every case of a
//! file runs; a case that fails must be listed in the known-exceptions table
//! of `docs/promql-conformance.md`, and a listed case must fail. See that
//! document for the environment variables.

pub mod parse;
pub mod run;
pub mod variants;

use std::collections::BTreeMap;
use std::path::PathBuf;

use run::{CaseResult, RunOptions};

/// Where the `.test` files are.
pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/promql/testdata")
}

/// The document with the known-exceptions table.
pub fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/promql-conformance.md")
}

/// A row of the known-exceptions table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Test file name, e.g. `functions.test`.
    pub file: String,
    /// 1-based line of the case.
    pub line: usize,
    /// The case's query (or `load` line), to catch stale line numbers.
    pub query: String,
    /// Why it fails.
    pub reason: String,
}

/// The heading above the table in the document.
const EXCEPTIONS_HEADING: &str = "## Known exceptions";

/// Reads the `| file:line | query | reason |` table under
/// [`EXCEPTIONS_HEADING`]. Cells may be in backticks; `\|` is a literal
/// `|`.
pub fn parse_exceptions(md: &str) -> Result<Vec<Exception>, String> {
    let mut lines = md
        .lines()
        .enumerate()
        .skip_while(|(_, l)| l.trim() != EXCEPTIONS_HEADING);
    if lines.next().is_none() {
        return Err(format!("no {EXCEPTIONS_HEADING:?} heading"));
    }
    let rows: Vec<(usize, &str)> = lines
        .map(|(i, l)| (i, l.trim()))
        .skip_while(|(_, l)| !l.starts_with('|'))
        .take_while(|(_, l)| l.starts_with('|'))
        .collect();
    let header = rows.first().map(|(_, l)| cells(l)).unwrap_or_default();
    if header != ["file:line", "query", "reason"] {
        return Err(format!(
            "the table under {EXCEPTIONS_HEADING:?} must start with | file:line | query | reason |"
        ));
    }
    let mut out = Vec::new();
    for (i, row) in rows.iter().skip(2) {
        let bad = |why: &str| format!("docs/promql-conformance.md line {}: {why}", i + 1);
        let c = cells(row);
        let [at, query, reason] = c.as_slice() else {
            return Err(bad("expected three cells"));
        };
        let (file, line) = at
            .rsplit_once(':')
            .and_then(|(f, l)| Some((f, l.parse::<usize>().ok()?)))
            .ok_or_else(|| bad("the first cell must be file:line"))?;
        if reason.is_empty() {
            return Err(bad("the reason is empty"));
        }
        out.push(Exception {
            file: file.to_string(),
            line,
            query: query.clone(),
            reason: reason.clone(),
        });
    }
    let mut seen = BTreeMap::new();
    for e in &out {
        if seen.insert((e.file.as_str(), e.line), ()).is_some() {
            return Err(format!("{}:{} is listed twice", e.file, e.line));
        }
    }
    Ok(out)
}

/// The cells of a table row, unescaped and without surrounding backticks.
fn cells(row: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|c| {
            let c = c.trim();
            let ticks = c.len() - c.trim_start_matches('`').len();
            let inner = if ticks > 0 && c.len() > 2 * ticks && c.ends_with(&"`".repeat(ticks)) {
                c[ticks..c.len() - ticks].trim()
            } else {
                c
            };
            inner.to_string()
        })
        .collect()
}

/// Reads the table from the document.
pub fn load_exceptions() -> Vec<Exception> {
    let md = std::fs::read_to_string(doc_path())
        .unwrap_or_else(|e| panic!("reading {}: {e}", doc_path().display()));
    parse_exceptions(&md).unwrap_or_else(|e| panic!("known-exceptions table: {e}"))
}

/// Which cases to run: `PROMQLTEST_FILE=<file>[:<line>]`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this file.
    pub file: Option<String>,
    /// Only the case on this line.
    pub line: Option<usize>,
}

impl Selection {
    /// From the environment.
    pub fn from_env() -> Selection {
        let Ok(v) = std::env::var("PROMQLTEST_FILE") else {
            return Selection::default();
        };
        let v = v.trim();
        match v.rsplit_once(':').map(|(f, l)| (f, l.parse::<usize>())) {
            Some((f, Ok(l))) => Selection {
                file: Some(f.to_string()),
                line: Some(l),
            },
            _ => Selection {
                file: Some(v.to_string()),
                line: None,
            },
        }
    }

    /// The selected file name, with `.test`.
    fn file_name(&self) -> Option<String> {
        self.file
            .as_deref()
            .map(|f| format!("{}.test", f.trim_end_matches(".test")))
    }

    fn includes(&self, file: &str) -> bool {
        self.file_name().is_none_or(|f| f == file)
    }
}

/// Runs one test file and panics if the outcome differs from the
/// known-exceptions table. Prints per-case failures and a summary.
pub fn run_file(name: &str) {
    let sel = Selection::from_env();
    if let Some(f) = sel.file_name() {
        assert!(
            testdata_dir().join(&f).is_file(),
            "PROMQLTEST_FILE names {f}, which is not in {}",
            testdata_dir().display()
        );
    }
    if !sel.includes(name) {
        eprintln!("{name}: skipped (PROMQLTEST_FILE selects another file)");
        return;
    }
    let exceptions: BTreeMap<usize, Exception> = load_exceptions()
        .into_iter()
        .filter(|e| e.file == name)
        .map(|e| (e.line, e))
        .collect();
    let path = testdata_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let cmds = parse::parse_file(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let opts = RunOptions {
        only_line: sel.line,
        flush: std::env::var("PROMQLTEST_FLUSH").is_ok_and(|v| v == "1"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let results = rt.block_on(run::run_commands(&cmds, &opts));
    if let Some(line) = sel.line {
        assert!(
            results.iter().any(|r| r.line == line),
            "PROMQLTEST_FILE: no eval on {name}:{line}"
        );
    }
    let verdict = judge(name, &results, &exceptions, sel.line.is_none());
    eprintln!("{}", verdict.report);
    if !verdict.ok {
        panic!("{}", verdict.summary);
    }
}

/// The outcome of a file against the table.
#[derive(Debug)]
pub struct Verdict {
    /// Whether it agrees with the table.
    pub ok: bool,
    /// One line: counts.
    pub summary: String,
    /// Every failure, then the summary.
    pub report: String,
}

/// Compares results with the table's entries for the file. With
/// `complete`, entries naming no case that ran are errors too.
pub fn judge(
    name: &str,
    results: &[CaseResult],
    exceptions: &BTreeMap<usize, Exception>,
    complete: bool,
) -> Verdict {
    use std::fmt::Write as _;
    let mut report = String::new();
    let (mut passed, mut known, mut unexpected) = (0, 0, Vec::new());
    let mut now_passing = Vec::new();
    let mut mismatched = Vec::new();
    for r in results {
        let listed = exceptions.get(&r.line);
        if let Some(e) = listed
            && e.query != r.query
        {
            mismatched.push(format!(
                "{name}:{} is listed with query `{}`, but the case there is `{}`",
                r.line, e.query, r.query
            ));
        }
        match (&r.failure, listed) {
            (None, None) => passed += 1,
            (None, Some(_)) => {
                passed += 1;
                now_passing.push(r);
            }
            (Some(f), listed) => {
                let tag = match listed {
                    Some(e) => {
                        known += 1;
                        format!("known exception: {}", e.reason)
                    }
                    None => {
                        unexpected.push(r);
                        "UNEXPECTED".to_string()
                    }
                };
                let _ = writeln!(
                    report,
                    "FAIL {name}:{} [{tag}] {}\n{}",
                    r.line,
                    r.query,
                    f.lines().map(|l| format!("    {l}\n")).collect::<String>()
                );
            }
        }
    }
    let dangling: Vec<&Exception> = if complete {
        exceptions
            .values()
            .filter(|e| !results.iter().any(|r| r.line == e.line))
            .collect()
    } else {
        Vec::new()
    };
    for r in &now_passing {
        let _ = writeln!(
            report,
            "PASS {name}:{} [listed as a known exception: remove it from docs/promql-conformance.md] {}",
            r.line, r.query
        );
    }
    for e in &dangling {
        let _ = writeln!(
            report,
            "TABLE {name}:{} is listed but no case of that file is on that line",
            e.line
        );
    }
    for m in &mismatched {
        let _ = writeln!(report, "TABLE {m}");
    }
    if !unexpected.is_empty() {
        let _ = writeln!(
            report,
            "Rows for docs/promql-conformance.md, if these failures are accepted:"
        );
        for r in &unexpected {
            let _ = writeln!(
                report,
                "| `{name}:{}` | `{}` | <reason> |",
                r.line,
                r.query.replace('|', "\\|")
            );
        }
    }
    let summary = format!(
        "{name}: {} cases ({} queries), {passed} passed, {} failed ({known} known exceptions, {} unexpected); \
         {} listed exceptions now pass; {} table rows name no case or the wrong query",
        results.len(),
        results.iter().map(|r| r.queries).sum::<usize>(),
        known + unexpected.len(),
        unexpected.len(),
        now_passing.len(),
        dangling.len() + mismatched.len(),
    );
    let _ = writeln!(report, "{summary}");
    Verdict {
        ok: unexpected.is_empty()
            && now_passing.is_empty()
            && dangling.is_empty()
            && mismatched.is_empty(),
        summary,
        report,
    }
}
