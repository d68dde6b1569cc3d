use app::auth::Role;
use app::auth::api::{Login, Logout};
use leptos::server_fn::ServerFn;
use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};

use crate::helpers::*;

impl TestApp {
    /// Calls the login server function as the browser's form would.
    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url(Login::PATH))
            .header("Origin", &self.address)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    async fn session_cookie(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        cookie.split(';').next().unwrap().to_string()
    }
}

both_backends! {
    async fn login_sets_an_http_only_cookie_that_opens_pages_and_the_api(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let response = app.login("olivia", "correct horse").await;
        assert_eq!(response.status(), 200);
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.starts_with("st_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age="), "{cookie}");
        let session = cookie.split(';').next().unwrap();

        let page = app.client.get(app.url("/segments/groups")).header("Cookie", session).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
        let html = page.text().await.unwrap();
        assert!(html.contains("Manage Groups") && html.contains("olivia"), "the page shows the signed-in user");

        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", session)).await;
        assert_eq!(status, 200, "the session also authenticates API calls");
    }

    async fn wrong_credentials_are_refused_with_a_clear_message(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        for (username, password) in [("olivia", "wrong"), ("nobody", "correct horse")] {
            let response = app.login(username, password).await;
            assert!(response.headers().get(SET_COOKIE).is_none());
            let body = response.text().await.unwrap();
            assert!(body.contains("Wrong username or password."), "{body}");
        }
    }

    async fn repeated_failures_lock_the_account_for_a_while(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        for _ in 0..5 {
            let body = app.login("olivia", "wrong").await.text().await.unwrap();
            assert!(body.contains("Wrong username or password."));
        }
        let response = app.login("olivia", "correct horse").await;
        assert!(response.headers().get(SET_COOKIE).is_none(), "even the right password waits");
        let body = response.text().await.unwrap();
        assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    }

    async fn pages_send_anonymous_visitors_to_login(app: TestApp) {
        let response = app.client.get(app.url("/segments/groups")).send().await.unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], "/login?next=/segments/groups");
        let login = app.client.get(app.url("/login")).send().await.unwrap();
        assert_eq!(login.status(), 200);
        assert!(login.text().await.unwrap().contains("Sign in"));
    }

    async fn logout_ends_the_session(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let session = app.session_cookie("olivia", "correct horse").await;
        let response = app
            .client
            .post(app.url(Logout::PATH))
            .header("Origin", &app.address)
            .header("Cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));

        let page = app.client.get(app.url("/segments")).header("Cookie", &session).send().await.unwrap();
        assert_eq!(page.status(), 303, "the old cookie no longer opens pages");
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &session)).await;
        assert_eq!(status, 401);
    }

    async fn session_writes_need_a_same_origin_request(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let session = app.session_cookie("olivia", "correct horse").await;
        let body = serde_json::json!({"name": "Growth"});
        let (status, _) = send(app.client.post(app.url("/api/v1/groups")).header("Cookie", &session).json(&body)).await;
        assert_eq!(status, 403, "no Origin or Referer");
        let (status, _) = send(
            app.client.post(app.url("/api/v1/groups")).header("Cookie", &session).header("Origin", &app.address).json(&body),
        )
        .await;
        assert_eq!(status, 201);
    }

    async fn only_admins_manage_tokens(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        app.user("ada", "correct horse", Role::Admin, "platform").await;
        let operator = app.session_cookie("olivia", "correct horse").await;
        let admin = app.session_cookie("ada", "correct horse").await;
        let create = |session: String| {
            app.client
                .post(app.url(app::auth::api::CreateToken::PATH))
                .header("Origin", &app.address)
                .header("Cookie", session)
                .form(&[("name", "delivery"), ("scope", "merchant:M1")])
                .send()
        };
        let refused = create(operator).await.unwrap().text().await.unwrap();
        assert!(refused.contains("Forbidden"), "{refused}");
        let created: serde_json::Value = create(admin).await.unwrap().json().await.unwrap();
        let token = created["token"].as_str().unwrap();
        assert!(token.starts_with("st_"));
        let (status, _) = send(app.get("/api/v1/groups", token)).await;
        assert_eq!(status, 200);
    }

    async fn a_tokens_last_use_is_recorded_without_holding_up_the_request(app: TestApp) {
        let token = app.token("platform").await;
        let last_used = || async {
            app::with_db!(&app.db, pool => {
                sqlx::query_scalar::<_, Option<i64>>("SELECT last_used_at FROM api_tokens")
                    .fetch_one(pool).await.unwrap()
            })
        };
        assert_eq!(last_used().await, None);
        let before = chrono::Utc::now().timestamp_millis();
        let (status, _) = send(app.get("/api/v1/groups", &token)).await;
        assert_eq!(status, 200);
        for _ in 0..100 {
            if let Some(at) = last_used().await {
                assert!(at >= before, "{at} < {before}");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the token's last use was never recorded");
    }
}
