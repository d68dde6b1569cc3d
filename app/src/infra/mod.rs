//! Server-only infrastructure shared by every feature: the database handle,
//! the application state and the request principal.

pub mod db;
pub mod engine_pool;
pub mod limits;
pub mod mail;
pub mod state;

use leptos::prelude::use_context;

use crate::auth::Principal;
use crate::error::AppError;
pub use state::AppState;

/// The application state, provided to every server function by leptos_axum.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

/// The principal resolved for this request by the server's auth middleware.
pub fn principal() -> Result<Principal, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or(AppError::Unauthenticated)
}

/// Gives a server function's failure its HTTP status (leptos answers 500
/// for every error otherwise), so expected failures are not logged as
/// server errors; the client still reads the typed error from the body.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result
        && let Some(options) = use_context::<leptos_axum::ResponseOptions>()
    {
        options.set_status(error.status());
    }
    result
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
