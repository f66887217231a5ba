//! The Kubernetes runtime: a session is a namespace of its own on a
//! cluster, with a network policy (no traffic from other namespaces; out,
//! only DNS, the session and what the lab declares), a resource quota and
//! a limit range from the lab's limits. Container machines are pods run
//! with the Docker runtime's confinement; virtual machines are KubeVirt
//! `VirtualMachine`s booting the lab's disk, with cloud-init installing
//! the session's own SSH key. Ending a session deletes its namespace,
//! which takes everything in it along.
//!
//! Commands and terminals on pods go through the API server's exec
//! subresource (`exec`); on virtual machines, over SSH through KubeVirt's
//! portforward subresource (`ssh`, `tunnel`). Files and directories travel
//! through commands (`via_exec`). Nothing needs a route to pod addresses:
//! the server only talks to the API server.

mod exec;
pub mod manifests;
mod ready;
mod ssh;
pub mod tunnel;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, Pod, ResourceQuota, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, ListParams, PostParams},
};
use serde::Deserialize;

use super::{
    EnvironmentSpec, ImageSource, OwnedEnvironment, Runtime, RuntimeError, Terminal, TerminalSize, labels,
    via_exec::{self, RunsCommands},
};
use crate::capabilities::{
    BuildReport, BuildRequest, Command, CommandOutput, Container, FileContent, HttpRequest, HttpResponse, RunRequest,
};

/// Where the names of a session's machines are kept on its namespace.
const MACHINES_ANNOTATION: &str = "dev.proctor.machines";

/// `[kubernetes]` in the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesConfig {
    /// A kubeconfig file; without it, the in-cluster service account or
    /// the usual kubeconfig (`KUBECONFIG`, `~/.kube/config`).
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context (its current one when absent).
    pub context: Option<String>,
    /// Sessions' namespaces are this and the session id. Default `proctor-`.
    pub namespace_prefix: String,
    /// How pods get their images. Default `IfNotPresent`.
    pub image_pull_policy: String,
    /// KubeVirt's run strategy for virtual machines. Default `Always`.
    pub vm_run_strategy: String,
    /// Where virtual machines' root disks live: `{ kind = "container" }`
    /// (default) or `{ kind = "volume", storage_class = "…", size = "20Gi" }`.
    pub vm_storage: manifests::VmStorage,
    /// How long machines may take to be ready. Default 300 s.
    pub ready_timeout_seconds: u64,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            kubeconfig: None,
            context: None,
            namespace_prefix: "proctor-".into(),
            image_pull_policy: "IfNotPresent".into(),
            vm_run_strategy: "Always".into(),
            vm_storage: manifests::VmStorage::default(),
            ready_timeout_seconds: 300,
        }
    }
}

/// The Kubernetes runtime; cheap to clone.
#[derive(Clone)]
pub struct KubeRuntime {
    client: Client,
    config: Arc<KubernetesConfig>,
    instance: String,
    connections: Arc<ssh::Connections>,
    /// Whether each (namespace, machine) is a virtual machine, as known
    /// from its creation or a first lookup, so that a command costs no
    /// extra request to the API server.
    virtual_machines: Arc<Mutex<HashMap<(String, String), bool>>>,
}

impl std::fmt::Debug for KubeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeRuntime").field("instance", &self.instance).finish_non_exhaustive()
    }
}

/// The KubeVirt kinds this runtime creates and reads.
fn kubevirt(kind: &str, plural: &str) -> ApiResource {
    ApiResource { group: "kubevirt.io".into(), version: "v1".into(), api_version: "kubevirt.io/v1".into(), kind: kind.into(), plural: plural.into() }
}

/// Maps an API error: 404 names what is missing, 403 and 409 are the
/// cluster's refusals (a quota, a conflict), transport errors mean the API
/// server is unreachable.
fn api_error(what: &str, e: kube::Error) -> RuntimeError {
    match e {
        kube::Error::Api(s) if s.code == 404 => RuntimeError::NotFound(format!("{what}: {}", s.message)),
        kube::Error::Api(s) if s.code == 403 && s.message.contains("exceeded quota") => {
            RuntimeError::Capacity(format!("{what}: {}", s.message))
        }
        kube::Error::Api(s) => RuntimeError::Engine(format!("{what}: {} ({} {})", s.message, s.code, s.reason)),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => RuntimeError::Unreachable(format!("the Kubernetes API server ({what}): {e}")),
        other => RuntimeError::Engine(format!("{what}: {other}")),
    }
}

/// Names a session or machine may have: they become object names (DNS
/// labels: lowercase letters, digits and `-`).
fn check_name(what: &str, name: &str) -> Result<(), RuntimeError> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok { Ok(()) } else { Err(RuntimeError::Invalid(format!("{what} `{name}` must be 1-50 lowercase letters, digits and `-`"))) }
}

impl KubeRuntime {
    /// Connects to the cluster the configuration names, or the one the
    /// server runs in, or the usual kubeconfig.
    pub async fn connect(config: KubernetesConfig, instance: impl Into<String>) -> Result<KubeRuntime, RuntimeError> {
        let client_config = match &config.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path).map_err(|e| RuntimeError::Unreachable(format!("kubeconfig {}: {e}", path.display())))?;
                let options = kube::config::KubeConfigOptions { context: config.context.clone(), ..Default::default() };
                kube::Config::from_custom_kubeconfig(file, &options).await.map_err(|e| RuntimeError::Unreachable(format!("kubeconfig {}: {e}", path.display())))?
            }
            None => kube::Config::infer().await.map_err(|e| RuntimeError::Unreachable(format!("no cluster configuration: {e}")))?,
        };
        let client = Client::try_from(client_config).map_err(|e| RuntimeError::Unreachable(format!("cluster client: {e}")))?;
        Ok(KubeRuntime::with_client(client, config, instance))
    }

    /// A runtime over `client` (a test API server, say).
    pub fn with_client(client: Client, config: KubernetesConfig, instance: impl Into<String>) -> KubeRuntime {
        KubeRuntime { client, config: Arc::new(config), instance: instance.into(), connections: Arc::default(), virtual_machines: Arc::default() }
    }

    /// The namespace of `session`.
    fn namespace(&self, session: &str) -> Result<String, RuntimeError> {
        check_name("session", session)?;
        Ok(format!("{}{session}", self.config.namespace_prefix))
    }

    fn session_labels(&self, spec: &EnvironmentSpec) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::INSTANCE.to_owned(), self.instance.clone()),
            (labels::SESSION.to_owned(), spec.session.clone()),
            (labels::LAB.to_owned(), spec.lab.clone()),
            (labels::OWNER.to_owned(), spec.owner.clone()),
        ])
    }

    fn ready_timeout(&self) -> Duration {
        Duration::from_secs(self.config.ready_timeout_seconds)
    }

    /// The session's namespace, noting its machines.
    async fn create_namespace(&self, ns: &str, spec: &EnvironmentSpec, labels: &BTreeMap<String, String>) -> Result<(), RuntimeError> {
        let mut namespace = manifests::namespace(ns, labels);
        let machines: Vec<&str> = spec.machines.iter().map(|m| m.name.as_str()).collect();
        namespace.metadata.annotations = Some(BTreeMap::from([(MACHINES_ANNOTATION.to_owned(), machines.join(","))]));
        Api::<Namespace>::all(self.client.clone()).create(&PostParams::default(), &namespace).await.map_err(|e| api_error("create the session's namespace", e))?;
        Ok(())
    }

    /// Everything in the session's namespace: policies, machines, services.
    async fn create_objects(&self, ns: &str, spec: &EnvironmentSpec, labels: &BTreeMap<String, String>) -> Result<(), RuntimeError> {
        let post = PostParams::default();
        let c = || self.client.clone();
        Api::<NetworkPolicy>::namespaced(c(), ns).create(&post, &manifests::network_policy(&spec.egress)).await.map_err(|e| api_error("create the network policy", e))?;
        Api::<ResourceQuota>::namespaced(c(), ns).create(&post, &manifests::resource_quota(spec)).await.map_err(|e| api_error("create the resource quota", e))?;
        Api::<LimitRange>::namespaced(c(), ns).create(&post, &manifests::limit_range()).await.map_err(|e| api_error("create the limit range", e))?;
        let guest_keys = if spec.machines.iter().any(|m| m.is_vm()) {
            let ssh::NewKeys { keys, host_private, peer } = ssh::SessionKeys::generate();
            let host_public = keys.host_public()?;
            let secret = manifests::ssh_secret(&keys.client_private()?, &host_public, labels);
            Api::<Secret>::namespaced(c(), ns).create(&post, &secret).await.map_err(|e| api_error("store the session's SSH keys", e))?;
            let authorized = vec![keys.client_public()?, ssh::public_openssh(peer.public_key())?];
            let guest = (authorized, ssh::private_openssh(&peer)?, ssh::private_openssh(&host_private)?, host_public);
            self.connections.remember(ns, keys);
            Some(guest)
        } else {
            None
        };
        for m in &spec.machines {
            self.virtual_machines.lock().expect("machines lock").insert((ns.to_owned(), m.name.clone()), m.is_vm());
            let mut machine_labels = labels.clone();
            machine_labels.insert(labels::MACHINE.into(), m.name.clone());
            match &m.image {
                ImageSource::Reference(image) => {
                    let pod = manifests::pod(m, image, &machine_labels, &self.config.image_pull_policy);
                    Api::<Pod>::namespaced(c(), ns).create(&post, &pod).await.map_err(|e| api_error(&format!("create machine {}", m.name), e))?;
                }
                ImageSource::Disk { disk } => {
                    let (authorized, peer_private, host_private, host_public) = guest_keys.as_ref().expect("keys are made when a machine is virtual");
                    let user_data = manifests::cloud_init(m, &manifests::GuestKeys { authorized, peer_private, host_private, host_public });
                    Api::<Secret>::namespaced(c(), ns)
                        .create(&post, &manifests::cloud_init_secret(m, &user_data, labels))
                        .await
                        .map_err(|e| api_error(&format!("store the boot data of {}", m.name), e))?;
                    let vm = manifests::virtual_machine(m, disk, &machine_labels, &self.config.vm_run_strategy, &self.config.vm_storage);
                    Api::<DynamicObject>::namespaced_with(c(), ns, &kubevirt("VirtualMachine", "virtualmachines"))
                        .create(&post, &vm)
                        .await
                        .map_err(|e| api_error(&format!("create virtual machine {}", m.name), e))?;
                }
                ImageSource::Dockerfile { .. } => {
                    return Err(RuntimeError::Invalid(format!("machine {} is built from a Dockerfile, which this cluster cannot build: give it an image", m.name)));
                }
            }
            Api::<Service>::namespaced(c(), ns).create(&post, &manifests::service(m, labels)).await.map_err(|e| api_error(&format!("create the name of {}", m.name), e))?;
        }
        Ok(())
    }

    /// A container machine of the session in namespace `ns`.
    fn pod(&self, ns: &str, machine: &str) -> exec::PodMachine {
        exec::PodMachine { pods: Api::namespaced(self.client.clone(), ns), name: machine.to_owned() }
    }

    /// A virtual machine of the session in namespace `ns`.
    fn vm(&self, ns: &str, machine: &str) -> ssh::VmMachine {
        ssh::VmMachine { client: self.client.clone(), namespace: ns.to_owned(), name: machine.to_owned(), connections: self.connections.clone() }
    }

    /// How `machine` of `session` is reached: a virtual machine if the
    /// session has one of that name, else a pod. Asked of the API server
    /// only when this server did not make the session (a restart).
    async fn machine(&self, session: &str, machine: &str) -> Result<Machine, RuntimeError> {
        check_name("machine", machine)?;
        let ns = self.namespace(session)?;
        let key = (ns.clone(), machine.to_owned());
        let known = self.virtual_machines.lock().expect("machines lock").get(&key).copied();
        let is_vm = match known {
            Some(is_vm) => is_vm,
            None => {
                let vms = Api::<DynamicObject>::namespaced_with(self.client.clone(), &ns, &kubevirt("VirtualMachine", "virtualmachines"));
                let is_vm = vms.get_opt(machine).await.map_err(|e| api_error("look up the machine", e))?.is_some();
                self.virtual_machines.lock().expect("machines lock").insert(key, is_vm);
                is_vm
            }
        };
        Ok(if is_vm { Machine::Vm(self.vm(&ns, machine)) } else { Machine::Pod(self.pod(&ns, machine)) })
    }
}

/// A machine of a session, as commands reach it.
enum Machine {
    Pod(exec::PodMachine),
    Vm(ssh::VmMachine),
}

impl Machine {
    async fn exec(&self, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        match self {
            Machine::Pod(pod) => pod.exec(cmd).await,
            Machine::Vm(vm) => vm.exec(cmd).await,
        }
    }

    async fn terminal(&self, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        match self {
            Machine::Pod(pod) => pod.terminal(size).await,
            Machine::Vm(vm) => vm.terminal(size).await,
        }
    }
}

#[async_trait]
impl RunsCommands for Machine {
    async fn run(&self, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        self.exec(cmd).await
    }
}

#[async_trait]
impl Runtime for KubeRuntime {
    fn supports(&self, image: &ImageSource) -> bool {
        !matches!(image, ImageSource::Dockerfile { .. })
    }

    #[tracing::instrument(skip_all, fields(session = %spec.session, lab = %spec.lab))]
    async fn create(&self, spec: &EnvironmentSpec) -> Result<(), RuntimeError> {
        let ns = self.namespace(&spec.session)?;
        if spec.machines.is_empty() {
            return Err(RuntimeError::Invalid("an environment needs at least one machine".into()));
        }
        for m in &spec.machines {
            check_name("machine", &m.name)?;
        }
        let labels = self.session_labels(spec);
        // A namespace that exists already (409) is not this attempt's to
        // remove: it may be a live session's, made by another replica.
        self.create_namespace(&ns, spec, &labels).await?;
        let made = match self.create_objects(&ns, spec, &labels).await {
            Ok(()) => ready::all_ready(self, &ns, spec, self.ready_timeout()).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &made {
            tracing::warn!(namespace = %ns, error = %e, "the session's environment failed; removing it");
            self.destroy(&spec.session).await.ok();
        }
        made
    }

    async fn exec(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        self.machine(session, &cmd.machine).await?.exec(cmd).await
    }

    async fn read_file(&self, session: &str, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError> {
        via_exec::read_file(&self.machine(session, machine).await?, machine, path, max_bytes).await
    }

    async fn write_file(&self, session: &str, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError> {
        via_exec::write_file(&self.machine(session, machine).await?, machine, path, data, mode).await
    }

    async fn destroy(&self, session: &str) -> Result<(), RuntimeError> {
        let ns = self.namespace(session)?;
        self.connections.forget(&ns);
        self.virtual_machines.lock().expect("machines lock").retain(|(n, _), _| *n != ns);
        match Api::<Namespace>::all(self.client.clone()).delete(&ns, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error("delete the session's namespace", e)),
        }
    }

    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError> {
        let selector = format!("{}=true,{}={}", labels::MANAGED, labels::INSTANCE, self.instance);
        let list = Api::<Namespace>::all(self.client.clone())
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| api_error("list the sessions' namespaces", e))?;
        Ok(list
            .items
            .into_iter()
            // A namespace being deleted is a session already gone.
            .filter(|ns| ns.metadata.deletion_timestamp.is_none())
            .filter_map(|ns| {
                let labels = ns.metadata.labels.unwrap_or_default();
                let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
                let machines = ns.metadata.annotations.unwrap_or_default().get(MACHINES_ANNOTATION).cloned().unwrap_or_default();
                let session = label(labels::SESSION);
                (!session.is_empty()).then(|| OwnedEnvironment {
                    lab: label(labels::LAB),
                    owner: label(labels::OWNER),
                    machines: machines.split(',').filter(|m| !m.is_empty()).map(str::to_owned).collect(),
                    session,
                })
            })
            .collect())
    }

    async fn open_terminal(&self, session: &str, machine: &str, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        self.machine(session, machine).await?.terminal(size).await
    }

    async fn build_image(&self, _session: &str, _req: &BuildRequest) -> Result<BuildReport, RuntimeError> {
        Err(unsupported("building images"))
    }

    async fn run_image(&self, _session: &str, _req: &RunRequest) -> Result<Container, RuntimeError> {
        Err(unsupported("running built images"))
    }

    async fn http_get(&self, _session: &str, _req: &HttpRequest) -> Result<HttpResponse, RuntimeError> {
        Err(unsupported("probing started containers"))
    }

    async fn stop_container(&self, _session: &str, _handle: &str) -> Result<(), RuntimeError> {
        Err(unsupported("stopping started containers"))
    }

    async fn archive_dir(&self, session: &str, machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
        via_exec::archive_dir(&self.machine(session, machine).await?, machine, path, max_bytes).await
    }

    async fn restore_dir(&self, session: &str, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
        via_exec::restore_dir(&self.machine(session, machine).await?, machine, path, tar).await
    }
}

/// What a cluster without an image builder cannot do.
fn unsupported(what: &str) -> RuntimeError {
    RuntimeError::Unsupported(format!("{what} needs an image builder in the cluster, and none is configured"))
}
