//! Pictures of segments: how two or three overlap, and how one spreads
//! over tag values beside its base.

use segment_core::TargetObject;
pub use segment_core::insights::{BucketCount, Distribution, MAX_OVERLAP, Region};
use serde::{Deserialize, Serialize};

use crate::ids::{RunId, SegmentId};

/// Segments to overlap: two or three Active segments of one target object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverlapRequest {
    pub segment_ids: Vec<SegmentId>,
}

/// One segment of an overlap, as of its current snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverlapSegment {
    pub id: SegmentId,
    pub name: String,
    pub run_id: RunId,
    pub size: u64,
    pub data_date: Option<String>,
}

/// The exact overlap of the segments' current snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overlap {
    pub target_object: TargetObject,
    /// In the order asked; bit `i` of a region's mask is `segments[i]`.
    pub segments: Vec<OverlapSegment>,
    /// Every region, empty ones included, by ascending mask.
    pub regions: Vec<Region>,
    pub engine_micros: u64,
}

/// Which tags to describe; none asks for the most distinctive few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsightsRequest {
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Tags described when none are asked for.
pub const DEFAULT_INSIGHTS: usize = 4;
/// The most tags one request describes.
pub const MAX_INSIGHTS: usize = 12;

/// What a segment is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InsightBase {
    /// Every entity of the target object.
    Population,
    /// The merchant's or store's audience.
    Audience,
}

/// A tag that can be described, for the picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsightTag {
    pub code: String,
    pub name: String,
}

/// A segment's members spread over tag values, beside its base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Insights {
    pub run_id: RunId,
    pub target_object: TargetObject,
    pub base: InsightBase,
    pub segment_size: u64,
    pub base_size: u64,
    /// The tags asked for, or the most distinctive ones, in that order.
    pub distributions: Vec<Distribution>,
    /// Every tag of the target object the caller may describe.
    pub tags: Vec<InsightTag>,
    pub engine_micros: u64,
}
