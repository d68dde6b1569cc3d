//! Verification in Spark mode: each condition of a rule explained for the
//! asked entities by Spark, in the engine's own terms ([`Explained`]), so
//! that the verify page reads the same whichever holds the tag data.

use std::collections::{BTreeSet, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use segment_core::catalog::DataType;
use segment_core::engine::{Explained, Observed, StoredValue};
use segment_core::plan::{Plan, PlanCondition};
use segment_core::sql::Dialect;
use segment_core::sql::explain::explain;

use super::client::SparkError;
use super::warehouse::SparkWarehouse;

impl SparkWarehouse {
    /// `condition` of `plan` for each of `entities` (in their order).
    pub async fn explain(
        &self,
        plan: &Plan,
        condition: &PlanCondition,
        entities: &[u32],
    ) -> Result<Vec<Explained>, SparkError> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let sql = explain(plan, condition, entities, Dialect::Spark);
        let (passing, observed) = tokio::try_join!(self.rows(&sql.passing), self.rows(&sql.observed))?;
        let passing: BTreeSet<u32> = first_column_indexes(&passing)?.into_iter().collect();
        let passed = |entity: u32| passing.contains(&entity);
        match condition {
            PlanCondition::Profile(p) => {
                let values = profile_values(&observed, p.data_type())?;
                let value = |date: &NaiveDate, entity: u32| values.get(&(entity, *date)).cloned();
                Ok(entities
                    .iter()
                    .map(|&e| Explained {
                        passed: passed(e),
                        observed: Observed::of_profile(&p.test, |date| value(date, e)),
                    })
                    .collect())
            }
            PlanCondition::Behavior(b) => {
                let counts = event_counts(&observed)?;
                Ok(entities
                    .iter()
                    .map(|&e| Explained {
                        passed: passed(e),
                        observed: Observed::Count {
                            from: b.from,
                            to: b.to,
                            count: counts.get(&e).copied().unwrap_or(0),
                        },
                    })
                    .collect())
            }
        }
    }
}

fn unreadable() -> SparkError {
    SparkError::Unreadable("an explanation came back in another shape".into())
}

/// Entity indexes in the first column (`INT`, or `BIGINT` after arithmetic).
fn first_column_indexes(batches: &[RecordBatch]) -> Result<Vec<u32>, SparkError> {
    let mut indexes = Vec::new();
    for batch in batches {
        let column = batch.column(0);
        for row in 0..batch.num_rows() {
            indexes.push(index_at(column.as_ref(), row)?);
        }
    }
    Ok(indexes)
}

fn index_at(column: &dyn Array, row: usize) -> Result<u32, SparkError> {
    let value = if let Some(ints) = column.as_primitive_opt::<Int32Type>() {
        i64::from(ints.value(row))
    } else if let Some(longs) = column.as_primitive_opt::<Int64Type>() {
        longs.value(row)
    } else {
        return Err(unreadable());
    };
    u32::try_from(value).map_err(|_| unreadable())
}

/// `entity_idx, data_date, value` rows as each entity's value per date.
fn profile_values(
    batches: &[RecordBatch],
    data_type: DataType,
) -> Result<HashMap<(u32, NaiveDate), StoredValue>, SparkError> {
    let mut values = HashMap::new();
    for batch in batches {
        let dates = batch
            .column(1)
            .as_primitive_opt::<Date32Type>()
            .ok_or_else(unreadable)?;
        let column = batch.column(2);
        for row in 0..batch.num_rows() {
            if column.is_null(row) {
                continue;
            }
            let entity = index_at(batch.column(0).as_ref(), row)?;
            let date = dates.value_as_date(row).ok_or_else(unreadable)?;
            let value = match data_type {
                DataType::Number => StoredValue::Number(
                    column
                        .as_primitive_opt::<Float64Type>()
                        .ok_or_else(unreadable)?
                        .value(row),
                ),
                DataType::Datetime => StoredValue::Time(
                    column
                        .as_primitive_opt::<Int64Type>()
                        .ok_or_else(unreadable)?
                        .value(row),
                ),
                DataType::Enum | DataType::Boolean => StoredValue::Text(
                    column
                        .as_string_opt::<i32>()
                        .ok_or_else(unreadable)?
                        .value(row)
                        .to_string(),
                ),
            };
            values.insert((entity, date), value);
        }
    }
    Ok(values)
}

/// `entity_idx, events` rows as each entity's count.
fn event_counts(batches: &[RecordBatch]) -> Result<HashMap<u32, u64>, SparkError> {
    let mut counts = HashMap::new();
    for batch in batches {
        let events = batch
            .column(1)
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(unreadable)?;
        for row in 0..batch.num_rows() {
            let entity = index_at(batch.column(0).as_ref(), row)?;
            counts.insert(entity, u64::try_from(events.value(row)).unwrap_or(0));
        }
    }
    Ok(counts)
}
