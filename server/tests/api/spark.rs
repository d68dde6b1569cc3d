//! Spark mode over HTTP: with `SPARK_CONNECT_URL` the import fills Spark's
//! tables, the console's estimate is counted on Spark (and shows Spark's
//! SQL), and a tag-filter segment is materialized there. Runs when a
//! cluster is up (`scripts/with-spark`); `REQUIRE_SPARK` makes its absence
//! a failure.

use std::time::{Duration, Instant};

use segment_service::spark::SparkWarehouse;
use segment_service::tags::import::import_dir_with_spark;
use serde_json::{Value, json};
use server::config::SparkSettings;

use crate::helpers::*;
use crate::warehouse::small_dataset;

fn spark_url() -> Option<String> {
    let url = std::env::var("SPARK_CONNECT_URL").ok();
    assert!(
        url.is_some() || std::env::var("REQUIRE_SPARK").is_err(),
        "REQUIRE_SPARK is set but SPARK_CONNECT_URL is not"
    );
    url
}

fn shenzhen_rule() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}
    ]}]})
}

async fn estimate(app: &TestApp, token: &str) -> Value {
    for _ in 0..200 {
        let (status, body) = send(app.post(
            "/api/v1/segments/estimate",
            token,
            json!({"target_object": "user", "rule": shenzhen_rule()}),
        ))
        .await;
        // 503 while the tag index loads, 422 while it still holds the
        // catalog from before the import.
        if status == 200 {
            return body;
        }
        assert!(status == 503 || status == 422, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the estimate never answered");
}

/// Creates a segment of the Shenzhen rule: its ID and which of U1–U4 it holds.
async fn new_segment(app: &TestApp, token: &str, name: &str) -> (i64, Value) {
    let (status, created) = send(app.post(
        "/api/v1/segments",
        token,
        json!({
            "name": name, "target_object": "user", "update_frequency": "one_time",
            "usage_scenarios": ["message_ad_delivery"], "time_zone": "Asia/Shanghai",
            "expires_at": "2030-01-31 23:59",
            "definition": {"method": "tag_filter", "rule": shenzhen_rule()}
        }),
    ))
    .await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_i64().unwrap();
    for _ in 0..600 {
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        if detail["status"] == "active" {
            let (status, answer) = send(app.post(
                &format!("/api/v1/segments/{id}/members/check"),
                token,
                json!({"ids": ["U1", "U2", "U3", "U4"]}),
            ))
            .await;
            assert_eq!(status, 200, "{answer}");
            return (id, answer["members"].clone());
        }
        assert_ne!(detail["status"], "failed", "{detail}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segment {id} never became active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_and_segments_are_computed_on_spark() {
    let Some(url) = spark_url() else { return };
    let database = format!("http_{}_{}", std::process::id(), rand::random::<u32>());
    let app = TestApp::spawn_configured(
        Backend::Sqlite,
        fresh_database_url(Backend::Sqlite).await,
        |config| {
            config.spark = Some(SparkSettings {
                url,
                database: database.clone(),
            });
        },
    )
    .await;
    let spark = app.spark.clone().expect("the app connected Spark");
    import_dir_with_spark(&app.db, &small_dataset(), Box::new(|_| {}), &spark)
        .await
        .unwrap();
    let platform = app.token("platform").await;
    let merchant = app.token("merchant:M1").await;

    // Shenzhen riders on 2024-08-04: U1 and U4; U4 is outside M1's audience.
    let everyone = estimate(&app, &platform).await;
    assert_eq!(everyone["size"], 2, "{everyone}");
    assert!(
        everyone["sql"]
            .as_str()
            .unwrap()
            .contains("`tag_city_cross_border_ride`"),
        "the preview shows the Spark SQL that counted: {everyone}"
    );
    let scoped = estimate(&app, &merchant).await;
    assert_eq!(scoped["size"], 1);
    // Bucket against bucket: every table is read by bucket, and nothing is
    // shuffled before the final count (no hash repartitioning by entity).
    for previewed in [&everyone, &scoped] {
        let plan = spark
            .physical_plan(previewed["sql"].as_str().unwrap())
            .await
            .unwrap();
        assert!(
            plan.contains("Bucketed: true") && !plan.contains("Bucketed: false"),
            "{plan}"
        );
        assert!(!plan.contains("hashpartitioning"), "{plan}");
    }
    assert_eq!(
        new_segment(&app, &platform, "Shenzhen riders").await.1,
        json!(["U1", "U4"])
    );

    // A session that ended (Connect's idle timeout, a restarted server) is
    // replaced by one that reads the same database: the answer is unchanged.
    spark.release_session().await.unwrap();
    assert_eq!(estimate(&app, &platform).await["size"], 2);

    // A row only Spark holds (U3 rode in Shenzhen too) changes every answer:
    // the counts and the members come from Spark, not from the embedded engine.
    spark
        .execute("INSERT INTO tag_city_cross_border_ride VALUES (2, 'Shenzhen', DATE '2024-08-04')")
        .await
        .unwrap();
    assert_eq!(estimate(&app, &platform).await["size"], 3);
    assert_eq!(estimate(&app, &merchant).await["size"], 2);
    let (again, members) = new_segment(&app, &platform, "Shenzhen riders, again").await;
    assert_eq!(members, json!(["U1", "U3", "U4"]));
    // Verification reads Spark too: U3's Shenzhen ride is there only.
    let (status, answer) = send(app.post(
        &format!("/api/v1/segments/{again}/verify"),
        &platform,
        json!({"ids": ["U3", "U2"]}),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    let u3 = &answer["rows"][0];
    assert_eq!(u3["verdict"], "included", "{answer}");
    assert_eq!(
        u3["groups"][0]["conditions"][0]["actual"], "2024-08-04: Shenzhen",
        "{answer}"
    );
    assert_eq!(u3["groups"][0]["conditions"][0]["passed"], true, "{answer}");
    let u2 = &answer["rows"][1];
    assert_eq!(u2["verdict"], "excluded", "{answer}");
    assert_eq!(u2["groups"][0]["matched"], false, "{answer}");
    spark.drop_database(&database).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_clear_error_within_seconds() {
    let started = Instant::now();
    let Err(error) = SparkWarehouse::connect("sc://127.0.0.1:9", "nowhere").await else {
        panic!("nothing listens on port 9");
    };
    assert!(
        error.to_string().contains("not reachable") && error.to_string().contains("127.0.0.1:9"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A statement whose caller stops waiting (a request dropped because the
/// user edited the rule, or past its deadline) is interrupted on the cluster:
/// the cores it held are free again at once, and what it would have
/// written is not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_nobody_waits_for_is_interrupted_on_the_cluster() {
    let Some(url) = spark_url() else { return };
    let database = format!("cancel_{}_{}", std::process::id(), rand::random::<u32>());
    let spark = SparkWarehouse::connect(&url, &database).await.unwrap();
    // Minutes of work for both executor cores.
    let endless = spark.execute(
        "CREATE TABLE endless USING parquet AS SELECT COUNT(*) AS n FROM range(0, 1000000000000, 1, 2)",
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(3), endless)
            .await
            .is_err(),
        "the statement was still running"
    );
    let started = Instant::now();
    spark.smallest_job().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a job waited {:?} for the abandoned one's cores",
        started.elapsed()
    );
    let error = spark.execute("SELECT * FROM endless").await;
    assert!(error.is_err(), "the abandoned statement wrote its table");
    spark.drop_database(&database).await.unwrap();
}
