//! The one error type of the server-function boundary. Expected failures are
//! typed so the UI can show them beside the field they concern; unexpected
//! ones are logged on the server and reach the client only as `Internal`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input; `field` names the form field (or JSON path) at fault.
    #[error("{message}")]
    Validation { field: Option<String>, message: String },
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// Also answered for objects of another scope, so that existence does not leak.
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RateLimited(String),
    /// Several fields of a form at fault at once; each is shown beside its field.
    #[error("{}", .0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<FieldError>),
    /// A rule with problems; each names its place in the rule.
    #[error("The rule has {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidRule(Vec<segment_core::validate::Problem>),
    /// The segment cannot serve lookups now (stale, expired, no snapshot yet).
    #[error("{message}")]
    Refused { reason: Refusal, message: String },
    /// A body over its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// A dependency is not ready yet (the tag index loading, say).
    #[error("{0}")]
    Unavailable(String),
    /// The work did not finish within its deadline (the server is busy).
    #[error("{0}")]
    Timeout(String),
    #[error("Something went wrong on the server. The problem has been logged.")]
    Internal,
    /// The request never reached the server function, or its answer was unreadable.
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The message to show beside `field`, if this error concerns it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Validation {
                field: Some(field),
                message,
            } if field == name => Some(message.clone()),
            Self::InvalidFields(fields) => fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            _ => None,
        }
    }

    /// A stable machine-readable code, used by the HTTP API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } | Self::InvalidFields(_) => "validation",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::RateLimited(_) => "rate_limited",
            Self::InvalidRule(_) => "invalid_rule",
            Self::Refused { reason, .. } => reason.code(),
            Self::TooLarge(_) => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Timeout(_) => "timeout",
            Self::Internal => "internal",
            Self::Transport(_) => "transport",
        }
    }

    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Validation { .. } | Self::InvalidFields(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::InvalidRule(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Refused { .. } => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) | Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal | Self::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Why a segment refuses membership lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Stale,
    Expired,
    NotReady,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::Expired => "expired",
            Self::NotReady => "not_ready",
        }
    }
}

/// One field's problem in a form or request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[cfg(feature = "server-fn")]
impl server_fn::error::FromServerFnError for AppError {
    type Encoder = server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr;
        match value {
            ServerFnErrorErr::Request(detail)
            | ServerFnErrorErr::Deserialization(detail)
            | ServerFnErrorErr::Serialization(detail) => Self::Transport(detail),
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => Self::Validation {
                field: None,
                message: detail,
            },
            other => {
                #[cfg(feature = "server")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "server"))]
                let _ = other;
                Self::Internal
            }
        }
    }
}

#[cfg(feature = "server")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error");
        Self::Internal
    }
}

#[cfg(feature = "server")]
impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "unexpected error");
        Self::Internal
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// The HTTP API's error body: `{"error": {"code", "message", "field"?, …}}`.
/// The server writes it from an [`AppError`]; a client reads it back into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// `validation`, `unauthenticated`, `forbidden`, `not_found`, `conflict`, `rate_limited`, `internal`, …
    pub code: String,
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `validation` of several fields: each field with its message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// For `invalid_rule`: every problem with its place in the rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<RuleProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleProblem {
    /// Where, e.g. `groups[0].conditions[1].values`
    pub path: String,
    pub message: String,
}

impl ErrorBody {
    pub fn of(error: &AppError) -> ErrorBody {
        let field = match error {
            AppError::Validation { field, .. } => field.clone(),
            AppError::InvalidFields(fields) => fields.first().map(|f| f.field.clone()),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: error.code().to_string(),
                message: error.to_string(),
                field,
                fields: match error {
                    AppError::InvalidFields(fields) => fields.clone(),
                    _ => Vec::new(),
                },
                problems: match error {
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
        }
    }

    /// The error a client of the HTTP API shows: typed where the code
    /// says what happened, otherwise its message as a conflict.
    pub fn into_error(self) -> AppError {
        let ErrorDetail {
            code,
            message,
            field,
            fields,
            ..
        } = self.error;
        match code.as_str() {
            "validation" if !fields.is_empty() => AppError::InvalidFields(fields),
            "validation" => AppError::Validation { field, message },
            "unauthenticated" => AppError::Unauthenticated,
            "forbidden" => AppError::Forbidden,
            "not_found" => AppError::NotFound(message.trim_end_matches(" was not found.").to_string()),
            "rate_limited" => AppError::RateLimited(message),
            "too_large" => AppError::TooLarge(message),
            "unavailable" => AppError::Unavailable(message),
            "timeout" => AppError::Timeout(message),
            "internal" => AppError::Internal,
            _ => AppError::Conflict(message),
        }
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;

    #[test]
    fn an_error_body_reads_back_as_the_error_it_was_written_from() {
        for error in [
            AppError::validation("file", "The file is empty."),
            AppError::InvalidFields(vec![FieldError {
                field: "name".into(),
                message: "Enter a segment name.".into(),
            }]),
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::NotFound("The upload".into()),
            AppError::TooLarge("The file is over 200 MB.".into()),
            AppError::RateLimited("Too many uploads.".into()),
            AppError::Unavailable("The tag index is loading.".into()),
            AppError::Internal,
        ] {
            let json = serde_json::to_string(&ErrorBody::of(&error)).unwrap();
            let read: ErrorBody = serde_json::from_str(&json).unwrap();
            assert_eq!(read.into_error(), error);
        }
    }
}
