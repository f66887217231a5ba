//! Instructor-led workshops: a lab for a class, with a number of seats, an
//! expiry and a short join code. Learners join with the code and a name,
//! no account needed; each gets a seat and a session of the lab. The
//! instructor watches every seat's progress per task and can free a seat
//! or end the workshop, which ends its sessions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    auth::User,
    labs::LiveCatalog,
    sessions::{EndReason, Millis, SessionError, Sessions, Started},
    store::{SeatRow, Store, StoreError, WorkshopRow},
};

/// Letters and digits that cannot be mistaken for one another when read
/// aloud or off a projector (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 6;

/// Why a workshop operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkshopError {
    /// No such lab.
    #[error("there is no lab `{0}`")]
    UnknownLab(String),
    /// A value out of range.
    #[error("{0}")]
    Invalid(String),
    /// No workshop by that id or code.
    #[error("there is no workshop `{0}`")]
    NotFound(String),
    /// It ended or expired.
    #[error("the workshop `{0}` is over")]
    Over(String),
    /// Every seat is taken.
    #[error("all {0} seats of this workshop are taken")]
    Full(u32),
    /// No seat by that number is taken.
    #[error("seat {0} is free")]
    NoSuchSeat(u32),
    /// The seat's session could not start.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A workshop to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkshop {
    /// The lab.
    pub lab: String,
    /// A title for the class (the lab's title when absent).
    pub title: Option<String>,
    /// Seats, 1 to 500.
    pub seats: u32,
    /// Minutes it takes learners, 5 minutes to 14 days.
    pub expires_in_minutes: u64,
}

/// A workshop as instructors see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Workshop {
    /// Id.
    pub id: String,
    /// What learners type to join.
    pub code: String,
    /// The lab.
    pub lab: String,
    /// Title.
    pub title: String,
    /// Seats.
    pub seats: u32,
    /// Seats taken now.
    pub taken: u32,
    /// It takes no one after this (ms since the epoch).
    pub expires_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Whether it is over (ended or expired).
    pub ended: bool,
}

impl Workshop {
    fn of(w: &WorkshopRow, taken: usize, now: Millis) -> Workshop {
        Workshop {
            id: w.id.clone(),
            code: w.code.clone(),
            lab: w.lab.clone(),
            title: w.title.clone(),
            seats: w.seats,
            taken: taken as u32,
            expires_at: w.expires_at,
            created_by: w.created_by.clone(),
            ended: is_over(w, now),
        }
    }
}

fn is_over(w: &WorkshopRow, now: Millis) -> bool {
    w.ended_at.is_some() || w.expires_at <= now
}

/// One task's state at one seat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct SeatTask {
    /// Whether it passed.
    pub passed: bool,
    /// Checks run.
    pub attempts: i64,
}

/// A seat on the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct SeatView {
    /// Its number.
    pub seat: u32,
    /// The learner's name.
    pub name: String,
    /// The learner's user id.
    pub user: String,
    /// Their session.
    pub session: Option<String>,
    /// Its status (`running`, `ended`, …).
    pub session_status: Option<String>,
    /// When they joined.
    pub joined_at: i64,
    /// Task id → state; tasks never checked are absent.
    #[schema(value_type = Object)]
    pub tasks: std::collections::BTreeMap<String, SeatTask>,
}

/// A task column on the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct TaskColumn {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// What the instructor's dashboard shows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Dashboard {
    /// The workshop.
    pub workshop: Workshop,
    /// The lab's tasks, in order.
    pub tasks: Vec<TaskColumn>,
    /// Every taken seat.
    pub seats: Vec<SeatView>,
}

/// A learner seated.
#[derive(Debug)]
pub struct Joined {
    /// The workshop.
    pub workshop: Workshop,
    /// Their seat.
    pub seat: SeatRow,
    /// Their session.
    pub started: Started,
}

fn new_code() -> String {
    (0..CODE_LENGTH).map(|_| CODE_ALPHABET[rand::random_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// Workshop operations over a server's parts.
pub struct Workshops<'a> {
    /// The store.
    pub store: &'a Store,
    /// The session manager.
    pub sessions: &'a Sessions,
    /// The labs.
    pub labs: &'a LiveCatalog,
}

impl Workshops<'_> {
    /// Creates a workshop by `creator`.
    pub async fn create(&self, creator: &User, req: &NewWorkshop, now: Millis) -> Result<Workshop, WorkshopError> {
        let lab = self.labs.get(&req.lab).ok_or_else(|| WorkshopError::UnknownLab(req.lab.clone()))?;
        if !(1..=500).contains(&req.seats) {
            return Err(WorkshopError::Invalid("seats must be between 1 and 500".into()));
        }
        if !(5..=14 * 24 * 60).contains(&req.expires_in_minutes) {
            return Err(WorkshopError::Invalid("expires_in_minutes must be between 5 and 20160 (14 days)".into()));
        }
        let title = req.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or(&lab.title);
        if title.chars().count() > 120 {
            return Err(WorkshopError::Invalid("the title is limited to 120 characters".into()));
        }
        let mut row = WorkshopRow {
            id: format!("w{:016x}", rand::random::<u64>()),
            code: new_code(),
            lab: lab.id.clone(),
            title: title.to_owned(),
            seats: req.seats,
            created_by: creator.login.clone().unwrap_or_else(|| creator.id.clone()),
            created_at: now,
            expires_at: now + (req.expires_in_minutes * 60_000) as i64,
            ended_at: None,
        };
        // 31^6 codes: a clash is rare, and retried with another.
        while !self.store.insert_workshop(&row).await? {
            row.code = new_code();
        }
        Ok(Workshop::of(&row, 0, now))
    }

    async fn find(&self, id: &str) -> Result<WorkshopRow, WorkshopError> {
        self.store.workshop(id).await?.ok_or_else(|| WorkshopError::NotFound(id.to_owned()))
    }

    /// Every workshop, newest first.
    pub async fn list(&self, now: Millis) -> Result<Vec<Workshop>, WorkshopError> {
        let mut out = Vec::new();
        for w in self.store.workshops().await? {
            let taken = self.store.seats(&w.id).await?.len();
            out.push(Workshop::of(&w, taken, now));
        }
        Ok(out)
    }

    /// Seats `user` (giving their seat back when they hold one) and starts
    /// or resumes their session of the workshop's lab.
    pub async fn join(&self, code: &str, user: &User, name: &str, now: Millis) -> Result<Joined, WorkshopError> {
        let code = code.trim().to_uppercase();
        let w = self.store.workshop_by_code(&code).await?.ok_or_else(|| WorkshopError::NotFound(code.clone()))?;
        if is_over(&w, now) {
            return Err(WorkshopError::Over(code));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(WorkshopError::Invalid("give a name of 1 to 60 characters, so the instructor knows who you are".into()));
        }
        let seats = self.store.seats(&w.id).await?;
        let seat = match seats.iter().find(|s| s.user_id == user.id) {
            Some(mine) => mine.clone(),
            None => self.store.take_seat(&w, &user.id, name, now).await?.ok_or(WorkshopError::Full(w.seats))?,
        };
        let started = self.sessions.start(&user.id, &w.lab).await?;
        if seat.session_id.as_deref() != Some(started.session.id.as_str()) {
            self.store.set_seat_session(&w.id, seat.seat, &started.session.id).await?;
        }
        let taken = self.store.seats(&w.id).await?.len();
        let seat = SeatRow { session_id: Some(started.session.id.clone()), ..seat };
        Ok(Joined { workshop: Workshop::of(&w, taken, now), seat, started })
    }

    /// The dashboard: every seat's progress per task.
    pub async fn dashboard(&self, id: &str, now: Millis) -> Result<Dashboard, WorkshopError> {
        let w = self.find(id).await?;
        let seats = self.store.seats(&w.id).await?;
        let tasks = self.labs.get(&w.lab).map(|l| l.tasks.iter().map(|t| TaskColumn { id: t.id.clone(), title: t.title.clone() }).collect()).unwrap_or_default();
        let mut views = Vec::with_capacity(seats.len());
        for s in &seats {
            let (status, progress) = match &s.session_id {
                Some(sid) => {
                    let status = self.store.session(sid).await?.map(|s| s.phase.status().to_owned());
                    (status, self.store.progress_in(sid).await?)
                }
                None => (None, Vec::new()),
            };
            views.push(SeatView {
                seat: s.seat,
                name: s.name.clone(),
                user: s.user_id.clone(),
                session: s.session_id.clone(),
                session_status: status,
                joined_at: s.joined_at,
                tasks: progress.into_iter().map(|r| (r.task, SeatTask { passed: r.first_passed_at.is_some(), attempts: r.attempts })).collect(),
            });
        }
        Ok(Dashboard { workshop: Workshop::of(&w, seats.len(), now), tasks, seats: views })
    }

    /// The seat's row.
    pub async fn seat(&self, id: &str, seat: u32) -> Result<SeatRow, WorkshopError> {
        let w = self.find(id).await?;
        self.store.seats(&w.id).await?.into_iter().find(|s| s.seat == seat).ok_or(WorkshopError::NoSuchSeat(seat))
    }

    /// Frees a seat; its session ends.
    pub async fn free_seat(&self, id: &str, seat: u32, now: Millis) -> Result<(), WorkshopError> {
        let row = self.seat(id, seat).await?;
        self.store.free_seat(id, seat, now).await?;
        self.end_session(row.session_id.as_deref()).await;
        Ok(())
    }

    /// Ends a workshop: it takes no one more, its seats are freed and
    /// their sessions end.
    pub async fn end(&self, id: &str, now: Millis) -> Result<Workshop, WorkshopError> {
        let w = self.find(id).await?;
        self.store.end_workshop(id, now).await?;
        for seat in self.store.seats(id).await? {
            self.store.free_seat(id, seat.seat, now).await?;
            self.end_session(seat.session_id.as_deref()).await;
        }
        Ok(Workshop::of(&WorkshopRow { ended_at: Some(now), ..w }, 0, now))
    }

    /// Ends the workshops whose time is up; returns how many.
    pub async fn sweep(&self, now: Millis) -> Result<usize, WorkshopError> {
        let expired = self.store.expired_workshops(now).await?;
        for w in &expired {
            self.end(&w.id, now).await?;
            tracing::info!(workshop = %w.id, "workshop expired");
        }
        Ok(expired.len())
    }

    /// Ends a seat's session; one already over (or gone) is fine.
    async fn end_session(&self, session: Option<&str>) {
        let Some(session) = session else { return };
        match self.sessions.end(session, EndReason::Workshop).await {
            Ok(_) | Err(SessionError::NotFound(_)) => {}
            Err(e) => tracing::warn!(%session, error = %e, "could not end a workshop seat's session"),
        }
    }
}
