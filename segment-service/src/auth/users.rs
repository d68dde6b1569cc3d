//! Accounts: creation, listing, passwords, disabling.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::infra::db::{Db, is_unique_violation};
use crate::infra::now_ms;
use crate::with_db;
use segment_contract::auth::{Role, Scope, UserView};
use segment_contract::error::{AppError, AppResult};

use super::limiter::LoginLimiter;
use super::passwords::{hash_password, verify_password};
use super::secrets::secret_hash;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub scope: Scope,
}

pub fn validate_username(username: &str) -> AppResult<String> {
    let username = username.trim();
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-@".contains(c));
    if username.len() < 3 || username.len() > 64 || !ok_chars {
        return Err(AppError::validation(
            "username",
            "Use 3–64 letters, digits, '_', '.', '-' or '@'.",
        ));
    }
    Ok(username.to_string())
}

/// The scope a role must have: platform roles are platform-wide, a merchant
/// is bound to one merchant, a store manager to one or more stores.
pub fn check_role_scope(role: Role, scope: &Scope) -> AppResult<()> {
    let fits = match role {
        Role::Admin | Role::Operator => scope.is_platform(),
        Role::Merchant => matches!(scope, Scope::Merchant(_)),
        Role::StoreManager => matches!(scope, Scope::Stores(ids) if !ids.is_empty()),
    };
    if fits {
        Ok(())
    } else {
        Err(AppError::validation(
            "scope",
            match role {
                Role::Admin | Role::Operator => "Platform roles cannot be bound to a merchant or store.",
                Role::Merchant => "A merchant account needs a merchant ID.",
                Role::StoreManager => "A store manager needs one or more store IDs.",
            },
        ))
    }
}

/// The shortest password an account may have.
pub const MIN_PASSWORD: usize = 8;

fn check_new_password(password: &str, field: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::validation(
            field,
            format!("Use at least {MIN_PASSWORD} characters."),
        ));
    }
    if password.len() > 1024 {
        return Err(AppError::validation(field, "Use at most 1,024 characters."));
    }
    Ok(())
}

pub async fn create_user(db: &Db, user: NewUser) -> AppResult<i64> {
    let username = validate_username(&user.username)?;
    check_new_password(&user.password, "password")?;
    check_role_scope(user.role, &user.scope)?;
    let hash = hash_password(user.password).await?;
    let result = with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, password_hash, role, scope, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&username)
        .bind(&hash)
        .bind(user.role.as_str())
        .bind(user.scope.to_string())
        .bind(now_ms())
        .fetch_one(pool)
        .await
    });
    match result {
        Ok(id) => Ok(id),
        Err(error) if is_unique_violation(&error) => Err(AppError::Conflict(format!(
            "A user named {username:?} already exists."
        ))),
        Err(error) => Err(error.into()),
    }
}

const SELECT_USERS: &str = "SELECT id, username, role, scope, created_at, disabled_at FROM users";

pub async fn list_users(db: &Db) -> AppResult<Vec<UserView>> {
    let rows: Vec<UserView> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} ORDER BY username")).fetch_all(pool).await?
    });
    Ok(rows)
}

/// The account named `username` (for the command line).
pub async fn find_user(db: &Db, username: &str) -> AppResult<UserView> {
    let row: Option<UserView> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} WHERE username = $1"))
            .bind(username.trim())
            .fetch_optional(pool)
            .await?
    });
    row.ok_or_else(|| AppError::NotFound(format!("The user {:?}", username.trim())))
}

pub(super) async fn get_user(db: &Db, id: i64) -> AppResult<UserView> {
    let row: Option<UserView> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.ok_or_else(|| AppError::NotFound("The user".into()))
}

/// Ends every session of `user_id` but `keep` (a session secret).
pub(super) async fn end_sessions(db: &Db, user_id: i64, keep: Option<&str>) -> AppResult<u64> {
    let keep = keep.map(secret_hash).unwrap_or_default();
    Ok(with_db!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(&keep)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

async fn store_password(db: &Db, user_id: i64, password: String) -> AppResult<()> {
    let hash = hash_password(password).await?;
    with_db!(db, pool => {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(())
}

/// A signed-in user changes their own password: the current one must be
/// right (guesses count like sign-in attempts); every other session of
/// theirs ends, the one in use stays open.
pub async fn change_password(
    db: &Db,
    limiter: &LoginLimiter,
    user_id: i64,
    session_secret: Option<&str>,
    current: &str,
    new: &str,
    address: Option<IpAddr>,
) -> AppResult<()> {
    let user = get_user(db, user_id).await?;
    check_new_password(new, "new_password")?;
    if new == current {
        return Err(AppError::validation(
            "new_password",
            "Choose a password different from the current one.",
        ));
    }
    let attempt = limiter.begin(&user.username, address)?;
    let hash: String = with_db!(db, pool => {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await?
    });
    if !verify_password(current.to_string(), hash).await? {
        return Err(AppError::validation(
            "current_password",
            "The current password is wrong.",
        ));
    }
    limiter.succeeded(attempt);
    store_password(db, user_id, new.to_string()).await?;
    let ended = end_sessions(db, user_id, session_secret).await?;
    tracing::info!(user = %user.username, ended, "password changed");
    Ok(())
}

/// An administrator (or the command line) sets a user's password; all the
/// user's sessions end.
pub async fn reset_password(db: &Db, user_id: i64, password: &str) -> AppResult<()> {
    check_new_password(password, "password")?;
    let user = get_user(db, user_id).await?;
    store_password(db, user_id, password.to_string()).await?;
    let ended = end_sessions(db, user_id, None).await?;
    tracing::info!(user = %user.username, ended, "password reset");
    Ok(())
}

/// Disables or enables an account. A disabled account cannot sign in and
/// its sessions end at once. The last enabled administrator cannot be
/// disabled, and `actor` (an administrator's user ID) not itself.
pub async fn set_disabled(db: &Db, actor: Option<i64>, user_id: i64, disabled: bool) -> AppResult<UserView> {
    let user = get_user(db, user_id).await?;
    if disabled {
        if actor == Some(user_id) {
            return Err(AppError::Conflict("You cannot disable your own account.".into()));
        }
        if user.role == Role::Admin && user.disabled_at.is_none() {
            let admins: i64 = with_db!(db, pool => {
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
                    .fetch_one(pool)
                    .await?
            });
            if admins <= 1 {
                return Err(AppError::Conflict(
                    "This is the last enabled administrator; enable or create another first.".into(),
                ));
            }
        }
    }
    let at = disabled.then(now_ms);
    with_db!(db, pool => {
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(at)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if disabled {
        let ended = end_sessions(db, user_id, None).await?;
        tracing::info!(user = %user.username, ended, "account disabled");
    } else {
        tracing::info!(user = %user.username, "account enabled");
    }
    get_user(db, user_id).await
}

pub async fn count_users(db: &Db) -> AppResult<i64> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_need_matching_scopes() {
        assert!(check_role_scope(Role::Admin, &Scope::Platform).is_ok());
        assert!(check_role_scope(Role::Merchant, &Scope::Platform).is_err());
        assert!(check_role_scope(Role::Merchant, &Scope::Merchant("M1".into())).is_ok());
        assert!(check_role_scope(Role::StoreManager, &Scope::stores(vec!["S1".into()])).is_ok());
        assert!(check_role_scope(Role::Operator, &Scope::Merchant("M1".into())).is_err());
    }
}
