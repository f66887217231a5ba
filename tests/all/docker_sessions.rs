//! Sessions on a real Docker engine: TTL expiry removes everything, a
//! restarted server adopts running sessions and removes orphans, warm pools
//! hand over real containers, and a kept workspace survives from one
//! session to the next. Runs when `PROCTOR_TEST_DOCKER=1`.

use std::{sync::Arc, time::Duration};

use proctor::{
    capabilities::Command,
    runtime::{EnvironmentSpec, MachineSpec, Resources, Runtime, docker::DockerRuntime},
    sessions::{EndReason, LabEnvironment, Lifetime, Phase, SessionPolicy, Sessions, WorkspacePersistence, WorkspaceRestore},
    store::Store,
};
use proctor_tests::{EngineCleanup, databases::sqlite, docker_enabled, on_engine, test_image};

fn lab(id: &str, ttl: Duration, warm_pool: u32, keep_workspace: bool) -> LabEnvironment {
    LabEnvironment {
        lab: id.into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: test_image().into(),
            resources: Resources { memory_bytes: 64 << 20, cpus: 0.5, pids: 64 },
            workdir: "/workspace".into(),
        }],
        lifetime: Lifetime { ttl, extend_by: ttl, max_extensions: 1, max_total: ttl * 2 },
        warm_pool,
        workspace: keep_workspace.then(|| WorkspacePersistence {
            machine: "main".into(),
            path: "/workspace".into(),
            max_bytes: 8 << 20,
        }),
        setup: None,
        egress: vec![],
    }
}

fn sh(script: &str) -> Command {
    Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() }
}

/// A learner name no other test run uses.
fn learner(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Removes whatever `learner(name)` leaves on the engine if the test fails.
fn cleanup(name: &str) -> EngineCleanup {
    EngineCleanup::default().label("dev.proctor.owner", &learner(name))
}

/// What the engine holds for `session`.
fn leftovers(session: &str) -> Vec<String> {
    on_engine("dev.proctor.session", session)
}

async fn manager(store: Store, runtime: Arc<dyn Runtime>) -> Sessions {
    let sessions = Sessions::new(store, runtime, SessionPolicy::default());
    sessions.set_lab(lab("docker-short", Duration::from_millis(1), 0, false));
    sessions.set_lab(lab("docker-long", Duration::from_secs(3600), 0, false));
    sessions
}

#[tokio::test]
async fn an_expired_session_leaves_nothing_on_the_engine() {
    if !docker_enabled("an_expired_session_leaves_nothing_on_the_engine") {
        return;
    }
    let runtime: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect().await.unwrap());
    let _cleanup = cleanup("ttl");
    let sessions = manager(sqlite().await, runtime.clone()).await;
    let s = sessions.start(&learner("ttl"), "docker-short").await.unwrap().session;
    assert!(!leftovers(&s.id).is_empty(), "the session has a container and a network");
    // Its one millisecond is over by now; the reaper's pass ends it.
    let report = sessions.reap().await.unwrap();
    assert!(report.ended.contains(&(s.id.clone(), EndReason::Expired)), "{report:?}");
    assert_eq!(sessions.get(&s.id).await.unwrap().phase, Phase::Ended);
    assert_eq!(leftovers(&s.id), Vec::<String>::new());
}

#[tokio::test]
async fn a_restarted_server_adopts_its_sessions_and_removes_orphans() {
    if !docker_enabled("a_restarted_server_adopts_its_sessions_and_removes_orphans") {
        return;
    }
    let orphan = format!("orphan{}", std::process::id());
    let neighbour = format!("neighbour{}", std::process::id());
    let _cleanup = cleanup("adopt").label("dev.proctor.session", &orphan).label("dev.proctor.session", &neighbour);
    // A server of its own on the shared engine: the other tests' sessions
    // are another server's, and reconciling must not touch them.
    let docker = Arc::new(DockerRuntime::connect().await.unwrap().with_instance(format!("adopt-{}", std::process::id())));
    let other_server = DockerRuntime::connect().await.unwrap().with_instance(format!("other-{}", std::process::id()));
    other_server
        .create(&EnvironmentSpec { session: neighbour.clone(), lab: "docker-long".into(), owner: "someone".into(), machines: lab("x", Duration::ZERO, 0, false).machines, egress: vec![] })
        .await
        .unwrap();
    let store = sqlite().await;
    let before = manager(store.clone(), docker.clone()).await;
    let kept = before.start(&learner("adopt"), "docker-long").await.unwrap().session;
    docker.exec(&kept.id, &sh("echo still-here > /workspace/mark")).await.unwrap();
    // An environment no store knows: what a crash between create and record,
    // or another server's leftovers, look like.
    docker
        .create(&EnvironmentSpec { session: orphan.clone(), lab: "docker-long".into(), owner: "nobody".into(), machines: lab("x", Duration::ZERO, 0, false).machines, egress: vec![] })
        .await
        .unwrap();
    drop(before);

    let after = manager(store, docker.clone()).await;
    let report = after.reconcile().await.unwrap();
    assert!(report.adopted.contains(&kept.id), "{report:?}");
    assert_eq!(report.removed_orphans, vec![orphan.clone()], "only this server's orphan");
    assert!(!on_engine("dev.proctor.session", &neighbour).is_empty(), "another server's session is left alone");
    assert_eq!(leftovers(&orphan), Vec::<String>::new(), "the orphan is gone");
    let mark = docker.exec(&kept.id, &sh("cat /workspace/mark")).await.unwrap();
    assert_eq!(mark.stdout.0, b"still-here\n", "the adopted session is the same environment");
    after.end(&kept.id, EndReason::Admin).await.unwrap();
    assert_eq!(leftovers(&kept.id), Vec::<String>::new());
    other_server.destroy(&neighbour).await.unwrap();
}

#[tokio::test]
async fn a_warm_pool_hands_over_a_running_container() {
    if !docker_enabled("a_warm_pool_hands_over_a_running_container") {
        return;
    }
    let docker: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect().await.unwrap());
    let sessions = manager(sqlite().await, docker.clone()).await;
    let pool_lab = format!("docker-pool-{}", std::process::id());
    let _cleanup = EngineCleanup::default().label("dev.proctor.lab", &pool_lab);
    sessions.set_lab(lab(&pool_lab, Duration::from_secs(3600), 1, false));
    assert_eq!(sessions.fill_pool(&pool_lab).await.unwrap(), 1);
    let got = sessions.start(&learner("pool"), &pool_lab).await.unwrap();
    assert!(got.from_pool, "{got:?}");
    let out = docker.exec(&got.session.id, &sh("echo ready")).await.unwrap();
    assert_eq!(out.stdout.0, b"ready\n");
    sessions.end(&got.session.id, EndReason::Admin).await.unwrap();
    // The refill started in the background; end whatever the pool holds.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pool = sessions.store().pooled(&pool_lab).await.unwrap();
        if pool.iter().all(|p| p.phase == Phase::Pooled) && !pool.is_empty() {
            for p in pool {
                sessions.end(&p.id, EndReason::Admin).await.unwrap();
                assert_eq!(leftovers(&p.id), Vec::<String>::new());
            }
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the pool was not refilled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(leftovers(&got.session.id), Vec::<String>::new());
}

#[tokio::test]
async fn a_kept_workspace_survives_into_the_next_session() {
    if !docker_enabled("a_kept_workspace_survives_into_the_next_session") {
        return;
    }
    let docker: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect().await.unwrap());
    let sessions = manager(sqlite().await, docker.clone()).await;
    sessions.set_lab(lab("docker-keeps", Duration::from_secs(3600), 0, true));
    let ann = learner("keeper");
    let _cleanup = cleanup("keeper");
    let first = sessions.start(&ann, "docker-keeps").await.unwrap().session;
    docker
        .exec(&first.id, &sh("mkdir -p /workspace/src && echo 'print(42)' > /workspace/src/main.py && chmod 755 /workspace/src/main.py && echo gone > /tmp/scratch"))
        .await
        .unwrap();
    sessions.end(&first.id, EndReason::Learner).await.unwrap();

    let second = sessions.start(&ann, "docker-keeps").await.unwrap();
    assert_eq!(second.workspace, WorkspaceRestore::Restored);
    let out = docker.exec(&second.session.id, &sh("stat -c %a /workspace/src/main.py; python3 /workspace/src/main.py; test -e /tmp/scratch || echo no-scratch")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout.0), "755\n42\nno-scratch\n", "{out:?}");
    sessions.end(&second.session.id, EndReason::Learner).await.unwrap();
    assert_eq!(leftovers(&second.session.id), Vec::<String>::new());
}

#[tokio::test]
async fn more_sessions_than_the_engines_default_address_pools_allow() {
    if !docker_enabled("more_sessions_than_the_engines_default_address_pools_allow") {
        return;
    }
    use futures::StreamExt;
    // A default engine has room for about 30 networks of its own choosing.
    let owner = learner("many");
    let _cleanup = cleanup("many");
    let docker = Arc::new(DockerRuntime::connect().await.unwrap());
    let ids: Vec<String> = (0..40).map(|i| format!("many{}-{i}", std::process::id())).collect();
    let machines = lab("x", Duration::ZERO, 0, false).machines;
    let created: Vec<_> = futures::stream::iter(ids.iter().map(|id| {
        let spec = EnvironmentSpec { session: id.clone(), lab: "many".into(), owner: owner.clone(), machines: machines.clone(), egress: vec![] };
        let docker = docker.clone();
        async move { docker.create(&spec).await }
    }))
    .buffer_unordered(4)
    .collect()
    .await;
    let failures: Vec<_> = created.iter().filter_map(|r| r.as_ref().err()).collect();
    let subnets = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker network ls -q --filter label=dev.proctor.owner={owner} | xargs docker network inspect -f '{{{{(index .IPAM.Config 0).Subnet}}}}' | sort -u | wc -l"
        ))
        .output()
        .unwrap();
    let distinct: usize = String::from_utf8_lossy(&subnets.stdout).trim().parse().unwrap_or(0);
    futures::stream::iter(ids.iter().map(|id| docker.destroy(id))).buffer_unordered(8).collect::<Vec<_>>().await;
    assert!(failures.is_empty(), "{} of 40 failed; first: {:?}", failures.len(), failures.first());
    assert_eq!(distinct, 40, "each session has a subnet of its own");
    assert_eq!(on_engine("dev.proctor.owner", &owner), Vec::<String>::new());
}
