//! The CLI's side of a running server: logging in for an API token (kept
//! per server in a credentials file only its owner can read), and the
//! plugin commands (`push`, `list`, `rollback`) over the admin API.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde_json::{Value, json};

/// Why a call to a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server answered with an error.
    #[error("the server refused ({status} {code}): {message}{}", hint.as_deref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// Its message.
        message: String,
        /// Its hint.
        hint: Option<String>,
    },
    /// The server could not be reached, or answered nonsense.
    #[error("cannot reach {server}: {detail}")]
    Unreachable {
        /// The server.
        server: String,
        /// What went wrong.
        detail: String,
    },
    /// No token for this server.
    #[error("no token for {0}: run `proctor login --server {0}` or set PROCTOR_TOKEN")]
    NoToken(String),
    /// The credentials file could not be used.
    #[error("the credentials file {path}: {detail}")]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// A server and, once known, the token to present.
#[derive(Clone, Debug)]
pub struct Remote {
    server: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Remote {
    /// The server at `server` (`http(s)://host:port`), with `token` if
    /// given, else the one saved for it by `login`.
    pub fn new(server: &str, token: Option<String>) -> Remote {
        let server = server.trim_end_matches('/').to_owned();
        let token = token.or_else(|| saved_token(&server).ok().flatten());
        Remote { agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build(), server, token }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server)
    }

    fn bearer(&self) -> Result<String, RemoteError> {
        self.token.as_ref().map(|t| format!("Bearer {t}")).ok_or_else(|| RemoteError::NoToken(self.server.clone()))
    }

    fn answer(&self, result: Result<ureq::Response, ureq::Error>) -> Result<Value, RemoteError> {
        let unreachable = |detail: String| RemoteError::Unreachable { server: self.server.clone(), detail };
        match result {
            Ok(r) if r.status() == 204 => Ok(Value::Null),
            Ok(r) => r.into_json().map_err(|e| unreachable(format!("not a JSON answer: {e}"))),
            Err(ureq::Error::Status(status, r)) => {
                let body: Value = r.into_json().unwrap_or_default();
                let e = &body["error"];
                Err(RemoteError::Refused {
                    status,
                    code: e["code"].as_str().unwrap_or("unknown").to_owned(),
                    message: e["message"].as_str().unwrap_or("no message").to_owned(),
                    hint: e["hint"].as_str().map(str::to_owned),
                })
            }
            Err(ureq::Error::Transport(t)) => Err(unreachable(t.to_string())),
        }
    }

    /// Logs in as `login` and makes an API token labelled `label`; the token
    /// is returned and kept for later commands. An account that must choose
    /// a new password (a one-time password) gets the one `new_password`
    /// gives, or the login stops and says so.
    pub fn login(&mut self, login: &str, password: &str, label: &str, new_password: impl FnOnce() -> Option<String>) -> Result<String, RemoteError> {
        let session = self.answer(self.agent.post(&self.url("/auth/login")).send_json(json!({"login": login, "password": password})))?;
        let session_token = session["token"].as_str().unwrap_or_default().to_owned();
        if session["user"]["must_change_password"].as_bool() == Some(true) {
            let Some(new) = new_password() else {
                return Err(RemoteError::Refused {
                    status: 403,
                    code: "password_change_required".into(),
                    message: "this account must choose a new password first".into(),
                    hint: Some("run `proctor login` again with PROCTOR_NEW_PASSWORD set, or answer the prompt".into()),
                });
            };
            self.answer(
                self.agent
                    .post(&self.url("/auth/password"))
                    .set("Authorization", &format!("Bearer {session_token}"))
                    .send_json(json!({"current": password, "new": new})),
            )?;
        }
        let made = self.answer(
            self.agent.post(&self.url("/auth/tokens")).set("Authorization", &format!("Bearer {session_token}")).send_json(json!({"label": label})),
        );
        // The login's own token is not needed past this point.
        let _ = self.agent.post(&self.url("/auth/logout")).set("Authorization", &format!("Bearer {session_token}")).call();
        let token = made?["token"].as_str().unwrap_or_default().to_owned();
        save_token(&self.server, &token)?;
        self.token = Some(token.clone());
        Ok(token)
    }

    /// Uploads a component; it serves at once unless `promote` is false.
    pub fn push(&self, wasm: &[u8], promote: bool) -> Result<Value, RemoteError> {
        let url = format!("{}?promote={promote}", self.url("/admin/plugins"));
        self.answer(self.agent.post(&url).set("Authorization", &self.bearer()?).set("Content-Type", "application/wasm").send_bytes(wasm))
    }

    /// Every plugin and its versions.
    pub fn list(&self) -> Result<Value, RemoteError> {
        self.answer(self.agent.get(&self.url("/admin/plugins")).set("Authorization", &self.bearer()?).call())
    }

    /// Serves the version of `name` that served before.
    pub fn rollback(&self, name: &str) -> Result<Value, RemoteError> {
        self.answer(self.agent.post(&self.url(&format!("/admin/plugins/{name}/rollback"))).set("Authorization", &self.bearer()?).call())
    }
}

/// Where tokens are kept: `PROCTOR_CREDENTIALS`, or
/// `$XDG_CONFIG_HOME/proctor/credentials.json`, or under `~/.config`.
pub fn credentials_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PROCTOR_CREDENTIALS") {
        return p.into();
    }
    let base = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    base.unwrap_or_else(|| PathBuf::from(".")).join("proctor").join("credentials.json")
}

fn read_credentials() -> Result<BTreeMap<String, String>, RemoteError> {
    let path = credentials_path();
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RemoteError::Credentials { path, detail: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(RemoteError::Credentials { path, detail: e.to_string() }),
    }
}

fn saved_token(server: &str) -> Result<Option<String>, RemoteError> {
    Ok(read_credentials()?.remove(server))
}

fn save_token(server: &str, token: &str) -> Result<(), RemoteError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = credentials_path();
    let failed = |e: std::io::Error| RemoteError::Credentials { path: path.clone(), detail: e.to_string() };
    let mut all = read_credentials()?;
    all.insert(server.to_owned(), token.to_owned());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    // Only its owner may read it: it holds bearer tokens.
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).map_err(failed)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    std::io::Write::write_all(&mut file, serde_json::to_string_pretty(&all).unwrap_or_default().as_bytes()).map_err(failed)
}
