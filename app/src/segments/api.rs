//! Server functions of segment creation and management.

use leptos::prelude::*;

use super::{Estimate, EstimateRequest};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::infra::{app_state, principal, respond};

/// The size and SQL of a rule, evaluated by the engine within the caller's audience.
#[server]
pub async fn estimate_segment(request: EstimateRequest) -> Result<Estimate, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::estimate(&app_state()?, &principal, &request).await
        }
        .await,
    )
}
