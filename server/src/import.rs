//! Imports from the terminal: progress on stderr, every error listed.

use std::path::Path;
use std::time::Instant;

use segment_service::infra::db::Db;
use segment_service::spark::SparkWarehouse;
use segment_service::tags::import::{
    ImportError, ImportProgress, ImportSummary, import_dir, import_dir_with_spark,
};

/// Errors printed before the list is cut short.
const SHOWN_ERRORS: usize = 200;

/// Imports `dir` into `db`, and into Spark's tables too when `spark` is given.
pub async fn run_import(
    db: &Db,
    dir: &Path,
    spark: Option<&SparkWarehouse>,
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let progress = Box::new(move |p: &ImportProgress| {
        let seconds = started.elapsed().as_secs_f64();
        if p.done {
            eprintln!("  {:<40} {:>12} rows  done  ({seconds:.1}s)", p.file, p.rows);
        } else {
            eprintln!("  {:<40} {:>12} rows  …     ({seconds:.1}s)", p.file, p.rows);
        }
    });
    let imported = match spark {
        Some(spark) => {
            eprintln!("importing {} (and into Spark at {})", dir.display(), spark.url());
            import_dir_with_spark(db, dir, progress, spark).await
        }
        None => {
            eprintln!("importing {}", dir.display());
            import_dir(db, dir, progress).await
        }
    };
    match imported {
        Ok(summary) => {
            eprintln!("import finished in {:.1}s", started.elapsed().as_secs_f64());
            Ok(summary)
        }
        Err(ImportError::Rejected { problems }) => {
            for problem in problems.iter().take(SHOWN_ERRORS) {
                eprintln!("error: {problem}");
            }
            if problems.len() > SHOWN_ERRORS {
                eprintln!("… and {} more", problems.len() - SHOWN_ERRORS);
            }
            anyhow::bail!(
                "the import of {} was rejected with {} error(s); nothing was written",
                dir.display(),
                problems.len()
            )
        }
        Err(ImportError::Failed(error)) => Err(error.context(format!("importing {}", dir.display()))),
    }
}
