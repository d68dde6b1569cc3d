//! Resource isolation and request hygiene: bodies bounded everywhere, the
//! engine's deadline, per-principal limits on uploads and exports, old
//! uploads removed, and the security headers of pages and the API.

use std::time::Duration;

use app::auth::api::Login;
use leptos::server_fn::ServerFn;
use segment_contract::auth::{Principal, Scope, Subject};
use segment_contract::ids::SegmentId;
use segment_service::state::AppState;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::isolation::{active, import_tenants};

fn shenzhen() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}
    ]}]})
}

fn principal(id: i64, scope: Scope) -> Principal {
    Principal {
        subject: Subject::User {
            id,
            username: format!("user{id}"),
        },
        role: scope.token_role(),
        scope,
    }
}

both_backends! {
    async fn oversized_bodies_answer_413_everywhere(app: TestApp) {
        let token = app.token("platform").await;
        let big = 3usize << 20;
        // The API: refused on the declared length, before the body is sent.
        let head = format!(
            "POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {big}\r\n\r\n"
        );
        let (status, body) = raw_exchange(&app, &head, None).await;
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("\"too_large\""), "{body}");
        // A server function (sign-in), declared length and chunked.
        let origin = app.address.clone();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {big}\r\n\r\n",
            Login::PATH
        );
        assert_eq!(raw_exchange(&app, &head, None).await.0, 413);
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
            Login::PATH
        );
        assert_eq!(raw_exchange(&app, &head, Some(big)).await.0, 413);
    }

    async fn pages_and_answers_carry_the_security_headers(app: TestApp) {
        let page = app.client.get(app.url("/login")).send().await.unwrap();
        let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"), "{policy}");
        let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_string();
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's inline scripts carry the policy's nonce");
        let again = app.client.get(app.url("/login")).send().await.unwrap();
        assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(&nonce), "a nonce per response");

        let api = app.client.get(app.url("/api/v1/health")).send().await.unwrap();
        assert_eq!(api.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    }

    async fn an_estimate_past_its_deadline_answers_503(app: TestApp) {
        let url = app.database_url.clone();
        drop(app);
        let app = TestApp::spawn_configured(
            if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite },
            url,
            |config| config.estimate_deadline = Duration::ZERO,
        ).await;
        import_tenants_unchecked(&app).await;
        let token = app.token("platform").await;
        let mut last = Value::Null;
        for _ in 0..100 {
            let (status, body) = send(app.post("/api/v1/segments/estimate", &token,
                json!({"target_object": "user", "rule": shenzhen()}))).await;
            if status == 503 && body["error"]["code"] == "timeout" {
                assert!(body["error"]["message"].as_str().unwrap().contains("did not finish"), "{body}");
                return;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no deadline answer: {last}");
    }

    async fn one_principal_may_have_two_uploads_in_progress(app: TestApp) {
        import_tenants(&app).await;
        let token = app.token("platform").await;
        let other = app.token("merchant:M1").await;
        // Two uploads that stay open until their senders are dropped.
        let mut senders = Vec::new();
        let mut pending = Vec::new();
        for _ in 0..2 {
            let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(1);
            sender.send(Ok("entity_id\nU1\n".into())).await.unwrap();
            senders.push(sender);
            let stream = futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|x| (x, r)) });
            pending.push(tokio::spawn(app.client.post(app.url("/api/v1/uploads")).bearer_auth(&token)
                .body(reqwest::Body::wrap_stream(stream)).send()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let third = app.client.post(app.url("/api/v1/uploads")).bearer_auth(&token).body("entity_id\nU2\n").send().await.unwrap();
        assert_eq!(third.status(), 429);
        assert!(third.text().await.unwrap().contains("You have 2 uploads in progress"));
        let elsewhere = app.client.post(app.url("/api/v1/uploads")).bearer_auth(&other).body("entity_id\nU2\n").send().await.unwrap();
        assert_eq!(elsewhere.status(), 201, "another principal is not held back");
        drop(senders);
        for upload in pending {
            assert_eq!(upload.await.unwrap().unwrap().status(), 201);
        }
        let fourth = app.client.post(app.url("/api/v1/uploads")).bearer_auth(&token).body("entity_id\nU2\n").send().await.unwrap();
        assert_eq!(fourth.status(), 201, "slots come back");
    }

    async fn one_principal_may_have_five_exports_waiting(app: TestApp) {
        // The service on a database no exporter runs on: nothing finishes meanwhile.
        let db = fresh_database(app.backend).await;
        let id: i64 = segment_service::with_db!(&db, pool => {
            sqlx::query_scalar(
                "INSERT INTO segments (owner_scope, name, target_object, method, definition, update_frequency,
                    usage_scenarios, time_zone, expires_at, time_sensitive, status, size, created_by, created_at,
                    updated_at, current_run_id)
                 VALUES ('platform', 'Exported', 'user', 'custom_list', '{\"method\":\"custom_list\",\"upload_id\":1}',
                    'one_time', '[]', 'UTC', 4102444800000, FALSE, 'active', 2, 'tests', 0, 0, 1) RETURNING id",
            )
            .fetch_one(pool).await.unwrap()
        });
        let state = AppState::new(db);
        let alice = principal(1, Scope::Platform);
        for _ in 0..5 {
            segment_service::segments::exports::request(&state, &alice, SegmentId(id)).await.unwrap();
        }
        let refused = segment_service::segments::exports::request(&state, &alice, SegmentId(id)).await.unwrap_err();
        assert!(matches!(refused, segment_contract::error::AppError::RateLimited(ref m) if m.contains("5 exports waiting")), "{refused:?}");
        let bob = principal(2, Scope::Platform);
        assert!(segment_service::segments::exports::request(&state, &bob, SegmentId(id)).await.is_ok(), "another principal is not held back");
    }

    async fn uploads_no_segment_uses_are_removed_after_the_retention(app: TestApp) {
        import_tenants(&app).await;
        let token = app.token("platform").await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let (status, body) = send(app.client.post(app.url("/api/v1/uploads")).bearer_auth(&token).body("entity_id\nU1\n")).await;
            assert_eq!(status, 201);
            ids.push(body["upload_id"].as_i64().unwrap());
        }
        active(&app, &token, json!({
            "name": "Listed", "target_object": "user", "update_frequency": "one_time",
            "usage_scenarios": ["insight_analysis"], "time_zone": "UTC", "expires_at": "2030-01-01 00:00",
            "definition": {"method": "custom_list", "upload_id": ids[0]}})).await;
        let now = chrono::Utc::now().timestamp_millis();
        segment_service::with_db!(&app.db, pool => {
            sqlx::query("UPDATE uploads SET created_at = $1 WHERE id <> $2").bind(now - 2 * 86_400_000).bind(ids[2]).execute(pool).await.unwrap().rows_affected()
        });
        let removed = segment_service::segments::uploads::sweep(&app.db, Duration::from_secs(86_400), now).await.unwrap();
        assert_eq!(removed, 1, "the old unused upload only");
        for (id, kept) in [(ids[0], true), (ids[1], false), (ids[2], true)] {
            let (status, _) = send(app.get(&format!("/api/v1/uploads/{id}"), &token)).await;
            assert_eq!(status == 200, kept, "upload {id}");
        }
    }
}

/// Imports the tenant dataset without waiting for estimates (they may be refused).
async fn import_tenants_unchecked(app: &TestApp) {
    segment_service::tags::import::import_dir(&app.db, &crate::isolation::tenant_dataset(), Box::new(|_| {}))
        .await
        .unwrap();
}

/// Sends `head` on a raw connection, then (when given) `chunked` bytes of a
/// chunked body while reading; answers the response's status and text. A
/// client library would fail writing a body the server refused to read.
async fn raw_exchange(app: &TestApp, head: &str, chunked: Option<usize>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = tokio::spawn(async move {
        if let Some(total) = chunked {
            let chunk = vec![b'a'; 64 << 10];
            let mut sent = 0;
            while sent < total {
                let frame = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk.clone(),
                    b"\r\n".to_vec(),
                ]
                .concat();
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = writer.write_all(b"0\r\n\r\n").await;
        }
        // Keep the write half open until the answer is read.
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&answer);
                if let Some((headers, body)) = text.split_once("\r\n\r\n")
                    && let Some(length) = headers.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_string)
                    })
                    && body.len() >= length.trim().parse::<usize>().unwrap_or(0)
                {
                    break;
                }
            }
        }
    }
    writing.abort();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
