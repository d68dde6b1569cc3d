//! Segment groups: sub-teams' folders for segments, owned by a scope.

use serde::{Deserialize, Serialize};

use crate::auth::Scope;
use crate::error::AppError;
use crate::ids::GroupId;

pub const MAX_GROUP_NAME: usize = 64;

/// A segment group. Merchants and store managers see only their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Group))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct GroupView {
    pub id: GroupId,
    pub name: String,
    /// The owning scope: `platform`, `merchant:ID` or `store:ID,…`
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[cfg_attr(feature = "server", sqlx(try_from = "String"))]
    pub owner_scope: Scope,
    /// Segments (not deleted) that belong to the group.
    pub segment_count: i64,
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// `GET /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

/// The body of creating or renaming a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupName {
    /// Trimmed; 1–64 characters; unique (ignoring case) within the owner scope.
    pub name: String,
}

/// Trims the name and checks it is 1–64 printable characters.
pub fn validate_group_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::validation("name", "Enter a group name."));
    }
    let length = name.chars().count();
    if length > MAX_GROUP_NAME {
        return Err(AppError::validation(
            "name",
            format!("Use at most {MAX_GROUP_NAME} characters (this name has {length})."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation(
            "name",
            "The name cannot contain control characters.",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_group_name("  Growth team ").unwrap(), "Growth team");
        assert_eq!(validate_group_name(&"é".repeat(64)).unwrap().chars().count(), 64);
        let too_long = validate_group_name(&"x".repeat(65)).unwrap_err();
        assert_eq!(
            too_long.for_field("name").unwrap(),
            "Use at most 64 characters (this name has 65)."
        );
        assert!(
            validate_group_name("   ")
                .unwrap_err()
                .for_field("name")
                .is_some()
        );
        assert!(validate_group_name("a\u{7}b").is_err());
    }
}
