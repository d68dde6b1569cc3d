//! Request-wide security: resolve who is asking, refuse cross-site writes,
//! send anonymous page views to the login page, keep pages out of caches,
//! bound every request's body and time, and send the security headers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use segment_contract::auth::ClientAddress;
use segment_contract::error::AppError;
use segment_service::auth::{Credentials, client_address, resolve};
use segment_service::state::AppState;

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

    let principal = match resolve(&state.db, &state.tokens, &credentials).await {
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
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let address = client_address(request.headers(), peer, &state.trusted_proxies);
    request.extensions_mut().insert(ClientAddress(address));
    let mut response = next.run(request).await;
    // Signed-in pages and API answers must not be shown from cache after logout.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The largest request body, uploads aside (they stream under `UPLOAD_MAX_MB`).
pub const BODY_LIMIT: usize = 2 << 20;

fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST && path == "/api/v1/uploads"
}

/// Requests whose bodies or answers stream for as long as their data takes.
fn is_streaming(method: &Method, path: &str) -> bool {
    is_upload(method, path)
        || path.starts_with("/pkg/")
        || (path.starts_with("/api/v1/exports/") && path.ends_with("/download"))
}

fn too_large() -> Response {
    ApiError(AppError::TooLarge(format!(
        "The request body is larger than {} MB.",
        BODY_LIMIT >> 20
    )))
    .into_response()
}

/// Answers 413 to a body over [`BODY_LIMIT`], wherever it is sent (API,
/// server functions, pages), before any handler reads it.
pub async fn limit_body(request: Request, next: Next) -> Response {
    if is_upload(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT as u64 => too_large(),
        Some(_) => next.run(request).await,
        // Not declared (chunked): read at most the limit.
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, BODY_LIMIT).await {
                Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Err(_) => too_large(),
            }
        }
    }
}

/// Stops a request (other than an upload or a download) that takes longer
/// than `limit`, with a 503 the caller can read.
pub async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    if is_streaming(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError(AppError::Timeout(format!(
            "The request took longer than {} seconds and was stopped; try again.",
            limit.as_secs_f64().ceil()
        )))
        .into_response(),
    }
}

/// What every response carries. Pages set their own Content-Security-Policy
/// (with the nonce of their inline scripts, see `app::shell`); anything else
/// may run nothing.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
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

    #[tokio::test]
    async fn a_request_past_its_time_limit_answers_503_but_a_download_streams_on() {
        use tower::ServiceExt;
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        };
        let app = axum::Router::new()
            .route("/api/v1/groups", axum::routing::get(slow))
            .route("/api/v1/exports/1/download", axum::routing::get(slow))
            .layer(axum::middleware::from_fn(|request, next| {
                time_limit(Duration::from_millis(50), request, next)
            }));
        let call = |path: &str| {
            app.clone()
                .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
        };
        let stopped = call("/api/v1/groups").await.unwrap();
        assert_eq!(stopped.status(), 503);
        let body = axum::body::to_bytes(stopped.into_body(), 1 << 16).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("\"timeout\""));
        let streamed = call("/api/v1/exports/1/download").await.unwrap();
        assert_eq!(streamed.status(), 200);
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
