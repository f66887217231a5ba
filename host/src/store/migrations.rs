//! The schema's migrations, written once for both databases in
//! `host/migrations/`. The dialects differ only in the name of the binary
//! type, so the files say `{blob}` and each database gets its own word.
//! The checksums sqlx keeps are those of the SQL each database ran.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
};

use super::Backend;

/// Every migration, in order: version, description, SQL. A new migration
/// is a new file in `host/migrations/` and a new line here.
const MIGRATIONS: [(i64, &str, &str); 7] = [
    (1, "sessions", include_str!("../../migrations/0001_sessions.sql")),
    (2, "users", include_str!("../../migrations/0002_users.sql")),
    (3, "attempts", include_str!("../../migrations/0003_attempts.sql")),
    (4, "accounts", include_str!("../../migrations/0004_accounts.sql")),
    (5, "audit", include_str!("../../migrations/0005_audit.sql")),
    (6, "admin", include_str!("../../migrations/0006_admin.sql")),
    (7, "plugins", include_str!("../../migrations/0007_plugins.sql")),
];

/// The migrations in one database's dialect.
#[derive(Debug)]
struct Dialect(Backend);

impl<'s> MigrationSource<'s> for Dialect {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        let blob = match self.0 {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Owned(sql.replace("{blob}", blob)), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// The migrator for `backend`.
pub async fn migrator(backend: Backend) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Dialect(backend)).await
}
