//! Alarm time constraints: the windows in which an alarm is evaluated.
//!
//! An Aodh alarm may carry `time_constraints` (api/controllers/v2/alarms.py
//! `AlarmTimeConstraint`): each a cron `start` (croniter syntax), a
//! `duration` in seconds and an optional IANA `timezone`. The evaluator skips
//! an alarm unless at least one constraint is active
//! (evaluator/__init__.py `within_time_constraint`).
//!
//! Cron expressions are parsed here with croniter's rules and messages
//! (5 fields, or croniter's 6-field form with seconds last and 7-field form
//! with a year). Activity is computed on the zone's *wall clock*, as Aodh's
//! timezone-aware Python datetimes do: a window "01:00 for 2 hours" ends at
//! 03:00 local time even across a DST change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike,
};
use chrono_tz::Tz;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// One entry of an alarm's `time_constraints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeConstraint {
    /// Name, unique within the alarm.
    pub name: String,
    /// Free text; Aodh fills [`default_description`] when empty.
    #[serde(default)]
    pub description: String,
    /// Start points, a cron expression (croniter syntax).
    pub start: String,
    /// Seconds the window stays open after each start (≥ 0).
    pub duration: i64,
    /// IANA zone the cron expression is read in; `""` means UTC.
    #[serde(default)]
    pub timezone: String,
}

/// The description Aodh reports for a constraint given without one
/// (alarms.py `AlarmTimeConstraint.get_description`).
pub fn default_description(tc: &TimeConstraint) -> String {
    format!(
        "Time constraint at {} lasting for {} seconds",
        tc.start, tc.duration
    )
}

/// Validates an alarm's constraints as Aodh's API does, reporting the first
/// problem with Aodh's `faultstring`:
///
/// * bad cron: `Invalid input for field/attribute start. Value: '<start>'. <croniter message>`
/// * negative duration: `Invalid input for field/attribute duration. Value: '<d>'. Value should be greater or equal to 0`
/// * unknown zone: `Timezone <tz> is not valid`
/// * repeated name: `Time constraint names must be unique for a given alarm.`
pub fn validate(list: &[TimeConstraint]) -> Result<(), String> {
    for tc in list {
        if let Err(msg) = validate_cron(&tc.start) {
            return Err(format!(
                "Invalid input for field/attribute start. Value: '{}'. {msg}",
                tc.start
            ));
        }
        if tc.duration < 0 {
            return Err(format!(
                "Invalid input for field/attribute duration. Value: '{}'. Value should be greater or equal to 0",
                tc.duration
            ));
        }
        if !tc.timezone.is_empty() && tc.timezone.parse::<Tz>().is_err() {
            return Err(format!("Timezone {} is not valid", tc.timezone));
        }
    }
    let mut names = BTreeSet::new();
    if list.iter().any(|tc| !names.insert(tc.name.as_str())) {
        return Err("Time constraint names must be unique for a given alarm.".to_owned());
    }
    Ok(())
}

/// Checks a cron expression; the error is croniter's message.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    Cron::parse(expr).map(|_| ())
}

/// Whether an alarm with these constraints is evaluated at `now_ms`
/// (milliseconds since the epoch). No constraints: always.
///
/// A constraint is active when, on its zone's wall clock, `now` lies in
/// `[S, S + duration]` for the latest start `S` strictly before `now`
/// (rounded up to the second), or when the next start is less than a minute
/// away (Aodh `_is_exact_match`, which with croniter ≥ 0.3.20 fires in the
/// minute *before* a start). Around DST changes croniter's own quirks are
/// reproduced (a start inside a spring-forward gap is read after the gap;
/// its day-crossing offset correction). A constraint Aodh cannot evaluate
/// (bad zone or cron, no start within 50 years) makes the whole check fail,
/// as the exception does in Aodh.
pub fn active(list: &[TimeConstraint], now_ms: i64) -> bool {
    for tc in list {
        match constraint_active(tc, now_ms) {
            Some(true) => return true,
            Some(false) => {}
            None => return false,
        }
    }
    list.is_empty()
}

/// evaluator/__init__.py `within_time_constraint` for one constraint;
/// `None` where Aodh raises.
fn constraint_active(tc: &TimeConstraint, now_ms: i64) -> Option<bool> {
    let tz: Tz = if tc.timezone.is_empty() {
        Tz::UTC
    } else {
        tc.timezone.parse().ok()?
    };
    let cron = Cron::parse(&tc.start).ok()?;
    let now = wall(tz, now_ms)?;
    // `_is_exact_match`: one step back, one step forward, compare to the minute.
    let prev = croniter_step(&cron, tz, now_ms, now_ms, true)?;
    let next = croniter_step(&cron, tz, prev.at * 1000, prev.dst_start_ms, false)?;
    if (now - next.wall).abs() < TimeDelta::seconds(60) {
        return Some(true);
    }
    // Aware datetimes sharing a tzinfo add and compare on the wall clock.
    let end = prev
        .wall
        .checked_add_signed(TimeDelta::try_seconds(tc.duration)?)?;
    Some(prev.wall <= now && now <= end)
}

/// The outcome of one croniter `get_prev` / `get_next`.
#[derive(Debug)]
struct Step {
    /// The start found, seconds since the epoch.
    at: i64,
    /// The wall time of the returned datetime (not always `at`'s: croniter's
    /// DST correction shifts it without renormalising).
    wall: NaiveDateTime,
    /// croniter's `dst_start_time` afterwards, milliseconds.
    dst_start_ms: i64,
}

/// croniter `_get_next` from `cur_ms` in zone `tz`: the search runs on the
/// wall clock, its result is read back with Python's `fold=0` rule
/// (a time in a spring-forward gap lands after the gap), and croniter's
/// day-crossing DST correction is applied.
fn croniter_step(
    cron: &Cron,
    tz: Tz,
    cur_ms: i64,
    dst_start_ms: i64,
    before: bool,
) -> Option<Step> {
    let secs = cur_ms.div_euclid(1000);
    let base = if before {
        let now = secs + i64::from(cur_ms.rem_euclid(1000) != 0);
        now - if cron.with_seconds || now.rem_euclid(60) != 0 {
            1
        } else {
            60
        }
    } else {
        secs + if cron.with_seconds { 1 } else { 60 }
    };
    let from = wall(tz, base * 1000)?;
    let search = |side| cron.search(from, before, side).and_then(|w| fold0(tz, w));
    let mut at = if cron.or_days {
        let a = search(DaySide::Month)?;
        let b = search(DaySide::Week)?;
        if before { a.max(b) } else { a.min(b) }
    } else {
        search(DaySide::Both)?
    };
    let start_wall = wall(tz, dst_start_ms)?;
    let start_off = offset(tz, dst_start_ms.div_euclid(1000))?;
    let mut result_wall = wall(tz, at * 1000)?;
    let lag = i64::from(offset(tz, at)? - start_off);
    let mut dst_start = dst_start_ms;
    if lag != 0 {
        let lag_ms = (result_wall - start_wall).num_milliseconds().abs();
        let before_midnight_ms = i64::from(24 - start_wall.hour()) * 3_600_000;
        if (lag > 0 && lag_ms >= before_midnight_ms)
            || (lag < 0 && lag_ms + lag.abs() * 1000 >= before_midnight_ms)
        {
            result_wall -= TimeDelta::seconds(lag);
            at = fold0(tz, result_wall)?;
            dst_start = at * 1000;
        }
    }
    Some(Step {
        at,
        wall: result_wall,
        dst_start_ms: dst_start,
    })
}

/// Wall-clock time of an instant (milliseconds) in `tz`.
fn wall(tz: Tz, ms: i64) -> Option<NaiveDateTime> {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.naive_local())
}

/// UTC offset in seconds at an instant (seconds).
fn offset(tz: Tz, secs: i64) -> Option<i32> {
    let utc = DateTime::from_timestamp(secs, 0)?.naive_utc();
    Some(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// The instant (seconds) Python gives a wall time with `fold=0`: the first
/// of two ambiguous instants; in a gap, the offset from before the gap.
fn fold0(tz: Tz, w: NaiveDateTime) -> Option<i64> {
    match tz.from_local_datetime(&w) {
        LocalResult::Single(d) => Some(d.timestamp()),
        LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
        LocalResult::None => {
            let earlier = tz
                .from_local_datetime(&(w - TimeDelta::days(1)))
                .earliest()?;
            let off = earlier.offset().fix().local_minus_utc();
            Some(w.and_utc().timestamp() - i64::from(off))
        }
    }
}

// ---------------------------------------------------------------------------
// croniter-compatible cron expressions
// ---------------------------------------------------------------------------

const MINUTE: usize = 0;
const HOUR: usize = 1;
const DOM: usize = 2;
const MONTH: usize = 3;
const DOW: usize = 4;
const SECOND: usize = 5;
const YEAR: usize = 6;
const RANGES: [(u32, u32); 7] = [
    (0, 59),
    (0, 23),
    (1, 31),
    (1, 12),
    (0, 6),
    (0, 59),
    (1970, 2099),
];
const LEN_MEANS_ALL: [usize; 7] = [60, 24, 31, 12, 7, 60, 130];
const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DOW_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/// croniter's default `max_years_between_matches`.
const MAX_YEARS: i32 = 50;

static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^-]+)-([^-/]+)(/(\d+))?$").expect("step regex is valid"));
static SLASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+)/(.+)$").expect("slash regex is valid"));
static ONLY_INT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+$").expect("int regex is valid"));
static STAR_OR_INT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+|\*)$").expect("star regex is valid"));
static HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<hash_type>h|r)(\((?P<range_begin>\d+)-(?P<range_end>\d+)\))?(/(?P<divisor>\d+))?$",
    )
    .expect("hash regex is valid")
});
static SPECIAL_DOW: LazyLock<Regex> = LazyLock::new(|| {
    let wd = DOW_NAMES.join("|");
    let mo = MONTH_NAMES.join("|");
    Regex::new(&format!(
        r"^(?P<pre>((?P<he>(({wd})(-({wd}))?)|(({mo})(-({mo}))?)|\w+)#)|l)(?P<last>\d+)$"
    ))
    .expect("day-of-week regex is valid")
});

/// A field value as croniter expands it; sorts like croniter's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Star,
    Num(u32),
    /// `l`: the month's last day.
    Last,
}

/// `#n` or `l` of a day-of-week item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Nth {
    N(u32),
    Last,
}

/// Which day rule a search applies.
#[derive(Debug, Clone, Copy)]
enum DaySide {
    /// Day of month and day of week.
    Both,
    /// Day of month (and any `#n` / `lN`).
    Month,
    /// Day of week.
    Week,
}

#[derive(Debug, Clone)]
struct Field {
    star: bool,
    allowed: Vec<bool>,
    last: bool,
}

impl Field {
    fn only(v: u32) -> Field {
        let mut allowed = vec![false; v as usize + 1];
        allowed[v as usize] = true;
        Field {
            star: false,
            allowed,
            last: false,
        }
    }

    fn any() -> Field {
        Field {
            star: true,
            allowed: Vec::new(),
            last: false,
        }
    }

    fn has(&self, v: u32) -> bool {
        self.star || self.allowed.get(v as usize).copied().unwrap_or(false)
    }
}

#[derive(Debug, Clone)]
struct Cron {
    fields: [Field; 7],
    /// Weekday → nth occurrences (`5#2`, `l5`).
    nth: BTreeMap<u32, BTreeSet<Nth>>,
    /// Day-of-month and day-of-week both restricted: either may match.
    or_days: bool,
    /// 6- or 7-field form: croniter steps by seconds.
    with_seconds: bool,
}

impl Cron {
    fn parse(expr_format: &str) -> Result<Cron, String> {
        let lower = expr_format.to_lowercase();
        let efl = match lower.as_str() {
            "@midnight" | "@daily" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let expressions: Vec<&str> = efl.split_whitespace().collect();
        let n = expressions.len();
        if !(5..=7).contains(&n) {
            return Err(
                "Exactly 5, 6 or 7 columns has to be specified for iterator expression.".to_owned(),
            );
        }
        let mut nth = BTreeMap::new();
        let mut expanded = Vec::with_capacity(n);
        for (fi, expr) in expressions.iter().enumerate() {
            expanded.push(parse_field(fi, expr, expr_format, &expressions, &mut nth)?);
        }
        let (dow_star, dow) = &expanded[DOW];
        // A field croniter collapsed to "*" has no literals left to mix.
        let collapsed = *dow_star && !dow.contains(&Tok::Star);
        if !nth.is_empty() && !collapsed {
            let literal: BTreeSet<u32> = dow
                .iter()
                .filter_map(|t| match t {
                    Tok::Num(v) if !nth.contains_key(v) => Some(*v),
                    _ => None,
                })
                .collect();
            if !literal.is_empty() && dow.len() != LEN_MEANS_ALL[DOW] {
                return Err(format!(
                    "day-of-week field does not support mixing literal values and nth day of week syntax.  \
                     Cron: '{expr_format}'    dow={} vs nth={}",
                    py_set(literal.iter().map(u32::to_string)),
                    py_nth(&nth)
                ));
            }
        }
        let mut fields = [
            Field::any(),
            Field::any(),
            Field::any(),
            Field::any(),
            Field::any(),
            Field::only(0),
            Field::any(),
        ];
        for (fi, (star, toks)) in expanded.into_iter().enumerate() {
            let mut allowed = vec![false; RANGES[fi].1 as usize + 1];
            for t in &toks {
                if let Tok::Num(v) = t {
                    allowed[*v as usize] = true;
                }
            }
            fields[fi] = Field {
                star,
                allowed,
                last: toks.contains(&Tok::Last),
            };
        }
        let or_days = !fields[DOM].star && !fields[DOW].star;
        Ok(Cron {
            fields,
            nth,
            or_days,
            with_seconds: n > 5,
        })
    }

    fn day_matches(&self, d: NaiveDate, side: DaySide) -> bool {
        let day = d.day();
        let last_day = days_in_month(d);
        let weekday = d.weekday().num_days_from_sunday();
        let dom = &self.fields[DOM];
        let dom_match = dom.star || dom.has(day) || (dom.last && day == last_day);
        let nth_match = self.nth.get(&weekday).is_some_and(|ns| {
            ns.iter().any(|n| match n {
                Nth::N(k) => (day - 1) / 7 + 1 == *k,
                Nth::Last => day + 7 > last_day,
            })
        });
        let dow_part = if self.nth.is_empty() {
            self.fields[DOW].has(weekday)
        } else {
            nth_match
        };
        match side {
            DaySide::Both => dom_match && dow_part,
            // croniter keeps applying `#n` / `lN` while it searches by day of month.
            DaySide::Month => dom_match && (self.nth.is_empty() || nth_match),
            DaySide::Week => dow_part,
        }
    }

    fn month_matches(&self, d: NaiveDate) -> bool {
        u32::try_from(d.year()).is_ok_and(|y| self.fields[YEAR].has(y))
            && self.fields[MONTH].has(d.month())
    }

    /// The latest start at or before `bound` (whole seconds).
    #[cfg(test)]
    fn prev(&self, bound: NaiveDateTime) -> Option<NaiveDateTime> {
        self.find(bound, true)
    }

    /// The earliest start at or after `bound` (whole seconds).
    #[cfg(test)]
    fn next(&self, bound: NaiveDateTime) -> Option<NaiveDateTime> {
        self.find(bound, false)
    }

    /// With both day fields restricted croniter searches by day of month and
    /// by day of week separately and takes the nearer result; it fails when
    /// either search finds nothing, so this does too.
    #[cfg(test)]
    fn find(&self, bound: NaiveDateTime, before: bool) -> Option<NaiveDateTime> {
        if !self.or_days {
            return self.search(bound, before, DaySide::Both);
        }
        let a = self.search(bound, before, DaySide::Month)?;
        let b = self.search(bound, before, DaySide::Week)?;
        Some(if before { a.max(b) } else { a.min(b) })
    }

    /// Walks day by day from `bound` (at most [`MAX_YEARS`] years away) to
    /// the nearest start in the given direction.
    fn search(&self, bound: NaiveDateTime, before: bool, side: DaySide) -> Option<NaiveDateTime> {
        let first_year = bound.year();
        let mut date = bound.date();
        let mut limit = Some(bound.time());
        while (date.year() - first_year).abs() <= MAX_YEARS {
            if !self.month_matches(date) {
                date = if before {
                    date.with_day(1)?.pred_opt()?
                } else {
                    first_of_next_month(date)?
                };
                limit = None;
                continue;
            }
            if self.day_matches(date, side)
                && let Some(t) = self.time_of_day(limit, before)
            {
                return Some(date.and_time(t));
            }
            date = if before {
                date.pred_opt()?
            } else {
                date.succ_opt()?
            };
            limit = None;
        }
        None
    }

    /// The latest (`before`) or earliest matching time of day on the far
    /// side of `limit`, if any.
    fn time_of_day(&self, limit: Option<NaiveTime>, before: bool) -> Option<NaiveTime> {
        let lim = limit.map(|t| [t.hour(), t.minute(), t.second()]);
        let units = [
            &self.fields[HOUR],
            &self.fields[MINUTE],
            &self.fields[SECOND],
        ];
        let tops = [23, 59, 59];
        let mut found = [0u32; 3];
        // Depth-first over hour, minute, second; `tight` while every higher
        // unit equals the limit's.
        fn search(
            depth: usize,
            tight: bool,
            lim: Option<[u32; 3]>,
            units: &[&Field; 3],
            tops: &[u32; 3],
            before: bool,
            found: &mut [u32; 3],
        ) -> bool {
            if depth == 3 {
                return true;
            }
            let bound = lim.filter(|_| tight).map(|l| l[depth]);
            let candidates: Box<dyn Iterator<Item = u32>> = if before {
                Box::new((0..=bound.unwrap_or(tops[depth])).rev())
            } else {
                Box::new(bound.unwrap_or(0)..=tops[depth])
            };
            for v in candidates {
                if !units[depth].has(v) {
                    continue;
                }
                found[depth] = v;
                let still_tight = bound == Some(v);
                if search(depth + 1, still_tight, lim, units, tops, before, found) {
                    return true;
                }
            }
            false
        }
        if search(0, true, lim, &units, &tops, before, &mut found) {
            NaiveTime::from_hms_opt(found[0], found[1], found[2])
        } else {
            None
        }
    }
}

fn days_in_month(d: NaiveDate) -> u32 {
    first_of_next_month(d)
        .and_then(|n| n.pred_opt())
        .map_or(31, |l| l.day())
}

fn first_of_next_month(d: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// croniter `value_alias`: `7` is Sunday in 5-field day-of-week; in the
/// 6-field form a day-of-month `0` means `1`.
fn value_alias(v: u64, fi: usize, n: usize) -> u64 {
    match (fi, v, n) {
        (DOW, 7, 5) => 0,
        (DOM, 0, 6) => 1,
        _ => v,
    }
}

/// croniter `_alphaconv`: month and weekday names, `l` in day-of-month.
fn alphaconv(fi: usize, key: &str, expressions: &[&str]) -> Result<String, String> {
    let found = match fi {
        DOM if key == "l" => Some("l".to_owned()),
        MONTH => MONTH_NAMES
            .iter()
            .position(|m| *m == key)
            .map(|i| (i + 1).to_string()),
        DOW => DOW_NAMES
            .iter()
            .position(|d| *d == key)
            .map(|i| i.to_string()),
        _ => None,
    };
    found.ok_or_else(|| format!("[{}] is not acceptable", expressions.join(" ")))
}

/// Expands one field (croniter `_expand`). Returns whether the field means
/// "any" and its items.
fn parse_field(
    fi: usize,
    expr: &str,
    expr_format: &str,
    expressions: &[&str],
    nth_map: &mut BTreeMap<u32, BTreeSet<Nth>>,
) -> Result<(bool, Vec<Tok>), String> {
    if let Some(c) = HASH.captures(expr) {
        if &c["hash_type"] == "h" {
            return Err("Hashed definitions must include hash_id".to_owned());
        }
        return Err(format!(
            "[{expr_format}] is not acceptable: random 'R' values are not supported"
        ));
    }
    let mut expr = expr.to_owned();
    if expr.contains('?') {
        if expr != "?" {
            return Err(format!(
                "[{expr_format}] is not acceptable. Question mark can not used with other characters"
            ));
        }
        if fi != DOM && fi != DOW {
            return Err(format!(
                "[{expr_format}] is not acceptable. Question mark can only used in day_of_month or day_of_week"
            ));
        }
        expr = "*".to_owned();
    }
    let n = expressions.len();
    let (min, max) = RANGES[fi];
    let mut e_list: Vec<String> = expr.split(',').map(str::to_owned).collect();
    let mut res = BTreeSet::new();
    while let Some(mut e) = e_list.pop() {
        let mut nth = None;
        if fi == DOW
            && let Some(c) = SPECIAL_DOW.captures(&e)
        {
            let last = c.name("last").map_or("", |m| m.as_str()).to_owned();
            match c.name("he").map(|m| m.as_str().to_owned()) {
                Some(he) if !he.is_empty() => {
                    let k = last.parse::<u64>().unwrap_or(u64::MAX);
                    if !(1..=5).contains(&k) {
                        let shown = if k == u64::MAX {
                            last.clone()
                        } else {
                            k.to_string()
                        };
                        return Err(format!(
                            "[{expr_format}] is not acceptable. Invalid day_of_week value: '{shown}'"
                        ));
                    }
                    nth = Some(Nth::N(k as u32));
                    e = he;
                }
                _ if !last.is_empty() => {
                    nth = Some(Nth::Last);
                    e = last;
                }
                _ => {}
            }
        }
        let mut t = match e.strip_prefix('*') {
            Some(rest) if rest.len() > 1 && rest.starts_with('/') => format!("{min}-{max}{rest}"),
            _ => e.clone(),
        };
        let mut parts = step_parts(&t);
        if parts.is_none() {
            t = SLASH
                .replace(&e, format!("${{1}}-{max}/${{2}}"))
                .into_owned();
            parts = step_parts(&t);
        }
        if let Some((mut low, mut high, step)) = parts {
            if fi == DOM && high == "l" {
                high = "31".to_owned();
            }
            if !ONLY_INT.is_match(&low) {
                low = alphaconv(fi, &low, expressions)?;
            }
            if !ONLY_INT.is_match(&high) {
                high = alphaconv(fi, &high, expressions)?;
            }
            if !ONLY_INT.is_match(&low) || !ONLY_INT.is_match(&high) {
                return Err(format!(
                    "[{expr_format}] bands '{low}-{high}' in field {fi} are not acceptable"
                ));
            }
            let step = step.map_or(1, |s| s.parse::<u64>().unwrap_or(u64::MAX));
            let low = value_alias(low.parse().unwrap_or(u64::MAX), fi, n);
            let high = value_alias(high.parse().unwrap_or(u64::MAX), fi, n);
            if low.max(high) > u64::from(max) {
                return Err(format!("{expr_format} is out of bands"));
            }
            if step == 0 {
                return Err("invalid range: range() arg 3 must not be zero".to_owned());
            }
            let step_usize = usize::try_from(step).unwrap_or(usize::MAX);
            let (min64, max64) = (u64::from(min), u64::from(max));
            let rng: Vec<u64> = if low > high {
                // Wrap-around range, e.g. fri-mon.
                let mut rng: Vec<u64> = (low..=max64).step_by(step_usize).collect();
                let mut to_skip = 0;
                if let Some(&last) = rng.last() {
                    let already_skipped = max64 - last;
                    let curpos = last - min64;
                    if curpos.saturating_add(step) > max64 - min64 + 1 && already_skipped < step {
                        to_skip = step - already_skipped;
                    }
                }
                rng.extend((min64.saturating_add(to_skip)..=high).step_by(step_usize));
                rng
            } else if low == high {
                // croniter reads `x-x` as the whole cycle.
                (min64..=max64).step_by(step_usize).collect()
            } else {
                (low..=high).step_by(step_usize).collect()
            };
            for v in rng {
                let item = match nth {
                    Some(Nth::N(k)) if fi == DOW => format!("{v}#{k}"),
                    _ => v.to_string(),
                };
                if !e_list.contains(&item) {
                    e_list.push(item);
                }
            }
        } else {
            if t.starts_with('-') {
                return Err(format!(
                    "[{expr_format}] is not acceptable,negative numbers not allowed"
                ));
            }
            let s = if STAR_OR_INT.is_match(&t) {
                t
            } else {
                alphaconv(fi, &t, expressions)?
            };
            let tok = match s.as_str() {
                "*" => Tok::Star,
                "l" => Tok::Last,
                digits => {
                    let v = value_alias(digits.parse().unwrap_or(u64::MAX), fi, n);
                    if v < u64::from(min) || v > u64::from(max) {
                        return Err(format!("[{expr_format}] is not acceptable, out of range"));
                    }
                    Tok::Num(v as u32)
                }
            };
            res.insert(tok);
            if let (Tok::Num(v), Some(k)) = (tok, nth) {
                nth_map.entry(v).or_default().insert(k);
            }
        }
    }
    let toks: Vec<Tok> = res.into_iter().collect();
    // croniter collapses a complete list to "*", except a day field whose
    // partner day field has no "*" in its text.
    let means_all = toks.len() == LEN_MEANS_ALL[fi]
        && (fi != DOM || expressions[DOW].contains('*'))
        && (fi != DOW || expressions[DOM].contains('*'));
    let star = toks.contains(&Tok::Star) || means_all;
    Ok((star, toks))
}

fn step_parts(t: &str) -> Option<(String, String, Option<String>)> {
    let c = STEP.captures(t)?;
    Some((
        c[1].to_owned(),
        c[2].to_owned(),
        c.get(4).map(|m| m.as_str().to_owned()),
    ))
}

fn py_set(items: impl Iterator<Item = String>) -> String {
    format!("{{{}}}", items.collect::<Vec<_>>().join(", "))
}

fn py_nth(nth: &BTreeMap<u32, BTreeSet<Nth>>) -> String {
    let entries = nth.iter().map(|(wd, ns)| {
        let inner = py_set(ns.iter().map(|n| match n {
            Nth::N(k) => k.to_string(),
            Nth::Last => "'l'".to_owned(),
        }));
        format!("{wd}: {inner}")
    });
    format!("{{{}}}", entries.collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests;
