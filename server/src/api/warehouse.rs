//! The warehouse behind warehouse-table segments: its tables and a table's
//! columns, as its own catalog lists them. Platform principals only.

use axum::Json;
use axum::extract::{Path, State};
use segment_contract::warehouse::WarehouseTable;
use segment_service::state::AppState;
use segment_service::warehouse::{authorize, connected};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::Auth;

#[derive(Serialize, ToSchema)]
pub struct TableList {
    /// Tables and views; outside PostgreSQL's `public` schema as `schema.table`.
    pub tables: Vec<String>,
}

/// The warehouse's tables and views.
#[utoipa::path(get, operation_id = "list_warehouse_tables", path = "/api/v1/warehouse/tables", tag = "warehouse", security(("bearer" = [])),
    responses((status = 200, body = TableList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "Merchant and store principals do not read the warehouse"),
              (status = 503, body = ErrorBody, description = "No warehouse is connected (WAREHOUSE_URL)")))]
pub async fn tables(
    Auth(principal): Auth,
    State(state): State<AppState>,
) -> Result<Json<TableList>, ApiError> {
    authorize(&principal)?;
    Ok(Json(TableList {
        tables: connected(state.warehouse.as_ref())?.tables().await?,
    }))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TableBody {
    /// The name as the catalog spells it.
    table: String,
    /// `[{name, data_type}]` in the table's order.
    columns: Vec<serde_json::Value>,
    /// Rows (SQLite) or the planner's estimate (PostgreSQL; absent before the table was analyzed).
    rows: Option<u64>,
}

/// The columns of a table (Get Data). The name is looked up in the warehouse's catalog
/// (exactly, or ignoring case when unambiguous) and never spliced into SQL.
#[utoipa::path(get, operation_id = "get_warehouse_table", path = "/api/v1/warehouse/tables/{table}", tag = "warehouse", security(("bearer" = [])),
    params(("table" = String, Path, description = "`table` or `schema.table`")),
    responses((status = 200, body = TableBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "No such table in the warehouse's catalog"),
              (status = 503, body = ErrorBody)))]
pub async fn columns(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(table): Path<String>,
) -> Result<Json<WarehouseTable>, ApiError> {
    authorize(&principal)?;
    Ok(Json(connected(state.warehouse.as_ref())?.describe(&table).await?))
}
