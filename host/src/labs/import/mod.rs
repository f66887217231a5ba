//! Importing labs written for other platforms. An importer turns a scenario
//! into the files of a Proctor lab and a report of what did not carry over;
//! nothing is dropped without being named in the report.

pub mod killercoda;

use std::path::{Path, PathBuf};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file of the scenario could not be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The scenario's description is not valid.
    #[error("{path} is not a valid scenario: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The scenario needs something Proctor cannot provide.
    #[error("{0}")]
    Unsupported(String),
    /// The lab could not be written.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Carried over differently; worth knowing.
    Note,
    /// Not carried over; the author should look.
    Unsupported,
}

/// One thing the report says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What happened.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.severity {
            Severity::Note => "note",
            Severity::Unsupported => "unsupported",
        };
        write!(f, "{tag}: {}", self.message)
    }
}

/// A lab ready to be written: its files (path relative to the lab
/// directory, contents, executable or not) and the report.
#[derive(Debug, Default)]
pub struct Converted {
    /// The lab's id (its directory's name).
    pub id: String,
    /// Its files.
    pub files: Vec<(PathBuf, Vec<u8>, bool)>,
    /// What did not carry over as it was.
    pub report: Vec<Finding>,
}

impl Converted {
    /// Writes the lab into `scenarios/<id>`, refusing to overwrite an
    /// existing lab.
    pub fn write(&self, scenarios: &Path) -> Result<PathBuf, ImportError> {
        let dir = scenarios.join(&self.id);
        if dir.exists() {
            return Err(ImportError::Write {
                path: dir,
                cause: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a lab with this id exists; choose another with --id"),
            });
        }
        for (path, data, executable) in &self.files {
            let target = dir.join(path);
            let failed = |cause| ImportError::Write { path: target.clone(), cause };
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(failed)?;
            }
            std::fs::write(&target, data).map_err(failed)?;
            if *executable {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
            }
        }
        Ok(dir)
    }
}
