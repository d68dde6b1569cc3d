use axum::Json;
use axum::extract::{Query, State};
use segment_contract::tags::{Tag, TagList};
use segment_core::TargetObject;
use segment_service::state::AppState;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::extract::Auth;
use segment_contract::error::AppError;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// `user`, `merchant` or `store`; all target objects when absent.
    pub target: Option<String>,
    /// Words that must all appear in the tag's code, name, description,
    /// category, values or attribute names (case-insensitive).
    #[serde(default)]
    pub q: String,
}

/// Search the tag catalog.
#[utoipa::path(get, operation_id = "search_tags", path = "/api/v1/tags", tag = "tags", security(("bearer" = [])), params(TagQuery),
    responses((status = 200, body = TagList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn search(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Query(query): Query<TagQuery>,
) -> Result<Json<TagList>, ApiError> {
    let target = match query.target.as_deref() {
        None | Some("") => None,
        Some(text) => Some(TargetObject::parse(text).ok_or_else(|| {
            AppError::validation(
                "target",
                format!("{text:?} is not a target object; use user, merchant or store"),
            )
        })?),
    };
    let tags = segment_service::tags::search_tags(&state.db, &principal.scope, target, &query.q).await?;
    Ok(Json(TagList {
        tags: tags.into_iter().map(Tag::from).collect(),
    }))
}
