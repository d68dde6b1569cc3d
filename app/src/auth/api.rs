//! Server functions for signing in and out and for the admin's user and
//! token management. Thin: authorize, validate, call the service, map errors.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::Principal;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use super::{Role, Scope};
#[cfg(feature = "ssr")]
use crate::infra::{app_state, principal, respond};

/// A created token: the secret is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: i64,
    pub token: String,
}

/// The client address of this server function's request (see
/// [`super::ssr::client_address`]).
#[cfg(feature = "ssr")]
fn request_address() -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    let parts = use_context::<http::request::Parts>()?;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let trusted = app_state().map(|s| s.trusted_proxies).unwrap_or_default();
    super::ssr::client_address(&parts.headers, peer, &trusted)
}

#[cfg(feature = "ssr")]
fn request_session_secret() -> Option<String> {
    use_context::<http::request::Parts>().and_then(|parts| super::ssr::session_secret_from(&parts.headers))
}

#[server]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    respond(
        async {
            let state = app_state()?;
            let secret = super::ssr::login(
                &state.db,
                &state.login_limiter,
                &username,
                &password,
                request_address(),
            )
            .await?;
            let response = expect_context::<leptos_axum::ResponseOptions>();
            let cookie = super::ssr::session_cookie(&secret, state.secure_cookies);
            response.insert_header(
                http::header::SET_COOKIE,
                http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
            );
            Ok(())
        }
        .await,
    )
}

/// The signed-in user changes their password; their other sessions end.
#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    respond(
        async {
            let principal = principal()?;
            let super::Subject::User { id, .. } = principal.subject else {
                return Err(AppError::Forbidden);
            };
            let state = app_state()?;
            super::ssr::change_password(
                &state.db,
                &state.login_limiter,
                id,
                request_session_secret().as_deref(),
                &current_password,
                &new_password,
                request_address(),
            )
            .await
        }
        .await,
    )
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    respond(
        async {
            let state = app_state()?;
            if let Some(secret) = request_session_secret() {
                super::ssr::logout(&state.db, &secret).await?;
            }
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.insert_header(
                http::header::SET_COOKIE,
                http::HeaderValue::from_str(&super::ssr::clearing_cookie())
                    .map_err(|_| AppError::Internal)?,
            );
            Ok(())
        }
        .await,
    )
}

/// The signed-in principal, or `None` for an anonymous visitor.
#[server]
pub async fn current_principal() -> Result<Option<Principal>, AppError> {
    respond(
        async {
            match principal() {
                Ok(principal) => Ok(Some(principal)),
                Err(AppError::Unauthenticated) => Ok(None),
                Err(other) => Err(other),
            }
        }
        .await,
    )
}

#[server]
pub async fn list_tokens() -> Result<Vec<super::TokenView>, AppError> {
    respond(
        async {
            principal()?.require_admin()?;
            let rows = super::ssr::list_tokens(&app_state()?.db).await?;
            Ok(rows.into_iter().map(super::TokenView::from).collect())
        }
        .await,
    )
}

/// Creates a token; `expires_in_days` empty means it works until revoked.
#[server]
pub async fn create_token(
    name: String,
    scope: String,
    expires_in_days: String,
) -> Result<CreatedToken, AppError> {
    respond(
        async {
            let principal = principal()?;
            principal.require_admin()?;
            let scope = Scope::parse(&scope)?;
            let expires_at = match expires_in_days.trim() {
                "" => None,
                days => {
                    let days: i64 = days
                        .parse()
                        .ok()
                        .filter(|d| (1..=super::ssr::MAX_TOKEN_DAYS).contains(d))
                        .ok_or_else(|| {
                            AppError::validation(
                                "expires_in_days",
                                format!(
                                    "Enter a whole number of days from 1 to {}, or leave it empty.",
                                    super::ssr::MAX_TOKEN_DAYS
                                ),
                            )
                        })?;
                    Some(crate::infra::now_ms() + days * 86_400_000)
                }
            };
            let (id, token) = super::ssr::create_token(
                &app_state()?.db,
                &name,
                &scope,
                &principal.display_name(),
                expires_at,
            )
            .await?;
            Ok(CreatedToken { id, token })
        }
        .await,
    )
}

#[server]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    respond(
        async {
            principal()?.require_admin()?;
            super::ssr::revoke_token(&app_state()?.db, id).await
        }
        .await,
    )
}

#[server]
pub async fn list_users() -> Result<Vec<super::UserView>, AppError> {
    respond(
        async {
            principal()?.require_admin()?;
            let rows = super::ssr::list_users(&app_state()?.db).await?;
            Ok(rows.into_iter().map(super::UserView::from).collect())
        }
        .await,
    )
}

#[server]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
    merchant: String,
    stores: String,
) -> Result<i64, AppError> {
    respond(
        async {
            principal()?.require_admin()?;
            let role = Role::parse(&role).ok_or_else(|| AppError::validation("role", "Choose a role."))?;
            let scope = super::scope_for_role(role, &merchant, &stores)?;
            super::ssr::create_user(
                &app_state()?.db,
                super::ssr::NewUser {
                    username,
                    password,
                    role,
                    scope,
                },
            )
            .await
        }
        .await,
    )
}

/// Disables or enables an account (administrators); disabling ends its sessions.
#[server]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<super::UserView, AppError> {
    respond(
        async {
            let principal = principal()?;
            principal.require_admin()?;
            let actor = match principal.subject {
                super::Subject::User { id, .. } => Some(id),
                super::Subject::Token { .. } => None,
            };
            let row = super::ssr::set_disabled(&app_state()?.db, actor, id, disabled).await?;
            Ok(super::UserView::from(row))
        }
        .await,
    )
}

/// Sets a user's password (administrators); the user's sessions end.
#[server]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), AppError> {
    respond(
        async {
            principal()?.require_admin()?;
            super::ssr::reset_password(&app_state()?.db, id, &password).await
        }
        .await,
    )
}
