//! Files and directories in and out of machines, through the engine's
//! archive endpoints: file reads and writes, and a directory's contents as
//! a tar (build contexts, workspace archives) and back.

use futures::StreamExt;
use bollard::query_parameters::{DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder};

use super::{DockerRuntime, engine_error, machine_container};
use crate::{
    capabilities::{Command, FileContent},
    runtime::{RuntimeError, archive, checked_path},
};

impl DockerRuntime {
    /// Reads at most `max_bytes` of a file.
    pub(super) async fn read_machine_file(
        &self,
        session: &str,
        machine: &str,
        path: &str,
        max_bytes: u32,
    ) -> Result<FileContent, RuntimeError> {
        let path = checked_path(path)?;
        let options = DownloadFromContainerOptionsBuilder::new().path(path).build();
        let mut stream = self.docker.download_from_container(&machine_container(session, machine)?, Some(options));
        // The archive holds the file whole; stop reading once the cap and the
        // header are in hand rather than buffering a huge file.
        let mut tar = Vec::new();
        let limit = max_bytes as usize + 64 * 1024;
        while let Some(chunk) = stream.next().await {
            tar.extend_from_slice(&chunk.map_err(|e| engine_error(path, e))?);
            if tar.len() > limit {
                break;
            }
        }
        archive::first_file(&tar, max_bytes).ok_or_else(|| RuntimeError::Invalid(format!("{path} is not a regular file")))
    }

    /// Writes a file, creating or replacing it, with `mode`.
    pub(super) async fn write_machine_file(
        &self,
        session: &str,
        machine: &str,
        path: &str,
        data: &[u8],
        mode: u32,
    ) -> Result<(), RuntimeError> {
        let path = std::path::Path::new(checked_path(path)?);
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(RuntimeError::InvalidPath(path.display().to_string()));
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let tar = archive::single_file(name, data, mode, now)?;
        self.upload(&machine_container(session, machine)?, &dir.display().to_string(), tar).await
    }

    /// The contents of a directory of a machine as a tar whose root is the
    /// directory, refused once it passes `max_bytes`.
    pub(super) async fn download_dir(
        &self,
        session: &str,
        machine: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, RuntimeError> {
        let path = checked_path(path)?;
        let container = machine_container(session, machine)?;
        let options = DownloadFromContainerOptionsBuilder::new().path(path).build();
        let stream = self.docker.download_from_container(&container, Some(options));
        let stream = stream.map(|chunk| chunk.map_err(|e| engine_error(path, e)));
        // The engine's archive carries one more entry (the directory itself)
        // and its names are a little longer: a few KiB of slack, then the
        // re-rooted archive is held to the cap exactly.
        let raw = archive::collect_capped(Box::pin(stream), max_bytes.saturating_add(64 << 10), path).await?;
        let contents = archive::reroot(&raw)
            .map_err(|e| if matches!(e, RuntimeError::Invalid(_)) { RuntimeError::Invalid(format!("{path} is not a directory")) } else { e })?;
        if contents.len() as u64 > max_bytes {
            return Err(archive::too_large(path, max_bytes));
        }
        Ok(contents)
    }

    /// Unpacks a tar of a directory's contents into `path`, creating it.
    pub(super) async fn upload_dir(&self, session: &str, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
        let path = checked_path(path)?;
        let container = machine_container(session, machine)?;
        // The engine unpacks only into a directory that exists.
        let mkdir = Command {
            machine: machine.to_owned(),
            argv: vec!["mkdir".into(), "-p".into(), "--".into(), path.to_owned()],
            ..Command::default()
        };
        let made = self.run_exec(&container, &mkdir, crate::runtime::command::DEFAULT_EXEC_TIMEOUT).await?;
        if made.exit_code != 0 {
            return Err(RuntimeError::Invalid(format!(
                "could not create {path}: {}",
                String::from_utf8_lossy(&made.stderr.0).trim()
            )));
        }
        self.upload(&container, path, tar.to_vec()).await
    }

    async fn upload(&self, container: &str, dir: &str, tar: Vec<u8>) -> Result<(), RuntimeError> {
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|e| engine_error(dir, e))
    }
}
