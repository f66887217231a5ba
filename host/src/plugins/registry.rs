//! The plugin registry: plugins by name, each with its versions, one of
//! which serves.
//!
//! Swapping the serving version is one pointer change under a short lock:
//! a call takes an `Arc` to the version serving when it starts and finishes
//! on it, whatever happens meanwhile. Old versions stay loaded so that a
//! rollback is as instant as a promotion.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, RwLock},
    time::SystemTime,
};

use serde::{Deserialize, Serialize};

use super::{
    engine::{LoadError, Plugin, PluginEngine},
    usage::UsageSnapshot,
};

/// Why a registry operation was refused. The serving version is never
/// changed by a refused operation.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The component could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A different component already has this name and version.
    #[error(
        "{name} {version} is already loaded with digest {existing}; a different build must carry \
         a new version"
    )]
    VersionConflict {
        /// Plugin name.
        name: String,
        /// Version.
        version: String,
        /// Digest of the loaded one.
        existing: String,
    },
    /// No plugin by that name.
    #[error("no plugin named `{0}` is loaded")]
    UnknownPlugin(String),
    /// No such version of a plugin.
    #[error("{name} has no version {version}")]
    UnknownVersion {
        /// Plugin name.
        name: String,
        /// Version asked for.
        version: String,
    },
    /// Nothing to roll back to.
    #[error("{0} has no earlier serving version to roll back to")]
    NothingToRollBack(String),
    /// The plugin is disabled.
    #[error("{0} is disabled")]
    Disabled(String),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// One plugin's versions.
#[derive(Default)]
struct Slot {
    versions: Vec<Arc<Plugin>>,
    serving: Option<Arc<Plugin>>,
    /// Versions that served before, most recent last: where rollback goes.
    previous: Vec<Arc<Plugin>>,
    disabled: bool,
}

/// What a plugin serves, by version: what administrators chose, kept so
/// that a restart and other replicas serve the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingState {
    /// The serving version.
    pub serving: Option<String>,
    /// Versions that served before, most recent last.
    pub previous: Vec<String>,
    /// Whether it is disabled.
    pub disabled: bool,
}

/// A summary of a loaded version, for listings.
#[derive(Clone, Debug, Serialize)]
pub struct VersionInfo {
    /// Version.
    pub version: String,
    /// SHA-256 of the component.
    pub digest: String,
    /// Contract version it was built against.
    pub contract: String,
    /// Whether it is a judge.
    pub judge: bool,
    /// Whether it is a hint provider.
    pub hints: bool,
    /// Size in bytes.
    pub size: usize,
    /// When it was loaded (seconds since the Unix epoch).
    pub loaded_at: u64,
    /// Whether it is the serving version.
    pub serving: bool,
    /// Its calls so far.
    #[serde(flatten)]
    pub usage: UsageSnapshot,
}

/// A summary of a plugin, for listings.
#[derive(Clone, Debug, Serialize)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// The serving version, if any.
    pub serving: Option<String>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Every loaded version, oldest first.
    pub versions: Vec<VersionInfo>,
    /// The serving version's calls so far.
    #[serde(flatten)]
    pub usage: UsageSnapshot,
}

/// Plugins by name; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    engine: PluginEngine,
    slots: Arc<RwLock<BTreeMap<String, Slot>>>,
}

impl Registry {
    /// An empty registry over `engine`.
    pub fn new(engine: PluginEngine) -> Self {
        Registry { engine, slots: Arc::default() }
    }

    /// The engine plugins run on.
    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Loads a component and makes it the serving version of its plugin.
    /// Loading the same build again changes nothing.
    pub async fn install(&self, wasm: &[u8]) -> Result<Arc<Plugin>, RegistryError> {
        let plugin = self.add(wasm).await?;
        self.promote(&plugin.name, &plugin.version)?;
        Ok(plugin)
    }

    /// Loads a component as a version of its plugin without serving it.
    pub async fn add(&self, wasm: &[u8]) -> Result<Arc<Plugin>, RegistryError> {
        self.insert(self.engine.load(wasm).await?)
    }

    /// Adds a loaded component as a version of its plugin without serving
    /// it (after whatever checks the caller makes between load and insert).
    pub fn insert(&self, plugin: Plugin) -> Result<Arc<Plugin>, RegistryError> {
        let plugin = Arc::new(plugin);
        let mut slots = self.slots.write().expect("registry lock");
        let slot = slots.entry(plugin.name.clone()).or_default();
        if let Some(existing) = slot.versions.iter().find(|p| p.version == plugin.version) {
            if existing.digest == plugin.digest {
                return Ok(existing.clone());
            }
            return Err(RegistryError::VersionConflict {
                name: plugin.name.clone(),
                version: plugin.version.clone(),
                existing: existing.digest.clone(),
            });
        }
        slot.versions.push(plugin.clone());
        Ok(plugin)
    }

    /// Makes `version` the serving version of `name`.
    pub fn promote(&self, name: &str, version: &str) -> Result<Arc<Plugin>, RegistryError> {
        let mut slots = self.slots.write().expect("registry lock");
        let slot = slots.get_mut(name).ok_or_else(|| RegistryError::UnknownPlugin(name.into()))?;
        let plugin = slot
            .versions
            .iter()
            .find(|p| p.version == version)
            .cloned()
            .ok_or_else(|| RegistryError::UnknownVersion { name: name.into(), version: version.into() })?;
        if let Some(current) = slot.serving.replace(plugin.clone())
            && !Arc::ptr_eq(&current, &plugin)
        {
            slot.previous.push(current);
        }
        tracing::info!(%name, %version, "plugin version serving");
        Ok(plugin)
    }

    /// Serves the version that served before the current one again.
    pub fn rollback(&self, name: &str) -> Result<Arc<Plugin>, RegistryError> {
        let mut slots = self.slots.write().expect("registry lock");
        let slot = slots.get_mut(name).ok_or_else(|| RegistryError::UnknownPlugin(name.into()))?;
        let back = slot.previous.pop().ok_or_else(|| RegistryError::NothingToRollBack(name.into()))?;
        slot.serving = Some(back.clone());
        tracing::info!(%name, version = %back.version, "plugin rolled back");
        Ok(back)
    }

    /// Stops or resumes serving a plugin.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), RegistryError> {
        let mut slots = self.slots.write().expect("registry lock");
        let slot = slots.get_mut(name).ok_or_else(|| RegistryError::UnknownPlugin(name.into()))?;
        slot.disabled = disabled;
        Ok(())
    }

    /// What `name` serves, by version.
    pub fn state(&self, name: &str) -> Option<ServingState> {
        let slots = self.slots.read().expect("registry lock");
        let slot = slots.get(name)?;
        Some(ServingState {
            serving: slot.serving.as_ref().map(|p| p.version.clone()),
            previous: slot.previous.iter().map(|p| p.version.clone()).collect(),
            disabled: slot.disabled,
        })
    }

    /// Whether `version` of `name` is loaded.
    pub fn has_version(&self, name: &str, version: &str) -> bool {
        self.slots.read().expect("registry lock").get(name).is_some_and(|s| s.versions.iter().any(|p| p.version == version))
    }

    /// Serves as `state` says (a choice made here before a restart, or on
    /// another replica). Refused, changing nothing, when a version it names
    /// is not loaded.
    pub fn apply(&self, name: &str, state: &ServingState) -> Result<(), RegistryError> {
        let mut slots = self.slots.write().expect("registry lock");
        let slot = slots.get_mut(name).ok_or_else(|| RegistryError::UnknownPlugin(name.into()))?;
        let find = |version: &String| {
            slot.versions
                .iter()
                .find(|p| &p.version == version)
                .cloned()
                .ok_or_else(|| RegistryError::UnknownVersion { name: name.into(), version: version.clone() })
        };
        let serving = state.serving.as_ref().map(find).transpose()?;
        let previous = state.previous.iter().map(find).collect::<Result<Vec<_>, _>>()?;
        let changed = slot.serving.as_ref().map(|p| &p.version) != state.serving.as_ref();
        slot.serving = serving;
        slot.previous = previous;
        slot.disabled = state.disabled;
        if changed {
            tracing::info!(%name, version = ?state.serving, "plugin version serving, as kept in the store");
        }
        Ok(())
    }

    /// The version of `name` serving now. The caller keeps it for the whole
    /// call, so a swap never cuts a call in half.
    pub fn serving(&self, name: &str) -> Result<Arc<Plugin>, RegistryError> {
        let slots = self.slots.read().expect("registry lock");
        let slot = slots.get(name).ok_or_else(|| RegistryError::UnknownPlugin(name.into()))?;
        if slot.disabled {
            return Err(RegistryError::Disabled(name.into()));
        }
        slot.serving.clone().ok_or_else(|| RegistryError::UnknownPlugin(name.into()))
    }

    /// Every plugin with its versions.
    pub fn list(&self) -> Vec<PluginInfo> {
        let slots = self.slots.read().expect("registry lock");
        slots
            .iter()
            .map(|(name, slot)| PluginInfo {
                name: name.clone(),
                serving: slot.serving.as_ref().map(|p| p.version.clone()),
                disabled: slot.disabled,
                versions: slot
                    .versions
                    .iter()
                    .map(|p| VersionInfo {
                        version: p.version.clone(),
                        digest: p.digest.clone(),
                        contract: p.contract.version.to_string(),
                        judge: p.contract.judge,
                        hints: p.contract.hints,
                        size: p.size,
                        loaded_at: p
                            .loaded_at
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                        serving: slot.serving.as_ref().is_some_and(|s| Arc::ptr_eq(s, p)),
                        usage: p.usage.snapshot(),
                    })
                    .collect(),
                usage: slot.serving.as_ref().map(|s| s.usage.snapshot()).unwrap_or_default(),
            })
            .collect()
    }

    /// Installs every `*.wasm` in `dir` (the judges' build output). A file
    /// that fails to load is reported and skipped, so one broken judge does
    /// not keep the others from serving.
    pub async fn load_dir(&self, dir: &Path) -> Result<Vec<(String, Result<Arc<Plugin>, RegistryError>)>, RegistryError> {
        let io = |source| RegistryError::Io { path: dir.display().to_string(), source };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        files.sort();
        let mut loaded = Vec::new();
        for path in files {
            let shown = path.display().to_string();
            let result = match std::fs::read(&path) {
                Ok(wasm) => self.install(&wasm).await,
                Err(source) => Err(RegistryError::Io { path: shown.clone(), source }),
            };
            if let Err(e) = &result {
                tracing::error!(path = %shown, error = %e, "plugin not loaded");
            }
            loaded.push((shown, result));
        }
        Ok(loaded)
    }
}
