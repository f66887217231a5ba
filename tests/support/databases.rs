//! Databases for store tests: a fresh SQLite file always, and a fresh
//! PostgreSQL database when `DATABASE_URL` names a server (CI sets it).

use std::sync::atomic::{AtomicU32, Ordering};

use proctor::store::Store;
use sqlx::{Connection, PgConnection};

/// A store and the name of the database behind it.
#[derive(Debug)]
pub struct TestStore {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The store, migrated and empty.
    pub store: Store,
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A fresh SQLite store in a new temporary directory.
pub async fn sqlite() -> Store {
    let dir = std::env::temp_dir().join(unique("proctor_store"));
    Store::open_in(&dir).await.expect("a SQLite store")
}

/// A fresh PostgreSQL database on the server `DATABASE_URL` names (its
/// role needs CREATEDB), or `None`, said on stderr, when it is unset.
pub async fn postgres(test: &str) -> Option<Store> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped {test} on PostgreSQL: set DATABASE_URL to run it there");
        return None;
    };
    let name = unique("proctor_t");
    let mut admin = PgConnection::connect(&url).await.expect("DATABASE_URL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
    admin.close().await.ok();
    let (base, _) = url.rsplit_once('/').expect("DATABASE_URL names a database");
    Some(Store::connect(&format!("{base}/{name}")).await.expect("a PostgreSQL store"))
}

/// A fresh store on every backend this run can reach.
pub async fn stores(test: &str) -> Vec<TestStore> {
    let mut all = vec![TestStore { backend: "sqlite", store: sqlite().await }];
    if let Some(store) = postgres(test).await {
        all.push(TestStore { backend: "postgres", store });
    }
    all
}
