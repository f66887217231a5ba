//! The learner UI: served by the server's router (client routes answer the
//! page, API paths stay JSON), and driven end to end in a real browser.
//!
//! The browser test starts a server with the bundled labs on the real
//! engine and runs `tests/browser/learner.mjs` (Debian's `chromium` driven
//! by `playwright-core`) against it: catalog, start, terminal, a failing and
//! a passing Check, the editor, a reload. Its screenshots are kept in
//! `target/browser-artifacts/`. It runs when `PROCTOR_TEST_DOCKER=1` and
//! the browser's tools are installed; with `PROCTOR_TEST_BROWSER=1` (as CI
//! sets) missing tools fail the test instead of skipping it.

use std::{sync::Arc, time::Duration};

use proctor::{config::Config, labs::Catalog, plugins::Registry, runtime::docker::DockerRuntime, server::AppState, sessions::Sessions};
use proctor_tests::{
    EngineCleanup,
    browser::{artifacts_dir, browser_tools},
    databases::sqlite, docker_enabled, engine,
    http::{self, request, serve_bundled_labs_on},
    memory_runtime::MemoryRuntime,
};

#[tokio::test]
async fn the_ui_is_served_at_every_client_route_and_api_paths_stay_json() {
    let sessions = Sessions::new(sqlite().await, Arc::new(MemoryRuntime::default()), Default::default());
    let port = http::serve(AppState::new(Registry::new(engine()), Config::default(), sessions, Catalog::default())).await;

    for path in ["/", "/labs/first-steps", "/sessions/s0123456789abcdef"] {
        let page = request(port, "GET", path, &[], None).await;
        assert_eq!(page.status, 200, "{path}: {page:?}");
        assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{path}: {page:?}");
        assert!(page.text.contains("<div id=\"app\">"), "{path}: {}", page.text);
    }
    let script = proctor::web::ASSETS.iter().find(|a| a.path.starts_with("/app-") && a.path.ends_with(".js")).expect("the entry script in the bundle");
    let js = request(port, "GET", script.path, &[], None).await;
    assert_eq!(js.status, 200);
    assert!(js.header("cache-control").is_some_and(|c| c.contains("immutable")), "{js:?}");

    for path in ["/api/v1/no-such-thing", "/api/v2/labs", "/api"] {
        let missing = request(port, "GET", path, &[], None).await;
        assert_eq!((missing.status, missing.json["error"]["code"].as_str()), (404, Some("no_such_endpoint")), "{path}: {missing:?}");
    }
    let health = request(port, "GET", "/healthz", &[], None).await;
    assert_eq!(health.json["status"], "ok", "{health:?}");
}

/// A server with the bundled labs on the real engine, its objects labelled
/// with their own `instance` so the test can remove all of them.
async fn serve_labs(instance: &str) -> u16 {
    let runtime = DockerRuntime::connect().await.expect("the engine answers").with_instance(instance);
    serve_bundled_labs_on(Arc::new(runtime), Config::default()).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_does_the_first_steps_lab_in_a_real_browser() {
    let test = "a_learner_does_the_first_steps_lab_in_a_real_browser";
    if !docker_enabled(test) {
        return;
    }
    let Some(tools) = browser_tools(test) else { return };
    let instance = format!("browser-test-{}", std::process::id());
    let _cleanup = EngineCleanup::default().label("dev.proctor.instance", &instance);
    let port = serve_labs(&instance).await;
    let artifacts = artifacts_dir();
    tools.run("learner.mjs", &[format!("http://127.0.0.1:{port}"), artifacts.display().to_string()], &[], Duration::from_secs(600), &artifacts).await;
}
