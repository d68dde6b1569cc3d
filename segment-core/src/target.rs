//! The kinds of entity a segment selects.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TargetObject {
    User,
    Merchant,
    Store,
}

impl TargetObject {
    pub const ALL: [TargetObject; 3] = [TargetObject::User, TargetObject::Merchant, TargetObject::Store];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetObject::User => "user",
            TargetObject::Merchant => "merchant",
            TargetObject::Store => "store",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TargetObject::User => "Users",
            TargetObject::Merchant => "Merchants",
            TargetObject::Store => "Stores",
        }
    }

    pub fn parse(text: &str) -> Option<TargetObject> {
        TargetObject::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A stored target object that names none (a corrupt row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a target object")]
pub struct UnknownTarget(pub String);

impl TryFrom<String> for TargetObject {
    type Error = UnknownTarget;

    fn try_from(text: String) -> Result<Self, UnknownTarget> {
        TargetObject::parse(&text).ok_or(UnknownTarget(text))
    }
}

impl fmt::Display for TargetObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
