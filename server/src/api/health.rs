use axum::Json;
use axum::extract::State;
use segment_service::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server and its database answer.
    pub status: &'static str,
    /// `sqlite` or `postgres`
    pub database: &'static str,
    pub database_version: String,
    pub version: &'static str,
}

/// Liveness: the server answers and its database does too.
#[utoipa::path(get, operation_id = "health", path = "/api/v1/health", tag = "system",
    responses((status = 200, body = Health), (status = 500, body = super::error::ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let database_version = state
        .db
        .server_version()
        .await
        .map_err(segment_contract::error::AppError::from)?;
    Ok(Json(Health {
        status: "ok",
        database: state.db.backend().as_str(),
        database_version,
        version: env!("CARGO_PKG_VERSION"),
    }))
}
