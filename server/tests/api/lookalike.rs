//! Lookalike segments over HTTP: exact target size, determinism, the planted
//! persona found far above chance, seeds from a segment or an upload, and
//! sizes out of range refused with their field.

use std::time::Duration;

use chrono::NaiveDate;
use serde_json::{Value, json};
use server::demo_data::{DemoOptions, PERSONA_FILE, generate};

use crate::helpers::*;

const USERS: u32 = 3_000;

/// Demo data with a planted persona (5% of the users), imported; answers the planted IDs.
async fn persona_dataset(app: &TestApp) -> Vec<String> {
    let dir = temp_dir("persona");
    let options = DemoOptions {
        users: USERS,
        days: 8,
        seed: 11,
        end_date: NaiveDate::from_ymd_opt(2024, 8, 4).unwrap(),
        persona: Some(0.05),
        persona_shape: server::demo_data::PersonaShape::Macau,
    };
    generate(&dir, &options).unwrap();
    segment_service::tags::import::import_dir(&app.db, &dir, Box::new(|_| {}))
        .await
        .unwrap();
    wait_for_everyone(app).await;
    std::fs::read_to_string(dir.join(PERSONA_FILE))
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Waits until the server's tag index has loaded the import (every user has a gender).
async fn wait_for_everyone(app: &TestApp) {
    let token = app.token("platform").await;
    let rule = json!({"groups": [{"conditions": [{"type": "profile", "tag": "gender", "date": {"mode": "latest"},
        "op": "in", "values": ["female", "male", "unknown"]}]}]});
    for _ in 0..200 {
        let (_, body) = send(app.post(
            "/api/v1/segments/estimate",
            &token,
            json!({"target_object": "user", "rule": rule}),
        ))
        .await;
        if body["size"] == USERS {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tag index never loaded the import")
}

async fn upload_ids(app: &TestApp, token: &str, ids: &[String]) -> Value {
    let body = format!("entity_id\n{}\n", ids.join("\n"));
    let (status, answer) = send(
        app.client
            .post(app.url("/api/v1/uploads?target_object=user"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    answer["upload_id"].clone()
}

fn segment(name: &str, definition: Value) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["message_ad_delivery"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
        "definition": definition
    })
}

async fn active(app: &TestApp, token: &str, id: &Value) -> Value {
    for _ in 0..400 {
        let (_, detail) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        if detail["status"] == "active" {
            return detail;
        }
        assert_ne!(detail["status"], "failed", "{detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segment {id} never became active")
}

/// The segment's members among all users, by the delivery API.
async fn members(app: &TestApp, token: &str, id: &Value) -> Vec<String> {
    let everyone: Vec<String> = (1..=USERS).map(server::demo_data::user_id).collect();
    let (status, answer) = send(app.post(
        &format!("/api/v1/segments/{id}/members/check"),
        token,
        json!({"ids": everyone}),
    ))
    .await;
    assert_eq!(status, 200, "{answer}");
    serde_json::from_value(answer["members"].clone()).unwrap()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = send(app.post("/api/v1/segments", token, body)).await;
    assert_eq!(status, 202, "{created}");
    created["id"].clone()
}

both_backends! {
    async fn a_lookalike_has_exactly_its_target_size_finds_the_persona_and_repeats_itself(app: TestApp) {
        let planted = persona_dataset(&app).await;
        let token = app.token("platform").await;
        assert!((100..200).contains(&planted.len()), "{} planted", planted.len());
        // Seed with a fifth of the persona, expand to the persona's size.
        let seed: Vec<String> = planted.iter().step_by(5).cloned().collect();
        let upload_id = upload_ids(&app, &token, &seed).await;
        let target = planted.len();
        let definition = json!({"method": "lookalike", "seed_upload_id": upload_id, "target_size": target});
        let first = create(&app, &token, segment("Persona lookalike", definition.clone())).await;
        let detail = active(&app, &token, &first).await;
        assert_eq!(detail["size"], target);
        let chosen = members(&app, &token, &first).await;
        assert_eq!(chosen.len(), target);
        assert!(seed.iter().all(|id| chosen.contains(id)), "the seed is kept");
        let found = chosen.iter().filter(|id| planted.contains(id) && !seed.contains(id)).count();
        let precision = found as f64 / (target - seed.len()) as f64;
        let chance = (planted.len() - seed.len()) as f64 / (USERS as usize - seed.len()) as f64;
        assert!(precision >= 0.6 && precision > 5.0 * chance, "precision {precision:.2}, chance {chance:.2}");
        // The model is explained by the planted features.
        let inputs: Value = serde_json::from_str(detail["runs"][0]["inputs"].as_str().unwrap()).unwrap();
        let top: Vec<&str> = inputs["model"]["top_features"].as_array().unwrap().iter()
            .map(|f| f["feature"].as_str().unwrap()).collect();
        for planted_feature in ["home_city = Macau", "age_band = 18-24", "preferred_channel = web", "member_level = platinum"] {
            assert!(top.contains(&planted_feature), "{planted_feature} not in {top:?}");
        }

        // The same definition on the same data gives the same members.
        let second = create(&app, &token, segment("Again", definition)).await;
        active(&app, &token, &second).await;
        assert_eq!(members(&app, &token, &second).await, chosen);

        // A segment as the seed; the lookalike is listed as depending on it.
        let seed_segment = create(&app, &token, segment("Seed", json!({"method": "custom_list", "upload_id": upload_id}))).await;
        active(&app, &token, &seed_segment).await;
        let from_segment = create(&app, &token, segment("From a segment",
            json!({"method": "lookalike", "seed_segment_id": seed_segment, "target_size": 500}))).await;
        assert_eq!(active(&app, &token, &from_segment).await["size"], 500);
        let (status, refused) = send(app.delete(&format!("/api/v1/segments/{seed_segment}"), &token)).await;
        assert_eq!(status, 409, "{refused}");
        assert!(error_message(&refused, "conflict").contains("\"From a segment\" is computed from it"), "{refused}");
    }

    async fn lookalike_sizes_and_seeds_out_of_range_are_refused_with_their_field(app: TestApp) {
        persona_dataset(&app).await;
        let token = app.token("platform").await;
        let seed: Vec<String> = (1..=30).map(server::demo_data::user_id).collect();
        let upload_id = upload_ids(&app, &token, &seed).await;
        for (definition, field, says) in [
            (json!({"method": "lookalike", "seed_upload_id": upload_id, "target_size": 30}), "definition.target_size", "larger than the seed's 30"),
            (json!({"method": "lookalike", "seed_upload_id": upload_id, "target_size": USERS + 1}), "definition.target_size", "3000"),
            (json!({"method": "lookalike", "target_size": 100}), "definition.seed_segment_id", "one seed"),
            (json!({"method": "lookalike", "seed_segment_id": 999_999, "target_size": 100}), "definition.seed_segment_id", "not found"),
            (json!({"method": "lookalike", "seed_upload_id": 999_999, "target_size": 100}), "definition.seed_upload_id", "not found"),
        ] {
            let (status, body) = send(app.post("/api/v1/segments", &token, segment("Refused", definition.clone()))).await;
            assert_eq!(status, 400, "{definition}: {body}");
            let fields = body["error"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == field && f["message"].as_str().unwrap().contains(says)),
                "{definition}: {body}");
        }
        let (_, listed) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(listed["total"], 0);
    }
}
