//! Builds the router and runs the server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use app::{App, shell};
use axum::Router;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use segment_contract::auth::{Role, Scope};
use segment_contract::console::Console;
use segment_service::auth::{NewUser, count_users, create_user};
use segment_service::background::Background;
use segment_service::console::ConsoleService;
use segment_service::infra::db::Db;
use segment_service::infra::mail::Mailer;
use segment_service::segments;
use segment_service::spark::SparkWarehouse;
use segment_service::state::AppState;
use segment_service::warehouse::Warehouse;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::Config;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Create the demo accounts on an empty database.
    pub demo: bool,
}

/// The demo accounts created by `serve --demo` on first start (also in the README).
pub const DEMO_ACCOUNTS: [(&str, &str, Role, &str); 4] = [
    ("admin", "admin-demo-1", Role::Admin, "platform"),
    ("operator", "operator-demo-1", Role::Operator, "platform"),
    ("merchant", "merchant-demo-1", Role::Merchant, "merchant:M0001"),
    ("store", "store-demo-1", Role::StoreManager, "store:S0001,S0002"),
];

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    background: Background,
}

/// How long a stopping server waits for its background loops to finish
/// their step (a run in progress is handed back at once).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The background loops, each supervised: the entity dictionaries' and the
/// tag index's refreshers (imports made by `server import` against the same
/// database show up within one poll, without a restart), the workers (runs
/// left by a stopped server are claimed again once their lease expires),
/// the scheduler, the exporter and the mailer.
fn start_background(state: &AppState, config: &Config) -> anyhow::Result<Background> {
    let mut background = Background::new();
    let (dictionaries, db, poll) = (
        state.dictionaries.clone(),
        state.db.clone(),
        config.tag_index_poll,
    );
    background.supervise("entity dictionaries", move |shutdown| {
        dictionaries.clone().keep_fresh(db.clone(), poll, shutdown)
    });
    let (index, db, poll) = (state.tag_index.clone(), state.db.clone(), config.tag_index_poll);
    background.supervise("tag index", move |shutdown| {
        index.clone().keep_fresh(db.clone(), poll, shutdown)
    });
    for _ in 0..config.workers.workers {
        let (state, settings) = (state.clone(), config.workers.clone());
        background.supervise("worker", move |shutdown| {
            segments::worker::work(state.clone(), settings.clone(), shutdown)
        });
    }
    let (scheduler, tick, retention) = (state.clone(), config.scheduler_tick, config.upload_retention);
    background.supervise("scheduler", move |shutdown| {
        segments::schedule::run_scheduler(scheduler.clone(), tick, retention, shutdown)
    });
    let exporter = state.clone();
    background.supervise("exporter", move |shutdown| {
        segments::exports::run_exporter(exporter.clone(), tick, shutdown)
    });
    if let Some(mailer) = Mailer::new(&config.mail).context("configuring SMTP_URL")? {
        let db = state.db.clone();
        background.supervise("mailer", move |shutdown| mailer.clone().run(db.clone(), shutdown));
    }
    Ok(background)
}

impl Application {
    pub async fn build(config: Config, options: Options) -> anyhow::Result<Application> {
        let db = Db::connect(&config.database_url)
            .await
            .with_context(|| format!("connecting to {}", redact(&config.database_url)))?;
        db.migrate().await.context("applying migrations")?;
        let spark = config.connect_spark().await?;
        if options.demo {
            create_demo_accounts(&db).await?;
            load_demo_data(&db, &config, spark.as_ref()).await?;
        }
        let warehouse_url = match (&config.warehouse_url, options.demo) {
            (Some(url), _) => Some(url.clone()),
            (None, true) => Some(demo_warehouse(&config).await?),
            (None, false) => None,
        };
        let mut state = AppState::new(db.clone());
        state.spark = spark;
        if let Some(url) = warehouse_url {
            state.warehouse = Some(
                Warehouse::connect(&url)
                    .await
                    .with_context(|| format!("connecting to the warehouse {}", redact(&url)))?,
            );
        }
        state.secure_cookies = config.secure_cookies;
        state.upload_max_bytes = config.upload_max_bytes;
        state.engine = segment_service::infra::engine_pool::EnginePool::new(config.engine_threads, 4);
        state.estimate_deadline = config.estimate_deadline;
        state.trusted_proxies = config.trusted_proxies.clone();
        state.exports_per_principal = config.exports_per_principal;
        let background = start_background(&state, &config)?;

        let listener = TcpListener::bind(config.leptos_options.site_addr)
            .await
            .with_context(|| format!("binding {}", config.leptos_options.site_addr))?;
        let router = router(
            state.clone(),
            config.leptos_options.clone(),
            config.request_timeout,
        );
        Ok(Application {
            listener,
            router,
            state,
            background,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn serve(self) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(backend = self.state.db.backend().as_str(), "database ready");
        println!("Segment Targeting is running at http://{addr}");
        axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        tracing::info!("stopping the background work");
        self.background.shutdown(SHUTDOWN_GRACE).await;
        if let Some(spark) = &self.state.spark
            && let Err(error) = spark.release_session().await
        {
            tracing::warn!(%error, "could not end the Spark session");
        }
        Ok(())
    }
}

/// The router's state: the services, and Leptos' options for its pages.
#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub leptos_options: LeptosOptions,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<ServerState> for AppState {
    fn from_ref(state: &ServerState) -> Self {
        state.app.clone()
    }
}

pub fn router(
    state: AppState,
    leptos_options: LeptosOptions,
    request_timeout: std::time::Duration,
) -> Router {
    let routes = generate_route_list(App);
    // The console's server functions reach the services through this.
    let console: Arc<dyn Console> = Arc::new(ConsoleService::new(state.clone()));
    let server_state = ServerState {
        app: state.clone(),
        leptos_options: leptos_options.clone(),
    };
    Router::new()
        .nest("/api/v1", crate::api::router().with_state(state.clone()))
        .leptos_routes_with_context(
            &server_state,
            routes,
            move || provide_context(console.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<ServerState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::middleware::time_limit(request_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn(crate::middleware::limit_body))
        .layer(axum::middleware::from_fn(crate::middleware::security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(server_state)
}

async fn create_demo_accounts(db: &Db) -> anyhow::Result<()> {
    if count_users(db).await? > 0 {
        return Ok(());
    }
    for (username, password, role, scope) in DEMO_ACCOUNTS {
        create_user(
            db,
            NewUser {
                username: username.into(),
                password: password.into(),
                role,
                scope: Scope::parse(scope)?,
            },
        )
        .await?;
        tracing::info!(username, role = role.as_str(), "created demo account");
    }
    Ok(())
}

/// On a warehouse without any import, writes the demo dataset and imports it.
async fn load_demo_data(db: &Db, config: &Config, spark: Option<&SparkWarehouse>) -> anyhow::Result<()> {
    if segment_service::tags::store::latest_import(db).await? > 0 {
        return Ok(());
    }
    let options = crate::demo_data::DemoOptions {
        users: config.demo_users,
        days: crate::demo_data::DEFAULT_DAYS,
        seed: crate::demo_data::DEFAULT_SEED,
        end_date: crate::demo_data::default_end_date(),
        persona: None,
        persona_shape: crate::demo_data::PersonaShape::default(),
    };
    let dir = &config.demo_data_dir;
    println!(
        "First start: writing demo tag data ({} users, {} days ending {}) to {} and importing it…",
        options.users,
        options.days,
        options.end_date,
        dir.display()
    );
    let generate_dir = dir.clone();
    tokio::task::spawn_blocking(move || crate::demo_data::generate(&generate_dir, &options)).await??;
    crate::import::run_import(db, dir, spark).await?;
    Ok(())
}

/// The demo warehouse next to the demo data, written on first use; its URL.
async fn demo_warehouse(config: &Config) -> anyhow::Result<String> {
    let path = config.demo_data_dir.join("warehouse.db");
    if !path.exists() {
        println!("First start: writing the demo warehouse to {}…", path.display());
        crate::demo_warehouse::create(&path, config.demo_users, crate::demo_data::DEFAULT_SEED).await?;
    }
    Ok(format!("sqlite://{}", path.display()))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
