//! A small HTTP/1.1 client for API tests: one request per connection,
//! JSON in and out.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// The body as text.
    pub text: String,
}

impl Answer {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Sends `method path` to `127.0.0.1:port` with extra `headers` and an
/// optional JSON body.
pub async fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Answer {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = headers.to_vec();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    request_bytes(port, method, path, &headers, body.as_bytes()).await
}

/// Sends `method path` with `headers` and `body` as they are.
pub async fn request_bytes(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("the server is listening");
    conn.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) and close before a large body is all sent.
    let _ = conn.write_all(body).await;
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw).await;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned())).collect();
    // Bodies here are small; a chunked one arrives as one chunk.
    let text = if head.to_lowercase().contains("transfer-encoding: chunked") {
        body.split_once("\r\n").map(|(_, rest)| rest.rsplitn(2, "\r\n0\r\n").last().unwrap_or("").to_owned()).unwrap_or_default()
    } else {
        body.to_owned()
    };
    Answer { status, headers, json: serde_json::from_str(&text).unwrap_or(Value::Null), text }
}

/// Serves `state` on a free loopback port until the test process ends.
pub async fn serve(state: proctor::server::AppState) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(proctor::server::serve_on(listener, state, std::future::pending()));
    port
}

/// A new guest learner's `Authorization` header value.
pub async fn guest(port: u16) -> String {
    let created = request(port, "POST", "/api/v1/guests", &[], None).await;
    assert_eq!(created.status, 201, "{created:?}");
    format!("Bearer {}", created.json["token"].as_str().expect("a token"))
}

/// A server with the bundled labs on the real engine: an SQLite store, no
/// warm pools (tests start what they use), and the first-steps judge
/// loaded. Returns its port and its sessions.
pub async fn serve_bundled_labs(config: proctor::config::Config) -> (u16, proctor::sessions::Sessions) {
    let runtime = proctor::runtime::docker::DockerRuntime::connect().await.expect("the engine answers");
    let (port, sessions, _) = serve_bundled_labs_on(std::sync::Arc::new(runtime), config).await;
    (port, sessions)
}

/// The same server on any runtime (the in-memory one, say); its registry
/// is returned too.
pub async fn serve_bundled_labs_on(
    runtime: std::sync::Arc<dyn proctor::runtime::Runtime>,
    mut config: proctor::config::Config,
) -> (u16, proctor::sessions::Sessions, proctor::plugins::Registry) {
    use proctor::{labs::Catalog, plugins::Registry, server::AppState, sessions::Sessions};

    config.scenarios_dir = crate::workspace().join("scenarios");
    let registry = Registry::new(crate::engine());
    registry.install(&crate::wasm(&crate::components().first_steps)).await.expect("the first-steps judge loads");
    let labs = Catalog::load(&config.scenarios_dir).expect("the bundled labs load");
    let sessions = Sessions::new(crate::databases::sqlite().await, runtime, config.sessions.policy());
    for lab in &labs.labs {
        if let Some(mut env) = lab.environment(&config.sessions.default_lifetime()) {
            env.warm_pool = 0;
            sessions.set_lab(env);
        }
    }
    let port = serve(AppState::new(registry.clone(), config, sessions.clone(), labs)).await;
    (port, sessions, registry)
}

/// A new guest's running session of `lab` on a real engine: the guest's
/// `Authorization` value, the session id, and a guard that removes the
/// session's objects from the engine when dropped.
pub async fn start_as_guest(port: u16, lab: &str) -> (String, String, crate::EngineCleanup) {
    let auth = guest(port).await;
    let started = request(port, "POST", "/api/v1/sessions", &[("Authorization", auth.as_str())], Some(&serde_json::json!({ "lab": lab }))).await;
    assert_eq!(started.status, 201, "{started:?}");
    let id = started.json["id"].as_str().expect("a session id").to_owned();
    let cleanup = crate::EngineCleanup::default().label("dev.proctor.session", &id);
    (auth, id, cleanup)
}

/// Creates an account with `role` on `store` and logs it in: its
/// `Authorization` value.
pub async fn account(port: u16, store: &proctor::store::Store, login: &str, role: proctor::auth::Role) -> String {
    const PASSWORD: &str = "correct horse battery";
    proctor::auth::accounts::create(store, login, role, Some(PASSWORD), 1).await.expect("the account is created");
    let answer = request(port, "POST", "/api/v1/auth/login", &[], Some(&serde_json::json!({"login": login, "password": PASSWORD}))).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    format!("Bearer {}", answer.json["token"].as_str().expect("a token"))
}

/// A server-sent event stream read off a raw connection.
pub struct EventStream {
    reader: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl EventStream {
    /// Opens `path` as an event stream with `auth`; panics unless it is one.
    pub async fn open(port: u16, path: &str, auth: &str) -> EventStream {
        use tokio::io::AsyncBufReadExt;
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut reader = tokio::io::BufReader::new(stream);
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            headers.push_str(&line);
        }
        assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
        assert!(headers.to_lowercase().contains("content-type: text/event-stream"), "{headers}");
        EventStream { reader }
    }

    /// The next event's data as JSON, within 20 seconds.
    pub async fn next(&mut self) -> Value {
        use tokio::io::AsyncBufReadExt;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout_at(deadline, self.reader.read_line(&mut line)).await.expect("an event within 20 s");
            assert!(read.unwrap() > 0, "the stream ended");
            // Chunk sizes, keep-alive comments and event names are skipped.
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str(data.trim_end()).expect("the event's data is JSON");
            }
        }
    }
}
