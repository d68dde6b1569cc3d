//! Segment groups: sub-teams' folders for segments, owned by a scope.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const MAX_GROUP_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    /// `platform`, `merchant:ID` or `store:ID,…`
    pub owner_scope: String,
    /// Segments (not deleted) that belong to the group.
    pub segment_count: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
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
