//! Executes SQL compiled from a plan on the warehouse database: the
//! reference the engine is tested against, and the SQL contenders of the
//! benchmark.

use segment_core::sql::{CompiledSql, Param};

use crate::infra::db::Db;
use crate::infra::ordinal;

macro_rules! bind_all {
    ($query:expr, $params:expr, $date:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                Param::Text(text) => query.bind(text.clone()),
                Param::Int(n) => query.bind(*n),
                Param::Real(x) => query.bind(*x),
                Param::Date(date) => query.bind($date(date)),
            };
        }
        query
    }};
}

/// The member indexes a statement compiled with `Output::Indexes` returns.
pub async fn member_indexes(db: &Db, sql: &CompiledSql) -> sqlx::Result<Vec<u32>> {
    // Member indexes are INTEGER columns: read them as BIGINT on both backends.
    let text = sql
        .text
        .replacen("SELECT e.idx", "SELECT CAST(e.idx AS BIGINT)", 1);
    let rows: Vec<(i64,)> = match db {
        Db::Sqlite(pool) => {
            bind_all!(sqlx::query_as(&text), &sql.params, |d: &chrono::NaiveDate| d
                .format("%Y-%m-%d")
                .to_string())
            .fetch_all(pool)
            .await?
        }
        Db::Postgres(pool) => {
            bind_all!(sqlx::query_as(&text), &sql.params, |d: &chrono::NaiveDate| *d)
                .fetch_all(pool)
                .await?
        }
    };
    rows.into_iter().map(|(idx,)| ordinal(idx)).collect()
}

/// The count a statement compiled with `Output::Count` returns.
pub async fn count(db: &Db, sql: &CompiledSql) -> sqlx::Result<u64> {
    let (count,): (i64,) = match db {
        Db::Sqlite(pool) => {
            bind_all!(sqlx::query_as(&sql.text), &sql.params, |d: &chrono::NaiveDate| d
                .format("%Y-%m-%d")
                .to_string())
            .fetch_one(pool)
            .await?
        }
        Db::Postgres(pool) => {
            bind_all!(sqlx::query_as(&sql.text), &sql.params, |d: &chrono::NaiveDate| *d)
                .fetch_one(pool)
                .await?
        }
    };
    // COUNT(*) is never negative.
    Ok(u64::try_from(count).unwrap_or(0))
}
