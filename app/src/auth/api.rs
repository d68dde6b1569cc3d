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

#[server]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    respond(
        async {
            use axum::extract::ConnectInfo;
            use std::net::SocketAddr;

            let state = app_state()?;
            let address = use_context::<http::request::Parts>().and_then(|parts| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip())
            });
            let secret =
                super::ssr::login(&state.db, &state.login_limiter, &username, &password, address).await?;
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

#[server]
pub async fn logout() -> Result<(), AppError> {
    respond(
        async {
            let state = app_state()?;
            if let Some(parts) = use_context::<http::request::Parts>()
                && let Some(secret) = super::ssr::session_secret_from(&parts.headers)
            {
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

#[server]
pub async fn create_token(name: String, scope: String) -> Result<CreatedToken, AppError> {
    respond(
        async {
            let principal = principal()?;
            principal.require_admin()?;
            let scope = Scope::parse(&scope)?;
            let (id, token) =
                super::ssr::create_token(&app_state()?.db, &name, &scope, &principal.display_name()).await?;
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
