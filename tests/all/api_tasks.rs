//! The catalog, tasks, checks, hints and attempts over HTTP, with the real
//! first-steps lab and judge (on the in-memory runtime): a check fails with
//! a hint, passes once the file is right, and its recording replays to the
//! same verdict.

use std::sync::Arc;

use proctor::{
    capabilities::fixture::Fixture,
    config::Config,
    judging::offline::{check_with_fixture, offline_task},
    plugins::{Limits, Registry, Status},
    runtime::Runtime,
    sessions::Sessions,
};
use proctor_tests::{
    http::{self, guest, request},
    memory_runtime::MemoryRuntime,
};
use serde_json::json;

struct Served {
    port: u16,
    runtime: Arc<MemoryRuntime>,
    registry: Registry,
    sessions: Sessions,
}

async fn serve(hints_per_minute: u32) -> Served {
    let runtime = Arc::new(MemoryRuntime::default());
    let mut config = Config::default();
    config.sessions.hints_per_minute = hints_per_minute;
    let (port, sessions, registry) = http::serve_bundled_labs_on(runtime.clone(), config).await;
    Served { port, runtime, registry, sessions }
}

#[tokio::test]
async fn the_catalog_lists_filters_and_details_labs() {
    let s = serve(5).await;
    let all = request(s.port, "GET", "/api/v1/labs", &[], None).await;
    let first = all.json.as_array().unwrap().iter().find(|l| l["id"] == "first-steps").expect("listed").clone();
    assert_eq!((first["difficulty"].as_str(), first["tasks"].as_u64(), first["startable"].as_bool()), (Some("beginner"), Some(2), Some(true)));
    let none = request(s.port, "GET", "/api/v1/labs?topic=quantum", &[], None).await;
    assert_eq!(none.json, json!([]));
    let found = request(s.port, "GET", "/api/v1/labs?q=SCRIPT&difficulty=beginner", &[], None).await;
    assert!(found.json.as_array().unwrap().iter().any(|l| l["id"] == "first-steps"), "{found:?}");
    let detail = request(s.port, "GET", "/api/v1/labs/first-steps", &[], None).await;
    assert_eq!(detail.json["steps"][1]["id"], "write-script");
    assert!(detail.json["steps"][0]["instructions"].as_str().unwrap().contains("Hello, Proctor"));
    let missing = request(s.port, "GET", "/api/v1/labs/nope", &[], None).await;
    assert_eq!((missing.status, missing.json["error"]["code"].as_str()), (404, Some("unknown_lab")));
}

#[tokio::test]
async fn a_check_fails_with_a_hint_then_passes_and_replays_exactly() {
    let s = serve(5).await;
    let ann = guest(s.port).await;
    let auth = [("Authorization", ann.as_str())];
    let started = request(s.port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "first-steps"}))).await;
    assert_eq!(started.status, 201, "{started:?}");
    let id = started.json["id"].as_str().unwrap().to_owned();

    let tasks = request(s.port, "GET", &format!("/api/v1/sessions/{id}/tasks"), &auth, None).await;
    assert_eq!(tasks.json[0]["status"], "not-attempted");

    let failed = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/check"), &auth, None).await;
    assert_eq!((failed.status, failed.json["status"].as_str()), (200, Some("failed")), "{failed:?}");
    let check = &failed.json["verdict"]["checks"][0];
    assert_eq!((check["id"].as_str(), check["passed"].as_bool()), (Some("file_missing"), Some(false)), "{failed:?}");
    assert!(check["hint"].as_str().unwrap().contains("echo"), "{failed:?}");

    let hint = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/hint"), &auth, None).await;
    assert_eq!(hint.status, 200, "{hint:?}");
    assert!(hint.json["text"].as_str().is_some_and(|t| !t.is_empty()) && hint.json["level"].as_u64() >= Some(1), "{hint:?}");

    s.runtime.write_file(&id, "main", "/workspace/hello.txt", b"Hello, Proctor\n", 0o644).await.unwrap();
    let passed = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/check"), &auth, None).await;
    assert_eq!(passed.json["status"], "passed", "{passed:?}");
    let tasks = request(s.port, "GET", &format!("/api/v1/sessions/{id}/tasks"), &auth, None).await;
    assert_eq!((tasks.json[0]["status"].as_str(), tasks.json[0]["attempts"].as_u64()), (Some("passed"), Some(2)));
    assert_eq!(tasks.json[1]["status"], "not-attempted");

    let history = request(s.port, "GET", &format!("/api/v1/sessions/{id}/attempts?task=create-file"), &auth, None).await;
    let statuses: Vec<&str> = history.json.as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "passed"]);

    // Each attempt's recording replays offline to the same verdict.
    for view in history.json.as_array().unwrap() {
        let row = s.sessions.store().attempt(view["id"].as_str().unwrap()).await.unwrap().unwrap();
        let fixture: Fixture = serde_json::from_str(&row.recording).unwrap();
        let judge = s.registry.serving("judge-first-steps").unwrap();
        let replay = check_with_fixture(s.registry.engine(), &judge, &offline_task("first-steps", "create-file", &fixture), &fixture, Limits::default())
            .await
            .unwrap();
        let expected = if row.status == "passed" { Status::Passed } else { Status::Failed };
        assert_eq!(replay.verdict.status, expected, "{row:?}");
        assert!(replay.unanswered.is_empty() && replay.unused == 0, "the recording is complete");
    }
}

#[tokio::test]
async fn bad_task_requests_are_refused_clearly() {
    let s = serve(2).await;
    let ann = guest(s.port).await;
    let auth = [("Authorization", ann.as_str())];
    let started = request(s.port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "first-steps"}))).await;
    let id = started.json["id"].as_str().unwrap().to_owned();

    let unknown = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/nope/check"), &auth, None).await;
    assert_eq!((unknown.status, unknown.json["error"]["code"].as_str()), (404, Some("unknown_task")));
    let bo = guest(s.port).await;
    let theirs = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/check"), &[("Authorization", bo.as_str())], None).await;
    assert_eq!(theirs.status, 404);

    for _ in 0..2 {
        let ok = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/hint"), &auth, None).await;
        assert_eq!(ok.status, 200);
    }
    let limited = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/hint"), &auth, None).await;
    assert_eq!((limited.status, limited.json["error"]["code"].as_str()), (429, Some("hint_rate")), "{limited:?}");
    assert!(limited.header("retry-after").is_some());

    request(s.port, "DELETE", &format!("/api/v1/sessions/{id}"), &auth, None).await;
    let ended = request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/check"), &auth, None).await;
    assert_eq!((ended.status, ended.json["error"]["code"].as_str()), (409, Some("session_not_running")), "{ended:?}");

    // What a Prometheus server scrapes: the start, the refused hint, the
    // ended session; a check that was refused is not timed.
    let metrics = request(s.port, "GET", "/metrics", &[], None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").is_some_and(|t| t.starts_with("application/openmetrics-text")), "{metrics:?}");
    for line in [
        "proctor_session_start_seconds_count{lab=\"first-steps\",source=\"cold\"} 1",
        "proctor_limit_breaches_total{limit=\"hint_rate\"} 1",
        "proctor_sessions{lab=\"first-steps\",state=\"ended\"} 1",
    ] {
        assert!(metrics.text.lines().any(|l| l == line), "no {line:?} in\n{}", metrics.text);
    }
    assert!(!metrics.text.contains("proctor_check_seconds_count"), "{}", metrics.text);
}

#[tokio::test]
async fn metrics_time_checks_by_lab_and_judge_version() {
    let s = serve(5).await;
    let ann = guest(s.port).await;
    let auth = [("Authorization", ann.as_str())];
    let started = request(s.port, "POST", "/api/v1/sessions", &auth, Some(&json!({"lab": "first-steps"}))).await;
    let id = started.json["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        request(s.port, "POST", &format!("/api/v1/sessions/{id}/tasks/create-file/check"), &auth, None).await;
    }
    let version = s.registry.serving("judge-first-steps").unwrap().version.to_string();
    let metrics = request(s.port, "GET", "/metrics", &[], None).await;
    let count = format!("proctor_check_seconds_count{{lab=\"first-steps\",judge=\"judge-first-steps\",version=\"{version}\",status=\"failed\"}} 2");
    assert!(metrics.text.lines().any(|l| l == count), "no {count:?} in\n{}", metrics.text);
    assert!(metrics.text.contains("proctor_sessions{lab=\"first-steps\",state=\"running\"} 1"), "{}", metrics.text);
}
