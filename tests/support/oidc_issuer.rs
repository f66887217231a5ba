//! A small OpenID Connect issuer for the single sign-on tests: discovery,
//! an authorization endpoint that approves whoever the test says is
//! signing in, a token endpoint that checks the PKCE verifier, and its
//! signing key. It can be told to misbehave in the ways a hostile or broken
//! issuer would.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What the issuer puts wrong in its next ID tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tamper {
    /// Nothing.
    #[default]
    None,
    /// Another login's nonce.
    Nonce,
    /// Another client as the audience.
    Audience,
    /// Already expired.
    Expired,
    /// Signed with a key it does not publish.
    UnknownKey,
}

#[derive(Default)]
struct Inner {
    subject: String,
    username: String,
    tamper: Tamper,
    /// code → (challenge, nonce, redirect_uri)
    codes: HashMap<String, (String, String, String)>,
}

/// A running issuer; cheap to clone.
#[derive(Clone)]
pub struct Issuer {
    /// Its URL (the `iss` of its tokens).
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

const KEY_ID: &str = "test-key";

impl Issuer {
    /// Starts an issuer on a free loopback port.
    pub async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let issuer = Issuer { url, inner: Arc::default() };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(issuer.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port")
    }

    /// Who signs in next.
    pub fn sign_in_as(&self, subject: &str, username: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.subject = subject.to_owned();
        inner.username = username.to_owned();
    }

    /// What goes wrong from now on.
    pub fn tamper(&self, tamper: Tamper) {
        self.inner.lock().unwrap().tamper = tamper;
    }
}

async fn discovery(State(issuer): State<Issuer>) -> Json<Value> {
    let url = &issuer.url;
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// Approves at once: back to the client with a code bound to the challenge.
async fn authorize(State(issuer): State<Issuer>, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("response_type").map(String::as_str) != Some("code") || q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (StatusCode::BAD_REQUEST, "code flow with S256 only").into_response();
    }
    let code = format!("code-{}", rand::random::<u64>());
    let redirect = q["redirect_uri"].clone();
    issuer.inner.lock().unwrap().codes.insert(code.clone(), (q["code_challenge"].clone(), q["nonce"].clone(), redirect.clone()));
    let location = format!("{redirect}?code={code}&state={}", q["state"]);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Trades a code for an ID token, once, with the verifier that matches
/// its challenge.
async fn token(State(issuer): State<Issuer>, Form(form): Form<HashMap<String, String>>) -> Response {
    let refuse = |why: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": why}))).into_response();
    let mut inner = issuer.inner.lock().unwrap();
    let Some((challenge, nonce, redirect)) = form.get("code").and_then(|c| inner.codes.remove(c)) else { return refuse("unknown code") };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("the code verifier does not match the challenge");
    }
    if form.get("redirect_uri") != Some(&redirect) {
        return refuse("another redirect_uri");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let tamper = inner.tamper;
    let claims = json!({
        "iss": issuer.url,
        "sub": inner.subject,
        "aud": if tamper == Tamper::Audience { "someone-else" } else { form.get("client_id").map_or("", String::as_str) },
        "exp": if tamper == Tamper::Expired { now - 600 } else { now + 300 },
        "iat": now,
        "nonce": if tamper == Tamper::Nonce { "another-nonce".to_owned() } else { nonce },
        "name": format!("{} (test issuer)", inner.username),
        "preferred_username": inner.username,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(if tamper == Tamper::UnknownKey { "rotated-away" } else { KEY_ID }.to_owned());
    let key = EncodingKey::from_rsa_pem(include_bytes!("../data/oidc/oidc-issuer-key.pem")).expect("the test key");
    let id_token = jsonwebtoken::encode(&header, &claims, &key).expect("signed");
    Json(json!({"id_token": id_token, "access_token": "unused", "token_type": "Bearer", "expires_in": 300})).into_response()
}

async fn jwks() -> Json<Value> {
    let n = include_str!("../data/oidc/oidc-issuer-jwk-n.txt").trim();
    Json(json!({"keys": [{"kty": "RSA", "kid": KEY_ID, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}]}))
}
