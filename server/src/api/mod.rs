//! The public HTTP API under `/api/v1`. Handlers are thin: authorize,
//! validate, call one service function, map the error.

pub mod error;
mod extract;
mod groups;
mod health;
mod manage;
pub mod openapi;
mod segments;
mod tags;
mod uploads;
mod warehouse;

use axum::Router;
use axum::routing::{delete, get, patch, post};
use segment_service::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::document))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", patch(groups::rename).delete(groups::delete))
        .route("/tags", get(tags::search))
        .route("/segments", get(segments::list).post(segments::create))
        .route("/segments/estimate", post(segments::estimate))
        .route("/segments/overlap", post(segments::overlap))
        .route("/segments/{id}", get(segments::detail).delete(manage::delete))
        .route("/segments/{id}/members/{entity_id}", get(segments::member))
        .route("/segments/{id}/members/check", post(manage::check))
        .route("/segments/{id}/insights", post(segments::insights))
        .route("/segments/{id}/bindings", post(manage::bind))
        .route("/segments/{id}/bindings/{task_id}", delete(manage::unbind))
        .route("/segments/{id}/extend", post(manage::extend))
        .route("/segments/{id}/verify", post(manage::verify))
        .route("/segments/{id}/exports", post(manage::request_export))
        .route("/deleted-segments", get(manage::deleted))
        .route("/uploads", post(uploads::upload))
        .route("/uploads/template.csv", get(uploads::template))
        .route("/uploads/{id}", get(uploads::report))
        .route("/uploads/{id}/report.csv", get(uploads::report_csv))
        .route("/warehouse/tables", get(warehouse::tables))
        .route("/warehouse/tables/{table}", get(warehouse::columns))
        .route("/exports", get(manage::list_exports))
        .route("/exports/{id}", get(manage::get_export))
        .route("/exports/{id}/download", get(manage::download))
        .fallback(error::not_found)
}

/// Who may call a server function of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: signing in and out, who is signed in.
    Anyone,
    /// Any signed-in principal, within its scope (other scopes' objects answer 404).
    SignedIn,
    /// Signed-in users, not API tokens (changing one's own password).
    User,
    /// Platform principals only (the warehouse).
    Platform,
    /// Administrators only (users and API tokens).
    Admin,
}

/// Every server function of the console with who may call it. Kept next to
/// the routes so that the endpoint × principal test (`tests/api/matrix.rs`)
/// calls each one as every kind of principal: a server function missing
/// here fails that test.
pub fn server_functions() -> Vec<(&'static str, Access)> {
    use app::auth::api::*;
    use app::groups::api::*;
    use app::segments::api::*;
    use app::tags::api::*;
    use app::warehouse::api::*;
    use leptos::server_fn::ServerFn;
    vec![
        (Login::PATH, Access::Anyone),
        (Logout::PATH, Access::Anyone),
        (CurrentPrincipal::PATH, Access::Anyone),
        (ChangePassword::PATH, Access::User),
        (ListTokens::PATH, Access::Admin),
        (CreateToken::PATH, Access::Admin),
        (RevokeToken::PATH, Access::Admin),
        (ListUsers::PATH, Access::Admin),
        (CreateUser::PATH, Access::Admin),
        (SetUserDisabled::PATH, Access::Admin),
        (ResetUserPassword::PATH, Access::Admin),
        (SearchTags::PATH, Access::SignedIn),
        (EstimateSegment::PATH, Access::SignedIn),
        (CreateSegment::PATH, Access::SignedIn),
        (LookalikeUniverse::PATH, Access::SignedIn),
        (ListSegments::PATH, Access::SignedIn),
        (GetSegment::PATH, Access::SignedIn),
        (OverlapSegments::PATH, Access::SignedIn),
        (SegmentInsights::PATH, Access::SignedIn),
        (SegmentUsedBy::PATH, Access::SignedIn),
        (ExportSegment::PATH, Access::SignedIn),
        (ListExports::PATH, Access::SignedIn),
        (ExtendSegment::PATH, Access::SignedIn),
        (DeleteSegment::PATH, Access::SignedIn),
        (DeletedSegments::PATH, Access::SignedIn),
        (VerifySegment::PATH, Access::SignedIn),
        (ListGroups::PATH, Access::SignedIn),
        (CreateGroup::PATH, Access::SignedIn),
        (RenameGroup::PATH, Access::SignedIn),
        (DeleteGroup::PATH, Access::SignedIn),
        (WarehouseTables::PATH, Access::Platform),
        (WarehouseColumns::PATH, Access::Platform),
    ]
}
