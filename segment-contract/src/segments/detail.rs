//! One segment: its definition, runs, bindings, exports and uses.

use serde::{Deserialize, Serialize};

use super::definition::Definition;
use super::kinds::{CreationMethod, ExportStatus, RunPhase, RunStatus, UsageScenario};
use super::list::SegmentRow;
use crate::ids::{ExportId, RunId, SegmentId};

/// One materialization run, as the detail view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct RunView {
    pub id: RunId,
    /// `create` or `daily:YYYY-MM-DD`
    pub run_key: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub status: RunStatus,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub phase: RunPhase,
    pub attempts: i64,
    pub size: Option<i64>,
    pub data_date: Option<String>,
    pub as_of: Option<String>,
    pub error: Option<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub evaluate_ms: Option<i64>,
    pub total_ms: Option<i64>,
    /// Members new since the previous snapshot, and members gone.
    pub entered: Option<i64>,
    pub exited: Option<i64>,
    /// What the run read, as JSON: the input runs of a set, the warehouse
    /// read of a table, the model of a lookalike.
    pub inputs: Option<String>,
}

/// A segment with its definition and its last 30 runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentDetail {
    #[serde(flatten)]
    pub row: SegmentRow,
    pub definition: Definition,
    pub usage_scenarios: Vec<UsageScenario>,
    pub time_sensitive: bool,
    pub notification_email: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    /// Newest first, at most the last 30.
    pub runs: Vec<RunView>,
}

/// A delivery task bound to a segment until `ends_at` (Unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct Binding {
    pub segment_id: SegmentId,
    pub task_id: String,
    pub name: String,
    /// Unix ms.
    pub ends_at: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// `POST /api/v1/segments/{id}/bindings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewBinding {
    /// The delivery task's ID in the campaign system (unique per segment).
    pub task_id: String,
    pub name: String,
    /// RFC 3339, or local `YYYY-MM-DD HH:MM[:SS]` in the segment's zone.
    pub ends_at: String,
}

/// What uses a segment, as the asking principal may see it. Uses from other
/// scopes are counted, never named: a delivery task of another scope holds
/// the segment until it ends; a segment of another scope computed from it
/// does not hold it (it keeps its last snapshot and stops updating).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsedBy {
    pub bindings: Vec<Binding>,
    /// (id, name) of segments computed from this one.
    pub dependents: Vec<(SegmentId, String)>,
    /// Running delivery tasks bound from other scopes.
    #[serde(default)]
    pub other_tasks: u32,
    /// When the last of them ends (Unix ms).
    #[serde(default)]
    pub other_tasks_until: Option<i64>,
    /// Segments of other scopes computed from this one.
    #[serde(default)]
    pub other_segments: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ExportView {
    pub id: ExportId,
    pub segment_id: SegmentId,
    pub segment_name: String,
    pub run_id: RunId,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub status: ExportStatus,
    pub rows_total: i64,
    pub rows_done: i64,
    pub bytes: Option<i64>,
    pub error: Option<String>,
    pub requested_by: String,
    pub requested_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct DeletedSegment {
    pub id: SegmentId,
    pub name: String,
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub method: CreationMethod,
    pub target_object: String,
    pub size: Option<i64>,
    pub deleted_by: String,
    pub deleted_at: i64,
}

/// `POST /api/v1/segments/{id}/extend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendRequest {
    /// RFC 3339 or local `YYYY-MM-DD HH:MM` in the segment's zone; in the
    /// future and not before any bound task ends.
    pub expires_at: String,
}
