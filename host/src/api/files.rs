//! `/api/v1/sessions/{id}/files`: the learner's workspace for the file
//! editor. Paths are relative to the workspace root (the machine's working
//! directory); absolute paths are accepted when they lie inside it. Nothing
//! outside the workspace can be named, whether by `..`, an absolute path or
//! a symbolic link, and files are capped in size (`max_file_kib`).

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, extract::Query, identity::Caller};
use crate::{
    files::{Entry, FilesError, Workspace},
    runtime::RuntimeError,
    server::AppState,
    sessions::{Phase, Session},
};

/// Which file or directory.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// Relative to the workspace root; empty or absent for the root.
    #[serde(default)]
    pub path: String,
    /// The machine (default: the lab's first).
    pub machine: Option<String>,
}

/// What to delete.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Relative to the workspace root.
    pub path: String,
    /// The machine (default: the lab's first).
    pub machine: Option<String>,
    /// Delete a directory with everything in it.
    #[serde(default)]
    pub recursive: bool,
}

/// A directory's entries.
#[derive(Serialize, ToSchema)]
pub struct ListingView {
    /// The directory, relative to the workspace root.
    pub path: String,
    /// Directories first, then files, by name.
    pub entries: Vec<Entry>,
    /// Whether entries were left out.
    pub truncated: bool,
}

/// A file written.
#[derive(Serialize, ToSchema)]
pub struct WrittenView {
    /// Its path as asked.
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

impl From<FilesError> for ApiError {
    fn from(e: FilesError) -> ApiError {
        let message = e.to_string();
        match e {
            FilesError::BadPath { .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", message),
            FilesError::Outside(_) => ApiError::new(StatusCode::BAD_REQUEST, "path_outside_workspace", message)
                .hint("use a path inside the workspace, relative to its root; `..` and links that lead out are refused"),
            FilesError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "file_not_found", message),
            FilesError::IsDirectory(_) => ApiError::new(StatusCode::BAD_REQUEST, "is_a_directory", message).hint("list it with GET …/files?path="),
            FilesError::NotDirectory(_) => ApiError::new(StatusCode::BAD_REQUEST, "not_a_directory", message).hint("read it with GET …/files/content?path="),
            FilesError::NotEmpty(_) => ApiError::new(StatusCode::CONFLICT, "directory_not_empty", message).hint("add recursive=true to delete it with its contents"),
            FilesError::Root => ApiError::new(StatusCode::BAD_REQUEST, "cannot_delete_workspace", message),
            FilesError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", message)
                .hint("edit large files from the terminal instead"),
            FilesError::Machine { .. } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "machine_refused", message),
            FilesError::Runtime(RuntimeError::NotFound(_)) => {
                ApiError::new(StatusCode::CONFLICT, "session_not_running", "the session's machine is gone")
            }
            FilesError::Runtime(e) => crate::sessions::SessionError::Runtime(e).into(),
        }
    }
}

/// The caller's running session and the machine and root the request
/// names.
async fn target(state: &AppState, id: &str, owner: &str, machine: Option<&str>) -> Result<(Session, String, String), ApiError> {
    let session = state.sessions.get_owned(id, owner).await?;
    if session.phase != Phase::Running {
        return Err(ApiError::new(StatusCode::CONFLICT, "session_not_running", format!("the session is {}", session.phase.as_str()))
            .hint("files can be reached while the session runs"));
    }
    let machines = state.sessions.labs().into_iter().find(|l| l.lab == session.lab).map(|l| l.machines.clone()).unwrap_or_default();
    let spec = match machine {
        None => machines.first(),
        Some(name) => machines.iter().find(|m| m.name == name),
    }
    .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_machine", format!("the session has no machine {:?}", machine.unwrap_or(""))))?;
    Ok((session, spec.name.clone(), spec.workdir.clone()))
}

fn limit(state: &AppState) -> u64 {
    state.config.sessions.max_file_kib * 1024
}

/// A directory's entries.
#[utoipa::path(get, path = "/sessions/{id}/files", tag = "files", params(FileQuery),
    responses((status = 200, body = ListingView), (status = 400, description = "outside the workspace, or not a directory"), (status = 404), (status = 409, description = "not running")))]
async fn list(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>, Query(q): Query<FileQuery>) -> Result<Json<ListingView>, ApiError> {
    let (session, machine, root) = target(&state, &id, &user.id, q.machine.as_deref()).await?;
    let listing = Workspace::new(state.sessions.runtime().as_ref(), &session.id, &machine, &root, limit(&state)).list(&q.path).await?;
    Ok(Json(ListingView { path: listing.path, entries: listing.entries, truncated: listing.truncated }))
}

/// A file's bytes.
#[utoipa::path(get, path = "/sessions/{id}/files/content", tag = "files", params(FileQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400), (status = 404), (status = 413, description = "larger than max_file_kib")))]
async fn read(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>, Query(q): Query<FileQuery>) -> Result<Response, ApiError> {
    let (session, machine, root) = target(&state, &id, &user.id, q.machine.as_deref()).await?;
    let data = Workspace::new(state.sessions.runtime().as_ref(), &session.id, &machine, &root, limit(&state)).read(&q.path).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "no-store")], Bytes::from(data)).into_response())
}

/// Writes a file (the body, as is), creating its directories. Counts as
/// activity: the session is not idle while its learner edits.
#[utoipa::path(put, path = "/sessions/{id}/files/content", tag = "files", params(FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = WrittenView), (status = 400), (status = 413, description = "larger than max_file_kib")))]
async fn write(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WrittenView>, ApiError> {
    let max = limit(&state);
    let too_large = |size| ApiError::from(FilesError::TooLarge { path: q.path.clone(), size, limit: max });
    // A declared length over the cap is refused before a byte is read.
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > max) {
        return Err(too_large(size));
    }
    let (session, machine, root) = target(&state, &id, &user.id, q.machine.as_deref()).await?;
    let data = axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX)).await.map_err(|_| too_large(max + 1))?;
    let size = Workspace::new(state.sessions.runtime().as_ref(), &session.id, &machine, &root, max).write(&q.path, &data).await?;
    state.sessions.touch(&session.id).await?;
    Ok(Json(WrittenView { path: q.path, size }))
}

/// Deletes a file, a link or an empty directory (any directory with
/// `recursive=true`).
#[utoipa::path(delete, path = "/sessions/{id}/files", tag = "files", params(DeleteQuery),
    responses((status = 204), (status = 400), (status = 404), (status = 409, description = "a directory with contents, or not running")))]
async fn delete(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>, Query(q): Query<DeleteQuery>) -> Result<StatusCode, ApiError> {
    let (session, machine, root) = target(&state, &id, &user.id, q.machine.as_deref()).await?;
    Workspace::new(state.sessions.runtime().as_ref(), &session.id, &machine, &root, limit(&state)).remove(&q.path, q.recursive).await?;
    state.sessions.touch(&session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, delete)).routes(routes!(read, write))
}
