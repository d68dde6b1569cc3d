//! The tag warehouse: the catalog users filter on, its import and the
//! in-memory index the engine evaluates.

pub use segment_core::catalog::TagDef;
use segment_core::catalog::TagKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagList {
    pub tags: Vec<Tag>,
}

/// A tag of the catalog, as `GET /api/v1/tags` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// The allowed values of an enum tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Behavior tags: the attributes events can be filtered on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<TagAttribute>,
    /// Dates (`YYYY-MM-DD`) whose data is loaded, ascending.
    pub ready_dates: Vec<String>,
    /// The newest ready date: what `{"mode": "latest"}` reads.
    pub latest_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagAttribute {
    pub code: String,
    pub name: String,
    /// `enum` or `number`
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
