//! Management and delivery over HTTP: bindings, extend, guarded delete and
//! deleted records, membership checks, exports with streamed downloads,
//! verification with explanations, and scope checks on every endpoint.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::warehouse::small_dataset;

fn request(name: &str, values: &[&str]) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["message_ad_delivery"], "time_zone": "Asia/Shanghai",
        "expires_at": "2030-01-31 23:59",
        "definition": {"method": "tag_filter", "rule": {"groups": [
            {"conditions": [{"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": values}]},
            {"conditions": [{"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"},
                             "count": {"op": "gte", "value": 9}}]}
        ]}}
    })
}

/// Imports the small dataset and creates an Active segment (Shenzhen riders or ≥ 9 trades: U1, U2, U4).
async fn active_segment(app: &TestApp, token: &str, name: &str) -> i64 {
    segment_service::tags::import::import_dir(&app.db, &small_dataset(), Box::new(|_| {}))
        .await
        .unwrap();
    for _ in 0..100 {
        if segment_service::tags::store::latest_import(&app.db)
            .await
            .unwrap()
            > 0
            && send(app.post(
                "/api/v1/segments/estimate",
                token,
                json!({"target_object": "user", "rule": request(name, &["Shenzhen"])["definition"]["rule"]}),
            ))
            .await
            .0 == 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    create_active(app, token, request(name, &["Shenzhen"])).await
}

async fn create_active(app: &TestApp, token: &str, body: Value) -> i64 {
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
    async fn bound_and_dependent_segments_cannot_be_deleted_until_released(app: TestApp) {
        let token = app.token("platform").await;
        let id = active_segment(&app, &token, "Delivery audience").await;
        let path = |rest: &str| format!("/api/v1/segments/{id}{rest}");

        // A task cannot outlive the segment.
        let (status, body) = send(app.post(&path("/bindings"), &token,
            json!({"task_id": "push-42", "name": "Autumn push", "ends_at": "2031-01-01 00:00"}))).await;
        assert_eq!(status, 409, "{body}");
        let (status, binding) = send(app.post(&path("/bindings"), &token,
            json!({"task_id": "push-42", "name": "Autumn push", "ends_at": "2029-12-31 20:00"}))).await;
        assert_eq!(status, 201, "{binding}");
        let (status, _) = send(app.post(&path("/bindings"), &token,
            json!({"task_id": "push-42", "name": "Again", "ends_at": "2029-12-31 20:00"}))).await;
        assert_eq!(status, 409);

        // Validity cannot end before the bound task does, nor in the past.
        let (status, body) = send(app.post(&path("/extend"), &token, json!({"expires_at": "2029-06-30 00:00"}))).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("push-42"), "{body}");
        let (status, _) = send(app.post(&path("/extend"), &token, json!({"expires_at": "2020-01-01 00:00"}))).await;
        assert_eq!(status, 400);
        let (status, row) = send(app.post(&path("/extend"), &token, json!({"expires_at": "2031-03-31 23:59"}))).await;
        assert_eq!(status, 200, "{row}");
        let (_, detail) = send(app.get(&path(""), &token)).await;
        assert_eq!(segment_contract::segments::local_time(detail["expires_at"].as_i64().unwrap(), "Asia/Shanghai"), "2031-03-31 23:59");

        // A segment computed from it also holds it.
        let set = create_active(&app, &token, json!({
            "name": "Copy", "target_object": "user", "update_frequency": "one_time", "usage_scenarios": ["insight_analysis"],
            "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
            "definition": {"method": "segment_set", "left": id, "right": id, "operation": "intersection"}})).await;
        let (status, body) = send(app.delete(&path(""), &token)).await;
        assert_eq!(status, 409);
        let message = error_message(&body, "conflict");
        assert!(message.contains("delivery task push-42 \"Autumn push\""), "{message}");
        assert!(message.contains(&format!("segment {set} \"Copy\"")), "{message}");

        let (status, _) = send(app.delete(&path("/bindings/push-42"), &token)).await;
        assert_eq!(status, 204);
        let (status, _) = send(app.delete(&format!("/api/v1/segments/{set}"), &token)).await;
        assert_eq!(status, 204);
        let (status, _) = send(app.delete(&path(""), &token)).await;
        assert_eq!(status, 204);
        let (status, _) = send(app.get(&path(""), &token)).await;
        assert_eq!(status, 404);
        let (_, list) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(list["total"], 0);
        let (_, deleted) = send(app.get("/api/v1/deleted-segments", &token)).await;
        let names: Vec<&str> = deleted.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"Delivery audience"));
        assert_eq!(deleted[0]["deleted_by"], "token test");
    }

    async fn membership_checks_sort_ids_into_members_non_members_and_unknown(app: TestApp) {
        let token = app.token("platform").await;
        let id = active_segment(&app, &token, "Checked").await;
        let (status, answer) = send(app.post(&format!("/api/v1/segments/{id}/members/check"), &token,
            json!({"ids": ["U1", " U3 ", "U2", "ghost", "U1", ""]}))).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["members"], json!(["U1", "U2"]));
        assert_eq!(answer["non_members"], json!(["U3"]));
        assert_eq!(answer["unknown"], json!(["ghost"]));
        assert_eq!(answer["data_date"], "2024-08-04");
        let too_many: Vec<String> = (0..10_001).map(|i| format!("X{i}")).collect();
        let (status, body) = send(app.post(&format!("/api/v1/segments/{id}/members/check"), &token, json!({"ids": too_many}))).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("10000"), "{body}");
    }

    async fn an_export_streams_exactly_the_members_as_csv(app: TestApp) {
        let token = app.token("platform").await;
        let id = active_segment(&app, &token, "Exported").await;
        let (status, export) = send(app.post(&format!("/api/v1/segments/{id}/exports"), &token, json!({}))).await;
        assert_eq!(status, 202, "{export}");
        let export_id = export["id"].as_i64().unwrap();
        let mut done = Value::Null;
        for _ in 0..100 {
            done = send(app.get(&format!("/api/v1/exports/{export_id}"), &token)).await.1;
            if done["status"] == "done" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!((done["rows_total"].as_i64(), done["rows_done"].as_i64()), (Some(3), Some(3)));
        let response = app.get(&format!("/api/v1/exports/{export_id}/download"), &token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = response.text().await.unwrap();
        assert_eq!(done["bytes"].as_i64(), i64::try_from(text.len()).ok());
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("entity_id"));
        let ids: BTreeSet<&str> = lines.collect();
        assert_eq!(ids, BTreeSet::from(["U1", "U2", "U4"]));
        let (_, listed) = send(app.get("/api/v1/exports", &token)).await;
        assert_eq!(listed[0]["segment_name"], "Exported");

        // An interrupted download resumes with a byte range.
        let download = format!("/api/v1/exports/{export_id}/download");
        let length = text.len();
        for (range, expected) in [("bytes=3-12", &text[3..=12]), ("bytes=12-", &text[12..]), ("bytes=-4", &text[length - 4..])] {
            let response = app.get(&download, &token).header("range", range).send().await.unwrap();
            assert_eq!(response.status(), 206, "{range}");
            let content_range = response.headers()["content-range"].to_str().unwrap().to_string();
            assert!(content_range.ends_with(&format!("/{length}")), "{content_range}");
            assert_eq!(response.text().await.unwrap(), expected, "{range}");
        }
        let response = app.get(&download, &token).header("range", format!("bytes={length}-")).send().await.unwrap();
        assert_eq!(response.status(), 416);
        assert_eq!(response.headers()["content-range"], format!("bytes */{length}").as_str());

        // The same file gzip-compressed.
        let response = app.get(&format!("{download}?format=csv.gz"), &token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-disposition"].to_str().unwrap().ends_with(".csv.gz\""));
        let compressed = response.bytes().await.unwrap();
        let mut unpacked = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut unpacked).unwrap();
        assert_eq!(unpacked, text);
        let (status, body) = send(app.get(&format!("{download}?format=zip"), &token)).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("csv.gz"), "{body}");
    }

    async fn verification_explains_each_group_and_condition(app: TestApp) {
        let token = app.token("platform").await;
        let id = active_segment(&app, &token, "Explained").await;
        let (status, answer) = send(app.post(&format!("/api/v1/segments/{id}/verify"), &token,
            json!({"ids": ["U1", "U3", "nobody"]}))).await;
        assert_eq!(status, 200, "{answer}");
        let rows = answer["rows"].as_array().unwrap();
        assert_eq!(rows[0]["verdict"], "included");
        assert_eq!(rows[1]["verdict"], "excluded");
        assert_eq!(rows[2]["verdict"], "unknown");
        let u1 = &rows[0]["groups"];
        assert_eq!(u1[0]["matched"], true);
        assert_eq!(u1[0]["conditions"][0]["actual"], "2024-08-04: Shenzhen");
        // In the catalog's words: the tag's name, not its code.
        assert_eq!(u1[0]["conditions"][0]["condition"], "Cities enabled for cross-border ride codes (latest) is any of Shenzhen");
        assert_eq!(u1[1]["matched"], false);
        assert_eq!(u1[1]["conditions"][0]["actual"], "5 events from 2024-08-01 to 2024-08-04");
        let u3 = &rows[1]["groups"];
        assert_eq!(u3[0]["conditions"][0]["actual"], "2024-08-04: Shanghai");
        assert_eq!(u3[0]["conditions"][0]["passed"], false);
        assert_eq!(u3[1]["conditions"][0]["actual"], "0 events from 2024-08-01 to 2024-08-04");
    }

    async fn another_merchants_segment_is_not_found_on_every_endpoint(app: TestApp) {
        let m1 = app.token("merchant:M1").await;
        let m2 = app.token("merchant:M2").await;
        let id = active_segment(&app, &m1, "M1 only").await;
        let (status, export) = send(app.post(&format!("/api/v1/segments/{id}/exports"), &m1, json!({}))).await;
        assert_eq!(status, 202);
        let export_id = export["id"].as_i64().unwrap();
        let base = format!("/api/v1/segments/{id}");
        let attempts = [
            send(app.get(&base, &m2)).await.0,
            send(app.get(&format!("{base}/members/U1"), &m2)).await.0,
            send(app.post(&format!("{base}/members/check"), &m2, json!({"ids": ["U1"]}))).await.0,
            send(app.post(&format!("{base}/bindings"), &m2, json!({"task_id": "t", "name": "t", "ends_at": "2029-01-01 00:00"}))).await.0,
            send(app.delete(&format!("{base}/bindings/t"), &m2)).await.0,
            send(app.post(&format!("{base}/extend"), &m2, json!({"expires_at": "2031-01-01 00:00"}))).await.0,
            send(app.post(&format!("{base}/verify"), &m2, json!({"ids": ["U1"]}))).await.0,
            send(app.post(&format!("{base}/exports"), &m2, json!({}))).await.0,
            send(app.get(&format!("/api/v1/exports/{export_id}"), &m2)).await.0,
            send(app.get(&format!("/api/v1/exports/{export_id}/download"), &m2)).await.0,
            send(app.delete(&base, &m2)).await.0,
        ];
        assert!(attempts.iter().all(|s| *s == 404), "{attempts:?}");
        let (_, exports) = send(app.get("/api/v1/exports", &m2)).await;
        assert_eq!(exports, json!([]));
        // The owner still has it, untouched.
        let (status, detail) = send(app.get(&base, &m1)).await;
        // U1 (Shenzhen) and U2 (9 trades) are in its audience; U4 is not.
        assert_eq!((status.as_u16(), detail["size"].as_i64()), (200, Some(2)));
    }
}
