//! Warehouse-table segments: the warehouse's catalog over HTTP, segments of
//! a column's distinct known IDs, names checked against the catalog (never
//! spliced into SQL), platform principals only.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::*;
use crate::warehouse::small_dataset;

/// A SQLite warehouse with the tables the tests read (and one they must not).
async fn sqlite_warehouse(dir: &Path) -> String {
    let path = dir.join("warehouse.db");
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    for statement in [
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, user_id TEXT, amount REAL)",
        // U2 twice, an unknown ID, an empty and a missing one, and one padded with spaces.
        "INSERT INTO orders (user_id, amount) VALUES ('U1', 10), ('U2', 12.5), ('U2', 3), ('U9', 7), ('', 1), (NULL, 2), (' U3 ', 4)",
        r#"CREATE TABLE "odd ""name""; --" ("user id" TEXT, note TEXT)"#,
        r#"INSERT INTO "odd ""name""; --" VALUES ('U4', 'x')"#,
        "CREATE TABLE secret (user_id TEXT)",
        "INSERT INTO secret VALUES ('U1'), ('U2'), ('U3'), ('U4')",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    format!("sqlite://{}", path.display())
}

async fn spawn_with_warehouse(app: &TestApp, warehouse_url: String) -> TestApp {
    let database_url = fresh_database_url(app.backend).await;
    let served = TestApp::spawn_configured(app.backend, database_url, move |config| {
        config.warehouse_url = Some(warehouse_url);
    })
    .await;
    segment_service::tags::import::import_dir(&served.db, &small_dataset(), Box::new(|_| {}))
        .await
        .unwrap();
    served
}

fn warehouse_segment(name: &str, table: &str, id_column: &str) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["insight_analysis"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
        "definition": {"method": "warehouse_table", "table": table, "id_column": id_column}
    })
}

/// The segment once it has settled (Active or Failed).
async fn settled(app: &TestApp, token: &str, id: &Value) -> Value {
    for _ in 0..200 {
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        if detail["status"] == "active" || detail["status"] == "failed" {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segment {id} never settled")
}

async fn member(app: &TestApp, token: &str, id: &Value, entity: &str) -> bool {
    let (status, body) = send(app.get(&format!("/api/v1/segments/{id}/members/{entity}"), token)).await;
    assert_eq!(status, 200, "{body}");
    body["member"].as_bool().unwrap()
}

both_backends! {
    async fn a_warehouse_table_segment_holds_the_columns_distinct_known_ids(app: TestApp) {
        let warehouse = sqlite_warehouse(&temp_dir("warehouse")).await;
        let app = spawn_with_warehouse(&app, warehouse).await;
        let token = app.token("platform").await;

        let (status, listed) = send(app.get("/api/v1/warehouse/tables", &token)).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["tables"], json!(["odd \"name\"; --", "orders", "secret"]));
        let (status, table) = send(app.get("/api/v1/warehouse/tables/ORDERS", &token)).await;
        assert_eq!(status, 200, "{table}");
        assert_eq!(table["table"], "orders", "the catalog's spelling is answered");
        assert_eq!(table["rows"], 7);
        assert_eq!(table["columns"], json!([
            {"name": "order_id", "data_type": "integer"},
            {"name": "user_id", "data_type": "text"},
            {"name": "amount", "data_type": "real"},
        ]));

        let (status, created) = send(app.post("/api/v1/segments", &token, warehouse_segment("Buyers", "orders", "user_id"))).await;
        assert_eq!(status, 202, "{created}");
        let detail = settled(&app, &token, &created["id"]).await;
        assert_eq!(detail["status"], "active", "{detail}");
        assert_eq!(detail["size"], 3, "U1, U2 and U3 (trimmed); U9 is unknown, empty and NULL are skipped");
        assert_eq!(detail["definition"], json!({"method": "warehouse_table", "table": "orders", "id_column": "user_id"}));
        let read: Value = serde_json::from_str(detail["runs"][0]["inputs"].as_str().unwrap()).unwrap();
        assert_eq!((read["distinct"].as_u64(), read["matched"].as_u64(), read["unknown"].as_u64()), (Some(4), Some(3), Some(1)));
        assert_eq!(read["unknown_sample"], json!(["U9"]));
        for (entity, expected) in [("U1", true), ("U2", true), ("U3", true), ("U4", false)] {
            assert_eq!(member(&app, &token, &created["id"], entity).await, expected, "{entity}");
        }

        // A table whose name needs quoting is read through its catalog name.
        let (status, created) = send(app.post("/api/v1/segments", &token, warehouse_segment("Odd", "odd \"name\"; --", "user id"))).await;
        assert_eq!(status, 202, "{created}");
        let detail = settled(&app, &token, &created["id"]).await;
        assert_eq!((detail["status"].as_str(), detail["size"].as_u64()), (Some("active"), Some(1)), "{detail}");
        assert!(member(&app, &token, &created["id"], "U4").await);
    }

    async fn warehouse_names_are_checked_against_its_catalog_never_spliced(app: TestApp) {
        let dir = temp_dir("warehouse");
        let warehouse = sqlite_warehouse(&dir).await;
        let app = spawn_with_warehouse(&app, warehouse).await;
        let token = app.token("platform").await;
        for table in [
            "orders; DROP TABLE orders",
            "orders --",
            "\"orders\"",
            "orders WHERE 1=1",
            "secret UNION SELECT user_id FROM orders",
            "main.orders",
            "sqlite_schema",
            "",
        ] {
            let (status, body) = send(app.post("/api/v1/segments", &token, warehouse_segment("Injected", table, "user_id"))).await;
            assert_eq!(status, 400, "{table}: {body}");
            let fields = body["error"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == "definition.table"), "{table}: {body}");
            let path = format!("/api/v1/warehouse/tables/{}", urlencoding(table));
            if !table.is_empty() {
                let (status, body) = send(app.get(&path, &token)).await;
                assert_eq!(status, 404, "{table}: {body}");
            }
        }
        for column in ["user_id FROM secret --", "*", "user_id, order_id", "USER_ID", "1"] {
            let (status, body) = send(app.post("/api/v1/segments", &token, warehouse_segment("Injected", "orders", column))).await;
            assert_eq!(status, 400, "{column}: {body}");
            let fields = body["error"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == "definition.id_column"
                && f["message"].as_str().unwrap().contains("Get Data")), "{column}: {body}");
        }
        // Nothing was created and the warehouse is intact.
        let (_, listed) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(listed["total"], 0, "{listed}");
        let (_, table) = send(app.get("/api/v1/warehouse/tables/orders", &token)).await;
        assert_eq!(table["rows"], 7);
        let (_, listed) = send(app.get("/api/v1/warehouse/tables", &token)).await;
        assert_eq!(listed["tables"].as_array().unwrap().len(), 3);
    }

    async fn only_platform_principals_read_the_warehouse(app: TestApp) {
        let warehouse = sqlite_warehouse(&temp_dir("warehouse")).await;
        let app = spawn_with_warehouse(&app, warehouse).await;
        let merchant = app.token("merchant:M1").await;
        for path in ["/api/v1/warehouse/tables", "/api/v1/warehouse/tables/orders"] {
            let (status, body) = send(app.get(path, &merchant)).await;
            assert_eq!(status, 403, "{path}: {body}");
        }
        let (status, body) = send(app.post("/api/v1/segments", &merchant, warehouse_segment("Mine", "orders", "user_id"))).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = send(app.client.get(app.url("/api/v1/warehouse/tables"))).await;
        assert_eq!(status, 401);
    }

    async fn without_a_warehouse_the_answer_says_how_to_connect_one(app: TestApp) {
        let token = app.token("platform").await;
        let (status, body) = send(app.get("/api/v1/warehouse/tables/orders", &token)).await;
        assert_eq!(status, 503, "{body}");
        assert!(error_message(&body, "unavailable").contains("WAREHOUSE_URL"), "{body}");
    }
}

/// Percent-encodes a path segment.
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PostgreSQL warehouse: tables outside `public` are named `schema.table`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_warehouse_is_read_through_its_information_schema() {
    if std::env::var("TEST_POSTGRES_URL").is_err() {
        assert!(
            std::env::var("REQUIRE_POSTGRES").is_err(),
            "REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not"
        );
        return;
    }
    let warehouse_url = TestApp::fresh_postgres_database().await;
    let mut conn = sqlx::PgConnection::connect(&warehouse_url).await.unwrap();
    for statement in [
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.orders (order_id BIGINT, buyer VARCHAR(20))",
        "INSERT INTO sales.orders VALUES (1, 'U1'), (2, 'U3'), (3, 'U3'), (4, 'X1')",
        "CREATE TABLE public.orders (buyer TEXT)",
        "INSERT INTO public.orders VALUES ('U2')",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let app = spawn_with_warehouse(&sqlite, warehouse_url.clone()).await;
    let token = app.token("platform").await;
    let (_, listed) = send(app.get("/api/v1/warehouse/tables", &token)).await;
    assert_eq!(listed["tables"], json!(["orders", "sales.orders"]));
    let (status, table) = send(app.get("/api/v1/warehouse/tables/sales.orders", &token)).await;
    assert_eq!(status, 200, "{table}");
    assert_eq!(
        table["columns"],
        json!([
            {"name": "order_id", "data_type": "bigint"},
            {"name": "buyer", "data_type": "character varying"},
        ])
    );
    let (status, created) = send(app.post(
        "/api/v1/segments",
        &token,
        warehouse_segment("PG buyers", "sales.orders", "buyer"),
    ))
    .await;
    assert_eq!(status, 202, "{created}");
    let detail = settled(&app, &token, &created["id"]).await;
    assert_eq!(
        (detail["status"].as_str(), detail["size"].as_u64()),
        (Some("active"), Some(2)),
        "{detail}"
    );
}
