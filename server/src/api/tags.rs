use axum::Json;
use axum::extract::{Query, State};
use segment_contract::tags::TagDef;
use segment_core::TargetObject;
use segment_core::catalog::TagKind;
use segment_service::state::AppState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

#[derive(Serialize, ToSchema)]
pub struct TagList {
    pub tags: Vec<Tag>,
}

/// A tag of the catalog.
#[derive(Serialize, ToSchema)]
pub struct Tag {
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: String,
    /// `user`, `merchant` or `store`
    pub target_object: String,
    /// `profile` (one value per entity and day) or `behavior` (daily event counts)
    pub kind: String,
    /// Profile tags: `enum`, `boolean`, `datetime` or `number`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// The allowed values of an enum tag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Behavior tags: the attributes events can be filtered on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<TagAttribute>,
    /// Dates (`YYYY-MM-DD`) whose data is loaded, ascending.
    pub ready_dates: Vec<String>,
    /// The newest ready date: what `{"mode": "latest"}` reads.
    pub latest_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TagAttribute {
    pub code: String,
    pub name: String,
    /// `enum` or `number`
    pub data_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl From<TagDef> for Tag {
    fn from(tag: TagDef) -> Self {
        let (kind, data_type, values, attributes) = match tag.kind {
            TagKind::Profile { data_type, values } => {
                ("profile", Some(data_type.as_str().to_string()), values, vec![])
            }
            TagKind::Behavior { attributes } => (
                "behavior",
                None,
                vec![],
                attributes
                    .into_iter()
                    .map(|a| TagAttribute {
                        code: a.code,
                        name: a.name,
                        data_type: a.data_type.as_str().to_string(),
                        values: a.values,
                    })
                    .collect(),
            ),
        };
        Tag {
            latest_date: tag.ready_dates.last().map(ToString::to_string),
            ready_dates: tag.ready_dates.iter().map(ToString::to_string).collect(),
            code: tag.code,
            name: tag.name,
            description: tag.description,
            category: tag.category,
            target_object: tag.target_object.as_str().to_string(),
            kind: kind.to_string(),
            data_type,
            values,
            attributes,
        }
    }
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
