//! The admin API for judges over HTTP: who may use it, uploading a new
//! version that serves at once, rolling back, refusing broken or oversized
//! components with the serving version untouched, disabling, and the audit
//! log of all of it.

use std::sync::Arc;

use proctor::{
    auth::{Role, accounts},
    config::Config,
    labs::Catalog,
    plugins::Registry,
    server::AppState,
    sessions::{SessionPolicy, Sessions},
};
use proctor_tests::{
    hour_long_lab,
    components,
    databases::sqlite,
    engine,
    http::{self, Answer, guest, request, request_bytes},
    memory_runtime::MemoryRuntime,
    wasm,
};
use serde_json::json;

struct Served {
    port: u16,
    registry: Registry,
    sessions: Sessions,
    author: String,
    admin: String,
}

async fn serve(max_plugin_bytes: usize) -> Served {
    let sessions = Sessions::new(sqlite().await, Arc::new(MemoryRuntime::default()), SessionPolicy::default());
    sessions.set_lab(hour_long_lab("admin-lab"));
    let store = sessions.store().clone();
    let registry = Registry::new(engine());
    let mut config = Config::default();
    config.plugins.max_plugin_bytes = max_plugin_bytes;
    let port = http::serve(AppState::new(registry.clone(), config, sessions.clone(), Catalog::default())).await;
    accounts::create(&store, "ada", Role::Author, Some("violet kettle drum"), 1).await.unwrap();
    accounts::create(&store, "root", Role::Admin, Some("amber window seat"), 1).await.unwrap();
    let login = |login: &'static str, password: &'static str| async move {
        let a = request(port, "POST", "/api/v1/auth/login", &[], Some(&json!({"login": login, "password": password}))).await;
        format!("Bearer {}", a.json["token"].as_str().expect("logged in"))
    };
    Served { port, registry, sessions, author: login("ada", "violet kettle drum").await, admin: login("root", "amber window seat").await }
}

fn code(a: &Answer) -> (u16, Option<&str>) {
    (a.status, a.json["error"]["code"].as_str())
}

#[tokio::test]
async fn staff_hot_load_roll_back_and_disable_judges_and_every_action_is_audited() {
    let s = serve(32 << 20).await;
    let (port, author, admin) = (s.port, [("Authorization", s.author.as_str())], [("Authorization", s.admin.as_str())]);
    let upload = [author[0], ("Content-Type", "application/wasm")];
    let push = |bytes: Vec<u8>| async move { request_bytes(port, "POST", "/api/v1/admin/plugins", &upload, &bytes).await };

    let v1 = push(wasm(&components().probe_v1)).await;
    assert_eq!((v1.status, v1.json["version"].as_str(), v1.json["serving"].as_bool()), (201, Some("1.0.0"), Some(true)), "{v1:?}");
    let name = v1.json["name"].as_str().unwrap().to_owned();
    let v2 = push(wasm(&components().probe_v2)).await;
    assert_eq!(v2.json["version"].as_str(), Some("2.0.0"), "{v2:?}");
    assert_eq!(s.registry.serving(&name).unwrap().version, "2.0.0", "v2 serves from the next call on");

    // Broken uploads are refused with a reason; v2 keeps serving.
    let garbage = push(b"\0asm but not really".to_vec()).await;
    assert_eq!(code(&garbage), (422, Some("invalid_plugin")), "{garbage:?}");
    let incompatible = push(wasm(&components().incompatible)).await;
    assert_eq!(code(&incompatible), (422, Some("invalid_plugin")), "{incompatible:?}");
    assert!(incompatible.json["error"]["message"].as_str().unwrap().contains("9."), "{incompatible:?}");
    assert_eq!(s.registry.serving(&name).unwrap().version, "2.0.0");

    let listed = request(port, "GET", "/api/v1/admin/plugins", &author, None).await;
    let entry = listed.json.as_array().unwrap().iter().find(|p| p["name"] == name.as_str()).unwrap().clone();
    assert_eq!((entry["serving"].as_str(), entry["versions"].as_array().map(Vec::len)), (Some("2.0.0"), Some(2)), "{listed:?}");

    let back = request(port, "POST", &format!("/api/v1/admin/plugins/{name}/rollback"), &author, None).await;
    assert_eq!((back.status, back.json["serving"].as_str()), (200, Some("1.0.0")), "{back:?}");
    assert_eq!(s.registry.serving(&name).unwrap().version, "1.0.0");
    let again = request(port, "POST", &format!("/api/v1/admin/plugins/{name}/rollback"), &author, None).await;
    assert_eq!(code(&again), (409, Some("nothing_to_roll_back")));
    let promoted = request(port, "POST", &format!("/api/v1/admin/plugins/{name}/versions/2.0.0/promote"), &admin, None).await;
    assert_eq!(promoted.json["serving"].as_str(), Some("2.0.0"), "{promoted:?}");

    let off = request(port, "PUT", &format!("/api/v1/admin/plugins/{name}/disabled"), &admin, Some(&json!({"disabled": true}))).await;
    assert_eq!((off.status, off.json["disabled"].as_bool()), (200, Some(true)));
    assert!(s.registry.serving(&name).is_err(), "a disabled plugin serves nobody");
    request(port, "PUT", &format!("/api/v1/admin/plugins/{name}/disabled"), &admin, Some(&json!({"disabled": false}))).await;
    assert_eq!(s.registry.serving(&name).unwrap().version, "2.0.0");

    let log = request(port, "GET", "/api/v1/admin/audit", &admin, None).await;
    let actions: Vec<(&str, &str)> = log.json.as_array().unwrap().iter().rev().map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    assert_eq!(
        actions,
        [
            ("ada", "plugin.upload_and_serve"),
            ("ada", "plugin.upload_and_serve"),
            ("ada", "plugin.refused"),
            ("ada", "plugin.refused"),
            ("ada", "plugin.rollback"),
            ("root", "plugin.promote"),
            ("root", "plugin.disable"),
            ("root", "plugin.enable"),
        ],
        "{log:?}"
    );
}

#[tokio::test]
async fn the_admin_api_answers_only_to_its_roles() {
    let s = serve(1024).await;
    let learner = guest(s.port).await;
    let cases = [
        ("GET", "/api/v1/admin/plugins", None, 401),
        ("GET", "/api/v1/admin/plugins", Some(learner.as_str()), 403),
        ("GET", "/api/v1/admin/plugins", Some(s.author.as_str()), 200),
        ("GET", "/api/v1/admin/plugins", Some(s.admin.as_str()), 200),
        ("GET", "/api/v1/admin/audit", Some(s.author.as_str()), 403),
        ("GET", "/api/v1/admin/audit", Some(s.admin.as_str()), 200),
        ("POST", "/api/v1/admin/plugins/nope/rollback", Some(learner.as_str()), 403),
        ("POST", "/api/v1/admin/plugins/nope/rollback", Some(s.author.as_str()), 404),
    ];
    for (method, path, token, want) in cases {
        let headers: Vec<(&str, &str)> = token.map(|t| ("Authorization", t)).into_iter().collect();
        let got = request(s.port, method, path, &headers, None).await;
        assert_eq!(got.status, want, "{method} {path} as {token:?}: {got:?}");
    }
    // Over the size cap: refused before it is read.
    let big = request_bytes(s.port, "POST", "/api/v1/admin/plugins", &[("Authorization", s.author.as_str())], &[0u8; 4096]).await;
    assert_eq!(code(&big), (413, Some("plugin_too_large")), "{big:?}");
}

#[tokio::test]
async fn administrators_see_extend_and_end_any_learners_session() {
    let s = serve(1024).await;
    let learner = guest(s.port).await;
    let started = request(s.port, "POST", "/api/v1/sessions", &[("Authorization", learner.as_str())], Some(&json!({"lab": "admin-lab"}))).await;
    let id = started.json["id"].as_str().unwrap().to_owned();
    let admin = [("Authorization", s.admin.as_str())];

    let author_view = request(s.port, "GET", "/api/v1/admin/sessions", &[("Authorization", s.author.as_str())], None).await;
    assert_eq!(code(&author_view), (403, Some("forbidden")));
    let listed = request(s.port, "GET", "/api/v1/admin/sessions", &admin, None).await;
    let mine = listed.json.as_array().unwrap().iter().find(|v| v["id"] == id.as_str()).cloned().expect("listed");
    assert_eq!((mine["phase"].as_str(), mine["status"].as_str(), mine["lab"].as_str()), (Some("running"), Some("running"), Some("admin-lab")), "{mine}");
    assert!(mine["owner"].as_str().is_some_and(|o| o.starts_with('u')), "{mine}");

    let before = mine["expires_at"].as_i64().unwrap();
    let extended = request(s.port, "POST", &format!("/api/v1/admin/sessions/{id}/extend"), &admin, None).await;
    assert_eq!(extended.json["expires_at"].as_i64(), Some(before + 3_600_000), "{extended:?}");
    let ended = request(s.port, "DELETE", &format!("/api/v1/admin/sessions/{id}"), &admin, None).await;
    assert_eq!((ended.json["status"].as_str(), ended.json["end_reason"].as_str()), (Some("ended"), Some("admin")), "{ended:?}");
    assert_eq!(s.sessions.get(&id).await.unwrap().phase.as_str(), "ended");
    let theirs = request(s.port, "GET", &format!("/api/v1/sessions/{id}"), &[("Authorization", learner.as_str())], None).await;
    assert_eq!(theirs.json["end_reason"].as_str(), Some("admin"), "the learner sees who ended it");
    let missing = request(s.port, "GET", "/api/v1/admin/sessions/s-nope", &admin, None).await;
    assert_eq!(code(&missing), (404, Some("session_not_found")));

    let log = request(s.port, "GET", "/api/v1/admin/audit", &admin, None).await;
    let actions: Vec<&str> = log.json.as_array().unwrap().iter().rev().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["session.extend", "session.end"], "{log:?}");
}
