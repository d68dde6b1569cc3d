//! Uploaded ID lists: what was read, matched and rejected.

use segment_core::TargetObject;
use serde::{Deserialize, Serialize};

use crate::ids::UploadId;

/// A line of an uploaded list that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedLine {
    pub line: u64,
    /// The ID, for IDs unknown to the population.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    pub reason: String,
}

/// Shown before anything is created from an uploaded list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadReport {
    /// Data lines read (the header excluded).
    pub rows: u64,
    /// Well-formed, first occurrences.
    pub valid: u64,
    pub duplicates: u64,
    pub invalid_count: u64,
    /// The first invalid lines (at most 1,000), with their reasons.
    pub invalid: Vec<RejectedLine>,
    /// Valid IDs not in the target object's population (for a merchant or
    /// store: not in its audience, which reads the same).
    pub unknown: u64,
    /// The first unknown IDs (at most 1,000).
    pub unknown_sample: Vec<RejectedLine>,
    /// Members the segment will have.
    pub matched: u64,
}

pub const REPORT_SAMPLE: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadAnswer {
    /// Give it as `definition.upload_id` to create a `custom_list` segment.
    pub upload_id: UploadId,
    pub target_object: TargetObject,
    pub report: UploadReport,
}
