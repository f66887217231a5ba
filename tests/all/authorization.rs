//! The authorization matrix: every endpoint, asked by nobody, the learner
//! who owns the session, another learner, an author and an administrator,
//! with the status each must get. A learner's session is theirs alone
//! through the learner API (others get 404, as if it did not exist);
//! staff reach sessions through `/admin`. Authors manage judges, labs and
//! workshops; administrators also sessions, limits, users and the audit
//! log; anyone may join a workshop with its code.

use std::sync::Arc;

use proctor::{
    auth::{Role, accounts},
    config::Config,
};
use proctor_tests::{
    http::{self, guest, request},
    memory_runtime::MemoryRuntime,
};
use serde_json::{Value, json};

/// Who asks, in the order of the expected statuses below.
const WHO: [&str; 5] = ["anonymous", "owner", "other learner", "author", "admin"];

#[tokio::test]
async fn every_endpoint_answers_each_kind_of_caller_as_it_should() {
    let (port, sessions, _) = http::serve_bundled_labs_on(Arc::new(MemoryRuntime::default()), Config::default()).await;
    let store = sessions.store().clone();
    accounts::create(&store, "ada", Role::Author, Some("violet kettle drum"), 1).await.unwrap();
    accounts::create(&store, "root", Role::Admin, Some("amber window seat"), 1).await.unwrap();
    let login = |login: &'static str, password: &'static str| async move {
        let a = request(port, "POST", "/api/v1/auth/login", &[], Some(&json!({"login": login, "password": password}))).await;
        format!("Bearer {}", a.json["token"].as_str().expect("logged in"))
    };
    let (owner, other, author, admin) = (guest(port).await, guest(port).await, login("ada", "violet kettle drum").await, login("root", "amber window seat").await);
    let tokens = [None, Some(owner.as_str()), Some(other.as_str()), Some(author.as_str()), Some(admin.as_str())];
    let started = request(port, "POST", "/api/v1/sessions", &[("Authorization", owner.as_str())], Some(&json!({"lab": "first-steps"}))).await;
    let id = started.json["id"].as_str().unwrap().to_owned();
    let s = format!("/api/v1/sessions/{id}");
    let (lee, _) = accounts::create(&store, "lee", Role::Learner, Some("quiet harbour lamp"), 1).await.unwrap();
    let u = format!("/api/v1/admin/users/{}", lee.id);
    let made = request(port, "POST", "/api/v1/workshops", &[("Authorization", author.as_str())], Some(&json!({"lab": "first-steps", "seats": 10, "expires_in_minutes": 60}))).await;
    let (w, code) = (format!("/api/v1/workshops/{}", made.json["id"].as_str().unwrap()), made.json["code"].as_str().unwrap().to_owned());

    let body = |v: Value| Some(v);
    // method, path, body, statuses for WHO. The owner's file calls need a
    // shell the in-memory machine does not have (422); they are 200 on a
    // real engine (api_files). An empty upload is not a component (422).
    let matrix: Vec<(&str, String, Option<Value>, [u16; 5])> = vec![
        ("GET", "/api/v1/labs".into(), None, [200, 200, 200, 200, 200]),
        ("POST", "/api/v1/guests".into(), None, [201, 201, 201, 201, 201]),
        ("GET", "/api/v1/labs/first-steps".into(), None, [200, 200, 200, 200, 200]),
        ("GET", "/api/v1/auth/me".into(), None, [401, 200, 200, 200, 200]),
        ("POST", "/api/v1/auth/tokens".into(), body(json!({"label": "cli"})), [401, 403, 403, 201, 201]),
        ("GET", "/api/v1/sessions".into(), None, [401, 200, 200, 200, 200]),
        ("GET", s.clone(), None, [401, 200, 404, 404, 404]),
        ("POST", format!("{s}/extend"), None, [401, 200, 404, 404, 404]),
        ("GET", format!("{s}/tasks"), None, [401, 200, 404, 404, 404]),
        ("POST", format!("{s}/tasks/create-file/check"), None, [401, 200, 404, 404, 404]),
        ("POST", format!("{s}/tasks/create-file/hint"), None, [401, 200, 404, 404, 404]),
        ("GET", format!("{s}/attempts"), None, [401, 200, 404, 404, 404]),
        ("GET", format!("{s}/files"), None, [401, 422, 404, 404, 404]),
        ("GET", format!("{s}/terminals"), None, [401, 200, 404, 404, 404]),
        ("GET", format!("{s}/files/content?path=hello.txt"), None, [401, 422, 404, 404, 404]),
        ("GET", "/api/v1/admin/plugins".into(), None, [401, 403, 403, 200, 200]),
        ("POST", "/api/v1/admin/plugins".into(), None, [401, 403, 403, 422, 422]),
        ("POST", "/api/v1/admin/plugins/judge-first-steps/rollback".into(), None, [401, 403, 403, 409, 409]),
        ("PUT", "/api/v1/admin/plugins/no-such/disabled".into(), body(json!({"disabled": true})), [401, 403, 403, 404, 404]),
        ("GET", "/api/v1/admin/audit".into(), None, [401, 403, 403, 403, 200]),
        ("GET", "/api/v1/admin/sessions".into(), None, [401, 403, 403, 403, 200]),
        ("GET", format!("/api/v1/admin/sessions/{id}"), None, [401, 403, 403, 403, 200]),
        ("POST", format!("/api/v1/admin/sessions/{id}/extend"), None, [401, 403, 403, 403, 200]),
        ("GET", "/api/v1/progress".into(), None, [401, 200, 200, 200, 200]),
        ("GET", "/api/v1/auth/providers".into(), None, [200, 200, 200, 200, 200]),
        ("GET", "/api/v1/auth/oidc/start".into(), None, [404, 404, 404, 404, 404]),
        ("GET", "/api/v1/admin/labs".into(), None, [401, 403, 403, 200, 200]),
        ("POST", "/api/v1/admin/labs/reload".into(), None, [401, 403, 403, 200, 200]),
        ("PUT", "/api/v1/admin/labs/first-steps/enabled".into(), body(json!({"enabled": true})), [401, 403, 403, 200, 200]),
        ("GET", "/api/v1/admin/limits".into(), None, [401, 403, 403, 403, 200]),
        ("PUT", "/api/v1/admin/limits".into(), body(json!({})), [401, 403, 403, 403, 200]),
        ("GET", "/api/v1/admin/users".into(), None, [401, 403, 403, 403, 200]),
        ("POST", "/api/v1/admin/users".into(), body(json!({"login": "newcomer", "role": "learner"})), [401, 403, 403, 403, 201]),
        ("PATCH", u.clone(), body(json!({"max_sessions": 3})), [401, 403, 403, 403, 200]),
        ("POST", format!("{u}/password"), None, [401, 403, 403, 403, 200]),
        ("GET", "/api/v1/workshops".into(), None, [401, 403, 403, 200, 200]),
        ("POST", "/api/v1/workshops".into(), body(json!({"lab": "first-steps", "seats": 1, "expires_in_minutes": 60})), [401, 403, 403, 201, 201]),
        ("GET", w.clone(), None, [401, 403, 403, 200, 200]),
        ("DELETE", format!("{w}/seats/9"), None, [401, 403, 403, 404, 404]),
        // Staff past the role check learn the seat does not exist before
        // the missing WebSocket handshake matters; the watch itself is in
        // `workshops`.
        ("GET", format!("{w}/seats/9/terminal"), None, [401, 403, 403, 404, 404]),
        ("POST", "/api/v1/workshops/join".into(), body(json!({"code": code, "name": "someone"})), [201, 201, 201, 201, 201]),
        ("DELETE", w.clone(), None, [401, 403, 403, 200, 200]),
        // Last: ending the session. The owner's DELETE ends it; asking again is
        // still 200 (already ended); the administrator's too.
        ("DELETE", s.clone(), None, [401, 200, 404, 404, 404]),
        ("DELETE", format!("/api/v1/admin/sessions/{id}"), None, [401, 403, 403, 403, 200]),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, want) in &matrix {
        for (i, token) in tokens.iter().enumerate() {
            let headers: Vec<(&str, &str)> = token.map(|t| ("Authorization", t)).into_iter().collect();
            let got = request(port, method, path, &headers, body.as_ref()).await;
            if got.status != want[i] {
                wrong.push(format!("{method} {path} as {}: {} (wanted {}) {}", WHO[i], got.status, want[i], got.text));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ:\n{}", wrong.len(), wrong.join("\n"));
}
