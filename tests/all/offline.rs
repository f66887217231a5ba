//! Offline grading against fixtures, recording and exact replay, and hints.

use std::sync::Arc;

use proctor::{
    capabilities::{
        Grants,
        fixture::{Fixture, Replay},
        record::Recorder,
    },
    judging::offline::{check_with_fixture, offline_task},
    plugins::{CallContext, Limits, Status},
};
use proctor_tests::{case, components, engine, task, wasm};

/// Grades `task_id` of the first-steps judge against `fixture`.
async fn grade(task_id: &str, fixture: &Fixture) -> proctor::judging::offline::OfflineRun {
    let engine = engine();
    let judge = engine.load(&wasm(&components().first_steps)).await.unwrap();
    check_with_fixture(&engine, &judge, &offline_task("first-steps", task_id, fixture), fixture, Limits::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_solved_task_passes_against_its_fixture() {
    let run = grade("create-file", &case("first-steps", "create-file-solved")).await;
    assert_eq!(run.verdict.status, Status::Passed, "{:#?}", run.verdict);
    assert_eq!(run.verdict.checks.len(), 2);
    assert!(run.unanswered.is_empty() && run.unused == 0);
    assert_eq!(run.verdict.stats.capability_calls, 1);
}

#[tokio::test]
async fn a_failing_task_names_each_failed_check_with_a_hint() {
    let v = grade("write-script", &case("first-steps", "write-script-not-executable")).await.verdict;
    assert_eq!(v.status, Status::Failed);
    let failed: Vec<_> = v.checks.iter().filter(|c| !c.passed).map(|c| c.id.as_str()).collect();
    assert_eq!(failed, ["script_executable", "script_output"]);
    assert!(v.checks.iter().all(|c| c.hint.is_some()));
    assert_eq!(v.stats.capability_calls, 2, "run-all counts each command");
}

#[tokio::test]
async fn a_call_the_fixture_cannot_answer_is_named() {
    let run = grade("create-file", &Fixture::default()).await;
    assert_eq!(run.verdict.status, Status::NotGradable, "{:#?}", run.verdict);
    assert!(run.verdict.reason.unwrap().contains("no answer for read-file /workspace/hello.txt"));
    assert_eq!(run.unanswered.len(), 1);
}

#[tokio::test]
async fn a_recorded_grading_replays_to_the_same_verdict() {
    let engine = engine();
    let judge = engine.load(&wasm(&components().first_steps)).await.unwrap();
    // Stand in for a live session with a fixture, and record through it.
    let live = Arc::new(Replay::new(&case("first-steps", "write-script-not-executable")).unwrap());
    let recorder = Arc::new(Recorder::new(live));
    let ctx = CallContext { env: recorder.clone(), grants: Grants::all(), limits: Limits::default() };
    let original = engine.check(&judge, &task("first-steps", "write-script"), ctx).await;

    let recording = Fixture { calls: recorder.exchanges(), ..Fixture::default() };
    assert_eq!(recording.calls.len(), 2);
    // The recording survives its file format.
    let recording: Fixture = serde_json::from_str(&serde_json::to_string(&recording).unwrap()).unwrap();
    let replayed = check_with_fixture(&engine, &judge, &task("first-steps", "write-script"), &recording, Limits::default())
        .await
        .unwrap();
    assert!(replayed.unanswered.is_empty());
    assert_eq!(replayed.verdict.status, original.status);
    assert_eq!(replayed.verdict.checks, original.checks);
    assert_eq!(replayed.verdict.metrics, original.metrics);
}

#[tokio::test]
async fn capabilities_outside_the_fixture_grants_are_denied() {
    let mut fixture = case("first-steps", "create-file-solved");
    fixture.grants = Some(vec![]);
    let run = grade("create-file", &fixture).await;
    assert_eq!(run.verdict.status, Status::NotGradable);
    let reason = run.verdict.reason.unwrap();
    assert!(reason.contains("denied") && reason.contains("read-file"), "{reason}");
    assert_eq!(run.unused, 1, "the denied call never reached the fixture");
}

#[tokio::test]
async fn hints_get_more_specific_with_each_attempt_and_follow_the_last_failure() {
    let engine = engine();
    let plugin = engine.load(&wasm(&components().first_steps)).await.unwrap();
    let t = task("first-steps", "create-file");
    let mut levels = Vec::new();
    for attempts in 1..=4 {
        let hint = engine.hint(&plugin, &t, attempts, None, CallContext::detached()).await.unwrap().expect("a hint");
        levels.push(hint.level);
    }
    assert_eq!(levels, [1, 2, 3, 3]);
    let last_hint = engine.hint(&plugin, &t, 3, None, CallContext::detached()).await.unwrap().unwrap();
    assert!(last_hint.text.contains("echo 'Hello, Proctor'"), "{}", last_hint.text);

    // After a verdict whose first failure is the greeting, the hint is about the greeting.
    let fixture = Fixture {
        calls: case("first-steps", "create-file-solved")
            .calls
            .into_iter()
            .map(|mut ex| {
                ex.ok = Some(serde_json::json!({ "data": "hello", "size": 5 }));
                ex
            })
            .collect(),
        ..Fixture::default()
    };
    let wrong = check_with_fixture(&engine, &plugin, &t, &fixture, Limits::default()).await.unwrap().verdict;
    assert_eq!(wrong.status, Status::Failed);
    let hint = engine.hint(&plugin, &t, 1, Some(&wrong), CallContext::detached()).await.unwrap().unwrap();
    assert!(hint.text.contains("cat"), "{}", hint.text);
    assert!(engine.hint(&plugin, &task("first-steps", "no-such-task"), 1, None, CallContext::detached()).await.unwrap().is_none());
}

#[test]
fn malformed_fixtures_are_refused_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("proctor-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = [
        ("not-json.json", "{", "not valid"),
        ("unknown-field.json", r#"{"calls": [], "answers": []}"#, "answers"),
        (
            "both.json",
            r#"{"calls": [{"request": {"capability": "exec", "machine": "m", "argv": []}, "ok": {"exit_code": 0}, "error": {"kind": "failed", "message": "x"}}]}"#,
            "exactly one",
        ),
        (
            "wrong-shape.json",
            r#"{"calls": [{"request": {"capability": "exec", "machine": "m", "argv": []}, "ok": {"exit": 0}}]}"#,
            "malformed",
        ),
    ];
    for (name, text, expected) in bad {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let err = Fixture::load(&path).expect_err(name).to_string();
        assert!(err.contains(expected) && err.contains(name), "{name}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
    let err = Fixture::load(std::path::Path::new("/no/such/fixture.json")).unwrap_err();
    assert!(err.to_string().contains("cannot read"));
}
