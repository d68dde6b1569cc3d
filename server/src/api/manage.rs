//! Managing segments and delivery over HTTP: membership checks, bindings,
//! extend, delete and deleted records, exports and their streamed download,
//! verification.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use segment_contract::error::AppError;
use segment_contract::ids::{ExportId, SegmentId};
use segment_contract::segments::{
    Binding, CheckAnswer, CheckRequest, DeletedSegment, ExportView, ExtendRequest, NewBinding, SegmentRow,
    VerifyAnswer, VerifyRequest,
};
use segment_service::segments::{exports, manage};
use segment_service::state::AppState;
use serde::Deserialize;

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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// `csv` (default) or `csv.gz` (the same file, gzip-compressed)
    pub format: Option<String>,
}

/// The export's CSV (`entity_id` header, one ID per line), streamed with its length. A single
/// byte range (`Range: bytes=…`) resumes an interrupted download; `format=csv.gz` sends it
/// gzip-compressed (no ranges, no length in advance).
#[utoipa::path(get, operation_id = "download_export", path = "/api/v1/exports/{id}/download", tag = "exports", security(("bearer" = [])),
    params(("id" = i64, Path), DownloadParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 206, description = "The requested byte range"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Not done yet"), (status = 416, description = "The range is outside the file")))]
pub async fn download(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<ExportId>,
    Query(params): Query<DownloadParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let gzip = match params.format.as_deref() {
        None | Some("" | "csv") => false,
        Some("csv.gz") => true,
        Some(other) => {
            return Err(AppError::validation("format", format!("{other:?} is not csv or csv.gz.")).into());
        }
    };
    let source = exports::download(&state, &principal, id).await?;
    let attachment = |name: &str| {
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
    };
    if gzip {
        let pieces = exports::gzipped(source.csv.pieces(0..u64::MAX));
        return Ok((
            [
                (header::CONTENT_TYPE, "application/gzip".to_string()),
                attachment(&format!("{}.gz", source.file_name)),
            ],
            streamed(pieces),
        )
            .into_response());
    }
    let length = source.csv.bytes();
    let wanted = headers
        .get(header::RANGE)
        .map(|value| {
            http_range_header::parse_range_header(value.to_str().unwrap_or_default())
                .and_then(|ranges| ranges.validate(length))
        })
        .transpose();
    let range = match wanted {
        Ok(Some(ranges)) if ranges.len() == 1 => Some(ranges[0].clone()),
        // Several ranges are answered with the whole file, as HTTP allows.
        Ok(_) => None,
        Err(_) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{length}"))],
            )
                .into_response());
        }
    };
    let common = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
        attachment(&source.file_name),
        (header::ACCEPT_RANGES, "bytes".to_string()),
    ];
    Ok(match range {
        None => (
            common,
            [(header::CONTENT_LENGTH, length.to_string())],
            streamed(source.csv.pieces(0..length)),
        )
            .into_response(),
        Some(range) => (
            StatusCode::PARTIAL_CONTENT,
            common,
            [
                (
                    header::CONTENT_LENGTH,
                    (range.end() + 1 - range.start()).to_string(),
                ),
                (
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{length}", range.start(), range.end()),
                ),
            ],
            streamed(source.csv.pieces(*range.start()..range.end() + 1)),
        )
            .into_response(),
    })
}

/// A body written by a blocking task (copying and compressing are CPU
/// work), a few pieces ahead of the client; it stops when the client goes.
fn streamed(pieces: impl Iterator<Item = Vec<u8>> + Send + 'static) -> Body {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    tokio::task::spawn_blocking(move || {
        for piece in pieces {
            if sender.blocking_send(piece).is_err() {
                return;
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move {
            let piece = receiver.recv().await?;
            Some((Ok::<_, std::convert::Infallible>(piece), receiver))
        },
    ))
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
