use app::auth::api::{ChangePassword, Login, Logout, ResetUserPassword, SetUserDisabled};
use leptos::server_fn::ServerFn;
use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use segment_contract::auth::Role;

use crate::helpers::*;

impl TestApp {
    /// Calls the login server function as the browser's form would.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.login_from(username, password, None).await
    }

    /// Logs in as a client at `address` behind the test's trusted proxy (`X-Forwarded-For`).
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(Login::PATH))
            .header("Origin", &self.address)
            .form(&[("username", username), ("password", password)]);
        if let Some(address) = address {
            request = request.header("X-Forwarded-For", address);
        }
        request.send().await.unwrap()
    }

    /// Calls a server function with a session, as the browser's form would.
    pub async fn call(&self, path: &str, session: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Origin", &self.address)
            .header("Cookie", session)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn session_cookie(&self, username: &str, password: &str) -> String {
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

    async fn parallel_guesses_get_no_more_checks_than_the_limit_and_the_owner_still_signs_in(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..30 {
            let (client, url, origin) = (app.client.clone(), app.url(Login::PATH), app.address.clone());
            attempts.spawn(async move {
                client.post(url).header("Origin", origin).header("X-Forwarded-For", "10.0.0.66")
                    .form(&[("username", "olivia"), ("password", "wrong")])
                    .send().await.unwrap().text().await.unwrap()
            });
        }
        let bodies = attempts.join_all().await;
        let checked = bodies.iter().filter(|b| b.contains("Wrong username or password.")).count();
        let refused = bodies.iter().filter(|b| b.contains("Too many failed sign-in attempts")).count();
        assert_eq!(checked, 5, "only 5 guesses were checked");
        assert_eq!(refused, 25);
        // The attacker's address stays refused, the owner from another address is not.
        let body = app.login_from("olivia", "correct horse", Some("10.0.0.66")).await.text().await.unwrap();
        assert!(body.contains("Too many failed sign-in attempts"), "{body}");
        let response = app.login_from("olivia", "correct horse", Some("10.0.0.7")).await;
        assert_eq!(response.status(), 200, "the right password from a clean address is never locked out");
        assert!(response.headers().get(SET_COOKIE).is_some());
    }

    async fn a_disabled_users_open_session_stops_working_and_they_cannot_sign_in(app: TestApp) {
        app.user("ada", "correct horse", Role::Admin, "platform").await;
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let admin = app.session_cookie("ada", "correct horse").await;
        let olivia = app.session_cookie("olivia", "correct horse").await;
        let olivia_id = segment_service::auth::find_user(&app.db, "olivia").await.unwrap().id.to_string();
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &olivia)).await;
        assert_eq!(status, 200);

        // Only an administrator may disable.
        let refused = app.call(SetUserDisabled::PATH, &olivia, &[("id", &olivia_id), ("disabled", "true")]).await;
        assert_eq!(refused.status(), 403);
        let response = app.call(SetUserDisabled::PATH, &admin, &[("id", &olivia_id), ("disabled", "true")]).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &olivia)).await;
        assert_eq!(status, 401, "the open session ended");
        let body = app.login("olivia", "correct horse").await.text().await.unwrap();
        assert!(body.contains("This account is disabled"), "{body}");
        let body = app.login("olivia", "wrong").await.text().await.unwrap();
        assert!(body.contains("Wrong username or password."), "a wrong password learns nothing more: {body}");

        // An administrator cannot disable themselves (nor the last administrator).
        let ada_id = segment_service::auth::find_user(&app.db, "ada").await.unwrap().id.to_string();
        let own = app.call(SetUserDisabled::PATH, &admin, &[("id", &ada_id), ("disabled", "true")]).await;
        assert_eq!(own.status(), 409);

        let response = app.call(SetUserDisabled::PATH, &admin, &[("id", &olivia_id), ("disabled", "false")]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(app.login("olivia", "correct horse").await.status(), 200);
    }

    async fn a_password_reset_by_an_admin_ends_the_users_sessions(app: TestApp) {
        app.user("ada", "correct horse", Role::Admin, "platform").await;
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let admin = app.session_cookie("ada", "correct horse").await;
        let olivia = app.session_cookie("olivia", "correct horse").await;
        let olivia_id = segment_service::auth::find_user(&app.db, "olivia").await.unwrap().id.to_string();
        let short = app.call(ResetUserPassword::PATH, &admin, &[("id", &olivia_id), ("password", "short")]).await;
        assert_eq!(short.status(), 400);
        let response = app.call(ResetUserPassword::PATH, &admin, &[("id", &olivia_id), ("password", "battery staple")]).await;
        assert_eq!(response.status(), 200);
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &olivia)).await;
        assert_eq!(status, 401);
        assert!(app.login("olivia", "correct horse").await.headers().get(SET_COOKIE).is_none());
        assert_eq!(app.login("olivia", "battery staple").await.status(), 200);
    }

    async fn changing_your_password_keeps_this_session_and_ends_the_others(app: TestApp) {
        app.user("olivia", "correct horse", Role::Operator, "platform").await;
        let here = app.session_cookie("olivia", "correct horse").await;
        let elsewhere = app.session_cookie("olivia", "correct horse").await;
        let wrong = app.call(ChangePassword::PATH, &here, &[("current_password", "nope nope"), ("new_password", "battery staple")]).await;
        assert_eq!(wrong.status(), 400);
        assert!(wrong.text().await.unwrap().contains("The current password is wrong."));
        let response = app.call(ChangePassword::PATH, &here, &[("current_password", "correct horse"), ("new_password", "battery staple")]).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &here)).await;
        assert_eq!(status, 200, "this session stays open");
        let (status, _) = send(app.client.get(app.url("/api/v1/groups")).header("Cookie", &elsewhere)).await;
        assert_eq!(status, 401, "the other one ended");
        assert_eq!(app.login("olivia", "battery staple").await.status(), 200);
    }

    async fn an_expired_token_is_refused(app: TestApp) {
        let scope = segment_contract::auth::Scope::Platform;
        let soon = chrono::Utc::now().timestamp_millis() + 60_000;
        let (id, token) = segment_service::auth::create_token(&app.db, "short-lived", &scope, "tests", Some(soon)).await.unwrap();
        let past = segment_service::auth::create_token(&app.db, "never", &scope, "tests", Some(1)).await;
        assert!(past.is_err(), "an expiry in the past is refused");
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
                .bind(chrono::Utc::now().timestamp_millis() - 1).bind(id).execute(pool).await.unwrap().rows_affected()
        });
        let (status, _) = send(app.get("/api/v1/groups", &token)).await;
        assert_eq!(status, 401);
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
                .form(&[("name", "delivery"), ("scope", "merchant:M1"), ("expires_in_days", "30")])
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
            segment_service::with_db!(&app.db, pool => {
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
