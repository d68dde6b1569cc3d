//! Segments: creation (tag filter and combination), materialization by the
//! workers (restart recovery, retries), the daily scheduler across DST
//! changes, stale and expired lookups, scopes, and notification mail.

use std::time::Duration;

use segment_contract::auth::{Principal, Role, Scope, Subject};
use segment_contract::ids::SegmentId;
use segment_contract::segments::CreateSegmentRequest;
use segment_service::segments;
use segment_service::segments::{schedule, worker};
use segment_service::state::AppState;
use segment_service::tags::import::import_dir;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::warehouse::{small_dataset, write};

fn shenzhen() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}
    ]}]})
}

/// Shenzhen riders, or users with at least 3 food trades in the first days of August 2024.
fn two_groups() -> Value {
    json!({"groups": [
        {"conditions": [
            {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Guangzhou"]}]},
        {"conditions": [
            {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"},
             "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
             "count": {"op": "gte", "value": 3}}]}
    ]})
}

fn request(name: &str, rule: Value) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["insight_analysis"], "time_zone": "Asia/Shanghai",
        "expires_at": "2030-01-31 23:59", "definition": {"method": "tag_filter", "rule": rule}
    })
}

async fn import_small(app: &TestApp) {
    import_dir(&app.db, &small_dataset(), Box::new(|_| {}))
        .await
        .unwrap();
}

/// Waits until the server's index has loaded the newest import.
async fn wait_for_index(app: &TestApp, token: &str) {
    for _ in 0..100 {
        let (status, body) = send(app.post(
            "/api/v1/segments/estimate",
            token,
            json!({"target_object": "user", "rule": shenzhen()}),
        ))
        .await;
        if status == 200 && body["size"] == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tag index never loaded");
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = send(app.post("/api/v1/segments", token, body)).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["status"], "generating");
    created
}

/// Polls the segment until it leaves Generating; answers its detail.
async fn settled(app: &TestApp, token: &str, id: &Value) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (status, body) = send(app.get(&format!("/api/v1/segments/{id}"), token)).await;
        assert_eq!(status, 200, "{body}");
        if body["status"] != "generating" {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segment {id} stayed generating: {last}");
}

async fn member(app: &TestApp, token: &str, id: &Value, entity: &str) -> (reqwest::StatusCode, Value) {
    send(app.get(&format!("/api/v1/segments/{id}/members/{entity}"), token)).await
}

fn operator() -> Principal {
    Principal {
        subject: Subject::User {
            id: 1,
            username: "ops".into(),
        },
        role: Role::Operator,
        scope: Scope::Platform,
    }
}

/// The service layer on `db` without a running server (no workers, no scheduler).
async fn bare_state(db: &segment_service::infra::db::Db) -> AppState {
    let state = AppState::new(db.clone());
    state.tag_index.refresh(db).await.unwrap();
    state
}

fn create_request(body: Value) -> CreateSegmentRequest {
    serde_json::from_value(body).unwrap()
}

both_backends! {
    async fn a_tag_filter_segment_goes_from_generating_to_active_with_the_estimated_size(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let (_, estimate) = send(app.post("/api/v1/segments/estimate", &token,
            json!({"target_object": "user", "rule": two_groups(), "time_zone": "Asia/Shanghai"}))).await;
        // U2 rides in Guangzhou; U1 made 3 + 2 food trades.
        assert_eq!(estimate["size"], 2, "{estimate}");

        let created = create(&app, &token, request("Guangzhou or foodies", two_groups())).await;
        let detail = settled(&app, &token, &created["id"]).await;
        assert_eq!(detail["status"], "active", "{detail}");
        assert_eq!(detail["size"], estimate["size"]);
        assert_eq!(detail["data_date"], "2024-08-04");
        assert_eq!(detail["method"], "tag_filter");
        assert_eq!(detail["definition"]["rule"], two_groups());
        let runs = detail["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0]["status"].as_str(), runs[0]["run_key"].as_str(), runs[0]["size"].as_i64()),
                   (Some("succeeded"), Some("create"), Some(2)));

        for (entity, is_member, known) in [("U1", true, true), ("U2", true, true), ("U4", false, true), ("nobody", false, false)] {
            let (status, answer) = member(&app, &token, &created["id"], entity).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!((answer["member"].as_bool(), answer["known"].as_bool()), (Some(is_member), Some(known)), "{entity}");
            assert_eq!(answer["data_date"], "2024-08-04");
        }

        let (_, list) = send(app.get("/api/v1/segments?q=foodies", &token)).await;
        assert_eq!(list["total"], 1);
        assert_eq!(list["rows"][0]["status"], "active");
        assert_eq!(list["rows"][0]["size"], 2);
    }

    async fn bad_input_is_reported_per_field_and_creates_nothing(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let mut body = request("", shenzhen());
        body["expires_at"] = json!("2020-01-01 00:00");
        body["notification_email"] = json!("not-an-address");
        body["time_sensitive"] = json!(true);
        body["group_id"] = json!(999);
        let (status, answer) = send(app.post("/api/v1/segments", &token, body)).await;
        assert_eq!(status, 400, "{answer}");
        let fields: Vec<&str> = answer["error"]["fields"].as_array().unwrap().iter()
            .map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "time_sensitive", "expires_at", "notification_email", "group_id"]);

        let bad_rule = json!({"groups": [{"conditions": [
            {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Paris"]}]}]});
        let (status, answer) = send(app.post("/api/v1/segments", &token, request("Paris", bad_rule))).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["problems"][0]["path"], "groups[0].conditions[0].values");

        let (_, list) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(list["total"], 0, "{list}");
    }

    async fn a_combination_creates_both_segments_and_the_combined_one_waits_for_the_first(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let shenzhen_segment = create(&app, &token, request("Shenzhen", shenzhen())).await;
        assert_eq!(settled(&app, &token, &shenzhen_segment["id"]).await["status"], "active");

        let mut body = request("Guangzhou or foodies", two_groups());
        body["definition"]["combination"] = json!({
            "segment_id": shenzhen_segment["id"], "operation": "union", "name": "Either"});
        let created = create(&app, &token, body).await;
        let combined_id = created["combined_id"].clone();
        assert!(combined_id.is_i64(), "{created}");
        let combined = settled(&app, &token, &combined_id).await;
        assert_eq!(combined["status"], "active", "{combined}");
        // {U1, U2} ∪ {U1, U4}
        assert_eq!(combined["size"], 3);
        assert_eq!(combined["method"], "segment_set");
        assert_eq!(combined["definition"]["left"], created["id"]);
        // Every basic field but the name is copied.
        assert_eq!(combined["time_zone"], "Asia/Shanghai");
        assert_eq!(combined["expires_at"], settled(&app, &token, &created["id"]).await["expires_at"]);

        // A combination with a segment that is not Active is refused before anything is created.
        let mut body = request("Another", shenzhen());
        body["definition"]["combination"] = json!({"segment_id": 9999, "operation": "union", "name": "X"});
        let (status, answer) = send(app.post("/api/v1/segments", &token, body)).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["fields"][0]["field"], "combination.segment_id");
        let (_, list) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(list["total"], 3);
    }

    async fn a_merchant_segment_is_intersected_with_its_audience_and_hidden_from_others(app: TestApp) {
        import_small(&app).await;
        let platform = app.token("platform").await;
        wait_for_index(&app, &platform).await;
        let m1 = app.token("merchant:M1").await;
        let m2 = app.token("merchant:M2").await;
        let created = create(&app, &m1, request("Shenzhen of M1", shenzhen())).await;
        let detail = settled(&app, &m1, &created["id"]).await;
        // U1 and U4 ride in Shenzhen; only U1 is in M1's audience.
        assert_eq!(detail["size"], 1, "{detail}");
        assert_eq!(detail["owner_scope"], "merchant:M1");
        let (status, _) = send(app.get(&format!("/api/v1/segments/{}", created["id"]), &m2)).await;
        assert_eq!(status, 404);
        let (status, _) = member(&app, &m2, &created["id"], "U1").await;
        assert_eq!(status, 404);
        let (_, list) = send(app.get("/api/v1/segments", &m2)).await;
        assert_eq!(list["total"], 0);
        let (_, list) = send(app.get("/api/v1/segments", &platform)).await;
        assert_eq!(list["total"], 1);
        // M2 cannot combine with M1's segment either.
        let mut body = request("Mine", shenzhen());
        body["definition"]["combination"] = json!({"segment_id": created["id"], "operation": "union", "name": "X"});
        let (status, answer) = send(app.post("/api/v1/segments", &m2, body)).await;
        assert_eq!(status, 400, "{answer}");
    }

    async fn the_list_searches_filters_sorts_and_pages_on_the_server(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let mut ids = Vec::new();
        for name in ["Charlie", "alpha", "Bravo"] {
            let created = create(&app, &token, request(name, shenzhen())).await;
            settled(&app, &token, &created["id"]).await;
            ids.push(created["id"].as_i64().unwrap());
        }
        let names = |body: &Value| -> Vec<String> {
            body["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
        };
        let (_, page) = send(app.get("/api/v1/segments?sort=name&asc=true&page_size=2", &token)).await;
        assert_eq!((names(&page), page["total"].as_i64()), (vec!["alpha".to_string(), "Bravo".to_string()], Some(3)));
        let (_, page) = send(app.get("/api/v1/segments?sort=name&asc=true&page_size=2&page=2", &token)).await;
        assert_eq!(names(&page), ["Charlie"]);
        let (_, page) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(names(&page), ["Bravo", "alpha", "Charlie"], "newest update first by default");
        let (_, page) = send(app.get(&format!("/api/v1/segments?q={}", ids[1]), &token)).await;
        assert_eq!(names(&page), ["alpha"], "search by ID");
        let (_, page) = send(app.get("/api/v1/segments?q=RAV", &token)).await;
        assert_eq!(names(&page), ["Bravo"], "search by part of the name, any case");
        let (_, page) = send(app.get("/api/v1/segments?method=segment_set", &token)).await;
        assert_eq!(page["total"], 0);
        let (_, page) = send(app.get("/api/v1/segments?target_object=merchant", &token)).await;
        assert_eq!(page["total"], 0);
        let (_, page) = send(app.get("/api/v1/segments?status=active&target_object=user&method=tag_filter", &token)).await;
        assert_eq!(page["total"], 3);
        let (status, body) = send(app.get("/api/v1/segments?status=sleeping", &token)).await;
        assert_eq!(status, 400, "{body}");
    }

    async fn a_run_that_keeps_failing_is_retried_with_backoff_and_then_fails_with_its_reason(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let input = create(&app, &token, request("Input", shenzhen())).await;
        settled(&app, &token, &input["id"]).await;
        // Its stored snapshot becomes unreadable: every attempt of a set over it fails.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segment_runs SET members = $1 WHERE segment_id = $2")
                .bind(vec![1u8, 2, 3])
                .bind(input["id"].as_i64().unwrap())
                .execute(pool).await.unwrap();
        });
        let mut body = request("Set over a broken input", shenzhen());
        body["definition"] = json!({"method": "segment_set", "left": input["id"], "right": input["id"], "operation": "union"});
        let created = create(&app, &token, body).await;
        let mut detail = Value::Null;
        for _ in 0..200 {
            detail = send(app.get(&format!("/api/v1/segments/{}", created["id"]), &token)).await.1;
            if detail["status"] != "generating" { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(detail["status"], "failed", "{detail}");
        let run = &detail["runs"][0];
        assert_eq!(run["attempts"], 3, "{detail}");
        assert_eq!(run["status"], "failed");
        assert!(detail["error"].as_str().unwrap().contains("database error"), "{detail}");
        // Two backoff delays from the tests' 200 ms base, doubling: 200 + 400 ms at least.
        let took = run["finished_at"].as_i64().unwrap() - run["queued_at"].as_i64().unwrap();
        assert!(took >= 600, "retried after {took} ms");
    }

    async fn a_definition_that_would_make_a_cycle_is_refused(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let input = create(&app, &token, request("Input", shenzhen())).await;
        settled(&app, &token, &input["id"]).await;
        // Definitions are immutable and may only name segments that exist, so the
        // only cycle a request can attempt is through the ID it is about to get.
        let own_id = input["id"].as_i64().unwrap() + 1;
        for (definition, field) in [
            (json!({"method": "segment_set", "left": input["id"], "right": own_id, "operation": "union"}), "definition.right"),
            (json!({"method": "segment_set", "left": own_id, "right": own_id, "operation": "intersection"}), "definition.left"),
            (json!({"method": "lookalike", "seed_segment_id": own_id, "target_size": 3}), "definition.seed_segment_id"),
        ] {
            let mut body = request("Cycle", shenzhen());
            body["definition"] = definition.clone();
            let (status, refused) = send(app.post("/api/v1/segments", &token, body)).await;
            assert_eq!(status, 400, "{definition}: {refused}");
            let fields = refused["error"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == field
                && f["message"] == format!("Segment {own_id} was not found.")), "{definition}: {refused}");
        }
        let (_, listed) = send(app.get("/api/v1/segments", &token)).await;
        assert_eq!(listed["total"], 1, "nothing was created");
        // The next segment does get that ID, and it reads only the older one.
        let mut body = request("Not a cycle", shenzhen());
        body["definition"] = json!({"method": "segment_set", "left": input["id"], "right": input["id"], "operation": "union"});
        assert_eq!(create(&app, &token, body).await["id"], own_id);
    }

    async fn a_daily_set_recomputes_after_its_inputs_in_dependency_order(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let daily = |name: &str, rule: Value| {
            let mut body = request(name, rule);
            body["update_frequency"] = json!("daily");
            body["daily_run_time"] = json!("06:00");
            body
        };
        let a = create(&app, &token, daily("A", shenzhen())).await["id"].as_i64().unwrap();
        let b = create(&app, &token, daily("B", two_groups())).await["id"].as_i64().unwrap();
        settled(&app, &token, &json!(a)).await;
        settled(&app, &token, &json!(b)).await;
        let mut body = daily("A or B", shenzhen());
        body["definition"] = json!({"method": "segment_set", "left": a, "right": b, "operation": "union"});
        let set = create(&app, &token, body).await["id"].as_i64().unwrap();
        assert_eq!(settled(&app, &token, &json!(set)).await["size"], 3);

        // Both inputs' daily runs fall due together; the set runs after both, on their new snapshots.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET next_run_at = 0 WHERE id IN ($1, $2)").bind(a).bind(b)
                .execute(pool).await.unwrap();
        });
        let runs_of = |id: i64| {
            let app_url = app.url(&format!("/api/v1/segments/{id}"));
            let client = app.client.clone();
            let token = token.clone();
            async move {
                let detail: Value = client.get(app_url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
                detail["runs"].as_array().unwrap().clone()
            }
        };
        let mut set_runs = Vec::new();
        for _ in 0..100 {
            set_runs = runs_of(set).await;
            let done = set_runs.iter().filter(|r| r["run_key"].as_str().unwrap().starts_with("after:") && r["status"] == "succeeded").count();
            let pending = set_runs.iter().any(|r| r["status"] == "queued" || r["status"] == "running");
            if done >= 1 && !pending { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let a_daily = runs_of(a).await.into_iter().find(|r| r["run_key"].as_str().unwrap().starts_with("daily:")).expect("A ran daily");
        let b_daily = runs_of(b).await.into_iter().find(|r| r["run_key"].as_str().unwrap().starts_with("daily:")).expect("B ran daily");
        let latest = set_runs.iter().find(|r| r["status"] == "succeeded").unwrap();
        assert!(latest["run_key"].as_str().unwrap().starts_with("after:"), "{set_runs:?}");
        assert!(latest["started_at"].as_i64() >= a_daily["finished_at"].as_i64(), "{latest} before {a_daily}");
        assert!(latest["started_at"].as_i64() >= b_daily["finished_at"].as_i64(), "{latest} before {b_daily}");
        // The set records which input snapshots it used: the inputs' new runs.
        let inputs: Value = segment_service::with_db!(&app.db, pool => {
            let text: String = sqlx::query_scalar("SELECT inputs FROM segment_runs WHERE id = $1")
                .bind(latest["id"].as_i64().unwrap()).fetch_one(pool).await.unwrap();
            serde_json::from_str(&text).unwrap()
        });
        assert_eq!(inputs["left"]["run_id"], a_daily["id"]);
        assert_eq!(inputs["right"]["run_id"], b_daily["id"]);
    }

    async fn a_run_interrupted_by_a_stopped_server_is_finished_after_restart(app: TestApp) {
        // The database a server left behind when it stopped mid-run.
        let database_url = fresh_database_url(app.backend).await;
        let db = segment_service::infra::db::Db::connect(&database_url).await.unwrap();
        db.migrate().await.unwrap();
        import_dir(&db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let state = bare_state(&db).await;
        let resumed = segments::create(&state, &operator(), &create_request(request("Resumed", shenzhen()))).await.unwrap();
        let abandoned = segments::create(&state, &operator(), &create_request(request("Abandoned", shenzhen()))).await.unwrap();
        // A worker claimed the first run and died with it (its lease is already over).
        let claimed = worker::claim(&db, "dead-worker", Duration::ZERO, segment_service::infra::now_ms()).await.unwrap().unwrap();
        assert_eq!((claimed.segment_id, claimed.attempts), (resumed.id, 1));
        // The second was interrupted as often as a run may be tried.
        segment_service::with_db!(&db, pool => {
            sqlx::query("UPDATE segment_runs SET status = 'running', lease_owner = 'dead-worker', lease_expires_at = 1, attempts = $1 WHERE segment_id = $2")
                .bind(i32::try_from(worker::WorkerSettings::default().max_attempts).unwrap())
                .bind(abandoned.id)
                .execute(pool).await.unwrap();
        });
        db.close().await;

        let restarted = TestApp::spawn_with_url(app.backend, database_url).await;
        let token = restarted.token("platform").await;
        let detail = settled(&restarted, &token, &json!(resumed.id)).await;
        assert_eq!((detail["status"].as_str(), detail["size"].as_i64()), (Some("active"), Some(2)), "{detail}");
        let runs = detail["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "one run, one snapshot: {detail}");
        assert_eq!((runs[0]["status"].as_str(), runs[0]["attempts"].as_i64()), (Some("succeeded"), Some(2)));

        let failed = settled(&restarted, &token, &json!(abandoned.id)).await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert!(failed["error"].as_str().unwrap().contains("interrupted 3 times"), "{failed}");
        assert!(failed["size"].is_null());
        let (status, answer) = member(&restarted, &token, &json!(abandoned.id), "U1").await;
        assert_eq!(status, 409);
        assert_eq!(answer["error"]["code"], "not_ready");
    }

    async fn daily_runs_follow_local_time_across_daylight_saving_changes(app: TestApp) {
        // A database no server's scheduler runs on: only the passes below, at the times given.
        let db = fresh_database(app.backend).await;
        import_dir(&db, &small_dataset(), Box::new(|_| {})).await.unwrap();
        let state = bare_state(&db).await;
        let daily = |name: &str, zone: &str| {
            let mut body = request(name, shenzhen());
            body["update_frequency"] = json!("daily");
            body["daily_run_time"] = json!("02:30");
            body["time_zone"] = json!(zone);
            create_request(body)
        };
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
        let new_york = segments::create(&state, &operator(), &daily("NY", "America/New_York")).await.unwrap().id;
        let berlin = segments::create(&state, &operator(), &daily("Berlin", "Europe/Berlin")).await.unwrap().id;
        let set_next = |id: SegmentId, next: i64| {
            let db = db.clone();
            async move {
                segment_service::with_db!(&db, pool => {
                    sqlx::query("UPDATE segments SET next_run_at = $1 WHERE id = $2").bind(next).bind(id)
                        .execute(pool).await.unwrap();
                });
            }
        };
        let next_run_at = |id: SegmentId| {
            let db = db.clone();
            async move {
                segment_service::with_db!(&db, pool => {
                    sqlx::query_scalar::<_, i64>("SELECT next_run_at FROM segments WHERE id = $1").bind(id)
                        .fetch_one(pool).await.unwrap()
                })
            }
        };
        let tick = |now: &str| {
            let db = db.clone();
            let now = at(now);
            async move { schedule::tick(&db, None, now).await.unwrap().enqueued }
        };

        // New York, spring forward on 2026-03-08: 02:30 does not exist, the run is at 03:00 EDT.
        set_next(new_york, at("2026-03-07T07:30:00Z")).await;
        set_next(berlin, at("2030-01-01T00:00:00Z")).await;
        assert_eq!(tick("2026-03-07T07:29:59Z").await, []);
        assert_eq!(tick("2026-03-07T07:30:00Z").await, [(new_york, "daily:2026-03-07".to_string())]);
        assert_eq!(next_run_at(new_york).await, at("2026-03-08T07:00:00Z"));
        assert_eq!(tick("2026-03-08T06:59:00Z").await, []);
        assert_eq!(tick("2026-03-08T07:00:00Z").await, [(new_york, "daily:2026-03-08".to_string())]);
        assert_eq!(next_run_at(new_york).await, at("2026-03-09T06:30:00Z"));
        // Fall back on 2026-11-01: 02:30 happens once (after the repeated hour), 07:30 UTC.
        set_next(new_york, at("2026-10-31T06:30:00Z")).await;
        assert_eq!(tick("2026-10-31T06:30:00Z").await, [(new_york, "daily:2026-10-31".to_string())]);
        assert_eq!(next_run_at(new_york).await, at("2026-11-01T07:30:00Z"));

        // Berlin, fall back on 2026-10-25: 02:30 happens twice, the run happens once, at the first.
        set_next(new_york, at("2030-01-01T00:00:00Z")).await;
        set_next(berlin, at("2026-10-25T00:30:00Z")).await;
        assert_eq!(tick("2026-10-25T00:30:00Z").await, [(berlin, "daily:2026-10-25".to_string())]);
        assert_eq!(tick("2026-10-25T01:30:00Z").await, [], "the second 02:30 does not run again");
        assert_eq!(next_run_at(berlin).await, at("2026-10-26T01:30:00Z"));
        // A pass at the same moment twice enqueues nothing more, even if next_run_at were rewound.
        set_next(berlin, at("2026-10-25T00:30:00Z")).await;
        assert_eq!(tick("2026-10-25T01:30:00Z").await, []);
        // Spring forward on 2026-03-29: 02:30 is skipped, the run is at 03:00 CEST (01:00 UTC).
        set_next(berlin, at("2026-03-29T01:00:00Z")).await;
        assert_eq!(tick("2026-03-29T01:00:00Z").await, [(berlin, "daily:2026-03-29".to_string())]);
        assert_eq!(next_run_at(berlin).await, at("2026-03-30T00:30:00Z"));
    }

    async fn a_time_sensitive_segment_is_stale_until_a_run_uses_the_newest_data(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let mut body = request("Shenzhen, fresh only", shenzhen());
        body["update_frequency"] = json!("daily");
        body["daily_run_time"] = json!("06:00");
        body["time_sensitive"] = json!(true);
        let created = create(&app, &token, body).await;
        assert_eq!(settled(&app, &token, &created["id"]).await["size"], 2);
        assert_eq!(member(&app, &token, &created["id"], "U1").await.0, 200);

        // A newer partition of the tag arrives: only U3 rides in Shenzhen on 2024-08-05.
        let dir = temp_dir("newer");
        write(&dir, "profile/next.csv", "entity_id,date,tag,value\nU3,2024-08-05,city_cross_border_ride,Shenzhen\n");
        import_dir(&app.db, &dir, Box::new(|_| {})).await.unwrap();
        let mut refused = Value::Null;
        for _ in 0..100 {
            let (status, answer) = member(&app, &token, &created["id"], "U1").await;
            if status == 409 {
                refused = answer;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(refused["error"]["code"], "stale", "{refused}");
        let mut listed = Value::Null;
        for _ in 0..50 {
            listed = send(app.get("/api/v1/segments?status=stale", &token)).await.1;
            if listed["rows"].as_array().is_some_and(|rows| rows.len() == 1) { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(listed["rows"][0]["id"], created["id"], "{listed}");

        // The next daily run uses the new data and the segment serves again.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET next_run_at = 0 WHERE id = $1").bind(created["id"].as_i64().unwrap())
                .execute(pool).await.unwrap();
        });
        let mut detail = Value::Null;
        for _ in 0..100 {
            detail = send(app.get(&format!("/api/v1/segments/{}", created["id"]), &token)).await.1;
            if detail["status"] == "active" && detail["data_date"] == "2024-08-05" { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!((detail["status"].as_str(), detail["size"].as_i64()), (Some("active"), Some(1)), "{detail}");
        assert!(detail["runs"][0]["run_key"].as_str().unwrap().starts_with("daily:"));
        let (status, answer) = member(&app, &token, &created["id"], "U3").await;
        assert_eq!((status.as_u16(), answer["member"].as_bool()), (200, Some(true)), "{answer}");
    }

    async fn a_corrupt_stored_value_is_an_internal_error_not_a_default(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let created = create(&app, &token, request("Zoned", shenzhen())).await;
        assert_eq!(settled(&app, &token, &created["id"]).await["time_zone"], "Asia/Shanghai");
        // Before, an unknown zone was read as UTC and an unknown status as Failed.
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE segments SET time_zone = 'Mars/Olympus' WHERE id = $1")
                .bind(created["id"].as_i64().unwrap())
                .execute(pool)
                .await
                .unwrap();
        });
        let (status, body) = send(app.get(&format!("/api/v1/segments/{}", created["id"]), &token)).await;
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("Mars"), "internal details stay in the log: {body}");
    }

    async fn an_expired_segment_refuses_lookups(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let mut body = request("Short-lived", shenzhen());
        let expires = chrono::Utc::now() + chrono::Duration::seconds(3);
        body["expires_at"] = json!(expires.to_rfc3339());
        let created = create(&app, &token, body).await;
        assert_eq!(settled(&app, &token, &created["id"]).await["status"], "active");
        assert_eq!(member(&app, &token, &created["id"], "U1").await.0, 200);
        tokio::time::sleep((expires - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
        let (status, answer) = member(&app, &token, &created["id"], "U1").await;
        assert_eq!(status, 409);
        assert_eq!(answer["error"]["code"], "expired");
        let detail = send(app.get(&format!("/api/v1/segments/{}", created["id"]), &token)).await.1;
        assert_eq!(detail["status"], "expired");
        let (_, listed) = send(app.get("/api/v1/segments?status=expired", &token)).await;
        assert_eq!(listed["total"], 1);
    }

    async fn notifications_arrive_over_smtp(app: TestApp) {
        let smtp = SmtpListener::start().await;
        let database_url = fresh_database_url(app.backend).await;
        let port = smtp.port;
        let mailing = TestApp::spawn_configured(app.backend, database_url, move |config| {
            config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
            config.mail.poll = Duration::from_millis(100);
        })
        .await;
        import_small(&mailing).await;
        let token = mailing.token("platform").await;
        wait_for_index(&mailing, &token).await;
        let mut body = request("Mailed", shenzhen());
        body["notification_email"] = json!("ops@example.com");
        let created = create(&mailing, &token, body).await;
        let message = smtp.next_message(Duration::from_secs(15)).await;
        assert!(message.contains("RCPT TO:<ops@example.com>"), "{message}");
        assert!(message.contains(&format!("Subject: Segment {} \"Mailed\" is Active", created["id"])), "{message}");
        assert!(message.contains("is Active with 2 members (data date 2024-08-04)"), "{message}");
        let mut sent: Option<i64> = None;
        for _ in 0..50 {
            sent = segment_service::with_db!(&mailing.db, pool => {
                sqlx::query_scalar("SELECT sent_at FROM mail_outbox").fetch_one(pool).await.unwrap()
            });
            if sent.is_some() { break; }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(sent.is_some(), "the outbox records the mail as sent");
    }

    async fn without_smtp_notifications_stay_in_the_outbox(app: TestApp) {
        import_small(&app).await;
        let token = app.token("platform").await;
        wait_for_index(&app, &token).await;
        let mut body = request("Kept", json!({"groups": [{"conditions": [
            {"type": "profile", "tag": "v2_trade_cnt_7d", "date": {"mode": "on", "date": "2024-08-04"}, "op": "gt", "value": 100}]}]}));
        body["notification_email"] = json!("ops@example.com");
        let created = create(&app, &token, body).await;
        assert_eq!(settled(&app, &token, &created["id"]).await["size"], 1);
        let kept: Vec<(String, String, Option<i64>)> = segment_service::with_db!(&app.db, pool => {
            sqlx::query_as("SELECT recipient, subject, sent_at FROM mail_outbox").fetch_all(pool).await.unwrap()
        });
        assert_eq!(kept, [("ops@example.com".to_string(), format!("Segment {} \"Kept\" is Active", created["id"]), None)]);
    }
}

/// A minimal SMTP server on loopback that records each session's transcript.
struct SmtpListener {
    port: u16,
    messages: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl SmtpListener {
    async fn start() -> SmtpListener {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, messages) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let mut transcript = String::new();
                    let mut in_data = false;
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        transcript.push_str(&line);
                        transcript.push('\n');
                        let reply: &[u8] = if in_data {
                            if line == "." {
                                in_data = false;
                                sender.send(transcript.clone()).unwrap();
                                b"250 queued\r\n"
                            } else {
                                continue;
                            }
                        } else {
                            let command = line.to_ascii_uppercase();
                            if command.starts_with("EHLO") {
                                b"250-test\r\n250 8BITMIME\r\n"
                            } else if command.starts_with("DATA") {
                                in_data = true;
                                b"354 go ahead\r\n"
                            } else if command.starts_with("QUIT") {
                                write.write_all(b"221 bye\r\n").await.unwrap();
                                break;
                            } else {
                                b"250 ok\r\n"
                            }
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        SmtpListener { port, messages }
    }

    async fn next_message(mut self, within: Duration) -> String {
        tokio::time::timeout(within, self.messages.recv())
            .await
            .expect("no mail arrived in time")
            .expect("listener running")
    }
}
