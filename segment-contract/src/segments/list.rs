//! The segment list: rows, status, filters, sorting and paging.

use segment_core::TargetObject;
use serde::{Deserialize, Serialize};

use super::basic::local_time;
use super::kinds::{CreationMethod, RunPhase, SegmentStatus, UpdateFrequency};
use crate::ids::{GroupId, SegmentId};

/// A row of the segment list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentRow {
    pub id: SegmentId,
    pub name: String,
    pub method: CreationMethod,
    pub target_object: TargetObject,
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    /// `platform`, `merchant:ID` or `store:ID,…`
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub owner_scope: crate::auth::Scope,
    pub status: SegmentStatus,
    /// While generating: what its run is doing.
    pub phase: Option<RunPhase>,
    pub size: Option<i64>,
    /// The data date of the current snapshot.
    pub data_date: Option<String>,
    pub update_frequency: UpdateFrequency,
    pub daily_run_time: Option<String>,
    pub time_zone: String,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// The last failure's reason.
    pub error: Option<String>,
}

impl SegmentRow {
    /// Expires At as wall-clock time in the segment's own zone.
    pub fn expires_local(&self) -> String {
        local_time(self.expires_at, &self.time_zone)
    }
}

/// Columns the list sorts by on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Id,
    Name,
    Size,
    ExpiresAt,
    #[default]
    UpdatedAt,
}

impl SortKey {
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Id, Self::Name, Self::Size, Self::ExpiresAt, Self::UpdatedAt]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Name => "name",
            Self::Size => "size",
            Self::ExpiresAt => "expires_at",
            Self::UpdatedAt => "updated_at",
        }
    }
}

/// Filters, sorting and paging of the segment list (`GET /api/v1/segments`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Part of the name, or an exact ID.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub group_id: Option<GroupId>,
    #[serde(default)]
    pub status: Option<SegmentStatus>,
    /// `tag_filter`, `segment_set`, …
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub target_object: Option<TargetObject>,
    /// Default `updated_at`.
    #[serde(default)]
    pub sort: Option<SortKey>,
    /// Ascending when true; newest/largest first by default.
    #[serde(default)]
    pub asc: Option<bool>,
    /// 1-based (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// 1–200 (default 20).
    #[serde(default)]
    pub page_size: Option<u32>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentPage {
    pub rows: Vec<SegmentRow>,
    /// Matching segments on every page.
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}
