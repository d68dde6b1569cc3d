//! Extractors that answer in the API's error format.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use segment_contract::auth::Principal;
use segment_contract::error::AppError;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The authenticated caller; 401 without one.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or(ApiError(AppError::Unauthenticated))
    }
}

/// A JSON body whose parse errors read as validation errors with their reason.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(AppError::Validation {
                field: None,
                message: match rejection {
                    JsonRejection::JsonDataError(error) => {
                        format!("Invalid request body: {}", error.body_text())
                    }
                    JsonRejection::JsonSyntaxError(error) => format!("Malformed JSON: {}", error.body_text()),
                    JsonRejection::MissingJsonContentType(_) => {
                        "Send the body as JSON with Content-Type: application/json.".to_string()
                    }
                    other => other.body_text(),
                },
            })),
        }
    }
}
