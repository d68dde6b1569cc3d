//! The API's error body: `{"error": {"code", "message", "field"?}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use segment_contract::error::AppError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `validation`, `unauthenticated`, `forbidden`, `not_found`, `conflict`, `rate_limited`, `internal`, …
    pub code: String,
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `validation` of several fields: each field with its message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
    /// For `invalid_rule`: every problem with its place in the rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RuleProblem>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct RuleProblem {
    /// Where, e.g. `groups[0].conditions[1].values`
    pub path: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = match &self.0 {
            AppError::Validation { field, .. } => field.clone(),
            AppError::InvalidFields(fields) => fields.first().map(|f| f.field.clone()),
            _ => None,
        };
        let status =
            StatusCode::from_u16(self.0.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.0.code().to_string(),
                message: self.0.to_string(),
                field,
                fields: match &self.0 {
                    AppError::InvalidFields(fields) => fields
                        .iter()
                        .map(|f| FieldProblem {
                            field: f.field.clone(),
                            message: f.message.clone(),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                problems: match &self.0 {
                    AppError::InvalidRule(problems) => problems
                        .iter()
                        .map(|p| RuleProblem {
                            path: p.path(),
                            message: p.message.clone(),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            },
        };
        (status, Json(body)).into_response()
    }
}

pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound("The endpoint".into()))
}
