//! Gnocchi resource types: typed attribute schemas, validation of resource
//! attributes against them, and the types Ceilometer installs.
//!
//! A resource type is a name plus attributes, each `string` (with
//! `min_length`/`max_length`), `uuid`, `datetime`, `number` (with
//! `min`/`max`) or `bool`, required or not. The JSON rendering is Gnocchi's
//! (`{"type": "string", "required": true, "min_length": 0, "max_length": 255}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::timefmt;

/// Names no attribute may take (they are common resource columns).
const INVALID_NAMES: &[&str] = &[
    "id",
    "type",
    "metrics",
    "revision",
    "revision_start",
    "revision_end",
    "started_at",
    "ended_at",
    "user_id",
    "project_id",
    "created_by_user_id",
    "created_by_project_id",
    "get_metric",
    "creator",
];

/// What a resource-type or resource request got wrong, as Gnocchi says it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// A plain message (Gnocchi's `abort(400, "Invalid input: …")`).
    #[error("{0}")]
    Plain(String),
    /// A voluptuous schema violation: Gnocchi answers
    /// `{"cause": "Invalid input", "reason": …, "detail": [path…]}`.
    #[error("Invalid input: {reason}")]
    Invalid {
        /// voluptuous' text, e.g. `required key not provided @ data['x']`.
        reason: String,
        /// The path of the faulty value.
        detail: Vec<String>,
    },
}

impl SchemaError {
    fn plain(s: impl Into<String>) -> SchemaError {
        SchemaError::Plain(s.into())
    }

    fn invalid(reason: impl Into<String>, key: &str) -> SchemaError {
        SchemaError::Invalid {
            reason: reason.into(),
            detail: vec![key.to_string()],
        }
    }

    /// Gnocchi's `description` member of the 400 answer.
    pub fn description(&self) -> Value {
        match self {
            SchemaError::Plain(m) => Value::String(m.clone()),
            SchemaError::Invalid { reason, detail } => {
                json!({"cause": "Invalid input", "reason": reason, "detail": detail})
            }
        }
    }
}

/// The kind of one attribute and its bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum AttrKind {
    /// A string of bounded length.
    String {
        /// Shortest accepted.
        min_length: u64,
        /// Longest accepted.
        max_length: u64,
    },
    /// A UUID (non-UUID strings are refused).
    Uuid,
    /// A timestamp.
    Datetime,
    /// A number, optionally bounded.
    Number {
        /// Smallest accepted.
        min: Option<f64>,
        /// Largest accepted.
        max: Option<f64>,
    },
    /// A boolean.
    Bool,
}

/// One attribute of a resource type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Its kind and bounds.
    pub kind: AttrKind,
    /// Whether resources must give it.
    pub required: bool,
}

impl Attribute {
    /// Gnocchi's JSON for the attribute.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let t = match &self.kind {
            AttrKind::String {
                min_length,
                max_length,
            } => {
                m.insert("max_length".into(), json!(max_length));
                m.insert("min_length".into(), json!(min_length));
                "string"
            }
            AttrKind::Uuid => "uuid",
            AttrKind::Datetime => "datetime",
            AttrKind::Number { min, max } => {
                m.insert("min".into(), num_or_null(*min));
                m.insert("max".into(), num_or_null(*max));
                "number"
            }
            AttrKind::Bool => "bool",
        };
        m.insert("type".into(), json!(t));
        m.insert("required".into(), json!(self.required));
        Value::Object(m)
    }

    /// Validates and normalizes a value given for this attribute (`name`
    /// for messages). Datetimes become Gnocchi's ISO rendering, UUIDs
    /// their canonical form.
    pub fn validate(&self, name: &str, v: &Value, now_us: i64) -> Result<Value, SchemaError> {
        let bad = |what: &str| {
            SchemaError::invalid(
                format!("{what} for dictionary value @ data['{name}']"),
                name,
            )
        };
        match &self.kind {
            AttrKind::String {
                min_length,
                max_length,
            } => {
                let s = v.as_str().ok_or_else(|| bad("expected str"))?;
                let n = s.chars().count() as u64;
                if n < *min_length {
                    return Err(bad(&format!(
                        "length of value must be at least {min_length}"
                    )));
                }
                if n > *max_length {
                    return Err(bad(&format!(
                        "length of value must be at most {max_length}"
                    )));
                }
                Ok(v.clone())
            }
            AttrKind::Uuid => {
                let s = v
                    .as_str()
                    .ok_or_else(|| bad("badly formed hexadecimal UUID string"))?;
                let u = timefmt::parse_python_uuid(s)
                    .ok_or_else(|| bad("badly formed hexadecimal UUID string"))?;
                Ok(json!(u))
            }
            AttrKind::Datetime => {
                let us = timefmt::parse_datetime(v, now_us).map_err(|e| bad(&format!("{e}")))?;
                Ok(json!(timefmt::render_timestamp_us(us)))
            }
            AttrKind::Number { min, max } => {
                let x = match v {
                    Value::Number(n) => n.as_f64().ok_or_else(|| bad("expected Real"))?,
                    _ => return Err(bad("expected Real")),
                };
                if let Some(m) = min.filter(|m| x < *m) {
                    return Err(bad(&format!("value must be at least {}", py_num(m))));
                }
                if let Some(m) = max.filter(|m| x > *m) {
                    return Err(bad(&format!("value must be at most {}", py_num(m))));
                }
                Ok(v.clone())
            }
            AttrKind::Bool => match v {
                Value::Bool(_) => Ok(v.clone()),
                _ => Err(bad("expected bool")),
            },
        }
    }
}

fn py_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn num_or_null(x: Option<f64>) -> Value {
    match x {
        None => Value::Null,
        Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
        Some(f) => json!(f),
    }
}

/// A resource type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceType {
    /// Its name (also the URL segment).
    pub name: String,
    /// Attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
    /// Attribute names in creation order (Gnocchi lists them so).
    #[serde(default)]
    pub order: Vec<String>,
    /// `active` once usable (creation is synchronous here).
    pub state: String,
}

impl ResourceType {
    /// Attribute names in creation order.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .order
            .iter()
            .map(String::as_str)
            .filter(|n| self.attributes.contains_key(*n))
            .collect();
        for k in self.attributes.keys() {
            if !out.contains(&k.as_str()) {
                out.push(k);
            }
        }
        out
    }

    /// Gnocchi's JSON text for the type, attributes in creation order and
    /// each attribute's keys in Gnocchi's order (`type`, `required`, then
    /// the bounds) — what `resource-type list` prints as is.
    pub fn to_json_text(&self) -> String {
        let mut attrs = Vec::new();
        for n in self.names() {
            let a = &self.attributes[n];
            let mut parts = vec![
                format!("\"type\": \"{}\"", kind_name(&a.kind)),
                format!("\"required\": {}", a.required),
            ];
            match &a.kind {
                AttrKind::String {
                    min_length,
                    max_length,
                } => {
                    parts.push(format!("\"max_length\": {max_length}"));
                    parts.push(format!("\"min_length\": {min_length}"));
                }
                AttrKind::Number { min, max } => {
                    parts.push(format!("\"min\": {}", num_or_null(*min)));
                    parts.push(format!("\"max\": {}", num_or_null(*max)));
                }
                _ => {}
            }
            attrs.push(format!("{}: {{{}}}", json!(n), parts.join(", ")));
        }
        format!(
            "{{\"name\": {}, \"attributes\": {{{}}}, \"state\": {}}}",
            json!(self.name),
            attrs.join(", "),
            json!(self.state)
        )
    }

    /// Gnocchi's JSON for the type.
    pub fn to_json(&self) -> Value {
        let attrs: Map<String, Value> = self
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), a.to_json()))
            .collect();
        json!({"name": self.name, "attributes": attrs, "state": self.state})
    }

    /// Parses a `POST /v1/resource_type` body; `order` is the attribute
    /// names in the order the request gave them ([`attribute_order`]).
    pub fn from_request_ordered(
        body: &Value,
        order: Vec<String>,
    ) -> Result<ResourceType, SchemaError> {
        let mut t = Self::from_request(body)?;
        t.order = order;
        Ok(t)
    }

    /// Parses a `POST /v1/resource_type` body.
    pub fn from_request(body: &Value) -> Result<ResourceType, SchemaError> {
        let obj = body
            .as_object()
            .ok_or_else(|| SchemaError::plain("Invalid input: expected a dictionary"))?;
        let name = obj.get("name").and_then(Value::as_str).ok_or_else(|| {
            SchemaError::invalid("required key not provided @ data['name']", "name")
        })?;
        for k in obj.keys() {
            if k != "name" && k != "attributes" {
                return Err(SchemaError::invalid(
                    format!("extra keys not allowed @ data['{k}']"),
                    k,
                ));
            }
        }
        let mut attributes = BTreeMap::new();
        if let Some(a) = obj.get("attributes") {
            let a = a.as_object().ok_or_else(|| {
                SchemaError::plain("Invalid input: expected a dictionary for dictionary value @ data['attributes']")
            })?;
            for (k, def) in a {
                let (attr, _) = parse_attribute(k, def, false)?;
                attributes.insert(k.clone(), attr);
            }
        }
        let order = attributes.keys().cloned().collect();
        Ok(ResourceType {
            name: name.to_string(),
            attributes,
            order,
            state: "active".into(),
        })
    }

    /// Applies a JSON patch (`add`/`remove` of `/attributes/<name>`), as
    /// `PATCH /v1/resource_type/<name>` does. Returns the attributes added
    /// with their `fill` value for existing resources.
    pub fn apply_patch(&mut self, patch: &Value) -> Result<Vec<(String, Value)>, SchemaError> {
        let ops = patch
            .as_array()
            .ok_or_else(|| SchemaError::plain("Invalid input: expected a list"))?;
        let mut next = self.attributes.clone();
        let mut added = Vec::new();
        for op in ops {
            let o = op.as_object().ok_or_else(|| {
                SchemaError::plain("Invalid input: expected a dictionary @ data[0]")
            })?;
            let path = o.get("path").and_then(Value::as_str).unwrap_or_default();
            let Some(attr) = path.strip_prefix("/attributes/") else {
                return Err(SchemaError::plain(
                    "Invalid input: Only attributes can be modified for dictionary value @ data[0]['path']",
                ));
            };
            match o.get("op").and_then(Value::as_str) {
                Some("add") => {
                    let value = o.get("value").cloned().unwrap_or(Value::Null);
                    let (a, fill) = parse_attribute(attr, &value, true)?;
                    if let Some(old) = next.get(attr)
                        && std::mem::discriminant(&old.kind) != std::mem::discriminant(&a.kind)
                    {
                        return Err(SchemaError::plain(format!(
                            "Type update is not available yet. Changing {} to {} for attribute {attr} of resource {}",
                            kind_name(&old.kind),
                            kind_name(&a.kind),
                            self.name
                        )));
                    }
                    if !next.contains_key(attr) {
                        added.push((attr.to_string(), fill.unwrap_or(Value::Null)));
                        self.order.retain(|n| n != attr);
                        self.order.push(attr.to_string());
                    }
                    next.insert(attr.to_string(), a);
                }
                Some("remove") => {
                    self.order.retain(|n| n != attr);
                    if next.remove(attr).is_none() {
                        return Err(SchemaError::plain(format!(
                            "can't remove non-existent object '{attr}'"
                        )));
                    }
                }
                _ => {
                    return Err(SchemaError::plain(
                        "Invalid input: not a valid value for dictionary value @ data[0]['op']",
                    ));
                }
            }
        }
        self.attributes = next;
        Ok(added)
    }

    /// Validates the type-specific attributes of a resource body: unknown
    /// keys are refused, required ones must be there (on create), values
    /// are normalized. `common` are the keys the caller handles itself.
    pub fn validate_attributes(
        &self,
        body: &Map<String, Value>,
        common: &[&str],
        creating: bool,
        now_us: i64,
    ) -> Result<Map<String, Value>, SchemaError> {
        let mut out = Map::new();
        for (k, v) in body {
            if common.contains(&k.as_str()) {
                continue;
            }
            let a = self.attributes.get(k).ok_or_else(|| {
                SchemaError::plain(format!(
                    "Invalid input: extra keys not allowed @ data['{k}']"
                ))
            })?;
            out.insert(k.clone(), a.validate(k, v, now_us)?);
        }
        if creating {
            for (k, a) in &self.attributes {
                if a.required && !body.contains_key(k) {
                    return Err(SchemaError::invalid(
                        format!("required key not provided @ data['{k}']"),
                        k,
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The keys of `attributes` in a `POST /v1/resource_type` body, in the
/// order the client sent them (a parsed JSON value has lost it).
pub fn attribute_order(raw: &[u8]) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Keys, A::Error> {
                    let mut out = Vec::new();
                    while let Some(k) = m.next_key::<String>()? {
                        m.next_value::<serde::de::IgnoredAny>()?;
                        out.push(k);
                    }
                    Ok(Keys(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    #[derive(Deserialize)]
    struct Body {
        attributes: Option<Keys>,
    }
    serde_json::from_slice::<Body>(raw)
        .ok()
        .and_then(|b| b.attributes)
        .map(|k| k.0)
        .unwrap_or_default()
}

fn kind_name(k: &AttrKind) -> &'static str {
    match k {
        AttrKind::String { .. } => "string",
        AttrKind::Uuid => "uuid",
        AttrKind::Datetime => "datetime",
        AttrKind::Number { .. } => "number",
        AttrKind::Bool => "bool",
    }
}

/// Parses one attribute definition; with `for_update`, also its
/// `options.fill`.
fn parse_attribute(
    name: &str,
    def: &Value,
    for_update: bool,
) -> Result<(Attribute, Option<Value>), SchemaError> {
    let valid_name = name.len() <= 63
        && !INVALID_NAMES.contains(&name)
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(SchemaError::plain(format!(
            "Invalid input: Resource attribute name {name} is invalid"
        )));
    }
    let d = def.as_object().ok_or_else(|| {
        SchemaError::plain(format!(
            "Invalid input: expected a dictionary for dictionary value @ data['attributes']['{name}']"
        ))
    })?;
    let required = match d.get("required") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(SchemaError::plain(format!(
                "Invalid input: expected bool for dictionary value @ data['attributes']['{name}']['required']"
            )));
        }
    };
    let int = |k: &str, default: u64, min: u64, max: u64| -> Result<u64, SchemaError> {
        match d.get(k) {
            None => Ok(default),
            Some(v) => v.as_u64().filter(|n| (min..=max).contains(n)).ok_or_else(|| {
                SchemaError::plain(format!(
                    "Invalid input: value must be at most {max} for dictionary value @ data['attributes']['{name}']['{k}']"
                ))
            }),
        }
    };
    let real = |k: &str| -> Result<Option<f64>, SchemaError> {
        match d.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(SchemaError::plain(format!(
                "Invalid input: expected Real for dictionary value @ data['attributes']['{name}']['{k}']"
            ))),
        }
    };
    let kind = match d.get("type").and_then(Value::as_str) {
        Some("string") => {
            let min_length = int("min_length", 0, 0, 256)?;
            let max_length = int("max_length", 256, 1, 256)?;
            if min_length > max_length {
                return Err(SchemaError::plain(format!(
                    "Invalid input: Resource attribute value min (or min_length) {min_length} must be less  than or equal to max (or max_length) {max_length}!"
                )));
            }
            AttrKind::String {
                min_length,
                max_length,
            }
        }
        Some("uuid") => AttrKind::Uuid,
        Some("datetime") => AttrKind::Datetime,
        Some("number") => {
            let (min, max) = (real("min")?, real("max")?);
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                return Err(SchemaError::plain(format!(
                    "Invalid input: Resource attribute value min (or min_length) {a} must be less  than or equal to max (or max_length) {b}!"
                )));
            }
            AttrKind::Number { min, max }
        }
        Some("bool") => AttrKind::Bool,
        _ => {
            return Err(SchemaError::plain(format!(
                "Invalid input: not a valid value for dictionary value @ data['attributes']['{name}']['type']"
            )));
        }
    };
    let attr = Attribute { kind, required };
    let mut fill = None;
    if for_update {
        let f = d
            .get("options")
            .and_then(|o| o.get("fill"))
            .filter(|f| !f.is_null());
        match f {
            None if required => {
                return Err(SchemaError::plain(format!(
                    "Invalid input: Option 'fill' of resource attribute {name} is invalid: must not be empty if required=True"
                )));
            }
            None => {}
            Some(f) => {
                let v = attr.validate(name, f, 0).map_err(|e| {
                    SchemaError::plain(format!(
                        "Invalid input: Option 'fill' of resource attribute {name} is invalid: {}",
                        e.to_string().trim_start_matches("Invalid input: ")
                    ))
                })?;
                fill = Some(v);
            }
        }
    }
    Ok((attr, fill))
}

fn s255(required: bool) -> Attribute {
    Attribute {
        kind: AttrKind::String {
            min_length: 0,
            max_length: 255,
        },
        required,
    }
}

fn typ(name: &str, attrs: &[(&str, Attribute)]) -> ResourceType {
    ResourceType {
        name: name.into(),
        attributes: attrs
            .iter()
            .map(|(k, a)| ((*k).to_string(), a.clone()))
            .collect(),
        order: attrs.iter().map(|(k, _)| (*k).to_string()).collect(),
        state: "active".into(),
    }
}

/// `generic` plus the types `ceilometer-upgrade` installs (after all its
/// update operations), so Ceilometer, Aodh and CloudKitty find them.
pub fn builtin_types() -> Vec<ResourceType> {
    let uuid_req = Attribute {
        kind: AttrKind::Uuid,
        required: true,
    };
    let dt = Attribute {
        kind: AttrKind::Datetime,
        required: false,
    };
    vec![
        typ("generic", &[]),
        typ(
            "instance",
            &[
                ("flavor_id", s255(true)),
                ("image_ref", s255(false)),
                ("host", s255(false)),
                ("display_name", s255(true)),
                ("server_group", s255(false)),
                ("flavor_name", s255(true)),
                ("launched_at", dt.clone()),
                ("created_at", dt.clone()),
                ("deleted_at", dt.clone()),
                ("availability_zone", s255(false)),
            ],
        ),
        typ(
            "instance_disk",
            &[("name", s255(true)), ("instance_id", uuid_req.clone())],
        ),
        typ(
            "instance_network_interface",
            &[("name", s255(true)), ("instance_id", uuid_req.clone())],
        ),
        typ(
            "volume",
            &[
                ("display_name", s255(false)),
                ("volume_type", s255(false)),
                ("volume_type_id", s255(false)),
                ("image_id", s255(false)),
                ("instance_id", s255(false)),
            ],
        ),
        typ(
            "image",
            &[
                ("name", s255(true)),
                ("container_format", s255(false)),
                ("disk_format", s255(false)),
            ],
        ),
        typ("host", &[("host_name", s255(true))]),
        typ(
            "host_network_interface",
            &[("host_name", s255(true)), ("device_name", s255(false))],
        ),
        typ(
            "host_disk",
            &[("host_name", s255(true)), ("device_name", s255(false))],
        ),
        typ("nova_compute", &[("host_name", s255(true))]),
        typ("ipmi", &[]),
        typ("ipmi_sensor", &[("node", s255(true))]),
        typ("network", &[]),
        typ("identity", &[]),
        typ("stack", &[]),
        typ("swift_account", &[("storage_policy", s255(false))]),
        typ("ceph_account", &[]),
        typ(
            "manila_share",
            &[
                ("name", s255(false)),
                ("host", s255(true)),
                ("protocol", s255(false)),
                ("availability_zone", s255(false)),
                ("status", s255(true)),
            ],
        ),
        typ("volume_provider", &[]),
        typ("volume_provider_pool", &[("provider", s255(true))]),
        typ(
            "volume_service",
            &[
                ("host", s255(false)),
                ("binary", s255(false)),
                ("zone", s255(false)),
                ("status", s255(false)),
            ],
        ),
        typ(
            "loadbalancer",
            &[
                ("name", s255(false)),
                ("availability_zone", s255(false)),
                ("vip_address", s255(false)),
                ("provider", s255(false)),
            ],
        ),
        typ(
            "dns_zone",
            &[
                ("zone_name", s255(false)),
                ("email", s255(false)),
                ("zone_type", s255(false)),
                ("pool_id", s255(false)),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_and_render() {
        let t = ResourceType::from_request(&json!({
            "name": "my_custom_type",
            "attributes": {
                "display_name": {"type": "string", "required": true},
                "prefix": {"type": "string", "required": false, "max_length": 8, "min_length": 3},
                "size": {"type": "number", "min": 5, "max": 32.8},
                "enabled": {"type": "bool", "required": false},
            }
        }))
        .unwrap();
        let j = t.to_json();
        assert_eq!(
            j["attributes"]["prefix"],
            json!({"type": "string", "required": false, "min_length": 3, "max_length": 8})
        );
        assert_eq!(
            j["attributes"]["size"],
            json!({"type": "number", "required": true, "min": 5, "max": 32.8})
        );
        assert_eq!(j["state"], "active");
        let raw =
            br#"{"name": "t", "attributes": {"z": {"type": "bool"}, "a": {"type": "string"}}}"#;
        let body: Value = serde_json::from_slice(raw).unwrap();
        let t = ResourceType::from_request_ordered(&body, attribute_order(raw)).unwrap();
        assert_eq!(t.names(), vec!["z", "a"]);
        assert_eq!(
            t.to_json_text(),
            r#"{"name": "t", "attributes": {"z": {"type": "bool", "required": true}, "a": {"type": "string", "required": true, "max_length": 256, "min_length": 0}}, "state": "active"}"#
        );
    }

    #[test]
    fn invalid_names_and_bounds() {
        for body in [
            json!({"name": "t", "attributes": {"id": {"type": "string"}}}),
            json!({"name": "t", "attributes": {"_x": {"type": "string"}}}),
            json!({"name": "t", "attributes": {"x": {"type": "nope"}}}),
            json!({"name": "t", "attributes": {"x": {"type": "string", "min_length": 9, "max_length": 3}}}),
        ] {
            assert!(ResourceType::from_request(&body).is_err(), "{body}");
        }
    }

    #[test]
    fn patch_add_requires_fill_and_remove_must_exist() {
        let mut t = typ("t", &[("a", s255(false))]);
        let e = t
            .apply_patch(&json!([{"op": "add", "path": "/attributes/b", "value": {"type": "bool", "required": true}}]))
            .unwrap_err();
        assert!(
            e.to_string().contains("must not be empty if required=True"),
            "{e}"
        );
        let added = t
            .apply_patch(&json!([
                {"op": "add", "path": "/attributes/b", "value": {"type": "bool", "required": true, "options": {"fill": true}}},
                {"op": "remove", "path": "/attributes/a"}
            ]))
            .unwrap();
        assert_eq!(added, vec![("b".to_string(), json!(true))]);
        assert!(t.attributes.contains_key("b") && !t.attributes.contains_key("a"));
        assert!(
            t.apply_patch(&json!([{"op": "remove", "path": "/attributes/zz"}]))
                .is_err()
        );
    }

    #[test]
    fn attribute_validation() {
        let inst = builtin_types()
            .into_iter()
            .find(|t| t.name == "instance")
            .unwrap();
        let body =
            json!({"flavor_id": "2", "display_name": "vm", "flavor_name": "m1", "host": "h"});
        let ok = inst
            .validate_attributes(body.as_object().unwrap(), &[], true, 0)
            .unwrap();
        assert_eq!(ok["host"], "h");
        let missing = json!({"flavor_id": "2"});
        assert!(
            inst.validate_attributes(missing.as_object().unwrap(), &[], true, 0)
                .is_err()
        );
        assert!(
            inst.validate_attributes(missing.as_object().unwrap(), &[], false, 0)
                .is_ok()
        );
        let extra = json!({"nope": 1});
        assert!(
            inst.validate_attributes(extra.as_object().unwrap(), &[], false, 0)
                .is_err()
        );
        let num = Attribute {
            kind: AttrKind::Number {
                min: Some(1.0),
                max: Some(2.0),
            },
            required: false,
        };
        assert!(num.validate("n", &json!(3), 0).is_err());
        assert!(num.validate("n", &json!("1"), 0).is_err());
        assert_eq!(num.validate("n", &json!(1.5), 0).unwrap(), json!(1.5));
    }
}
