//! Server functions of the tag catalog.

use leptos::prelude::*;
use segment_core::TargetObject;

use super::TagDef;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::infra::{app_state, principal, respond};

/// Tags of `target` (all targets when `None`) whose code, name, description,
/// category, type or values contain every word of `query`.
#[server]
pub async fn search_tags(target: Option<TargetObject>, query: String) -> Result<Vec<TagDef>, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::search_tags(&app_state()?.db, &principal.scope, target, &query).await
        }
        .await,
    )
}
