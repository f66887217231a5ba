//! The Docker runtime: per session, one bridge network and one container per
//! machine, labelled with owner, session and lab.
//!
//! Containers run with memory, CPU and process limits, no new privileges and
//! a reduced capability set; the engine's socket is never mounted into them.
//! The Engine API version is negotiated (Debian's engine speaks 1.41).

use std::{
    collections::HashMap,
    io::Read,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bollard::{
    Docker,
    errors::Error as DockerError,
    exec::StartExecResults,
    models::{ContainerCreateBody, EndpointSettings, ExecConfig, HostConfig, NetworkCreateRequest, NetworkingConfig},
    query_parameters::{
        CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
        ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
        UploadToContainerOptionsBuilder,
    },
};
use futures::StreamExt;

use super::{EnvironmentSpec, OwnedEnvironment, Runtime, RuntimeError, batch, checked_path, exec_each, labels};
use crate::capabilities::{Bytes, Command, CommandOutput, FileContent};

/// Capabilities every machine keeps; Docker's default set minus raw sockets,
/// device nodes, chroot and file capabilities.
const KEPT_CAPABILITIES: &[&str] =
    &["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE", "AUDIT_WRITE"];

/// Default time limit of a command that names none.
const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// Default cap on each output stream of a command that names none.
const DEFAULT_OUTPUT_CAP: u32 = 1 << 20;

/// The Docker runtime.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime").finish_non_exhaustive()
    }
}

fn network_name(session: &str) -> String {
    format!("proctor-{session}")
}

fn container_name(session: &str, machine: &str) -> String {
    format!("proctor-{session}-{machine}")
}

/// Names a session or machine may have: they become object names.
fn check_name(what: &str, name: &str) -> Result<(), RuntimeError> {
    let ok = !name.is_empty() && name.len() <= 63 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(()) } else { Err(RuntimeError::Invalid(format!("{what} `{name}` must be 1-63 letters, digits and `-`"))) }
}

/// Maps an engine error: a 404 names what is missing, a transport error
/// means the engine is unreachable.
fn engine_error(what: &str, e: DockerError) -> RuntimeError {
    match e {
        DockerError::DockerResponseServerError { status_code: 404, message } => {
            RuntimeError::NotFound(format!("{what}: {message}"))
        }
        DockerError::DockerResponseServerError { message, .. } => RuntimeError::Engine(format!("{what}: {message}")),
        DockerError::JsonDataError { .. } | DockerError::JsonSerdeError { .. } | DockerError::APIVersionParseError {} => {
            RuntimeError::Engine(format!("{what}: {e}"))
        }
        other => RuntimeError::Unreachable(format!("{what}: {other}")),
    }
}

impl DockerRuntime {
    /// Connects to the engine named by `DOCKER_HOST`, or the local socket,
    /// and agrees on an API version both sides speak.
    pub async fn connect() -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| engine_error("connect", e))?;
        let docker = docker.negotiate_version().await.map_err(|e| engine_error("negotiate the API version", e))?;
        Ok(DockerRuntime { docker })
    }

    /// Connects to the engine listening on the Unix socket at `path`.
    pub async fn connect_socket(path: &str) -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_socket(path, 120, bollard::API_DEFAULT_VERSION)
            .map_err(|e| engine_error("connect", e))?;
        let docker = docker.negotiate_version().await.map_err(|e| engine_error("negotiate the API version", e))?;
        Ok(DockerRuntime { docker })
    }

    /// Makes sure `image` is on the engine, pulling it (with progress in the
    /// log) when it is not.
    async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(engine_error("inspect image", e)),
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

    async fn create_inner(&self, spec: &EnvironmentSpec, labels: &HashMap<String, String>) -> Result<(), RuntimeError> {
        let network = network_name(&spec.session);
        self.docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| engine_error("create network", e))?;
        for machine in &spec.machines {
            let mut machine_labels = labels.clone();
            machine_labels.insert(labels::MACHINE.into(), machine.name.clone());
            let host = HostConfig {
                memory: Some(machine.resources.memory_bytes as i64),
                nano_cpus: Some((machine.resources.cpus * 1e9) as i64),
                pids_limit: Some(machine.resources.pids.into()),
                cap_drop: Some(vec!["ALL".into()]),
                cap_add: Some(KEPT_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()),
                security_opt: Some(vec!["no-new-privileges".into()]),
                network_mode: Some(network.clone()),
                ..Default::default()
            };
            let endpoint = EndpointSettings { aliases: Some(vec![machine.name.clone()]), ..Default::default() };
            let body = ContainerCreateBody {
                image: Some(machine.image.clone()),
                hostname: Some(machine.name.clone()),
                working_dir: Some(machine.workdir.clone()),
                // The machine idles until commands and terminals are exec'd into it.
                cmd: Some(vec!["sleep".into(), "infinity".into()]),
                labels: Some(machine_labels),
                host_config: Some(host),
                networking_config: Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(network.clone(), endpoint)])),
                }),
                stop_timeout: Some(1),
                ..Default::default()
            };
            let name = container_name(&spec.session, &machine.name);
            let options = CreateContainerOptionsBuilder::new().name(&name).build();
            self.docker.create_container(Some(options), body).await.map_err(|e| engine_error("create container", e))?;
            self.docker
                .start_container(&name, None::<bollard::query_parameters::StartContainerOptions>)
                .await
                .map_err(|e| engine_error("start container", e))?;
        }
        Ok(())
    }

    /// Runs `cmd` and collects its output, within `timeout`.
    async fn run_exec(&self, container: &str, cmd: &Command, timeout: Duration) -> Result<CommandOutput, RuntimeError> {
        let started = Instant::now();
        let config = ExecConfig {
            cmd: Some(cmd.argv.clone()),
            env: Some(cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: cmd.workdir.clone(),
            attach_stdin: Some(cmd.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, config).await.map_err(|e| engine_error("create exec", e))?;
        let StartExecResults::Attached { mut output, mut input } =
            self.docker.start_exec(&exec.id, None).await.map_err(|e| engine_error("start exec", e))?
        else {
            return Err(RuntimeError::Engine("the exec did not attach".into()));
        };
        if let Some(stdin) = &cmd.stdin {
            use tokio::io::AsyncWriteExt;
            input.write_all(&stdin.0).await.map_err(|e| RuntimeError::Unreachable(format!("write stdin: {e}")))?;
            input.shutdown().await.ok();
        }
        drop(input);
        let cap = cmd.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP) as usize;
        let mut out = CommandOutput::default();
        let collect = async {
            while let Some(chunk) = output.next().await {
                let (buf, truncated, bytes) = match chunk.map_err(|e| engine_error("read exec output", e))? {
                    bollard::container::LogOutput::StdOut { message } => (&mut out.stdout, &mut out.stdout_truncated, message),
                    bollard::container::LogOutput::StdErr { message } => (&mut out.stderr, &mut out.stderr_truncated, message),
                    _ => continue,
                };
                let room = cap.saturating_sub(buf.0.len());
                buf.0.extend_from_slice(&bytes[..bytes.len().min(room)]);
                *truncated |= bytes.len() > room;
            }
            Ok::<(), RuntimeError>(())
        };
        match tokio::time::timeout(timeout, collect).await {
            Ok(result) => result?,
            Err(_) => {
                self.kill_exec(&exec.id).await;
                return Err(RuntimeError::TimedOut(timeout.as_millis()));
            }
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.map_err(|e| engine_error("inspect exec", e))?;
        out.exit_code = inspect.exit_code.unwrap_or(-1) as i32;
        out.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        Ok(out)
    }

    /// Stops a command that ran out of time, with every process it started.
    /// The engine has no call for it, so the processes are signalled by their
    /// host PIDs; where the server does not share the engine's PID namespace
    /// they end with their machine instead.
    async fn kill_exec(&self, exec_id: &str) {
        let Ok(inspect) = self.docker.inspect_exec(exec_id).await else { return };
        let Some(root) = inspect.pid.filter(|p| *p > 0) else { return };
        for pid in process_tree(root as i32) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid)
                && let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::KILL)
            {
                tracing::debug!(pid = pid.as_raw_nonzero().get(), error = %e, "could not stop a timed-out process");
            }
        }
    }

    async fn remove_network(&self, session: &str) -> Result<(), RuntimeError> {
        match self.docker.remove_network(&network_name(session)).await {
            Ok(()) | Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(engine_error("remove network", e)),
        }
    }

    fn session_filter(session: Option<&str>) -> HashMap<String, Vec<String>> {
        let label = match session {
            Some(s) => format!("{}={s}", labels::SESSION),
            None => format!("{}=true", labels::MANAGED),
        };
        HashMap::from([("label".to_owned(), vec![label])])
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    #[tracing::instrument(skip_all, fields(session = %spec.session, lab = %spec.lab))]
    async fn create(&self, spec: &EnvironmentSpec) -> Result<(), RuntimeError> {
        check_name("session", &spec.session)?;
        if spec.machines.is_empty() {
            return Err(RuntimeError::Invalid("an environment needs at least one machine".into()));
        }
        for m in &spec.machines {
            check_name("machine", &m.name)?;
            self.ensure_image(&m.image).await?;
        }
        let labels = HashMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::SESSION.to_owned(), spec.session.clone()),
            (labels::LAB.to_owned(), spec.lab.clone()),
            (labels::OWNER.to_owned(), spec.owner.clone()),
        ]);
        let created = self.create_inner(spec, &labels).await;
        if created.is_err() {
            // Leave nothing half-made behind.
            if let Err(e) = self.destroy(&spec.session).await {
                tracing::warn!(error = %e, "could not clean up a failed environment");
            }
        }
        created
    }

    async fn exec(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        if cmd.argv.is_empty() {
            return Err(RuntimeError::Invalid("a command needs a program".into()));
        }
        let timeout = cmd.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT);
        self.run_exec(&container_name(session, &cmd.machine), cmd, timeout).await
    }

    async fn exec_batch(&self, session: &str, cmds: &[Command]) -> Vec<Result<CommandOutput, RuntimeError>> {
        let one_machine = cmds.windows(2).all(|w| w[0].machine == w[1].machine);
        if !one_machine || !batch::batchable(cmds) {
            return exec_each(self, session, cmds).await;
        }
        let timeout = cmds.iter().map(|c| c.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT)).max().unwrap_or(DEFAULT_EXEC_TIMEOUT);
        let framed_cap: u64 = cmds
            .iter()
            .map(|c| 2 * u64::from(c.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP)) + 128)
            .sum();
        let script = Command {
            machine: cmds[0].machine.clone(),
            argv: vec!["sh".into(), "-c".into(), batch::script(cmds, DEFAULT_OUTPUT_CAP)],
            max_output_bytes: Some(framed_cap.min(u32::MAX.into()) as u32),
            ..Command::default()
        };
        match self.run_exec(&container_name(session, &script.machine), &script, timeout).await {
            // No POSIX shell in this image: nothing ran, so one exec each.
            Ok(out) if matches!(out.exit_code, 126 | 127) && !batch::started(&out.stdout.0) => {
                exec_each(self, session, cmds).await
            }
            Ok(out) => match batch::parse(&out.stdout.0, cmds, DEFAULT_OUTPUT_CAP, out.duration_ms) {
                Some(results) => results.into_iter().map(Ok).collect(),
                // The commands ran; running them again could repeat their effects.
                None => {
                    let why = format!(
                        "the batch's output could not be read (exit {}): {}",
                        out.exit_code,
                        String::from_utf8_lossy(&out.stderr.0)
                    );
                    cmds.iter().map(|_| Err(RuntimeError::Engine(why.clone()))).collect()
                }
            },
            Err(e) => cmds.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    async fn read_file(&self, session: &str, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError> {
        let path = checked_path(path)?;
        let options = DownloadFromContainerOptionsBuilder::new().path(path).build();
        let mut stream = self.docker.download_from_container(&container_name(session, machine), Some(options));
        // The archive holds the file whole; stop reading once the cap and the
        // header are in hand rather than buffering a huge file.
        let mut archive = Vec::new();
        let limit = max_bytes as usize + 64 * 1024;
        while let Some(chunk) = stream.next().await {
            archive.extend_from_slice(&chunk.map_err(|e| engine_error(path, e))?);
            if archive.len() > limit {
                break;
            }
        }
        first_file_in_tar(&archive, max_bytes).ok_or_else(|| RuntimeError::Invalid(format!("{path} is not a regular file")))
    }

    async fn write_file(&self, session: &str, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError> {
        let path = std::path::Path::new(checked_path(path)?);
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(RuntimeError::InvalidPath(path.display().to_string()));
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_data(&mut header, name, data).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        let archive = builder.into_inner().map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        let options = UploadToContainerOptionsBuilder::new().path(&dir.display().to_string()).build();
        self.docker
            .upload_to_container(&container_name(session, machine), Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| engine_error(&path.display().to_string(), e))
    }

    #[tracing::instrument(skip(self))]
    async fn destroy(&self, session: &str) -> Result<(), RuntimeError> {
        let options = ListContainersOptionsBuilder::new().all(true).filters(&Self::session_filter(Some(session))).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(|e| engine_error("list containers", e))?;
        for c in containers {
            let Some(id) = c.id else { continue };
            let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            match self.docker.remove_container(&id, Some(options)).await {
                Ok(()) | Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => return Err(engine_error("remove container", e)),
            }
        }
        self.remove_network(session).await
    }

    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError> {
        let options = ListContainersOptionsBuilder::new().all(true).filters(&Self::session_filter(None)).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(|e| engine_error("list containers", e))?;
        let mut owned: Vec<OwnedEnvironment> = Vec::new();
        let label = |c: &HashMap<String, String>, k: &str| c.get(k).cloned().unwrap_or_default();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let session = label(&labels, labels::SESSION);
            let machine = label(&labels, labels::MACHINE);
            match owned.iter_mut().find(|o| o.session == session) {
                Some(env) => env.machines.push(machine),
                None => owned.push(OwnedEnvironment {
                    lab: label(&labels, labels::LAB),
                    owner: label(&labels, labels::OWNER),
                    session,
                    machines: vec![machine],
                }),
            }
        }
        // Networks whose containers are gone still belong to a session.
        let options = ListNetworksOptionsBuilder::new().filters(&Self::session_filter(None)).build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(|e| engine_error("list networks", e))?;
        for n in networks {
            let labels = n.labels.unwrap_or_default();
            let session = label(&labels, labels::SESSION);
            if !owned.iter().any(|o| o.session == session) {
                owned.push(OwnedEnvironment {
                    lab: label(&labels, labels::LAB),
                    owner: label(&labels, labels::OWNER),
                    session,
                    machines: Vec::new(),
                });
            }
        }
        Ok(owned)
    }
}

/// `root` and all its descendants, parents first, read from `/proc`.
fn process_tree(root: i32) -> Vec<i32> {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() && tree.len() < 10_000 {
        let pid = tree[i];
        let children = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|list| list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>());
        tree.extend(children);
        i += 1;
    }
    tree
}

/// The first entry of a tar archive as a file, cut at `max_bytes`.
fn first_file_in_tar(archive: &[u8], max_bytes: u32) -> Option<FileContent> {
    let mut entries = tar::Archive::new(archive);
    let mut entry = entries.entries().ok()?.next()?.ok()?;
    if !entry.header().entry_type().is_file() {
        return None;
    }
    let size = entry.header().size().ok()?;
    let mut data = Vec::new();
    // A read cut short by the streaming cap still yields what arrived.
    let _ = (&mut entry).take(max_bytes as u64).read_to_end(&mut data);
    Some(FileContent { data: Bytes(data), size, truncated: size > max_bytes as u64 })
}
