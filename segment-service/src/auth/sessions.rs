//! Console sessions: sign-in, sign-out and the principal of a session cookie.

use std::net::IpAddr;

use crate::infra::db::Db;
use crate::infra::now_ms;
use crate::with_db;
use segment_contract::auth::{Principal, Role, SESSION_TTL, Scope, Subject};
use segment_contract::error::{AppError, AppResult};

use super::limiter::LoginLimiter;
use super::passwords::{dummy_hash, verify_password};
use super::secrets::{random_secret, secret_hash};

/// Checks the credentials and opens a session; returns the session secret
/// for the cookie. Wrong username and wrong password read the same.
pub async fn login(
    db: &Db,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    address: Option<IpAddr>,
) -> AppResult<String> {
    let attempt = limiter.begin(username, address)?;
    let row: Option<(i64, String, Option<i64>)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, password_hash, disabled_at FROM users WHERE username = $1")
            .bind(username.trim())
            .fetch_optional(pool)
            .await?
    });
    let (user, hash) = match row {
        Some((id, hash, disabled_at)) => (Some((id, disabled_at)), hash),
        None => (None, dummy_hash().await?),
    };
    let password_ok = verify_password(password.to_string(), hash).await?;
    let Some((user_id, disabled_at)) = user.filter(|_| password_ok) else {
        return Err(AppError::Validation {
            field: None,
            message: "Wrong username or password.".into(),
        });
    };
    limiter.succeeded(attempt);
    if disabled_at.is_some() {
        return Err(AppError::Validation {
            field: None,
            message: "This account is disabled; ask an administrator to enable it.".into(),
        });
    }
    open_session(db, user_id).await
}

async fn open_session(db: &Db, user_id: i64) -> AppResult<String> {
    let secret = random_secret();
    let now = now_ms();
    with_db!(db, pool => {
        // Expired sessions of anyone are swept on each login.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(pool).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(secret_hash(&secret))
            .bind(user_id)
            .bind(now)
            .bind(now + crate::infra::millis(SESSION_TTL))
            .execute(pool)
            .await?;
    });
    Ok(secret)
}

pub async fn logout(db: &Db, session_secret: &str) -> AppResult<()> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(secret_hash(session_secret))
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn principal_for_session(db: &Db, secret: &str) -> AppResult<Option<Principal>> {
    let row: Option<SessionUser> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.scope FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(secret_hash(secret))
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(|user| Principal {
        subject: Subject::User {
            id: user.id,
            username: user.username,
        },
        role: user.role,
        scope: user.scope,
    }))
}

/// The user a live session belongs to.
#[derive(sqlx::FromRow)]
struct SessionUser {
    id: i64,
    username: String,
    #[sqlx(try_from = "String")]
    role: Role,
    #[sqlx(try_from = "String")]
    scope: Scope,
}
