//! The extra queries Prometheus 2.42's test.go (`atModifierTestCases`)
//! runs for every `eval`: the expression with `@ <eval time>` set on every
//! selector and subquery that is not inside a subquery and has no numeric
//! `@` yet (`@ start()` / `@ end()` are replaced), evaluated at other times.
//! Expressions that call a function whose value depends on the evaluation
//! time (outside subqueries) get no variants.

use std::time::{Duration, SystemTime};

use promql_parser::label::{Matcher, Matchers};
use promql_parser::parser::{AtModifier, BinModifier, Expr, LabelModifier};

/// test.go's `AtModifierUnsafeFunctions`.
const AT_UNSAFE_FUNCTIONS: [&str; 11] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// The `(query, evaluation time in ms)` pairs test.go adds for an `eval` of
/// `expr` at `t`, or none.
pub fn at_modifier_variants(expr: &Expr, t: i64) -> Result<Vec<(String, i64)>, String> {
    let mut e = expr.clone();
    let mut time_dependent = false;
    set_at(&mut e, &at(t), &mut time_dependent);
    if time_dependent {
        return Ok(Vec::new());
    }
    let query = print(&e)?;
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    Ok(times.into_iter().map(|et| (query.clone(), et)).collect())
}

fn at(t: i64) -> AtModifier {
    let d = Duration::from_millis(t.unsigned_abs());
    AtModifier::At(if t < 0 {
        SystemTime::UNIX_EPOCH - d
    } else {
        SystemTime::UNIX_EPOCH + d
    })
}

/// Visits `e` and its subexpressions in pre-order; `f` says whether to go
/// into the children of the expression it was given.
fn walk<F: FnMut(&mut Expr) -> bool>(e: &mut Expr, f: &mut F) {
    if !f(e) {
        return;
    }
    match e {
        Expr::Subquery(sq) => walk(&mut sq.expr, f),
        Expr::Call(c) => {
            for a in &mut c.args.args {
                walk(a, f);
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                walk(p, f);
            }
            walk(&mut a.expr, f);
        }
        Expr::Unary(u) => walk(&mut u.expr, f),
        Expr::Binary(b) => {
            walk(&mut b.lhs, f);
            walk(&mut b.rhs, f);
        }
        Expr::Paren(p) => walk(&mut p.expr, f),
        Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => {}
    }
}

fn set_at(e: &mut Expr, ts: &AtModifier, time_dependent: &mut bool) {
    fn set(slot: &mut Option<AtModifier>, ts: &AtModifier) {
        if !matches!(slot, Some(AtModifier::At(_))) {
            *slot = Some(ts.clone());
        }
    }
    walk(e, &mut |e| {
        match e {
            Expr::VectorSelector(vs) => set(&mut vs.at, ts),
            Expr::MatrixSelector(ms) => set(&mut ms.vs.at, ts),
            // Everything inside now sits under a subquery with a
            // timestamp: test.go leaves it alone (and does not look at its
            // functions).
            Expr::Subquery(sq) => {
                set(&mut sq.at, ts);
                return false;
            }
            Expr::Call(c) => *time_dependent |= AT_UNSAFE_FUNCTIONS.contains(&c.func.name),
            _ => {}
        }
        true
    });
}

/// First sentinel (ms) standing in for a negative `@` time while printing:
/// the parser crate prints times before 1970 as `@ 0.000`.
const SENTINEL_MS: u64 = 9_000_000_000_123;

/// Prints `expr` as PromQL (the parser crate's printer, with negative `@`
/// times fixed) and checks that it parses back to the same tree, up to what
/// [`normalize`] erases; if not, the case fails with a `runner:` message.
pub fn print(expr: &Expr) -> Result<String, String> {
    let mut e = expr.clone();
    let mut negative: Vec<u64> = Vec::new();
    replace_negative_at(&mut e, &mut negative);
    let mut s = e.to_string();
    for (k, ms) in negative.iter().enumerate() {
        let sentinel = SENTINEL_MS + 1000 * k as u64;
        let printed = format!("@ {}.{:03}", sentinel / 1000, sentinel % 1000);
        let real = format!("@ -{}.{:03}", ms / 1000, ms % 1000);
        s = s.replace(&printed, &real);
    }
    let mut want = expr.clone();
    normalize(&mut want);
    match promql_parser::parser::parse(&s).map(|mut back| {
        normalize(&mut back);
        back
    }) {
        Ok(back) if back == want => Ok(s),
        Ok(_) => Err(format!(
            "runner: the expression with @ set does not print back to the same expression: {s}"
        )),
        Err(e) => Err(format!(
            "runner: the expression with @ set prints as {s:?}, which does not parse: {e}"
        )),
    }
}

fn replace_negative_at(e: &mut Expr, negative: &mut Vec<u64>) {
    fn fix(slot: &mut Option<AtModifier>, negative: &mut Vec<u64>) {
        if let Some(AtModifier::At(t)) = slot
            && let Err(before) = t.duration_since(SystemTime::UNIX_EPOCH)
        {
            let ms = before.duration().as_millis() as u64;
            let k = negative.iter().position(|m| *m == ms).unwrap_or_else(|| {
                negative.push(ms);
                negative.len() - 1
            });
            let sentinel = SENTINEL_MS + 1000 * k as u64;
            *t = SystemTime::UNIX_EPOCH + Duration::from_millis(sentinel);
        }
    }
    walk(e, &mut |e| {
        match e {
            Expr::VectorSelector(vs) => fix(&mut vs.at, negative),
            Expr::MatrixSelector(ms) => fix(&mut ms.vs.at, negative),
            Expr::Subquery(sq) => fix(&mut sq.at, negative),
            _ => {}
        }
        true
    });
}

/// Erases what the printer does not keep and PromQL does not care about:
/// the order of matchers, `by ()` on an aggregation, `ignoring ()`.
fn normalize(e: &mut Expr) {
    fn sort(ms: &mut [Matcher]) {
        ms.sort_by_cached_key(|m| (m.name.clone(), m.op.to_string(), m.value.clone()));
    }
    fn sort_all(ms: &mut Matchers) {
        sort(&mut ms.matchers);
        ms.or_matchers.iter_mut().for_each(|g| sort(g));
    }
    walk(e, &mut |e| {
        match e {
            Expr::VectorSelector(vs) => sort_all(&mut vs.matchers),
            Expr::MatrixSelector(ms) => sort_all(&mut ms.vs.matchers),
            Expr::Aggregate(a) => {
                if matches!(&a.modifier, Some(LabelModifier::Include(l)) if l.is_empty()) {
                    a.modifier = None;
                }
            }
            Expr::Binary(b) => {
                if let Some(m) = &mut b.modifier {
                    if matches!(&m.matching, Some(LabelModifier::Exclude(l)) if l.is_empty()) {
                        m.matching = None;
                    }
                    if *m == BinModifier::default() {
                        b.modifier = None;
                    }
                }
            }
            _ => {}
        }
        true
    });
}
