//! Server functions of the tag catalog.

use leptos::prelude::*;
use segment_core::TargetObject;

use super::TagDef;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::context::{console, principal, respond};

/// Tags of `target` (all targets when `None`) whose code, name, description,
/// category, type or values contain every word of `query`.
#[server]
pub async fn search_tags(target: Option<TargetObject>, query: String) -> Result<Vec<TagDef>, AppError> {
    respond(async { console()?.search_tags(&principal()?, target, &query).await }.await)
}
