//! The tag warehouse in Spark: the same tables as the local warehouse
//! (DESIGN.md §2), stored as Parquet, tag tables partitioned by date and
//! every table bucketed by the dense entity index with one bucket count, so
//! that a rule's joins are bucket against bucket. An import is staged in
//! tables of its own and published partition by partition when it is
//! complete; a rejected import leaves nothing behind.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::catalog::{DataType, TagDef, TagKind};
use segment_core::sql::{BUCKET_BITS, CompiledSql, Spark, SqlDialect, behavior_table, profile_table};

use super::client::{SparkClient, SparkError, days_since_epoch};
use crate::tags::columns::{Batch, Column};

/// Buckets of every table. Fixed once tables exist: bucket-to-bucket joins
/// need the same count on both sides.
pub const BUCKETS: u32 = 8;

/// Rows uploaded to Spark in one message: fewer, larger messages (gRPC
/// allows 128 MiB) instead of one per 8,192-row import batch.
const UPLOAD_ROWS: usize = 262_144;

/// Statements that write or rewrite tables.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1_800);

/// The Spark side of the tag warehouse.
#[derive(Clone)]
pub struct SparkWarehouse {
    client: SparkClient,
    /// How long an estimate or a materialization may run on the cluster.
    pub query_timeout: Duration,
}

impl SparkWarehouse {
    /// Connects, makes `database` (created when missing) the session's
    /// own, and creates the tables every rule reads.
    pub async fn connect(url: &str, database: &str) -> Result<Self, SparkError> {
        // Run again in every new session: `USE` and `SET` are the session's.
        let setup = vec![
            format!("CREATE DATABASE IF NOT EXISTS {}", quote(database)),
            format!("USE {}", quote(database)),
            // A partition is replaced whole: only the partitions an import writes.
            "SET spark.sql.sources.partitionOverwriteMode=dynamic".to_string(),
            // Both sides of a rule's joins are entity-sized, and Spark's size
            // guesses for filtered partitions are far too low: a broadcast
            // of millions of rows exhausted the driver at 3M users. The
            // tables are bucketed alike for sort-merge joins without a shuffle.
            "SET spark.sql.autoBroadcastJoinThreshold=-1".to_string(),
        ];
        let client = SparkClient::connect(url, setup).await?;
        let warehouse = Self {
            client,
            query_timeout: Duration::from_secs(600),
        };
        warehouse
            .execute(&format!(
                "CREATE TABLE IF NOT EXISTS entities (target_object STRING, idx INT, entity_id STRING) \
                 USING parquet CLUSTERED BY (idx) INTO {BUCKETS} BUCKETS"
            ))
            .await?;
        warehouse
            .execute(&format!(
                "CREATE TABLE IF NOT EXISTS audience_scopes (entity_idx INT, scope STRING, target_object STRING) \
                 USING parquet PARTITIONED BY (scope, target_object) CLUSTERED BY (entity_idx) INTO {BUCKETS} BUCKETS"
            ))
            .await?;
        Ok(warehouse)
    }

    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// Ends this server's Spark session (at shutdown); a later statement
    /// opens a new one, set up the same way.
    pub async fn release_session(&self) -> Result<(), SparkError> {
        self.client.release_session().await
    }

    /// Drops `database` and every table in it (a throwaway test warehouse).
    pub async fn drop_database(&self, database: &str) -> Result<(), SparkError> {
        self.execute("USE default").await?;
        self.execute(&format!("DROP DATABASE IF EXISTS {} CASCADE", quote(database)))
            .await
    }

    /// Runs a statement in the warehouse's database.
    pub async fn execute(&self, sql: &str) -> Result<(), SparkError> {
        self.client.execute(sql, WRITE_TIMEOUT).await
    }

    /// The count of a statement compiled with `Output::Count`, within `timeout`.
    pub async fn count(&self, sql: &CompiledSql, timeout: Duration) -> Result<u64, SparkError> {
        let batches = self.client.query_compiled(sql, timeout).await?;
        let count = batches
            .iter()
            .find(|batch| batch.num_rows() > 0)
            .and_then(|batch| batch.column(0).as_primitive_opt::<Int64Type>())
            .map(|column| column.value(0))
            .ok_or_else(|| SparkError::Unreadable("a count came back without its row".into()))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Runs a job of two tasks that reads no table: what any statement
    /// costs at least on this cluster (planning, round trips, scheduling).
    pub async fn smallest_job(&self) -> Result<(), SparkError> {
        self.client
            .query("SELECT COUNT(*) FROM range(0, 2, 1, 2)", &[], self.query_timeout)
            .await
            .map(drop)
    }

    /// Spark's physical plan for `statement` (`EXPLAIN FORMATTED`), to check
    /// how a rule will run.
    pub async fn physical_plan(&self, statement: &str) -> Result<String, SparkError> {
        let batches = self
            .client
            .query(&format!("EXPLAIN FORMATTED {statement}"), &[], self.query_timeout)
            .await?;
        let plan = batches
            .iter()
            .find(|batch| batch.num_rows() > 0)
            .and_then(|batch| batch.column(0).as_string_opt::<i32>())
            .map(|column| column.value(0).to_string());
        plan.ok_or_else(|| SparkError::Unreadable("EXPLAIN came back without a plan".into()))
    }

    /// The rows of a compiled statement, within the query timeout.
    pub(super) async fn rows(&self, sql: &CompiledSql) -> Result<Vec<RecordBatch>, SparkError> {
        self.client.query_compiled(sql, self.query_timeout).await
    }

    /// The members of a statement compiled with `Output::BucketBitmaps`:
    /// one dense bitmap per bucket of entity indexes, built on the executors.
    pub async fn members(&self, sql: &CompiledSql) -> Result<RoaringBitmap, SparkError> {
        let batches = self.client.query_compiled(sql, self.query_timeout).await?;
        let mut members = RoaringBitmap::new();
        for batch in &batches {
            let unreadable = || SparkError::Unreadable("member buckets came back in another shape".into());
            let buckets = batch
                .column(0)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(unreadable)?;
            let bits = batch.column(1).as_binary_opt::<i32>().ok_or_else(unreadable)?;
            for row in 0..batch.num_rows() {
                let offset = u32::try_from(buckets.value(row))
                    .ok()
                    .and_then(|bucket| bucket.checked_mul(BUCKET_BITS))
                    .ok_or_else(unreadable)?;
                members |= RoaringBitmap::from_lsb0_bytes(offset, bits.value(row));
            }
        }
        Ok(members)
    }

    /// Starts writing import `import_id`, whose catalog is `tags`
    /// (attributes in `new_attributes` are new to existing behaviors).
    pub async fn begin_import(
        &self,
        import_id: i64,
        tags: &[TagDef],
        new_attributes: &[(String, String)],
    ) -> Result<SparkImport, SparkError> {
        let existing = self.tables().await?;
        let mut targets = BTreeMap::new();
        for tag in tags {
            let target = TargetTable::of(tag);
            if !existing.contains(&target.name) {
                self.execute(&target.create_statement()).await?;
            }
            targets.insert(target.name.clone(), target);
        }
        for (code, attribute) in new_attributes {
            let table = behavior_table(code);
            // A table created above already has the attribute.
            if existing.contains(&table)
                && let Some(column) = targets[&table].columns.iter().find(|(name, _)| name == attribute)
            {
                self.execute(&format!(
                    "ALTER TABLE {} ADD COLUMNS ({} {})",
                    quote(&table),
                    quote(attribute),
                    column.1
                ))
                .await?;
            }
        }
        Ok(SparkImport {
            warehouse: self.clone(),
            import_id,
            targets: Arc::new(targets),
            staged: BTreeMap::new(),
            replaced_partitions: BTreeSet::new(),
            replaced_scopes: BTreeSet::new(),
        })
    }

    async fn tables(&self) -> Result<BTreeSet<String>, SparkError> {
        let batches = self.client.query("SHOW TABLES", &[], WRITE_TIMEOUT).await?;
        let mut names = BTreeSet::new();
        for batch in &batches {
            let column = batch
                .column_by_name("tableName")
                .and_then(|column| column.as_string_opt::<i32>())
                .ok_or_else(|| SparkError::Unreadable("SHOW TABLES came back without table names".into()))?;
            names.extend(column.iter().flatten().map(str::to_string));
        }
        Ok(names)
    }
}

/// A tag table as Spark holds it: its columns in order, the partition
/// column last.
struct TargetTable {
    name: String,
    columns: Vec<(String, &'static str)>,
    partition: &'static str,
}

impl TargetTable {
    fn of(tag: &TagDef) -> Self {
        match &tag.kind {
            TagKind::Profile { data_type, .. } => Self {
                name: profile_table(&tag.code),
                columns: vec![
                    ("entity_idx".into(), "INT"),
                    ("value".into(), spark_type(*data_type)),
                    ("data_date".into(), "DATE"),
                ],
                partition: "data_date",
            },
            TagKind::Behavior { attributes } => {
                let mut columns = vec![("entity_idx".into(), "INT"), ("count".into(), "BIGINT")];
                columns.extend(
                    attributes
                        .iter()
                        .map(|attribute| (attribute.code.clone(), spark_type(attribute.data_type))),
                );
                columns.push(("event_date".into(), "DATE"));
                Self {
                    name: behavior_table(&tag.code),
                    columns,
                    partition: "event_date",
                }
            }
        }
    }

    fn create_statement(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(name, data_type)| format!("{} {data_type}", quote(name)))
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({}) USING parquet PARTITIONED BY ({}) \
             CLUSTERED BY (entity_idx) INTO {BUCKETS} BUCKETS",
            quote(&self.name),
            columns.join(", "),
            self.partition
        )
    }
}

fn spark_type(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Number => "DOUBLE",
        DataType::Datetime => "BIGINT",
        DataType::Enum | DataType::Boolean => "STRING",
    }
}

/// Names and text as the SQL compiler spells them for Spark.
fn quote(name: &str) -> String {
    Spark.quote_ident(name)
}

/// One table's rows of an import: a staging table, and rows not yet sent.
struct Staged {
    table: String,
    names: Vec<String>,
    pending: Vec<Batch>,
    pending_rows: usize,
}

/// An import being written to Spark: rows land in staging tables, and
/// [`SparkImport::publish`] moves them into place.
pub struct SparkImport {
    warehouse: SparkWarehouse,
    import_id: i64,
    targets: Arc<BTreeMap<String, TargetTable>>,
    staged: BTreeMap<String, Staged>,
    replaced_partitions: BTreeSet<(String, &'static str, NaiveDate)>,
    replaced_scopes: BTreeSet<(String, TargetObject)>,
}

impl SparkImport {
    /// Adds rows of `batch.table`.
    pub async fn rows(&mut self, batch: &Batch) -> Result<(), SparkError> {
        if !self.staged.contains_key(&batch.table) {
            let staging = format!("import_{}_{}", self.import_id, batch.table);
            let columns: Vec<String> = batch
                .names
                .iter()
                .zip(&batch.columns)
                .map(|(name, column)| format!("{} {}", quote(name), column_type(column)))
                .collect();
            self.warehouse
                .execute(&format!("DROP TABLE IF EXISTS {}", quote(&staging)))
                .await?;
            self.warehouse
                .execute(&format!(
                    "CREATE TABLE {} ({}) USING parquet",
                    quote(&staging),
                    columns.join(", ")
                ))
                .await?;
            self.staged.insert(
                batch.table.clone(),
                Staged {
                    table: staging,
                    names: batch.names.clone(),
                    pending: Vec::new(),
                    pending_rows: 0,
                },
            );
        }
        let staged = self.staged.get_mut(&batch.table).expect("staged above");
        staged.pending.push(batch.clone());
        staged.pending_rows += batch.rows();
        if staged.pending_rows >= UPLOAD_ROWS {
            let table = batch.table.clone();
            self.send(&table).await?;
        }
        Ok(())
    }

    /// The import replaces `table`'s partition `date`, rows or none.
    pub fn replace_partition(&mut self, table: &str, column: &'static str, date: NaiveDate) {
        self.replaced_partitions.insert((table.to_string(), column, date));
    }

    /// The import replaces the audience of `scope`.
    pub fn replace_scope(&mut self, scope: &str, target: TargetObject) {
        self.replaced_scopes.insert((scope.to_string(), target));
    }

    async fn send(&mut self, table: &str) -> Result<(), SparkError> {
        let Some(staged) = self.staged.get_mut(table) else {
            return Ok(());
        };
        if staged.pending.is_empty() {
            return Ok(());
        }
        let rows = record_batch(&staged.names, &std::mem::take(&mut staged.pending))?;
        staged.pending_rows = 0;
        let view = format!("upload_{}", self.import_id);
        self.warehouse.client.upload(&view, &rows, WRITE_TIMEOUT).await?;
        self.warehouse
            .execute(&format!(
                "INSERT INTO {} SELECT * FROM {}",
                quote(&staged.table),
                quote(&view)
            ))
            .await?;
        self.warehouse
            .execute(&format!("DROP VIEW IF EXISTS {}", quote(&view)))
            .await
    }

    /// Moves every staged row into place: replaced partitions and scopes
    /// are emptied, then filled from staging. Spark's Parquet tables have
    /// no transactions: a failure part-way leaves some partitions replaced,
    /// and the import is reported failed (the local warehouse rolls back,
    /// so those dates stay not ready until the import is run again).
    pub async fn publish(mut self) -> Result<(), SparkError> {
        let published = self.move_into_place().await;
        let dropped = self.drop_staging().await;
        published.and(dropped)
    }

    async fn move_into_place(&mut self) -> Result<(), SparkError> {
        let tables: Vec<String> = self.staged.keys().cloned().collect();
        for table in &tables {
            self.send(table).await?;
        }
        for (table, column, date) in &self.replaced_partitions {
            self.warehouse
                .execute(&format!(
                    "ALTER TABLE {} DROP IF EXISTS PARTITION ({column} = '{date}')",
                    quote(table)
                ))
                .await?;
        }
        for (scope, target) in &self.replaced_scopes {
            self.warehouse
                .execute(&format!(
                    "ALTER TABLE audience_scopes DROP IF EXISTS PARTITION (scope = {}, target_object = '{}')",
                    Spark.text_literal(scope),
                    target.as_str()
                ))
                .await?;
        }
        for (table, staged) in &self.staged {
            let statement = match table.as_str() {
                "entities" => format!(
                    "INSERT INTO entities SELECT target_object, CAST(idx AS INT), entity_id FROM {}",
                    quote(&staged.table)
                ),
                "audience_scopes" => format!(
                    "INSERT INTO audience_scopes PARTITION (scope, target_object) \
                     SELECT CAST(entity_idx AS INT), scope, target_object FROM {}",
                    quote(&staged.table)
                ),
                _ => {
                    let Some(target) = self.targets.get(table) else {
                        return Err(SparkError::Refused(format!(
                            "the import wrote rows of {table}, a table Spark does not hold"
                        )));
                    };
                    let select: Vec<String> = target
                        .columns
                        .iter()
                        .map(|(name, data_type)| {
                            if staged.names.contains(name) {
                                format!("CAST({} AS {data_type})", quote(name))
                            } else {
                                format!("CAST(NULL AS {data_type})")
                            }
                        })
                        .collect();
                    format!(
                        "INSERT OVERWRITE {} PARTITION ({}) SELECT {} FROM {}",
                        quote(&target.name),
                        target.partition,
                        select.join(", "),
                        quote(&staged.table)
                    )
                }
            };
            self.warehouse.execute(&statement).await?;
        }
        Ok(())
    }

    /// Drops what the import staged; nothing of it was published.
    pub async fn abandon(self) {
        if let Err(error) = self.drop_staging().await {
            tracing::warn!(%error, "could not drop an abandoned import's staging tables in Spark");
        }
    }

    async fn drop_staging(&self) -> Result<(), SparkError> {
        for staged in self.staged.values() {
            self.warehouse
                .execute(&format!("DROP TABLE IF EXISTS {}", quote(&staged.table)))
                .await?;
        }
        Ok(())
    }
}

fn column_type(column: &Column) -> &'static str {
    match column {
        Column::Date(_) => "DATE",
        Column::Int(_) => "BIGINT",
        Column::Real(_) => "DOUBLE",
        Column::Text(_) => "STRING",
    }
}

/// Batches of one table (same names, same column kinds) as one Arrow batch.
fn record_batch(names: &[String], batches: &[Batch]) -> Result<RecordBatch, SparkError> {
    let mut arrays: Vec<(String, ArrayRef)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let parts = batches.iter().map(|batch| &batch.columns[i]);
        let array: ArrayRef = match &batches[0].columns[i] {
            Column::Date(_) => Arc::new(Date32Array::from_iter_values(parts.flat_map(|c| match c {
                Column::Date(v) => v.iter().map(|d| days_since_epoch(*d)).collect::<Vec<_>>(),
                _ => Vec::new(),
            }))),
            Column::Int(_) => Arc::new(Int64Array::from_iter_values(parts.flat_map(|c| match c {
                Column::Int(v) => v.clone(),
                _ => Vec::new(),
            }))),
            Column::Real(_) => Arc::new(Float64Array::from_iter(parts.flat_map(|c| match c {
                Column::Real(v) => v.clone(),
                _ => Vec::new(),
            }))),
            Column::Text(_) => Arc::new(StringArray::from_iter(parts.flat_map(|c| match c {
                Column::Text(v) => v.clone(),
                _ => Vec::new(),
            }))),
        };
        arrays.push((name.clone(), array));
    }
    RecordBatch::try_from_iter(arrays).map_err(|error| SparkError::Unreadable(error.to_string()))
}
