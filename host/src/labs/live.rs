//! The catalog a running server serves, which an administrator reloads
//! from disk without a restart.

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, RwLock},
};

use super::{Catalog, Lab};
use crate::sessions::{Lifetime, Sessions};

/// The labs being served; cheap to read, swapped whole on reload.
#[derive(Debug)]
pub struct LiveCatalog {
    dir: PathBuf,
    defaults: Lifetime,
    current: RwLock<Arc<Catalog>>,
}

impl LiveCatalog {
    /// Serves `catalog`, which was loaded from `dir`; labs that name no
    /// lifetime get `defaults`.
    pub fn new(catalog: Catalog, dir: PathBuf, defaults: Lifetime) -> LiveCatalog {
        LiveCatalog { dir, defaults, current: RwLock::new(Arc::new(catalog)) }
    }

    /// The catalog now.
    pub fn current(&self) -> Arc<Catalog> {
        self.current.read().expect("catalog lock").clone()
    }

    /// The lab called `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Lab>> {
        self.current().get(id).cloned()
    }

    /// Reads the scenarios directory again and serves what it holds: new
    /// and changed labs start as now written, labs gone from disk can no
    /// longer be started (their running sessions go on), and a lab that
    /// became invalid is reported and left out.
    pub fn reload(&self, sessions: &Sessions) -> std::io::Result<Arc<Catalog>> {
        let catalog = Arc::new(Catalog::load(&self.dir)?);
        let mut startable = HashSet::new();
        for lab in &catalog.labs {
            if let Some(env) = lab.environment(&self.defaults) {
                let id = env.lab.clone();
                if sessions.set_lab(env) {
                    startable.insert(id);
                }
            }
        }
        sessions.retain_labs(&startable);
        for invalid in &catalog.invalid {
            tracing::warn!("{invalid}");
        }
        tracing::info!(labs = catalog.labs.len(), invalid = catalog.invalid.len(), "labs reloaded");
        *self.current.write().expect("catalog lock") = catalog.clone();
        Ok(catalog)
    }
}
