//! The warehouse behind warehouse-table segments: its tables and a table's
//! columns, as its own catalog lists them. Platform principals only.

use axum::Json;
use axum::extract::{Path, State};
use segment_contract::warehouse::{TableList, WarehouseTable};
use segment_service::state::AppState;
use segment_service::warehouse::{authorize, connected};

use super::error::{ApiError, ErrorBody};
use super::extract::Auth;

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

/// The columns of a table (Get Data). The name is looked up in the warehouse's catalog
/// (exactly, or ignoring case when unambiguous) and never spliced into SQL.
#[utoipa::path(get, operation_id = "get_warehouse_table", path = "/api/v1/warehouse/tables/{table}", tag = "warehouse", security(("bearer" = [])),
    params(("table" = String, Path, description = "`table` or `schema.table`")),
    responses((status = 200, body = WarehouseTable), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
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
