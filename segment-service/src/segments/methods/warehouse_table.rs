//! Warehouse table: the distinct values of a warehouse column that are IDs
//! of the target object (platform principals only).

use std::time::Instant;

use super::{Checked, CreateContext, Method, Output, RunContext, RunError, listed};
use crate::warehouse::{self, PopulationMatcher};

/// Distinct values read from the warehouse per batch.
const WAREHOUSE_BATCH: usize = 5_000;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::segments::{Definition, WarehouseIdColumn};

impl Method for WarehouseIdColumn {
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked> {
        warehouse::authorize(cx.principal)?;
        let connected = warehouse::connected(cx.state.warehouse.as_ref())?;
        let (table, id_column) = (&self.table, &self.id_column);
        // Stored as the warehouse's catalog spells it.
        let mut resolved = self.clone();
        match connected.resolve(table).await {
            Ok(found) => match connected.column(&found, id_column).await {
                Ok(_) => {
                    resolved = WarehouseIdColumn {
                        table: found.display(),
                        id_column: id_column.trim().to_string(),
                    }
                }
                Err(AppError::NotFound(_)) => problems.push(FieldError {
                    field: "definition.id_column".into(),
                    message: format!(
                        "{id_column:?} is not a column of {}: click Get Data and pick one.",
                        found.display()
                    ),
                }),
                Err(other) => return Err(other),
            },
            Err(AppError::NotFound(_)) => problems.push(FieldError {
                field: "definition.table".into(),
                message: format!("The warehouse has no table named {:?}.", table.trim()),
            }),
            Err(other) => return Err(other),
        }
        Ok(Checked::alone(Definition::WarehouseTable(resolved)))
    }

    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError> {
        let started = Instant::now();
        let connected =
            cx.state.warehouse.as_ref().ok_or_else(|| {
                RunError::Fail("No warehouse is connected (WAREHOUSE_URL is not set).".into())
            })?;
        let found = match connected.resolve(&self.table).await {
            Ok(found) => found,
            Err(AppError::NotFound(_)) => {
                return Err(RunError::Fail(format!(
                    "The warehouse no longer has a table {:?}.",
                    self.table
                )));
            }
            Err(other) => return Err(other.into()),
        };
        let dictionary = cx
            .state
            .dictionaries
            .fresh(&cx.state.db)
            .await?
            .of(cx.record.target_object);
        let mut matcher = PopulationMatcher::new(dictionary, &found, &self.id_column);
        match connected
            .distinct_values(&found, &self.id_column, WAREHOUSE_BATCH, &mut matcher)
            .await
        {
            Ok(()) => {}
            Err(AppError::NotFound(what)) => {
                return Err(RunError::Fail(format!("{what} is no longer in the warehouse.")));
            }
            Err(other) => return Err(other.into()),
        }
        let inputs = serde_json::to_value(&matcher.read).map_err(|e| RunError::Fail(e.to_string()))?;
        listed(cx, matcher.members, inputs, started).await
    }
}
