//! The admin UI driven end to end in a real browser: the first
//! administrator signs in with their one-time password and replaces it,
//! uploads a new version of a judge, rolls it back, ends a learner's
//! session and finds all of it in the audit log.
//!
//! It starts a server with the bundled labs on the real engine, the probe
//! judge at version 1 serving, the first administrator made as `proctor
//! serve` makes it, and one learner's running session, then runs
//! `tests/browser/admin.mjs` (Debian's `chromium` driven by
//! `playwright-core`). Its screenshots are kept in
//! `target/browser-artifacts/admin/`. Like the learner's browser test, it
//! runs when `PROCTOR_TEST_DOCKER=1` and the browser's tools are installed;
//! with `PROCTOR_TEST_BROWSER=1` missing tools fail it instead of skipping
//! it.

use std::{sync::Arc, time::Duration};

use proctor::{
    auth::accounts,
    config::Config,
    runtime::docker::DockerRuntime,
    sessions::{Clock, SystemClock},
};
use proctor_tests::{
    EngineCleanup,
    browser::{artifacts_dir, browser_tools},
    components, docker_enabled,
    http::{serve_bundled_labs_on, start_as_guest},
    wasm,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_swaps_a_judge_and_ends_a_session_in_a_real_browser() {
    let test = "an_administrator_swaps_a_judge_and_ends_a_session_in_a_real_browser";
    if !docker_enabled(test) {
        return;
    }
    let Some(tools) = browser_tools(test) else { return };
    let instance = format!("browser-admin-test-{}", std::process::id());
    let _cleanup = EngineCleanup::default().label("dev.proctor.instance", &instance);
    let runtime = DockerRuntime::connect().await.expect("the engine answers").with_instance(&instance);
    let (port, sessions, registry) = serve_bundled_labs_on(Arc::new(runtime), Config::default()).await;

    let v1 = registry.install(&wasm(&components().probe_v1)).await.expect("the probe's version 1 loads");
    let password = accounts::ensure_first_admin(sessions.store(), SystemClock.now())
        .await
        .expect("the first administrator is made")
        .expect("a new store has no administrator yet");
    let (_learner, session, _session_cleanup) = start_as_guest(port, "first-steps").await;

    let url = format!("http://127.0.0.1:{port}");
    let env: [(&str, &std::ffi::OsStr); 5] = [
        ("PROCTOR_URL", url.as_ref()),
        ("PROCTOR_ADMIN_PASSWORD", password.as_ref()),
        ("PROCTOR_JUDGE_NAME", v1.name.as_ref()),
        ("PROCTOR_JUDGE_V2", components().probe_v2.as_ref()),
        ("PROCTOR_SESSION_ID", session.as_ref()),
    ];
    tools.run("admin.mjs", &[], &env, Duration::from_secs(300), &artifacts_dir().join("admin")).await;

    // What the browser was shown is what the server did.
    assert_eq!(registry.serving(&v1.name).expect("the probe serves").version, v1.version, "rolled back to version 1");
    assert_eq!(registry.list().iter().find(|p| p.name == v1.name).map(|p| p.versions.len()), Some(2), "version 2 stays loaded");
    assert_eq!(sessions.get(&session).await.expect("the session is known").phase.as_str(), "ended");
    let audit: Vec<String> = sessions.store().audit_log(50).await.expect("the audit log reads").into_iter().map(|e| format!("{} {}", e.actor, e.action)).collect();
    for action in ["plugin.refused", "plugin.upload_and_serve", "plugin.rollback", "session.end"] {
        assert!(audit.contains(&format!("admin {action}")), "{action} by admin in {audit:?}");
    }
}
