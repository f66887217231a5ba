//! The store: sessions, the capacity queue, saved workspaces, users and
//! their tokens, in SQL.
//!
//! One [`Store`] speaks SQLite (a file in the data directory, the default)
//! or PostgreSQL (for several server replicas sharing state) through sqlx's
//! `Any` pool. Queries are written once with `$n` placeholders, which both
//! drivers accept; the migrations too (`migrations`), with one word that
//! differs per database filled in.

mod attempts;
mod audit;
mod migrations;
mod oidc;
mod plugins;
mod queue;
mod sessions;
mod settings;
mod users;
mod workshops;
mod workspaces;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    AnyPool,
    any::{AnyConnectOptions, AnyPoolOptions},
};

pub use attempts::{AttemptRow, TaskRecord};
pub use audit::AuditEntry;
pub use oidc::PendingLogin;
pub use plugins::StoredPlugin;
pub use queue::QueuePlace;
pub use users::{AccountChange, AccountRow};
pub use workshops::{SeatRow, WorkshopRow};

/// Which database a store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database this server speaks.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database cannot be reached or opened.
    #[error("cannot open the database: {0}")]
    Unavailable(String),
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A row holds a value this server does not understand.
    #[error("the database holds an unreadable value: {0}")]
    Corrupt(String),
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the SQLite file `proctor.db` in `data_dir`.
    pub async fn open_in(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        Store::connect(&sqlite_url(data_dir)).await
    }

    /// Connects to the database at `url` (`sqlite://…` or `postgres://…`)
    /// and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redacted(url)));
        };
        let options = AnyConnectOptions::from_str(url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Readers do not wait for the writer, and writers wait
                        // for each other instead of failing at once.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", redacted(url))))?;
        let migrator = migrations::migrator(backend).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        migrator.run(&pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Store { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL of the SQLite store in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("proctor.db").display())
}

/// A URL with its password replaced, fit for messages and logs.
pub(crate) fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted("postgres://ann:s3cret@db/proctor"), "postgres://ann:***@db/proctor");
        assert_eq!(redacted("postgres://ann@db/proctor"), "postgres://ann@db/proctor");
        assert_eq!(redacted("sqlite://data/proctor.db"), "sqlite://data/proctor.db");
    }
}
