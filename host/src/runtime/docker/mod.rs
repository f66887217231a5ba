//! The Docker runtime: per session, one bridge network and one container per
//! machine, labelled with owner, session and lab.
//!
//! Containers run with memory, CPU and process limits, no new privileges and
//! a reduced capability set; the engine's socket is never mounted into them.
//! The Engine API version is negotiated (Debian's engine speaks 1.41).
//!
//! The work is split by what it touches: `exec` runs commands, `files` moves
//! files and directories, `images` builds and removes images, `containers`
//! runs what a judge built, `terminal` opens interactive shells.

mod containers;
mod exec;
mod files;
mod images;
mod networks;
mod terminal;

use std::{
    collections::HashMap,
    sync::{Arc, atomic::AtomicU64},
};

use async_trait::async_trait;
use bollard::{
    Docker,
    errors::Error as DockerError,
    models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig},
    query_parameters::{
        CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
        ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    },
};

use super::{
    subnets::SubnetPool,
    KEPT_CAPABILITIES, EnvironmentSpec, OwnedEnvironment, Resources, Runtime, RuntimeError, Terminal, TerminalSize, labels,
};
use crate::capabilities::{
    BuildReport, BuildRequest, Command, CommandOutput, Container, FileContent, HttpRequest, HttpResponse, RunRequest,
};

/// The Docker runtime.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    /// Where the engine listens, for the raw streams bollard cannot give.
    endpoint: terminal::Endpoint,
    /// Numbers build tags and started containers. Seeded from the clock so a
    /// restarted server does not reuse the names of one that ran before.
    serial: Arc<AtomicU64>,
    /// One lab image build at a time: two sessions of a new lab starting
    /// together build its image once.
    lab_builds: Arc<tokio::sync::Mutex<()>>,
    /// Where sessions' networks take their subnets.
    subnet_pool: SubnetPool,
    /// One network created at a time, so two never pick the same subnet.
    networks: Arc<tokio::sync::Mutex<()>>,
    /// The `dev.proctor.instance` label of this server's objects.
    instance: String,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime").finish_non_exhaustive()
    }
}

fn network_name(session: &str) -> String {
    format!("proctor-{session}")
}

/// The container of a machine, refusing names that are not plain words:
/// they become part of the engine's URLs.
fn machine_container(session: &str, machine: &str) -> Result<String, RuntimeError> {
    check_name("machine", machine)?;
    Ok(format!("proctor-{session}-{machine}"))
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
        other => RuntimeError::Unreachable(format!("the Docker engine ({what}): {other}")),
    }
}

/// Treats "already gone" as done, for removals.
fn gone_is_fine<T>(what: &str, result: Result<T, DockerError>) -> Result<(), RuntimeError> {
    match result {
        Ok(_) | Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(engine_error(what, e)),
    }
}


/// Keeps only the labels that tie an object to a session, to pass them on
/// to what the session makes next.
fn only_session_labels(mut all: HashMap<String, String>) -> HashMap<String, String> {
    all.retain(|k, _| [labels::MANAGED, labels::INSTANCE, labels::SESSION, labels::LAB, labels::OWNER].contains(&k.as_str()));
    all
}

/// The confinement every container of a session runs under: limits, a
/// reduced capability set, no new privileges, the session's network only.
fn confined(resources: &Resources, network: &str) -> HostConfig {
    HostConfig {
        memory: Some(resources.memory_bytes as i64),
        nano_cpus: Some((resources.cpus * 1e9) as i64),
        pids_limit: Some(resources.pids.into()),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: Some(KEPT_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()),
        security_opt: Some(vec!["no-new-privileges".into()]),
        network_mode: Some(network.to_owned()),
        ..Default::default()
    }
}

/// Attaches a container to the session's network under `alias`.
fn on_network(network: &str, alias: &str) -> NetworkingConfig {
    let endpoint = EndpointSettings { aliases: Some(vec![alias.to_owned()]), ..Default::default() };
    NetworkingConfig { endpoints_config: Some(HashMap::from([(network.to_owned(), endpoint)])) }
}

impl DockerRuntime {
    /// Connects to the engine named by `DOCKER_HOST`, or the local socket,
    /// and agrees on an API version both sides speak.
    pub async fn connect() -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| engine_error("connect", e))?;
        DockerRuntime::negotiated(docker, terminal::Endpoint::from_env()).await
    }

    /// Connects to the engine listening on the Unix socket at `path`.
    pub async fn connect_socket(path: &str) -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_socket(path, 120, bollard::API_DEFAULT_VERSION)
            .map_err(|e| engine_error("connect", e))?;
        DockerRuntime::negotiated(docker, terminal::Endpoint::Unix(path.into())).await
    }

    async fn negotiated(docker: Docker, endpoint: terminal::Endpoint) -> Result<DockerRuntime, RuntimeError> {
        let docker = docker.negotiate_version().await.map_err(|e| engine_error("negotiate the API version", e))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(DockerRuntime {
            docker,
            endpoint,
            serial: Arc::new(AtomicU64::new(now.as_millis() as u64)),
            lab_builds: Arc::default(),
            subnet_pool: SubnetPool::default(),
            networks: Arc::default(),
            instance: "default".into(),
        })
    }

    /// Labels this server's objects as `instance`'s (default `default`):
    /// listing and reconciling see only those, so several servers (or test
    /// runs) can share one engine.
    pub fn with_instance(mut self, instance: impl Into<String>) -> DockerRuntime {
        self.instance = instance.into();
        self
    }

    /// The labels that tie an object to a session of this server.
    fn session_labels(&self, session: &str, lab: &str, owner: &str) -> HashMap<String, String> {
        HashMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::INSTANCE.to_owned(), self.instance.clone()),
            (labels::SESSION.to_owned(), session.to_owned()),
            (labels::LAB.to_owned(), lab.to_owned()),
            (labels::OWNER.to_owned(), owner.to_owned()),
        ])
    }

    /// Gives sessions' networks subnets from `pool` instead of the default
    /// `10.213.0.0/16` in /26s.
    pub fn with_subnet_pool(mut self, pool: SubnetPool) -> DockerRuntime {
        self.subnet_pool = pool;
        self
    }

    /// A number no other build or started container of this engine has.
    fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    async fn create_inner(
        &self,
        spec: &EnvironmentSpec,
        images: &[String],
        labels: &HashMap<String, String>,
    ) -> Result<(), RuntimeError> {
        let network = network_name(&spec.session);
        self.create_session_network(&network, labels).await?;
        for (machine, image) in spec.machines.iter().zip(images) {
            let mut machine_labels = labels.clone();
            machine_labels.insert(labels::MACHINE.into(), machine.name.clone());
            let body = ContainerCreateBody {
                image: Some(image.clone()),
                hostname: Some(machine.name.clone()),
                working_dir: Some(machine.workdir.clone()),
                // The machine idles until commands and terminals are exec'd into it.
                cmd: Some(vec!["sleep".into(), "infinity".into()]),
                labels: Some(machine_labels),
                host_config: Some(confined(&machine.resources, &network)),
                networking_config: Some(on_network(&network, &machine.name)),
                stop_timeout: Some(1),
                ..Default::default()
            };
            let name = machine_container(&spec.session, &machine.name)?;
            self.create_and_start(&name, body).await?;
        }
        Ok(())
    }

    /// Creates a container and starts it, removing it again if it will not
    /// start.
    async fn create_and_start(&self, name: &str, body: ContainerCreateBody) -> Result<(), RuntimeError> {
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        self.docker.create_container(Some(options), body).await.map_err(|e| engine_error("create container", e))?;
        if let Err(e) = self.docker.start_container(name, None::<bollard::query_parameters::StartContainerOptions>).await {
            self.remove_container(name).await.ok();
            return Err(engine_error("start container", e));
        }
        Ok(())
    }

    async fn remove_container(&self, name: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        gone_is_fine("remove container", self.docker.remove_container(name, Some(options)).await)
    }

    /// A label filter: objects of one session, or every object this server
    /// manages (labels in one filter must all match).
    fn session_filter(&self, session: Option<&str>) -> HashMap<String, Vec<String>> {
        let labels = match session {
            Some(s) => vec![format!("{}={s}", labels::SESSION)],
            None => vec![format!("{}=true", labels::MANAGED), format!("{}={}", labels::INSTANCE, self.instance)],
        };
        HashMap::from([("label".to_owned(), labels)])
    }
}

/// Gathers sessions from the labels of what the engine holds.
#[derive(Default)]
struct Owned(Vec<OwnedEnvironment>);

impl Owned {
    /// Notes an object of a session; `machine` when it is a machine.
    fn note(&mut self, labels: &HashMap<String, String>, machine: Option<&str>) {
        let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let session = label(labels::SESSION);
        // Lab images and their build steps are managed but belong to no session.
        if session.is_empty() {
            return;
        }
        let env = match self.0.iter().position(|o| o.session == session) {
            Some(i) => &mut self.0[i],
            None => {
                self.0.push(OwnedEnvironment { lab: label(labels::LAB), owner: label(labels::OWNER), session, machines: vec![] });
                self.0.last_mut().expect("just pushed")
            }
        };
        if let Some(machine) = machine {
            env.machines.push(machine.to_owned());
        }
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
        let mut images = Vec::new();
        for m in &spec.machines {
            check_name("machine", &m.name)?;
            images.push(self.machine_image(&spec.lab, &m.image).await?);
        }
        let labels = self.session_labels(&spec.session, &spec.lab, &spec.owner);
        let created = self.create_inner(spec, &images, &labels).await;
        if created.is_err() {
            // Leave nothing half-made behind.
            if let Err(e) = self.destroy(&spec.session).await {
                tracing::warn!(error = %e, "could not clean up a failed environment");
            }
        }
        created
    }

    async fn exec(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        self.exec_one(session, cmd).await
    }

    async fn exec_batch(&self, session: &str, cmds: &[Command]) -> Vec<Result<CommandOutput, RuntimeError>> {
        self.exec_as_batch(session, cmds).await
    }

    async fn read_file(&self, session: &str, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError> {
        self.read_machine_file(session, machine, path, max_bytes).await
    }

    async fn write_file(&self, session: &str, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError> {
        self.write_machine_file(session, machine, path, data, mode).await
    }

    #[tracing::instrument(skip(self))]
    async fn destroy(&self, session: &str) -> Result<(), RuntimeError> {
        check_name("session", session)?;
        // Machines and started containers first: images in use cannot go.
        let options = ListContainersOptionsBuilder::new().all(true).filters(&self.session_filter(Some(session))).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(|e| engine_error("list containers", e))?;
        for id in containers.into_iter().filter_map(|c| c.id) {
            self.remove_container(&id).await?;
        }
        gone_is_fine("remove network", self.docker.remove_network(&network_name(session)).await)?;
        self.remove_session_images(session).await
    }

    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError> {
        let mut owned = Owned::default();
        let options = ListContainersOptionsBuilder::new().all(true).filters(&self.session_filter(None)).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(|e| engine_error("list containers", e))?;
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            owned.note(&labels, labels.get(labels::MACHINE).map(String::as_str));
        }
        // Networks and images whose containers are gone still belong to a session.
        let options = ListNetworksOptionsBuilder::new().filters(&self.session_filter(None)).build();
        let networks = self.docker.list_networks(Some(options)).await.map_err(|e| engine_error("list networks", e))?;
        for n in networks {
            owned.note(&n.labels.unwrap_or_default(), None);
        }
        let options = ListImagesOptionsBuilder::new().filters(&self.session_filter(None)).build();
        let images = self.docker.list_images(Some(options)).await.map_err(|e| engine_error("list images", e))?;
        for i in images {
            owned.note(&i.labels, None);
        }
        Ok(owned.0)
    }

    async fn open_terminal(&self, session: &str, machine: &str, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        self.open_shell(session, machine, size).await
    }

    async fn build_image(&self, session: &str, req: &BuildRequest) -> Result<BuildReport, RuntimeError> {
        self.build_from_machine(session, req).await
    }

    async fn run_image(&self, session: &str, req: &RunRequest) -> Result<Container, RuntimeError> {
        self.run_built_image(session, req).await
    }

    async fn http_get(&self, session: &str, req: &HttpRequest) -> Result<HttpResponse, RuntimeError> {
        self.get_from_container(session, req).await
    }

    async fn stop_container(&self, session: &str, handle: &str) -> Result<(), RuntimeError> {
        self.stop_started(session, handle).await
    }

    async fn archive_dir(&self, session: &str, machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
        self.download_dir(session, machine, path, max_bytes).await
    }

    async fn restore_dir(&self, session: &str, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
        self.upload_dir(session, machine, path, tar).await
    }
}
