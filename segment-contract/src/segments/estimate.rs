//! Sizing a rule before it is saved: the editor's live estimate.

use chrono::NaiveDate;
use segment_core::TargetObject;
use segment_core::rule::Rule;
use serde::{Deserialize, Serialize};

/// What the editor (and `POST /api/v1/segments/estimate`) asks to size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRequest {
    pub target_object: TargetObject,
    /// The rule; see the `Rule` schema for its vocabulary.
    pub rule: Rule,
    /// IANA zone dynamic windows and datetimes are read in (default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// T, the evaluation date (`YYYY-MM-DD`); today in the time zone by default.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The engine's answer: how many entities match, and the equivalent SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    /// Matching entities within the caller's audience.
    pub size: u64,
    /// The SQL of the database in use, with literals inlined, for review.
    pub sql: String,
    /// The plan both the engine and the SQL run, as an indented tree (an
    /// EXPLAIN), with the rewrite passes that changed it.
    pub plan: String,
    /// The newest data the rule reads.
    pub data_date: Option<NaiveDate>,
    /// T, the evaluation date used.
    pub as_of: NaiveDate,
    pub time_zone: String,
    /// Time the engine took, in microseconds.
    pub engine_micros: u64,
}
