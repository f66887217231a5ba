//! Plugin versions uploaded through the admin API: the component's bytes,
//! who uploaded it and when.

use sqlx::Row;

use super::{Store, StoreError};

/// An uploaded version, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPlugin {
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-256 of the component.
    pub digest: String,
}

impl Store {
    /// Keeps an uploaded version. Keeping the same version again changes
    /// nothing: the registry has already refused a different build under
    /// a known version.
    pub async fn save_plugin_upload(&self, plugin: &StoredPlugin, wasm: &[u8], by: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO plugin_uploads (name, version, digest, wasm, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name, version) DO NOTHING",
        )
        .bind(&plugin.name)
        .bind(&plugin.version)
        .bind(&plugin.digest)
        .bind(wasm.to_vec())
        .bind(by)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every kept upload, oldest first.
    pub async fn plugin_uploads(&self) -> Result<Vec<StoredPlugin>, StoreError> {
        let rows = sqlx::query("SELECT name, version, digest FROM plugin_uploads ORDER BY uploaded_at, name, version").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(StoredPlugin { name: r.try_get("name")?, version: r.try_get("version")?, digest: r.try_get("digest")? }))
            .collect()
    }

    /// The bytes of a kept upload.
    pub async fn plugin_wasm(&self, name: &str, version: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT wasm FROM plugin_uploads WHERE name = $1 AND version = $2").bind(name).bind(version).fetch_optional(&self.pool).await?)
    }
}
