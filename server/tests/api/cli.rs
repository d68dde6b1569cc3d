use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::*;

fn run_server(database_url: &str, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the server binary");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
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
        let users = app::auth::ssr::list_users(&app.db).await.unwrap();
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
}
