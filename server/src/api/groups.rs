use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use segment_contract::groups::{GroupList, GroupName, GroupView};
use segment_contract::ids::GroupId;
use segment_service::groups;
use segment_service::state::AppState;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

/// The caller's groups (all groups for platform principals).
#[utoipa::path(get, operation_id = "list_groups", path = "/api/v1/groups", tag = "groups", security(("bearer" = [])),
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody)))]
pub async fn list(Auth(principal): Auth, State(state): State<AppState>) -> Result<Json<GroupList>, ApiError> {
    let groups = groups::list_groups(&state.db, &principal).await?;
    Ok(Json(GroupList { groups }))
}

/// Create a group owned by the caller's scope.
#[utoipa::path(post, operation_id = "create_group", path = "/api/v1/groups", tag = "groups", security(("bearer" = [])), request_body = GroupName,
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "A group of that name exists")))]
pub async fn create(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<GroupName>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let group = groups::create_group(&state.db, &principal, &body.name).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Rename a group.
#[utoipa::path(patch, operation_id = "rename_group", path = "/api/v1/groups/{id}", tag = "groups", security(("bearer" = [])), request_body = GroupName,
    params(("id" = i64, Path, description = "Group ID")),
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rename(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<GroupId>,
    ApiJson(body): ApiJson<GroupName>,
) -> Result<Json<GroupView>, ApiError> {
    let group = groups::rename_group(&state.db, &principal, id, &body.name).await?;
    Ok(Json(group))
}

/// Delete an empty group; refused with 409 and the count while it holds segments.
#[utoipa::path(delete, operation_id = "delete_group", path = "/api/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Group ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The group still holds segments")))]
pub async fn delete(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<GroupId>,
) -> Result<StatusCode, ApiError> {
    groups::delete_group(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
