//! Accounts over HTTP: the first administrator's one-time password and the
//! forced change, login and logout, tokens revoked by a password change,
//! API tokens for the CLI, and brute-force protection per account and per
//! address.

use std::sync::Arc;

use proctor::{
    auth::{Role, accounts},
    config::Config,
    labs::Catalog,
    plugins::Registry,
    server::AppState,
    sessions::{SessionPolicy, Sessions},
    store::Store,
};
use proctor_tests::{
    databases::sqlite,
    engine,
    http::{self, Answer, guest, request},
    memory_runtime::MemoryRuntime,
};
use serde_json::json;

async fn serve() -> (u16, Store) {
    let sessions = Sessions::new(sqlite().await, Arc::new(MemoryRuntime::default()), SessionPolicy::default());
    let store = sessions.store().clone();
    let port = http::serve(AppState::new(Registry::new(engine()), Config::default(), sessions, Catalog::default())).await;
    (port, store)
}

async fn login(port: u16, login: &str, password: &str) -> Answer {
    request(port, "POST", "/api/v1/auth/login", &[], Some(&json!({"login": login, "password": password}))).await
}

fn code(a: &Answer) -> (u16, Option<&str>) {
    (a.status, a.json["error"]["code"].as_str())
}

fn bearer(a: &Answer) -> String {
    format!("Bearer {}", a.json["token"].as_str().expect("a token"))
}

#[tokio::test]
async fn the_first_admin_changes_the_one_time_password_before_anything_else() {
    let (port, store) = serve().await;
    let otp = accounts::ensure_first_admin(&store, 1).await.unwrap().expect("a one-time password on the first start");
    assert!(accounts::ensure_first_admin(&store, 2).await.unwrap().is_none(), "only once");

    let first = login(port, "admin", &otp).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!((first.json["user"]["role"].as_str(), first.json["user"]["must_change_password"].as_bool()), (Some("admin"), Some(true)));
    let cookie = first.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let a = bearer(&first);
    let other = bearer(&login(port, "admin", &otp).await);

    let blocked = request(port, "GET", "/api/v1/sessions", &[("Authorization", a.as_str())], None).await;
    assert_eq!(code(&blocked), (403, Some("password_change_required")), "{blocked:?}");
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Authorization", a.as_str())], None).await.status, 200);

    let change = |current: &str, new: &str| json!({"current": current, "new": new});
    let weak = request(port, "POST", "/api/v1/auth/password", &[("Authorization", a.as_str())], Some(&change(&otp, "short"))).await;
    assert_eq!(code(&weak), (400, Some("weak_password")), "{weak:?}");
    let wrong = request(port, "POST", "/api/v1/auth/password", &[("Authorization", a.as_str())], Some(&change("not it", "violet kettle drum"))).await;
    assert_eq!(code(&wrong), (401, Some("bad_credentials")), "{wrong:?}");
    let done = request(port, "POST", "/api/v1/auth/password", &[("Authorization", a.as_str())], Some(&change(&otp, "violet kettle drum"))).await;
    assert_eq!(done.status, 204, "{done:?}");

    // The token that made the change works on; the other one was signed out.
    assert_eq!(request(port, "GET", "/api/v1/sessions", &[("Authorization", a.as_str())], None).await.status, 200);
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Authorization", other.as_str())], None).await.status, 401);
    assert_eq!(code(&login(port, "admin", &otp).await), (401, Some("bad_credentials")));
    assert_eq!(login(port, "admin", "violet kettle drum").await.status, 200);

    let out = request(port, "POST", "/api/v1/auth/logout", &[("Authorization", a.as_str())], None).await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")), "{out:?}");
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Authorization", a.as_str())], None).await.status, 401);
}

#[tokio::test]
async fn api_tokens_belong_to_accounts() {
    let (port, store) = serve().await;
    accounts::create(&store, "ann", Role::Author, Some("violet kettle drum"), 1).await.unwrap();
    let session = bearer(&login(port, "ann", "violet kettle drum").await);
    let made = request(port, "POST", "/api/v1/auth/tokens", &[("Authorization", session.as_str())], Some(&json!({"label": "laptop CLI", "days": 30}))).await;
    assert_eq!(made.status, 201, "{made:?}");
    let cli = bearer(&made);
    let me = request(port, "GET", "/api/v1/auth/me", &[("Authorization", cli.as_str())], None).await;
    assert_eq!((me.json["login"].as_str(), me.json["role"].as_str()), (Some("ann"), Some("author")), "{me:?}");

    let guest = guest(port).await;
    let refused = request(port, "POST", "/api/v1/auth/tokens", &[("Authorization", guest.as_str())], Some(&json!({"label": "x"}))).await;
    assert_eq!(code(&refused), (403, Some("account_required")));
    assert!(matches!(accounts::create(&store, "ann", Role::Learner, Some("another good one"), 2).await, Err(accounts::AccountError::Taken(_))));
    assert!(matches!(accounts::create(&store, "no spaces", Role::Learner, None, 2).await, Err(accounts::AccountError::BadLogin(_))));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_then_the_address() {
    let (port, store) = serve().await;
    accounts::create(&store, "ann", Role::Learner, Some("violet kettle drum"), 1).await.unwrap();
    accounts::create(&store, "bob", Role::Learner, Some("amber window seat"), 1).await.unwrap();
    for _ in 0..5 {
        assert_eq!(code(&login(port, "ann", "guess").await), (401, Some("bad_credentials")));
    }
    // Locked, even with the right password, and the answer says for how long.
    let locked = login(port, "ann", "violet kettle drum").await;
    assert_eq!(code(&locked), (429, Some("login_locked")), "{locked:?}");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // An unknown login fails the same way as a wrong password.
    let unknown = login(port, "nobody", "guess").await;
    assert_eq!((code(&unknown), unknown.json["error"]["message"].as_str()), ((401, Some("bad_credentials")), Some("the login or the password is wrong")));
    // Bob is not locked by Ann's failures...
    assert_eq!(login(port, "bob", "amber window seat").await.status, 200);
    // ...until this address has failed twenty times.
    for i in 0..14 {
        assert_eq!(login(port, &format!("spray{i}"), "guess").await.status, 401);
    }
    assert_eq!(code(&login(port, "bob", "amber window seat").await), (429, Some("login_locked")));
    let metrics = request(port, "GET", "/metrics", &[], None).await;
    assert!(metrics.text.contains("proctor_limit_breaches_total{limit=\"login_locked\"} 2"), "{}", metrics.text);
}
