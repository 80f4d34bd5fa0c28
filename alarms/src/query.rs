//! Aodh's two query languages, evaluated in memory over JSON documents.
//!
//! Documents are alarms or alarm-history entries rendered in Aodh's JSON
//! shape (`alarm_id`, `state`, `timestamp`, ...). Aodh hands both query forms
//! to SQL; here they are evaluated directly, keeping SQL's three-valued logic:
//! a comparison against a missing or `null` field is *unknown*, so neither it
//! nor its negation selects the document.
//!
//! * The **simple query** of `GET /v2/alarms?q.field=…&q.op=…&q.value=…&q.type=…`
//!   (aodh/api/controllers/v2/base.py `Query`): [`parse_simple`] groups the
//!   repeated parameters into [`SimpleTerm`]s, [`convert_value`] types a value.
//!   Which fields and operators are allowed is the caller's business.
//! * The **complex query** of `POST /v2/query/alarms` and
//!   `POST /v2/query/alarms/history` (query.py `ValidatedComplexQuery`):
//!   [`parse_filter`], [`parse_orderby`], [`check_limit`], then [`matches`]
//!   and [`sort`]. Non-admin scoping is [`restrict`] / [`and_project`] plus
//!   [`check_visibility`].
//!
//! Error texts are Aodh's `faultstring`s. Aodh's complex-query schema errors
//! are `jsonschema` messages followed by a multi-line dump of the schema; only
//! the first line is reproduced, chosen with jsonschema's own "best match"
//! heuristic.

mod complex;
mod pyfmt;
mod schema;
mod simple;

pub use complex::*;
pub(crate) use pyfmt::*;
pub(crate) use schema::*;
pub use simple::*;

/// A query the API must refuse; the text is Aodh's `faultstring`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Malformed or invalid query: HTTP 400.
    #[error("{0}")]
    Invalid(String),
    /// A non-admin caller named another project: HTTP 401
    /// (base.py `ProjectNotAuthorized`).
    #[error("{0}")]
    NotAuthorized(String),
}

impl QueryError {
    /// The HTTP status Aodh answers with.
    pub fn status(&self) -> u16 {
        match self {
            QueryError::Invalid(_) => 400,
            QueryError::NotAuthorized(_) => 401,
        }
    }

    /// The `faultstring` of the error body.
    pub fn faultstring(&self) -> &str {
        match self {
            QueryError::Invalid(s) | QueryError::NotAuthorized(s) => s,
        }
    }
}

/// Field names of an alarm as Aodh's storage model declares them
/// (storage/models.py `Alarm.__init__`): the complex-query fields of
/// `POST /v2/query/alarms`.
pub const ALARM_FIELDS: &[&str] = &[
    "alarm_id",
    "type",
    "enabled",
    "name",
    "description",
    "timestamp",
    "user_id",
    "project_id",
    "state",
    "state_timestamp",
    "state_reason",
    "ok_actions",
    "alarm_actions",
    "insufficient_data_actions",
    "repeat_actions",
    "rule",
    "time_constraints",
    "severity",
    "evaluate_timestamp",
];

/// Field names of an alarm history entry (storage/models.py `AlarmChange`):
/// the complex-query fields of `POST /v2/query/alarms/history`.
pub const ALARM_CHANGE_FIELDS: &[&str] = &[
    "event_id",
    "alarm_id",
    "type",
    "detail",
    "user_id",
    "project_id",
    "on_behalf_of",
    "severity",
    "timestamp",
];

/// Fields whose complex-query values Aodh parses as date-times
/// (query.py `ValidatedComplexQuery.timestamp_fields`).
pub const TIMESTAMP_FIELDS: &[&str] = &["timestamp", "state_timestamp"];

/// Field aliases every complex query accepts (query.py `name_mapping`).
pub const FIELD_ALIASES: &[(&str, &str)] = &[("user", "user_id"), ("project", "project_id")];

/// Types a simple-query value may declare (base.py `Query._supported_types`).
pub const SUPPORTED_TYPES: &[&str] = &["integer", "float", "string", "boolean", "datetime"];

#[cfg(test)]
mod tests;
