//! Membership lookups and verification of individual IDs.

use serde::{Deserialize, Serialize};

use crate::ids::SegmentId;

/// `GET /api/v1/segments/{id}/members/{entity_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberAnswer {
    pub member: bool,
    /// Whether the ID belongs to the target object's population at all (for
    /// a merchant or store principal: to its audience; an ID outside it reads
    /// exactly like one that does not exist).
    pub known: bool,
    /// The data date of the snapshot answered from.
    pub data_date: Option<String>,
}

/// `POST /api/v1/segments/{id}/members/check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRequest {
    /// Up to 10,000 IDs of the segment's target object.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckAnswer {
    pub members: Vec<String>,
    pub non_members: Vec<String>,
    /// Not in the target object's population (for a merchant or store
    /// principal: not in its audience).
    pub unknown: Vec<String>,
    pub data_date: Option<String>,
}

/// `POST /api/v1/segments/{id}/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRequest {
    /// Up to 1,000 IDs.
    pub ids: Vec<String>,
}

pub const MAX_CHECK_IDS: usize = 10_000;
pub const MAX_VERIFY_IDS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Included,
    Excluded,
    Unknown,
}

/// One condition of a tag-filter rule, explained for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionCheck {
    /// The condition as a sentence.
    pub condition: String,
    /// The entity's value(s) the condition reads, as shown to the user.
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCheck {
    pub matched: bool,
    pub conditions: Vec<ConditionCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRow {
    pub entity_id: String,
    pub verdict: Verdict,
    /// For tag-filter segments: each rule group and condition, evaluated for this entity.
    pub groups: Vec<GroupCheck>,
    /// Outside the owner's audience: excluded whatever the rule says.
    #[serde(default)]
    pub outside_audience: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyAnswer {
    pub segment_id: SegmentId,
    pub data_date: Option<String>,
    /// T of the snapshot's run, the date the explanation is evaluated at.
    pub as_of: Option<String>,
    pub rows: Vec<VerifyRow>,
}
