//! `scripts/bench --spark`: the same data and rules in Spark (the Spark
//! mode's own import into a standalone cluster) beside the embedded engine,
//! every count and member set checked equal. Besides the medians it
//! measures what `docs/scale-out.md` extrapolates from: Spark's fixed cost
//! per statement (a query that reads nothing) and the result's size as
//! per-bucket bitmaps.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use segment_core::plan::Plan;
use segment_core::sql::{Dialect, Output, compile};
use segment_service::infra::db::Db;
use segment_service::spark::{BUCKETS, SparkWarehouse};
use segment_service::tags::index::LoadedIndex;

use super::suite::Case;
use super::{Args, machine, median, ms, runs};

struct SparkRow {
    name: &'static str,
    count: u64,
    engine: Duration,
    engine_all: Duration,
    count_time: Duration,
    members_time: Duration,
    buckets: usize,
}

/// The engine's median time for a plan, on one thread (`false`) or all.
pub(super) type EngineTime<'a> = dyn Fn(bool, &Plan, Option<&[String]>) -> anyhow::Result<Duration> + 'a;

/// The suite as the engine runs it.
pub(super) struct Suite<'a> {
    pub cases: &'a [Case],
    pub plans: &'a [Plan],
    pub loaded: &'a LoadedIndex,
    pub engine_time: &'a EngineTime<'a>,
}

/// The statements' timings, rule by rule; an error when any answer differs.
pub(super) async fn run(
    args: &Args,
    url: &str,
    work: &Path,
    data_dir: &Path,
    suite: Suite<'_>,
) -> anyhow::Result<()> {
    let Suite {
        cases,
        plans,
        loaded,
        engine_time,
    } = suite;
    anyhow::ensure!(
        data_dir.exists(),
        "the Spark import reads the generated files: run without --drop-data-after-load"
    );
    let database = format!("bench_{}u_{}d", args.users, args.days);
    let mut spark = SparkWarehouse::connect(url, &database).await?;
    spark.query_timeout = Duration::from_secs(3_600);
    // The Spark mode's import writes the local catalog too: a scratch copy.
    let local_path = work.join("spark-local.db");
    let _ = std::fs::remove_file(&local_path);
    let local = super::bulk_sqlite(&local_path).await?;
    local.migrate().await?;
    eprintln!("importing into Spark ({url}, database {database})…");
    let started = Instant::now();
    crate::import::run_import(&local, data_dir, Some(&spark)).await?;
    let import_time = started.elapsed();
    if let Db::Sqlite(pool) = &local {
        pool.close().await;
    }
    let _ = std::fs::remove_file(&local_path);

    let spark_runs = args.sql_runs.max(1);
    // What every statement costs before it reads a row: planning, the
    // round trips, scheduling a task.
    let mut samples = Vec::new();
    for _ in 0..spark_runs + 2 {
        let started = Instant::now();
        spark.smallest_job().await?;
        samples.push(started.elapsed());
    }
    let fixed = median(samples);

    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for (case, plan) in cases.iter().zip(plans) {
        let scopes = case.scope.map(|s| vec![s.to_string()]);
        let members = loaded.index.evaluate(plan, scopes.as_deref())?;
        let count = members.len();
        let engine = engine_time(false, plan, scopes.as_deref())?;
        let engine_all = engine_time(true, plan, scopes.as_deref())?;

        let count_sql = compile(plan, Dialect::Spark, Output::Count, scopes.as_deref());
        let mut samples = Vec::new();
        for _ in 0..spark_runs {
            let started = Instant::now();
            let spark_count = spark.count(&count_sql, spark.query_timeout).await?;
            samples.push(started.elapsed());
            if spark_count != count {
                mismatches.push(format!(
                    "{}: engine {count}, Spark count {spark_count}",
                    case.name
                ));
            }
        }
        let count_time = median(samples);

        let members_sql = compile(plan, Dialect::Spark, Output::BucketBitmaps, scopes.as_deref());
        let started = Instant::now();
        let from_spark = spark.members(&members_sql).await?;
        let members_time = started.elapsed();
        if from_spark != members {
            mismatches.push(format!(
                "{}: engine {count} members, Spark {} ({} differ)",
                case.name,
                from_spark.len(),
                (&from_spark ^ &members).len()
            ));
        }
        let buckets = members
            .iter()
            .map(|idx| idx / segment_core::sql::BUCKET_BITS)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        eprintln!(
            "{:<34} {count:>9} members  engine×1 {:>8.2} ms  Spark count {:>8.0} ms  Spark members {:>8.0} ms",
            case.name,
            ms(engine),
            ms(count_time),
            ms(members_time)
        );
        rows.push(SparkRow {
            name: case.name,
            count,
            engine,
            engine_all,
            count_time,
            members_time,
            buckets,
        });
    }
    let report = report(args, &rows, import_time, fixed, spark_runs);
    super::publish_report(args, &report)?;
    spark.drop_database(&database).await?;
    anyhow::ensure!(
        mismatches.is_empty(),
        "Spark and the engine disagree:\n{}",
        mismatches.join("\n")
    );
    Ok(())
}

fn report(args: &Args, rows: &[SparkRow], import: Duration, fixed: Duration, spark_runs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Spark: {} users, {} days — {}\n",
        args.users,
        args.days,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "Machine: {}. Spark 4.2 standalone on the same machine: 2 workers of 1 core each, tables bucketed into {BUCKETS} \
         by entity index. Spark times are medians of {} (count) and one run (members as per-bucket bitmaps); \
         the engine's of {}. Every rule's Spark count and member set equal the engine's. \
         A job that reads no table (two tasks) takes {:.0} ms on this cluster (planning, round trips, scheduling): \
         Spark's floor for any rule.\n",
        machine(),
        runs(spark_runs),
        runs(args.runs),
        ms(fixed)
    );
    let _ = writeln!(
        out,
        "| rule | members | engine 1 thread ms | engine all threads ms | Spark count ms | Spark members ms | member buckets | Spark count ÷ engine all |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {:.2} | {:.2} | {:.0} | {:.0} | {} | {:.0}× |",
            row.name,
            row.count,
            ms(row.engine),
            ms(row.engine_all),
            ms(row.count_time),
            ms(row.members_time),
            row.buckets,
            ms(row.count_time) / ms(row.engine_all).max(0.001)
        );
    }
    let _ = writeln!(
        out,
        "\nImport into Spark mode (the local catalog and Spark's tables; validated, staged, published): {:.0}s.",
        import.as_secs_f64()
    );
    out
}
