//! `/api/v1/workshops`: instructor-led classes. Staff create a workshop
//! for a lab (seats, expiry) and get a join code; learners join with the
//! code and a name, no account needed, and land in their own session. The
//! instructor's dashboard streams every seat's progress per task as
//! server-sent events and can watch a learner's terminal, read-only.

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::{
        Path, State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ApiError,
    admin::{Staff, audit},
    extract::Json as Body,
    guests::GUEST_COOKIE_AGE,
    identity::{MaybeCaller, with_token_cookie},
    sessions::{SessionView, now},
    terminals::{Viewer, relay, websocket},
};
use crate::{
    server::AppState,
    workshops::{Dashboard, NewWorkshop, Workshop, WorkshopError},
};

/// How often a dashboard stream looks for changes. The store is the truth
/// (any replica may seat a learner or record a check), so it is polled.
const DASHBOARD_POLL: Duration = Duration::from_secs(1);

impl From<WorkshopError> for ApiError {
    fn from(e: WorkshopError) -> ApiError {
        let message = e.to_string();
        match e {
            WorkshopError::UnknownLab(id) => super::labs::unknown_lab(&id),
            WorkshopError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_workshop", message),
            WorkshopError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_workshop", message).hint("check the code with your instructor"),
            WorkshopError::Over(_) => ApiError::new(StatusCode::GONE, "workshop_ended", message),
            WorkshopError::Full(_) => ApiError::new(StatusCode::CONFLICT, "workshop_full", message).hint("ask your instructor to free a seat"),
            WorkshopError::NoSuchSeat(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_seat", message),
            WorkshopError::Session(e) => e.into(),
            WorkshopError::Store(e) => ApiError::internal("the database failed", &e),
        }
    }
}

/// Creates a workshop; its join code is in the answer.
#[utoipa::path(post, path = "/workshops", tag = "workshops", request_body = NewWorkshop,
    responses((status = 201, body = Workshop), (status = 403), (status = 404, description = "unknown lab"), (status = 422)))]
async fn create(State(state): State<AppState>, Staff(user): Staff, Body(req): Body<NewWorkshop>) -> Result<(StatusCode, Json<Workshop>), ApiError> {
    let made = state.workshops().create(&user, &req, now()).await?;
    audit(&state, &user, "workshop.create", format!("{} {}", made.id, made.code), Some(format!("lab {}, {} seats", made.lab, made.seats))).await;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Every workshop, newest first.
#[utoipa::path(get, path = "/workshops", tag = "workshops", responses((status = 200, body = [Workshop]), (status = 403)))]
async fn list(State(state): State<AppState>, Staff(_): Staff) -> Result<Json<Vec<Workshop>>, ApiError> {
    Ok(Json(state.workshops().list(now()).await?))
}

/// The dashboard: every seat with its progress per task.
#[utoipa::path(get, path = "/workshops/{id}", tag = "workshops", responses((status = 200, body = Dashboard), (status = 404)))]
async fn dashboard(State(state): State<AppState>, Staff(_): Staff, Path(id): Path<String>) -> Result<Json<Dashboard>, ApiError> {
    Ok(Json(state.workshops().dashboard(&id, now()).await?))
}

/// The dashboard as server-sent events: an event `dashboard` (the same
/// JSON as `GET /workshops/{id}`) at once and on every change.
#[utoipa::path(get, path = "/workshops/{id}/events", tag = "workshops",
    responses((status = 200, content_type = "text/event-stream", description = "dashboard events"), (status = 404)))]
async fn events(State(state): State<AppState>, Staff(_): Staff, Path(id): Path<String>) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    state.workshops().dashboard(&id, now()).await?;
    let stream = futures::stream::unfold((state, id, None::<String>), |(state, id, last)| async move {
        loop {
            if last.is_some() {
                tokio::time::sleep(DASHBOARD_POLL).await;
            }
            // A workshop deleted from under the stream, or a store that
            // fails, ends the stream; the browser's EventSource reconnects.
            let dash = state.workshops().dashboard(&id, now()).await.ok()?;
            let json = serde_json::to_string(&dash).ok()?;
            if last.as_deref() != Some(json.as_str()) {
                let event = Event::default().event("dashboard").data(json.clone());
                return Some((Ok(event), (state, id, Some(json))));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Ends the workshop: its seats are freed and their sessions end.
#[utoipa::path(delete, path = "/workshops/{id}", tag = "workshops", responses((status = 200, body = Workshop), (status = 404)))]
async fn end(State(state): State<AppState>, Staff(user): Staff, Path(id): Path<String>) -> Result<Json<Workshop>, ApiError> {
    let ended = state.workshops().end(&id, now()).await?;
    audit(&state, &user, "workshop.end", id, None).await;
    Ok(Json(ended))
}

/// Frees a seat; its learner's session ends.
#[utoipa::path(delete, path = "/workshops/{id}/seats/{seat}", tag = "workshops", responses((status = 204), (status = 404)))]
async fn free_seat(State(state): State<AppState>, Staff(user): Staff, Path((id, seat)): Path<(String, u32)>) -> Result<StatusCode, ApiError> {
    state.workshops().free_seat(&id, seat, now()).await?;
    audit(&state, &user, "workshop.free_seat", format!("{id} seat {seat}"), None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Watches a seat's first terminal over a WebSocket, read-only: the
/// scrollback, then the output; whatever the watcher sends is ignored.
async fn watch(State(state): State<AppState>, Staff(user): Staff, Path((id, seat)): Path<(String, u32)>, upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Result<Response, ApiError> {
    let row = state.workshops().seat(&id, seat).await?;
    let no_terminal = || ApiError::new(StatusCode::NOT_FOUND, "terminal_not_found", format!("seat {seat} has no open terminal")).hint("wait until the learner opens one");
    let session = row.session_id.ok_or_else(no_terminal)?;
    let first = state.terminals.list(&session).into_iter().next().ok_or_else(no_terminal)?;
    let attachment = state.terminals.attach(&session, &first.id)?;
    let upgrade = websocket(upgrade)?;
    audit(&state, &user, "workshop.watch", format!("{id} seat {seat}"), Some(format!("session {session}"))).await;
    Ok(upgrade.on_upgrade(move |socket| relay(socket, attachment, Viewer::Watcher)))
}

/// Joining a workshop.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The code the instructor gave.
    pub code: String,
    /// The name the instructor will see.
    pub name: String,
}

/// A learner seated.
#[derive(Serialize, ToSchema)]
pub struct JoinedView {
    /// The workshop.
    pub workshop: Workshop,
    /// The seat's number.
    pub seat: u32,
    /// The learner's session of the workshop's lab.
    pub session: SessionView,
    /// The learner's token when this join created them (also set as the
    /// cookie); absent when they came with one.
    pub token: Option<String>,
}

/// Joins a workshop with its code: no account needed. A browser that
/// joined before gets its seat (and session) back.
#[utoipa::path(post, path = "/workshops/join", tag = "workshops", request_body = Join,
    responses((status = 201, body = JoinedView), (status = 404, description = "unknown code"), (status = 409, description = "every seat is taken"),
              (status = 410, description = "the workshop is over")))]
async fn join(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller, Body(req): Body<Join>) -> Result<Response, ApiError> {
    let store = state.sessions.store();
    let (user, token) = match caller {
        Some(user) => (user, None),
        None => {
            // Checked before creating anyone, so a wrong code leaves no guest behind.
            store.workshop_by_code(&req.code.trim().to_uppercase()).await.map_err(WorkshopError::from)?.ok_or_else(|| WorkshopError::NotFound(req.code.clone()))?;
            let (user, token) = crate::auth::issue_named_guest(store, Some(req.name.trim()), now()).await.map_err(WorkshopError::from)?;
            (user, Some(token))
        }
    };
    let joined = state.workshops().join(&req.code, &user, &req.name, now()).await?;
    let view = JoinedView { workshop: joined.workshop, seat: joined.seat.seat, session: SessionView::of(&joined.started.session, now()), token: token.clone() };
    let response = (StatusCode::CREATED, Json(view)).into_response();
    Ok(match token {
        Some(token) => with_token_cookie(response, Some(&token), GUEST_COOKIE_AGE),
        None => response,
    })
}

/// The workshop routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(join))
        .routes(routes!(dashboard, end))
        .routes(routes!(events))
        .routes(routes!(free_seat))
        .route("/workshops/{id}/seats/{seat}/terminal", axum::routing::get(watch))
}
