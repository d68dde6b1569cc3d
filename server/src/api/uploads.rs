//! Uploaded ID lists: streamed in, validated line by line, answered with a
//! report before anything is created.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use segment_contract::error::AppError;
use segment_contract::ids::UploadId;
use segment_contract::segments::{UploadAnswer, UploadReport};
use segment_core::TargetObject;
use segment_service::segments::uploads::{self, UploadBuilder};
use segment_service::state::AppState;
use serde::Deserialize;

use super::error::{ApiError, ErrorBody};
use super::extract::Auth;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `user` (default), `merchant` or `store`
    pub target_object: Option<String>,
}

/// Upload a CSV of IDs (`entity_id` header, one ID per line) as the request body. It is read
/// as it arrives, never held whole; the answer is the validation report. Nothing is created
/// until a segment names the upload.
#[utoipa::path(post, operation_id = "upload_ids", path = "/api/v1/uploads", tag = "uploads", security(("bearer" = [])),
    params(UploadParams), request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = UploadAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody, description = "Over the size limit (UPLOAD_MAX_MB)")))]
pub async fn upload(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Query(params): Query<UploadParams>,
    body: Body,
) -> Result<(StatusCode, Json<UploadAnswer>), ApiError> {
    let target = match params.target_object.as_deref() {
        None | Some("") => TargetObject::User,
        Some(text) => TargetObject::parse(text).ok_or_else(|| {
            AppError::validation(
                "target_object",
                format!("{text:?} is not user, merchant or store."),
            )
        })?,
    };
    let mut builder = UploadBuilder::start(&state, &principal, target).await?;
    // The file is received here and parsed and matched on a blocking thread,
    // side by side; a refusal there (too large) ends the receiving.
    let (pieces, mut received) = tokio::sync::mpsc::channel::<axum::body::Bytes>(16);
    let parsing = tokio::task::spawn_blocking(move || {
        while let Some(piece) = received.blocking_recv() {
            builder.feed(&piece)?;
        }
        Ok::<_, AppError>(builder)
    });
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| AppError::Validation {
            field: Some("file".into()),
            message: format!("The upload was interrupted: {error}"),
        })?;
        if pieces.send(chunk).await.is_err() {
            break;
        }
    }
    drop(pieces);
    let builder = parsing
        .await
        .map_err(|error| AppError::from(anyhow::Error::from(error)))??;
    Ok((StatusCode::CREATED, Json(builder.finish(&principal).await?)))
}

/// An upload's validation report.
#[utoipa::path(get, operation_id = "get_upload_report", path = "/api/v1/uploads/{id}", tag = "uploads", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = UploadReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<UploadId>,
) -> Result<Json<UploadReport>, ApiError> {
    Ok(Json(uploads::load(&state.db, &principal, id).await?.1))
}

/// The report's rejected lines as CSV (`line,entity_id,problem`).
#[utoipa::path(get, operation_id = "get_upload_report_csv", path = "/api/v1/uploads/{id}/report.csv", tag = "uploads", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report_csv(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<UploadId>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, report, _) = uploads::load(&state.db, &principal, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"upload-{id}-report.csv\""),
            ),
        ],
        uploads::report_csv(&report)?,
    ))
}

/// The file template: the header and an example row.
#[utoipa::path(get, operation_id = "get_upload_template", path = "/api/v1/uploads/template.csv", tag = "uploads",
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn template() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"segment-list-template.csv\"",
            ),
        ],
        "entity_id\nU0000001\n",
    )
}
