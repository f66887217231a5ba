//! Workshops over HTTP: an instructor creates one, learners join with its
//! code and a name (no account), get a seat and a session, come back to
//! the same seat; a full workshop refuses; the dashboard streams each
//! seat's progress per task as it happens; a freed seat and an ended or
//! expired workshop end their sessions; progress outlives sessions. On a
//! real engine, the instructor watches a learner's terminal and cannot
//! type into it.

use std::sync::Arc;

use proctor::{
    auth::Role,
    runtime::Runtime,
    config::Config,
    labs::{Catalog, LiveCatalog},
    sessions::{Clock, SystemClock},
    workshops::Workshops,
};
use proctor_tests::{
    docker_enabled,
    http::{EventStream, account, request, serve_bundled_labs, serve_bundled_labs_on},
    memory_runtime::MemoryRuntime,
    terminal_socket::{connect, read_until, refused, send},
};
use serde_json::{Value, json};

fn code(a: &proctor_tests::http::Answer) -> (u16, Option<&str>) {
    (a.status, a.json["error"]["code"].as_str())
}

async fn join(port: u16, code: &str, name: &str, auth: Option<&str>) -> proctor_tests::http::Answer {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    request(port, "POST", "/api/v1/workshops/join", &headers, Some(&json!({"code": code, "name": name}))).await
}

fn bearer(joined: &proctor_tests::http::Answer) -> String {
    format!("Bearer {}", joined.json["token"].as_str().expect("a new learner's token"))
}

fn seat(dashboard: &Value, n: u64) -> &Value {
    dashboard["seats"].as_array().unwrap().iter().find(|s| s["seat"] == n).unwrap_or_else(|| panic!("no seat {n} in {dashboard}"))
}

#[tokio::test]
async fn learners_join_by_code_and_the_dashboard_follows_their_progress() {
    let runtime = Arc::new(MemoryRuntime::default());
    let (port, sessions, _) = serve_bundled_labs_on(runtime.clone(), Config::default()).await;
    let store = sessions.store().clone();
    let ines = account(port, &store, "ines", Role::Author).await;
    let staff = [("Authorization", ines.as_str())];

    let made = request(port, "POST", "/api/v1/workshops", &staff, Some(&json!({"lab": "first-steps", "seats": 2, "expires_in_minutes": 90, "title": "Monday class"}))).await;
    assert_eq!(made.status, 201, "{made:?}");
    let (id, join_code) = (made.json["id"].as_str().unwrap().to_owned(), made.json["code"].as_str().unwrap().to_owned());
    assert_eq!(join_code.len(), 6, "{made:?}");
    assert!(join_code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{join_code}");
    let bad = request(port, "POST", "/api/v1/workshops", &staff, Some(&json!({"lab": "first-steps", "seats": 0, "expires_in_minutes": 90}))).await;
    assert_eq!(code(&bad), (422, Some("invalid_workshop")), "{bad:?}");
    let unknown = request(port, "POST", "/api/v1/workshops", &staff, Some(&json!({"lab": "nope", "seats": 3, "expires_in_minutes": 90}))).await;
    assert_eq!(code(&unknown), (404, Some("unknown_lab")), "{unknown:?}");

    let mut events = EventStream::open(port, &format!("/api/v1/workshops/{id}/events"), &ines).await;
    let first = events.next().await;
    assert_eq!((first["workshop"]["title"].as_str(), first["seats"].as_array().map(Vec::len)), (Some("Monday class"), Some(0)), "{first}");
    assert_eq!(first["tasks"].as_array().map(Vec::len), Some(2), "the lab's tasks are the dashboard's columns: {first}");

    // A learner joins with the code (in any case) and a name: no account.
    let grace = join(port, &join_code.to_lowercase(), "Grace", None).await;
    assert_eq!((grace.status, grace.json["seat"].as_u64(), grace.json["session"]["status"].as_str()), (201, Some(1), Some("running")), "{grace:?}");
    let cookie = grace.header("set-cookie").unwrap_or_default();
    assert!(cookie.contains("proctor_token=") && cookie.contains("HttpOnly"), "{cookie}");
    let grace_auth = bearer(&grace);
    let grace_session = grace.json["session"]["id"].as_str().unwrap().to_owned();
    let seated = events.next().await;
    assert_eq!((seat(&seated, 1)["name"].as_str(), seat(&seated, 1)["session_status"].as_str()), (Some("Grace"), Some("running")), "{seated}");

    // Her check shows on the dashboard as it happens.
    runtime.write_file(&grace_session, "main", "/workspace/hello.txt", b"Hello, Proctor\n", 0o644).await.unwrap();
    let check = request(port, "POST", &format!("/api/v1/sessions/{grace_session}/tasks/create-file/check"), &[("Authorization", grace_auth.as_str())], None).await;
    assert_eq!(check.json["status"], "passed", "{check:?}");
    let progressed = events.next().await;
    assert_eq!(seat(&progressed, 1)["tasks"]["create-file"], json!({"passed": true, "attempts": 1}), "{progressed}");

    // Joining again gives the same seat and session; the seats run out.
    let again = join(port, &join_code, "Grace", Some(&grace_auth)).await;
    assert_eq!((again.json["seat"].as_u64(), again.json["session"]["id"].as_str(), again.json["token"].as_str()), (Some(1), Some(grace_session.as_str()), None), "{again:?}");
    let alan = join(port, &join_code, "Alan", None).await;
    assert_eq!(alan.json["seat"].as_u64(), Some(2), "{alan:?}");
    let bea = join(port, &join_code, "Bea", None).await;
    assert_eq!(code(&bea), (409, Some("workshop_full")), "{bea:?}");
    let wrong = join(port, "ZZZZZZ", "Bea", None).await;
    assert_eq!(code(&wrong), (404, Some("unknown_workshop")), "{wrong:?}");
    let nameless = join(port, &join_code, "  ", Some(&grace_auth)).await;
    assert_eq!(code(&nameless), (422, Some("invalid_workshop")), "{nameless:?}");

    // Learners are not instructors.
    assert_eq!(request(port, "GET", "/api/v1/workshops", &[("Authorization", grace_auth.as_str())], None).await.status, 403);
    assert_eq!(request(port, "GET", &format!("/api/v1/workshops/{id}"), &[], None).await.status, 401);

    // A freed seat ends its session and takes the next learner.
    let alan_session = alan.json["session"]["id"].as_str().unwrap().to_owned();
    let freed = request(port, "DELETE", &format!("/api/v1/workshops/{id}/seats/2"), &staff, None).await;
    assert_eq!(freed.status, 204, "{freed:?}");
    let alan_view = request(port, "GET", &format!("/api/v1/sessions/{alan_session}"), &[("Authorization", bearer(&alan).as_str())], None).await;
    assert_eq!((alan_view.json["status"].as_str(), alan_view.json["end_reason"].as_str()), (Some("ended"), Some("workshop")), "{alan_view:?}");
    let bea = join(port, &join_code, "Bea", None).await;
    assert_eq!(bea.json["seat"].as_u64(), Some(2), "{bea:?}");
    let listed = request(port, "GET", "/api/v1/workshops", &staff, None).await;
    assert_eq!((listed.json[0]["taken"].as_u64(), listed.json[0]["ended"].as_bool()), (Some(2), Some(false)), "{listed:?}");

    // Ending the workshop ends its sessions and its code.
    let ended = request(port, "DELETE", &format!("/api/v1/workshops/{id}"), &staff, None).await;
    assert_eq!(ended.json["ended"], true, "{ended:?}");
    let grace_view = request(port, "GET", &format!("/api/v1/sessions/{grace_session}"), &[("Authorization", grace_auth.as_str())], None).await;
    assert_eq!(grace_view.json["end_reason"], "workshop", "{grace_view:?}");
    assert_eq!(code(&join(port, &join_code, "Late", None).await), (410, Some("workshop_ended")));

    // Her progress outlives the session: a new one of the lab shows it.
    let restarted = request(port, "POST", "/api/v1/sessions", &[("Authorization", grace_auth.as_str())], Some(&json!({"lab": "first-steps"}))).await;
    assert_eq!(restarted.status, 201, "{restarted:?}");
    let progress = request(port, "GET", "/api/v1/progress", &[("Authorization", grace_auth.as_str())], None).await;
    let lab = &progress.json[0];
    assert_eq!((lab["lab"].as_str(), lab["tasks_total"].as_u64(), lab["tasks_passed"].as_u64(), lab["completed"].as_bool()), (Some("first-steps"), Some(2), Some(1), Some(false)), "{progress:?}");
    assert_eq!((lab["tasks"][0]["task"].as_str(), lab["tasks"][0]["passed"].as_bool(), lab["tasks"][1]["attempts"].as_i64()), (Some("create-file"), Some(true), Some(0)), "{progress:?}");

    let audit = request(port, "GET", "/api/v1/admin/audit", &[("Authorization", account(port, &store, "root", Role::Admin).await.as_str())], None).await;
    let actions: Vec<&str> = audit.json.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["workshop.create", "workshop.free_seat", "workshop.end"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // A workshop past its expiry is ended by the sweep, sessions and all.
    let short = request(port, "POST", "/api/v1/workshops", &staff, Some(&json!({"lab": "first-steps", "seats": 1, "expires_in_minutes": 5}))).await;
    let late = join(port, short.json["code"].as_str().unwrap(), "Lin", None).await;
    assert_eq!(late.status, 201, "{late:?}");
    let labs = LiveCatalog::new(Catalog::default(), std::path::PathBuf::new(), Config::default().sessions.default_lifetime());
    let workshops = Workshops { store: &store, sessions: &sessions, labs: &labs };
    assert_eq!(workshops.sweep(SystemClock.now()).await.unwrap(), 0, "nothing is due yet");
    assert_eq!(workshops.sweep(SystemClock.now() + 6 * 60_000).await.unwrap(), 1);
    let lin = request(port, "GET", &format!("/api/v1/sessions/{}", late.json["session"]["id"].as_str().unwrap()), &[("Authorization", bearer(&late).as_str())], None).await;
    assert_eq!(lin.json["end_reason"], "workshop", "{lin:?}");
}

#[tokio::test]
async fn the_instructor_watches_a_learners_terminal_read_only() {
    if !docker_enabled("the_instructor_watches_a_learners_terminal_read_only") {
        return;
    }
    let (port, sessions) = serve_bundled_labs(Config::default()).await;
    let ines = account(port, sessions.store(), "ines", Role::Author).await;
    let made = request(port, "POST", "/api/v1/workshops", &[("Authorization", ines.as_str())], Some(&json!({"lab": "first-steps", "seats": 3, "expires_in_minutes": 60}))).await;
    let id = made.json["id"].as_str().unwrap().to_owned();
    let grace = join(port, made.json["code"].as_str().unwrap(), "Grace", None).await;
    assert_eq!(grace.status, 201, "{grace:?}");
    let session = grace.json["session"]["id"].as_str().unwrap().to_owned();
    let _cleanup = proctor_tests::EngineCleanup::default().label("dev.proctor.session", &session);
    let auth = bearer(&grace);

    let watch = format!("/api/v1/workshops/{id}/seats/1/terminal");
    let none = request(port, "GET", &watch, &[("Authorization", ines.as_str())], None).await;
    assert_eq!(code(&none), (404, Some("terminal_not_found")), "no terminal yet: {none:?}");
    let opened = request(port, "POST", &format!("/api/v1/sessions/{session}/terminals"), &[("Authorization", auth.as_str())], None).await;
    let tid = opened.json["id"].as_str().unwrap().to_owned();
    let plain = request(port, "GET", &watch, &[("Authorization", ines.as_str())], None).await;
    assert_eq!(code(&plain), (426, Some("websocket_required")), "a terminal exists, but this is no handshake: {plain:?}");
    let mut typist = connect(port, &format!("/api/v1/sessions/{session}/terminals/{tid}/ws"), &auth).await;
    send(&mut typist, "echo before-$((6*7))\n").await;
    read_until(&mut typist, "before-42").await;

    let mut watcher = connect(port, &watch, &ines).await;
    read_until(&mut watcher, "before-42").await;
    send(&mut typist, "echo live-$((7*7))\n").await;
    read_until(&mut watcher, "live-49").await;

    // What the watcher types goes nowhere.
    send(&mut watcher, "touch /workspace/from-watcher\n").await;
    send(&mut typist, "ls /workspace; echo listed-$((8*8))\n").await;
    let listing = read_until(&mut typist, "listed-64").await;
    assert!(!listing.contains("from-watcher"), "{listing}");
    let file = request(port, "GET", &format!("/api/v1/sessions/{session}/files/content?path=from-watcher"), &[("Authorization", auth.as_str())], None).await;
    assert_eq!(file.status, 404, "{file:?}");

    // A learner cannot watch.
    assert!(refused(port, &watch, &auth).await, "a learner is refused the watch");
}
