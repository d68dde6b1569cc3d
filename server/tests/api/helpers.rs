use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use segment_contract::auth::{Role, Scope};
use segment_service::auth::{NewUser, create_token, create_user};
use segment_service::infra::db::Db;
use serde_json::Value;
use server::config::Config;
use server::startup::{Application, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each test once and runs it against both backends.
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) = $crate::helpers::TestApp::spawn_postgres().await else { return };
                    $body
                }
            }
        )*
    };
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub db: Db,
    pub database_url: String,
    /// The Spark tag warehouse of an app spawned in Spark mode.
    pub spark: Option<segment_service::spark::SparkWarehouse>,
    pub client: Client,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        chrono::Utc::now().timestamp_micros() % 1_000_000
    )
}

/// A new, empty directory for a test's files.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("segment-targeting-tests").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The URL of a new, empty database of `backend`.
pub async fn fresh_database_url(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("segment-targeting-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!(
                "sqlite://{}",
                dir.join(format!("{}.db", unique_name("t"))).display()
            )
        }
        Backend::Postgres => TestApp::fresh_postgres_database().await,
    }
}

/// A new, migrated database of `backend`.
pub async fn fresh_database(backend: Backend) -> Db {
    let db = Db::connect(&fresh_database_url(backend).await).await.unwrap();
    db.migrate().await.unwrap();
    db
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let database_url = fresh_database_url(backend).await;
        Self::spawn_with_url(backend, database_url).await
    }

    /// `None` (the test is skipped) when no PostgreSQL is configured, unless
    /// `REQUIRE_POSTGRES=1` says it must run, as the test command does.
    pub async fn spawn_postgres() -> Option<TestApp> {
        if std::env::var("TEST_POSTGRES_URL").is_err() {
            assert!(
                std::env::var("REQUIRE_POSTGRES").is_err(),
                "REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not: the PostgreSQL suite must run"
            );
            eprintln!("skipped: TEST_POSTGRES_URL is not set");
            return None;
        }
        Some(Self::spawn(Backend::Postgres).await)
    }

    pub async fn fresh_postgres_database() -> String {
        let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap();
        let name = unique_name("st_test");
        let admin = Db::connect(&admin_url)
            .await
            .expect("connect to the PostgreSQL test cluster");
        let Db::Postgres(pool) = &admin else {
            panic!("TEST_POSTGRES_URL is not a postgres:// URL")
        };
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(pool)
            .await
            .unwrap();
        admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("URL with a database path");
        format!("{base}/{name}")
    }

    pub async fn spawn_with_url(backend: Backend, database_url: String) -> TestApp {
        Self::spawn_configured(backend, database_url, |_| {}).await
    }

    /// Spawns the app on `database_url` with `configure` applied to the test configuration.
    pub async fn spawn_configured(
        backend: Backend,
        database_url: String,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config::from_env().unwrap();
        config.database_url = database_url.clone();
        config.leptos_options.site_addr = "127.0.0.1:0".parse().unwrap();
        config.tag_index_poll = std::time::Duration::from_millis(100);
        config.scheduler_tick = std::time::Duration::from_millis(100);
        config.workers.poll = std::time::Duration::from_millis(50);
        config.workers.retry_base = std::time::Duration::from_millis(200);
        // The tests' client stands for clients behind a proxy when it sends X-Forwarded-For.
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        // A cluster in the environment is for the tests that ask for it.
        config.spark = None;
        configure(&mut config);
        let application = Application::build(config, Options::default())
            .await
            .expect("build the app");
        let address = format!("http://{}", application.local_addr());
        let db = application.state().db.clone();
        let spark = application.state().spark.clone();
        tokio::spawn(application.serve());
        TestApp {
            address,
            backend,
            db,
            database_url,
            spark,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A request that never completes fails its test instead of stalling the run.
                .timeout(std::time::Duration::from_secs(90))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn token(&self, scope: &str) -> String {
        let scope = Scope::parse(scope).unwrap();
        create_token(&self.db, "test", &scope, "tests", None)
            .await
            .unwrap()
            .1
    }

    pub async fn user(&self, username: &str, password: &str, role: Role, scope: &str) {
        create_user(
            &self.db,
            NewUser {
                username: username.into(),
                password: password.into(),
                role,
                scope: Scope::parse(scope).unwrap(),
            },
        )
        .await
        .unwrap();
    }

    pub fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(token)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(token).json(&body)
    }

    pub fn patch(&self, path: &str, token: &str, body: Value) -> RequestBuilder {
        self.client.patch(self.url(path)).bearer_auth(token).json(&body)
    }

    pub fn delete(&self, path: &str, token: &str) -> RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(token)
    }
}

/// Sends the request and returns the status with the JSON body (`Null` when
/// empty). Every answer of a documented route is checked against the OpenAPI
/// document: its status must be listed and its body valid for the schema.
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let (client, request) = request.build_split();
    let request = request.expect("a well-formed request");
    let (method, path) = (request.method().clone(), request.url().path().to_string());
    let response: Response = client.execute(request).await.expect("request sent");
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    crate::contract::check(&method, &path, status, &body);
    (status, body)
}

/// Asserts the API error format and returns the message.
pub fn error_message(body: &Value, code: &str) -> String {
    assert_eq!(body["error"]["code"], code, "unexpected error body: {body}");
    body["error"]["message"]
        .as_str()
        .expect("error message")
        .to_string()
}
