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

use crate::infra::db::{Db, is_unique_violation};
use crate::infra::{now_ms, stored_scope};
use crate::with_db;
use segment_contract::auth::{
    Principal, Role, SESSION_TTL, Scope, Subject, TokenView, UserView, session_secret_from,
};
use segment_contract::error::{AppError, AppResult};

const TOKEN_PREFIX: &str = "st_";

// ---------------------------------------------------------------- passwords

pub async fn hash_password(password: String) -> AppResult<String> {
    let _turn = hashing_turn().await?;
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
    let _turn = hashing_turn().await?;
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

type UserTuple = (i64, String, String, String, i64, Option<i64>);

fn user_row((id, username, role, scope, created_at, disabled_at): UserTuple) -> AppResult<UserView> {
    Ok(UserView {
        id,
        username,
        role: parse_role(&role)?,
        scope: stored_scope(&scope)?,
        created_at,
        disabled_at,
    })
}

const SELECT_USERS: &str = "SELECT id, username, role, scope, created_at, disabled_at FROM users";

pub async fn list_users(db: &Db) -> AppResult<Vec<UserView>> {
    let rows: Vec<UserTuple> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} ORDER BY username")).fetch_all(pool).await?
    });
    rows.into_iter().map(user_row).collect()
}

/// The account named `username` (for the command line).
pub async fn find_user(db: &Db, username: &str) -> AppResult<UserView> {
    let row: Option<UserTuple> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} WHERE username = $1"))
            .bind(username.trim())
            .fetch_optional(pool)
            .await?
    });
    row.map(user_row)
        .transpose()?
        .ok_or_else(|| AppError::NotFound(format!("The user {:?}", username.trim())))
}

async fn get_user(db: &Db, id: i64) -> AppResult<UserView> {
    let row: Option<UserTuple> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_USERS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.map(user_row)
        .transpose()?
        .ok_or_else(|| AppError::NotFound("The user".into()))
}

/// Ends every session of `user_id` but `keep` (a session secret).
async fn end_sessions(db: &Db, user_id: i64, keep: Option<&str>) -> AppResult<u64> {
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

fn parse_role(text: &str) -> AppResult<Role> {
    Role::parse(text).ok_or_else(|| anyhow::anyhow!("unknown role {text:?} in the database").into())
}

// ---------------------------------------------------------------- login limiter

/// Limits password guessing without letting anyone lock an owner out.
///
/// - Per account and client address: after 5 failures in 15 minutes that
///   address may not try that account again until the window passes.
/// - Per address: after 20 failures in 15 minutes, on any accounts, the
///   address may not sign in at all for a while.
/// - Per account, from every address: once 10 attempts have failed in the
///   window, an address that has itself failed on the account waits a
///   doubling delay (up to 5 minutes) between attempts. An address with no
///   failure on the account is never held back by others' failures, so
///   the right password from a clean address always gets checked.
///
/// An attempt is counted before its password is checked, so parallel
/// requests cannot get more guesses than the limit.
pub struct LoginLimiter {
    window: Duration,
    per_pair: usize,
    per_address: usize,
    backoff_after: usize,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    pairs: HashMap<String, Vec<Instant>>,
    addresses: HashMap<String, Vec<Instant>>,
    accounts: HashMap<String, Vec<Instant>>,
}

/// Keys tracked at most per map; past it expired entries are swept, and if
/// that is not enough the map starts over (memory stays bounded whatever
/// number of names and addresses is tried).
const LIMITER_KEYS: usize = 50_000;
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// A counted attempt: a failure unless [`LoginLimiter::succeeded`] says otherwise.
pub struct Attempt {
    pair: String,
    address: String,
    account: String,
    at: Instant,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20, 10)
    }
}

fn wait_message(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    if seconds < 90 {
        format!("Too many failed sign-in attempts. Try again in {seconds} seconds.")
    } else {
        let minutes = seconds.div_ceil(60);
        format!("Too many failed sign-in attempts. Try again in {minutes} minutes.")
    }
}

impl LoginLimiter {
    pub fn new(window: Duration, per_pair: usize, per_address: usize, backoff_after: usize) -> Self {
        Self {
            window,
            per_pair,
            per_address,
            backoff_after,
            failures: Mutex::new(Failures::default()),
        }
    }

    /// Counts an attempt on `username` from `address`, or refuses it with
    /// when to try again.
    pub fn begin(&self, username: &str, address: Option<IpAddr>) -> AppResult<Attempt> {
        let now = Instant::now();
        let account = username.trim().to_lowercase();
        let address = address.map(|a| a.to_string()).unwrap_or_default();
        let pair = format!("{account}\n{address}");
        let window = self.window;
        let mut failures = self.failures.lock().expect("limiter lock");
        let failures = &mut *failures;
        let recent = |map: &mut HashMap<String, Vec<Instant>>, key: &str| -> Vec<Instant> {
            match map.get_mut(key) {
                Some(times) => {
                    times.retain(|t| now.duration_since(*t) < window);
                    times.clone()
                }
                None => Vec::new(),
            }
        };
        let pair_failures = recent(&mut failures.pairs, &pair);
        let address_failures = recent(&mut failures.addresses, &address);
        let account_failures = recent(&mut failures.accounts, &account);
        let until_window_passes = |times: &[Instant]| window.saturating_sub(now.duration_since(times[0]));
        if pair_failures.len() >= self.per_pair {
            return Err(AppError::RateLimited(wait_message(until_window_passes(
                &pair_failures,
            ))));
        }
        if address_failures.len() >= self.per_address {
            return Err(AppError::RateLimited(wait_message(until_window_passes(
                &address_failures,
            ))));
        }
        if !pair_failures.is_empty() && account_failures.len() >= self.backoff_after {
            let doublings =
                u32::try_from((account_failures.len() - self.backoff_after).min(16)).unwrap_or(16);
            let delay = (Duration::from_secs(1) * 2u32.pow(doublings)).min(MAX_BACKOFF);
            let since = now.duration_since(*account_failures.last().expect("not empty"));
            if since < delay {
                return Err(AppError::RateLimited(wait_message(delay - since)));
            }
        }
        for (map, key) in [
            (&mut failures.pairs, &pair),
            (&mut failures.addresses, &address),
            (&mut failures.accounts, &account),
        ] {
            if map.len() >= LIMITER_KEYS && !map.contains_key(key) {
                map.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
                if map.len() >= LIMITER_KEYS {
                    tracing::warn!("the login limiter forgot its history: too many names or addresses");
                    map.clear();
                }
            }
            map.entry(key.clone()).or_default().push(now);
        }
        Ok(Attempt {
            pair,
            address,
            account,
            at: now,
        })
    }

    /// The attempt's password was right: it was no failure, and the
    /// address starts afresh on the account.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut failures = self.failures.lock().expect("limiter lock");
        let failures = &mut *failures;
        failures.pairs.remove(&attempt.pair);
        for (map, key) in [
            (&mut failures.addresses, &attempt.address),
            (&mut failures.accounts, &attempt.account),
        ] {
            if let Some(times) = map.get_mut(key)
                && let Some(at) = times.iter().rposition(|t| *t == attempt.at)
            {
                times.remove(at);
            }
        }
    }
}

/// Password hashes computed at once in this process: each takes ~19 MB and
/// a core for a while, so parallel sign-ins queue instead of piling up.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// How long a sign-in waits for its turn to hash before it is refused.
const HASHING_WAIT: Duration = Duration::from_secs(10);

async fn hashing_turn() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    match tokio::time::timeout(HASHING_WAIT, HASHING.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(AppError::Internal),
        Err(_) => Err(AppError::Timeout(
            "Too many sign-ins at once; try again in a moment.".into(),
        )),
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

async fn principal_for_session(db: &Db, secret: &str) -> AppResult<Option<Principal>> {
    let row: Option<(i64, String, String, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.scope FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
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
            scope: stored_scope(&scope)?,
        })
    })
    .transpose()
}

// ---------------------------------------------------------------- API tokens

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

/// The longest a token may be made to last, in days.
pub const MAX_TOKEN_DAYS: i64 = 3_660;

/// Creates a token bound to `scope`, working until `expires_at` (Unix ms)
/// when given; the secret is returned once and only its hash is kept.
pub async fn create_token(
    db: &Db,
    name: &str,
    scope: &Scope,
    created_by: &str,
    expires_at: Option<i64>,
) -> AppResult<(i64, String)> {
    let name = validate_token_name(name)?;
    let now = now_ms();
    if let Some(at) = expires_at
        && (at <= now || at > now + MAX_TOKEN_DAYS * 86_400_000)
    {
        return Err(AppError::validation(
            "expires_in_days",
            format!("A token expires in 1 to {MAX_TOKEN_DAYS} days (or never)."),
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let id = with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_tokens (name, scope, token_hash, token_prefix, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&name)
        .bind(scope.to_string())
        .bind(secret_hash(&secret))
        .bind(&secret[..TOKEN_PREFIX.len() + 6])
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .fetch_one(pool)
        .await?
    });
    Ok((id, secret))
}

type TokenTuple = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub async fn list_tokens(db: &Db) -> AppResult<Vec<TokenView>> {
    let rows: Vec<TokenTuple> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, name, scope, token_prefix, created_by, created_at, last_used_at, revoked_at, expires_at
             FROM api_tokens ORDER BY id DESC",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(
            |(id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at, expires_at)| {
                Ok(TokenView {
                    id,
                    name,
                    scope: stored_scope(&scope)?,
                    prefix,
                    created_by,
                    created_at,
                    last_used_at,
                    revoked_at,
                    expires_at,
                })
            },
        )
        .collect()
}

/// Bearer tokens resolved in the last few seconds, by secret hash: delivery
/// lookups arrive at thousands per second with the same token. A revocation
/// through this server clears it; another process's is seen within the TTL.
#[derive(Clone)]
pub struct TokenCache(moka::sync::Cache<String, CachedToken>);

#[derive(Clone)]
struct CachedToken {
    principal: Principal,
    expires_at: Option<i64>,
}

const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);

impl Default for TokenCache {
    fn default() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TOKEN_CACHE_TTL)
                .build(),
        )
    }
}

impl TokenCache {
    /// Forgets every token (after a revocation).
    pub fn clear(&self) {
        self.0.invalidate_all();
    }
}

/// Revokes a token; the caller clears its [`TokenCache`].
pub async fn revoke_token(db: &Db, id: i64) -> AppResult<()> {
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

async fn principal_for_token(db: &Db, secret: &str) -> AppResult<Option<(Principal, Option<i64>)>> {
    let hash = secret_hash(secret);
    // id, name, scope, last used, expires
    type TokenLookup = (i64, String, String, Option<i64>, Option<i64>);
    let row: Option<TokenLookup> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, name, scope, last_used_at, expires_at FROM api_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(&hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    });
    let Some((id, name, scope, last_used_at, expires_at)) = row else {
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
    let scope = stored_scope(&scope)?;
    Ok(Some((
        Principal {
            subject: Subject::Token { id, name },
            role: scope.token_role(),
            scope,
        },
        expires_at,
    )))
}

// ---------------------------------------------------------------- requests

/// The client's address: the peer's, or behind a trusted reverse proxy
/// (`TRUSTED_PROXY`) the last address of `X-Forwarded-For` that is not
/// itself a trusted proxy. Off by default: the header is anyone's to write.
pub fn client_address(headers: &http::HeaderMap, peer: Option<IpAddr>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|address| address.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .or(Some(peer))
}

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
pub async fn resolve(
    db: &Db,
    tokens: &TokenCache,
    credentials: &Credentials,
) -> AppResult<Option<Principal>> {
    match credentials {
        Credentials::None => Ok(None),
        Credentials::Session(secret) => principal_for_session(db, secret).await,
        Credentials::Bearer(token) => {
            let hash = secret_hash(token);
            let now = now_ms();
            if let Some(cached) = tokens.0.get(&hash)
                && cached.expires_at.is_none_or(|at| at > now)
            {
                return Ok(Some(cached.principal));
            }
            match principal_for_token(db, token).await? {
                Some((principal, expires_at)) => {
                    let cached = CachedToken {
                        principal: principal.clone(),
                        expires_at,
                    };
                    tokens.0.insert(hash, cached);
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

    fn addr(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn parallel_attempts_get_no_more_guesses_than_the_limit() {
        let limiter = std::sync::Arc::new(LoginLimiter::new(Duration::from_secs(60), 5, 100, 100));
        let threads: Vec<_> = (0..30)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || limiter.begin("alice", addr("10.0.0.1")).is_ok())
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|admitted| *admitted)
            .count();
        assert_eq!(admitted, 5, "attempts are counted before any password is checked");
    }

    #[test]
    fn an_address_that_guessed_wrong_is_refused_but_the_owner_from_a_clean_address_is_not() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100, 100);
        for _ in 0..3 {
            drop(limiter.begin("alice", addr("10.0.0.1")).unwrap());
        }
        let error = limiter.begin("Alice", addr("10.0.0.1")).err().unwrap();
        assert!(
            matches!(error, AppError::RateLimited(ref m) if m.contains("Try again")),
            "{error:?}"
        );
        let owner = limiter
            .begin("alice", addr("10.0.0.9"))
            .expect("a clean address is checked");
        limiter.succeeded(owner);
        assert!(
            limiter.begin("bob", addr("10.0.0.1")).is_ok(),
            "other accounts are unaffected"
        );
    }

    #[test]
    fn a_success_clears_the_address_on_that_account() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 100, 100);
        for _ in 0..2 {
            drop(limiter.begin("alice", addr("10.0.0.1")).unwrap());
        }
        let right = limiter.begin("alice", addr("10.0.0.1")).unwrap();
        limiter.succeeded(right);
        for _ in 0..3 {
            drop(limiter.begin("alice", addr("10.0.0.1")).expect("starts afresh"));
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 100, 2, 100);
        drop(limiter.begin("a", addr("10.0.0.2")).unwrap());
        drop(limiter.begin("b", addr("10.0.0.2")).unwrap());
        assert!(limiter.begin("c", addr("10.0.0.2")).is_err());
        assert!(limiter.begin("c", addr("10.0.0.3")).is_ok());
    }

    #[test]
    fn an_account_under_attack_slows_addresses_that_failed_on_it_only() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, 100, 4);
        // Four addresses fail once each: the account is now under attack.
        for n in 1..=4 {
            drop(limiter.begin("alice", addr(&format!("10.0.1.{n}"))).unwrap());
        }
        let error = limiter
            .begin("alice", addr("10.0.1.1"))
            .err()
            .expect("a failed address waits");
        assert!(error.to_string().contains("seconds"), "{error}");
        let owner = limiter
            .begin("alice", addr("10.0.2.1"))
            .expect("a clean address is never held back");
        limiter.succeeded(owner);
    }

    #[test]
    fn the_limiter_forgets_when_too_many_names_are_tried() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, usize::MAX, 100);
        for n in 0..LIMITER_KEYS + 10 {
            drop(limiter.begin(&format!("user{n}"), addr("10.0.0.1")).unwrap());
        }
        let failures = limiter.failures.lock().unwrap();
        assert!(failures.pairs.len() <= LIMITER_KEYS, "{}", failures.pairs.len());
        assert!(failures.accounts.len() <= LIMITER_KEYS);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 10.0.0.7, 127.0.0.1".parse().unwrap());
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let peer = Some(proxy);
        assert_eq!(client_address(&headers, peer, &[]), peer, "off by default");
        assert_eq!(
            client_address(&headers, peer, &[proxy]),
            addr("10.0.0.7"),
            "the nearest address the proxy saw, not what the client wrote"
        );
        assert_eq!(
            client_address(&headers, addr("10.9.9.9"), &[proxy]),
            addr("10.9.9.9"),
            "an untrusted peer's header is ignored"
        );
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
