//! Images: pulling machine images, building a lab's machine image from its
//! Dockerfile (cached by the content of its context), building a judge's
//! image from a directory of a machine, and removing a session's images.
//!
//! Builds use the engine's classic builder (Debian's engine is 20.10, and
//! BuildKit would need a session protocol bollard only has behind a feature).

use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};

use bollard::{
    errors::Error as DockerError,
    query_parameters::{
        BuildImageOptions, BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
        RemoveImageOptionsBuilder,
    },
};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::{DockerRuntime, check_name, engine_error, gone_is_fine, machine_container, only_session_labels};
use crate::{
    capabilities::{BuildReport, BuildRequest},
    runtime::{ImageSource, RuntimeError, archive, checked_path, checked_relative_path, labels},
};

/// The largest build context taken out of a machine or a lab.
const BUILD_CONTEXT_CAP: u64 = 256 << 20;

/// How much of a build log a report keeps: its end, where failures are.
const BUILD_LOG_CAP: usize = 256 << 10;

/// How much of a failed lab image build's log the error carries.
const LAB_LOG_TAIL: usize = 4 << 10;

/// Time limit of a build that names none.
const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Memory of each build step's container (the engine takes an `i32`).
const BUILD_MEMORY: i32 = 1 << 30;

/// What the engine said while building.
struct BuildOutcome {
    log: String,
    log_truncated: bool,
    /// Why the build failed, when it did.
    error: Option<String>,
}

/// Keeps the last `cap` bytes of `log` (cut at a character boundary);
/// whether anything was dropped.
fn keep_tail(log: &mut String, cap: usize) -> bool {
    if log.len() <= cap {
        return false;
    }
    let mut cut = log.len() - cap;
    while !log.is_char_boundary(cut) {
        cut += 1;
    }
    log.drain(..cut);
    true
}

/// A lab id as an image repository name: lowercase, `[a-z0-9._-]`.
fn repository_component(lab: &str) -> String {
    let name: String = lab
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if name.is_empty() { "lab".to_owned() } else { name.to_owned() }
}

/// The tag of a lab's machine image built from `context` (a deterministic
/// tar) and `dockerfile`: the same files always give the same tag.
fn lab_image_tag(lab: &str, dockerfile: &str, context: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(dockerfile.as_bytes());
    digest.update([0]);
    digest.update(context);
    let hex = hex::encode(digest.finalize());
    format!("proctor-lab/{}:{}", repository_component(lab), &hex[..16])
}

/// The repository of the images a session builds. Repository names are
/// lowercase; the session label, not the name, says whose an image is.
pub(super) fn session_repository(session: &str) -> String {
    format!("proctor-build/{}", session.to_ascii_lowercase())
}

impl DockerRuntime {
    /// The image a machine runs, pulled or built as needed.
    pub(super) async fn machine_image(&self, lab: &str, source: &ImageSource) -> Result<String, RuntimeError> {
        match source {
            ImageSource::Reference(image) => {
                self.ensure_image(image).await?;
                Ok(image.clone())
            }
            ImageSource::Dockerfile { context, dockerfile } => self.lab_image(lab, context, dockerfile).await,
            ImageSource::Disk { disk } => {
                Err(RuntimeError::Invalid(format!("a Docker engine runs no virtual machines ({disk}): this lab needs the Kubernetes runtime with KubeVirt")))
            }
        }
    }

    /// Makes sure `image` is on the engine, pulling it (with progress in the
    /// log) when it is not.
    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        if self.image_exists(image).await? {
            return Ok(());
        }
        tracing::info!(%image, "pulling image");
        let options = CreateImageOptionsBuilder::new().from_image(image).build();
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(step) = pull.next().await {
            match step {
                Ok(info) => tracing::debug!(%image, status = ?info.status, progress = ?info.progress_detail, "pull"),
                Err(e) => {
                    let hint = if image.starts_with("proctor/base") { " (build it with scripts/build-base-image)" } else { "" };
                    return Err(RuntimeError::ImageMissing { image: image.to_owned(), reason: format!("{e}{hint}") });
                }
            }
        }
        Ok(())
    }

    /// Whether the engine has `image`.
    pub async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(e) => Err(engine_error("inspect image", e)),
        }
    }

    /// A lab's machine image, built from its Dockerfile unless an image of
    /// the same context is already there.
    async fn lab_image(&self, lab: &str, context: &Path, dockerfile: &str) -> Result<String, RuntimeError> {
        let dockerfile = checked_relative_path(dockerfile)?.to_owned();
        let dir = context.to_path_buf();
        let tar = tokio::task::spawn_blocking(move || archive::directory_tar(&dir, BUILD_CONTEXT_CAP))
            .await
            .map_err(|e| RuntimeError::Engine(format!("archiving the build context failed: {e}")))??;
        let tag = lab_image_tag(lab, &dockerfile, &tar);
        // Looked up before waiting for the lock, so a cached image is not
        // held up by another lab's long build; again after, in case the
        // build waited for was this one.
        if self.image_exists(&tag).await? {
            tracing::debug!(%tag, "lab image cached");
            return Ok(tag);
        }
        let _one_at_a_time = self.lab_builds.lock().await;
        if self.image_exists(&tag).await? {
            return Ok(tag);
        }
        tracing::info!(%tag, context = %context.display(), "building a lab image");
        let labels = HashMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::LAB_IMAGE.to_owned(), lab.to_owned()),
        ]);
        let options = build_options(&dockerfile, &tag, &labels, &HashMap::new());
        let outcome = self.build(options, tar, DEFAULT_BUILD_TIMEOUT).await?;
        match outcome.error {
            None => Ok(tag),
            Some(error) => {
                let mut log_tail = format!("{}\n{error}", outcome.log.trim_end());
                keep_tail(&mut log_tail, LAB_LOG_TAIL);
                Err(RuntimeError::ImageBuild { image: tag, log_tail })
            }
        }
    }

    /// Builds an image from a directory of a machine under a tag of the
    /// session's, labelled with the session so that it goes with it.
    pub(super) async fn build_from_machine(&self, session: &str, req: &BuildRequest) -> Result<BuildReport, RuntimeError> {
        check_name("session", session)?;
        let context_dir = checked_path(&req.context_dir)?;
        let dockerfile = checked_relative_path(req.dockerfile.as_deref().unwrap_or("Dockerfile"))?;
        let labels = self.machine_session_labels(session, &req.machine).await?;
        let tar = self.download_dir(session, &req.machine, context_dir, BUILD_CONTEXT_CAP).await?;
        let tag = format!("{}:{}", session_repository(session), self.next_serial());
        let args: HashMap<String, String> = req.build_args.iter().cloned().collect();
        let started = Instant::now();
        let outcome = self.build(build_options(dockerfile, &tag, &labels, &args), tar, req.timeout.unwrap_or(DEFAULT_BUILD_TIMEOUT)).await?;
        let mut report = BuildReport {
            duration_ms: started.elapsed().as_millis().min(u32::MAX.into()) as u32,
            log: outcome.log,
            log_truncated: outcome.log_truncated,
            error: outcome.error,
            ..BuildReport::default()
        };
        if report.error.is_none() {
            let image = self.docker.inspect_image(&tag).await.map_err(|e| engine_error("inspect the built image", e))?;
            report.size_bytes = image.size.unwrap_or(0).max(0) as u64;
            report.image = Some(tag);
        }
        Ok(report)
    }

    /// The session labels of a machine's container (which also says that
    /// the machine exists).
    async fn machine_session_labels(&self, session: &str, machine: &str) -> Result<HashMap<String, String>, RuntimeError> {
        let container = machine_container(session, machine)?;
        let inspect = self.docker.inspect_container(&container, None).await.map_err(|e| engine_error(&container, e))?;
        Ok(only_session_labels(inspect.config.and_then(|c| c.labels).unwrap_or_default()))
    }

    /// Runs a build, collecting its log. A build that fails on its inputs
    /// (a bad Dockerfile, a failing step, too slow) is an outcome with an
    /// error; only an engine that cannot be reached is an `Err`.
    async fn build(&self, options: BuildImageOptions, tar: Vec<u8>, timeout: Duration) -> Result<BuildOutcome, RuntimeError> {
        let mut outcome = BuildOutcome { log: String::new(), log_truncated: false, error: None };
        let run = async {
            let mut steps = self.docker.build_image(options, None, Some(bollard::body_full(tar.into())));
            while let Some(step) = steps.next().await {
                match step {
                    Ok(info) => {
                        if let Some(text) = info.stream {
                            outcome.log.push_str(&text);
                            // Trimmed now and then, not on every line.
                            if outcome.log.len() > 2 * BUILD_LOG_CAP {
                                outcome.log_truncated |= keep_tail(&mut outcome.log, BUILD_LOG_CAP);
                            }
                        }
                    }
                    // The build's own failure, reported in its stream.
                    Err(DockerError::DockerStreamError { error }) => return Ok(Some(error)),
                    // Refused before it began: no Dockerfile, a bad argument.
                    Err(DockerError::DockerResponseServerError { status_code, message }) if status_code < 501 => {
                        return Ok(Some(message));
                    }
                    Err(e) => return Err(engine_error("build", e)),
                }
            }
            Ok(None)
        };
        outcome.error = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result?,
            // Dropping the request makes the engine cancel the build.
            Err(_) => Some(format!("the build took longer than {} s", timeout.as_secs())),
        };
        outcome.log_truncated |= keep_tail(&mut outcome.log, BUILD_LOG_CAP);
        Ok(outcome)
    }

    /// Removes every image labelled with the session, newest first so that
    /// an image is gone before the one it was built from.
    pub(super) async fn remove_session_images(&self, session: &str) -> Result<(), RuntimeError> {
        let options = ListImagesOptionsBuilder::new().filters(&self.session_filter(Some(session))).build();
        let mut images = self.docker.list_images(Some(options)).await.map_err(|e| engine_error("list images", e))?;
        images.sort_by_key(|i| std::cmp::Reverse(i.created));
        for image in images {
            let options = RemoveImageOptionsBuilder::new().force(true).build();
            gone_is_fine("remove image", self.docker.remove_image(&image.id, Some(options), None).await)?;
        }
        Ok(())
    }
}

fn build_options(
    dockerfile: &str,
    tag: &str,
    labels: &HashMap<String, String>,
    args: &HashMap<String, String>,
) -> BuildImageOptions {
    BuildImageOptionsBuilder::new()
        .dockerfile(dockerfile)
        .t(tag)
        .labels(labels)
        .buildargs(args)
        // Intermediate containers go, whether the build works or not.
        .rm(true)
        .forcerm(true)
        .memory(BUILD_MEMORY)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_its_end() {
        let mut log = "héllo world".to_owned();
        assert!(!keep_tail(&mut log, 100));
        assert!(keep_tail(&mut log, 10));
        assert_eq!(log, "llo world");
    }

    #[test]
    fn lab_image_tags_follow_the_content() {
        let a = lab_image_tag("Web Lab!", "Dockerfile", b"one");
        assert!(a.starts_with("proctor-lab/web-lab:") && a.len() == "proctor-lab/web-lab:".len() + 16, "{a}");
        assert_eq!(a, lab_image_tag("Web Lab!", "Dockerfile", b"one"));
        assert_ne!(a, lab_image_tag("Web Lab!", "Dockerfile", b"two"));
        assert_ne!(a, lab_image_tag("Web Lab!", "other.Dockerfile", b"one"));
    }
}
