//! Column-wise row batches written to either backend in one statement
//! (multi-row `VALUES` on SQLite, `UNNEST` of typed arrays on PostgreSQL),
//! and [`WriteTx`]: the few statements the importer runs, on either backend.

use chrono::NaiveDate;
use sqlx::{Postgres, Sqlite, Transaction};

use segment_core::sql::quote_ident;

/// One column of a batch; every column of a batch has the same length.
#[derive(Debug, Clone)]
pub enum Column {
    Date(Vec<NaiveDate>),
    Int(Vec<i64>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Date(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Real(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pg_array_type(&self) -> &'static str {
        match self {
            Column::Date(_) => "date[]",
            Column::Int(_) => "int8[]",
            Column::Real(_) => "float8[]",
            Column::Text(_) => "text[]",
        }
    }
}

/// Rows for one table, column by column.
#[derive(Debug, Clone)]
pub struct Batch {
    pub table: String,
    pub names: Vec<String>,
    pub columns: Vec<Column>,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }
}

/// SQLite allows 32,766 bound parameters per statement.
const SQLITE_MAX_PARAMS: usize = 32_000;

async fn insert_sqlite(tx: &mut Transaction<'static, Sqlite>, batch: &Batch) -> sqlx::Result<()> {
    let width = batch.columns.len();
    let total = batch.rows();
    let per_statement = (SQLITE_MAX_PARAMS / width.max(1)).max(1);
    let names: Vec<String> = batch.names.iter().map(|n| quote_ident(n)).collect();
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote_ident(&batch.table),
        names.join(", ")
    );
    let mut start = 0;
    while start < total {
        let end = (start + per_statement).min(total);
        // Anonymous `?` parameters: SQLite resolves `$n` names by a linear
        // search, which makes wide statements quadratic.
        let row_marks = format!("({})", vec!["?"; width].join(","));
        let mut sql = head.clone();
        for row in start..end {
            if row > start {
                sql.push(',');
            }
            sql.push_str(&row_marks);
        }
        let mut query = sqlx::query(&sql);
        for row in start..end {
            for column in &batch.columns {
                query = match column {
                    Column::Date(v) => query.bind(v[row].format("%Y-%m-%d").to_string()),
                    Column::Int(v) => query.bind(v[row]),
                    Column::Real(v) => query.bind(v[row]),
                    Column::Text(v) => query.bind(v[row].clone()),
                };
            }
        }
        query.execute(&mut **tx).await?;
        start = end;
    }
    Ok(())
}

async fn insert_postgres(tx: &mut Transaction<'static, Postgres>, batch: &Batch) -> sqlx::Result<()> {
    let names: Vec<String> = batch.names.iter().map(|n| quote_ident(n)).collect();
    let arrays: Vec<String> = batch
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, c.pg_array_type()))
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
        quote_ident(&batch.table),
        names.join(", "),
        arrays.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for column in &batch.columns {
        query = match column {
            Column::Date(v) => query.bind(v.clone()),
            Column::Int(v) => query.bind(v.clone()),
            Column::Real(v) => query.bind(v.clone()),
            Column::Text(v) => query.bind(v.clone()),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A bound value of a [`WriteTx`] statement.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Text(&'a str),
    Int(i64),
    /// Text on SQLite, `DATE` on PostgreSQL.
    Date(NaiveDate),
}

/// A write transaction on either backend: what an import needs.
pub trait WriteTx: Send {
    /// Runs a statement with `$n` parameters.
    fn run(&mut self, sql: &str, values: &[Value<'_>]) -> impl Future<Output = sqlx::Result<()>> + Send;
    /// Runs a statement that returns one `BIGINT`.
    fn fetch_id(&mut self, sql: &str, values: &[Value<'_>])
    -> impl Future<Output = sqlx::Result<i64>> + Send;
    fn insert(&mut self, batch: &Batch) -> impl Future<Output = sqlx::Result<()>> + Send;
    fn commit(self) -> impl Future<Output = sqlx::Result<()>> + Send;
}

macro_rules! bind_values {
    ($query:expr, $values:expr, $date:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Text(text) => query.bind(*text),
                Value::Int(n) => query.bind(*n),
                Value::Date(date) => query.bind($date(date)),
            };
        }
        query
    }};
}

fn date_text(date: &NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl WriteTx for Transaction<'static, Sqlite> {
    async fn run(&mut self, sql: &str, values: &[Value<'_>]) -> sqlx::Result<()> {
        bind_values!(sqlx::query(sql), values, date_text)
            .execute(&mut **self)
            .await
            .map(|_| ())
    }

    async fn fetch_id(&mut self, sql: &str, values: &[Value<'_>]) -> sqlx::Result<i64> {
        bind_values!(sqlx::query_scalar(sql), values, date_text)
            .fetch_one(&mut **self)
            .await
    }

    async fn insert(&mut self, batch: &Batch) -> sqlx::Result<()> {
        insert_sqlite(self, batch).await
    }

    async fn commit(self) -> sqlx::Result<()> {
        Transaction::commit(self).await
    }
}

impl WriteTx for Transaction<'static, Postgres> {
    async fn run(&mut self, sql: &str, values: &[Value<'_>]) -> sqlx::Result<()> {
        bind_values!(sqlx::query(sql), values, |d: &NaiveDate| *d)
            .execute(&mut **self)
            .await
            .map(|_| ())
    }

    async fn fetch_id(&mut self, sql: &str, values: &[Value<'_>]) -> sqlx::Result<i64> {
        bind_values!(sqlx::query_scalar(sql), values, |d: &NaiveDate| *d)
            .fetch_one(&mut **self)
            .await
    }

    async fn insert(&mut self, batch: &Batch) -> sqlx::Result<()> {
        insert_postgres(self, batch).await
    }

    async fn commit(self) -> sqlx::Result<()> {
        Transaction::commit(self).await
    }
}
