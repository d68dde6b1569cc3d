//! Password hashing (Argon2), at most two hashes at once in the process.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use segment_contract::error::{AppError, AppResult};

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

pub(super) async fn verify_password(password: String, hash: String) -> AppResult<bool> {
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

pub(super) async fn dummy_hash() -> AppResult<String> {
    if let Some(hash) = DUMMY_HASH.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password("not-a-real-password".into()).await?;
    Ok(DUMMY_HASH.get_or_init(|| hash).clone())
}

/// Password hashes computed at once in this process: each takes ~19 MB and
/// a core for a while, so parallel sign-ins queue instead of piling up.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// How long a sign-in waits for its turn to hash before it is refused.
const HASHING_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn hashing_turn() -> AppResult<tokio::sync::SemaphorePermit<'static>> {
    match tokio::time::timeout(HASHING_WAIT, HASHING.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(AppError::Internal),
        Err(_) => Err(AppError::Timeout(
            "Too many sign-ins at once; try again in a moment.".into(),
        )),
    }
}
