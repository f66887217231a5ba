//! Building plugin crates into components with cargo.
//!
//! Judges are ordinary crates compiled for `wasm32-wasip2`, which yields a
//! component directly. Builds go to their own target directory
//! (`target/wasm`) so that a build started from a test or a running server
//! never waits on the lock of the build that started it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The Rust target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The cargo profile plugins are built with (see the workspace manifest).
pub const PROFILE: &str = "judge";

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Cargo could not be started.
    #[error("cannot run cargo: {0}")]
    Cargo(std::io::Error),
    /// The build failed; cargo's output says why.
    #[error("building {packages} failed:\n{output}{advice}")]
    Failed {
        /// What was built.
        packages: String,
        /// Cargo's output.
        output: String,
        /// What to do about it.
        advice: &'static str,
    },
    /// A package named no crate.
    #[error("no crate found at {0}")]
    NoCrate(String),
    /// Copying the output failed.
    #[error("cannot copy {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The package name of the crate in `dir`, read from its manifest.
pub fn package_name(dir: &Path) -> Result<String, BuildError> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|_| BuildError::NoCrate(dir.display().to_string()))?;
    let parsed: toml::Table = toml::from_str(&text).map_err(|_| BuildError::NoCrate(manifest.display().to_string()))?;
    parsed
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .ok_or_else(|| BuildError::NoCrate(manifest.display().to_string()))
}

/// The crate directories directly under `dir` (e.g. `judges/`), sorted.
pub fn crates_in(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Builds the crates in `crate_dirs` of the workspace at `workspace` and
/// copies each component to `out_dir/<package>.wasm`. `env` is passed to
/// cargo (and so to the crates' `env!`/`option_env!`).
#[tracing::instrument(skip_all, fields(crates = crate_dirs.len()))]
pub fn build_components(
    workspace: &Path,
    crate_dirs: &[PathBuf],
    out_dir: &Path,
    env: &[(&str, &str)],
) -> Result<Vec<PathBuf>, BuildError> {
    let packages = crate_dirs.iter().map(|d| package_name(d)).collect::<Result<Vec<_>, _>>()?;
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let target_dir = workspace.join("target").join("wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--quiet", "--target", WASM_TARGET, "--profile", PROFILE, "--target-dir"])
        .arg(&target_dir)
        // Set by an enclosing cargo (tests, build scripts): they would point
        // this build at the wrong target or directory.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS");
    for p in &packages {
        cmd.args(["-p", p]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().map_err(BuildError::Cargo)?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr).into_owned();
        let advice = if text.contains("may not be installed") || text.contains("can't find crate for `std`") {
            "\nhint: install the target with `rustup target add wasm32-wasip2`"
        } else {
            ""
        };
        return Err(BuildError::Failed { packages: packages.join(", "), output: text, advice });
    }
    std::fs::create_dir_all(out_dir).map_err(|source| BuildError::Io { path: out_dir.display().to_string(), source })?;
    let built = target_dir.join(WASM_TARGET).join(PROFILE);
    packages
        .iter()
        .map(|p| {
            let file = format!("{}.wasm", p.replace('-', "_"));
            let from = built.join(&file);
            let to = out_dir.join(format!("{p}.wasm"));
            std::fs::copy(&from, &to).map_err(|source| BuildError::Io { path: from.display().to_string(), source })?;
            Ok(to)
        })
        .collect()
}
