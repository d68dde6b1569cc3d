//! Server functions of segment creation and management.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::*;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::infra::{app_state, principal, respond};

/// The size and SQL of a rule, evaluated by the engine within the caller's audience.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn estimate_segment(request: EstimateRequest) -> Result<Estimate, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::estimate(&app_state()?, &principal, &request).await
        }
        .await,
    )
}

/// Creates a segment (and its combined segment) as Generating.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn create_segment(request: CreateSegmentRequest) -> Result<Created, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::create(&app_state()?, &principal, &request).await
        }
        .await,
    )
}

/// One page of the caller's segments.
// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn list_segments(query: ListQuery) -> Result<SegmentPage, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::list(&app_state()?.db, &principal, &query).await
        }
        .await,
    )
}

// Rules are nested, tagged JSON: sent as JSON, not as a form.
#[server(input = Json)]
pub async fn get_segment(id: i64) -> Result<SegmentDetail, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::detail(&app_state()?.db, &principal, id).await
        }
        .await,
    )
}
