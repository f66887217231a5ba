//! Workshops and their seats.

use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError};

/// A workshop: a lab for a class, with seats and a join code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkshopRow {
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
    /// Who created it (login or id).
    pub created_by: String,
    /// Created (ms since the epoch).
    pub created_at: i64,
    /// It takes no one after this.
    pub expires_at: i64,
    /// When an instructor ended it.
    pub ended_at: Option<i64>,
}

/// A seat taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatRow {
    /// The workshop.
    pub workshop_id: String,
    /// Its number, from 1.
    pub seat: u32,
    /// The learner.
    pub user_id: String,
    /// The name they gave.
    pub name: String,
    /// Their session in the workshop's lab.
    pub session_id: Option<String>,
    /// When they joined.
    pub joined_at: i64,
}

const WORKSHOP: &str = "id, code, lab, title, seats, created_by, created_at, expires_at, ended_at";
const SEAT: &str = "workshop_id, seat, user_id, name, session_id, joined_at";

fn count(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    Ok(row.try_get::<i64, _>(column)?.clamp(0, i64::from(u32::MAX)) as u32)
}

fn workshop_from(row: &AnyRow) -> Result<WorkshopRow, StoreError> {
    Ok(WorkshopRow {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        lab: row.try_get("lab")?,
        title: row.try_get("title")?,
        seats: count(row, "seats")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        ended_at: row.try_get("ended_at")?,
    })
}

fn seat_from(row: &AnyRow) -> Result<SeatRow, StoreError> {
    Ok(SeatRow {
        workshop_id: row.try_get("workshop_id")?,
        seat: count(row, "seat")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        session_id: row.try_get("session_id")?,
        joined_at: row.try_get("joined_at")?,
    })
}

impl Store {
    /// Records a workshop; false when its code is taken.
    pub async fn insert_workshop(&self, w: &WorkshopRow) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO workshops ({WORKSHOP}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (code) DO NOTHING"
        ))
        .bind(&w.id)
        .bind(&w.code)
        .bind(&w.lab)
        .bind(&w.title)
        .bind(i64::from(w.seats))
        .bind(&w.created_by)
        .bind(w.created_at)
        .bind(w.expires_at)
        .bind(w.ended_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One workshop.
    pub async fn workshop(&self, id: &str) -> Result<Option<WorkshopRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {WORKSHOP} FROM workshops WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(workshop_from).transpose()
    }

    /// The workshop a join code opens.
    pub async fn workshop_by_code(&self, code: &str) -> Result<Option<WorkshopRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {WORKSHOP} FROM workshops WHERE code = $1")).bind(code).fetch_optional(&self.pool).await?;
        row.as_ref().map(workshop_from).transpose()
    }

    /// Every workshop, newest first.
    pub async fn workshops(&self) -> Result<Vec<WorkshopRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {WORKSHOP} FROM workshops ORDER BY created_at DESC, id")).fetch_all(&self.pool).await?;
        rows.iter().map(workshop_from).collect()
    }

    /// Workshops past their expiry that nobody ended yet.
    pub async fn expired_workshops(&self, now: i64) -> Result<Vec<WorkshopRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {WORKSHOP} FROM workshops WHERE ended_at IS NULL AND expires_at <= $1")).bind(now).fetch_all(&self.pool).await?;
        rows.iter().map(workshop_from).collect()
    }

    /// Marks a workshop ended; false when it already was.
    pub async fn end_workshop(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE workshops SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL").bind(now).bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// The workshop's taken seats, by number.
    pub async fn seats(&self, workshop_id: &str) -> Result<Vec<SeatRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {SEAT} FROM workshop_seats WHERE workshop_id = $1 AND freed_at IS NULL ORDER BY seat"))
            .bind(workshop_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(seat_from).collect()
    }

    /// Gives `user_id` the lowest free seat, unless every seat is taken.
    /// Two joins racing for one seat cannot both have it (a unique index on
    /// taken seats): the loser tries the next.
    pub async fn take_seat(&self, workshop: &WorkshopRow, user_id: &str, name: &str, now: i64) -> Result<Option<SeatRow>, StoreError> {
        for _ in 0..8 {
            let taken: Vec<u32> = self.seats(&workshop.id).await?.iter().map(|s| s.seat).collect();
            let Some(seat) = (1..=workshop.seats).find(|n| !taken.contains(n)) else { return Ok(None) };
            let row = SeatRow { workshop_id: workshop.id.clone(), seat, user_id: user_id.to_owned(), name: name.to_owned(), session_id: None, joined_at: now };
            if self.insert_seat(&row).await? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    async fn insert_seat(&self, row: &SeatRow) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!("INSERT INTO workshop_seats ({SEAT}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"))
            .bind(&row.workshop_id)
            .bind(i64::from(row.seat))
            .bind(&row.user_id)
            .bind(&row.name)
            .bind(&row.session_id)
            .bind(row.joined_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the session a seat's learner works in.
    pub async fn set_seat_session(&self, workshop_id: &str, seat: u32, session_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE workshop_seats SET session_id = $1 WHERE workshop_id = $2 AND seat = $3 AND freed_at IS NULL")
            .bind(session_id)
            .bind(workshop_id)
            .bind(i64::from(seat))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Frees a seat; false when it was not taken.
    pub async fn free_seat(&self, workshop_id: &str, seat: u32, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE workshop_seats SET freed_at = $1 WHERE workshop_id = $2 AND seat = $3 AND freed_at IS NULL")
            .bind(now)
            .bind(workshop_id)
            .bind(i64::from(seat))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
