//! The engine benchmark: one dataset, one rule suite, every contender in
//! one run — our bitmap engine, DuckDB (one thread and all threads), SQLite
//! and PostgreSQL executing the compiled SQL — with every count checked
//! equal and medians and ratios printed side by side.

// Synthetic data and timings: sizes, ranks and draws from bounded
// distributions are converted between integer and float types throughout.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

pub mod data;
pub mod lookalike;
mod spark;
mod suite;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Parser;
use segment_core::sql::{Dialect, Output, compile};
use segment_core::validate::{Context as RuleContext, validate};
use segment_service::infra::db::Db;
use segment_service::tags::index::load_index;
use segment_service::tags::sql_exec;

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Engine benchmark against DuckDB, SQLite and PostgreSQL"
)]
pub struct Args {
    /// Users in the generated population.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: u64,
    /// Daily partitions of behavior data.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Timed runs per rule for the engine and DuckDB (the median is reported).
    #[arg(long, default_value_t = 15)]
    pub runs: usize,
    /// Timed runs per rule for SQLite and PostgreSQL (they are much slower).
    #[arg(long, default_value_t = 3)]
    pub sql_runs: usize,
    /// Where the dataset and the databases are kept between runs.
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// PostgreSQL to load and query (a throwaway cluster; `scripts/bench` starts one).
    #[arg(long, env = "BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Python with the `duckdb` package (`scripts/bench` makes a venv).
    #[arg(long, env = "BENCH_PYTHON", default_value = "python3")]
    pub python: String,
    /// Append the report (Markdown) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Time only the engine (for profiling it): no DuckDB, SQLite or PostgreSQL.
    #[arg(long)]
    pub engine_only: bool,
    /// With `--engine-only`: time only the rules whose name contains this.
    #[arg(long, requires = "engine_only")]
    pub rule: Option<String>,
    /// Remove the generated import files once SQLite and PostgreSQL hold
    /// them (at 10M users they are 12 GB the later loads need).
    #[arg(long)]
    pub drop_data_after_load: bool,
    /// Compare the engine with Spark instead (`scripts/bench --spark`
    /// starts a throwaway cluster): the Spark mode's import, then every
    /// rule counted and materialized on Spark.
    /// The cluster is `SPARK_CONNECT_URL`'s.
    #[arg(long, conflicts_with = "engine_only")]
    pub spark: bool,
}

/// The newest partition of the benchmark data: fixed, so runs compare.
pub fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date")
}

struct Row {
    name: &'static str,
    description: &'static str,
    count: u64,
    /// The engine on one thread and on all the machine's threads.
    engine: Duration,
    engine_all: Duration,
    duck_one: Option<f64>,
    duck_all: Option<f64>,
    sqlite: Duration,
    postgres: Option<Duration>,
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// The resident heap, without file pages mapped in (SQLite's memory-mapped
/// database pages count in RSS but belong to the page cache).
pub(crate) fn anonymous_rss_bytes() -> u64 {
    status_bytes("RssAnon:")
}

fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A one-connection SQLite handle with a rollback journal for the load: the
/// import is one transaction, which in the server's WAL mode would need the
/// database's size twice over on disk (WAL, then checkpointed pages).
async fn bulk_sqlite(path: &Path) -> anyhow::Result<Db> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    Ok(Db::Sqlite(pool))
}

/// Imports the dataset unless an earlier run did; answers the import time
/// (kept in the marker file, so reruns can report it).
pub(crate) async fn import_once(
    db: &Db,
    data_dir: &Path,
    marker: &Path,
    what: &str,
) -> anyhow::Result<Duration> {
    if let Ok(seconds) = std::fs::read_to_string(marker) {
        eprintln!("{what}: loaded by an earlier run ({})", marker.display());
        return Ok(Duration::from_secs_f64(seconds.trim().parse().unwrap_or(0.0)));
    }
    let started = Instant::now();
    crate::import::run_import(db, data_dir, None).await?;
    let elapsed = started.elapsed();
    std::fs::write(marker, elapsed.as_secs_f64().to_string())?;
    Ok(elapsed)
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/bench-{}u-{}d", args.users, args.days)));
    std::fs::create_dir_all(&work)?;
    let work = work.canonicalize()?;
    let data_dir = work.join("data");
    let end = end_date();

    // 1. The dataset, written once per size.
    if !work.join("data.done").exists() {
        eprintln!(
            "generating {} users × {} days into {}",
            args.users,
            args.days,
            data_dir.display()
        );
        let started = Instant::now();
        let rows = data::generate(&data_dir, args.users, args.days, args.seed, end)?;
        std::fs::write(work.join("data.done"), rows.to_string())?;
        eprintln!("wrote {rows} rows in {:.0}s", started.elapsed().as_secs_f64());
    }

    // 2. SQLite and PostgreSQL, loaded by the real importer, side by side
    //    (each import is mostly one core's work).
    let sqlite_path = work.join("warehouse.db");
    let sqlite_loader = bulk_sqlite(&sqlite_path).await?;
    sqlite_loader.migrate().await?;
    let postgres_db = match &args.postgres_url {
        Some(url) => {
            let db = Db::connect(url)
                .await
                .context("connecting to BENCH_POSTGRES_URL")?;
            db.migrate().await?;
            let marker = work.join(format!("postgres-{}.done", url.replace(['/', ':', '@'], "_")));
            Some((db, marker))
        }
        None => None,
    };
    let postgres_import = async {
        match &postgres_db {
            Some((db, marker)) => import_once(db, &data_dir, marker, "PostgreSQL").await.map(Some),
            None => Ok(None),
        }
    };
    let sqlite_marker = work.join("sqlite.done");
    let (sqlite_load, postgres_load) = tokio::try_join!(
        import_once(&sqlite_loader, &data_dir, &sqlite_marker, "SQLite"),
        postgres_import
    )?;
    if let Db::Sqlite(pool) = &sqlite_loader {
        pool.close().await;
    }
    if args.drop_data_after_load && data_dir.exists() {
        // A rerun regenerates them (its throwaway PostgreSQL needs them).
        std::fs::remove_dir_all(&data_dir)?;
        std::fs::remove_file(work.join("data.done"))?;
        eprintln!("removed the generated files ({})", data_dir.display());
    }
    let sqlite = Db::connect(&format!("sqlite://{}?mode=rwc", sqlite_path.display())).await?;
    let postgres = match (postgres_db, postgres_load) {
        (Some((db, _)), Some(load)) => {
            if let Db::Postgres(pool) = &db {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
            Some((db, load))
        }
        _ => None,
    };

    // 3. Our engine's index, loaded from the warehouse as the server does.
    let rss_before = rss_bytes();
    let loaded = load_index(&sqlite, None).await?;
    let rss_after = rss_bytes();
    let anonymous_rss = anonymous_rss_bytes();
    eprintln!(
        "engine index loaded in {:.1}s ({} partitions built, {} from snapshots): ~{} MB of bitmaps and columns, process RSS {} MB ({} MB of it heap, the rest mapped file pages)",
        loaded.load_time.as_secs_f64(),
        loaded.stats.built,
        loaded.stats.from_snapshots,
        loaded.index.approximate_bytes() / 1_000_000,
        rss_after / 1_000_000,
        anonymous_rss / 1_000_000
    );

    // 4. The suite, planned once.
    let cases = suite::cases(end);
    let mut plans = Vec::new();
    for case in &cases {
        let plan = validate(
            &case.rule,
            &RuleContext {
                catalog: &loaded.catalog,
                target: segment_core::TargetObject::User,
                time_zone: chrono_tz::Asia::Shanghai,
                as_of: end,
            },
        )
        .map_err(|problems| anyhow::anyhow!("suite rule {} is invalid: {problems:?}", case.name))?;
        plans.push(plan);
    }

    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let all_threads = rayon::ThreadPoolBuilder::new().build()?;
    // The median time of the engine's evaluation of `plan` on `pool`.
    let engine_time =
        |pool: &rayon::ThreadPool, plan: &segment_core::plan::Plan, scopes: Option<&[String]>| {
            pool.install(|| {
                let mut samples = Vec::new();
                for _ in 0..args.runs {
                    let started = Instant::now();
                    let members = loaded.index.evaluate(plan, scopes)?;
                    samples.push(started.elapsed());
                    std::hint::black_box(members);
                }
                anyhow::Ok(median(samples))
            })
        };
    if args.spark {
        let url = std::env::var("SPARK_CONNECT_URL")
            .context("--spark needs SPARK_CONNECT_URL (scripts/bench --spark sets it)")?;
        let time = |all: bool, plan: &segment_core::plan::Plan, scopes: Option<&[String]>| {
            engine_time(if all { &all_threads } else { &one_thread }, plan, scopes)
        };
        let suite = spark::Suite {
            cases: &cases,
            plans: &plans,
            loaded: &loaded,
            engine_time: &time,
        };
        return spark::run(&args, &url, &work, &data_dir, suite).await;
    }
    if args.engine_only {
        let chosen = |case: &&suite::Case| {
            args.rule
                .as_ref()
                .is_none_or(|part| case.name.contains(part.as_str()))
        };
        for (case, plan) in cases.iter().zip(&plans).filter(|(case, _)| chosen(case)) {
            let scopes = case.scope.map(|s| vec![s.to_string()]);
            let count = loaded.index.evaluate(plan, scopes.as_deref())?.len();
            eprintln!(
                "{:<34} {count:>9} members  engine×1 {:>8.2} ms  engine×{} {:>8.2} ms",
                case.name,
                ms(engine_time(&one_thread, plan, scopes.as_deref())?),
                all_threads.current_num_threads(),
                ms(engine_time(&all_threads, plan, scopes.as_deref())?),
            );
        }
        return Ok(());
    }

    // 5. DuckDB, in a Python subprocess, on the same tables.
    let queries: Vec<serde_json::Value> = cases
        .iter()
        .zip(&plans)
        .map(|(case, plan)| {
            let scopes = case.scope.map(|s| vec![s.to_string()]);
            serde_json::json!({
                "name": case.name,
                "sql": compile(plan, Dialect::Postgres, Output::Count, scopes.as_deref()).display(),
            })
        })
        .collect();
    let queries_path = work.join("queries.json");
    std::fs::write(&queries_path, serde_json::to_string_pretty(&queries)?)?;
    eprintln!(
        "running DuckDB ({} queries × {} runs × 2 thread settings)…",
        cases.len(),
        args.runs
    );
    // scripts/bench runs from the repository root.
    let script = Path::new("scripts/bench_duckdb.py");
    let output = Command::new(&args.python)
        .arg(script)
        .arg(&sqlite_path)
        .arg(work.join("duckdb"))
        .arg(&queries_path)
        .arg(args.runs.to_string())
        .output()
        .context("running the DuckDB contender")?;
    anyhow::ensure!(
        output.status.success(),
        "the DuckDB contender failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let duck: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let duck_result = |name: &str, all_threads: bool| -> Option<(u64, f64)> {
        duck["results"].as_array()?.iter().find_map(|r| {
            let threads = r["threads"].as_u64()?;
            (r["name"] == name && (threads == 1) != all_threads).then(|| {
                (
                    r["count"].as_u64().unwrap_or(u64::MAX),
                    r["median_ms"].as_f64().unwrap_or(f64::NAN),
                )
            })
        })
    };
    let duck_threads = duck["threads_all"].as_u64().unwrap_or(1);

    // 6. Engine, SQLite and PostgreSQL, rule by rule.
    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for (case, plan) in cases.iter().zip(&plans) {
        let scopes = case.scope.map(|s| vec![s.to_string()]);
        let count = loaded.index.evaluate(plan, scopes.as_deref())?.len();
        let engine = engine_time(&one_thread, plan, scopes.as_deref())?;
        let engine_all = engine_time(&all_threads, plan, scopes.as_deref())?;

        let sql = compile(plan, Dialect::Sqlite, Output::Count, scopes.as_deref());
        let mut samples = Vec::new();
        let mut sqlite_count = 0;
        for _ in 0..args.sql_runs.max(1) {
            let started = Instant::now();
            sqlite_count = sql_exec::count(&sqlite, &sql).await?;
            samples.push(started.elapsed());
        }
        let sqlite_time = median(samples);

        let postgres_time = match &postgres {
            Some((db, _)) => {
                let sql = compile(plan, Dialect::Postgres, Output::Count, scopes.as_deref());
                sql_exec::count(db, &sql).await?; // warm the cache
                let mut samples = Vec::new();
                for _ in 0..args.sql_runs.max(1) {
                    let started = Instant::now();
                    let pg_count = sql_exec::count(db, &sql).await?;
                    samples.push(started.elapsed());
                    if pg_count != count {
                        mismatches.push(format!("{}: engine {count}, PostgreSQL {pg_count}", case.name));
                    }
                }
                Some(median(samples))
            }
            None => None,
        };
        let duck_one = duck_result(case.name, false);
        let duck_all = duck_result(case.name, true);
        for (label, found) in [
            ("SQLite", Some(sqlite_count)),
            ("DuckDB", duck_one.map(|d| d.0)),
            ("DuckDB", duck_all.map(|d| d.0)),
        ] {
            if let Some(found) = found
                && found != count
            {
                mismatches.push(format!("{}: engine {count}, {label} {found}", case.name));
            }
        }
        eprintln!(
            "{:<34} {:>9} members  engine×1 {:>8.2} ms  engine×N {:>8.2} ms  DuckDB×1 {:>8.1} ms  SQLite {:>9.1} ms",
            case.name,
            count,
            ms(engine),
            ms(engine_all),
            duck_one.map_or(f64::NAN, |d| d.1),
            ms(sqlite_time)
        );
        rows.push(Row {
            name: case.name,
            description: case.description,
            count,
            engine,
            engine_all,
            duck_one: duck_one.map(|d| d.1),
            duck_all: duck_all.map(|d| d.1),
            sqlite: sqlite_time,
            postgres: postgres_time,
        });
    }

    let report = report(
        &args,
        &rows,
        &Loads {
            sqlite: sqlite_load,
            postgres: postgres.as_ref().map(|(_, load)| *load),
            duckdb_seconds: duck["load_seconds"].as_f64().unwrap_or(f64::NAN),
            index: loaded.load_time,
            index_bytes: loaded.index.approximate_bytes() as u64,
            rss: rss_after,
            anonymous_rss,
            rss_before,
            duck_threads,
        },
    );
    publish_report(&args, &report)?;
    anyhow::ensure!(
        mismatches.is_empty(),
        "contenders disagree:\n{}",
        mismatches.join("\n")
    );
    Ok(())
}

/// Prints a run's report and appends it to `--report`'s file, if given.
pub(crate) fn publish_report(args: &Args, report: &str) -> anyhow::Result<()> {
    println!("{report}");
    if let Some(path) = &args.report {
        let mut text = std::fs::read_to_string(path).unwrap_or_default();
        text.push_str(report);
        std::fs::write(path, text)?;
        eprintln!("appended the report to {}", path.display());
    }
    Ok(())
}

struct Loads {
    sqlite: Duration,
    postgres: Option<Duration>,
    duckdb_seconds: f64,
    index: Duration,
    index_bytes: u64,
    rss: u64,
    anonymous_rss: u64,
    rss_before: u64,
    duck_threads: u64,
}

fn ratio(other_ms: Option<f64>, engine: Duration) -> String {
    match other_ms {
        Some(other) if other.is_finite() => {
            let ratio = other / ms(engine).max(0.001);
            if ratio < 10.0 {
                format!("{ratio:.1}×")
            } else {
                format!("{ratio:.0}×")
            }
        }
        _ => "–".into(),
    }
}

/// The CPU, cores and memory, for reports.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next()?.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1_000_000);
    format!("{cpu}, {cores} cores, {memory_gb} GB RAM")
}

fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("{n} runs")
    }
}

fn report(args: &Args, rows: &[Row], loads: &Loads) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    writeln!(
        out,
        "\n## {} users, {} days — {}\n",
        args.users,
        args.days,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "Machine: {}. Medians of {} (engine, DuckDB) and {} (SQLite, PostgreSQL; PostgreSQL after one warm-up run); \
         every contender returned the same count for every rule. Ratios are contender time ÷ engine time: \
         DuckDB with one thread against the engine with one, DuckDB with all threads against the engine with all, \
         SQLite and PostgreSQL against the engine with all.\n",
        machine(),
        runs(args.runs),
        runs(args.sql_runs)
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "| rule | members | engine 1 thread ms | engine {} threads ms | DuckDB 1 thread ms | DuckDB {} threads ms | SQLite ms | PostgreSQL ms | vs DuckDB×1 | vs DuckDB×{} | vs SQLite | vs PostgreSQL |",
        loads.duck_threads, loads.duck_threads, loads.duck_threads
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    .expect("writing to a String cannot fail");
    for row in rows {
        writeln!(
            out,
            "| `{}` | {} | {:.2} | {:.2} | {} | {} | {:.1} | {} | {} | {} | {} | {} |",
            row.name,
            row.count,
            ms(row.engine),
            ms(row.engine_all),
            row.duck_one.map_or("–".into(), |v| format!("{v:.1}")),
            row.duck_all.map_or("–".into(), |v| format!("{v:.1}")),
            ms(row.sqlite),
            row.postgres.map_or("–".into(), |d| format!("{:.1}", ms(d))),
            ratio(row.duck_one, row.engine),
            ratio(row.duck_all, row.engine_all),
            ratio(Some(ms(row.sqlite)), row.engine_all),
            ratio(row.postgres.map(ms), row.engine_all),
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(out, "\nRules:\n").expect("writing to a String cannot fail");
    for row in rows {
        writeln!(out, "- `{}`: {}", row.name, row.description).expect("writing to a String cannot fail");
    }
    writeln!(
        out,
        "\nLoading: SQLite import {:.0}s (rollback journal, no fsync) and PostgreSQL import {} (run side by side), DuckDB copy {:.0}s, engine index from SQLite {:.1}s. \
         Engine index ≈ {} MB (bitmaps and columns); server process RSS {} MB after loading ({} MB of it heap; {} MB before).",
        loads.sqlite.as_secs_f64(),
        loads.postgres.map_or("not run".into(), |d| format!("{:.0}s", d.as_secs_f64())),
        loads.duckdb_seconds,
        loads.index.as_secs_f64(),
        loads.index_bytes / 1_000_000,
        loads.rss / 1_000_000,
        loads.anonymous_rss / 1_000_000,
        loads.rss_before / 1_000_000
    )
    .expect("writing to a String cannot fail");
    out
}
