//! Loads a directory in the import format (DESIGN.md §2) into the tag
//! warehouse. One import is one transaction: a file with errors rejects the
//! whole import, with every error's file, line and reason, and nothing is
//! written. Files are streamed: a reader thread parses and validates rows
//! while the database writes the batches it sends.

mod catalog;
mod files;
mod reader;
mod report;
mod values;

pub use report::{ImportError, ImportProblem, ImportProgress, ImportSummary, ProgressFn};

use std::collections::HashMap;
use std::path::Path;

use chrono_tz::Tz;
use segment_core::TargetObject;
use segment_core::sql::quote_ident;
use tokio::sync::mpsc;

use crate::infra::db::{Backend, Db};
use crate::infra::{now_ms, stored_count};
use crate::spark::{SparkError, SparkImport, SparkWarehouse};
use crate::tags::columns::{Value, WriteTx};
use crate::tags::store;
use catalog::{MergedCatalog, merge_catalog, read_catalog_file};
use files::{DataFile, list_files};
use reader::{ReaderOutcome, Write, spawn_reader};
use segment_core::catalog::TagDef;

/// Imports the directory `dir` into `db`.
pub async fn import_dir(db: &Db, dir: &Path, progress: ProgressFn) -> Result<ImportSummary, ImportError> {
    import(db, dir, progress, None).await
}

/// Imports the directory `dir` into `db` and the tag tables in Spark: the
/// same rows, published in Spark just before the local transaction commits.
pub async fn import_dir_with_spark(
    db: &Db,
    dir: &Path,
    progress: ProgressFn,
    spark: &SparkWarehouse,
) -> Result<ImportSummary, ImportError> {
    import(db, dir, progress, Some(spark)).await
}

async fn import(
    db: &Db,
    dir: &Path,
    progress: ProgressFn,
    spark: Option<&SparkWarehouse>,
) -> Result<ImportSummary, ImportError> {
    let started_at = now_ms();
    let mut problems = Vec::new();
    let stored = store::load_catalog(db).await?;
    let (catalog_file, time_zone) = read_catalog_file(dir, &mut problems);
    let catalog = merge_catalog(
        &stored,
        catalog_file.as_deref().unwrap_or_default(),
        &mut problems,
    );
    let files = list_files(dir, &catalog, &mut problems)?;
    if !problems.is_empty() {
        return Err(ImportError::Rejected { problems });
    }

    let dictionaries = store::load_dictionaries(db).await?;
    let job = Job {
        dir,
        source: dir.display().to_string(),
        started_at,
        catalog,
        time_zone,
        files,
        dictionaries,
        progress,
        spark,
    };
    match db {
        Db::Sqlite(pool) => write_import(pool.begin().await?, job, Backend::Sqlite).await,
        Db::Postgres(pool) => write_import(pool.begin().await?, job, Backend::Postgres).await,
    }
}

/// Everything an import writes, prepared before the transaction opens.
struct Job<'a> {
    dir: &'a Path,
    source: String,
    started_at: i64,
    catalog: MergedCatalog,
    time_zone: Tz,
    files: Vec<DataFile>,
    dictionaries: HashMap<TargetObject, HashMap<String, u32>>,
    progress: ProgressFn,
    spark: Option<&'a SparkWarehouse>,
}

/// The import's one transaction: catalog and tables first, then the rows the
/// reader streams, then the ready dates; rolled back on any problem.
async fn write_import<T: WriteTx>(
    mut tx: T,
    job: Job<'_>,
    backend: Backend,
) -> Result<ImportSummary, ImportError> {
    let import_id = tx
        .fetch_id(
            "INSERT INTO tag_imports (source, rows_loaded, summary, started_at, finished_at) \
             VALUES ($1, 0, '', $2, $2) RETURNING id",
            &[Value::Text(&job.source), Value::Int(job.started_at)],
        )
        .await?;
    for ddl in job.catalog.statements(backend) {
        tx.run(&ddl, &[]).await?;
    }
    for tag in job.catalog.changed_tags() {
        store::upsert_tag(&mut tx, tag).await?;
    }
    let mut spark = match job.spark {
        Some(warehouse) => {
            let tags: Vec<TagDef> = job.catalog.tags.values().cloned().collect();
            Some(
                warehouse
                    .begin_import(import_id, &tags, &job.catalog.new_attributes)
                    .await
                    .map_err(spark_failed)?,
            )
        }
        None => None,
    };
    let (sender, receiver) = mpsc::channel::<Write>(8);
    let reader = spawn_reader(
        job.dir,
        job.files,
        job.catalog.tags.clone(),
        job.time_zone,
        job.dictionaries,
        sender,
        job.progress,
    );
    let written = write_rows(&mut tx, receiver, reader, spark.as_mut()).await;
    let summary = match written {
        Ok(outcome) => record_import(&mut tx, import_id, &outcome, job.catalog.defined).await,
        Err(error) => Err(error),
    };
    match (summary, spark) {
        (Ok(summary), Some(spark)) => {
            spark.publish().await.map_err(spark_failed)?;
            tx.commit().await?;
            Ok(summary)
        }
        (Ok(summary), None) => {
            tx.commit().await?;
            Ok(summary)
        }
        (Err(error), spark) => {
            if let Some(spark) = spark {
                spark.abandon().await;
            }
            Err(error)
        }
    }
}

/// Streams the reader's rows into the transaction (and into Spark's
/// staging), and returns what the reader found.
async fn write_rows<T: WriteTx>(
    tx: &mut T,
    mut receiver: mpsc::Receiver<Write>,
    reader: tokio::task::JoinHandle<ReaderOutcome>,
    mut spark: Option<&mut SparkImport>,
) -> Result<ReaderOutcome, ImportError> {
    let mut write_error = None;
    while let Some(write) = receiver.recv().await {
        if write_error.is_some() {
            continue;
        }
        let result = write_one(tx, &write, spark.as_deref_mut()).await;
        if let Err(error) = result {
            write_error = Some(error);
            receiver.close();
        }
    }
    let outcome = join_reader(reader).await?;
    if let Some(error) = write_error {
        return Err(error);
    }
    if !outcome.problems.is_empty() {
        return Err(ImportError::Rejected {
            problems: outcome.problems,
        });
    }
    Ok(outcome)
}

async fn write_one<T: WriteTx>(
    tx: &mut T,
    write: &Write,
    spark: Option<&mut SparkImport>,
) -> Result<(), ImportError> {
    match write {
        Write::Rows(batch) => {
            tx.insert(batch).await?;
            if let Some(spark) = spark {
                spark.rows(batch).await.map_err(spark_failed)?;
            }
        }
        Write::DeletePartition { table, column, date } => {
            let sql = format!("DELETE FROM {} WHERE {column} = $1", quote_ident(table));
            tx.run(&sql, &[Value::Date(*date)]).await?;
            if let Some(spark) = spark {
                spark.replace_partition(table, column, *date);
            }
        }
        Write::DeleteScope { scope, target } => {
            tx.run(
                "DELETE FROM audience_scopes WHERE scope = $1 AND target_object = $2",
                &[Value::Text(scope), Value::Text(target.as_str())],
            )
            .await?;
            if let Some(spark) = spark {
                spark.replace_scope(scope, *target);
            }
        }
    }
    Ok(())
}

/// The import's partitions and summary, in its transaction.
async fn record_import<T: WriteTx>(
    tx: &mut T,
    import_id: i64,
    outcome: &ReaderOutcome,
    tags_defined: usize,
) -> Result<ImportSummary, ImportError> {
    for ((tag, date), rows) in &outcome.partitions {
        tx.run(
            "INSERT INTO tag_partitions (tag, data_date, row_count, import_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tag, data_date) DO UPDATE SET row_count = excluded.row_count, import_id = excluded.import_id",
            &[Value::Text(tag), Value::Date(*date), Value::Int(stored_count(*rows)), Value::Int(import_id)],
        )
        .await?;
    }
    let summary = outcome.summary(import_id, tags_defined);
    tx.run(
        "UPDATE tag_imports SET rows_loaded = $1, summary = $2, finished_at = $3 WHERE id = $4",
        &[
            Value::Int(stored_count(summary.rows)),
            Value::Text(&describe(&summary)),
            Value::Int(now_ms()),
            Value::Int(import_id),
        ],
    )
    .await?;
    Ok(summary)
}

/// One line about an import, for the imports table and the terminal.
pub fn describe(summary: &ImportSummary) -> String {
    format!(
        "{} rows from {} files, {} partitions, {} new entities, {} tags defined",
        summary.rows,
        summary.files.len(),
        summary.partitions,
        summary.new_entities,
        summary.tags_defined
    )
}

async fn join_reader(reader: tokio::task::JoinHandle<ReaderOutcome>) -> Result<ReaderOutcome, ImportError> {
    reader
        .await
        .map_err(|error| ImportError::Failed(anyhow::anyhow!("the import reader stopped: {error}")))
}

fn spark_failed(error: SparkError) -> ImportError {
    ImportError::Failed(anyhow::anyhow!("Spark: {error}"))
}
