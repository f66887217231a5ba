//! `proctor lab new <id>`: a lab to start from, complete and passing its
//! own lab test as generated: the scenario in `scenarios/<id>/` (one task,
//! its step text, the reference solution) and its judge crate in
//! `judges/<id>/` built on `proctor-sdk`, with a native test.

use std::path::{Path, PathBuf};

/// Why a lab could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The id cannot name a lab.
    #[error("`{0}` cannot be a lab id: use 1-40 lowercase letters, digits and `-`, starting with a letter")]
    BadId(String),
    /// Something is already there.
    #[error("{0} exists already; choose another id or remove it")]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

/// The files of a new lab: path below the workspace root, contents, and
/// whether the file is executable.
pub fn files(id: &str) -> Result<Vec<(PathBuf, String, bool)>, ScaffoldError> {
    let valid = id.len() <= 40
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-');
    if !valid {
        return Err(ScaffoldError::BadId(id.to_owned()));
    }
    let title = {
        let words = id.replace('-', " ");
        let mut chars = words.chars();
        chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
    };
    let fill = |template: &str| template.replace("{{id}}", id).replace("{{title}}", &title);
    let lab = PathBuf::from("scenarios").join(id);
    let judge = PathBuf::from("judges").join(id);
    Ok(vec![
        (lab.join("lab.toml"), fill(include_str!("templates/lab.toml")), false),
        (lab.join("steps/01-write-greeting.md"), fill(include_str!("templates/step.md")), false),
        (lab.join("solve.sh"), fill(include_str!("templates/solve.sh")), true),
        (judge.join("Cargo.toml"), fill(include_str!("templates/judge.Cargo.toml")), false),
        (judge.join("src/lib.rs"), fill(include_str!("templates/judge.lib.rs")), false),
    ])
}

/// Writes a new lab into the workspace at `root`, refusing to touch an
/// existing lab or judge. Returns the files written.
pub fn create(root: &Path, id: &str) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = files(id)?;
    for dir in [root.join("scenarios").join(id), root.join("judges").join(id)] {
        if dir.exists() {
            return Err(ScaffoldError::Exists(dir));
        }
    }
    let mut written = Vec::new();
    for (path, text, executable) in files {
        let target = root.join(&path);
        let failed = |cause| ScaffoldError::Write { path: target.clone(), cause };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        std::fs::write(&target, text).map_err(failed)?;
        if executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).map_err(failed)?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_every_placeholder_is_filled() {
        assert!(matches!(files("Bad Id"), Err(ScaffoldError::BadId(_))));
        assert!(matches!(files("9lives"), Err(ScaffoldError::BadId(_))));
        let made = files("my-lab").unwrap();
        assert!(made.iter().all(|(_, text, _)| !text.contains("{{")), "a placeholder was left");
        let toml = &made.iter().find(|(p, ..)| p.ends_with("lab.toml")).unwrap().1;
        assert!(toml.contains("plugin = \"judge-my-lab\"") && toml.contains("title = \"My lab\""), "{toml}");
    }
}
