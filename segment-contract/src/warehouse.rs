//! The warehouse connection (`WAREHOUSE_URL`): a read-only SQLite file or
//! PostgreSQL database whose tables can be read as segments (the guide's
//! "ODPS table").

use serde::{Deserialize, Serialize};

/// The guide's disclaimer, shown wherever a warehouse table is chosen.
pub const DISCLAIMER: &str = "Segment Targeting assumes no responsibility for the accuracy of data in warehouse tables. \
For segments used in marketing campaigns, confirm with the table's owner that it meets quality standards. \
You are fully responsible for the accuracy of the input data and of the results generated.";

/// `GET /api/v1/warehouse/tables`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableList {
    /// Tables and views; outside PostgreSQL's `public` schema as `schema.table`.
    pub tables: Vec<String>,
}

/// A column of a warehouse table, as its catalog names and types it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseColumn {
    pub name: String,
    pub data_type: String,
}

/// A table of the warehouse and its columns in catalog order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseTable {
    /// The name as the catalog spells it (`schema.table` outside PostgreSQL's `public`).
    pub table: String,
    pub columns: Vec<WarehouseColumn>,
    /// Rows (SQLite) or the planner's estimate (PostgreSQL; absent before
    /// the table was analyzed).
    pub rows: Option<u64>,
}

/// What the last read of a warehouse-table segment found (kept with its run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseRead {
    pub table: String,
    pub id_column: String,
    /// Distinct non-empty values in the column.
    pub distinct: u64,
    pub matched: u64,
    /// Values not in the target object's population.
    pub unknown: u64,
    /// The first few unknown values.
    pub unknown_sample: Vec<String>,
}
