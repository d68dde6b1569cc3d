//! Server functions of segment creation and management.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::context::{console, principal, respond};

/// The size and SQL of a rule, evaluated by the engine within the caller's audience.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn estimate_segment(request: EstimateRequest) -> Result<Estimate, AppError> {
    respond(async { console()?.estimate(&principal()?, &request).await }.await)
}

/// Creates a segment (and its combined segment) as Generating.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn create_segment(request: CreateSegmentRequest) -> Result<Created, AppError> {
    respond(async { console()?.create_segment(&principal()?, &request).await }.await)
}

/// How many entities of `target_object` a lookalike of the caller may reach
/// (the population, or the caller's audience): the bound of Target Size.
#[server(input = Json)]
pub async fn lookalike_universe(target_object: segment_core::TargetObject) -> Result<u64, AppError> {
    respond(async { console()?.lookalike_universe(&principal()?, target_object).await }.await)
}

/// One page of the caller's segments.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn list_segments(query: ListQuery) -> Result<SegmentPage, AppError> {
    respond(async { console()?.list_segments(&principal()?, &query).await }.await)
}

// Rules are nested, tagged JSON: sent as JSON, not as a form.
/// The exact overlap of two or three Active segments.
#[server(input = Json)]
pub async fn overlap_segments(request: OverlapRequest) -> Result<Overlap, AppError> {
    respond(async { console()?.overlap(&principal()?, &request).await }.await)
}

/// How an Active segment spreads over tag values beside its base.
#[server(input = Json)]
pub async fn segment_insights(id: SegmentId, tags: Vec<String>) -> Result<Insights, AppError> {
    respond(
        async {
            console()?
                .insights(&principal()?, id, &InsightsRequest { tags })
                .await
        }
        .await,
    )
}

#[server(input = Json)]
pub async fn get_segment(id: SegmentId) -> Result<SegmentDetail, AppError> {
    respond(async { console()?.segment(&principal()?, id).await }.await)
}

/// What uses a segment: bound delivery tasks and dependent segments.
#[server(input = Json)]
pub async fn segment_used_by(id: SegmentId) -> Result<UsedBy, AppError> {
    respond(async { console()?.segment_used_by(&principal()?, id).await }.await)
}

/// Starts an export of the segment's current snapshot.
#[server(input = Json)]
pub async fn export_segment(id: SegmentId) -> Result<ExportView, AppError> {
    respond(async { console()?.export_segment(&principal()?, id).await }.await)
}

#[server(input = Json)]
pub async fn list_exports() -> Result<Vec<ExportView>, AppError> {
    respond(async { console()?.list_exports(&principal()?).await }.await)
}

/// Moves Expires At (read in the segment's time zone).
#[server(input = Json)]
pub async fn extend_segment(id: SegmentId, expires_at: String) -> Result<SegmentRow, AppError> {
    respond(async { console()?.extend_segment(&principal()?, id, &expires_at).await }.await)
}

#[server(input = Json)]
pub async fn delete_segment(id: SegmentId) -> Result<(), AppError> {
    respond(async { console()?.delete_segment(&principal()?, id).await }.await)
}

#[server(input = Json)]
pub async fn deleted_segments() -> Result<Vec<DeletedSegment>, AppError> {
    respond(async { console()?.deleted_segments(&principal()?).await }.await)
}

/// Included, excluded or unknown for each ID, with the rule explained.
#[server(input = Json)]
pub async fn verify_segment(id: SegmentId, ids: Vec<String>) -> Result<VerifyAnswer, AppError> {
    respond(async { console()?.verify_segment(&principal()?, id, &ids).await }.await)
}
