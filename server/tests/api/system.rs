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
        for expected in ["/api/v1/health", "/api/v1/groups", "/api/v1/groups/{id}"] {
            assert!(paths.contains_key(expected), "{expected} missing from the document");
        }
        let token = app.token("platform").await;
        for (path, item) in paths {
            let concrete = path.replace("{id}", "999999");
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
                    !(status == 404 && body["error"]["message"] == "The endpoint was not found."),
                    "{method} {path} is documented but not routed"
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
