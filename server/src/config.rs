//! Configuration from the environment, as cargo-leptos defines it plus our own.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use leptos::config::{LeptosOptions, get_configuration};
use segment_service::infra::mail::MailSettings;
use segment_service::segments::worker::WorkerSettings;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/segments.db?mode=rwc";
const OUTPUT_NAME: &str = "segment-targeting";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub leptos_options: LeptosOptions,
    /// Mark the session cookie `Secure`; set `COOKIE_SECURE=true` behind HTTPS.
    pub secure_cookies: bool,
    /// How often a running server checks for new tag imports (`TAG_INDEX_POLL_MS`, default 2000).
    pub tag_index_poll: Duration,
    /// Where `serve --demo` writes the demo dataset before importing it (`DEMO_DATA_DIR`).
    pub demo_data_dir: PathBuf,
    /// Users in the demo dataset `serve --demo` writes (`DEMO_USERS`, default 100,000).
    pub demo_users: u32,
    /// Materialization workers (`MATERIALIZE_WORKERS`, default 2), their lease
    /// (`RUN_LEASE_MS`, 30 s) and first retry delay (`RUN_RETRY_BASE_MS`, 2 s).
    pub workers: WorkerSettings,
    /// How often the scheduler looks for due daily runs, expiry and staleness (`SCHEDULER_TICK_MS`, 1 s).
    pub scheduler_tick: Duration,
    /// The largest uploaded ID list (`UPLOAD_MAX_MB`, default 512).
    pub upload_max_bytes: u64,
    /// The read-only warehouse of warehouse-table segments (`WAREHOUSE_URL`:
    /// `sqlite:…` or `postgres://…`); unset, `serve --demo` connects a demo
    /// warehouse written next to the demo data.
    pub warehouse_url: Option<String>,
    /// Notification mail: `SMTP_URL` (unset: kept in the outbox) and `MAIL_FROM`.
    pub mail: MailSettings,
    /// Threads the engine evaluates on (`ENGINE_THREADS`, default: the cores).
    pub engine_threads: usize,
    /// How long an estimate or a verification may take (`ESTIMATE_DEADLINE_MS`, default 10000).
    pub estimate_deadline: Duration,
    /// How long a request other than an upload or a download may take (`REQUEST_TIMEOUT_MS`, default 30000).
    pub request_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXY`, comma-separated addresses; unset: none).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long an upload no segment uses is kept (`UPLOAD_RETENTION_HOURS`, default 24).
    pub upload_retention: Duration,
    /// Exports one principal may have queued or running (`EXPORTS_PER_PRINCIPAL`, default 5).
    pub exports_per_principal: i64,
    /// The tag warehouse in Apache Spark (`SPARK_CONNECT_URL`, `sc://host:port`;
    /// tables in the database `SPARK_DATABASE`, default `segment_targeting`).
    pub spark: Option<SparkSettings>,
}

#[derive(Clone, Debug)]
pub struct SparkSettings {
    pub url: String,
    pub database: String,
}

impl Config {
    /// Connects the Spark tag warehouse when one is configured.
    pub async fn connect_spark(&self) -> anyhow::Result<Option<segment_service::spark::SparkWarehouse>> {
        let Some(settings) = &self.spark else {
            return Ok(None);
        };
        let warehouse = segment_service::spark::SparkWarehouse::connect(&settings.url, &settings.database)
            .await
            .with_context(|| format!("connecting to Spark at {} (SPARK_CONNECT_URL)", settings.url))?;
        Ok(Some(warehouse))
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The addresses of `TRUSTED_PROXY`; a malformed one is an error, not ignored.
fn trusted_proxies() -> anyhow::Result<Vec<std::net::IpAddr>> {
    let Ok(text) = std::env::var("TRUSTED_PROXY") else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(|address| {
            address
                .parse()
                .map_err(|_| anyhow::anyhow!("TRUSTED_PROXY: {address:?} is not an IP address"))
        })
        .collect()
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let mut leptos_options = get_configuration(None)?.leptos_options;
        if leptos_options.output_name.is_empty() {
            leptos_options.output_name = OUTPUT_NAME.into();
        }
        Ok(Config {
            database_url: std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string()),
            leptos_options,
            secure_cookies: std::env::var("COOKIE_SECURE").is_ok_and(|v| v == "true" || v == "1"),
            tag_index_poll: Duration::from_millis(
                std::env::var("TAG_INDEX_POLL_MS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(2_000),
            ),
            demo_data_dir: std::env::var("DEMO_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from("data/demo")),
            demo_users: std::env::var("DEMO_USERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::demo_data::DEFAULT_USERS),
            workers: WorkerSettings {
                workers: env_number("MATERIALIZE_WORKERS", 2usize).max(1),
                lease: Duration::from_millis(env_number("RUN_LEASE_MS", 30_000)),
                retry_base: Duration::from_millis(env_number("RUN_RETRY_BASE_MS", 2_000)),
                ..WorkerSettings::default()
            },
            scheduler_tick: Duration::from_millis(env_number("SCHEDULER_TICK_MS", 1_000)),
            upload_max_bytes: env_number("UPLOAD_MAX_MB", 512u64) << 20,
            warehouse_url: std::env::var("WAREHOUSE_URL").ok().filter(|v| !v.is_empty()),
            mail: MailSettings {
                smtp_url: std::env::var("SMTP_URL").ok().filter(|v| !v.is_empty()),
                from: std::env::var("MAIL_FROM")
                    .unwrap_or_else(|_| "Segment Targeting <segments@segment-targeting.example>".into()),
                poll: Duration::from_secs(1),
            },
            engine_threads: env_number(
                "ENGINE_THREADS",
                std::thread::available_parallelism().map_or(2, usize::from),
            )
            .max(1),
            estimate_deadline: Duration::from_millis(env_number("ESTIMATE_DEADLINE_MS", 10_000)),
            request_timeout: Duration::from_millis(env_number("REQUEST_TIMEOUT_MS", 30_000)),
            trusted_proxies: trusted_proxies()?,
            upload_retention: Duration::from_secs(env_number("UPLOAD_RETENTION_HOURS", 24u64) * 3600),
            exports_per_principal: env_number("EXPORTS_PER_PRINCIPAL", 5i64).max(1),
            spark: std::env::var("SPARK_CONNECT_URL")
                .ok()
                .filter(|v| !v.is_empty())
                .map(|url| SparkSettings {
                    url,
                    database: std::env::var("SPARK_DATABASE")
                        .ok()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| "segment_targeting".into()),
                }),
        })
    }
}
