//! Every endpoint × every kind of principal, with the expected outcome for
//! objects of the caller's own scope, of another tenant and of the platform.
//! The routes come from the OpenAPI document and the server functions from
//! the registry of the running server: one missing from the tables below
//! fails the test, so a new endpoint cannot skip it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

use leptos::server_fn::ServerFn;
use reqwest::Method;
use segment_contract::auth::Role;
use serde_json::{Value, json};
use server::api::{Access, server_functions};

use crate::helpers::*;
use crate::isolation::{active, import_tenants};

/// The kinds of principal every endpoint is called as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    AdminSession,
    OperatorToken,
    MerchantA,
    MerchantB,
    StoreManager,
}

const EVERYONE: [Who; 6] = [
    Who::Anonymous,
    Who::AdminSession,
    Who::OperatorToken,
    Who::MerchantA,
    Who::MerchantB,
    Who::StoreManager,
];

/// Whose an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Platform,
    MerchantA,
    MerchantB,
    Store,
}

const OWNERS: [Owner; 4] = [Owner::Platform, Owner::MerchantA, Owner::MerchantB, Owner::Store];

impl Who {
    fn is_platform(self) -> bool {
        matches!(self, Who::AdminSession | Who::OperatorToken)
    }

    /// Whether this principal may see an object of `owner`.
    fn sees(self, owner: Owner) -> bool {
        match self {
            Who::Anonymous => false,
            Who::AdminSession | Who::OperatorToken => true,
            Who::MerchantA => owner == Owner::MerchantA,
            Who::MerchantB => owner == Owner::MerchantB,
            Who::StoreManager => owner == Owner::Store,
        }
    }

    /// A distinct client address per principal, so the sign-in limiter of one does not refuse another.
    fn address(self) -> &'static str {
        match self {
            Who::Anonymous => "10.9.0.1",
            Who::AdminSession => "10.9.0.2",
            Who::OperatorToken => "10.9.0.3",
            Who::MerchantA => "10.9.0.4",
            Who::MerchantB => "10.9.0.5",
            Who::StoreManager => "10.9.0.6",
        }
    }
}

/// How a request body is sent.
enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Csv(&'static str),
}

struct World {
    app: TestApp,
    admin_session: String,
    tokens: HashMap<Who, String>,
    owners: HashMap<Owner, String>,
    victim_id: i64,
    counter: AtomicU32,
    /// The admin's password: changed once by the matrix's call of `change_password`.
    admin_password: std::sync::Mutex<String>,
}

impl World {
    fn unique(&self, prefix: &str) -> String {
        format!("{prefix} {}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    fn owner_token(&self, owner: Owner) -> &str {
        &self.owners[&owner]
    }

    async fn send(&self, who: Who, method: Method, path: &str, body: Body) -> (u16, String) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .header("Origin", &self.app.address)
            .header("X-Forwarded-For", who.address());
        request = match who {
            Who::Anonymous => request,
            Who::AdminSession => request.header("Cookie", &self.admin_session),
            other => request.bearer_auth(&self.tokens[&other]),
        };
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Form(pairs) => request.form(&pairs),
            Body::Csv(text) => request.body(text),
        };
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    async fn segment(&self, owner: Owner) -> i64 {
        active(
            &self.app,
            self.owner_token(owner),
            segment_body(&self.unique("Segment")),
        )
        .await
    }

    /// A segment that need not be Active (to be deleted).
    async fn throwaway_segment(&self, owner: Owner) -> i64 {
        let (status, created) = send(self.app.post(
            "/api/v1/segments",
            self.owner_token(owner),
            segment_body(&self.unique("Throwaway")),
        ))
        .await;
        assert_eq!(status, 202, "{created}");
        created["id"].as_i64().unwrap()
    }

    async fn group(&self, owner: Owner) -> i64 {
        let (status, group) = send(self.app.post(
            "/api/v1/groups",
            self.owner_token(owner),
            json!({"name": self.unique("Group")}),
        ))
        .await;
        assert_eq!(status, 201, "{group}");
        group["id"].as_i64().unwrap()
    }

    async fn binding(&self, owner: Owner, segment: i64) -> String {
        let task = self.unique("task").replace(' ', "-");
        let (status, body) = send(self.app.post(
            &format!("/api/v1/segments/{segment}/bindings"),
            self.owner_token(owner),
            json!({"task_id": task, "name": "Campaign", "ends_at": "2029-12-31 00:00"}),
        ))
        .await;
        assert_eq!(status, 201, "{body}");
        task
    }

    async fn export(&self, owner: Owner, segment: i64) -> i64 {
        let token = self.owner_token(owner);
        let (status, export) = send(self.app.post(
            &format!("/api/v1/segments/{segment}/exports"),
            token,
            json!({}),
        ))
        .await;
        assert_eq!(status, 202, "{export}");
        let id = export["id"].as_i64().unwrap();
        for _ in 0..200 {
            let (_, current) = send(self.app.get(&format!("/api/v1/exports/{id}"), token)).await;
            if current["status"] == "done" {
                return id;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("export {id} never finished");
    }

    async fn upload(&self, owner: Owner) -> i64 {
        let response = self
            .app
            .client
            .post(self.app.url("/api/v1/uploads"))
            .bearer_auth(self.owner_token(owner))
            .body("entity_id\nU1\n")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["upload_id"]
            .as_i64()
            .unwrap()
    }
}

fn segment_body(name: &str) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["insight_analysis"], "time_zone": "Asia/Shanghai", "expires_at": "2030-01-31 23:59",
        "definition": {"method": "tag_filter", "rule": rule()}
    })
}

fn rule() -> Value {
    json!({"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen", "Guangzhou"]}
    ]}]})
}

/// The objects each owner has, shared by the calls that only read them.
struct Objects {
    segment: i64,
    /// Another Active segment of the same owner, to overlap with `segment`.
    other_segment: i64,
    group: i64,
    binding: String,
    export: i64,
    upload: i64,
}

/// What an object route does to its object, and so what it needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Segment,
    /// The segment is deleted by an allowed call: a fresh one each time.
    FreshSegment,
    Group,
    FreshGroup,
    Export,
    Upload,
    /// A binding released by an allowed call: a fresh one each time.
    FreshBinding,
}

/// The status an allowed caller gets, and a refused one.
fn expected(who: Who, allowed: bool, ok: u16, refused: u16) -> u16 {
    if who == Who::Anonymous {
        401
    } else if allowed {
        ok
    } else {
        refused
    }
}

/// The outcome of each (method, path) of the OpenAPI document for `who`;
/// object routes are called once per owner. Answers the statuses seen.
async fn call_route(
    world: &World,
    objects: &HashMap<Owner, Objects>,
    method: &str,
    path: &str,
    who: Who,
) -> Vec<String> {
    let mut failures = Vec::new();
    let check = |failures: &mut Vec<String>, what: String, got: (u16, String), want: u16| {
        if got.0 != want {
            failures.push(format!(
                "{what} as {who:?}: got {} want {want}: {}",
                got.0,
                got.1.chars().take(200).collect::<String>()
            ));
        }
    };
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let signed_in = |ok| expected(who, true, ok, ok);
    // Routes without an object.
    let simple: Option<(u16, Body)> = match (method, path) {
        ("get", "/api/v1/health" | "/api/v1/openapi.json" | "/api/v1/uploads/template.csv") => {
            let (status, body) = world.send(who, m.clone(), path, Body::None).await;
            check(&mut failures, format!("{method} {path}"), (status, body), 200);
            return failures;
        }
        (
            "get",
            "/api/v1/groups"
            | "/api/v1/segments"
            | "/api/v1/deleted-segments"
            | "/api/v1/exports"
            | "/api/v1/tags",
        ) => Some((signed_in(200), Body::None)),
        ("post", "/api/v1/groups") => Some((
            signed_in(201),
            Body::Json(json!({"name": world.unique("New group")})),
        )),
        ("post", "/api/v1/segments/estimate") => Some((
            signed_in(200),
            Body::Json(json!({"target_object": "user", "rule": rule()})),
        )),
        ("post", "/api/v1/segments") => {
            Some((signed_in(202), Body::Json(segment_body(&world.unique("Created")))))
        }
        ("post", "/api/v1/uploads") => Some((signed_in(201), Body::Csv("entity_id\nU1\n"))),
        ("get", "/api/v1/warehouse/tables") => Some((expected(who, who.is_platform(), 200, 403), Body::None)),
        ("post", "/api/v1/segments/overlap") => {
            for owner in OWNERS {
                let shared = &objects[&owner];
                let body = Body::Json(json!({"segment_ids": [shared.segment, shared.other_segment]}));
                let got = world.send(who, m.clone(), path, body).await;
                check(
                    &mut failures,
                    format!("{method} {path} of {owner:?}'s"),
                    got,
                    expected(who, who.sees(owner), 200, 404),
                );
            }
            return failures;
        }
        ("get", "/api/v1/warehouse/tables/{table}") => {
            let (status, body) = world
                .send(who, m.clone(), "/api/v1/warehouse/tables/orders", Body::None)
                .await;
            check(
                &mut failures,
                format!("{method} {path}"),
                (status, body),
                expected(who, who.is_platform(), 200, 403),
            );
            return failures;
        }
        _ => None,
    };
    if let Some((want, body)) = simple {
        let got = world.send(who, m, path, body).await;
        check(&mut failures, format!("{method} {path}"), got, want);
        return failures;
    }
    // Routes on an object, once per owner.
    let (needs, ok, body): (Needs, u16, fn() -> Body) = match (method, path) {
        ("get", "/api/v1/segments/{id}") => (Needs::Segment, 200, || Body::None),
        ("delete", "/api/v1/segments/{id}") => (Needs::FreshSegment, 204, || Body::None),
        ("get", "/api/v1/segments/{id}/members/{entity_id}") => (Needs::Segment, 200, || Body::None),
        ("post", "/api/v1/segments/{id}/members/check") => {
            (Needs::Segment, 200, || Body::Json(json!({"ids": ["U1", "U4"]})))
        }
        ("post", "/api/v1/segments/{id}/bindings") => (Needs::Segment, 201, || {
            static TASK: AtomicU32 = AtomicU32::new(0);
            let n = TASK.fetch_add(1, Ordering::Relaxed);
            Body::Json(
                json!({"task_id": format!("matrix-{n}"), "name": "Matrix", "ends_at": "2029-12-31 00:00"}),
            )
        }),
        ("delete", "/api/v1/segments/{id}/bindings/{task_id}") => (Needs::FreshBinding, 204, || Body::None),
        ("post", "/api/v1/segments/{id}/extend") => (Needs::Segment, 200, || {
            Body::Json(json!({"expires_at": "2030-01-31 23:59"}))
        }),
        ("post", "/api/v1/segments/{id}/insights") => (Needs::Segment, 200, || Body::Json(json!({}))),
        ("post", "/api/v1/segments/{id}/verify") => {
            (Needs::Segment, 200, || Body::Json(json!({"ids": ["U1"]})))
        }
        ("post", "/api/v1/segments/{id}/exports") => (Needs::Segment, 202, || Body::None),
        ("patch", "/api/v1/groups/{id}") => (Needs::Group, 200, || {
            static NAME: AtomicU32 = AtomicU32::new(0);
            Body::Json(json!({"name": format!("Renamed {}", NAME.fetch_add(1, Ordering::Relaxed))}))
        }),
        ("delete", "/api/v1/groups/{id}") => (Needs::FreshGroup, 204, || Body::None),
        ("get", "/api/v1/exports/{id}" | "/api/v1/exports/{id}/download") => {
            (Needs::Export, 200, || Body::None)
        }
        ("get", "/api/v1/uploads/{id}" | "/api/v1/uploads/{id}/report.csv") => {
            (Needs::Upload, 200, || Body::None)
        }
        _ => {
            failures.push(format!(
                "{method} {path} is not in the matrix: add its expected outcomes"
            ));
            return failures;
        }
    };
    for owner in OWNERS {
        let allowed = who.sees(owner);
        let shared = &objects[&owner];
        // A fresh object only where the call would consume it.
        let (id, task) = match needs {
            Needs::FreshSegment if allowed => (world.throwaway_segment(owner).await, None),
            Needs::FreshGroup if allowed => (world.group(owner).await, None),
            Needs::FreshBinding if allowed => {
                (shared.segment, Some(world.binding(owner, shared.segment).await))
            }
            Needs::Segment | Needs::FreshSegment => (shared.segment, None),
            Needs::FreshBinding => (shared.segment, Some(shared.binding.clone())),
            Needs::Group | Needs::FreshGroup => (shared.group, None),
            Needs::Export => (shared.export, None),
            Needs::Upload => (shared.upload, None),
        };
        let concrete = path
            .replace("{id}", &id.to_string())
            .replace("{entity_id}", "U1")
            .replace("{task_id}", task.as_deref().unwrap_or(""));
        let got = world.send(who, m.clone(), &concrete, body()).await;
        check(
            &mut failures,
            format!("{method} {path} on {owner:?}'s"),
            got,
            expected(who, allowed, ok, 404),
        );
    }
    failures
}

/// A server function's arguments; `None` when it needs an object of `owner`'s.
async fn call_function(
    world: &World,
    objects: &HashMap<Owner, Objects>,
    path: &str,
    who: Who,
) -> Vec<String> {
    use app::auth::api::*;
    use app::groups::api::*;
    use app::segments::api::*;
    use app::tags::api::*;
    use app::warehouse::api::*;

    let mut failures = Vec::new();
    let access = server_functions()
        .into_iter()
        .find(|(p, _)| *p == path)
        .map(|(_, a)| a);
    let Some(access) = access else {
        failures.push(format!(
            "server function {path} is not in server::api::server_functions()"
        ));
        return failures;
    };
    let form = |pairs: &[(&str, String)]| {
        Body::Form(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    };
    let allowed_by_role = match access {
        Access::Anyone => true,
        Access::SignedIn => who != Who::Anonymous,
        Access::User => who == Who::AdminSession,
        Access::Platform => who.is_platform(),
        Access::Admin => who == Who::AdminSession,
    };
    let refused_by_role = if access == Access::Anyone { 200 } else { 403 };
    let unauthenticated = |want: u16| {
        if who == Who::Anonymous && access != Access::Anyone {
            401
        } else {
            want
        }
    };

    // Functions without an object.
    let simple: Option<(u16, Body)> = if path == Login::PATH {
        Some((
            400,
            form(&[
                ("username", "nobody".into()),
                ("password", "wrong password".into()),
            ]),
        ))
    } else if path == Logout::PATH || path == CurrentPrincipal::PATH {
        Some((200, form(&[])))
    } else if path == ChangePassword::PATH {
        Some((
            if allowed_by_role { 200 } else { refused_by_role },
            form(&[
                ("current_password", world.admin_password()),
                ("new_password", CHANGED_PASSWORD.into()),
            ]),
        ))
    } else if path == WarehouseTables::PATH {
        Some((
            if allowed_by_role { 200 } else { refused_by_role },
            Body::Json(json!({})),
        ))
    } else if path == ListTokens::PATH || path == ListUsers::PATH || path == ListGroups::PATH {
        Some((if allowed_by_role { 200 } else { refused_by_role }, form(&[])))
    } else if path == CreateToken::PATH {
        let fields = [
            ("name", "matrix".to_string()),
            ("scope", "merchant:M1".into()),
            ("expires_in_days", String::new()),
        ];
        Some((if allowed_by_role { 200 } else { refused_by_role }, form(&fields)))
    } else if path == CreateUser::PATH {
        let fields = [
            ("username", world.unique("user").replace(' ', "_")),
            ("password", "correct horse".into()),
            ("role", "operator".into()),
            ("merchant", String::new()),
            ("stores", String::new()),
        ];
        Some((if allowed_by_role { 200 } else { refused_by_role }, form(&fields)))
    } else if path == SetUserDisabled::PATH {
        let fields = [("id", world.victim_id.to_string()), ("disabled", "false".into())];
        Some((if allowed_by_role { 200 } else { refused_by_role }, form(&fields)))
    } else if path == ResetUserPassword::PATH {
        let fields = [
            ("id", world.victim_id.to_string()),
            ("password", "battery staple".into()),
        ];
        Some((if allowed_by_role { 200 } else { refused_by_role }, form(&fields)))
    } else if path == RevokeToken::PATH {
        // A fresh token for each allowed call; refused calls name the operator's own.
        let token = if allowed_by_role {
            let scope = segment_contract::auth::Scope::Platform;
            segment_service::auth::create_token(&world.app.db, "doomed", &scope, "tests", None)
                .await
                .unwrap()
                .0
        } else {
            1
        };
        Some((
            if allowed_by_role { 200 } else { refused_by_role },
            form(&[("id", token.to_string())]),
        ))
    } else if path == SearchTags::PATH {
        Some((200, form(&[("query", String::new())])))
    } else if path == WarehouseColumns::PATH {
        Some((
            if allowed_by_role { 200 } else { refused_by_role },
            Body::Json(json!({"table": "orders"})),
        ))
    } else if path == CreateGroup::PATH {
        Some((200, form(&[("name", world.unique("Group"))])))
    } else if path == EstimateSegment::PATH {
        Some((
            200,
            Body::Json(json!({"request": {"target_object": "user", "rule": rule()}})),
        ))
    } else if path == CreateSegment::PATH {
        Some((
            200,
            Body::Json(json!({"request": segment_body(&world.unique("Created by function"))})),
        ))
    } else if path == LookalikeUniverse::PATH {
        Some((200, Body::Json(json!({"target_object": "user"}))))
    } else if path == ListSegments::PATH {
        Some((200, Body::Json(json!({"query": {}}))))
    } else if path == ListExports::PATH || path == DeletedSegments::PATH {
        Some((200, Body::Json(json!({}))))
    } else {
        None
    };
    if let Some((want, body)) = simple {
        // Signing out ends the session it is called with: the admin signs out of one of its own.
        let got = if path == Logout::PATH && who == Who::AdminSession {
            let throwaway = world.app.session_cookie("ada", &world.admin_password()).await;
            let response = world.app.call(path, &throwaway, &[]).await;
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        } else {
            world.send(who, Method::POST, path, body).await
        };
        if path == ChangePassword::PATH && who == Who::AdminSession && got.0 == 200 {
            *world.admin_password.lock().unwrap() = CHANGED_PASSWORD.into();
        }
        if got.0 != unauthenticated(want) {
            failures.push(format!(
                "{path} as {who:?}: got {} want {}: {}",
                got.0,
                unauthenticated(want),
                got.1.chars().take(200).collect::<String>()
            ));
        }
        return failures;
    }
    // Functions on an object, once per owner.
    for owner in OWNERS {
        let allowed = who.sees(owner);
        let shared = &objects[&owner];
        let (body, ok) =
            if path == GetSegment::PATH || path == SegmentUsedBy::PATH || path == ExportSegment::PATH {
                (Body::Json(json!({"id": shared.segment})), 200)
            } else if path == ExtendSegment::PATH {
                (
                    Body::Json(json!({"id": shared.segment, "expires_at": "2030-01-31 23:59"})),
                    200,
                )
            } else if path == OverlapSegments::PATH {
                (
                    Body::Json(json!({"request": {"segment_ids": [shared.segment, shared.other_segment]}})),
                    200,
                )
            } else if path == SegmentInsights::PATH {
                (Body::Json(json!({"id": shared.segment, "tags": []})), 200)
            } else if path == VerifySegment::PATH {
                (Body::Json(json!({"id": shared.segment, "ids": ["U1"]})), 200)
            } else if path == DeleteSegment::PATH {
                let id = if allowed {
                    world.throwaway_segment(owner).await
                } else {
                    shared.segment
                };
                (Body::Json(json!({"id": id})), 200)
            } else if path == RenameGroup::PATH {
                (
                    form(&[
                        ("id", shared.group.to_string()),
                        ("name", world.unique("Renamed")),
                    ]),
                    200,
                )
            } else if path == DeleteGroup::PATH {
                let id = if allowed {
                    world.group(owner).await
                } else {
                    shared.group
                };
                (form(&[("id", id.to_string())]), 200)
            } else {
                failures.push(format!(
                    "server function {path} has no call in the matrix: add its arguments"
                ));
                return failures;
            };
        let want = expected(who, allowed, ok, 404);
        let got = world.send(who, Method::POST, path, body).await;
        if got.0 != want {
            failures.push(format!(
                "{path} on {owner:?}'s as {who:?}: got {} want {want}: {}",
                got.0,
                got.1.chars().take(200).collect::<String>()
            ));
        }
    }
    failures
}

impl World {
    fn admin_password(&self) -> String {
        self.admin_password.lock().unwrap().clone()
    }
}

const CHANGED_PASSWORD: &str = "matrix new password";

both_backends! {
    async fn every_endpoint_answers_every_principal_as_its_scope_allows(app: TestApp) {
        let warehouse = temp_dir("matrix-warehouse").join("warehouse.db");
        server::demo_warehouse::create(&warehouse, 20, 1).await.unwrap();
        let url = app.database_url.clone();
        let backend = app.backend;
        drop(app);
        let app = TestApp::spawn_configured(backend, url, move |config| {
            config.warehouse_url = Some(format!("sqlite://{}", warehouse.display()));
            config.exports_per_principal = 1_000;
        })
        .await;
        import_tenants(&app).await;
        app.user("ada", "correct horse", Role::Admin, "platform").await;
        app.user("victim", "correct horse", Role::Operator, "platform").await;
        let victim_id = segment_service::auth::find_user(&app.db, "victim").await.unwrap().id;
        let admin_session = app.session_cookie("ada", "correct horse").await;
        let mut tokens = HashMap::new();
        tokens.insert(Who::OperatorToken, app.token("platform").await);
        tokens.insert(Who::MerchantA, app.token("merchant:M1").await);
        tokens.insert(Who::MerchantB, app.token("merchant:M2").await);
        tokens.insert(Who::StoreManager, app.token("store:S1").await);
        let mut owners = HashMap::new();
        owners.insert(Owner::Platform, tokens[&Who::OperatorToken].clone());
        owners.insert(Owner::MerchantA, tokens[&Who::MerchantA].clone());
        owners.insert(Owner::MerchantB, tokens[&Who::MerchantB].clone());
        owners.insert(Owner::Store, tokens[&Who::StoreManager].clone());
        let world = World { app, admin_session, tokens, owners, victim_id, counter: AtomicU32::new(0), admin_password: std::sync::Mutex::new("correct horse".into()) };

        let mut objects = HashMap::new();
        for owner in OWNERS {
            let segment = world.segment(owner).await;
            objects.insert(owner, Objects {
                segment,
                other_segment: world.segment(owner).await,
                group: world.group(owner).await,
                binding: world.binding(owner, segment).await,
                export: world.export(owner, segment).await,
                upload: world.upload(owner).await,
            });
        }

        // Every route of the document.
        let (_, doc) = send(world.app.client.get(world.app.url("/api/v1/openapi.json"))).await;
        let mut routes = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                routes.insert((method.clone(), path.clone()));
            }
        }
        assert!(routes.len() >= 28, "{routes:?}");
        let mut failures = Vec::new();
        for (method, path) in &routes {
            for who in EVERYONE {
                failures.extend(call_route(&world, &objects, method, path, who).await);
            }
        }

        // Every registered server function, and every one listed is registered.
        let registered: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
        let listed: BTreeSet<&str> = server_functions().into_iter().map(|(path, _)| path).collect();
        assert_eq!(registered, listed, "server::api::server_functions() and the registered functions differ");
        for path in &registered {
            for who in EVERYONE {
                failures.extend(call_function(&world, &objects, path, who).await);
            }
        }

        // Nothing a refused call touched was changed.
        let platform = &world.tokens[&Who::OperatorToken];
        for (owner, object) in &objects {
            let (status, _) = send(world.app.get(&format!("/api/v1/segments/{}", object.segment), platform)).await;
            assert_eq!(status, 200, "{owner:?}'s segment survived every refused call");
            let (_, groups) = send(world.app.get("/api/v1/groups", platform)).await;
            assert!(groups["groups"].as_array().unwrap().iter().any(|g| g["id"] == object.group), "{owner:?}'s group");
        }
        assert!(failures.is_empty(), "{} outcomes differ:\n{}", failures.len(), failures.join("\n"));
    }
}
