//! Server functions of the warehouse: its tables and a table's columns (Get Data).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use super::WarehouseTable;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::context::{console, principal, respond};

/// The warehouse's tables, for the table-name suggestions.
#[server(input = Json)]
pub async fn warehouse_tables() -> Result<Vec<String>, AppError> {
    respond(async { console()?.warehouse_tables(&principal()?).await }.await)
}

/// Get Data: the columns of `table`, checked against the warehouse's catalog.
#[server(input = Json)]
pub async fn warehouse_columns(table: String) -> Result<WarehouseTable, AppError> {
    respond(async { console()?.warehouse_columns(&principal()?, &table).await }.await)
}
