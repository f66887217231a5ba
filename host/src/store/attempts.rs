//! Attempts: every check, with its verdict and the recording that replays it.

use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError};

/// One check a learner ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRow {
    /// Id.
    pub id: String,
    /// The session.
    pub session_id: String,
    /// The learner.
    pub owner: String,
    /// The lab.
    pub lab: String,
    /// The task.
    pub task: String,
    /// The verdict's status (`passed`, `failed`, `not-gradable`, `error`).
    pub status: String,
    /// The verdict, as JSON.
    pub verdict: String,
    /// The capability calls, as a fixture (JSON) `proctor judge run` replays.
    pub recording: String,
    /// The judge that answered.
    pub plugin: Option<String>,
    /// Its version.
    pub plugin_version: Option<String>,
    /// How long the check took.
    pub duration_us: i64,
    /// When.
    pub created_at: i64,
}

const COLUMNS: &str = "id, session_id, owner, lab, task, status, verdict, recording, plugin, plugin_version, duration_us, created_at";

fn attempt_from(row: &AnyRow) -> Result<AttemptRow, StoreError> {
    Ok(AttemptRow {
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        owner: row.try_get("owner")?,
        lab: row.try_get("lab")?,
        task: row.try_get("task")?,
        status: row.try_get("status")?,
        verdict: row.try_get("verdict")?,
        recording: row.try_get("recording")?,
        plugin: row.try_get("plugin")?,
        plugin_version: row.try_get("plugin_version")?,
        duration_us: row.try_get("duration_us")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Records an attempt.
    pub async fn insert_attempt(&self, a: &AttemptRow) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO attempts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
            .bind(&a.id)
            .bind(&a.session_id)
            .bind(&a.owner)
            .bind(&a.lab)
            .bind(&a.task)
            .bind(&a.status)
            .bind(&a.verdict)
            .bind(&a.recording)
            .bind(&a.plugin)
            .bind(&a.plugin_version)
            .bind(a.duration_us)
            .bind(a.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A session's attempts, oldest first; only `task`'s when given.
    pub async fn attempts(&self, session_id: &str, task: Option<&str>) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = match task {
            Some(_) => format!("SELECT {COLUMNS} FROM attempts WHERE session_id = $1 AND task = $2 ORDER BY created_at, id"),
            None => format!("SELECT {COLUMNS} FROM attempts WHERE session_id = $1 ORDER BY created_at, id"),
        };
        let mut query = sqlx::query(&sql).bind(session_id);
        if let Some(task) = task {
            query = query.bind(task);
        }
        query.fetch_all(&self.pool).await?.iter().map(attempt_from).collect()
    }

    /// One attempt.
    pub async fn attempt(&self, id: &str) -> Result<Option<AttemptRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM attempts WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(attempt_from).transpose()
    }
}

/// A learner's record on one task, over every attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// The lab.
    pub lab: String,
    /// The task.
    pub task: String,
    /// Checks run.
    pub attempts: i64,
    /// When it first passed, if it did.
    pub first_passed_at: Option<i64>,
    /// The last check.
    pub last_attempt_at: i64,
}

const RECORD: &str = "SELECT lab, task, COUNT(*) AS attempts, \
     MIN(CASE WHEN status = 'passed' THEN created_at END) AS first_passed_at, MAX(created_at) AS last_attempt_at FROM attempts";

fn record_from(row: &AnyRow) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        lab: row.try_get("lab")?,
        task: row.try_get("task")?,
        attempts: row.try_get("attempts")?,
        first_passed_at: row.try_get("first_passed_at")?,
        last_attempt_at: row.try_get("last_attempt_at")?,
    })
}

impl Store {
    /// `owner`'s record on every task they ever checked, across sessions.
    pub async fn progress_of(&self, owner: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!("{RECORD} WHERE owner = $1 GROUP BY lab, task ORDER BY lab, task")).bind(owner).fetch_all(&self.pool).await?;
        rows.iter().map(record_from).collect()
    }

    /// The record on every task checked in one session.
    pub async fn progress_in(&self, session_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!("{RECORD} WHERE session_id = $1 GROUP BY lab, task ORDER BY lab, task")).bind(session_id).fetch_all(&self.pool).await?;
        rows.iter().map(record_from).collect()
    }
}
