//! The warehouse connection. Access is read-only at the connection level
//! (SQLite opened read-only, PostgreSQL sessions in read-only transactions),
//! and a table or column name from a user is only ever used after it was
//! found in the warehouse's own catalog — then quoted as an identifier. No
//! user text is spliced into SQL.

use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::infra::db::Db;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::warehouse::{WarehouseColumn, WarehouseTable};

/// A connected warehouse.
#[derive(Clone, Debug)]
pub struct Warehouse {
    db: Db,
}

/// A table found in the catalog: how to name it in SQL and to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// PostgreSQL schema; `None` on SQLite.
    schema: Option<String>,
    name: String,
}

impl TableRef {
    /// The name as shown and as accepted back (`schema.table` outside `public`).
    pub fn display(&self) -> String {
        match &self.schema {
            Some(schema) if schema != "public" => format!("{schema}.{}", self.name),
            _ => self.name.clone(),
        }
    }

    fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&self.name)),
            None => quote(&self.name),
        }
    }
}

/// An SQL identifier in double quotes, inner quotes doubled (both dialects).
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Only platform staff read the warehouse: its tables are not scoped to a
/// merchant or store.
pub fn authorize(principal: &Principal) -> AppResult<()> {
    match principal.scope {
        Scope::Platform => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

/// The connected warehouse, or why there is none.
pub fn connected(warehouse: Option<&Warehouse>) -> AppResult<&Warehouse> {
    warehouse.ok_or_else(|| {
        AppError::Unavailable(
            "No warehouse is connected: the server's WAREHOUSE_URL is not set (serve --demo connects the demo warehouse)."
                .into(),
        )
    })
}

impl Warehouse {
    /// Connects read-only to `url` (`sqlite:…` of an existing file, or `postgres://…`).
    pub async fn connect(url: &str) -> anyhow::Result<Warehouse> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?.options([("default_transaction_read_only", "on")]);
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            return Ok(Warehouse {
                db: Db::Postgres(pool),
            });
        }
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .read_only(true)
                .create_if_missing(false);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            return Ok(Warehouse { db: Db::Sqlite(pool) });
        }
        anyhow::bail!("WAREHOUSE_URL must start with sqlite: or postgres://")
    }

    async fn catalog(&self) -> AppResult<Vec<TableRef>> {
        Ok(match &self.db {
            Db::Sqlite(pool) => sqlx::query_scalar::<_, String>(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|name| TableRef { schema: None, name })
            .collect(),
            Db::Postgres(pool) => sqlx::query_as::<_, (String, String)>(
                "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|(schema, name)| TableRef {
                schema: Some(schema),
                name,
            })
            .collect(),
        })
    }

    /// Every table and view, by the names [`Warehouse::resolve`] accepts.
    pub async fn tables(&self) -> AppResult<Vec<String>> {
        Ok(self.catalog().await?.iter().map(TableRef::display).collect())
    }

    /// The catalog's table named `name` (exactly, or else ignoring case when that is unambiguous).
    pub async fn resolve(&self, name: &str) -> AppResult<TableRef> {
        let name = name.trim();
        let catalog = self.catalog().await?;
        if let Some(table) = catalog.iter().find(|t| t.display() == name) {
            return Ok(table.clone());
        }
        let mut folded = catalog.iter().filter(|t| t.display().eq_ignore_ascii_case(name));
        match (folded.next(), folded.next()) {
            (Some(table), None) => Ok(table.clone()),
            _ => Err(AppError::NotFound(format!("Table {name:?} in the warehouse"))),
        }
    }

    /// The columns of `table`'s catalog entry, in order.
    async fn columns(&self, table: &TableRef) -> AppResult<Vec<WarehouseColumn>> {
        let rows: Vec<(String, String)> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&table.name)
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                )
                .bind(table.schema.as_deref().unwrap_or("public"))
                .bind(&table.name)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(name, data_type)| WarehouseColumn {
                name,
                data_type: if data_type.is_empty() {
                    "any".into()
                } else {
                    data_type.to_lowercase()
                },
            })
            .collect())
    }

    /// Get Data: the table's columns and size.
    pub async fn describe(&self, name: &str) -> AppResult<WarehouseTable> {
        let table = self.resolve(name).await?;
        let columns = self.columns(&table).await?;
        let rows = match &self.db {
            Db::Sqlite(pool) => {
                let sql = format!("SELECT COUNT(*) FROM {}", table.quoted());
                Some(sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?)
            }
            // Counting a large PostgreSQL table takes a scan; the planner's estimate is free.
            Db::Postgres(pool) => sqlx::query_scalar::<_, f32>(
                "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2",
            )
            .bind(table.schema.as_deref().unwrap_or("public"))
            .bind(&table.name)
            .fetch_optional(pool)
            .await?
            .filter(|estimate| *estimate >= 0.0)
            // The planner's estimate of a row count: non-negative, and rounding is what we want.
            .map(|estimate| {
                #[allow(clippy::cast_possible_truncation)]
                let rows = estimate.round() as i64;
                rows
            }),
        };
        Ok(WarehouseTable {
            table: table.display(),
            columns,
            rows: rows.and_then(|n| u64::try_from(n).ok()),
        })
    }

    /// The catalog's column of `table` named `column` (exactly).
    pub async fn column(&self, table: &TableRef, column: &str) -> AppResult<String> {
        self.columns(table)
            .await?
            .into_iter()
            .map(|c| c.name)
            .find(|name| name == column.trim())
            .ok_or_else(|| AppError::NotFound(format!("Column {column:?} of {}", table.display())))
    }

    /// Streams the distinct non-null values of a catalog-checked column as
    /// text, `batch` at a time, to `sink`.
    pub async fn distinct_values(
        &self,
        table: &TableRef,
        column: &str,
        batch: usize,
        sink: &mut impl ValueSink,
    ) -> AppResult<()> {
        let column = self.column(table, column).await?;
        let sql = format!(
            "SELECT DISTINCT CAST({column} AS TEXT) FROM {table} WHERE {column} IS NOT NULL",
            column = quote(&column),
            table = table.quoted()
        );
        let mut pending = Vec::with_capacity(batch);
        with_db!(&self.db, pool => {
            let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(pool);
            while let Some(value) = rows.try_next().await? {
                pending.push(value);
                if pending.len() >= batch {
                    sink.take(std::mem::take(&mut pending)).await?;
                }
            }
        });
        if !pending.is_empty() {
            sink.take(pending).await?;
        }
        Ok(())
    }
}

/// Where [`Warehouse::distinct_values`] delivers its batches.
pub trait ValueSink {
    fn take(&mut self, values: Vec<String>) -> impl std::future::Future<Output = AppResult<()>> + Send;
}

/// Maps warehouse values to member indexes of a population, counting the unknown ones.
pub struct PopulationMatcher {
    dictionary: std::sync::Arc<segment_core::dictionary::EntityDictionary>,
    pub members: roaring::RoaringBitmap,
    pub read: segment_contract::warehouse::WarehouseRead,
}

/// Unknown values kept as examples.
const UNKNOWN_SAMPLE: usize = 20;

impl PopulationMatcher {
    pub fn new(
        dictionary: std::sync::Arc<segment_core::dictionary::EntityDictionary>,
        table: &TableRef,
        id_column: &str,
    ) -> Self {
        Self {
            dictionary,
            members: roaring::RoaringBitmap::new(),
            read: segment_contract::warehouse::WarehouseRead {
                table: table.display(),
                id_column: id_column.to_string(),
                ..Default::default()
            },
        }
    }
}

impl ValueSink for PopulationMatcher {
    async fn take(&mut self, values: Vec<String>) -> AppResult<()> {
        // Distinct in the table; trimming can still make two values one.
        let values: Vec<String> = values
            .into_iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        for value in values {
            self.read.distinct += 1;
            match self.dictionary.index_of(&value) {
                Some(idx) => {
                    self.members.insert(idx);
                }
                None => {
                    self.read.unknown += 1;
                    if self.read.unknown_sample.len() < UNKNOWN_SAMPLE {
                        self.read.unknown_sample.push(value);
                    }
                }
            }
        }
        self.read.matched = self.members.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote("orders"), "\"orders\"");
        assert_eq!(quote("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
        let table = TableRef {
            schema: Some("sales".into()),
            name: "Order Items".into(),
        };
        assert_eq!(table.quoted(), "\"sales\".\"Order Items\"");
        assert_eq!(table.display(), "sales.Order Items");
    }

    #[tokio::test]
    async fn a_sqlite_warehouse_is_opened_read_only() {
        let dir = std::env::temp_dir().join(format!("warehouse-ro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let url = format!("sqlite://{}", path.display());
        let writable = Db::connect(&format!("{url}?mode=rwc")).await.unwrap();
        let Db::Sqlite(pool) = &writable else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (id TEXT)")
            .execute(pool)
            .await
            .unwrap();
        let warehouse = Warehouse::connect(&url).await.unwrap();
        let Db::Sqlite(pool) = &warehouse.db else {
            unreachable!()
        };
        let write = sqlx::query("INSERT INTO t VALUES ('x')").execute(pool).await;
        assert!(write.unwrap_err().to_string().contains("readonly"));
        assert_eq!(warehouse.tables().await.unwrap(), vec!["t".to_string()]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
