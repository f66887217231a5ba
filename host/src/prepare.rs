//! What a server started from a checkout of the project prepares for itself
//! so that the bundled labs are playable after one `cargo run`: it builds
//! the bundled judges (cargo only rebuilds what changed) and, when the base
//! image the labs run on is missing, builds that too with the project's
//! script. A server installed elsewhere does neither and says what is
//! missing instead.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::{
    labs::{Catalog, MachineImage},
    runtime::docker::DockerRuntime,
    toolchain,
};

/// The image `scripts/build-base-image` makes.
pub const BASE_IMAGE: &str = "proctor/base:bookworm";

/// The checkout this process runs in: the nearest directory above the
/// current one that holds the workspace's `Cargo.toml` and `judges/`.
pub fn checkout_root() -> Option<PathBuf> {
    let here = std::env::current_dir().ok()?;
    here.ancestors().find(|d| d.join("judges").is_dir() && d.join("Cargo.toml").is_file()).map(Path::to_path_buf)
}

/// Whether the components in `out` are missing or older than the sources
/// they are built from (the judges, the SDK, the contract).
pub fn judges_stale(root: &Path, out: &Path) -> bool {
    let components: Vec<SystemTime> = std::fs::read_dir(out)
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "wasm")).filter_map(|e| modified(&e.path())).collect())
        .unwrap_or_default();
    let Some(oldest) = components.iter().min() else { return true };
    let crates = toolchain::crates_in(&root.join("judges"));
    let newest = ["judges", "plugin-sdk", "wit"].iter().filter_map(|d| newest_below(&root.join(d))).max();
    components.len() < crates.len() || newest.is_some_and(|n| n > *oldest)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files below `dir`.
fn newest_below(dir: &Path) -> Option<SystemTime> {
    let mut newest = modified(dir);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() { newest_below(&path) } else { modified(&path) };
        newest = newest.max(t);
    }
    newest
}

/// Compiles the bundled judges into `out` (relative to the checkout unless
/// absolute) when they are missing or stale. Failing is logged: the server
/// then serves without them.
pub async fn build_bundled_judges(root: PathBuf, out: &Path) {
    let out = root.join(out);
    if !judges_stale(&root, &out) {
        return;
    }
    let dirs = toolchain::crates_in(&root.join("judges"));
    tracing::info!(judges = dirs.len(), "building the bundled judges (cargo rebuilds only what changed)");
    match tokio::task::spawn_blocking(move || toolchain::build_components(&root, &dirs, &out, &[])).await {
        Ok(Ok(built)) => tracing::info!(judges = built.len(), "bundled judges built"),
        Ok(Err(e)) => tracing::error!(error = %e, "could not build the bundled judges; serving without them"),
        Err(e) => tracing::error!(error = %e, "the judge build did not finish"),
    }
}

/// Starts building the base image in the background when a lab needs it
/// and the engine does not have it; sessions of those labs answer "not
/// available" until it is there. Other missing images are reported.
pub async fn ensure_base_image(docker: &DockerRuntime, labs: &Catalog, root: Option<PathBuf>) {
    let needed: BTreeSet<&str> = labs
        .labs
        .iter()
        .flat_map(|l| &l.machines)
        .filter_map(|m| match &m.image {
            MachineImage::Reference(image) => Some(image.as_str()),
            _ => None,
        })
        .collect();
    for image in needed {
        match docker.image_exists(image).await {
            Ok(true) => {}
            Ok(false) if image == BASE_IMAGE => match root.as_ref().map(|r| r.join("scripts/build-base-image")) {
                Some(script) if script.is_file() => {
                    tracing::warn!(%image, "the labs' base image is missing: building it now (a few minutes; needs root and debootstrap)");
                    tokio::spawn(build_base_image(script));
                }
                _ => tracing::warn!(%image, "the labs' base image is missing: build it with scripts/build-base-image from a checkout"),
            },
            Ok(false) => tracing::info!(%image, "a lab's image is not on the engine yet; it is pulled at the first session"),
            Err(e) => tracing::warn!(%image, error = %e, "could not look the image up"),
        }
    }
}

async fn build_base_image(script: PathBuf) {
    match tokio::process::Command::new("bash").arg(&script).arg(BASE_IMAGE).output().await {
        Ok(out) if out.status.success() => tracing::info!(image = BASE_IMAGE, "base image built; its labs can start"),
        Ok(out) => tracing::error!(
            image = BASE_IMAGE,
            status = %out.status,
            stderr = %String::from_utf8_lossy(&out.stderr).trim(),
            "building the base image failed; run scripts/build-base-image by hand to see why"
        ),
        Err(e) => tracing::error!(image = BASE_IMAGE, error = %e, "could not run scripts/build-base-image"),
    }
}
