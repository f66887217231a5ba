//! The Docker runtime on a real engine. Runs when `PROCTOR_TEST_DOCKER=1`
//! (CI sets it, after starting `dockerd` and building the base image with
//! `scripts/build-base-image`); otherwise each test says it skipped.
//!
//! Every session a test makes is removed by a guard even when the test
//! fails, so a failed run leaves nothing on the engine.

mod images;
mod workspace;

use std::{sync::Arc, time::Duration};

use proctor::{
    capabilities::{Command, Grants},
    plugins::{CallContext, Limits, Status},
    runtime::{
        EnvironmentSpec, MachineSpec, Resources, Runtime, RuntimeError, docker::DockerRuntime,
        session_env::SessionEnvironment,
    },
};
use proctor_tests::{EngineCleanup, components, docker_enabled, engine, task, test_image, wasm};

pub(crate) fn spec(session: &str) -> EnvironmentSpec {
    EnvironmentSpec {
        session: session.into(),
        lab: "runtime-test".into(),
        owner: "tester".into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: test_image().into(),
            resources: Resources { memory_bytes: 128 << 20, cpus: 0.5, pids: 64 },
            workdir: "/workspace".into(),
        }],
        egress: vec![],
    }
}

pub(crate) fn sh(script: &str) -> Command {
    Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() }
}

/// A session id no other test run uses.
pub(crate) fn session(name: &str) -> String {
    format!("t{}-{name}", std::process::id())
}

/// Runs the docker CLI and returns its standard output.
pub(crate) fn docker_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("docker").args(args).output().expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes everything labelled with a session when dropped, test passed or
/// not.
pub(crate) fn cleanup(session: &str) -> EngineCleanup {
    EngineCleanup::default().label("dev.proctor.session", session)
}

/// The engine and a fresh session named after `name`, with its cleanup
/// guard, or `None` (having said so) when the Docker tests are off.
pub(crate) async fn started(test: &str, name: &str) -> Option<(DockerRuntime, String, EngineCleanup)> {
    if !docker_enabled(test) {
        return None;
    }
    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let id = session(name);
    let guard = cleanup(&id);
    docker.create(&spec(&id)).await.expect("created");
    Some((docker, id, guard))
}

#[tokio::test]
async fn an_environment_runs_commands_keeps_files_and_leaves_nothing_behind() {
    let Some((docker, id, _guard)) = started("an_environment_runs_commands_keeps_files_and_leaves_nothing_behind", "life").await
    else {
        return;
    };

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
    let Some((docker, id, _guard)) = started("commands_are_bounded_in_time_and_output", "bounds").await else {
        return;
    };

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
    if !docker_enabled("bad_requests_and_a_missing_engine_fail_clearly") {
        return;
    }
    let err = DockerRuntime::connect_socket("/nonexistent/docker.sock").await.unwrap_err();
    assert!(matches!(err, RuntimeError::Unreachable(_)), "{err:?}");

    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let mut bad = spec(&session("bad"));
    let _guard = cleanup(&bad.session);
    bad.machines[0].image = "proctor/no-such-image:1".into();
    let err = docker.create(&bad).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ImageMissing { .. }), "{err:?}");
    let err = docker.create(&spec("Not A Valid Name")).await.unwrap_err();
    assert!(matches!(err, RuntimeError::Invalid(_)), "{err:?}");
    assert!(docker.list_owned().await.unwrap().iter().all(|o| o.session != bad.session), "a failed create leaves nothing");
}

#[tokio::test]
async fn a_judge_grades_a_real_machine() {
    let Some((docker, id, _guard)) = started("a_judge_grades_a_real_machine", "judge").await else {
        return;
    };
    let docker: Arc<dyn Runtime> = Arc::new(docker);
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

#[tokio::test]
async fn a_batch_runs_as_one_exec_and_keeps_each_result_apart() {
    let Some((docker, id, _guard)) = started("a_batch_runs_as_one_exec_and_keeps_each_result_apart", "batch").await else {
        return;
    };
    let argv = |a: &[&str]| Command { machine: "main".into(), argv: a.iter().map(|s| s.to_string()).collect(), ..Command::default() };
    let cmds = [
        Command { env: vec![("GREETING".into(), "it's here".into())], ..sh("echo \"$GREETING\"; exit 4") },
        Command { workdir: Some("/etc".into()), ..argv(&["pwd"]) },
        argv(&["printf", "%s", "a'b\"c $HOME"]),
        Command { max_output_bytes: Some(10), ..sh("head -c 5000 /dev/zero | tr '\\0' y; echo oops >&2") },
        argv(&["no-such-program"]),
    ];
    let results = docker.exec_batch(&id, &cmds).await;
    let out: Vec<_> = results.into_iter().map(|r| r.expect("ran")).collect();
    assert_eq!((out[0].exit_code, out[0].stdout.0.as_slice()), (4, &b"it's here\n"[..]));
    assert_eq!(out[1].stdout.0, b"/etc\n");
    assert_eq!(out[2].stdout.0, b"a'b\"c $HOME", "arguments reach the program unchanged");
    assert_eq!((out[3].stdout.0.as_slice(), out[3].stdout_truncated, out[3].stderr.0.as_slice()), (&b"yyyyyyyyyy"[..], true, &b"oops\n"[..]));
    assert_eq!(out[4].exit_code, 127);
    docker.destroy(&id).await.unwrap();
}

#[tokio::test]
async fn a_batch_on_an_image_without_a_shell_runs_each_command_alone() {
    if !docker_enabled("a_batch_on_an_image_without_a_shell_runs_each_command_alone") {
        return;
    }
    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let id = session("noshell");
    let _guard = cleanup(&id);
    let mut no_shell = spec(&id);
    // The base image's coreutils, without /bin/sh: built here, no registry.
    no_shell.machines[0].image = "proctor/test-no-shell:1".into();
    let built = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "docker image inspect proctor/test-no-shell:1 >/dev/null 2>&1 || \
             printf 'FROM proctor/base:bookworm\\nRUN rm /bin/sh /usr/bin/sh /bin/dash /usr/bin/dash 2>/dev/null; true\\n' \
             | docker build -q -t proctor/test-no-shell:1 - >/dev/null",
        )
        .status()
        .expect("docker CLI");
    assert!(built.success(), "could not build the shell-less image");
    docker.create(&no_shell).await.expect("created");
    let argv = |a: &[&str]| Command { machine: "main".into(), argv: a.iter().map(|s| s.to_string()).collect(), ..Command::default() };
    let results = docker.exec_batch(&id, &[argv(&["echo", "one"]), argv(&["false"])]).await;
    docker.destroy(&id).await.unwrap();
    let out: Vec<_> = results.into_iter().map(|r| r.expect("ran")).collect();
    assert_eq!((out[0].exit_code, out[0].stdout.0.as_slice()), (0, &b"one\n"[..]));
    assert_eq!(out[1].exit_code, 1);
}
