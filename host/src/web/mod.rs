//! The learner's web UI, served from the binary.
//!
//! `host/ui/` holds the UI's sources; `scripts/build-ui` bundles them into
//! `host/ui/dist/`, which is committed, so building the server needs no
//! Node and serving it needs no network. `dist/assets.rs` (written by the
//! build) lists every file with its type, ETag and gzip copy; the files are
//! embedded with `include_bytes!`, which also makes cargo rebuild when the
//! bundle changes.
//!
//! The UI routes on the client (`/`, `/labs/{id}`, `/sessions/{id}`), so
//! any other path that is not a file answers `index.html`. Paths under
//! `/api` never do: an unknown API path stays a JSON 404.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

/// One embedded file of the built UI.
#[derive(Debug)]
pub struct Asset {
    /// The URL path it is served at.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its strong ETag (quoted), from a hash of its content.
    pub etag: &'static str,
    /// Whether its name carries its content's hash, so it never changes.
    pub immutable: bool,
    /// The file.
    pub body: &'static [u8],
    /// The same, gzipped, when that saves something.
    pub gzip: Option<&'static [u8]>,
}

/// The built UI.
pub static ASSETS: &[Asset] = include!(concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist/assets.rs"));

/// What the page may load and run: only this server's scripts, and
/// connections (fetch, WebSockets) to it. Styles may be inline because the
/// editor and the terminal set them from script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The file at `path`, if the bundle has one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn index() -> &'static Asset {
    asset("/index.html").expect("the UI bundle has an index.html; rebuild it with scripts/build-ui")
}

/// Answers every request no other route took: a UI file, the UI's page
/// for a client-side route, or a JSON 404 under `/api`.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return crate::api::extract::no_route().await.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    let file = match asset(path) {
        Some(file) => file,
        // A missing file (say, a script of an older build) must not be
        // answered with the page: the browser would run HTML as script.
        None if looks_like_a_file(path) => return (StatusCode::NOT_FOUND, "no such file").into_response(),
        None => index(),
    };
    respond(file, &headers)
}

/// Whether the last segment of `path` has an extension, as files do and
/// the UI's routes do not.
fn looks_like_a_file(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

fn respond(file: &'static Asset, request: &HeaderMap) -> Response {
    let cache = if file.immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = if if_none_match(request, file.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        match file.gzip.filter(|_| accepts_gzip(request)) {
            Some(packed) => ([(header::CONTENT_ENCODING, "gzip")], Body::from(packed)).into_response(),
            None => Body::from(file.body).into_response(),
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(file.etag));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if file.gzip.is_some() {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if file.content_type.starts_with("text/html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}

/// The comma-separated items of every `name` header of `request`.
fn list_items(request: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    request.get_all(name).into_iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim)
}

fn if_none_match(request: &HeaderMap, etag: &str) -> bool {
    list_items(request, header::IF_NONE_MATCH).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    list_items(request, header::ACCEPT_ENCODING).any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        // `gzip;q=0` refuses it.
        let refused = parts.any(|p| p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn get(path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        serve(Method::GET, path.parse().unwrap(), map).await
    }

    async fn text(response: Response) -> String {
        String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
    }

    fn script() -> &'static Asset {
        ASSETS.iter().find(|a| a.path.starts_with("/app-") && a.path.ends_with(".js")).expect("the bundle has its entry script")
    }

    #[tokio::test]
    async fn client_routes_answer_the_page_which_names_the_bundle() {
        for path in ["/", "/labs/first-steps", "/sessions/s_123"] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
            assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
            let page = text(response).await;
            assert!(page.contains(script().path), "{path}: {page}");
        }
    }

    #[tokio::test]
    async fn hashed_files_are_immutable_gzipped_when_asked_and_revalidated_by_etag() {
        let js = script();
        let plain = get(js.path, &[]).await;
        assert_eq!(plain.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(plain.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(to_bytes(plain.into_body(), usize::MAX).await.unwrap().len(), js.body.len());

        let packed = get(js.path, &[(header::ACCEPT_ENCODING, "br, gzip;q=0.8")]).await;
        assert_eq!(packed.headers()[header::CONTENT_ENCODING], "gzip");
        let refused = get(js.path, &[(header::ACCEPT_ENCODING, "gzip;q=0")]).await;
        assert!(!refused.headers().contains_key(header::CONTENT_ENCODING));

        let again = get(js.path, &[(header::IF_NONE_MATCH, js.etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn api_paths_and_missing_files_are_not_the_page() {
        let api = get("/api/v2/anything", &[]).await;
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert!(text(api).await.contains("no_such_endpoint"));
        let stale = get("/app-OLDHASH.js", &[]).await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
        let post = serve(Method::POST, "/labs/x".parse().unwrap(), HeaderMap::new()).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
