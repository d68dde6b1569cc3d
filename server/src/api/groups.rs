use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use segment_contract::groups::GroupView;
use segment_service::groups;
use segment_service::state::AppState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<Group>,
}

/// A segment group. Merchants and store managers see only their own.
#[derive(Serialize, ToSchema)]
pub struct Group {
    pub id: i64,
    pub name: String,
    /// The owning scope: `platform`, `merchant:ID` or `store:ID,…`
    pub owner_scope: String,
    /// Segments (not deleted) in the group.
    pub segment_count: i64,
    pub created_by: String,
    /// Unix milliseconds
    pub created_at: i64,
    /// Unix milliseconds
    pub updated_at: i64,
}

impl From<GroupView> for Group {
    fn from(view: GroupView) -> Self {
        Group {
            id: view.id,
            name: view.name,
            owner_scope: view.owner_scope,
            segment_count: view.segment_count,
            created_by: view.created_by,
            created_at: view.created_at,
            updated_at: view.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct GroupName {
    /// Trimmed; 1–64 characters; unique (ignoring case) within the owner scope.
    pub name: String,
}

/// The caller's groups (all groups for platform principals).
#[utoipa::path(get, operation_id = "list_groups", path = "/api/v1/groups", tag = "groups", security(("bearer" = [])),
    responses((status = 200, body = GroupList), (status = 401, body = ErrorBody)))]
pub async fn list(Auth(principal): Auth, State(state): State<AppState>) -> Result<Json<GroupList>, ApiError> {
    let groups = groups::list_groups(&state.db, &principal).await?;
    Ok(Json(GroupList {
        groups: groups.into_iter().map(Group::from).collect(),
    }))
}

/// Create a group owned by the caller's scope.
#[utoipa::path(post, operation_id = "create_group", path = "/api/v1/groups", tag = "groups", security(("bearer" = [])), request_body = GroupName,
    responses((status = 201, body = Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "A group of that name exists")))]
pub async fn create(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<GroupName>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let group = groups::create_group(&state.db, &principal, &body.name).await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// Rename a group.
#[utoipa::path(patch, operation_id = "rename_group", path = "/api/v1/groups/{id}", tag = "groups", security(("bearer" = [])), request_body = GroupName,
    params(("id" = i64, Path, description = "Group ID")),
    responses((status = 200, body = Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rename(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<GroupName>,
) -> Result<Json<Group>, ApiError> {
    let group = groups::rename_group(&state.db, &principal, id, &body.name).await?;
    Ok(Json(group.into()))
}

/// Delete an empty group; refused with 409 and the count while it holds segments.
#[utoipa::path(delete, operation_id = "delete_group", path = "/api/v1/groups/{id}", tag = "groups", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Group ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "The group still holds segments")))]
pub async fn delete(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    groups::delete_group(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
