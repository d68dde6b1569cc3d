//! API tokens for campaign systems: creation, listing, revocation and the cache of resolved tokens.

use std::time::Duration;

use crate::infra::db::Db;
use crate::infra::now_ms;
use crate::with_db;
use segment_contract::auth::{Principal, Scope, Subject, TokenView};
use segment_contract::error::{AppError, AppResult};

use super::secrets::{TOKEN_PREFIX, random_secret, secret_hash};

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

pub async fn list_tokens(db: &Db) -> AppResult<Vec<TokenView>> {
    let rows: Vec<TokenView> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, name, scope, token_prefix, created_by, created_at, last_used_at, revoked_at, expires_at
             FROM api_tokens ORDER BY id DESC",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
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

    /// The principal of a bearer token, from the cache or the database; an
    /// unknown, revoked or expired token is refused.
    pub(super) async fn resolve(&self, db: &Db, token: &str) -> AppResult<Principal> {
        let hash = secret_hash(token);
        let now = now_ms();
        if let Some(cached) = self.0.get(&hash)
            && cached.expires_at.is_none_or(|at| at > now)
        {
            return Ok(cached.principal);
        }
        match principal_for_token(db, token).await? {
            Some((principal, expires_at)) => {
                let cached = CachedToken {
                    principal: principal.clone(),
                    expires_at,
                };
                self.0.insert(hash, cached);
                Ok(principal)
            }
            None => Err(AppError::Unauthenticated),
        }
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

/// A live token's row, as a bearer lookup reads it.
#[derive(sqlx::FromRow)]
struct TokenLookup {
    id: i64,
    name: String,
    #[sqlx(try_from = "String")]
    scope: Scope,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

/// How stale a token's "last used" may be.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

async fn principal_for_token(db: &Db, secret: &str) -> AppResult<Option<(Principal, Option<i64>)>> {
    let hash = secret_hash(secret);
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
    let Some(TokenLookup {
        id,
        name,
        scope,
        last_used_at,
        expires_at,
    }) = row
    else {
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
    Ok(Some((
        Principal {
            subject: Subject::Token { id, name },
            role: scope.token_role(),
            scope,
        },
        expires_at,
    )))
}
