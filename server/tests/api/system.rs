use crate::helpers::*;

both_backends! {
    async fn health_reports_the_backend_in_use(app: TestApp) {
        let (status, body) = send(app.client.get(app.url("/api/v1/health"))).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "ok");
        let version = body["database_version"].as_str().unwrap();
        match app.backend {
            // The proof that this variant really ran on a PostgreSQL server.
            Backend::Postgres => {
                assert_eq!(body["database"], "postgres");
                assert!(version.starts_with("PostgreSQL"), "{version}");
                assert!(app.database_url.starts_with("postgres://"));
            }
            Backend::Sqlite => {
                assert_eq!(body["database"], "sqlite");
                assert!(version.starts_with("SQLite"), "{version}");
            }
        }
    }

    async fn openapi_describes_every_route_and_each_answers(app: TestApp) {
        let (status, doc) = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let paths = doc["paths"].as_object().unwrap();
        for expected in [
            "/api/v1/health", "/api/v1/groups", "/api/v1/groups/{id}", "/api/v1/segments", "/api/v1/segments/{id}",
            "/api/v1/segments/{id}/members/{entity_id}", "/api/v1/segments/{id}/members/check",
            "/api/v1/segments/{id}/bindings", "/api/v1/segments/{id}/bindings/{task_id}", "/api/v1/segments/{id}/extend",
            "/api/v1/segments/{id}/exports", "/api/v1/exports/{id}", "/api/v1/exports/{id}/download",
            "/api/v1/warehouse/tables", "/api/v1/warehouse/tables/{table}",
        ] {
            assert!(paths.contains_key(expected), "{expected} missing from the document");
        }
        // Every reference names a schema the document defines.
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut pending = vec![&doc];
        while let Some(node) = pending.pop() {
            match node {
                serde_json::Value::Object(map) => {
                    if let Some(reference) = map.get("$ref").and_then(|r| r.as_str()) {
                        let name = reference.strip_prefix("#/components/schemas/").expect("local schema reference");
                        assert!(schemas.contains_key(name), "dangling reference {reference}");
                    }
                    pending.extend(map.values());
                }
                serde_json::Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} has no responses");
            }
        }
        let token = app.token("platform").await;
        for (path, item) in paths {
            let concrete = path
                .replace("{id}", "999999")
                .replace("{entity_id}", "U1")
                .replace("{task_id}", "task-1")
                .replace("{table}", "orders");
            for method in item.as_object().unwrap().keys() {
                let request = app
                    .client
                    .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"name": "x"}));
                let response = request.send().await.unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                // A route that does not exist answers our own not-found for "The endpoint".
                assert!(
                    !(status == 404 && body["error"]["message"] == "The endpoint was not found.")
                        && status != 405,
                    "{method} {path} is documented but not routed ({status})"
                );
            }
        }
    }

    async fn unknown_api_paths_answer_in_the_error_format(app: TestApp) {
        let token = app.token("platform").await;
        let (status, body) = send(app.get("/api/v1/nothing-here", &token)).await;
        assert_eq!(status, 404);
        error_message(&body, "not_found");
    }
}
