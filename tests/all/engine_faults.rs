//! The engine going away mid-call, seen through a relay the test cuts: the
//! call fails cleanly and at once, the server keeps serving and says it is
//! not ready, and everything works again when the engine is back.

use std::{sync::Arc, time::Duration};

use proctor::{
    capabilities::Command,
    runtime::{MachineSpec, Resources, Runtime, RuntimeError, docker::DockerRuntime},
    server::{self, AppState},
    sessions::{LabEnvironment, Lifetime, SessionError, SessionPolicy, Sessions},
};
use proctor_tests::{databases::sqlite, docker_enabled, engine, engine_proxy::EngineProxy, engine_socket, test_image};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(port: u16, path: &str) -> String {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("the server is listening");
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn an_engine_that_vanishes_mid_exec_fails_the_call_cleanly_and_the_server_serves_on() {
    if !docker_enabled("an_engine_that_vanishes_mid_exec_fails_the_call_cleanly_and_the_server_serves_on") {
        return;
    }
    let proxy = EngineProxy::start(engine_socket());
    let runtime: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect_socket(&proxy.path().display().to_string()).await.unwrap());
    let sessions = Sessions::new(sqlite().await, runtime.clone(), SessionPolicy::default());
    let hour = Duration::from_secs(3600);
    sessions.set_lab(LabEnvironment {
        lab: "faults".into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: test_image().into(),
            resources: Resources { memory_bytes: 64 << 20, cpus: 0.5, pids: 64 },
            workdir: "/workspace".into(),
        }],
        lifetime: Lifetime { ttl: hour, extend_by: hour, max_extensions: 0, max_total: hour },
        warm_pool: 0,
        workspace: None,
        setup: None,
        egress: vec![],
    });
    let session = sessions.start("ann", "faults").await.unwrap().session;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = AppState::new(
        proctor::plugins::Registry::new(engine()),
        proctor::config::Config::default(),
        sessions.clone(),
        proctor::labs::Catalog::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve_on(listener, state, async move {
        let _ = stopped.await;
    }));
    assert!(get(port, "/readyz").await.starts_with("HTTP/1.1 200"));

    // A long command, then the engine goes away under it.
    let long = Command {
        machine: "main".into(),
        argv: vec!["sh".into(), "-c".into(), "echo started; sleep 60".into()],
        timeout: Some(Duration::from_secs(120)),
        ..Command::default()
    };
    let exec = tokio::spawn({
        let runtime = runtime.clone();
        let id = session.id.clone();
        async move { runtime.exec(&id, &long).await }
    });
    let direct = DockerRuntime::connect().await.unwrap();
    let ps = Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), "ps -eo args | grep -c '^sleep 60'".into()], ..Command::default() };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while String::from_utf8_lossy(&direct.exec(&session.id, &ps).await.unwrap().stdout.0).trim() != "1" {
        assert!(tokio::time::Instant::now() < deadline, "the long command never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.cut();
    // Well before the command's own 120 s limit: the failure is seen at once.
    let failed = tokio::time::timeout(Duration::from_secs(20), exec).await.expect("the call ended").unwrap();
    let err = failed.expect_err("the call cannot succeed without the engine");
    assert!(matches!(err, RuntimeError::Unreachable(_)), "{err:?}");

    // The server serves on and says what is wrong.
    assert!(get(port, "/healthz").await.starts_with("HTTP/1.1 200"));
    let readyz = get(port, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 503") && readyz.contains("unreachable"), "{readyz}");
    let refused = sessions.start("bo", "faults").await.unwrap_err();
    assert!(matches!(refused, SessionError::Runtime(RuntimeError::Unreachable(_))), "{refused:?}");
    let still = sessions.get(&session.id).await.unwrap();
    assert_eq!(still.phase, proctor::sessions::Phase::Running, "a live session is not given up for an engine hiccup");

    // The engine is back: the same handles work again.
    proxy.resume();
    assert!(get(port, "/readyz").await.starts_with("HTTP/1.1 200"));
    let echo = Command { machine: "main".into(), argv: vec!["echo".into(), "back".into()], ..Command::default() };
    assert_eq!(runtime.exec(&session.id, &echo).await.unwrap().stdout.0, b"back\n");
    sessions.end(&session.id, proctor::sessions::EndReason::Admin).await.unwrap();
    assert!(direct.list_owned().await.unwrap().iter().all(|o| o.session != session.id), "nothing left behind");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
