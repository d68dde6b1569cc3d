//! Managing segments and delivery over HTTP: membership checks, bindings,
//! extend, delete and deleted records, exports and their streamed download,
//! verification.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use segment_contract::segments::{
    Binding, CheckAnswer, CheckRequest, DeletedSegment, ExportView, NewBinding, SegmentRow, VerifyAnswer,
};
use segment_service::segments::{exports, manage};
use segment_service::state::AppState;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckBody {
    /// Up to 10,000 IDs of the segment's target object.
    ids: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CheckAnswerBody {
    members: Vec<String>,
    non_members: Vec<String>,
    /// Not in the target object's population (for a merchant or store principal: not in its audience).
    unknown: Vec<String>,
    data_date: Option<String>,
}

/// Which of up to 10,000 IDs are members. Refused like single lookups (409).
#[utoipa::path(post, operation_id = "check_members", path = "/api/v1/segments/{id}/members/check", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = CheckBody,
    responses((status = 200, body = CheckAnswerBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`stale`, `expired` or `not_ready`")))]
pub async fn check(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckAnswer>, ApiError> {
    Ok(Json(
        manage::check_members(&state, &principal, id, &request).await?,
    ))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BindingBody {
    /// The delivery task's ID in the campaign system (unique per segment).
    task_id: String,
    name: String,
    /// When the task stops using the segment: RFC 3339 or local `YYYY-MM-DD HH:MM` in the
    /// segment's zone; not after the segment's Expires At.
    ends_at: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BindingAnswer {
    segment_id: i64,
    task_id: String,
    name: String,
    /// Unix ms
    ends_at: i64,
    created_by: String,
    created_at: i64,
}

/// Declare that a delivery task uses the segment until `ends_at`.
#[utoipa::path(post, operation_id = "bind_task", path = "/api/v1/segments/{id}/bindings", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = BindingBody,
    responses((status = 201, body = BindingAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already bound, or ends after the segment expires")))]
pub async fn bind(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<NewBinding>,
) -> Result<(StatusCode, Json<Binding>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(manage::bind(&state.db, &principal, id, &request).await?),
    ))
}

/// Release a delivery task's binding.
#[utoipa::path(delete, operation_id = "unbind_task", path = "/api/v1/segments/{id}/bindings/{task_id}", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path), ("task_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unbind(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path((id, task_id)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    manage::unbind(&state.db, &principal, id, &task_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ExtendBody {
    /// RFC 3339 or local `YYYY-MM-DD HH:MM` in the segment's zone; in the future and not
    /// before any bound task ends.
    pub expires_at: String,
}

/// Extend a segment's validity.
#[utoipa::path(post, operation_id = "extend_segment", path = "/api/v1/segments/{id}/extend", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ExtendBody,
    responses((status = 200, body = super::segments::SegmentSummary), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn extend(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> Result<Json<SegmentRow>, ApiError> {
    Ok(Json(
        manage::extend(&state.db, &principal, id, &body.expires_at).await?,
    ))
}

/// Delete a segment; 409 with the reasons while delivery tasks or other segments use it.
#[utoipa::path(delete, operation_id = "delete_segment", path = "/api/v1/segments/{id}", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "In use: bound tasks or dependent segments")))]
pub async fn delete(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    manage::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeletedBody {
    id: i64,
    name: String,
    method: String,
    target_object: String,
    size: Option<i64>,
    deleted_by: String,
    /// Unix ms
    deleted_at: i64,
}

/// Deleted segments (the caller's scope).
#[utoipa::path(get, operation_id = "list_deleted_segments", path = "/api/v1/deleted-segments", tag = "segments", security(("bearer" = [])),
    responses((status = 200, body = Vec<DeletedBody>), (status = 401, body = ErrorBody)))]
pub async fn deleted(
    Auth(principal): Auth,
    State(state): State<AppState>,
) -> Result<Json<Vec<DeletedSegment>>, ApiError> {
    Ok(Json(manage::deleted_records(&state.db, &principal).await?))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExportBody {
    id: i64,
    segment_id: i64,
    segment_name: String,
    run_id: i64,
    /// `queued`, `running`, `done`, `failed`
    status: String,
    rows_total: i64,
    rows_done: i64,
    bytes: Option<i64>,
    error: Option<String>,
    requested_by: String,
    requested_at: i64,
    finished_at: Option<i64>,
}

/// Export the segment's current snapshot as CSV.
#[utoipa::path(post, operation_id = "export_segment", path = "/api/v1/segments/{id}/exports", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 202, body = ExportBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "No snapshot yet")))]
pub async fn request_export(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(exports::request(&state, &principal, id).await?),
    ))
}

/// Every export the caller may see, newest first.
#[utoipa::path(get, operation_id = "list_exports", path = "/api/v1/exports", tag = "exports", security(("bearer" = [])),
    responses((status = 200, body = Vec<ExportBody>), (status = 401, body = ErrorBody)))]
pub async fn list_exports(
    Auth(principal): Auth,
    State(state): State<AppState>,
) -> Result<Json<Vec<ExportView>>, ApiError> {
    Ok(Json(exports::list(&state.db, &principal).await?))
}

/// One export, with its progress.
#[utoipa::path(get, operation_id = "get_export", path = "/api/v1/exports/{id}", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ExportBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_export(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ExportView>, ApiError> {
    Ok(Json(exports::get(&state.db, &principal, id).await?))
}

/// The export's CSV (`entity_id` header, one ID per line), streamed.
#[utoipa::path(get, operation_id = "download_export", path = "/api/v1/exports/{id}/download", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not done yet")))]
pub async fn download(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let source = exports::download(&state, &principal, id).await?;
    let db = state.db.clone();
    let file_name = source.file_name.clone();
    let length = source.bytes;
    // One dictionary window per chunk: memory stays flat whatever the size.
    let chunks = futures_util::stream::unfold(Some(None), move |position| {
        let db = db.clone();
        let target = source.target_object.clone();
        let members = source.members.clone();
        async move {
            let start = position?;
            match exports::csv_chunk(&db, &target, &members, start).await {
                Ok((bytes, next)) => Some((Ok::<_, std::io::Error>(bytes), next.map(Some))),
                Err(error) => Some((Err(std::io::Error::other(error.to_string())), None)),
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// Up to 1,000 IDs.
    pub ids: Vec<String>,
}

/// Included, excluded or unknown for each ID; for tag-filter segments each rule group and
/// condition evaluated for the entity, with its actual values.
#[utoipa::path(post, operation_id = "verify_segment", path = "/api/v1/segments/{id}/verify", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = VerifyBody,
    responses((status = 200, body = serde_json::Value), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn verify(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<VerifyAnswer>, ApiError> {
    Ok(Json(manage::verify(&state, &principal, id, &body.ids).await?))
}
