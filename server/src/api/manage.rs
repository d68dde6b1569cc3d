//! Managing segments and delivery over HTTP: membership checks, bindings,
//! extend, delete and deleted records, exports and their streamed download,
//! verification.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use segment_contract::ids::{ExportId, SegmentId};
use segment_contract::segments::{
    Binding, CheckAnswer, CheckRequest, DeletedSegment, ExportView, ExtendRequest, NewBinding, SegmentRow,
    VerifyAnswer, VerifyRequest,
};
use segment_service::segments::{exports, manage};
use segment_service::state::AppState;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

/// Which of up to 10,000 IDs are members. Refused like single lookups (409).
#[utoipa::path(post, operation_id = "check_members", path = "/api/v1/segments/{id}/members/check", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = CheckRequest,
    responses((status = 200, body = CheckAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`stale`, `expired` or `not_ready`")))]
pub async fn check(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckAnswer>, ApiError> {
    Ok(Json(
        manage::check_members(&state, &principal, id, &request).await?,
    ))
}

/// Declare that a delivery task uses the segment until `ends_at`.
#[utoipa::path(post, operation_id = "bind_task", path = "/api/v1/segments/{id}/bindings", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NewBinding,
    responses((status = 201, body = Binding), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already bound, or ends after the segment expires")))]
pub async fn bind(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
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
    Path((id, task_id)): Path<(SegmentId, String)>,
) -> Result<StatusCode, ApiError> {
    manage::unbind(&state.db, &principal, id, &task_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Extend a segment's validity.
#[utoipa::path(post, operation_id = "extend_segment", path = "/api/v1/segments/{id}/extend", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ExtendRequest,
    responses((status = 200, body = SegmentRow), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn extend(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
    ApiJson(body): ApiJson<ExtendRequest>,
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
    Path(id): Path<SegmentId>,
) -> Result<StatusCode, ApiError> {
    manage::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deleted segments (the caller's scope).
#[utoipa::path(get, operation_id = "list_deleted_segments", path = "/api/v1/deleted-segments", tag = "segments", security(("bearer" = [])),
    responses((status = 200, body = Vec<DeletedSegment>), (status = 401, body = ErrorBody)))]
pub async fn deleted(
    Auth(principal): Auth,
    State(state): State<AppState>,
) -> Result<Json<Vec<DeletedSegment>>, ApiError> {
    Ok(Json(manage::deleted_records(&state.db, &principal).await?))
}

/// Export the segment's current snapshot as CSV.
#[utoipa::path(post, operation_id = "export_segment", path = "/api/v1/segments/{id}/exports", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 202, body = ExportView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "No snapshot yet")))]
pub async fn request_export(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(exports::request(&state, &principal, id).await?),
    ))
}

/// Every export the caller may see, newest first.
#[utoipa::path(get, operation_id = "list_exports", path = "/api/v1/exports", tag = "exports", security(("bearer" = [])),
    responses((status = 200, body = Vec<ExportView>), (status = 401, body = ErrorBody)))]
pub async fn list_exports(
    Auth(principal): Auth,
    State(state): State<AppState>,
) -> Result<Json<Vec<ExportView>>, ApiError> {
    Ok(Json(exports::list(&state.db, &principal).await?))
}

/// One export, with its progress.
#[utoipa::path(get, operation_id = "get_export", path = "/api/v1/exports/{id}", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ExportView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_export(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<ExportId>,
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
    Path(id): Path<ExportId>,
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

/// Included, excluded or unknown for each ID; for tag-filter segments each rule group and
/// condition evaluated for the entity, with its actual values.
#[utoipa::path(post, operation_id = "verify_segment", path = "/api/v1/segments/{id}/verify", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = VerifyRequest,
    responses((status = 200, body = VerifyAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn verify(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<SegmentId>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<VerifyAnswer>, ApiError> {
    Ok(Json(manage::verify(&state, &principal, id, &body.ids).await?))
}
