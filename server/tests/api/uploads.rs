//! Custom lists: the upload report, segments created from an upload, scope
//! and size limits.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::warehouse::small_dataset;

async fn upload(
    app: &TestApp,
    token: &str,
    target: &str,
    body: &'static str,
) -> (reqwest::StatusCode, Value) {
    send(
        app.client
            .post(app.url(&format!("/api/v1/uploads?target_object={target}")))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body),
    )
    .await
}

fn custom_list(name: &str, upload_id: &Value) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["reward_distribution"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
        "definition": {"method": "custom_list", "upload_id": upload_id}
    })
}

async fn active_size(app: &TestApp, token: &str, id: &Value) -> Value {
    for _ in 0..200 {
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        if detail["status"] == "active" {
            return detail["size"].clone();
        }
        assert_ne!(detail["status"], "failed", "{detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segment {id} never became active")
}

both_backends! {
    async fn an_upload_is_reported_line_by_line_before_anything_is_created(app: TestApp) {
        segment_service::tags::import::import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let token = app.token("platform").await;
        let (status, answer) = upload(&app, &token, "user",
            "entity_id\r\nU1\nU2\n\nU1\nU9\nbad id\nU3,U4\n\"U4\"\n").await;
        assert_eq!(status, 201, "{answer}");
        let report = &answer["report"];
        assert_eq!((report["rows"].as_u64(), report["valid"].as_u64(), report["duplicates"].as_u64()), (Some(8), Some(4), Some(1)));
        assert_eq!(report["invalid_count"], 3);
        let invalid: Vec<(u64, &str)> = report["invalid"].as_array().unwrap().iter()
            .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap())).collect();
        assert_eq!(invalid[0], (4, "the ID is empty"));
        assert_eq!(invalid[1].0, 7);
        assert_eq!(invalid[2], (8, "has more than one column (expected only entity_id)"));
        assert_eq!(report["unknown"], 1);
        assert_eq!(report["unknown_sample"][0]["entity_id"], "U9");
        assert_eq!(report["matched"], 3);
        // Nothing exists until a segment names the upload.
        let (_, list) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(list["total"], 0);

        let csv = app.get(&format!("/api/v1/uploads/{}/report.csv", answer["upload_id"]), &token)
            .send().await.unwrap().text().await.unwrap();
        assert_eq!(csv.lines().next(), Some("line,entity_id,problem"));
        assert!(csv.contains("6,U9,not a known user"), "{csv}");
        assert_eq!(csv.lines().count(), 1 + 4);

        let (status, created) = send(app.post("/api/v1/segments", &token, custom_list("Uploaded", &answer["upload_id"]))).await;
        assert_eq!(status, 202, "{created}");
        assert_eq!(active_size(&app, &token, &created["id"]).await, 3);
        let (_, check) = send(app.post(&format!("/api/v1/segments/{}/members/check", created["id"]), &token,
            json!({"ids": ["U1", "U2", "U4", "U3"]}))).await;
        assert_eq!(check["members"], json!(["U1", "U2", "U4"]));
    }

    async fn a_long_upload_is_counted_exactly_across_lookup_batches(app: TestApp) {
        segment_service::tags::import::import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let token = app.token("platform").await;
        // IDs are looked up 16,384 at a time: repeats and known IDs fall on both sides of a batch's end.
        let unknown: Vec<String> = (0..25_000).map(|i| format!("X{i}")).collect();
        let body = format!("entity_id\nU1\n{}\nU2\nU1\nX0\nU3\n", unknown.join("\n"));
        let (status, answer) = send(
            app.client
                .post(app.url("/api/v1/uploads?target_object=user"))
                .bearer_auth(&token)
                .header("content-type", "text/csv")
                .body(body),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        let report = &answer["report"];
        assert_eq!(report["rows"], 25_005);
        assert_eq!((report["valid"].as_u64(), report["duplicates"].as_u64()), (Some(25_003), Some(2)));
        assert_eq!((report["unknown"].as_u64(), report["matched"].as_u64()), (Some(25_000), Some(3)));
        assert_eq!((report["unknown_sample"][0]["line"].as_u64(), report["unknown_sample"][0]["entity_id"].as_str()), (Some(3), Some("X0")));
    }

    async fn ids_imported_after_the_server_started_are_known_at_once(app: TestApp) {
        segment_service::tags::import::import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let token = app.token("platform").await;
        let (_, answer) = upload(&app, &token, "user", "entity_id\nU1\nU7\n").await;
        assert_eq!((answer["report"]["matched"].as_u64(), answer["report"]["unknown"].as_u64()), (Some(1), Some(1)));
        // A later import adds U7: the next upload knows it without waiting for a poll.
        let dir = temp_dir("more-users");
        std::fs::create_dir_all(dir.join("entities")).unwrap();
        std::fs::write(dir.join("entities/user.csv"), "entity_id\nU7\n").unwrap();
        segment_service::tags::import::import_dir(&app.db, &dir, Box::new(|_| {})).await.unwrap();
        let (_, answer) = upload(&app, &token, "user", "entity_id\nU1\nU7\n").await;
        assert_eq!((answer["report"]["matched"].as_u64(), answer["report"]["unknown"].as_u64()), (Some(2), Some(0)));
        let chunks: Vec<(i64, Vec<u8>)> = segment_service::with_db!(&app.db, pool => {
            sqlx::query_as("SELECT entities, payload FROM entity_dictionary_chunks WHERE target_object = 'user'")
                .fetch_all(pool).await.unwrap()
        });
        assert_eq!(chunks, vec![(5, b"U1\nU2\nU3\nU4\nU7\n".to_vec())]);
        // A server started afterwards reads the stored dictionary chunks.
        let restarted = segment_service::entities::Dictionaries::default();
        let known = restarted
            .indexes(&app.db, segment_core::TargetObject::User, &["U1".into(), "U4".into(), "U7".into(), "U8".into()])
            .await
            .unwrap();
        assert_eq!(known.len(), 3);
        assert_eq!(known["U1"] + 3, known["U4"]);
        assert_eq!(known["U7"], 4);
    }

    async fn custom_lists_are_one_time_scoped_and_bounded(app: TestApp) {
        segment_service::tags::import::import_dir(&app.db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let m1 = app.token("merchant:M1").await;
        let m2 = app.token("merchant:M2").await;
        let (_, answer) = upload(&app, &m1, "user", "entity_id\nU1\nU4\n").await;
        let mut daily = custom_list("Daily list", &answer["upload_id"]);
        daily["update_frequency"] = json!("daily");
        daily["daily_run_time"] = json!("06:00");
        let (status, body) = send(app.post("/api/v1/segments", &m1, daily)).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["fields"][0]["field"], "update_frequency");
        // Another merchant cannot use or read the upload.
        let (status, body) = send(app.post("/api/v1/segments", &m2, custom_list("Theirs", &answer["upload_id"]))).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["fields"][0]["field"], "definition.upload_id");
        let (status, _) = send(app.get(&format!("/api/v1/uploads/{}", answer["upload_id"]), &m2)).await;
        assert_eq!(status, 404);
        // A merchant's list is intersected with its audience: U4 is M2's.
        let (_, created) = send(app.post("/api/v1/segments", &m1, custom_list("Mine", &answer["upload_id"]))).await;
        assert_eq!(active_size(&app, &m1, &created["id"]).await, 1);
        // Merchants are not a user list; an empty file and a missing header are explained.
        let (status, body) = upload(&app, &m1, "merchant", "").await;
        assert_eq!(status, 400, "{body}");
        assert!(error_message(&body, "validation").contains("empty"));
    }

    async fn an_upload_over_the_limit_is_refused_with_the_limit(app: TestApp) {
        let database_url = fresh_database_url(app.backend).await;
        let small = TestApp::spawn_configured(app.backend, database_url, |config| config.upload_max_bytes = 1 << 20).await;
        let token = small.token("platform").await;
        let big: String = std::iter::once("entity_id\n".to_string())
            .chain((0..200_000).map(|i| format!("U{i:07}\n")))
            .collect();
        let (status, body) = send(small.client.post(small.url("/api/v1/uploads"))
            .bearer_auth(&token).header("content-type", "text/csv").body(big)).await;
        assert_eq!(status, 413, "{body}");
        assert!(error_message(&body, "too_large").contains("1 MB"), "{body}");
    }
}
