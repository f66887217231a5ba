//! Single sign-on with OpenID Connect against a local issuer the test
//! starts: the code flow with PKCE from the start redirect to a logged-in
//! browser, the same user at the next login, a callback that cannot be
//! replayed, ID tokens with a wrong nonce, audience, expiry or key refused,
//! a disabled user kept out, and a server without an issuer saying so.

use std::sync::Arc;

use proctor::{
    auth::{Role, oidc::OidcConfig},
    config::Config,
    labs::Catalog,
    plugins::Registry,
    server::AppState,
    sessions::Sessions,
};
use proctor_tests::{
    databases::sqlite,
    engine,
    http::{self, Answer, account, request},
    memory_runtime::MemoryRuntime,
    oidc_issuer::{Issuer, Tamper},
};
use serde_json::json;

const CALLBACK: &str = "http://proctor.test/api/v1/auth/oidc/callback";

async fn serve(oidc: Option<OidcConfig>) -> (u16, Sessions) {
    let config = Config { oidc, ..Config::default() };
    let sessions = Sessions::new(sqlite().await, Arc::new(MemoryRuntime::default()), config.sessions.policy());
    let port = http::serve(AppState::new(Registry::new(engine()), config, sessions.clone(), Catalog::default())).await;
    (port, sessions)
}

fn location(a: &Answer) -> String {
    assert_eq!(a.status, 302, "{a:?}");
    a.header("location").expect("a redirect").to_owned()
}

/// The path and query of a URL on `base`.
fn on<'a>(url: &'a str, base: &str) -> &'a str {
    url.strip_prefix(base).unwrap_or_else(|| panic!("{url} is not on {base}"))
}

/// Goes through the whole flow as a browser would; the callback's answer.
async fn sign_in(port: u16, issuer: &Issuer, return_to: &str) -> Answer {
    let start = request(port, "GET", &format!("/api/v1/auth/oidc/start?return_to={return_to}"), &[], None).await;
    let to_issuer = location(&start);
    for part in ["response_type=code", "client_id=proctor", "code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "scope=openid"] {
        assert!(to_issuer.contains(part), "{part} in {to_issuer}");
    }
    let approved = request(issuer.port(), "GET", on(&to_issuer, &issuer.url), &[], None).await;
    let back = location(&approved);
    request(port, "GET", on(&back, "http://proctor.test"), &[], None).await
}

fn cookie(a: &Answer) -> String {
    let set = a.header("set-cookie").unwrap_or_else(|| panic!("no cookie in {a:?}"));
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

fn sso_error(a: &Answer) -> String {
    let to = location(a);
    let query = to.strip_prefix("/login?").unwrap_or_else(|| panic!("{to} is not the login page"));
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "sso_error").map(|(_, v)| v.into_owned()).expect("a reason")
}

#[tokio::test]
async fn learners_sign_in_through_the_issuer_with_pkce() {
    let issuer = Issuer::start().await;
    let config = OidcConfig {
        issuer: issuer.url.clone(),
        client_id: "proctor".into(),
        client_secret: None,
        redirect_url: CALLBACK.into(),
        name: "School login".into(),
        role: Role::Learner,
    };
    let (port, sessions) = serve(Some(config)).await;
    let providers = request(port, "GET", "/api/v1/auth/providers", &[], None).await;
    assert_eq!(providers.json, json!({"oidc": {"name": "School login", "start": "/api/v1/auth/oidc/start"}}), "{providers:?}");

    issuer.sign_in_as("sub-grace", "grace");
    let done = sign_in(port, &issuer, "/labs/first-steps").await;
    assert_eq!(location(&done), "/labs/first-steps", "back where the learner was going");
    let grace = cookie(&done);
    let me = request(port, "GET", "/api/v1/auth/me", &[("Cookie", grace.as_str())], None).await;
    assert_eq!((me.json["kind"].as_str(), me.json["login"].as_str(), me.json["role"].as_str()), (Some("oidc"), Some("grace"), Some("learner")), "{me:?}");
    let id = me.json["id"].as_str().unwrap().to_owned();

    // The next login is the same user; an open redirect is not possible.
    let again = sign_in(port, &issuer, "https://evil.example/").await;
    assert_eq!(location(&again), "/", "only paths on this server");
    let me2 = request(port, "GET", "/api/v1/auth/me", &[("Cookie", cookie(&again).as_str())], None).await;
    assert_eq!(me2.json["id"].as_str(), Some(id.as_str()));

    // A callback is good once.
    let start = request(port, "GET", "/api/v1/auth/oidc/start", &[], None).await;
    let back = location(&request(issuer.port(), "GET", on(&location(&start), &issuer.url), &[], None).await);
    let path = on(&back, "http://proctor.test").to_owned();
    assert_eq!(request(port, "GET", &path, &[], None).await.status, 302);
    let replayed = request(port, "GET", &path, &[], None).await;
    assert!(sso_error(&replayed).contains("unknown or expired"), "{replayed:?}");
    let forged = request(port, "GET", "/api/v1/auth/oidc/callback?code=x&state=made-up", &[], None).await;
    assert!(sso_error(&forged).contains("unknown or expired"));
    let refused = request(port, "GET", "/api/v1/auth/oidc/callback?error=access_denied&error_description=user+said+no", &[], None).await;
    assert!(sso_error(&refused).contains("user said no"), "{refused:?}");

    // ID tokens the issuer got wrong are refused, and log no one in.
    for (tamper, said) in [(Tamper::Nonce, "nonce"), (Tamper::Audience, "Audience"), (Tamper::Expired, "Expired"), (Tamper::UnknownKey, "no key")] {
        issuer.tamper(tamper);
        let answer = sign_in(port, &issuer, "/").await;
        assert!(answer.header("set-cookie").is_none(), "{tamper:?}: {answer:?}");
        let why = sso_error(&answer);
        assert!(why.contains(said), "{tamper:?}: {why}");
    }
    issuer.tamper(Tamper::None);

    // A new user gets the configured role; a taken login is not reused.
    let store = sessions.store();
    let admin = account(port, store, "root", Role::Admin).await;
    issuer.sign_in_as("sub-other", "root");
    let other = sign_in(port, &issuer, "/").await;
    let other_me = request(port, "GET", "/api/v1/auth/me", &[("Cookie", cookie(&other).as_str())], None).await;
    assert_eq!((other_me.json["login"].as_str(), other_me.json["role"].as_str()), (None, Some("learner")), "no one becomes `root` by saying so: {other_me:?}");

    // An administrator sees them, and can keep one out.
    let users = request(port, "GET", "/api/v1/admin/users", &[("Authorization", admin.as_str())], None).await;
    assert!(users.json.as_array().unwrap().iter().any(|u| u["id"] == id.as_str() && u["kind"] == "oidc"), "{users:?}");
    request(port, "PATCH", &format!("/api/v1/admin/users/{id}"), &[("Authorization", admin.as_str())], Some(&json!({"disabled": true}))).await;
    issuer.sign_in_as("sub-grace", "grace");
    let kept_out = sign_in(port, &issuer, "/").await;
    assert!(sso_error(&kept_out).contains("disabled"));
    assert_eq!(request(port, "GET", "/api/v1/auth/me", &[("Cookie", grace.as_str())], None).await.status, 401, "their earlier login stops working too");
}

#[tokio::test]
async fn without_an_issuer_single_sign_on_is_off() {
    let (port, _) = serve(None).await;
    assert_eq!(request(port, "GET", "/api/v1/auth/providers", &[], None).await.json, json!({"oidc": null}));
    let start = request(port, "GET", "/api/v1/auth/oidc/start", &[], None).await;
    assert_eq!((start.status, start.json["error"]["code"].as_str()), (404, Some("sso_not_configured")));
}
