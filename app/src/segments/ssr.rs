//! Segment services shared by the server functions and the HTTP API.

use std::time::Instant;

use segment_core::sql::{Dialect, Output, compile};
use segment_core::time::{parse_date, parse_tz, today_in};
use segment_core::validate::{Context, validate};

use super::{Estimate, EstimateRequest};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::infra::AppState;
use crate::infra::db::Backend;

/// Validates the rule against the loaded catalog and counts its members
/// with the engine, restricted to the principal's audience.
pub async fn estimate(
    state: &AppState,
    principal: &Principal,
    request: &EstimateRequest,
) -> AppResult<Estimate> {
    let time_zone = match request.time_zone.as_deref() {
        None | Some("") => chrono_tz::Tz::UTC,
        Some(name) => parse_tz(name).map_err(|message| AppError::validation("time_zone", message))?,
    };
    let as_of = match request.as_of.as_deref() {
        None | Some("") => today_in(time_zone, chrono::Utc::now()),
        Some(text) => parse_date(text).map_err(|message| AppError::validation("as_of", message))?,
    };
    let loaded = state.tag_index.current().ok_or_else(|| {
        AppError::Unavailable("The tag index is still loading; try again in a few seconds.".into())
    })?;
    let plan = validate(
        &request.rule,
        &Context {
            catalog: &loaded.catalog,
            target: request.target_object,
            time_zone,
            as_of,
        },
    )
    .map_err(AppError::InvalidRule)?;
    let audience = principal.scope.audience_scopes();
    let started = Instant::now();
    let members = loaded
        .index
        .evaluate(&plan, audience.as_deref())
        .map_err(|error| {
            tracing::error!(%error, "the engine could not evaluate a validated plan");
            AppError::Internal
        })?;
    let engine_micros = started.elapsed().as_micros() as u64;
    let dialect = match state.db.backend() {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    };
    Ok(Estimate {
        size: members.len(),
        sql: compile(&plan, dialect, Output::EntityIds, audience.as_deref()).display(),
        data_date: plan.data_date,
        as_of,
        time_zone: time_zone.name().to_string(),
        engine_micros,
    })
}
