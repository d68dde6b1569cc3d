//! Accounts, sessions, API tokens and the login rate limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Principal, Role, Scope, Subject};
use crate::error::{AppError, AppResult};
use crate::infra::db::{Db, is_unique_violation};
use crate::infra::now_ms;
use crate::with_db;

pub const SESSION_COOKIE: &str = "st_session";
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);
const TOKEN_PREFIX: &str = "st_";

// ---------------------------------------------------------------- passwords

pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|error| anyhow::anyhow!("hashing task failed: {error}"))?
    .map_err(|error| anyhow::anyhow!("hashing failed: {error}").into())
}

async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(|error| anyhow::anyhow!("verification task failed: {error}"))?
    .map_err(|error| anyhow::anyhow!("stored password hash is malformed: {error}").into())
}

/// A hash of a password nobody has, so that unknown usernames cost as much
/// time as known ones and do not reveal which accounts exist.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn dummy_hash() -> AppResult<String> {
    if let Some(hash) = DUMMY_HASH.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password("not-a-real-password".into()).await?;
    Ok(DUMMY_HASH.get_or_init(|| hash).clone())
}

// ---------------------------------------------------------------- secrets

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Session and API tokens carry 256 random bits, so a fast hash is enough
/// to keep the stored form useless to a reader of the database.
fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub scope: Scope,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub scope: Scope,
    pub created_at: i64,
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

pub async fn create_user(db: &Db, user: NewUser) -> AppResult<i64> {
    let username = validate_username(&user.username)?;
    if user.password.chars().count() < 8 {
        return Err(AppError::validation("password", "Use at least 8 characters."));
    }
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

pub async fn list_users(db: &Db) -> AppResult<Vec<UserRow>> {
    let rows: Vec<(i64, String, String, String, i64)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, username, role, scope, created_at FROM users ORDER BY username")
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .map(|(id, username, role, scope, created_at)| {
            Ok(UserRow {
                id,
                username,
                role: parse_role(&role)?,
                scope: parse_stored_scope(&scope)?,
                created_at,
            })
        })
        .collect()
}

pub async fn count_users(db: &Db) -> AppResult<i64> {
    Ok(with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?
    }))
}

fn parse_role(text: &str) -> AppResult<Role> {
    Role::parse(text).ok_or_else(|| anyhow::anyhow!("unknown role {text:?} in the database").into())
}

fn parse_stored_scope(text: &str) -> AppResult<Scope> {
    Scope::parse(text).map_err(|_| anyhow::anyhow!("malformed scope {text:?} in the database").into())
}

// ---------------------------------------------------------------- login limiter

/// Counts failed logins per account and per client address in a sliding
/// window; past the limit, further attempts are refused until it passes.
pub struct LoginLimiter {
    window: Duration,
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20)
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: Option<IpAddr>) -> [(String, bool); 2] {
        [
            (format!("account:{}", username.trim().to_lowercase()), true),
            (
                format!("address:{}", address.map(|a| a.to_string()).unwrap_or_default()),
                false,
            ),
        ]
    }

    /// Refuses when either counter is at its limit, saying when to retry.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> AppResult<()> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("limiter lock");
        for (key, is_account) in Self::keys(username, address) {
            let limit = if is_account {
                self.per_account
            } else {
                self.per_address
            };
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            times.retain(|t| now.duration_since(*t) < self.window);
            if times.len() as u32 >= limit {
                let retry = self.window - now.duration_since(times[0]);
                let minutes = retry.as_secs().div_ceil(60).max(1);
                return Err(AppError::RateLimited(format!(
                    "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("limiter lock");
        for (key, _) in Self::keys(username, address) {
            failures.entry(key).or_default().push(now);
        }
    }

    pub fn record_success(&self, username: &str, address: Option<IpAddr>) {
        let [(account, _), _] = Self::keys(username, address);
        self.failures.lock().expect("limiter lock").remove(&account);
    }
}

// ---------------------------------------------------------------- sessions

/// Checks the credentials and opens a session; returns the session secret
/// for the cookie. Wrong username and wrong password read the same.
pub async fn login(
    db: &Db,
    limiter: &LoginLimiter,
    username: &str,
    password: &str,
    address: Option<IpAddr>,
) -> AppResult<String> {
    limiter.check(username, address)?;
    let row: Option<(i64, String)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, password_hash FROM users WHERE username = $1")
            .bind(username.trim())
            .fetch_optional(pool)
            .await?
    });
    let (user_id, hash) = match row {
        Some((id, hash)) => (Some(id), hash),
        None => (None, dummy_hash().await?),
    };
    let password_ok = verify_password(password.to_string(), hash).await?;
    let Some(user_id) = user_id.filter(|_| password_ok) else {
        limiter.record_failure(username, address);
        return Err(AppError::Validation {
            field: None,
            message: "Wrong username or password.".into(),
        });
    };
    limiter.record_success(username, address);

    let secret = random_secret();
    let now = now_ms();
    with_db!(db, pool => {
        // Expired sessions of anyone are swept on each login.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(pool).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(secret_hash(&secret))
            .bind(user_id)
            .bind(now)
            .bind(now + SESSION_TTL.as_millis() as i64)
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

async fn principal_for_session(db: &Db, secret: &str) -> AppResult<Option<Principal>> {
    let row: Option<(i64, String, String, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.scope FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(secret_hash(secret))
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    });
    row.map(|(id, username, role, scope)| {
        Ok(Principal {
            subject: Subject::User { id, username },
            role: parse_role(&role)?,
            scope: parse_stored_scope(&scope)?,
        })
    })
    .transpose()
}

pub fn session_cookie(secret: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

pub fn clearing_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

pub fn session_secret_from(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

// ---------------------------------------------------------------- API tokens

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// The first characters of the token, to recognise it without revealing it.
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn validate_token_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::validation(
            "name",
            "Give the token a name of 1–64 characters.",
        ));
    }
    Ok(name.to_string())
}

/// Creates a token bound to `scope`; the secret is returned once and only
/// its hash is kept.
pub async fn create_token(db: &Db, name: &str, scope: &Scope, created_by: &str) -> AppResult<(i64, String)> {
    let name = validate_token_name(name)?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let id = with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_tokens (name, scope, token_hash, token_prefix, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&name)
        .bind(scope.to_string())
        .bind(secret_hash(&secret))
        .bind(&secret[..TOKEN_PREFIX.len() + 6])
        .bind(created_by)
        .bind(now_ms())
        .fetch_one(pool)
        .await?
    });
    Ok((id, secret))
}

type TokenTuple = (i64, String, String, String, String, i64, Option<i64>, Option<i64>);

pub async fn list_tokens(db: &Db) -> AppResult<Vec<TokenRow>> {
    let rows: Vec<TokenTuple> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, name, scope, token_prefix, created_by, created_at, last_used_at, revoked_at
             FROM api_tokens ORDER BY id DESC",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(
            |(id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at)| {
                Ok(TokenRow {
                    id,
                    name,
                    scope: parse_stored_scope(&scope)?,
                    prefix,
                    created_by,
                    created_at,
                    last_used_at,
                    revoked_at,
                })
            },
        )
        .collect()
}

/// Bearer tokens resolved in the last few seconds, by secret hash: delivery
/// lookups arrive at thousands per second with the same token. A revocation
/// in this process clears it; another process sees it within the TTL.
static TOKEN_CACHE: std::sync::LazyLock<std::sync::Mutex<HashMap<String, (Principal, i64)>>> =
    std::sync::LazyLock::new(Default::default);

const TOKEN_CACHE_TTL_MS: i64 = 5_000;

pub async fn revoke_token(db: &Db, id: i64) -> AppResult<()> {
    TOKEN_CACHE.lock().expect("token cache lock").clear();
    let affected = with_db!(db, pool => {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if affected == 0 {
        return Err(AppError::NotFound("The active token".into()));
    }
    Ok(())
}

/// How stale a token's "last used" may be.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

async fn principal_for_token(db: &Db, secret: &str) -> AppResult<Option<Principal>> {
    let hash = secret_hash(secret);
    let row: Option<(i64, String, String, Option<i64>)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, name, scope, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(&hash)
            .fetch_optional(pool)
            .await?
    });
    let Some((id, name, scope, last_used_at)) = row else {
        return Ok(None);
    };
    // Recorded to the minute, and off the request: a request that waited for
    // the database's writer (busy with an import, or checkpointing its log)
    // would stall every delivery lookup behind it.
    let now = now_ms();
    if last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS) {
        let db = db.clone();
        tokio::spawn(async move {
            let written = with_db!(&db, pool => {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(|_| ())
            });
            if let Err(error) = written {
                tracing::warn!(%error, token = id, "recording the token's last use failed");
            }
        });
    }
    let scope = parse_stored_scope(&scope)?;
    Ok(Some(Principal {
        subject: Subject::Token { id, name },
        role: scope.token_role(),
        scope,
    }))
}

// ---------------------------------------------------------------- requests

/// How a request identified itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    Session(String),
    Bearer(String),
}

impl Credentials {
    pub fn from_headers(headers: &http::HeaderMap) -> Credentials {
        if let Some(value) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or("")
                .trim();
            return Credentials::Bearer(token.to_string());
        }
        match session_secret_from(headers) {
            Some(secret) => Credentials::Session(secret),
            None => Credentials::None,
        }
    }
}

/// Resolves the credentials to a principal. A presented but unknown or
/// revoked bearer token is an error; an unknown session is just anonymous.
pub async fn resolve(db: &Db, credentials: &Credentials) -> AppResult<Option<Principal>> {
    match credentials {
        Credentials::None => Ok(None),
        Credentials::Session(secret) => principal_for_session(db, secret).await,
        Credentials::Bearer(token) => {
            let hash = secret_hash(token);
            let now = now_ms();
            if let Some((principal, at)) = TOKEN_CACHE.lock().expect("token cache lock").get(&hash)
                && now - at < TOKEN_CACHE_TTL_MS
            {
                return Ok(Some(principal.clone()));
            }
            match principal_for_token(db, token).await? {
                Some(principal) => {
                    let mut cache = TOKEN_CACHE.lock().expect("token cache lock");
                    if cache.len() >= 10_000 {
                        cache.clear();
                    }
                    cache.insert(hash, (principal.clone(), now));
                    Ok(Some(principal))
                }
                None => Err(AppError::Unauthenticated),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_locks_an_account_after_its_limit_and_success_resets_it() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100);
        let addr = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check("alice", addr).is_ok());
            limiter.record_failure("alice", addr);
        }
        let error = limiter.check("Alice", addr).unwrap_err();
        assert!(
            matches!(error, AppError::RateLimited(ref m) if m.contains("Try again")),
            "{error:?}"
        );
        assert!(
            limiter.check("bob", addr).is_ok(),
            "other accounts are unaffected"
        );
        limiter.record_success("alice", addr);
        assert!(limiter.check("alice", addr).is_ok());
    }

    #[test]
    fn limiter_locks_an_address_across_accounts() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 100, 2);
        let addr = Some("10.0.0.2".parse().unwrap());
        limiter.record_failure("a", addr);
        limiter.record_failure("b", addr);
        assert!(limiter.check("c", addr).is_err());
        assert!(limiter.check("c", Some("10.0.0.3".parse().unwrap())).is_ok());
    }

    #[test]
    fn reads_the_session_cookie_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; st_session=abc; b=2".parse().unwrap());
        assert_eq!(session_secret_from(&headers).as_deref(), Some("abc"));
        assert_eq!(
            Credentials::from_headers(&headers),
            Credentials::Session("abc".into())
        );
        headers.insert(http::header::AUTHORIZATION, "Bearer st_x".parse().unwrap());
        assert_eq!(
            Credentials::from_headers(&headers),
            Credentials::Bearer("st_x".into())
        );
    }

    #[test]
    fn roles_need_matching_scopes() {
        assert!(check_role_scope(Role::Admin, &Scope::Platform).is_ok());
        assert!(check_role_scope(Role::Merchant, &Scope::Platform).is_err());
        assert!(check_role_scope(Role::Merchant, &Scope::Merchant("M1".into())).is_ok());
        assert!(check_role_scope(Role::StoreManager, &Scope::stores(vec!["S1".into()])).is_ok());
        assert!(check_role_scope(Role::Operator, &Scope::Merchant("M1".into())).is_err());
    }
}
