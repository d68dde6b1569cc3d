//! The tag warehouse over HTTP and from the terminal: imports (errors,
//! atomic partition replacement, ready dates), the catalog search, the
//! engine's estimate scoped by principal, and live reload.

use std::path::{Path, PathBuf};
use std::time::Duration;

use segment_service::tags::import::{ImportError, import_dir};
use serde_json::{Value, json};

use crate::helpers::*;

pub fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub const CATALOG: &str = r#"{"timezone": "Asia/Shanghai", "tags": [
  {"code": "city_cross_border_ride", "name": "Cities enabled for cross-border ride codes", "description": "Ride code city",
   "category": "Travel", "target_object": "user", "kind": "profile", "data_type": "enum",
   "values": ["Shenzhen", "Guangzhou", "Shanghai"]},
  {"code": "v2_trade_cnt_7d", "name": "Transactions in 7 days", "category": "Trading",
   "target_object": "user", "kind": "profile", "data_type": "number"},
  {"code": "v2_register_gmt_cn", "name": "Registration time", "category": "Basic",
   "target_object": "user", "kind": "profile", "data_type": "datetime"},
  {"code": "trade", "name": "Trade", "category": "Trading", "target_object": "user", "kind": "behavior",
   "attributes": [{"code": "industry_l1", "name": "Industry", "data_type": "enum", "values": ["Food & Beverages", "Retail"]},
                  {"code": "card_bin", "name": "Card BIN", "data_type": "number"}]}
]}"#;

/// Four users; U1–U3 in merchant M1's audience, U4 only in M2's.
pub fn small_dataset() -> PathBuf {
    let dir = temp_dir("small");
    write(&dir, "catalog.json", CATALOG);
    write(&dir, "entities/user.csv", "entity_id\nU1\nU2\nU3\nU4\n");
    write(
        &dir,
        "profile/day1.csv",
        "entity_id,date,tag,value\n\
         U1,2024-08-04,city_cross_border_ride,Shenzhen\n\
         U2,2024-08-04,city_cross_border_ride,Guangzhou\n\
         U3,2024-08-04,city_cross_border_ride,Shanghai\n\
         U4,2024-08-04,city_cross_border_ride,Shenzhen\n\
         U1,2024-07-30,v2_trade_cnt_7d,1\n\
         U2,2024-07-30,v2_trade_cnt_7d,5\n\
         U1,2024-08-04,v2_trade_cnt_7d,150\n\
         U2,2024-08-04,v2_trade_cnt_7d,6\n\
         U1,2024-08-04,v2_register_gmt_cn,2024-08-01 09:30:00\n",
    );
    write(
        &dir,
        "behavior/trade.csv",
        "entity_id,date,count,card_bin,industry_l1\n\
         U1,2024-08-03,3,622202,Food & Beverages\n\
         U1,2024-08-04,2,,Food & Beverages\n\
         U2,2024-08-04,9,622202,Retail\n",
    );
    write(
        &dir,
        "scopes.csv",
        "scope,entity_id\nmerchant:M1,U1\nmerchant:M1,U2\nmerchant:M1,U3\nmerchant:M2,U4\n",
    );
    dir
}

fn shenzhen_rule() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}
    ]}]})
}

async fn estimate(app: &TestApp, token: &str, rule: Value) -> (reqwest::StatusCode, Value) {
    send(app.post(
        "/api/v1/segments/estimate",
        token,
        json!({"target_object": "user", "rule": rule, "time_zone": "Asia/Shanghai", "as_of": "2024-08-05"}),
    ))
    .await
}

/// Waits until the server's index reflects the newest import.
async fn wait_for_size(app: &TestApp, token: &str, rule: Value, size: u64) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = estimate(app, token, rule.clone()).await;
        if status == 200 && body["size"] == size {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the estimate never reached {size}: {last}");
}

both_backends! {
    async fn index_loads_reuse_unchanged_partitions_and_stored_snapshots(app: TestApp) {
        use segment_service::tags::index::load_index;
        import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let first = load_index(&app.db, None).await.unwrap();
        let partitions = first.versions.len();
        assert_eq!(partitions, 6, "city 1 date, trade count 2, registration 1, trade 2 days: {:?}", first.versions);
        assert_eq!((first.stats.built, first.stats.from_snapshots), (partitions, 0));

        // A restart reads every partition from its stored snapshot.
        let restarted = load_index(&app.db, None).await.unwrap();
        assert_eq!((restarted.stats.built, restarted.stats.from_snapshots), (0, partitions));
        let rule: segment_core::rule::Rule = serde_json::from_value(shenzhen_rule()).unwrap();
        let plan = |loaded: &segment_service::tags::index::LoadedIndex| {
            segment_core::validate::validate(&rule, &segment_core::validate::Context {
                catalog: &loaded.catalog,
                target: segment_core::TargetObject::User,
                time_zone: chrono_tz::UTC,
                as_of: chrono::NaiveDate::from_ymd_opt(2024, 8, 5).unwrap(),
            }).unwrap()
        };
        assert_eq!(
            restarted.index.evaluate(&plan(&restarted), None).unwrap(),
            first.index.evaluate(&plan(&first), None).unwrap()
        );

        // After an import of one partition, only that one is rebuilt.
        let dir = temp_dir("one-partition");
        write(&dir, "profile/fix.csv", "entity_id,date,tag,value\nU3,2024-08-04,city_cross_border_ride,Shenzhen\n");
        import_dir(&app.db, &dir, Box::new(|_| {})).await.unwrap();
        let reloaded = load_index(&app.db, Some(&restarted)).await.unwrap();
        assert_eq!((reloaded.stats.built, reloaded.stats.reused), (1, partitions - 1));
        assert_eq!(reloaded.index.evaluate(&plan(&reloaded), None).unwrap().len(), 1);
    }

    async fn a_file_with_errors_is_rejected_whole_with_every_error(app: TestApp) {
        let dir = temp_dir("bad");
        write(&dir, "catalog.json", CATALOG);
        write(
            &dir,
            "profile/bad.csv",
            "entity_id,date,tag,value\n\
             U1,2024-08-04,city_cross_border_ride,Shenzhen\n\
             U2,2024-08-04,no_such_tag,1\n\
             U3,2024-13-01,v2_trade_cnt_7d,3\n\
             U4,2024-08-04,city_cross_border_ride,Paris\n\
             U5,2024-08-04,v2_trade_cnt_7d,many\n\
             U6,2024-08-04,v2_register_gmt_cn,yesterday\n\
             bad id,2024-08-04,v2_trade_cnt_7d,1\n\
             U7,2024-08-04,v2_trade_cnt_7d\n",
        );
        write(&dir, "behavior/trade.csv", "entity_id,date,count,industry_l1\nU1,2024-08-04,1,Retail\n");
        let Err(ImportError::Rejected { problems }) = import_dir(&app.db, &dir, Box::new(|_| {})).await else {
            panic!("the import should be rejected");
        };
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let expect = |needle: &str| {
            assert!(shown.iter().any(|p| p.contains(needle)), "no error containing {needle:?} in {shown:#?}");
        };
        expect("profile/bad.csv:3: unknown tag \"no_such_tag\"");
        expect("profile/bad.csv:4: bad date");
        expect("profile/bad.csv:5: \"Paris\" is not a value of city_cross_border_ride");
        expect("profile/bad.csv:6: \"many\" is not a number");
        expect("profile/bad.csv:7: \"yesterday\" is not a date-time");
        expect("profile/bad.csv:8: entity_id \"bad id\"");
        expect("profile/bad.csv:9: expected 4 fields");
        expect("behavior/trade.csv:1: bad header");
        assert_eq!(problems.len(), 8, "{shown:#?}");

        // Nothing was written: no tags, no entities.
        let token = app.token("platform").await;
        let (status, body) = send(app.get("/api/v1/tags", &token)).await;
        assert_eq!(status, 200);
        assert_eq!(body["tags"], json!([]), "{body}");
        let entities: i64 = segment_service::with_db!(&app.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM entities").fetch_one(pool).await.unwrap()
        });
        assert_eq!(entities, 0);
    }

    async fn the_catalog_is_searchable_with_ready_dates(app: TestApp) {
        import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let token = app.token("merchant:M1").await;
        let (status, body) = send(app.get("/api/v1/tags?target=user&q=cross%20border", &token)).await;
        assert_eq!(status, 200, "{body}");
        let tags = body["tags"].as_array().unwrap();
        assert_eq!(tags.len(), 1, "{body}");
        assert_eq!(tags[0]["code"], "city_cross_border_ride");
        assert_eq!(tags[0]["data_type"], "enum");
        assert_eq!(tags[0]["values"], json!(["Shenzhen", "Guangzhou", "Shanghai"]));
        assert_eq!(tags[0]["ready_dates"], json!(["2024-08-04"]));
        assert_eq!(tags[0]["latest_date"], "2024-08-04");

        let (_, body) = send(app.get("/api/v1/tags?q=card", &token)).await;
        assert_eq!(body["tags"][0]["code"], "trade", "attributes are searched: {body}");
        assert_eq!(body["tags"][0]["attributes"][1]["code"], "card_bin");
        assert_eq!(body["tags"][0]["ready_dates"], json!(["2024-08-03", "2024-08-04"]));

        let (_, body) = send(app.get("/api/v1/tags?target=store", &token)).await;
        assert_eq!(body["tags"], json!([]));
        let (status, body) = send(app.get("/api/v1/tags?target=planet", &token)).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("planet"));
        let (status, _) = send(app.client.get(app.url("/api/v1/tags"))).await;
        assert_eq!(status, 401);
    }

    async fn the_estimate_counts_with_the_engine_within_the_callers_audience(app: TestApp) {
        import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let platform = app.token("platform").await;
        let body = wait_for_size(&app, &platform, shenzhen_rule(), 2).await;
        assert_eq!(body["data_date"], "2024-08-04");
        assert_eq!(body["as_of"], "2024-08-05");
        let sql = body["sql"].as_str().unwrap();
        assert!(sql.contains("\"tag_city_cross_border_ride\"") && sql.contains("'Shenzhen'"), "{sql}");
        // The plan both backends run, shown as an EXPLAIN tree.
        let plan = body["plan"].as_str().unwrap();
        assert!(plan.starts_with("Plan users as of 2024-08-05"), "{plan}");
        assert!(plan.contains("Profile city_cross_border_ride @2024-08-04 in {Shenzhen}"), "{plan}");

        // Merchant M1's audience holds U1 but not U4.
        let merchant = app.token("merchant:M1").await;
        let (status, body) = estimate(&app, &merchant, shenzhen_rule()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["size"], 1);
        assert!(body["sql"].as_str().unwrap().contains("audience_scopes"));
        let stranger = app.token("merchant:M9").await;
        let (_, body) = estimate(&app, &stranger, shenzhen_rule()).await;
        assert_eq!(body["size"], 0);

        // The guide's example: trades up by more than 100 between two dates,
        // and at least 4 Food & Beverages trades in the 7 days to T.
        let rule = json!({"groups": [
            {"conditions": [{"type": "profile", "tag": "v2_trade_cnt_7d",
                "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "diff_gt", "value": 100}]},
            {"conditions": [{"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
                "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
                "count": {"op": "gte", "value": 4}}]}
        ]});
        let (status, body) = estimate(&app, &platform, rule).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["size"], 1, "only U1: +149 trades, 5 F&B trades");

        // Nobody with zero trades in the window... but U3 and U4 have none.
        let zero = json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"}, "count": {"op": "eq", "value": 0}}]}]});
        let (_, body) = estimate(&app, &platform, zero).await;
        assert_eq!(body["size"], 2);

        let bad = json!({"groups": [{"conditions": [
            {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "on", "date": "2024-08-01"}, "op": "in", "values": ["Paris"]}
        ]}]});
        let (status, body) = estimate(&app, &platform, bad).await;
        assert_eq!(status, 422, "{body}");
        error_message(&body, "invalid_rule");
        let paths: Vec<&str> = body["error"]["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"groups[0].conditions[0].date.date"), "{body}");
        assert!(paths.contains(&"groups[0].conditions[0].values"), "{body}");

        let anonymous = app.client.post(app.url("/api/v1/segments/estimate")).header("Origin", &app.address);
        let (status, _) = send(anonymous.json(&json!({}))).await;
        assert_eq!(status, 401);
    }

    async fn a_reimported_partition_replaces_the_old_one_and_the_server_sees_it(app: TestApp) {
        import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let token = app.token("platform").await;
        wait_for_size(&app, &token, shenzhen_rule(), 2).await;

        // A later import of the same (tag, date) partition: only U3 is in Shenzhen now.
        let dir = temp_dir("again");
        write(&dir, "profile/fix.csv", "entity_id,date,tag,value\nU3,2024-08-04,city_cross_border_ride,Shenzhen\n");
        import_dir(&app.db, &dir, Box::new(|_| {})).await.unwrap();
        wait_for_size(&app, &token, shenzhen_rule(), 1).await;
        let (_, body) = send(app.get("/api/v1/tags?q=city_cross_border_ride", &token)).await;
        assert_eq!(body["tags"][0]["ready_dates"], json!(["2024-08-04"]));

        // A new date adds a ready date and moves "latest".
        write(&dir, "profile/fix.csv", "entity_id,date,tag,value\nU1,2024-08-05,city_cross_border_ride,Shenzhen\nU2,2024-08-05,city_cross_border_ride,Shenzhen\nU4,2024-08-05,city_cross_border_ride,Shenzhen\n");
        import_dir(&app.db, &dir, Box::new(|_| {})).await.unwrap();
        let body = wait_for_size(&app, &token, shenzhen_rule(), 3).await;
        assert_eq!(body["data_date"], "2024-08-05");
    }
}
