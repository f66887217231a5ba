//! The Docker runtime on a real engine. Runs when `PROCTOR_TEST_DOCKER=1`
//! (CI sets it, after starting `dockerd` and building the base image with
//! `scripts/build-base-image`); otherwise each test says it skipped.

use std::{sync::Arc, time::Duration};

use proctor::{
    capabilities::{Command, Grants},
    plugins::{CallContext, Limits, Status},
    runtime::{
        EnvironmentSpec, MachineSpec, Resources, Runtime, RuntimeError, docker::DockerRuntime,
        session_env::SessionEnvironment,
    },
};
use proctor_tests::{components, engine, task, wasm};

fn enabled(test: &str) -> bool {
    let on = std::env::var("PROCTOR_TEST_DOCKER").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped {test}: set PROCTOR_TEST_DOCKER=1 to run it against a Docker engine");
    }
    on
}

fn image() -> String {
    std::env::var("PROCTOR_TEST_IMAGE").unwrap_or_else(|_| "proctor/base:bookworm".into())
}

fn spec(session: &str) -> EnvironmentSpec {
    EnvironmentSpec {
        session: session.into(),
        lab: "runtime-test".into(),
        owner: "tester".into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: image(),
            resources: Resources { memory_bytes: 128 << 20, cpus: 0.5, pids: 64 },
            workdir: "/workspace".into(),
        }],
    }
}

fn sh(script: &str) -> Command {
    Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() }
}

/// A session id no other test run uses.
fn session(name: &str) -> String {
    format!("t{}-{name}", std::process::id())
}

#[tokio::test]
async fn an_environment_runs_commands_keeps_files_and_leaves_nothing_behind() {
    if !enabled("an_environment_runs_commands_keeps_files_and_leaves_nothing_behind") {
        return;
    }
    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let id = session("life");
    docker.create(&spec(&id)).await.expect("created");

    let out = docker.exec(&id, &sh("echo out; echo err >&2; exit 3")).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.0.as_slice(), out.stderr.0.as_slice()), (3, &b"out\n"[..], &b"err\n"[..]));

    docker.write_file(&id, "main", "/workspace/notes.txt", b"written by the host\n", 0o640).await.unwrap();
    let file = docker.read_file(&id, "main", "/workspace/notes.txt", 7).await.unwrap();
    assert_eq!((file.data.0.as_slice(), file.size, file.truncated), (&b"written"[..], 20, true));
    let seen = docker.exec(&id, &sh("stat -c %a /workspace/notes.txt && cat /workspace/notes.txt")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&seen.stdout.0), "640\nwritten by the host\n");

    // The machine is confined: limits, capabilities, no privilege escalation.
    let limits = docker
        .exec(&id, &sh("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&limits.stdout.0).into_owned();
    assert!(text.starts_with(&(128u64 << 20).to_string()), "{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    assert!(!text.contains("CapEff:\t000001ffffffffff") && !text.contains("CapEff:\t00000000a80425fb"), "{text}");
    let socket = docker.exec(&id, &sh("test -e /var/run/docker.sock")).await.unwrap();
    assert_ne!(socket.exit_code, 0, "the engine's socket is not inside the machine");

    let owned = docker.list_owned().await.unwrap();
    let mine = owned.iter().find(|o| o.session == id).expect("listed by label");
    assert_eq!((mine.lab.as_str(), mine.owner.as_str(), mine.machines.as_slice()), ("runtime-test", "tester", &["main".to_owned()][..]));

    docker.destroy(&id).await.unwrap();
    assert!(docker.list_owned().await.unwrap().iter().all(|o| o.session != id), "nothing left behind");
    docker.destroy(&id).await.expect("destroying twice is fine");
    let gone = docker.exec(&id, &sh("true")).await.unwrap_err();
    assert!(matches!(gone, RuntimeError::NotFound(_)), "{gone:?}");
}

#[tokio::test]
async fn commands_are_bounded_in_time_and_output() {
    if !enabled("commands_are_bounded_in_time_and_output") {
        return;
    }
    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let id = session("bounds");
    docker.create(&spec(&id)).await.expect("created");

    let slow = Command { timeout: Some(Duration::from_millis(500)), ..sh("sleep 30") };
    let err = docker.exec(&id, &slow).await.unwrap_err();
    assert_eq!(err, RuntimeError::TimedOut(500));
    let left = docker.exec(&id, &sh("ps -eo args | grep -c '^sleep 30' || true")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&left.stdout.0).trim(), "0", "the timed-out command was stopped");

    let loud = Command { max_output_bytes: Some(1000), ..sh("head -c 100000 /dev/zero | tr '\\0' x") };
    let out = docker.exec(&id, &loud).await.unwrap();
    assert_eq!(out.stdout.0.len(), 1000);
    assert!(out.stdout_truncated && !out.stderr_truncated);

    let input = Command { stdin: Some("from stdin".into()), ..sh("cat") };
    assert_eq!(docker.exec(&id, &input).await.unwrap().stdout.0, b"from stdin");

    let missing = docker.read_file(&id, "main", "/workspace/nope", 10).await.unwrap_err();
    assert!(matches!(missing, RuntimeError::NotFound(_)), "{missing:?}");
    let sneaky = docker.read_file(&id, "main", "/workspace/../etc/shadow", 10).await.unwrap_err();
    assert!(matches!(sneaky, RuntimeError::InvalidPath(_)), "{sneaky:?}");
    let dir = docker.read_file(&id, "main", "/workspace", 10).await.unwrap_err();
    assert!(matches!(dir, RuntimeError::Invalid(_)), "{dir:?}");
    docker.destroy(&id).await.unwrap();
}

#[tokio::test]
async fn bad_requests_and_a_missing_engine_fail_clearly() {
    if !enabled("bad_requests_and_a_missing_engine_fail_clearly") {
        return;
    }
    let err = DockerRuntime::connect_socket("/nonexistent/docker.sock").await.unwrap_err();
    assert!(matches!(err, RuntimeError::Unreachable(_)), "{err:?}");

    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let mut bad = spec(&session("bad"));
    bad.machines[0].image = "proctor/no-such-image:1".into();
    let err = docker.create(&bad).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ImageMissing { .. }), "{err:?}");
    let err = docker.create(&spec("Not A Valid Name")).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Invalid(_)), "{err:?}");
    assert!(docker.list_owned().await.unwrap().iter().all(|o| o.session != bad.session), "a failed create leaves nothing");
}

#[tokio::test]
async fn a_judge_grades_a_real_machine() {
    if !enabled("a_judge_grades_a_real_machine") {
        return;
    }
    let docker: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect().await.expect("engine reachable"));
    let id = session("judge");
    docker.create(&spec(&id)).await.expect("created");
    let engine = engine();
    let judge = engine.load(&wasm(&components().first_steps)).await.unwrap();
    let ctx = || CallContext {
        env: Arc::new(SessionEnvironment::new(docker.clone(), id.clone())),
        grants: Grants::all(),
        limits: Limits::default(),
    };

    let before = engine.check(&judge, &task("first-steps", "create-file"), ctx()).await;
    assert_eq!(before.status, Status::Failed, "{before:#?}");
    assert_eq!(before.checks[0].id, "file_missing");

    docker.exec(&id, &sh("echo 'Hello, Proctor' > /workspace/hello.txt")).await.unwrap();
    let after = engine.check(&judge, &task("first-steps", "create-file"), ctx()).await;
    assert_eq!(after.status, Status::Passed, "{after:#?}");

    docker.exec(&id, &sh("printf '#!/bin/sh\\ncat /workspace/hello.txt\\n' > /workspace/greet.sh")).await.unwrap();
    let not_yet = engine.check(&judge, &task("first-steps", "write-script"), ctx()).await;
    assert_eq!(not_yet.status, Status::Failed);
    assert_eq!(not_yet.checks.iter().filter(|c| !c.passed).count(), 2, "{not_yet:#?}");
    docker.exec(&id, &sh("chmod +x /workspace/greet.sh")).await.unwrap();
    let done = engine.check(&judge, &task("first-steps", "write-script"), ctx()).await;
    assert_eq!(done.status, Status::Passed, "{done:#?}");
    docker.destroy(&id).await.unwrap();
}
