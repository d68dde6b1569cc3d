//! Tenant isolation: for a merchant or store principal an entity outside
//! its audience reads exactly like one that does not exist, other scopes'
//! objects are never named, and the catalog shows no other tenant's IDs.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::warehouse::write;

/// Users U1–U3 are merchant M1's audience, U4 merchant M2's; store S1 (of
/// M1) has U1. Trades carry the merchant and the store they happened at.
pub fn tenant_dataset() -> PathBuf {
    let dir = temp_dir("tenants");
    write(
        &dir,
        "catalog.json",
        r#"{"timezone": "Asia/Shanghai", "tags": [
          {"code": "city_cross_border_ride", "name": "Ride code city", "category": "Travel",
           "target_object": "user", "kind": "profile", "data_type": "enum", "values": ["Shenzhen", "Guangzhou", "Shanghai"]},
          {"code": "wallet_balance", "name": "Wallet balance", "category": "Payment",
           "target_object": "user", "kind": "profile", "data_type": "number"},
          {"code": "trade", "name": "Trade", "category": "Trading", "target_object": "user", "kind": "behavior",
           "attributes": [
             {"code": "industry_l1", "name": "Industry", "data_type": "enum", "values": ["Food & Beverages", "Retail"]},
             {"code": "merchant_id", "name": "Merchant", "data_type": "enum", "values": ["M1", "M2"], "tenant": "merchant"},
             {"code": "store_id", "name": "Store", "data_type": "enum", "values": ["S1", "S2"], "tenant": "store"}]}
        ]}"#,
    );
    write(&dir, "entities/user.csv", "entity_id\nU1\nU2\nU3\nU4\n");
    write(
        &dir,
        "profile/day.csv",
        "entity_id,date,tag,value\n\
         U1,2024-08-04,city_cross_border_ride,Shenzhen\n\
         U2,2024-08-04,city_cross_border_ride,Guangzhou\n\
         U3,2024-08-04,city_cross_border_ride,Shanghai\n\
         U4,2024-08-04,city_cross_border_ride,Shenzhen\n\
         U1,2024-08-04,wallet_balance,120\n\
         U4,2024-08-04,wallet_balance,9000\n",
    );
    write(
        &dir,
        "behavior/trade.csv",
        "entity_id,date,count,industry_l1,merchant_id,store_id\n\
         U1,2024-08-03,3,Retail,M1,S1\n\
         U1,2024-08-04,2,Retail,M2,S2\n\
         U2,2024-08-04,1,Retail,M1,S1\n\
         U4,2024-08-04,9,Retail,M2,S2\n",
    );
    write(
        &dir,
        "scopes.csv",
        "scope,entity_id\nmerchant:M1,U1\nmerchant:M1,U2\nmerchant:M1,U3\nmerchant:M2,U4\nstore:S1,U1\n",
    );
    dir
}

fn shenzhen() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}
    ]}]})
}

fn traded(at_least: u32) -> Value {
    json!({"groups": [{"conditions": [
        {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"},
         "count": {"op": "gte", "value": at_least}}
    ]}]})
}

fn segment(name: &str, rule: Value) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["message_ad_delivery"], "time_zone": "Asia/Shanghai",
        "expires_at": "2030-01-31 23:59", "definition": {"method": "tag_filter", "rule": rule}
    })
}

async fn estimate(app: &TestApp, token: &str, rule: Value) -> (reqwest::StatusCode, Value) {
    send(app.post(
        "/api/v1/segments/estimate",
        token,
        json!({"target_object": "user", "rule": rule, "time_zone": "Asia/Shanghai", "as_of": "2024-08-05"}),
    ))
    .await
}

/// Imports the tenant dataset and waits until the server's index has it.
pub async fn import_tenants(app: &TestApp) {
    segment_service::tags::import::import_dir(&app.db, &tenant_dataset(), Box::new(|_| {}))
        .await
        .unwrap();
    let token = app.token("platform").await;
    for _ in 0..100 {
        let (status, body) = estimate(app, &token, shenzhen()).await;
        if status == 200 && body["size"] == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tag index never loaded");
}

/// Creates a segment and waits until it is Active; answers its ID.
pub async fn active(app: &TestApp, token: &str, body: Value) -> i64 {
    let (status, created) = send(app.post("/api/v1/segments", token, body)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_i64().unwrap();
    for _ in 0..200 {
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        if detail["status"] == "active" {
            return id;
        }
        assert_ne!(detail["status"], "failed", "{detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segment {id} never became active");
}

both_backends! {
    async fn an_entity_outside_a_merchants_audience_reads_like_one_that_does_not_exist(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let id = active(&app, &m1, segment("M1 riders", shenzhen())).await;

        // Verification: U4 is M2's customer; "U9" exists nowhere. Both answer the same.
        let (status, answer) = send(app.post(&format!("/api/v1/segments/{id}/verify"), &m1,
            json!({"ids": ["U1", "U4", "U9"]}))).await;
        assert_eq!(status, 200, "{answer}");
        let rows = answer["rows"].as_array().unwrap();
        assert_eq!(rows[0]["verdict"], "included");
        assert!(rows[0]["groups"][0]["conditions"][0]["actual"].as_str().unwrap().contains("Shenzhen"));
        for row in &rows[1..] {
            assert_eq!(row["verdict"], "unknown", "{row}");
            assert_eq!(row["groups"], json!([]), "no values, no counts: {row}");
            assert_eq!(row["outside_audience"], false);
        }
        let text = answer.to_string();
        assert!(!text.contains("9000") && !text.contains("M2"), "nothing of U4 leaks: {text}");

        // Single lookups and batch checks.
        let (_, outsider) = send(app.get(&format!("/api/v1/segments/{id}/members/U4"), &m1)).await;
        let (_, nobody) = send(app.get(&format!("/api/v1/segments/{id}/members/U9"), &m1)).await;
        assert_eq!(outsider, nobody, "{outsider} vs {nobody}");
        assert_eq!(outsider["known"], false);
        let (_, check) = send(app.post(&format!("/api/v1/segments/{id}/members/check"), &m1,
            json!({"ids": ["U1", "U3", "U4", "U9"]}))).await;
        assert_eq!(check["members"], json!(["U1"]));
        assert_eq!(check["non_members"], json!(["U3"]));
        assert_eq!(check["unknown"], json!(["U4", "U9"]));

        // The platform sees the whole picture, and that U4 lies outside the owner's audience.
        let platform = app.token("platform").await;
        let (_, answer) = send(app.post(&format!("/api/v1/segments/{id}/verify"), &platform,
            json!({"ids": ["U4"]}))).await;
        assert_eq!(answer["rows"][0]["verdict"], "excluded");
        assert_eq!(answer["rows"][0]["outside_audience"], true);
        assert!(answer["rows"][0]["groups"][0]["matched"].as_bool().unwrap(), "{answer}");
    }

    async fn an_upload_report_counts_outsiders_as_unknown_like_any_unknown_id(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let response = app.client.post(app.url("/api/v1/uploads?target_object=user")).bearer_auth(&m1)
            .body("entity_id\nU1\nU4\nU9\n").send().await.unwrap();
        assert_eq!(response.status(), 201);
        let answer: Value = response.json().await.unwrap();
        let report = &answer["report"];
        assert_eq!(report["matched"], 1, "{report}");
        assert_eq!(report["unknown"], 2, "{report}");
        let samples = report["unknown_sample"].as_array().unwrap();
        assert_eq!(samples[0]["reason"], samples[1]["reason"], "{report}");
        let csv = app.get(&format!("/api/v1/uploads/{}/report.csv", answer["upload_id"]), &m1)
            .send().await.unwrap().text().await.unwrap();
        assert_eq!(csv, "line,entity_id,problem\n3,U4,not a known user\n4,U9,not a known user\n");
        // The custom list then has exactly what the report promised.
        let id = active(&app, &m1, json!({
            "name": "Uploaded", "target_object": "user", "update_frequency": "one_time",
            "usage_scenarios": ["insight_analysis"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
            "definition": {"method": "custom_list", "upload_id": answer["upload_id"]}})).await;
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), &m1)).await;
        assert_eq!(detail["size"], 1);
    }

    async fn tenants_see_their_own_ids_in_the_catalog_and_count_only_their_own_events(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let (_, tags) = send(app.get("/api/v1/tags?target=user&q=trade", &m1)).await;
        let attributes = &tags["tags"][0]["attributes"];
        let merchant = attributes.as_array().unwrap().iter().find(|a| a["code"] == "merchant_id").unwrap();
        assert_eq!(merchant["values"], json!(["M1"]), "no other merchant is named: {tags}");
        assert!(!tags.to_string().contains("S2"), "store IDs are not listed to a merchant: {tags}");

        // U1 traded 3 times at M1 and twice at M2: M1 counts 3.
        let (_, at_least_four) = estimate(&app, &m1, traded(4)).await;
        assert_eq!(at_least_four["size"], 0, "{at_least_four}");
        let (_, at_least_three) = estimate(&app, &m1, traded(3)).await;
        assert_eq!(at_least_three["size"], 1);
        assert!(at_least_three["sql"].as_str().unwrap().contains("'M1'"), "{at_least_three}");
        let platform = app.token("platform").await;
        let (_, everywhere) = estimate(&app, &platform, traded(4)).await;
        assert_eq!(everywhere["size"], 2, "the platform counts every merchant: U1 (5) and U4 (9)");

        // Naming another merchant reads as a value that does not exist.
        let (status, body) = estimate(&app, &m1, json!({"groups": [{"conditions": [
            {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"},
             "where": [{"attr": "merchant_id", "op": "in", "values": ["M2"]}], "count": {"op": "gte", "value": 1}}]}]})).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["problems"][0]["message"], "\"M2\" is not a value of merchant_id (values: M1).");

        // A store manager counts events at its own stores only.
        let s1 = app.token("store:S1").await;
        let (_, store) = estimate(&app, &s1, traded(3)).await;
        assert_eq!(store["size"], 1, "{store}");
        let (_, store) = estimate(&app, &s1, traded(4)).await;
        assert_eq!(store["size"], 0, "{store}");
    }

    async fn rules_over_the_size_limits_are_refused_at_the_place_of_the_excess(app: TestApp) {
        import_tenants(&app).await;
        let token = app.token("platform").await;
        let group = json!({"conditions": [shenzhen()["groups"][0]["conditions"][0]]});
        let (status, body) = estimate(&app, &token, json!({"groups": vec![group; 21]})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["problems"][0]["path"], "groups");
        assert_eq!(body["error"]["problems"][0]["message"], "A rule may have at most 20 groups; this one has 21.");
        let values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
        let (status, body) = estimate(&app, &token, json!({"groups": [{"conditions": [
            {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": values}]}]})).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"]["problems"][0]["path"], "groups[0].conditions[0].values");
        assert_eq!(body["error"]["problems"].as_array().unwrap().len(), 1, "one problem, not a thousand");
    }

    async fn segments_are_filed_only_in_groups_of_their_owners_scope(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let platform = app.token("platform").await;
        let (_, group) = send(app.post("/api/v1/groups", &m1, json!({"name": "M1 campaigns"}))).await;
        let mut body = segment("Platform into M1's group", shenzhen());
        body["group_id"] = group["id"].clone();
        let (status, answer) = send(app.post("/api/v1/segments", &platform, body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["fields"][0]["field"], "group_id");
        assert_eq!(answer["error"]["fields"][0]["message"], "Choose one of your groups.");

        // One filed there before this rule: not counted for M1, and no obstacle to deleting the group.
        let id = active(&app, &platform, segment("Legacy", shenzhen())).await;
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET group_id = $1 WHERE id = $2")
                .bind(group["id"].as_i64().unwrap()).bind(id).execute(pool).await.unwrap().rows_affected()
        });
        let (_, groups) = send(app.get("/api/v1/groups", &m1)).await;
        assert_eq!(groups["groups"][0]["segment_count"], 0, "{groups}");
        let (status, _) = send(app.delete(&format!("/api/v1/groups/{}", group["id"]), &m1)).await;
        assert_eq!(status, 204);
        let (_, legacy) = send(app.get(&format!("/api/v1/segments/{id}"), &platform)).await;
        assert_eq!(legacy["group_id"], Value::Null, "{legacy}");
    }

    async fn other_scopes_uses_are_counted_never_named_and_never_leave_the_owner_stuck(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let platform = app.token("platform").await;
        let id = active(&app, &m1, segment("M1 riders", shenzhen())).await;
        // The platform computes a segment from it and binds a campaign of its own.
        let set = active(&app, &platform, json!({
            "name": "Platform secret combo", "target_object": "user", "update_frequency": "one_time",
            "usage_scenarios": ["insight_analysis"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
            "definition": {"method": "segment_set", "left": id, "right": id, "operation": "union"}})).await;
        let (status, _) = send(app.post(&format!("/api/v1/segments/{id}/bindings"), &platform,
            json!({"task_id": "platform-push-7", "name": "Secret platform campaign", "ends_at": "2029-06-30 12:00"}))).await;
        assert_eq!(status, 201);

        let (status, body) = send(app.delete(&format!("/api/v1/segments/{id}"), &m1)).await;
        assert_eq!(status, 409);
        let message = error_message(&body, "conflict");
        assert!(message.contains("1 delivery task outside your scope uses it until 2029-06-30 12:00 (Asia/Shanghai)"), "{message}");
        assert!(!message.contains("platform-push-7") && !message.contains("Secret") && !message.contains(&format!("segment {set}")),
            "nothing of the platform's is named: {message}");
        // The merchant's own delete of the binding is refused like a missing one.
        let (status, _) = send(app.delete(&format!("/api/v1/segments/{id}/bindings/platform-push-7"), &m1)).await;
        assert_eq!(status, 404);
        // Extending is refused with the same discretion.
        let (status, body) = send(app.post(&format!("/api/v1/segments/{id}/extend"), &m1,
            json!({"expires_at": "2029-01-01 00:00"}))).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("A delivery task outside your scope"), "{body}");

        // Once the task ends, the segment set does not hold the merchant's segment.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segment_bindings SET ends_at = 1 WHERE segment_id = $1")
                .bind(id).execute(pool).await.unwrap().rows_affected()
        });
        let (status, body) = send(app.delete(&format!("/api/v1/segments/{id}"), &m1)).await;
        assert_eq!(status, 204, "{body}");
        let (_, set_detail) = send(app.get(&format!("/api/v1/segments/{set}"), &platform)).await;
        assert_eq!(set_detail["status"], "active", "the platform's segment keeps its snapshot");
    }

    async fn a_deleted_or_expired_segments_exports_are_gone(app: TestApp) {
        import_tenants(&app).await;
        let token = app.token("platform").await;
        let id = active(&app, &token, segment("Exported", shenzhen())).await;
        let export_id = |body: &Value| body["id"].as_i64().unwrap();
        let (_, first) = send(app.post(&format!("/api/v1/segments/{id}/exports"), &token, json!({}))).await;
        let (_, second) = send(app.post(&format!("/api/v1/segments/{id}/exports"), &token, json!({}))).await;
        for export in [&first, &second] {
            for _ in 0..100 {
                let (_, current) = send(app.get(&format!("/api/v1/exports/{}", export_id(export)), &token)).await;
                if current["status"] == "done" { break; }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let response = app.get(&format!("/api/v1/exports/{}/download", export_id(&first)), &token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let length: usize = response.headers()["content-length"].to_str().unwrap().parse().unwrap();
        let text = response.text().await.unwrap();
        assert_eq!(length, text.len());
        assert_eq!(text, "entity_id\nU1\nU4\n");

        // Expired: gone while expired.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET expires_at = 1 WHERE id = $1").bind(id).execute(pool).await.unwrap().rows_affected()
        });
        for path in [format!("/api/v1/exports/{}", export_id(&first)), format!("/api/v1/exports/{}/download", export_id(&first))] {
            let (status, _) = send(app.get(&path, &token)).await;
            assert_eq!(status, 404, "{path}");
        }
        let (_, list) = send(app.get("/api/v1/exports", &token)).await;
        assert_eq!(list, json!([]));
        // Deleted: gone for good.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET expires_at = 4102444800000 WHERE id = $1").bind(id).execute(pool).await.unwrap().rows_affected()
        });
        let (status, _) = send(app.delete(&format!("/api/v1/segments/{id}"), &token)).await;
        assert_eq!(status, 204);
        for export in [&first, &second] {
            let (status, _) = send(app.get(&format!("/api/v1/exports/{}/download", export_id(export)), &token)).await;
            assert_eq!(status, 404);
        }
    }
}
