//! Single sign-on with OpenID Connect: the authorization code flow with
//! PKCE. The server sends the browser to the issuer with a state, a nonce
//! and a code challenge; the issuer sends it back with a code; the server
//! trades the code (and the verifier) for an ID token, checks its signature
//! against the issuer's published keys, its issuer, audience, expiry and
//! nonce, and logs in the user the issuer names, creating them the first
//! time. The issuer is found through its discovery document.

use std::{sync::RwLock, time::Duration};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{Role, User, accounts::LOGIN_TTL, new_token, token_digest};
use crate::store::{PendingLogin, Store, StoreError};

/// How long a login may take at the issuer.
const LOGIN_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a call to the issuer may take.
const ISSUER_TIMEOUT: Duration = Duration::from_secs(10);

/// `[oidc]` in the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This server's client id at the issuer.
    pub client_id: String,
    /// Its client secret, for issuers that want one besides PKCE.
    pub client_secret: Option<String>,
    /// Where the issuer sends browsers back: this server's
    /// `/api/v1/auth/oidc/callback`, as the issuer knows it.
    pub redirect_url: String,
    /// What the sign-in button says. Default "Single sign-on".
    #[serde(default = "default_name")]
    pub name: String,
    /// The role of users the issuer brings the first time. Default learner.
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_name() -> String {
    "Single sign-on".into()
}

fn default_role() -> Role {
    Role::Learner
}

/// Why a single sign-on failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered nonsense.
    #[error("the sign-on provider cannot be used: {0}")]
    Issuer(String),
    /// The callback matches no login under way (forged, replayed, or late).
    #[error("this sign-on is unknown or expired; start again")]
    UnknownState,
    /// The issuer refused the login.
    #[error("the sign-on provider refused: {0}")]
    Refused(String),
    /// The ID token is not acceptable.
    #[error("the sign-on provider's answer is not valid: {0}")]
    InvalidToken(String),
    /// The account is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    name: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
}

/// A configured issuer; cheap to share behind an `Arc`.
pub struct Oidc {
    config: OidcConfig,
    agent: ureq::Agent,
    discovery: OnceCell<Discovery>,
    keys: RwLock<Option<JwkSet>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("issuer", &self.config.issuer).field("client_id", &self.config.client_id).finish_non_exhaustive()
    }
}

fn random_b64(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// The S256 challenge of a PKCE verifier.
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Only a path on this server: anything else (another host, `//host`) would
/// make the login an open redirect.
fn safe_return(to: Option<&str>) -> String {
    match to {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

impl Oidc {
    /// An issuer as configured; it is first contacted at the first login.
    pub fn new(config: OidcConfig) -> Oidc {
        Oidc { config, agent: ureq::AgentBuilder::new().timeout(ISSUER_TIMEOUT).build(), discovery: OnceCell::new(), keys: RwLock::new(None) }
    }

    /// What the sign-in button says.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Fetches `url` as JSON, off the async threads.
    async fn get_json<T: serde::de::DeserializeOwned + Send + 'static>(&self, url: &str) -> Result<T, OidcError> {
        let (agent, url) = (self.agent.clone(), url.to_owned());
        tokio::task::spawn_blocking(move || {
            let answer = agent.get(&url).call().map_err(|e| OidcError::Issuer(format!("{url}: {e}")))?;
            answer.into_json::<T>().map_err(|e| OidcError::Issuer(format!("{url}: {e}")))
        })
        .await
        .map_err(|e| OidcError::Issuer(e.to_string()))?
    }

    async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                let found: Discovery = self.get_json(&url).await?;
                if found.issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
                    return Err(OidcError::Issuer(format!("the discovery document names issuer {}, not {}", found.issuer, self.config.issuer)));
                }
                Ok(found)
            })
            .await
    }

    /// Begins a login: where to send the browser. `return_to` is where it
    /// goes once logged in (a path on this server).
    pub async fn start(&self, store: &Store, return_to: Option<&str>, now: i64) -> Result<String, OidcError> {
        let discovery = self.discovery().await?;
        let pending = PendingLogin { state: random_b64(24), verifier: random_b64(48), nonce: random_b64(24), return_to: safe_return(return_to), created_at: now };
        store.insert_pending_login(&pending, now - LOGIN_WINDOW.as_millis() as i64).await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint).map_err(|e| OidcError::Issuer(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Finishes a login from the issuer's callback: the user, a new login
    /// token, and where the browser goes next.
    pub async fn finish(&self, store: &Store, code: &str, state: &str, now: i64) -> Result<(User, String, String), OidcError> {
        let pending = store.take_pending_login(state).await?.ok_or(OidcError::UnknownState)?;
        if now - pending.created_at > LOGIN_WINDOW.as_millis() as i64 {
            return Err(OidcError::UnknownState);
        }
        let discovery = self.discovery().await?.clone();
        let id_token = self.exchange(&discovery, code, &pending.verifier).await?;
        let claims = self.verify(&discovery, &id_token).await?;
        if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(OidcError::InvalidToken("the nonce does not match this login".into()));
        }
        let user = self.user_for(store, &discovery.issuer, &claims, now).await?;
        let token = new_token();
        store.insert_token(&token_digest(&token), &user.id, "login", now, Some(now + LOGIN_TTL.as_millis() as i64)).await?;
        Ok((user, token, pending.return_to))
    }

    /// Trades the code and the PKCE verifier for an ID token.
    async fn exchange(&self, discovery: &Discovery, code: &str, verifier: &str) -> Result<String, OidcError> {
        let mut form = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), self.config.redirect_url.clone()),
            ("client_id".to_owned(), self.config.client_id.clone()),
            ("code_verifier".to_owned(), verifier.to_owned()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret".to_owned(), secret.clone()));
        }
        let (agent, url) = (self.agent.clone(), discovery.token_endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            match agent.post(&url).send_form(&pairs) {
                Ok(answer) => answer.into_json::<TokenAnswer>().map(|t| t.id_token).map_err(|e| OidcError::Refused(format!("no ID token: {e}"))),
                Err(ureq::Error::Status(status, answer)) => {
                    let said = answer.into_string().unwrap_or_default();
                    Err(OidcError::Refused(format!("the token endpoint answered {status}: {}", said.chars().take(200).collect::<String>())))
                }
                Err(e) => Err(OidcError::Issuer(format!("{url}: {e}"))),
            }
        })
        .await
        .map_err(|e| OidcError::Issuer(e.to_string()))?
    }

    /// Checks the ID token's signature (with the issuer's key named in its
    /// header, fetching the keys again once for a key the issuer rotated
    /// in), issuer, audience and expiry.
    async fn verify(&self, discovery: &Discovery, id_token: &str) -> Result<Claims, OidcError> {
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| OidcError::InvalidToken(e.to_string()))?;
        // Shared-secret algorithms would let anyone holding the client
        // secret mint tokens; only the issuer's public keys are trusted.
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(OidcError::InvalidToken(format!("{:?} tokens are not accepted", header.alg)));
        }
        let kid = header.kid.clone().ok_or_else(|| OidcError::InvalidToken("the token names no key".into()))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                let keys: JwkSet = self.get_json(&discovery.jwks_uri).await?;
                *self.keys.write().expect("keys lock") = Some(keys);
                self.key(&kid).ok_or_else(|| OidcError::InvalidToken(format!("the issuer publishes no key `{kid}`")))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&discovery.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(id_token, &key, &validation).map(|d| d.claims).map_err(|e| OidcError::InvalidToken(e.to_string()))
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().expect("keys lock");
        let jwk = keys.as_ref()?.find(kid)?;
        DecodingKey::from_jwk(jwk).ok()
    }

    /// The user the issuer vouches for, created at their first login: an
    /// account of kind `oidc` with the configured role, named from the
    /// token, with the login it suggests when that login is free.
    async fn user_for(&self, store: &Store, issuer: &str, claims: &Claims, now: i64) -> Result<User, OidcError> {
        let subject = format!("{issuer}#{}", claims.sub);
        if let Some(id) = store.user_id_by_oidc_subject(&subject).await? {
            if store.user_disabled(&id).await? {
                return Err(OidcError::Disabled);
            }
            let row = store.user_row(&id).await?.ok_or(OidcError::UnknownState)?;
            return Ok(row.user);
        }
        let wanted = claims.preferred_username.clone().or_else(|| claims.email.clone());
        let login = match wanted {
            Some(l) if super::accounts::valid_login(&l) && store.user_id_by_login(&l).await?.is_none() => Some(l),
            _ => None,
        };
        let user = User {
            id: format!("u{:016x}", rand::random::<u64>()),
            kind: "oidc".into(),
            role: self.config.role,
            name: claims.name.clone().or_else(|| login.clone()),
            created_at: now,
            login,
            must_change_password: false,
        };
        store.insert_account(&user, None).await?;
        store.set_oidc_subject(&user.id, &subject).await?;
        tracing::info!(user = %user.id, %subject, "a single sign-on user joined");
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_and_returns_stay_on_this_server() {
        // RFC 7636, appendix B.
        assert_eq!(challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(safe_return(Some("/labs/first-steps")), "/labs/first-steps");
        for hostile in [Some("https://evil.example"), Some("//evil.example"), Some("/\\evil.example"), None] {
            assert_eq!(safe_return(hostile), "/", "{hostile:?}");
        }
    }
}
