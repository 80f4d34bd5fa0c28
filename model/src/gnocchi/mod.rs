//! The Gnocchi vocabulary, free of I/O: archive policies and aggregation
//! methods ([`policy`]), Gnocchi's time and timespan formats ([`timefmt`]),
//! Gnocchi's bucketing and aggregation arithmetic ([`carbonara`]), the
//! resource search filter language ([`filter`]), the `/v1/aggregates`
//! operations language ([`ops`]) and resource types with their attribute
//! schemas ([`resource_type`]).
//!
//! Times are Unix milliseconds (`i64`) like everywhere in Altimeter;
//! granularities and timespans are milliseconds too.

pub mod carbonara;
pub mod filter;
pub mod ops;
pub mod policy;
pub mod resource_type;
pub mod timefmt;
