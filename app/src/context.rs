//! What every server function needs from its request: the console's
//! services, the principal, the client address and session, and the HTTP
//! status of a failure.

use std::sync::Arc;

use leptos::prelude::use_context;
use segment_contract::auth::{ClientAddress, Principal, session_secret_from};
use segment_contract::console::Console;

use crate::error::AppError;

/// The service layer, provided to every server function by the server.
pub fn console() -> Result<Arc<dyn Console>, AppError> {
    use_context::<Arc<dyn Console>>().ok_or_else(|| {
        leptos::logging::error!("the Console service is missing from the server function context");
        AppError::Internal
    })
}

/// The principal resolved for this request by the server's auth middleware.
pub fn principal() -> Result<Principal, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or(AppError::Unauthenticated)
}

/// The client address the server's middleware resolved for this request.
pub fn client_address() -> Option<std::net::IpAddr> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ClientAddress>().copied())
        .and_then(|address| address.0)
}

/// The secret of the session cookie this request carries.
pub fn session_secret() -> Option<String> {
    use_context::<http::request::Parts>().and_then(|parts| session_secret_from(&parts.headers))
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

/// Sets a cookie on the server function's response.
pub fn set_cookie(cookie: &str) -> Result<(), AppError> {
    let value = http::HeaderValue::from_str(cookie).map_err(|_| AppError::Internal)?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(http::header::SET_COOKIE, value);
    }
    Ok(())
}
