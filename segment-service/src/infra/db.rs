//! One handle over the two supported backends. Queries are written once with
//! `$n` placeholders (understood by both SQLite and PostgreSQL) and compiled
//! for each pool by [`with_db!`], so there is no `sqlx::Any` and each
//! backend keeps its own types.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::infra::db::Db::Sqlite($pool) => $body,
            $crate::infra::db::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating a missing
    /// SQLite file and its directory.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            return Ok(Db::Postgres(pool));
        }
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                // Reads come straight from the OS page cache instead of a
                // read() copy per page into SQLite's small private cache.
                .pragma("mmap_size", "1073741824");
            if let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(15))
                .connect_with(options)
                .await?;
            return Ok(Db::Sqlite(pool));
        }
        anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://, got {url:?}")
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the backend's migrations (`migrations/<backend>/`).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// The server's own version string, e.g. for the health report.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        Ok(match self {
            Db::Sqlite(pool) => {
                let (version,): (String,) = sqlx::query_as("SELECT sqlite_version()").fetch_one(pool).await?;
                format!("SQLite {version}")
            }
            Db::Postgres(pool) => {
                let (version,): (String,) = sqlx::query_as("SELECT version()").fetch_one(pool).await?;
                version
            }
        })
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// Whether a database error is a unique-constraint violation (both backends).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
