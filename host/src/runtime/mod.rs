//! Runtimes: where learners' environments live.
//!
//! A [`Runtime`] creates an environment (one or more machines on a private
//! network) for a session, runs commands in it, reads and writes its files,
//! destroys it, and lists what it owns by label so the server can reconcile
//! after a restart. It also opens interactive terminals, builds and runs
//! images from a machine's files for judges, archives and restores a
//! workspace, and builds machine images from a lab's Dockerfile. Docker is
//! the single-machine runtime.

pub mod archive;
pub mod batch;
pub mod command;
pub mod docker;
pub mod http;
pub mod kube;
pub mod session_env;
pub mod subnets;
pub mod terminal;
pub mod unavailable;
pub mod via_exec;

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use terminal::{Terminal, TerminalResizer, TerminalSize};

use crate::capabilities::{
    BuildReport, BuildRequest, Command, CommandOutput, Container, FileContent, HttpRequest, HttpResponse, RunRequest,
};

/// Labels every runtime object carries.
pub mod labels {
    /// Marks objects this server manages.
    pub const MANAGED: &str = "dev.proctor.managed";
    /// The server (or group of replicas sharing a store) an object belongs
    /// to: servers sharing an engine never touch each other's sessions.
    pub const INSTANCE: &str = "dev.proctor.instance";
    /// The session an object belongs to.
    pub const SESSION: &str = "dev.proctor.session";
    /// The lab the session runs.
    pub const LAB: &str = "dev.proctor.lab";
    /// The learner who owns the session.
    pub const OWNER: &str = "dev.proctor.owner";
    /// The machine's name within the session.
    pub const MACHINE: &str = "dev.proctor.machine";
    /// Marks a container a plugin started from an image the session built.
    pub const STARTED_BY_PLUGIN: &str = "dev.proctor.started-by-plugin";
    /// Marks a machine image built from a lab's Dockerfile; its value is the
    /// lab. Such an image outlives sessions, so it has no session label.
    pub const LAB_IMAGE: &str = "dev.proctor.lab-image";
}

/// Capabilities every machine keeps, whatever the runtime: Docker's
/// default set minus raw sockets, device nodes, chroot and file
/// capabilities.
pub(crate) const KEPT_CAPABILITIES: &[&str] =
    &["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE", "AUDIT_WRITE"];

/// A destination a lab's machines may reach beyond their session (where
/// the runtime enforces egress: the Kubernetes runtime's network policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Egress {
    /// Where to, e.g. `203.0.113.0/24`.
    pub cidr: String,
    /// The TCP port; every port when absent.
    pub port: Option<u16>,
}

impl std::str::FromStr for Egress {
    type Err = String;

    /// Reads `CIDR` or `CIDR:PORT`, e.g. `0.0.0.0/0:443`.
    fn from_str(s: &str) -> Result<Egress, String> {
        let (cidr, port) = match s.rsplit_once(':') {
            Some((cidr, port)) if cidr.contains('/') => (cidr, Some(port.parse::<u16>().map_err(|_| format!("`{port}` is not a port"))?)),
            _ => (s, None),
        };
        let (addr, bits) = cidr.split_once('/').ok_or_else(|| format!("`{s}` is not CIDR[:PORT], e.g. 203.0.113.0/24:443"))?;
        let max = match addr.parse::<std::net::IpAddr>().map_err(|_| format!("`{addr}` is not an IP address"))? {
            std::net::IpAddr::V4(_) => 32,
            std::net::IpAddr::V6(_) => 128,
        };
        if !bits.parse::<u8>().is_ok_and(|b| b <= max) {
            return Err(format!("`/{bits}` is not a prefix length for {addr}"));
        }
        Ok(Egress { cidr: cidr.to_owned(), port })
    }
}

/// Resource limits of one machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resources {
    /// Memory, in bytes.
    pub memory_bytes: u64,
    /// CPUs (fractions allowed).
    pub cpus: f64,
    /// Processes and threads.
    pub pids: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Resources { memory_bytes: 512 << 20, cpus: 1.0, pids: 256 }
    }
}

/// One machine of an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineSpec {
    /// Name, unique within the session; also its host name on the network.
    pub name: String,
    /// Where the machine's image comes from.
    pub image: ImageSource,
    /// Limits.
    pub resources: Resources,
    /// Working directory of commands.
    pub workdir: String,
}

impl MachineSpec {
    /// Whether it is a virtual machine (boots a disk).
    pub fn is_vm(&self) -> bool {
        matches!(self.image, ImageSource::Disk { .. })
    }
}

/// Where a machine's image comes from. In a lab file it is either a string
/// (`image = "proctor/base:bookworm"`) or a table
/// (`image = { context = "image", dockerfile = "Dockerfile" }`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImageSource {
    /// An image reference, pulled when the engine lacks it.
    Reference(String),
    /// Built from a directory on the host; the image is cached by the
    /// content of that directory, so an unchanged lab builds once.
    Dockerfile {
        /// The build context: a directory on the host.
        context: PathBuf,
        /// The Dockerfile, relative to the context.
        #[serde(default = "default_dockerfile")]
        dockerfile: String,
    },
    /// A virtual machine's disk: a containerDisk image (KubeVirt).
    Disk {
        /// The image holding the disk.
        disk: String,
    },
}

fn default_dockerfile() -> String {
    "Dockerfile".into()
}

impl From<&str> for ImageSource {
    fn from(reference: &str) -> Self {
        ImageSource::Reference(reference.to_owned())
    }
}

impl From<String> for ImageSource {
    fn from(reference: String) -> Self {
        ImageSource::Reference(reference)
    }
}

/// What to create for a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentSpec {
    /// Session id (letters, digits and `-`).
    pub session: String,
    /// Lab id.
    pub lab: String,
    /// The learner.
    pub owner: String,
    /// The machines; the first is the default.
    pub machines: Vec<MachineSpec>,
    /// Where its machines may connect beyond the session.
    #[serde(default)]
    pub egress: Vec<Egress>,
}

/// An environment found by label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedEnvironment {
    /// Session id.
    pub session: String,
    /// Lab id.
    pub lab: String,
    /// The learner.
    pub owner: String,
    /// Names of its machines.
    pub machines: Vec<String>,
}

/// Why a runtime operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The engine or cluster cannot be reached, or went away during the call.
    #[error("the runtime is unreachable: {0}")]
    Unreachable(String),
    /// The session, machine or file does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The image is not on the engine and could not be pulled.
    #[error("image {image} is not available: {reason}")]
    ImageMissing {
        /// The image.
        image: String,
        /// Why it could not be had.
        reason: String,
    },
    /// The operation ran out of time.
    #[error("timed out after {0} ms")]
    TimedOut(u128),
    /// A path was refused.
    #[error("invalid path {0:?}: paths must be absolute and free of `..`")]
    InvalidPath(String),
    /// The request was refused as invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Something was larger than its cap.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A started container's server did not answer an HTTP request well.
    #[error("the HTTP exchange failed: {0}")]
    Http(String),
    /// A machine image could not be built from the lab's Dockerfile.
    #[error("the machine image {image} could not be built: {log_tail}")]
    ImageBuild {
        /// The tag the image was to have.
        image: String,
        /// The end of the build log, with the error.
        log_tail: String,
    },
    /// The engine refused or failed the operation.
    #[error("the container engine failed: {0}")]
    Engine(String),
    /// The cluster has no room for it now (a quota).
    #[error("the cluster has no room for this session now: {0}")]
    Capacity(String),
    /// This runtime cannot do it.
    #[error("not supported here: {0}")]
    Unsupported(String),
}

/// Where sessions' environments live.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// Whether machines of this kind can run here (virtual machines need
    /// KubeVirt; a Dockerfile needs an engine or a builder).
    fn supports(&self, image: &ImageSource) -> bool {
        !matches!(image, ImageSource::Disk { .. })
    }

    /// Creates and starts the environment of a session.
    async fn create(&self, spec: &EnvironmentSpec) -> Result<(), RuntimeError>;

    /// Runs a command to completion, with its timeout and output caps.
    async fn exec(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError>;

    /// Runs several commands, concurrently where the runtime can, and
    /// returns their results in order. A runtime whose round trips are dear
    /// runs them as one batch (see [`batch`]).
    async fn exec_batch(&self, session: &str, cmds: &[Command]) -> Vec<Result<CommandOutput, RuntimeError>> {
        exec_each(self, session, cmds).await
    }

    /// Reads at most `max_bytes` of a file.
    async fn read_file(&self, session: &str, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError>;

    /// Writes a file (creating or replacing it) with the given mode.
    async fn write_file(&self, session: &str, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError>;

    /// Removes everything of a session. Removing what is already gone succeeds.
    async fn destroy(&self, session: &str) -> Result<(), RuntimeError>;

    /// The environments this runtime's engine holds for the server: every
    /// session that still has a machine, a network, a started container or
    /// a built image.
    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError>;

    /// Opens an interactive shell on a machine, in its working directory.
    async fn open_terminal(&self, session: &str, machine: &str, size: TerminalSize) -> Result<Terminal, RuntimeError>;

    /// Builds an image from a directory of a machine, under a tag of the
    /// session's. A build that fails on the learner's files is a report
    /// with `error` set; errors are for the engine, paths and machines.
    async fn build_image(&self, session: &str, req: &BuildRequest) -> Result<BuildReport, RuntimeError>;

    /// Starts a container from an image this session built, on the
    /// session's network, confined like a machine.
    async fn run_image(&self, session: &str, req: &RunRequest) -> Result<Container, RuntimeError>;

    /// Sends an HTTP GET from the host to a container this session started,
    /// waiting (within the request's timeout) for the port to accept.
    async fn http_get(&self, session: &str, req: &HttpRequest) -> Result<HttpResponse, RuntimeError>;

    /// Stops and removes a container this session started.
    async fn stop_container(&self, session: &str, handle: &str) -> Result<(), RuntimeError>;

    /// A tar of a directory's contents (its entries at the archive's root),
    /// refused when larger than `max_bytes`.
    async fn archive_dir(&self, session: &str, machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError>;

    /// Unpacks a tar made by [`Runtime::archive_dir`] into a directory,
    /// creating the directory when needed.
    async fn restore_dir(&self, session: &str, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError>;
}

/// Runs `cmds` as one exec each, concurrently, results in order: what a
/// batch falls back to.
pub async fn exec_each<R: Runtime + ?Sized>(
    runtime: &R,
    session: &str,
    cmds: &[Command],
) -> Vec<Result<CommandOutput, RuntimeError>> {
    futures::future::join_all(cmds.iter().map(|c| runtime.exec(session, c))).await
}

/// Runs a lab's script (setup, solution) given as `$1`: with bash when the
/// machine has it, as scripts written for labs usually expect, and with sh
/// otherwise. Use as `["sh", "-c", SCRIPT_RUNNER, "<name>", script]`.
pub const SCRIPT_RUNNER: &str = r#"if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$1"; fi"#;

/// Checks that a path is absolute and has no `..` component.
pub fn checked_path(path: &str) -> Result<&str, RuntimeError> {
    let p = std::path::Path::new(path);
    if !p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(RuntimeError::InvalidPath(path.to_owned()));
    }
    Ok(path)
}

/// Checks that a path is relative and stays inside its base: no root, no
/// `..`. For a Dockerfile's path within a build context.
pub fn checked_relative_path(path: &str) -> Result<&str, RuntimeError> {
    let p = std::path::Path::new(path);
    let inside = p.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if path.is_empty() || !inside {
        return Err(RuntimeError::Invalid(format!("{path:?} must be a relative path inside the build context, without `..`")));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_is_a_cidr_with_an_optional_port() {
        assert_eq!("203.0.113.0/24:443".parse::<Egress>().unwrap(), Egress { cidr: "203.0.113.0/24".into(), port: Some(443) });
        assert_eq!("2001:db8::/32".parse::<Egress>().unwrap(), Egress { cidr: "2001:db8::/32".into(), port: None });
        for bad in ["10.0.0.0", "10.0.0.0/33", "example.com/8", "10.0.0.0/8:http"] {
            assert!(bad.parse::<Egress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_absolute_paths_without_parent_steps_pass() {
        assert!(checked_path("/workspace/a.txt").is_ok());
        assert!(checked_path("workspace/a.txt").is_err());
        assert!(checked_path("/workspace/../etc/shadow").is_err());
    }

    #[test]
    fn only_relative_paths_inside_their_base_pass() {
        assert!(checked_relative_path("Dockerfile").is_ok());
        assert!(checked_relative_path("./build/Dockerfile.dev").is_ok());
        for bad in ["", "/Dockerfile", "../Dockerfile", "a/../../Dockerfile"] {
            assert!(checked_relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_image_source_is_a_string_or_a_table() {
        let reference: ImageSource = serde_json::from_str(r#""proctor/base:bookworm""#).unwrap();
        assert_eq!(reference, ImageSource::from("proctor/base:bookworm"));
        let built: ImageSource = serde_json::from_str(r#"{"context": "scenarios/x/image"}"#).unwrap();
        assert_eq!(built, ImageSource::Dockerfile { context: "scenarios/x/image".into(), dockerfile: "Dockerfile".into() });
    }
}
