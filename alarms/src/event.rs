//! Event alarms: matching incoming events against an `event` rule.
//!
//! An Aodh `event` alarm rule (api/controllers/v2/alarm_rules/event.py) has
//! an `event_type` glob and a `query` list; the event evaluator
//! (evaluator/event.py) fires the alarm when an event's type matches the glob
//! and every query condition holds. Events arrive as notification payloads
//! `{"message_id", "event_type", "generated", "traits": [[name, type, value]],
//! "raw"}` with trait types 1 text, 2 integer, 3 float, 4 datetime.
//!
//! Faithful to Aodh 23.0.0, including where its behaviour is surprising:
//! a condition on a field outside `traits.` never holds (Aodh raises a
//! `TypeError` there), a `traits.` condition typed `boolean` never holds
//! (Aodh's evaluator has no such trait type), and the API refuses `datetime`
//! as a query type although the evaluator supports it.

use std::cmp::Ordering;
use std::sync::LazyLock;

use chrono::{NaiveDateTime, TimeDelta};
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A trait value, typed as in the notification.
#[derive(Debug, Clone, PartialEq)]
pub enum TraitValue {
    /// Type 1.
    Text(String),
    /// Type 2.
    Int(i64),
    /// Type 3.
    Float(f64),
    /// Type 4: ISO 8601 text as received.
    Datetime(String),
}

impl TraitValue {
    /// The wire type code: 1 text, 2 integer, 3 float, 4 datetime.
    pub fn type_code(&self) -> u8 {
        match self {
            TraitValue::Text(_) => 1,
            TraitValue::Int(_) => 2,
            TraitValue::Float(_) => 3,
            TraitValue::Datetime(_) => 4,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            TraitValue::Text(s) | TraitValue::Datetime(s) => Value::String(s.clone()),
            TraitValue::Int(i) => Value::from(*i),
            TraitValue::Float(f) => Value::from(*f),
        }
    }
}

/// An event as delivered to the event-alarm evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Dotted event type, e.g. `compute.instance.update`.
    pub event_type: String,
    /// Unique id of the notification.
    pub message_id: String,
    /// When the event was generated (ISO 8601), `""` if unknown.
    pub generated: String,
    /// Traits in payload order; for a repeated name the last one counts.
    pub traits: Vec<(String, TraitValue)>,
    /// The payload's `raw` object (`{}` when absent).
    pub raw: Value,
}

impl Event {
    /// Reads a notification payload as Aodh's `Event` wrapper does
    /// (evaluator/event.py `Event._validate`, `_parse_traits`): `event_type`
    /// and `message_id` must be non-empty; a trait of type 2, 3 or 4 (or
    /// `"integer"`, `"float"`, `"datetime"`) is converted with Python's
    /// `int()`, `float()` or an ISO 8601 parse, anything else becomes text.
    /// A trait that does not convert makes the whole event unusable, as the
    /// exception does in Aodh.
    pub fn from_notification(v: &Value) -> Result<Event, String> {
        let obj = v
            .as_object()
            .filter(|o| !o.is_empty())
            .ok_or("Received invalid event (empty or None)")?;
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let event_type = text("event_type").ok_or("Failed to extract event_type from event")?;
        let message_id = text("message_id").ok_or("Failed to extract message_id from event")?;
        let mut traits = Vec::new();
        let empty = Vec::new();
        let items = match obj.get("traits") {
            None => &empty,
            Some(Value::Array(a)) => a,
            Some(_) => return Err("event traits are not a list".to_owned()),
        };
        for t in items {
            let (name, code, value) = match t.as_array().map(Vec::as_slice) {
                Some([Value::String(n), c, v, ..]) => (n, c, v),
                _ => return Err(format!("malformed trait {t}")),
            };
            traits.push((
                name.clone(),
                trait_from_wire(code, value)
                    .ok_or_else(|| format!("bad value for trait {name}"))?,
            ));
        }
        Ok(Event {
            event_type: event_type.to_owned(),
            message_id: message_id.to_owned(),
            generated: obj
                .get("generated")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            traits,
            raw: obj
                .get("raw")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        })
    }
}

fn trait_from_wire(code: &Value, v: &Value) -> Option<TraitValue> {
    let kind = match code {
        Value::String(s) => match s.as_str() {
            "integer" => 2,
            "float" => 3,
            "datetime" => 4,
            _ => 1,
        },
        Value::Number(n) => match n.as_f64() {
            Some(2.0) => 2,
            Some(3.0) => 3,
            Some(4.0) => 4,
            _ => 1,
        },
        _ => 1,
    };
    Some(match kind {
        2 => TraitValue::Int(match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            })?,
            Value::Bool(b) => i64::from(*b),
            Value::String(s) => crate::query::py_int(s)?,
            _ => return None,
        }),
        3 => TraitValue::Float(match v {
            Value::Number(n) => n.as_f64()?,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::String(s) => crate::query::py_float(s)?,
            _ => return None,
        }),
        4 => {
            let s = v.as_str()?;
            parse_iso8601(s)?;
            TraitValue::Datetime(s.to_owned())
        }
        _ => TraitValue::Text(match v {
            Value::String(s) => s.clone(),
            Value::Null => "None".to_owned(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
            Value::Number(n) if n.is_f64() => format!("{:?}", n.as_f64().unwrap_or_default()),
            other => other.to_string(),
        }),
    })
}

/// One condition of an event rule's `query`, serialised as Aodh stores it:
/// `{"field", "op", "value", "type"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// `traits.<name>`, or a dotted path into the event.
    pub field: String,
    /// `lt le eq ne ge gt`; absent, `null` or `""` reads as `eq`
    /// (base.py `Query.get_op`).
    #[serde(default = "default_op", deserialize_with = "op_or_eq")]
    pub op: String,
    /// The value, as text.
    pub value: String,
    /// `string`, `integer`, `float`, `boolean` or `""` (read as `string`).
    #[serde(rename = "type", default)]
    pub type_: String,
}

fn default_op() -> String {
    "eq".to_owned()
}

fn op_or_eq<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let op = Option::<String>::deserialize(d)?;
    Ok(op.filter(|s| !s.is_empty()).unwrap_or_else(default_op))
}

const OPERATORS: [&str; 6] = ["lt", "le", "eq", "ne", "ge", "gt"];

/// Validates an event rule as Aodh's API does (alarm_rules/event.py
/// `AlarmEventRule.validate_alarm`); `event_type` itself is free text.
/// For each condition in order: the value must convert to its type
/// ("Unable to convert the value … to the expected data type ….", "The data
/// type … is not supported. …"), then the field must match
/// `^[a-zA-Z.',0-9_-]*$`, the operator be known and the type be one of
/// `string integer float boolean ""` — reported as voluptuous does after
/// "Query value or traits invalid: ".
pub fn validate_rule(_event_type: &str, query: &[EventQuery]) -> Result<(), String> {
    static FIELD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-zA-Z.',0-9_-]*$").expect("field regex is valid"));
    for q in query {
        check_conversion(&q.value, &q.type_)?;
        let invalid = |what: &str, key: &str| {
            Err(format!(
                "Query value or traits invalid: {what} for dictionary value @ data['{key}']"
            ))
        };
        if !FIELD.is_match(&q.field) {
            return invalid(
                "does not match regular expression ^[a-zA-Z.',0-9_-]*$",
                "field",
            );
        }
        if !OPERATORS.contains(&op_of(q)) {
            return invalid(
                "value must be one of ['eq', 'ge', 'gt', 'le', 'lt', 'ne']",
                "op",
            );
        }
        if !["string", "integer", "float", "boolean", ""].contains(&q.type_.as_str()) {
            return invalid(
                "value must be one of ['', 'boolean', 'float', 'integer', 'string']",
                "value",
            );
        }
    }
    Ok(())
}

/// base.py `Query.get_value()` with the declared type: only its errors matter.
fn check_conversion(value: &str, type_: &str) -> Result<(), String> {
    let ok = match type_ {
        "" | "string" => true,
        "integer" => crate::query::py_int(value).is_some(),
        "float" => crate::query::py_float(value).is_some(),
        "boolean" => matches!(
            value.trim().to_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes" | "0" | "f" | "false" | "off" | "n" | "no"
        ),
        "datetime" => parse_iso8601(value).is_some(),
        other => {
            return Err(format!(
                "The data type {other} is not supported. The supported data type list is: \
                 ['integer', 'float', 'string', 'boolean', 'datetime']"
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Unable to convert the value {value} to the expected data type {type_}."
        ))
    }
}

fn op_of(q: &EventQuery) -> &str {
    if q.op.is_empty() { "eq" } else { &q.op }
}

/// The project whose event alarms an event is matched against: the last
/// `project_id` or `tenant_id` trait (evaluator/event.py `_parse_traits`).
/// `None` when there is none (or it is not text); Aodh then looks up alarms
/// whose `project_id` is the empty string.
pub fn project_of(e: &Event) -> Option<&str> {
    match e
        .traits
        .iter()
        .rev()
        .find(|(k, _)| k == "project_id" || k == "tenant_id")
    {
        Some((_, TraitValue::Text(s))) => Some(s),
        _ => None,
    }
}

/// Whether an event fires an event alarm with this rule: the event is valid
/// (non-empty type and id, every datetime trait parses), its type matches the
/// glob (see [`fnmatch`]; `""` means `*`), and every condition holds.
///
/// A condition on `traits.<name>` converts the rule value by its type
/// (`""` → string) and compares it with the trait with Python semantics:
/// int and float compare numerically, text with text, datetimes (as naive
/// UTC) with datetimes; `eq` across other kinds is false, `ne` true, and an
/// ordering across kinds is false (Aodh's `TypeError`). A missing trait only
/// satisfies `ne`. Any other field never holds.
pub fn matches(event_type_glob: &str, query: &[EventQuery], e: &Event) -> bool {
    if e.event_type.is_empty() || e.message_id.is_empty() {
        return false;
    }
    let mut traits: Vec<(&str, Py)> = Vec::with_capacity(e.traits.len());
    for (name, v) in &e.traits {
        let Some(p) = Py::from_trait(v) else {
            return false;
        };
        traits.push((name, p));
    }
    let glob = if event_type_glob.is_empty() {
        "*"
    } else {
        event_type_glob
    };
    if !fnmatch(&e.event_type, glob) {
        return false;
    }
    query.iter().all(|q| condition_holds(q, &traits))
}

fn condition_holds(q: &EventQuery, traits: &[(&str, Py)]) -> bool {
    let Some(key) = q.field.strip_prefix("traits.") else {
        return false;
    };
    let want = match if q.type_.is_empty() {
        "string"
    } else {
        q.type_.as_str()
    } {
        "none" | "string" => Py::Str(q.value.clone()),
        "integer" => match crate::query::py_int(&q.value) {
            Some(i) => Py::Int(i),
            None => return false,
        },
        "float" => match crate::query::py_float(&q.value) {
            Some(f) => Py::Float(f),
            None => return false,
        },
        "datetime" => match parse_iso8601(&q.value) {
            Some(d) => Py::Dt(d),
            None => return false,
        },
        _ => return false,
    };
    let have = traits.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v);
    match op_of(q) {
        "eq" => have.is_some_and(|h| h.py_eq(&want)),
        "ne" => !have.is_some_and(|h| h.py_eq(&want)),
        op @ ("lt" | "le" | "gt" | "ge") => {
            let Some(ord) = have.and_then(|h| h.py_cmp(&want)) else {
                return false;
            };
            match op {
                "lt" => ord == Ordering::Less,
                "le" => ord != Ordering::Greater,
                "gt" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
        _ => false,
    }
}

/// A converted trait or query value, compared as Python compares them.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    Str(String),
    Int(i64),
    Float(f64),
    Dt(NaiveDateTime),
}

impl Py {
    fn from_trait(v: &TraitValue) -> Option<Py> {
        Some(match v {
            TraitValue::Text(s) => Py::Str(s.clone()),
            TraitValue::Int(i) => Py::Int(*i),
            TraitValue::Float(f) => Py::Float(*f),
            TraitValue::Datetime(s) => Py::Dt(parse_iso8601(s)?),
        })
    }

    fn py_eq(&self, other: &Py) -> bool {
        self.py_cmp(other) == Some(Ordering::Equal)
    }

    fn py_cmp(&self, other: &Py) -> Option<Ordering> {
        match (self, other) {
            (Py::Str(a), Py::Str(b)) => Some(a.cmp(b)),
            (Py::Int(a), Py::Int(b)) => Some(a.cmp(b)),
            (Py::Int(a), Py::Float(b)) => (*a as f64).partial_cmp(b),
            (Py::Float(a), Py::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Py::Float(a), Py::Float(b)) => a.partial_cmp(b),
            (Py::Dt(a), Py::Dt(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// The value Aodh's `Event.get_value(field)` reads: for `traits.<name>` the
/// trait (last of that name), otherwise a dotted path through the event
/// object (`event_type`, `message_id`, `generated`, `traits`, `raw.…`).
pub fn event_field(e: &Event, field: &str) -> Option<Value> {
    if let Some(key) = field.strip_prefix("traits.") {
        return e
            .traits
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_json());
    }
    let obj = event_json(e);
    let mut cur = &obj;
    for part in field.split('.') {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur.clone())
}

/// The event as Aodh puts it in `reason_data.event` of the notification:
/// `{"event_type", "message_id", "generated", "traits": [[name, type, value]...], "raw"}`.
pub fn event_json(e: &Event) -> Value {
    let traits = e
        .traits
        .iter()
        .map(|(k, v)| {
            Value::Array(vec![
                Value::String(k.clone()),
                Value::from(v.type_code()),
                v.to_json(),
            ])
        })
        .collect();
    let mut m = Map::new();
    m.insert("event_type".to_owned(), Value::String(e.event_type.clone()));
    m.insert("message_id".to_owned(), Value::String(e.message_id.clone()));
    m.insert("generated".to_owned(), Value::String(e.generated.clone()));
    m.insert("traits".to_owned(), Value::Array(traits));
    m.insert("raw".to_owned(), e.raw.clone());
    Value::Object(m)
}

/// The state reason Aodh records when an event fires the alarm
/// (evaluator/event.py `_fire_alarm`):
/// `Event <id=<message_id>,event_type=<event_type>> hits the query <query=<json>>.`
/// where `<json>` is Python's `json.dumps(rule["query"], sort_keys=True)`.
pub fn reason(e: &Event, query: &[EventQuery]) -> String {
    format!(
        "Event <id={},event_type={}> hits the query <query={}>.",
        e.message_id,
        e.event_type,
        query_json_dumps(query)
    )
}

/// `json.dumps([{"field", "op", "type", "value"}...], sort_keys=True)`.
fn query_json_dumps(query: &[EventQuery]) -> String {
    let items: Vec<String> = query
        .iter()
        .map(|q| {
            format!(
                "{{\"field\": {}, \"op\": {}, \"type\": {}, \"value\": {}}}",
                py_json_str(&q.field),
                py_json_str(op_of(q)),
                py_json_str(&q.type_),
                py_json_str(&q.value)
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii=True`).
fn py_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `fnmatch.fnmatchcase` (case-sensitive; the same matcher as
/// Gnocchi's archive policy rules).
pub use altimeter_model::gnocchi::timefmt::fnmatch;

/// oslo `parse_isotime` + `normalize_time`: ISO 8601 (the `iso8601`
/// package's forms) to naive UTC.
fn parse_iso8601(s: &str) -> Option<NaiveDateTime> {
    let (t, offset) = crate::query::parse_iso8601(s)?;
    t.checked_sub_signed(TimeDelta::seconds(i64::from(offset.unwrap_or(0))))
}

#[cfg(test)]
mod tests;
