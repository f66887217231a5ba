//! Compiled plugins, cached on disk by content.
//!
//! Compiling a component takes tens to hundreds of milliseconds; loading the
//! precompiled artifact takes about one. Artifacts are named by the SHA-256
//! of the component and the engine's compatibility hash, so a changed engine
//! configuration or wasmtime version never loads a stale artifact, and the
//! server only ever deserializes files it wrote itself.

use std::{
    hash::{Hash, Hasher},
    path::{Path, PathBuf},
};

use wasmtime::{Engine, component::Component};

/// Where compiled artifacts live; `None` compiles every time.
#[derive(Clone, Debug)]
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
}

impl ArtifactCache {
    pub fn new(dir: Option<PathBuf>) -> Self {
        ArtifactCache { dir }
    }

    fn path(&self, engine: &Engine, digest: &str) -> Option<PathBuf> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish())))
    }

    /// The compiled component for `wasm`, from the cache when it is there.
    pub fn load_or_compile(&self, engine: &Engine, digest: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
        let Some(path) = self.path(engine, digest) else {
            return Component::new(engine, wasm);
        };
        if path.exists() {
            match load_artifact(engine, &path) {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding an unreadable compiled plugin");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = store_artifact(&component, &path) {
            // The cache is an optimisation: a read-only disk must not stop loading.
            tracing::warn!(path = %path.display(), error = %e, "could not cache a compiled plugin");
        }
        Ok(component)
    }
}

#[allow(unsafe_code)]
fn load_artifact(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // Read, not mapped: a mapped file changed on disk under a running server
    // would crash it (SIGBUS) instead of failing one load.
    let bytes = std::fs::read(path)?;
    // SAFETY: the file is named by the digest of the wasm it was compiled
    // from and the engine's compatibility hash, lives in the server's own
    // data directory, and is only ever written by `store_artifact` (through a
    // rename, so never half-written). wasmtime checks its header and
    // compatibility before using it.
    unsafe { Component::deserialize(engine, bytes) }
}

fn store_artifact(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
