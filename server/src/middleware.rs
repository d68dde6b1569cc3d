//! Request-wide security: resolve who is asking, refuse cross-site writes,
//! send anonymous page views to the login page, and keep pages out of caches.

use app::auth::ssr::{Credentials, resolve};
use app::error::AppError;
use app::infra::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::api::error::ApiError;

pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/pkg/") {
        return next.run(request).await;
    }
    let credentials = Credentials::from_headers(request.headers());
    let path = request.uri().path().to_string();
    let unsafe_method = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);

    // Browsers attach cookies to cross-site requests; bearer tokens they do not.
    if unsafe_method && !matches!(credentials, Credentials::Bearer(_)) && !is_same_origin(&request) {
        return ApiError(AppError::Forbidden).into_response();
    }

    let principal = match resolve(&state.db, &credentials).await {
        Ok(principal) => principal,
        Err(error) => return ApiError(error).into_response(),
    };

    if request.method() == Method::GET && is_page(&path) {
        match (&principal, path.as_str()) {
            (Some(_), "/login") => return Redirect::to("/segments").into_response(),
            (None, "/login") => {}
            (None, _) => {
                let target = request
                    .uri()
                    .path_and_query()
                    .map(|pq| pq.as_str().to_string())
                    .unwrap_or_else(|| path.clone());
                let next = url_encode(&target);
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            (Some(_), _) => {}
        }
    }

    if let Some(principal) = principal {
        request.extensions_mut().insert(principal);
    }
    let mut response = next.run(request).await;
    // Signed-in pages and API answers must not be shown from cache after logout.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// HTML pages rendered by the console (not the API, server functions or assets).
fn is_page(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    !path.starts_with("/api/") && !path.starts_with("/pkg/") && !last.contains('.')
}

fn is_same_origin(request: &Request) -> bool {
    let Some(host) = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = request
        .headers()
        .get(header::ORIGIN)
        .or_else(|| request.headers().get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    let Some(source) = source else { return false };
    let Some((_, rest)) = source.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    authority.eq_ignore_ascii_case(host)
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_exclude_api_assets_and_server_functions() {
        assert!(is_page("/segments"));
        assert!(is_page("/"));
        assert!(!is_page("/api/v1/groups"));
        assert!(!is_page("/api/login123"));
        assert!(!is_page("/pkg/segment-targeting.js"));
        assert!(!is_page("/favicon.ico"));
    }

    #[test]
    fn same_origin_compares_host_and_origin() {
        let request = |origin: &str| {
            Request::builder()
                .method("POST")
                .uri("/api/v1/groups")
                .header(header::HOST, "127.0.0.1:3000")
                .header(header::ORIGIN, origin)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert!(is_same_origin(&request("http://127.0.0.1:3000")));
        assert!(!is_same_origin(&request("http://evil.example")));
        assert!(!is_same_origin(&request("http://127.0.0.1:3000.evil.example")));
    }
}
