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

/// How many entities of `target_object` a lookalike of the caller may reach
/// (the population, or the caller's audience): the bound of Target Size.
#[server(input = Json)]
pub async fn lookalike_universe(target_object: segment_core::TargetObject) -> Result<u64, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::lookalike_universe(&app_state()?, principal.scope.audience_scopes(), target_object)
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

/// What uses a segment: bound delivery tasks and dependent segments.
#[server(input = Json)]
pub async fn segment_used_by(id: i64) -> Result<UsedBy, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::manage::used_by(&app_state()?.db, &principal, id).await
        }
        .await,
    )
}

/// Starts an export of the segment's current snapshot.
#[server(input = Json)]
pub async fn export_segment(id: i64) -> Result<ExportView, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::exports::request(&app_state()?, &principal, id).await
        }
        .await,
    )
}

#[server(input = Json)]
pub async fn list_exports() -> Result<Vec<ExportView>, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::exports::list(&app_state()?.db, &principal).await
        }
        .await,
    )
}

/// Moves Expires At (read in the segment's time zone).
#[server(input = Json)]
pub async fn extend_segment(id: i64, expires_at: String) -> Result<SegmentRow, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::manage::extend(&app_state()?.db, &principal, id, &expires_at).await
        }
        .await,
    )
}

#[server(input = Json)]
pub async fn delete_segment(id: i64) -> Result<(), AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::manage::delete(&app_state()?.db, &principal, id).await
        }
        .await,
    )
}

#[server(input = Json)]
pub async fn deleted_segments() -> Result<Vec<DeletedSegment>, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::manage::deleted_records(&app_state()?.db, &principal).await
        }
        .await,
    )
}

/// Included, excluded or unknown for each ID, with the rule explained.
#[server(input = Json)]
pub async fn verify_segment(id: i64, ids: Vec<String>) -> Result<VerifyAnswer, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::manage::verify(&app_state()?, &principal, id, &ids).await
        }
        .await,
    )
}
