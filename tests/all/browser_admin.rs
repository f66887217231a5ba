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

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use proctor::{
    auth::accounts,
    config::Config,
    runtime::docker::DockerRuntime,
    sessions::{Clock, SystemClock},
};
use proctor_tests::{
    EngineCleanup, components, docker_enabled,
    http::{serve_bundled_labs_on, start_as_guest},
    wasm, workspace,
};

/// Node and Chromium, or why the test cannot run. The same discovery as
/// the learner's browser test (`browser.rs`), which keeps its own private.
struct BrowserTools {
    node: PathBuf,
    chromium: PathBuf,
}

fn browser_tools() -> Result<BrowserTools, String> {
    let node = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("node")).find(|p| p.is_file()))
        .ok_or("node is not installed (apt-get install nodejs)")?;
    let chromium = std::env::var_os("PROCTOR_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Err(format!("{} is missing (apt-get install chromium)", chromium.display()));
    }
    let modules = workspace().join("tests/browser/node_modules/playwright-core");
    if !modules.is_dir() {
        return Err(format!("playwright-core is not installed: run `npm ci` in {}", workspace().join("tests/browser").display()));
    }
    Ok(BrowserTools { node, chromium })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_swaps_a_judge_and_ends_a_session_in_a_real_browser() {
    let test = "an_administrator_swaps_a_judge_and_ends_a_session_in_a_real_browser";
    if !docker_enabled(test) {
        return;
    }
    let tools = match browser_tools() {
        Ok(tools) => tools,
        Err(missing) if std::env::var("PROCTOR_TEST_BROWSER").is_ok_and(|v| v == "1") => {
            panic!("PROCTOR_TEST_BROWSER=1 but the browser test cannot run: {missing}")
        }
        Err(missing) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped {test}: {missing} (set PROCTOR_TEST_BROWSER=1 to make this a failure)");
            return;
        }
    };
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

    let script = workspace().join("tests/browser/admin.mjs");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let artifacts = target.join("browser-artifacts");
    let run = tokio::process::Command::new(&tools.node)
        .arg(&script)
        .env("PROCTOR_URL", format!("http://127.0.0.1:{port}"))
        .env("PROCTOR_ADMIN_PASSWORD", &password)
        .env("PROCTOR_JUDGE_NAME", &v1.name)
        .env("PROCTOR_JUDGE_V2", &components().probe_v2)
        .env("PROCTOR_SESSION_ID", &session)
        .env("PROCTOR_ARTIFACTS", &artifacts)
        .env("PROCTOR_CHROMIUM", &tools.chromium)
        .current_dir(script.parent().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser test finishes within 5 minutes")
        .expect("node runs");
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let shots = artifacts.join("admin");
    assert!(output.status.success(), "the admin browser test failed ({}); screenshots in {}:\n{log}", output.status, shots.display());
    assert!(log.contains("steps passed"), "{log}");

    // What the browser was shown is what the server did.
    assert_eq!(registry.serving(&v1.name).expect("the probe serves").version, v1.version, "rolled back to version 1");
    assert_eq!(registry.list().iter().find(|p| p.name == v1.name).map(|p| p.versions.len()), Some(2), "version 2 stays loaded");
    assert_eq!(sessions.get(&session).await.expect("the session is known").phase.as_str(), "ended");
    let audit: Vec<String> = sessions.store().audit_log(50).await.expect("the audit log reads").into_iter().map(|e| format!("{} {}", e.actor, e.action)).collect();
    for action in ["plugin.refused", "plugin.upload_and_serve", "plugin.rollback", "session.end"] {
        assert!(audit.contains(&format!("admin {action}")), "{action} by admin in {audit:?}");
    }
}
