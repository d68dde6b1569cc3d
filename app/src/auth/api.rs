//! Server functions for signing in and out, the account page and the
//! administrator's user and token management. Thin: the service authorizes.

use leptos::prelude::*;

use super::{CreatedToken, Principal, TokenView, UserView};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::context::{client_address, console, principal, respond, session_secret, set_cookie};

#[server]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    respond(
        async {
            let cookie = console()?.login(&username, &password, client_address()).await?;
            set_cookie(&cookie)
        }
        .await,
    )
}

/// The signed-in user changes their password; their other sessions end.
#[server]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    respond(
        async {
            console()?
                .change_password(
                    &principal()?,
                    session_secret().as_deref(),
                    &current_password,
                    &new_password,
                    client_address(),
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
            let cookie = console()?.logout(session_secret().as_deref()).await?;
            set_cookie(&cookie)
        }
        .await,
    )
}

/// The signed-in principal, or `None` for an anonymous visitor.
#[server]
pub async fn current_principal() -> Result<Option<Principal>, AppError> {
    respond(match principal() {
        Ok(principal) => Ok(Some(principal)),
        Err(AppError::Unauthenticated) => Ok(None),
        Err(other) => Err(other),
    })
}

#[server]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    respond(async { console()?.list_tokens(&principal()?).await }.await)
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
            console()?
                .create_token(&principal()?, &name, &scope, &expires_in_days)
                .await
        }
        .await,
    )
}

#[server]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    respond(async { console()?.revoke_token(&principal()?, id).await }.await)
}

#[server]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    respond(async { console()?.list_users(&principal()?).await }.await)
}

#[server]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
    merchant: String,
    stores: String,
) -> Result<i64, AppError> {
    use segment_contract::console::NewUserForm;
    respond(
        async {
            let user = NewUserForm {
                username,
                password,
                role,
                merchant,
                stores,
            };
            console()?.create_user(&principal()?, user).await
        }
        .await,
    )
}

/// Disables or enables an account (administrators); disabling ends its sessions.
#[server]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<UserView, AppError> {
    respond(async { console()?.set_user_disabled(&principal()?, id, disabled).await }.await)
}

/// Sets a user's password (administrators); the user's sessions end.
#[server]
pub async fn reset_user_password(id: i64, password: String) -> Result<(), AppError> {
    respond(async { console()?.reset_user_password(&principal()?, id, &password).await }.await)
}
