use serde_json::json;

use crate::helpers::*;

both_backends! {
    async fn platform_token_creates_lists_renames_and_deletes(app: TestApp) {
        let token = app.token("platform").await;
        let (status, created) = send(app.post("/api/v1/groups", &token, json!({"name": "  Growth  "}))).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["name"], "Growth", "names are trimmed");
        assert_eq!(created["owner_scope"], "platform");
        let id = created["id"].as_i64().unwrap();

        let (status, list) = send(app.get("/api/v1/groups", &token)).await;
        assert_eq!(status, 200);
        let names: Vec<&str> = list["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Growth"]);

        let (status, renamed) = send(app.patch(&format!("/api/v1/groups/{id}"), &token, json!({"name": "Retention"}))).await;
        assert_eq!(status, 200, "{renamed}");
        assert_eq!(renamed["name"], "Retention");

        let (status, _) = send(app.delete(&format!("/api/v1/groups/{id}"), &token)).await;
        assert_eq!(status, 204);
        let (_, list) = send(app.get("/api/v1/groups", &token)).await;
        assert!(list["groups"].as_array().unwrap().is_empty());
        let (status, body) = send(app.delete(&format!("/api/v1/groups/{id}"), &token)).await;
        assert_eq!(status, 404);
        error_message(&body, "not_found");
    }

    async fn merchant_cannot_see_or_change_other_scopes_groups(app: TestApp) {
        let platform = app.token("platform").await;
        let merchant_1 = app.token("merchant:M1").await;
        let merchant_2 = app.token("merchant:M2").await;
        let (_, platform_group) = send(app.post("/api/v1/groups", &platform, json!({"name": "Ops"}))).await;
        let (_, other_group) = send(app.post("/api/v1/groups", &merchant_2, json!({"name": "M2 promos"}))).await;
        let (status, own_group) = send(app.post("/api/v1/groups", &merchant_1, json!({"name": "M1 promos"}))).await;
        assert_eq!(status, 201);
        assert_eq!(own_group["owner_scope"], "merchant:M1");

        let (_, list) = send(app.get("/api/v1/groups", &merchant_1)).await;
        let names: Vec<&str> = list["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["M1 promos"], "a merchant lists only its own groups");

        for foreign in [&platform_group, &other_group] {
            let path = format!("/api/v1/groups/{}", foreign["id"]);
            let (status, body) = send(app.patch(&path, &merchant_1, json!({"name": "taken over"}))).await;
            assert_eq!(status, 404, "rename of {foreign}: {body}");
            error_message(&body, "not_found");
            let (status, _) = send(app.delete(&path, &merchant_1)).await;
            assert_eq!(status, 404, "delete of {foreign}");
        }
        // Nothing changed for the owners.
        let (_, list) = send(app.get("/api/v1/groups", &platform)).await;
        let mut names: Vec<&str> = list["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["M1 promos", "M2 promos", "Ops"], "the platform sees every group");

        let store = app.token("store:S1,S2").await;
        let (_, list) = send(app.get("/api/v1/groups", &store)).await;
        assert!(list["groups"].as_array().unwrap().is_empty());
    }

    async fn requests_without_a_valid_token_are_401(app: TestApp) {
        let (status, body) = send(app.client.get(app.url("/api/v1/groups"))).await;
        assert_eq!(status, 401);
        error_message(&body, "unauthenticated");
        let (status, _) = send(app.get("/api/v1/groups", "st_not-a-real-token")).await;
        assert_eq!(status, 401);

        let token = app.token("platform").await;
        let Some(id) = segment_service::auth::list_tokens(&app.db).await.unwrap().first().map(|t| t.id) else { panic!("token listed") };
        segment_service::auth::revoke_token(&app.db, id).await.unwrap();
        let (status, _) = send(app.get("/api/v1/groups", &token)).await;
        assert_eq!(status, 401, "a revoked token no longer works");
    }

    async fn invalid_names_are_400_with_a_message(app: TestApp) {
        let token = app.token("platform").await;
        for (name, expected) in [
            (json!(""), "Enter a group name."),
            (json!("   "), "Enter a group name."),
            (json!("x".repeat(65)), "Use at most 64 characters (this name has 65)."),
        ] {
            let (status, body) = send(app.post("/api/v1/groups", &token, json!({ "name": name }))).await;
            assert_eq!(status, 400);
            assert_eq!(error_message(&body, "validation"), expected);
            assert_eq!(body["error"]["field"], "name");
        }
        let (status, body) = send(app.post("/api/v1/groups", &token, json!({"title": "x"}))).await;
        assert_eq!(status, 400);
        assert!(error_message(&body, "validation").contains("name"), "{body}");
    }

    async fn duplicate_names_conflict_within_an_owner_only(app: TestApp) {
        let token = app.token("platform").await;
        let (status, _) = send(app.post("/api/v1/groups", &token, json!({"name": "Growth"}))).await;
        assert_eq!(status, 201);
        let (status, body) = send(app.post("/api/v1/groups", &token, json!({"name": "growth "}))).await;
        assert_eq!(status, 409);
        assert_eq!(error_message(&body, "conflict"), "A group named \"growth\" already exists.");

        let (_, other) = send(app.post("/api/v1/groups", &token, json!({"name": "Other"}))).await;
        let (status, _) = send(app.patch(&format!("/api/v1/groups/{}", other["id"]), &token, json!({"name": "GROWTH"}))).await;
        assert_eq!(status, 409, "renaming onto an existing name conflicts too");

        let merchant = app.token("merchant:M1").await;
        let (status, _) = send(app.post("/api/v1/groups", &merchant, json!({"name": "Growth"}))).await;
        assert_eq!(status, 201, "another owner may use the same name");
    }

    async fn deleting_a_group_that_holds_segments_is_refused_with_the_count(app: TestApp) {
        let token = app.token("platform").await;
        let (_, group) = send(app.post("/api/v1/groups", &token, json!({"name": "Busy"}))).await;
        let id = group["id"].as_i64().unwrap();
        for name in ["a", "b"] {
            segment_service::with_db!(&app.db, pool => {
                sqlx::query(
                    "INSERT INTO segments (owner_scope, name, group_id, target_object, method, definition,
                        update_frequency, usage_scenarios, time_zone, expires_at, time_sensitive, status,
                        created_by, created_at, updated_at)
                     VALUES ('platform', $1, $2, 'user', 'tag_filter', '{}', 'one_time', '', 'UTC', 0, FALSE,
                        'active', 'tests', 0, 0)",
                )
                .bind(name)
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
            });
        }
        let (status, body) = send(app.delete(&format!("/api/v1/groups/{id}"), &token)).await;
        assert_eq!(status, 409);
        assert_eq!(
            error_message(&body, "conflict"),
            "The group still holds 2 segments; delete them first."
        );
        let (_, list) = send(app.get("/api/v1/groups", &token)).await;
        assert_eq!(list["groups"][0]["segment_count"], 2);
    }

    async fn cross_site_writes_without_a_token_are_refused(app: TestApp) {
        let (status, body) = send(
            app.client
                .post(app.url("/api/v1/groups"))
                .header("Origin", "http://evil.example")
                .header("Cookie", "st_session=whatever")
                .json(&json!({"name": "x"})),
        )
        .await;
        assert_eq!(status, 403);
        error_message(&body, "forbidden");
    }
}
