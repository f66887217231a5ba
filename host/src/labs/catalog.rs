//! The catalog: every lab under a scenarios directory. A broken lab is
//! reported and left out; the others load.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use super::{InvalidLab, Lab, load_lab};

/// The labs found in a directory, and the ones that failed to load.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Valid labs, by id order.
    pub labs: Vec<Arc<Lab>>,
    /// Labs that did not load.
    pub invalid: Vec<InvalidLab>,
}

impl Catalog {
    /// Loads `dir` as one lab if it holds a `lab.toml`, else every
    /// subdirectory of it that does (or that has no `lab.toml` but should).
    pub fn load(dir: &Path) -> std::io::Result<Catalog> {
        let dirs: Vec<PathBuf> = if dir.join("lab.toml").is_file() {
            vec![dir.to_path_buf()]
        } else {
            let mut dirs: Vec<PathBuf> =
                std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
            dirs.sort();
            dirs
        };
        let mut catalog = Catalog::default();
        for d in dirs {
            match load_lab(&d) {
                Ok(lab) => catalog.labs.push(Arc::new(lab)),
                Err(e) => catalog.invalid.push(e),
            }
        }
        catalog.labs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(catalog)
    }

    /// The lab called `id`.
    pub fn get(&self, id: &str) -> Option<&Arc<Lab>> {
        self.labs.iter().find(|l| l.id == id)
    }
}
