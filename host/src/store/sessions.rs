//! Session rows. Every update is conditional on the version the caller read,
//! so two replicas (or the reaper and a learner) cannot both move a session.

use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError};
use crate::sessions::state::{EndReason, Phase, Session};

const COLUMNS: &str = "id, lab, owner, phase, created_at, started_at, expires_at, last_activity_at, \
                       extensions, ended_at, end_reason, error, version";

/// The phases that hold an environment, as a SQL list.
const LIVE: &str = "('starting', 'pooled', 'running', 'ending')";

fn session_from(row: &AnyRow) -> Result<Session, StoreError> {
    let phase: String = row.try_get("phase")?;
    let reason: Option<String> = row.try_get("end_reason")?;
    let extensions: i64 = row.try_get("extensions")?;
    Ok(Session {
        id: row.try_get("id")?,
        lab: row.try_get("lab")?,
        owner: row.try_get("owner")?,
        phase: Phase::parse(&phase).ok_or_else(|| StoreError::Corrupt(format!("session phase `{phase}`")))?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        expires_at: row.try_get("expires_at")?,
        last_activity_at: row.try_get("last_activity_at")?,
        extensions: u32::try_from(extensions).map_err(|_| StoreError::Corrupt(format!("extensions {extensions}")))?,
        ended_at: row.try_get("ended_at")?,
        end_reason: match reason {
            Some(r) => Some(EndReason::parse(&r).ok_or_else(|| StoreError::Corrupt(format!("end reason `{r}`")))?),
            None => None,
        },
        error: row.try_get("error")?,
        version: row.try_get("version")?,
    })
}

impl Store {
    /// How many sessions are in each phase, by lab (for metrics).
    pub async fn count_by_phase(&self) -> Result<Vec<(String, Phase, u64)>, StoreError> {
        let rows = sqlx::query("SELECT lab, phase, COUNT(*) AS n FROM sessions GROUP BY lab, phase").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let phase: String = row.try_get("phase")?;
                let n: i64 = row.try_get("n")?;
                let phase = Phase::parse(&phase).ok_or_else(|| StoreError::Corrupt(format!("session phase `{phase}`")))?;
                Ok((row.try_get("lab")?, phase, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// Records a new session.
    pub async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&s.id)
        .bind(&s.lab)
        .bind(&s.owner)
        .bind(s.phase.as_str())
        .bind(s.created_at)
        .bind(s.started_at)
        .bind(s.expires_at)
        .bind(s.last_activity_at)
        .bind(i64::from(s.extensions))
        .bind(s.ended_at)
        .bind(s.end_reason.map(EndReason::as_str))
        .bind(&s.error)
        .bind(s.version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores `next` over the row if that row is still at `next.version - 1`.
    /// Returns whether it was; `false` means someone else moved the session
    /// first.
    pub async fn update_session(&self, next: &Session) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET owner = $1, phase = $2, started_at = $3, expires_at = $4, last_activity_at = $5, \
             extensions = $6, ended_at = $7, end_reason = $8, error = $9, version = $10 \
             WHERE id = $11 AND version = $12",
        )
        .bind(&next.owner)
        .bind(next.phase.as_str())
        .bind(next.started_at)
        .bind(next.expires_at)
        .bind(next.last_activity_at)
        .bind(i64::from(next.extensions))
        .bind(next.ended_at)
        .bind(next.end_reason.map(EndReason::as_str))
        .bind(&next.error)
        .bind(next.version)
        .bind(&next.id)
        .bind(next.version - 1)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One session.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_from).transpose()
    }

    /// Sessions that hold an environment, oldest first.
    pub async fn live_sessions(&self) -> Result<Vec<Session>, StoreError> {
        self.sessions_where(&format!("phase IN {LIVE}"), None).await
    }

    /// A learner's sessions, newest first; only the live ones if `live_only`.
    pub async fn sessions_of(&self, owner: &str, live_only: bool) -> Result<Vec<Session>, StoreError> {
        let live = if live_only { format!(" AND phase IN {LIVE}") } else { String::new() };
        let mut found = self.sessions_where(&format!("owner = $1{live}"), Some(owner)).await?;
        found.reverse();
        Ok(found)
    }

    /// A lab's warm pool, oldest first.
    pub async fn pooled(&self, lab: &str) -> Result<Vec<Session>, StoreError> {
        self.sessions_where("phase IN ('pooled', 'starting') AND owner IS NULL AND lab = $1", Some(lab)).await
    }

    /// Learners' sessions that hold or are getting an environment: what the
    /// global cap counts. Warm-pool entries are not counted.
    pub async fn count_learner_sessions(&self) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM sessions WHERE owner IS NOT NULL AND phase IN {LIVE}"))
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u32)
    }

    /// The earliest time a running session ends, if one runs.
    pub async fn next_expiry(&self) -> Result<Option<i64>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT MIN(expires_at) FROM sessions WHERE phase = 'running'")
            .fetch_one(&self.pool)
            .await?;
        Ok(at)
    }

    async fn sessions_where(&self, filter: &str, arg: Option<&str>) -> Result<Vec<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE {filter} ORDER BY created_at, id");
        let mut query = sqlx::query(&sql);
        if let Some(arg) = arg {
            query = query.bind(arg);
        }
        query.fetch_all(&self.pool).await?.iter().map(session_from).collect()
    }
}
