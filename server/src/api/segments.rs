use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use segment_contract::error::AppError;
use segment_contract::ids::SegmentId;
use segment_contract::segments::{
    CreateSegmentRequest, Created, Estimate, EstimateRequest, Insights, InsightsRequest, ListQuery,
    MemberAnswer, Overlap, OverlapRequest, SegmentDetail, SegmentPage,
};
use segment_service::segments;
use segment_service::state::AppState;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

/// Size a rule with the engine. Merchant and store principals count only their audience.
#[utoipa::path(post, operation_id = "estimate_segment", path = "/api/v1/segments/estimate", tag = "segments", security(("bearer" = [])),
    request_body = EstimateRequest,
    responses((status = 200, body = Estimate), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The rule has problems; `problems` lists each with its path"),
              (status = 429, body = ErrorBody, description = "Too many of the caller's evaluations are already waiting"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading (`unavailable`), or the engine did not finish within ESTIMATE_DEADLINE_MS (`timeout`)")))]
pub async fn estimate(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EstimateRequest>,
) -> Result<Json<Estimate>, ApiError> {
    Ok(Json(segments::estimate(&state, &principal, &request).await?))
}

/// Create a segment: validated, stored as `generating`, materialized by the workers.
/// Merchant and store principals' segments are restricted to their audience.
#[utoipa::path(post, operation_id = "create_segment", path = "/api/v1/segments", tag = "segments", security(("bearer" = [])),
    request_body = CreateSegmentRequest,
    responses((status = 202, body = Created),
              (status = 400, body = ErrorBody, description = "Field problems; `fields` lists each"),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The rule has problems; `problems` lists each with its path"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading")))]
pub async fn create(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateSegmentRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let created = segments::create(&state, &principal, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// The caller's segments (every segment for platform principals).
#[utoipa::path(get, operation_id = "list_segments", path = "/api/v1/segments", tag = "segments", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = SegmentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    Auth(principal): Auth,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SegmentPage>, ApiError> {
    let Query(query) = query.map_err(|rejection| AppError::Validation {
        field: None,
        message: format!("Invalid query: {}", rejection.body_text()),
    })?;
    Ok(Json(segments::list(&state.db, &principal, &query).await?))
}

/// One segment. Another scope's segment answers 404.
#[utoipa::path(get, operation_id = "get_segment", path = "/api/v1/segments/{id}", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = SegmentDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
) -> Result<Json<SegmentDetail>, ApiError> {
    Ok(Json(segments::detail(&state.db, &principal, id).await?))
}

/// Whether an entity is in the segment's current snapshot. Refused with 409
/// `stale` (time-sensitive, newer data ready), `expired` or `not_ready`.
#[utoipa::path(get, operation_id = "get_member", path = "/api/v1/segments/{id}/members/{entity_id}", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path), ("entity_id" = String, Path)),
    responses((status = 200, body = MemberAnswer), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`stale`, `expired` or `not_ready`")))]
pub async fn member(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path((id, entity_id)): Path<(SegmentId, String)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    Ok(Json(
        segments::check_member(&state, &principal, id, &entity_id).await?,
    ))
}

/// The exact overlap of two or three Active segments of one target object:
/// every region's size (in exactly the segments of its mask), from their
/// current snapshots. Refused with 409 like lookups when one cannot serve.
#[utoipa::path(post, operation_id = "overlap_segments", path = "/api/v1/segments/overlap", tag = "segments", security(("bearer" = [])),
    request_body = OverlapRequest,
    responses((status = 200, body = Overlap),
              (status = 400, body = ErrorBody, description = "Not two or three different segments, or of different target objects"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "A segment is `stale`, `expired` or `not_ready`")))]
pub async fn overlap(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<OverlapRequest>,
) -> Result<Json<Overlap>, ApiError> {
    Ok(Json(
        segments::insights::overlap(&state, &principal, &request).await?,
    ))
}

/// How an Active segment spreads over tag values beside the population
/// (merchants and stores: their audience), with the share of each value in
/// both. Without `tags`, the most distinctive few.
#[utoipa::path(post, operation_id = "segment_insights", path = "/api/v1/segments/{id}/insights", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = InsightsRequest,
    responses((status = 200, body = Insights),
              (status = 400, body = ErrorBody, description = "An unknown tag, or too many"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`stale`, `expired` or `not_ready`"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading")))]
pub async fn insights(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
    ApiJson(request): ApiJson<InsightsRequest>,
) -> Result<Json<Insights>, ApiError> {
    Ok(Json(
        segments::insights::insights(&state, &principal, id, &request).await?,
    ))
}
