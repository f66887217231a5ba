//! The admin API beyond judges, over HTTP: labs reloaded from disk and
//! disabled or enabled, limits changed at run time (and kept across a
//! restart), accounts created, changed, disabled and reset, the last
//! administrator kept, plugin counters, uploads refused by the dry run
//! against a lab's recorded cases, and uploads and serving choices shared
//! by replicas and kept across a restart.

use std::{path::Path, sync::Arc};

use proctor::{
    auth::Role,
    config::Config,
    labs::Catalog,
    plugins::Registry,
    server::AppState,
    sessions::Sessions,
    store::Store,
};
use proctor_tests::{
    components, databases::sqlite, engine,
    http::{self, Answer, account, guest, request, request_bytes},
    memory_runtime::MemoryRuntime,
    wasm,
};
use serde_json::json;

fn code(a: &Answer) -> (u16, Option<&str>) {
    (a.status, a.json["error"]["code"].as_str())
}

/// Writes a one-task lab `id` judged by `plugin`; with `expect`, the task
/// has a recorded case (no capability calls) that must grade so.
fn write_lab(root: &Path, id: &str, plugin: &str, expect: Option<&str>) {
    let dir = root.join(id);
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(dir.join("steps/one.md"), "# One\n\nDo the thing.\n").unwrap();
    let mut toml = format!(
        "id = \"{id}\"\ntitle = \"Lab {id}\"\ndescription = \"A test lab.\"\ndifficulty = \"beginner\"\nduration_minutes = 5\n\n\
         [runtime]\nttl_minutes = 60\n\n[[machines]]\nname = \"main\"\nimage = \"any\"\n\n\
         [judge]\nplugin = \"{plugin}\"\ncapabilities = [\"exec\"]\n"
    );
    if let Some(expect) = expect {
        std::fs::create_dir_all(dir.join("fixtures")).unwrap();
        std::fs::write(dir.join("fixtures/one.json"), r#"{ "calls": [] }"#).unwrap();
        toml.push_str(&format!("\n[[judge.fixtures]]\ntask = \"one\"\nfile = \"fixtures/one.json\"\nexpect = \"{expect}\"\n"));
    }
    toml.push_str("\n[[tasks]]\nid = \"one\"\ntitle = \"One\"\nstep = \"steps/one.md\"\n");
    std::fs::write(dir.join("lab.toml"), toml).unwrap();
}

/// A server on the in-memory runtime serving the labs under `root`.
async fn serve(store: Store, root: &Path, registry: Registry) -> (u16, Sessions) {
    let config = Config { scenarios_dir: root.to_path_buf(), ..Config::default() };
    let sessions = Sessions::new(store, Arc::new(MemoryRuntime::default()), config.sessions.policy());
    let labs = Catalog::load(root).unwrap();
    for lab in &labs.labs {
        sessions.set_lab(lab.environment(&config.sessions.default_lifetime()).expect("a Docker lab"));
    }
    let port = http::serve(AppState::new(registry, config, sessions.clone(), labs)).await;
    (port, sessions)
}

fn ids(answer: &Answer, key: &str) -> Vec<String> {
    answer.json.as_array().unwrap_or(&vec![]).iter().chain(answer.json["labs"].as_array().unwrap_or(&vec![])).filter_map(|l| l[key].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn staff_reload_labs_from_disk_and_disable_them_across_a_restart() {
    let root = tempfile::tempdir().unwrap();
    write_lab(root.path(), "alpha", "judge-x", None);
    let store = sqlite().await;
    let (port, _) = serve(store.clone(), root.path(), Registry::new(engine())).await;
    let ada = account(port, &store, "ada", Role::Author).await;
    let staff = [("Authorization", ada.as_str())];
    let learner = guest(port).await;
    let learner = [("Authorization", learner.as_str())];

    let listed = request(port, "GET", "/api/v1/admin/labs", &staff, None).await;
    assert_eq!((ids(&listed, "id"), listed.json["labs"][0]["enabled"].as_bool(), listed.json["labs"][0]["judge"].as_str()), (vec!["alpha".to_owned()], Some(true), Some("judge-x")), "{listed:?}");

    // New, broken and vanished labs are seen at the next reload.
    write_lab(root.path(), "beta", "judge-x", None);
    std::fs::create_dir_all(root.path().join("broken")).unwrap();
    std::fs::write(root.path().join("broken/lab.toml"), "id = \"broken\"\n").unwrap();
    assert_eq!(code(&request(port, "POST", "/api/v1/sessions", &learner, Some(&json!({"lab": "beta"}))).await), (404, Some("unknown_lab")), "not before the reload");
    let reloaded = request(port, "POST", "/api/v1/admin/labs/reload", &staff, None).await;
    assert_eq!(ids(&reloaded, "id"), ["alpha", "beta"], "{reloaded:?}");
    assert!(reloaded.json["invalid"][0]["message"].as_str().unwrap().contains("title"), "{reloaded:?}");
    let beta = request(port, "POST", "/api/v1/sessions", &learner, Some(&json!({"lab": "beta"}))).await;
    assert_eq!(beta.status, 201, "{beta:?}");
    std::fs::remove_dir_all(root.path().join("alpha")).unwrap();
    request(port, "POST", "/api/v1/admin/labs/reload", &staff, None).await;
    assert_eq!(ids(&request(port, "GET", "/api/v1/labs", &learner, None).await, "id"), ["beta"]);
    assert_eq!(code(&request(port, "POST", "/api/v1/sessions", &learner, Some(&json!({"lab": "alpha"}))).await), (404, Some("unknown_lab")));

    // A disabled lab leaves the catalog and refuses new sessions; running ones go on.
    let off = request(port, "PUT", "/api/v1/admin/labs/beta/enabled", &staff, Some(&json!({"enabled": false}))).await;
    assert_eq!(off.json["enabled"], false, "{off:?}");
    assert!(ids(&request(port, "GET", "/api/v1/labs", &learner, None).await, "id").is_empty());
    let other = guest(port).await;
    let refused = request(port, "POST", "/api/v1/sessions", &[("Authorization", other.as_str())], Some(&json!({"lab": "beta"}))).await;
    assert_eq!(code(&refused), (409, Some("lab_disabled")), "{refused:?}");
    let running = request(port, "GET", &format!("/api/v1/sessions/{}", beta.json["id"].as_str().unwrap()), &learner, None).await;
    assert_eq!(running.json["status"], "running", "{running:?}");
    assert_eq!(code(&request(port, "PUT", "/api/v1/admin/labs/nope/enabled", &staff, Some(&json!({"enabled": false}))).await), (404, Some("unknown_lab")));

    // Another server on the same store (a restart, a replica) agrees.
    let (second, _) = serve(store.clone(), root.path(), Registry::new(engine())).await;
    let again = request(second, "POST", "/api/v1/sessions", &[("Authorization", guest(second).await.as_str())], Some(&json!({"lab": "beta"}))).await;
    assert_eq!(code(&again), (409, Some("lab_disabled")), "{again:?}");
    request(port, "PUT", "/api/v1/admin/labs/beta/enabled", &staff, Some(&json!({"enabled": true}))).await;
    let back = request(port, "POST", "/api/v1/sessions", &[("Authorization", other.as_str())], Some(&json!({"lab": "beta"}))).await;
    assert_eq!(back.status, 201, "{back:?}");

    let audit = request(port, "GET", "/api/v1/admin/audit", &[("Authorization", account(port, &store, "root", Role::Admin).await.as_str())], None).await;
    let actions: Vec<&str> = audit.json.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| a.starts_with("lab")).copied().collect::<Vec<_>>(), ["lab.enable", "lab.disable", "labs.reload", "labs.reload"], "{actions:?}");
}

#[tokio::test]
async fn administrators_change_limits_at_run_time_and_they_hold_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    for id in ["alpha", "beta", "gamma"] {
        write_lab(root.path(), id, "judge-x", None);
    }
    let store = sqlite().await;
    let (port, _) = serve(store.clone(), root.path(), Registry::new(engine())).await;
    let root_auth = account(port, &store, "root", Role::Admin).await;
    let admin = [("Authorization", root_auth.as_str())];
    let ada = account(port, &store, "ada", Role::Author).await;

    let limits = request(port, "GET", "/api/v1/admin/limits", &admin, None).await;
    assert_eq!(limits.json, json!({"max_sessions": 50, "max_per_learner": 2, "idle_timeout_seconds": 1800, "hints_per_minute": 5, "max_ttl_minutes": null}), "{limits:?}");
    assert_eq!(request(port, "GET", "/api/v1/admin/limits", &[("Authorization", ada.as_str())], None).await.status, 403, "authors do not set limits");
    let bad = request(port, "PUT", "/api/v1/admin/limits", &admin, Some(&json!({"max_per_learner": 0}))).await;
    assert_eq!(code(&bad), (422, Some("invalid_settings")), "{bad:?}");
    let typo = request(port, "PUT", "/api/v1/admin/limits", &admin, Some(&json!({"max_per_lerner": 1}))).await;
    assert_eq!(typo.status, 422, "{typo:?}");

    let changed = request(port, "PUT", "/api/v1/admin/limits", &admin, Some(&json!({"max_per_learner": 1, "max_ttl_minutes": 10}))).await;
    assert_eq!((changed.json["max_per_learner"].as_u64(), changed.json["max_ttl_minutes"].as_u64(), changed.json["max_sessions"].as_u64()), (Some(1), Some(10), Some(50)), "{changed:?}");
    let learner = guest(port).await;
    let learner = [("Authorization", learner.as_str())];
    let first = request(port, "POST", "/api/v1/sessions", &learner, Some(&json!({"lab": "alpha"}))).await;
    assert_eq!(first.status, 201, "{first:?}");
    let given = first.json["expires_at"].as_i64().unwrap() - first.json["started_at"].as_i64().unwrap();
    assert_eq!(given, 10 * 60_000, "the TTL cap shortens a 60-minute lab: {first:?}");
    let second = request(port, "POST", "/api/v1/sessions", &learner, Some(&json!({"lab": "beta"}))).await;
    assert_eq!(code(&second), (429, Some("learner_limit")), "{second:?}");

    // An account's own cap overrides the server's.
    let lee = account(port, &store, "lee", Role::Learner).await;
    let lee_id = request(port, "GET", "/api/v1/auth/me", &[("Authorization", lee.as_str())], None).await.json["id"].as_str().unwrap().to_owned();
    let capped = request(port, "PATCH", &format!("/api/v1/admin/users/{lee_id}"), &admin, Some(&json!({"max_sessions": 2}))).await;
    assert_eq!(capped.json["max_sessions"], 2, "{capped:?}");
    for lab in ["alpha", "beta"] {
        let started = request(port, "POST", "/api/v1/sessions", &[("Authorization", lee.as_str())], Some(&json!({"lab": lab}))).await;
        assert_eq!(started.status, 201, "{lab}: {started:?}");
    }
    let third = request(port, "POST", "/api/v1/sessions", &[("Authorization", lee.as_str())], Some(&json!({"lab": "gamma"}))).await;
    assert_eq!(code(&third), (429, Some("learner_limit")), "{third:?}");

    // Kept in the store: a restarted server (or another replica) applies them.
    let (restarted, _) = serve(store.clone(), root.path(), Registry::new(engine())).await;
    let after = request(restarted, "GET", "/api/v1/admin/limits", &admin, None).await;
    assert_eq!((after.json["max_per_learner"].as_u64(), after.json["max_ttl_minutes"].as_u64()), (Some(1), Some(10)), "{after:?}");
    let cleared = request(restarted, "PUT", "/api/v1/admin/limits", &admin, Some(&json!({"max_ttl_minutes": null}))).await;
    assert_eq!((cleared.json["max_ttl_minutes"].is_null(), cleared.json["max_per_learner"].as_u64()), (true, Some(1)), "{cleared:?}");
    let audit = request(port, "GET", "/api/v1/admin/audit", &admin, None).await;
    assert_eq!(audit.json.as_array().unwrap().iter().filter(|e| e["action"] == "limits.change").count(), 2, "{audit:?}");
}

#[tokio::test]
async fn administrators_manage_accounts_and_keep_the_last_administrator() {
    let root = tempfile::tempdir().unwrap();
    let store = sqlite().await;
    let (port, _) = serve(store.clone(), root.path(), Registry::new(engine())).await;
    let root_auth = account(port, &store, "root", Role::Admin).await;
    let admin = [("Authorization", root_auth.as_str())];
    let ada = account(port, &store, "ada", Role::Author).await;
    assert_eq!(request(port, "GET", "/api/v1/admin/users", &[("Authorization", ada.as_str())], None).await.status, 403);

    let made = request(port, "POST", "/api/v1/admin/users", &admin, Some(&json!({"login": "noor", "role": "learner", "name": "Noor A."}))).await;
    assert_eq!((made.status, made.json["user"]["must_change_password"].as_bool(), made.json["user"]["name"].as_str()), (201, Some(true), Some("Noor A.")), "{made:?}");
    let otp = made.json["one_time_password"].as_str().unwrap().to_owned();
    let id = made.json["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(code(&request(port, "POST", "/api/v1/admin/users", &admin, Some(&json!({"login": "noor", "role": "learner"}))).await), (409, Some("login_taken")));
    assert_eq!(request(port, "POST", "/api/v1/admin/users", &admin, Some(&json!({"login": "x", "role": "boss"}))).await.status, 422);
    let listed = request(port, "GET", "/api/v1/admin/users", &admin, None).await;
    assert_eq!(ids(&listed, "login"), ["ada", "noor", "root"], "guests are not listed: {listed:?}");

    let login = |secret: String| async move { request(port, "POST", "/api/v1/auth/login", &[], Some(&json!({"login": "noor", "password": secret}))).await };
    let first = login(otp.clone()).await;
    assert_eq!(first.json["user"]["must_change_password"], true, "{first:?}");
    let noor = format!("Bearer {}", first.json["token"].as_str().unwrap());
    let changed = request(port, "POST", "/api/v1/auth/password", &[("Authorization", noor.as_str())], Some(&json!({"current": otp, "new": "seven silver spoons"}))).await;
    assert_eq!(changed.status, 204, "{changed:?}");

    // Promoted, she reaches staff endpoints; disabled, her token stops working.
    let promoted = request(port, "PATCH", &format!("/api/v1/admin/users/{id}"), &admin, Some(&json!({"role": "author"}))).await;
    assert_eq!(promoted.json["role"], "author", "{promoted:?}");
    assert_eq!(request(port, "GET", "/api/v1/admin/labs", &[("Authorization", noor.as_str())], None).await.status, 200);
    request(port, "PATCH", &format!("/api/v1/admin/users/{id}"), &admin, Some(&json!({"disabled": true}))).await;
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Authorization", noor.as_str())], None).await.status, 401);
    assert_eq!(login("seven silver spoons".into()).await.status, 401, "a disabled account cannot log in");
    request(port, "PATCH", &format!("/api/v1/admin/users/{id}"), &admin, Some(&json!({"disabled": false}))).await;
    assert_eq!(login("seven silver spoons".into()).await.status, 200);

    // A reset signs her out everywhere and lifts a lock.
    for _ in 0..5 {
        login("wrong guess".into()).await;
    }
    assert_eq!(code(&login("seven silver spoons".into()).await), (429, Some("login_locked")));
    let reset = request(port, "POST", &format!("/api/v1/admin/users/{id}/password"), &admin, None).await;
    let fresh = reset.json["one_time_password"].as_str().unwrap().to_owned();
    let relogged = login(fresh).await;
    assert_eq!((relogged.status, relogged.json["user"]["must_change_password"].as_bool()), (200, Some(true)), "{relogged:?}");
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Authorization", noor.as_str())], None).await.status, 401, "old tokens are revoked");

    // The last enabled administrator stays one.
    let me = request(port, "GET", "/api/v1/auth/me", &admin, None).await.json["id"].as_str().unwrap().to_owned();
    let demote = request(port, "PATCH", &format!("/api/v1/admin/users/{me}"), &admin, Some(&json!({"role": "learner"}))).await;
    assert_eq!(code(&demote), (409, Some("last_admin")), "{demote:?}");
    assert_eq!(code(&request(port, "PATCH", &format!("/api/v1/admin/users/{me}"), &admin, Some(&json!({"disabled": true}))).await), (409, Some("last_admin")));
    assert_eq!(code(&request(port, "PATCH", "/api/v1/admin/users/u0", &admin, Some(&json!({"disabled": true}))).await), (404, Some("unknown_user")));
    let audit = request(port, "GET", "/api/v1/admin/audit", &admin, None).await;
    let actions: Vec<&str> = audit.json.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    let users: Vec<&str> = actions.iter().filter(|a| a.starts_with("user.")).copied().collect();
    assert_eq!(users, ["user.reset_password", "user.change", "user.change", "user.change", "user.create"], "refusals change nothing and are not recorded");
}

#[tokio::test]
async fn uploads_are_dry_run_against_the_labs_recorded_cases_and_counted_when_they_serve() {
    let registry = Registry::new(engine());
    let v1 = registry.install(&wasm(&components().probe_v1)).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    // The probe passes every task: a case that must fail refuses it.
    write_lab(root.path(), "probed", &v1.name, Some("failed"));
    let store = sqlite().await;
    let (port, _) = serve(store.clone(), root.path(), registry.clone()).await;
    let ada = account(port, &store, "ada", Role::Author).await;
    let staff = [("Authorization", ada.as_str())];
    let upload = [staff[0], ("Content-Type", "application/wasm")];

    let refused = request_bytes(port, "POST", "/api/v1/admin/plugins", &upload, &wasm(&components().probe_v2)).await;
    assert_eq!(code(&refused), (422, Some("dry_run_failed")), "{refused:?}");
    let message = refused.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("probed") && message.contains("expected failed, got passed"), "{message}");
    assert_eq!(registry.serving(&v1.name).unwrap().version, "1.0.0", "v1 still serves");
    assert_eq!(registry.list().iter().find(|p| p.name == v1.name).unwrap().versions.len(), 1, "the refused version is not even loaded");

    // With the case recorded right, it passes the dry run and serves.
    write_lab(root.path(), "probed", &v1.name, Some("passed"));
    request(port, "POST", "/api/v1/admin/labs/reload", &staff, None).await;
    let accepted = request_bytes(port, "POST", "/api/v1/admin/plugins", &upload, &wasm(&components().probe_v2)).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    assert_eq!(accepted.json["dry_run"], json!([{"lab": "probed", "task": "one", "fixture": "fixtures/one.json", "expect": "passed", "status": "passed", "problem": null}]), "{accepted:?}");

    // Checks are counted against the serving version.
    let learner = guest(port).await;
    let started = request(port, "POST", "/api/v1/sessions", &[("Authorization", learner.as_str())], Some(&json!({"lab": "probed"}))).await;
    let check = format!("/api/v1/sessions/{}/tasks/one/check", started.json["id"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(request(port, "POST", &check, &[("Authorization", learner.as_str())], None).await.json["status"], "passed");
    }
    let listed = request(port, "GET", "/api/v1/admin/plugins", &staff, None).await;
    let probe = listed.json.as_array().unwrap().iter().find(|p| p["name"] == v1.name.as_str()).unwrap();
    assert_eq!((probe["serving"].as_str(), probe["calls"].as_u64(), probe["errors"].as_u64()), (Some("2.0.0"), Some(3), Some(0)), "{probe}");
    assert!(probe["p50_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{probe}");
    let v1_row = probe["versions"].as_array().unwrap().iter().find(|v| v["version"] == "1.0.0").unwrap();
    assert_eq!(v1_row["calls"].as_u64(), Some(0), "v1 answered nothing: {probe}");
}

/// Polls `port`'s plugin listing until `plugin` is as `wanted` says.
async fn until_plugin(port: u16, staff: &str, plugin: &str, wanted: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = request(port, "GET", "/api/v1/admin/plugins", &[("Authorization", staff)], None).await;
        let found = listed.json.as_array().and_then(|all| all.iter().find(|p| p["name"] == plugin).cloned()).unwrap_or_default();
        if wanted(&found) {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "the replica never got there: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn uploaded_judges_and_serving_choices_reach_every_replica_and_survive_a_restart() {
    let bundled = || async {
        let registry = Registry::new(engine());
        registry.install(&wasm(&components().probe_v1)).await.unwrap();
        registry
    };
    let (a_registry, b_registry) = (bundled().await, bundled().await);
    let name = a_registry.list()[0].name.clone();
    let root = tempfile::tempdir().unwrap();
    write_lab(root.path(), "probed", &name, None);
    let store = sqlite().await;
    let (a, _) = serve(store.clone(), root.path(), a_registry.clone()).await;
    let (b, _) = serve(store.clone(), root.path(), b_registry.clone()).await;
    let ada = account(a, &store, "ada", Role::Author).await;
    let upload = [("Authorization", ada.as_str()), ("Content-Type", "application/wasm")];

    // Uploaded on one replica, it serves there at once and on the other soon.
    let pushed = request_bytes(a, "POST", "/api/v1/admin/plugins", &upload, &wasm(&components().probe_v2)).await;
    assert_eq!(pushed.status, 201, "{pushed:?}");
    assert_eq!(a_registry.serving(&name).unwrap().version, "2.0.0");
    let on_b = until_plugin(b, &ada, &name, |p| p["serving"] == "2.0.0").await;
    assert_eq!(on_b["versions"].as_array().unwrap().len(), 2, "{on_b}");

    // A rollback on the other replica, and a disabling, come back the same way.
    let back = request(b, "POST", &format!("/api/v1/admin/plugins/{name}/rollback"), &[("Authorization", ada.as_str())], None).await;
    assert_eq!(back.json["serving"], "1.0.0", "{back:?}");
    until_plugin(a, &ada, &name, |p| p["serving"] == "1.0.0").await;
    let off = request(a, "PUT", &format!("/api/v1/admin/plugins/{name}/disabled"), &[("Authorization", ada.as_str())], Some(&json!({"disabled": true}))).await;
    assert_eq!(off.status, 200, "{off:?}");
    until_plugin(b, &ada, &name, |p| p["disabled"] == true).await;
    assert!(b_registry.serving(&name).is_err(), "disabled on every replica");

    // A restarted server with only the bundled version loads the upload and
    // serves as last chosen before its first request.
    let c_registry = bundled().await;
    let (c, _) = serve(store.clone(), root.path(), c_registry.clone()).await;
    let listed = request(c, "GET", "/api/v1/admin/plugins", &[("Authorization", ada.as_str())], None).await;
    let probe = listed.json.as_array().unwrap().iter().find(|p| p["name"] == name.as_str()).unwrap().clone();
    assert_eq!((probe["serving"].as_str(), probe["disabled"].as_bool(), probe["versions"].as_array().unwrap().len()), (Some("1.0.0"), Some(true), 2), "{probe}");
    let on = request(c, "PUT", &format!("/api/v1/admin/plugins/{name}/disabled"), &[("Authorization", ada.as_str())], Some(&json!({"disabled": false}))).await;
    assert_eq!(on.status, 200);
    let forward = request(c, "POST", &format!("/api/v1/admin/plugins/{name}/versions/2.0.0/promote"), &[("Authorization", ada.as_str())], None).await;
    assert_eq!(forward.json["serving"], "2.0.0", "{forward:?}");
    // The rollback history came along: back to 1.0.0 from there.
    let again = request(c, "POST", &format!("/api/v1/admin/plugins/{name}/rollback"), &[("Authorization", ada.as_str())], None).await;
    assert_eq!(again.json["serving"], "1.0.0", "{again:?}");
}
