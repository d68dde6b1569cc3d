use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::*;

fn run_server(database_url: &str, args: &[&str], stdin: &str) -> String {
    let (success, stdout, stderr) = try_server(database_url, args, stdin);
    assert!(success, "server {args:?} failed: {stderr}");
    stdout
}

/// Runs the binary; answers whether it succeeded, its stdout and its stderr.
fn try_server(database_url: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        // The test servers run without Spark; an inherited cluster address
        // would send every parallel CLI import into one shared Spark database.
        .env_remove("SPARK_CONNECT_URL")
        .env_remove("SPARK_DATABASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the server binary");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn read_tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for sub in ["", "entities", "profile", "behavior"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.push((
                    format!("{sub}/{}", entry.file_name().to_string_lossy()),
                    std::fs::read(entry.path()).unwrap(),
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn demo_data_is_deterministic_for_the_same_arguments() {
    let args = |dir: &std::path::Path, seed: &str| {
        let dir = dir.display().to_string();
        let output = run_server(
            "sqlite::memory:",
            &[
                "demo-data",
                "--out",
                &dir,
                "--users",
                "400",
                "--days",
                "9",
                "--seed",
                seed,
                "--end-date",
                "2024-08-04",
            ],
            "",
        );
        assert!(output.contains("400 users, 9 days ending 2024-08-04"), "{output}");
    };
    let (a, b, c) = (temp_dir("demo-a"), temp_dir("demo-b"), temp_dir("demo-c"));
    args(&a, "7");
    args(&b, "7");
    args(&c, "8");
    let (a, b, c) = (read_tree(&a), read_tree(&b), read_tree(&c));
    assert!(a.len() >= 20, "{:?}", a.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(a == b, "the same seed wrote different files");
    assert!(a != c, "another seed wrote the same files");
    let catalog = String::from_utf8(a.iter().find(|f| f.0 == "/catalog.json").unwrap().1.clone()).unwrap();
    for code in [
        "city_cross_border_ride",
        "v2_is_black_list",
        "v2_register_gmt_cn",
        "v2_trade_cnt_7d",
        "\"trade\"",
        "page_view",
        "merchant_gmv_30d",
        "store_rating",
    ] {
        assert!(catalog.contains(code), "the demo catalog lacks {code}");
    }
}

#[tokio::test]
async fn an_import_with_errors_exits_with_failure_and_lists_them() {
    let dir = temp_dir("bad-import");
    std::fs::create_dir_all(dir.join("profile")).unwrap();
    std::fs::write(dir.join("catalog.json"), r#"{"tags": [{"code": "age", "name": "Age", "target_object": "user", "kind": "profile", "data_type": "number"}]}"#).unwrap();
    std::fs::write(
        dir.join("profile/p.csv"),
        "entity_id,date,tag,value\nU1,2024-08-04,age,old\nU2,2024-8-4,age,3\n",
    )
    .unwrap();
    let url = fresh_database_url(Backend::Sqlite).await;
    let dir_text = dir.display().to_string();
    let (success, _, stderr) =
        tokio::task::spawn_blocking(move || try_server(&url, &["import", &dir_text], ""))
            .await
            .unwrap();
    assert!(!success);
    assert!(
        stderr.contains("profile/p.csv:2: \"old\" is not a number for age"),
        "{stderr}"
    );
    assert!(stderr.contains("profile/p.csv:3: bad date"), "{stderr}");
    assert!(
        stderr.contains("rejected with 2 error(s); nothing was written"),
        "{stderr}"
    );
}

both_backends! {
    async fn create_token_prints_a_working_token_on_its_last_line(app: TestApp) {
        let url = app.database_url.clone();
        let output = tokio::task::spawn_blocking(move || {
            run_server(&url, &["create-token", "--name", "delivery", "--scope", "merchant:M7"], "")
        })
        .await
        .unwrap();
        let token = output.lines().last().unwrap().trim().to_string();
        assert!(token.starts_with("st_"), "{output}");
        let (status, body) = send(app.post("/api/v1/groups", &token, serde_json::json!({"name": "From CLI"}))).await;
        assert_eq!(status, 201);
        assert_eq!(body["owner_scope"], "merchant:M7");
    }

    async fn create_user_reads_the_password_from_stdin(app: TestApp) {
        let url = app.database_url.clone();
        let output = tokio::task::spawn_blocking(move || {
            run_server(&url, &["create-user", "--username", "sam", "--role", "store_manager", "--stores", "S2,S1"], "s3cret-pass\n")
        })
        .await
        .unwrap();
        assert!(output.contains("created user sam"), "{output}");
        let users = segment_service::auth::list_users(&app.db).await.unwrap();
        let sam = users.iter().find(|u| u.username == "sam").unwrap();
        assert_eq!(sam.scope.to_string(), "store:S1,S2");
        let response = app
            .client
            .post(app.url(<app::auth::api::Login as leptos::server_fn::ServerFn>::PATH))
            .header("Origin", &app.address)
            .form(&[("username", "sam"), ("password", "s3cret-pass")])
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("set-cookie").is_some(), "the stdin password signs in");
    }

    async fn set_password_and_disable_user_end_the_users_sessions(app: TestApp) {
        app.user("sam", "first-password", segment_contract::auth::Role::Operator, "platform").await;
        let session = app.session_cookie("sam", "first-password").await;
        let groups = |cookie: String| app.client.get(app.url("/api/v1/groups")).header("Cookie", cookie).send();
        assert_eq!(groups(session.clone()).await.unwrap().status(), 200);

        let url = app.database_url.clone();
        let output = tokio::task::spawn_blocking(move || {
            run_server(&url, &["set-password", "--username", "sam"], "second-password\n")
        }).await.unwrap();
        assert!(output.contains("set the password of sam"), "{output}");
        assert_eq!(groups(session).await.unwrap().status(), 401, "the old session ended");
        let session = app.session_cookie("sam", "second-password").await;

        let url = app.database_url.clone();
        let output = tokio::task::spawn_blocking(move || run_server(&url, &["disable-user", "--username", "sam"], "")).await.unwrap();
        assert!(output.contains("disabled sam"), "{output}");
        assert_eq!(groups(session).await.unwrap().status(), 401);
        let body = app.login("sam", "second-password").await.text().await.unwrap();
        assert!(body.contains("This account is disabled"), "{body}");

        let url = app.database_url.clone();
        tokio::task::spawn_blocking(move || run_server(&url, &["disable-user", "--username", "sam", "--enable"], "")).await.unwrap();
        assert_eq!(app.login("sam", "second-password").await.status(), 200);

        let url = app.database_url.clone();
        let (ok, _, stderr) = tokio::task::spawn_blocking(move || try_server(&url, &["set-password", "--username", "nobody"], "whatever-1\n")).await.unwrap();
        assert!(!ok && stderr.contains("nobody"), "{stderr}");
    }

    async fn imported_demo_data_reaches_a_running_server(app: TestApp) {
        let dir = temp_dir("demo-import");
        let (url, dir_text) = (app.database_url.clone(), dir.display().to_string());
        let output = tokio::task::spawn_blocking(move || {
            run_server(&url, &["demo-data", "--out", &dir_text, "--users", "300", "--days", "10", "--end-date", "2024-08-04"], "");
            let (success, stdout, stderr) = try_server(&url, &["import", &dir_text], "");
            assert!(success, "{stderr}");
            assert!(stderr.contains("behavior/trade.csv") && stderr.contains("done"), "progress is shown: {stderr}");
            stdout
        })
        .await
        .unwrap();
        assert!(output.contains("23 tags defined"), "{output}");
        let token = app.token("platform").await;
        let (_, body) = send(app.get("/api/v1/tags?target=user", &token)).await;
        assert_eq!(body["tags"].as_array().unwrap().len(), 16, "{body}");
        // The running server loads the import without a restart.
        let rule = serde_json::json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -9, "to": 0}, "count": {"op": "gte", "value": 1}}]}]});
        let mut size = serde_json::Value::Null;
        for _ in 0..100 {
            let (status, body) = send(app.post("/api/v1/segments/estimate", &token,
                serde_json::json!({"target_object": "user", "rule": rule, "as_of": "2024-08-04"}))).await;
            if status == 200 {
                size = body["size"].clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let size = size.as_u64().expect("an estimate");
        assert!(size > 30 && size < 300, "some but not all 300 users traded in 10 days: {size}");
    }
}
