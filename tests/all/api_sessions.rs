//! The sessions API over HTTP: tokens, start and resume, the 429 of a full
//! server with `Retry-After` and the queue place, someone else's session,
//! extend, end, and the OpenAPI document.

use std::sync::Arc;

use proctor::{
    config::Config,
    labs::Catalog,
    plugins::Registry,
    server::AppState,
    sessions::{SessionPolicy, Sessions},
};
use proctor_tests::{
    hour_long_lab,
    databases::sqlite,
    engine,
    http::{self, guest, request},
    memory_runtime::MemoryRuntime,
};
use serde_json::{Value, json};

async fn serve(policy: SessionPolicy) -> u16 {
    let sessions = Sessions::new(sqlite().await, Arc::new(MemoryRuntime::default()), policy);
    sessions.set_lab(hour_long_lab("api-lab"));
    http::serve(AppState::new(Registry::new(engine()), Config::default(), sessions, Catalog::default())).await
}

/// A new guest's raw token, checking the browser also gets it as a cookie.
async fn token(port: u16) -> String {
    let created = request(port, "POST", "/api/v1/guests", &[], None).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(created.header("set-cookie").is_some_and(|c| c.contains("HttpOnly")), "{created:?}");
    created.json["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_learner_starts_resumes_extends_and_ends_a_session() {
    let port = serve(SessionPolicy { max_sessions: 5, ..SessionPolicy::default() }).await;
    let anonymous = request(port, "POST", "/api/v1/sessions", &[], Some(&json!({"lab": "api-lab"}))).await;
    assert_eq!((anonymous.status, anonymous.json["error"]["code"].as_str()), (401, Some("unauthenticated")), "{anonymous:?}");
    let forged = request(port, "GET", "/api/v1/sessions", &[("Authorization", "Bearer pt_forged")], None).await;
    assert_eq!(forged.status, 401);

    let ann = guest(port).await;
    let auth = [("Authorization", ann.as_str())];
    let unknown = request(port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "no-such-lab"}))).await;
    assert_eq!((unknown.status, unknown.json["error"]["code"].as_str()), (404, Some("unknown_lab")), "{unknown:?}");
    assert!(unknown.json["error"]["hint"].is_string());

    let started = request(port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "api-lab"}))).await;
    assert_eq!((started.status, started.json["status"].as_str()), (201, Some("running")), "{started:?}");
    let id = started.json["id"].as_str().unwrap().to_owned();
    assert!(started.json["remaining_seconds"].as_i64().unwrap() > 3500);
    let again = request(port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "api-lab"}))).await;
    assert_eq!((again.status, again.json["id"].as_str(), again.json["resumed"].as_bool()), (200, Some(id.as_str()), Some(true)));

    let extended = request(port, "POST", &format!("/api/v1/sessions/{id}/extend"), &auth, None).await;
    assert_eq!((extended.status, extended.json["extensions"].as_u64()), (200, Some(1)), "{extended:?}");
    let no_more = request(port, "POST", &format!("/api/v1/sessions/{id}/extend"), &auth, None).await;
    assert_eq!((no_more.status, no_more.json["error"]["code"].as_str()), (409, Some("session_state")), "{no_more:?}");

    // Someone else's session does not exist for them.
    let bo = guest(port).await;
    let theirs = request(port, "DELETE", &format!("/api/v1/sessions/{id}"), &[("Authorization", bo.as_str())], None).await;
    assert_eq!(theirs.status, 404);
    let listed = request(port, "GET", "/api/v1/sessions", &[("Authorization", bo.as_str())], None).await;
    assert_eq!(listed.json, json!([]));

    let ended = request(port, "DELETE", &format!("/api/v1/sessions/{id}"), &auth, None).await;
    assert_eq!((ended.status, ended.json["status"].as_str(), ended.json["end_reason"].as_str()), (200, Some("ended"), Some("learner")));
    let mine = request(port, "GET", "/api/v1/sessions", &auth, None).await;
    assert_eq!(mine.json.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_full_server_answers_429_with_retry_after_and_the_queue_place() {
    let port = serve(SessionPolicy { max_sessions: 1, ..SessionPolicy::default() }).await;
    let first = guest(port).await;
    let ok = request(port, "POST", "/api/v1/sessions", &[("Authorization", first.as_str())], Some(&json!({"lab": "api-lab"}))).await;
    assert_eq!(ok.status, 201);
    // The browser's cookie works as well as the header.
    let token = token(port).await;
    let cookie = format!("theme=dark; proctor_token={token}");
    let full = request(port, "POST", "/api/v1/sessions", &[("Cookie", cookie.as_str())], Some(&json!({"lab": "api-lab"}))).await;
    assert_eq!(full.status, 429, "{full:?}");
    let retry: u64 = full.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((5..=60).contains(&retry));
    let error = &full.json["error"];
    assert_eq!((error["code"].as_str(), error["queue_position"].as_u64()), (Some("capacity_full"), Some(1)), "{full:?}");
    assert!(error["message"].as_str().unwrap().contains("number 1 of 1 in the queue"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let port = serve(SessionPolicy::default()).await;
    let doc = request(port, "GET", "/api/v1/openapi.json", &[], None).await;
    assert_eq!(doc.status, 200);
    let paths: Vec<&String> = doc.json["paths"].as_object().map(|p| p.keys().collect()).unwrap_or_default();
    let wanted = [
        "/guests",
        "/labs",
        "/labs/{id}",
        "/sessions",
        "/sessions/{id}",
        "/sessions/{id}/extend",
        "/sessions/{id}/tasks",
        "/sessions/{id}/tasks/{task}/check",
        "/sessions/{id}/tasks/{task}/hint",
        "/sessions/{id}/attempts",
        "/sessions/{id}/files",
        "/sessions/{id}/files/content",
        "/sessions/{id}/terminals",
    ];
    for path in wanted {
        assert!(paths.iter().any(|p| p.as_str() == path), "{path} missing from {paths:?}");
    }
    assert_eq!(doc.json["servers"][0]["url"], Value::from("/api/v1"));
}

#[tokio::test]
async fn malformed_requests_get_the_api_error_shape() {
    let port = serve(SessionPolicy::default()).await;
    let ann = guest(port).await;
    let json_body = [("Authorization", ann.as_str()), ("Content-Type", "application/json")];
    let broken = http::request_bytes(port, "POST", "/api/v1/sessions", &json_body, b"{\"lab\": ").await;
    assert_eq!((broken.status, broken.json["error"]["code"].as_str()), (400, Some("invalid_json")), "{broken:?}");
    assert!(broken.json["error"]["hint"].is_string(), "{broken:?}");
    let wrong = http::request_bytes(port, "POST", "/api/v1/sessions", &json_body, b"{\"lab\": 7}").await;
    assert_eq!((wrong.status, wrong.json["error"]["code"].as_str()), (422, Some("invalid_request")), "{wrong:?}");
    let untyped = http::request_bytes(port, "POST", "/api/v1/sessions", &[("Authorization", ann.as_str())], b"{\"lab\": \"api-lab\"}").await;
    assert_eq!((untyped.status, untyped.json["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{untyped:?}");
    let query = request(port, "GET", "/api/v1/labs?difficulty=impossible", &[], None).await;
    assert_eq!((query.status, query.json["error"]["code"].as_str()), (400, Some("invalid_query")), "{query:?}");
    let nowhere = request(port, "GET", "/api/v1/no/such/thing", &[], None).await;
    assert_eq!((nowhere.status, nowhere.json["error"]["code"].as_str()), (404, Some("no_such_endpoint")), "{nowhere:?}");
    let method = request(port, "PATCH", "/api/v1/sessions", &[("Authorization", ann.as_str())], None).await;
    assert_eq!((method.status, method.json["error"]["code"].as_str()), (405, Some("method_not_allowed")), "{method:?}");
}
