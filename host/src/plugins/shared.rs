//! Uploaded plugin versions and serving choices, shared through the store:
//! an upload is kept with its bytes; each promotion, rollback or disabling
//! is kept as the setting `plugin:<name>`. A restarted server and every
//! other replica load the kept uploads and serve as the settings say
//! ([`SharedPlugins::sync`], at start-up and on each housekeeping tick).
//!
//! Versions bundled with the server (the judges directory) are loaded from
//! disk at every start and are not kept; a kept choice may still name one.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use super::{Plugin, Registry, RegistryError, registry::ServingState};
use crate::store::{Store, StoreError, StoredPlugin};

/// Settings holding a plugin's serving state start with this.
pub const STATE_PREFIX: &str = "plugin:";

/// Why a change could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum SharingError {
    /// The registry refused it.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The store could not keep it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registry, with its changes kept in the store; cheap to clone.
#[derive(Clone)]
pub struct SharedPlugins {
    store: Store,
    registry: Registry,
    /// Held while a change is made and kept, and while syncing, so that a
    /// sync never reads a choice half made and undoes it.
    changing: Arc<tokio::sync::Mutex<()>>,
    /// Kept uploads or states that could not be loaded or applied, so that
    /// each is reported once rather than on every tick.
    reported: Arc<Mutex<HashSet<String>>>,
}

impl SharedPlugins {
    /// The registry's changes kept in `store`.
    pub fn new(store: Store, registry: Registry) -> SharedPlugins {
        SharedPlugins { store, registry, changing: Arc::default(), reported: Arc::default() }
    }

    /// Keeps what `name` serves now.
    async fn keep_state(&self, name: &str, now: i64) -> Result<(), StoreError> {
        let Some(state) = self.registry.state(name) else { return Ok(()) };
        let json = serde_json::to_string(&state).expect("a serving state serializes");
        self.store.put_setting(&format!("{STATE_PREFIX}{name}"), &json, now).await
    }

    /// Adds an uploaded, checked component as a version (serving it when
    /// `serve`), and keeps both.
    pub async fn add_upload(&self, plugin: Plugin, wasm: &[u8], serve: bool, by: &str, now: i64) -> Result<Arc<Plugin>, SharingError> {
        let _changing = self.changing.lock().await;
        let stored = StoredPlugin { name: plugin.name.clone(), version: plugin.version.clone(), digest: plugin.digest.clone() };
        let plugin = self.registry.insert(plugin)?;
        self.store.save_plugin_upload(&stored, wasm, by, now).await?;
        if serve {
            self.registry.promote(&plugin.name, &plugin.version)?;
            self.keep_state(&plugin.name, now).await?;
        }
        Ok(plugin)
    }

    /// Serves `version` of `name`, and keeps the choice.
    pub async fn promote(&self, name: &str, version: &str, now: i64) -> Result<Arc<Plugin>, SharingError> {
        let _changing = self.changing.lock().await;
        let plugin = self.registry.promote(name, version)?;
        self.keep_state(name, now).await?;
        Ok(plugin)
    }

    /// Serves the version that served before, and keeps the choice.
    pub async fn rollback(&self, name: &str, now: i64) -> Result<Arc<Plugin>, SharingError> {
        let _changing = self.changing.lock().await;
        let plugin = self.registry.rollback(name)?;
        self.keep_state(name, now).await?;
        Ok(plugin)
    }

    /// Stops or resumes serving `name`, and keeps the choice.
    pub async fn set_disabled(&self, name: &str, disabled: bool, now: i64) -> Result<(), SharingError> {
        let _changing = self.changing.lock().await;
        self.registry.set_disabled(name, disabled)?;
        self.keep_state(name, now).await?;
        Ok(())
    }

    /// Reports `what` once.
    fn report_once(&self, key: String, what: impl FnOnce()) {
        if self.reported.lock().expect("reported lock").insert(key) {
            what();
        }
    }

    /// Loads the kept uploads this registry lacks, then serves as the kept
    /// choices say. An upload that no longer loads, or a choice naming a
    /// version that is not here, is reported and skipped.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let _changing = self.changing.lock().await;
        for kept in self.store.plugin_uploads().await? {
            if self.registry.has_version(&kept.name, &kept.version) {
                continue;
            }
            let Some(wasm) = self.store.plugin_wasm(&kept.name, &kept.version).await? else { continue };
            if let Err(e) = self.registry.add(&wasm).await {
                self.report_once(format!("upload {} {}", kept.name, kept.version), || {
                    tracing::error!(plugin = %kept.name, version = %kept.version, error = %e, "a kept upload does not load here");
                });
            }
        }
        for (key, json) in self.store.settings_with_prefix(STATE_PREFIX).await? {
            let name = &key[STATE_PREFIX.len()..];
            let state: ServingState = match serde_json::from_str(&json) {
                Ok(state) => state,
                Err(e) => {
                    self.report_once(format!("{key} {json}"), || tracing::error!(setting = %key, error = %e, "a kept serving state is unreadable"));
                    continue;
                }
            };
            if self.registry.state(name).as_ref() == Some(&state) {
                continue;
            }
            if let Err(e) = self.registry.apply(name, &state) {
                self.report_once(format!("{key} {json}"), || tracing::warn!(plugin = %name, error = %e, "a kept serving choice cannot be applied here"));
            }
        }
        Ok(())
    }
}
