//! The objects a session is made of on a cluster, built from its spec:
//! the namespace, its network policy, quota and limit range, a pod or a
//! KubeVirt virtual machine per machine, a headless service per machine
//! (so machines find each other by name), and the secret holding the
//! session's SSH key for its virtual machines.
//!
//! Each is written as the JSON the API server takes and read into its
//! typed form, so a mistake fails the unit tests rather than a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    core::v1::{LimitRange, Namespace, Pod, ResourceQuota, Secret, Service},
    networking::v1::NetworkPolicy,
};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::runtime::{Egress, EnvironmentSpec, KEPT_CAPABILITIES, MachineSpec, Resources};

/// The container a machine's pod runs; commands and terminals go into it.
pub const MACHINE_CONTAINER: &str = "machine";
/// The secret with the session's SSH keys (for virtual machines).
pub const SSH_SECRET: &str = "proctor-ssh";
/// Its entry with the private key the server logs in with.
pub const SSH_KEY_ENTRY: &str = "id_ed25519";
/// Its entry with the public host key the machines were given.
pub const HOST_KEY_ENTRY: &str = "host_ed25519.pub";
/// The user the session's SSH key logs in as on virtual machines.
pub const VM_USER: &str = "root";
/// What a KubeVirt virtual machine's launcher pod costs beyond the guest's
/// memory: the quota must leave room for it.
const VM_OVERHEAD_BYTES: u64 = 256 << 20;
/// Quota headroom for the pods KubeVirt adds (launchers) and short helpers.
const EXTRA_PODS: usize = 2;

fn typed<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("the {what} manifest does not match its type: {e}"))
}

/// Memory in the API's quantity form.
fn bytes(n: u64) -> String {
    if n.is_multiple_of(1 << 20) { format!("{}Mi", n >> 20) } else { n.to_string() }
}

/// CPUs in the API's quantity form (millicores).
fn cpus(n: f64) -> String {
    format!("{}m", (n * 1000.0).round().max(1.0) as u64)
}

/// The session's namespace, labelled as this server's.
pub fn namespace(name: &str, labels: &BTreeMap<String, String>) -> Namespace {
    typed("namespace", json!({ "metadata": { "name": name, "labels": labels } }))
}

/// No traffic from other namespaces; out, only DNS, the session's own
/// machines and what the lab declares.
pub fn network_policy(egress: &[Egress]) -> NetworkPolicy {
    let mut rules = vec![
        json!({ "to": [{ "podSelector": {} }] }),
        json!({
            "to": [{ "namespaceSelector": {}, "podSelector": { "matchLabels": { "k8s-app": "kube-dns" } } }],
            "ports": [{ "protocol": "UDP", "port": 53 }, { "protocol": "TCP", "port": 53 }],
        }),
    ];
    for e in egress {
        let mut rule = json!({ "to": [{ "ipBlock": { "cidr": e.cidr } }] });
        if let Some(port) = e.port {
            rule["ports"] = json!([{ "protocol": "TCP", "port": port }]);
        }
        rules.push(rule);
    }
    typed(
        "network policy",
        json!({
            "metadata": { "name": "proctor-isolation" },
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{ "from": [{ "podSelector": {} }] }],
                "egress": rules,
            },
        }),
    )
}

/// What one machine weighs, with a virtual machine's launcher overhead.
fn weight(m: &MachineSpec) -> (u64, f64) {
    let overhead = if m.is_vm() { VM_OVERHEAD_BYTES } else { 0 };
    (m.resources.memory_bytes + overhead, m.resources.cpus)
}

/// The session's total: its machines' limits, and a few pods more.
pub fn resource_quota(spec: &EnvironmentSpec) -> ResourceQuota {
    let memory: u64 = spec.machines.iter().map(|m| weight(m).0).sum();
    let cpu: f64 = spec.machines.iter().map(|m| weight(m).1).sum();
    let hard = json!({
        "pods": (spec.machines.len() + EXTRA_PODS).to_string(),
        // At most a root volume per virtual machine (`VmStorage::Volume`).
        "persistentvolumeclaims": spec.machines.iter().filter(|m| m.is_vm()).count().to_string(),
        "limits.memory": bytes(memory),
        "limits.cpu": cpus(cpu),
        "requests.memory": bytes(memory),
        "requests.cpu": cpus(cpu),
    });
    typed("resource quota", json!({ "metadata": { "name": "proctor-quota" }, "spec": { "hard": hard } }))
}

/// Limits for containers that name none (KubeVirt's helpers): the quota
/// counts only containers with limits, so each must have some.
pub fn limit_range() -> LimitRange {
    let default = Resources::default();
    typed(
        "limit range",
        json!({
            "metadata": { "name": "proctor-limits" },
            "spec": { "limits": [{
                "type": "Container",
                "default": { "memory": bytes(default.memory_bytes.min(256 << 20)), "cpu": cpus(0.5) },
                "defaultRequest": { "memory": bytes(64 << 20), "cpu": cpus(0.05) },
            }] },
        }),
    )
}

/// A container machine: the image idling until commands are exec'd into
/// it, with the Docker runtime's confinement (no privilege escalation, all
/// capabilities dropped but a few, no service account token).
pub fn pod(machine: &MachineSpec, image: &str, labels: &BTreeMap<String, String>, pull_policy: &str) -> Pod {
    let limits = json!({ "memory": bytes(machine.resources.memory_bytes), "cpu": cpus(machine.resources.cpus) });
    typed(
        "pod",
        json!({
            "metadata": { "name": machine.name, "labels": labels },
            "spec": {
                "hostname": machine.name,
                "automountServiceAccountToken": false,
                "enableServiceLinks": false,
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": MACHINE_CONTAINER,
                    "image": image,
                    "imagePullPolicy": pull_policy,
                    "command": ["sleep", "infinity"],
                    "workingDir": machine.workdir,
                    "resources": { "limits": limits, "requests": limits },
                    "securityContext": {
                        "allowPrivilegeEscalation": false,
                        "capabilities": { "drop": ["ALL"], "add": KEPT_CAPABILITIES },
                    },
                }],
            },
        }),
    )
}

/// The keys cloud-init installs on a virtual machine, in OpenSSH form.
pub struct GuestKeys<'a> {
    /// Authorized to log in as [`VM_USER`]: the server's login key and the
    /// session's peer key.
    pub authorized: &'a [String],
    /// The private half of the peer key, with which the session's machines
    /// reach each other (`ssh worker`), as a learner expects.
    pub peer_private: &'a str,
    /// The machines' host key, private half.
    pub host_private: &'a str,
    /// Its public half.
    pub host_public: &'a str,
}

/// The cloud-init user data of a virtual machine: its host name; the
/// server's and the session's peer key authorized for root; the peer key
/// as root's own, so `ssh <machine>` works between the session's machines;
/// and the host key the server expects (the image's own host keys are
/// deleted, none generated), trusted by the machines for each other too.
///
/// Written as JSON, which is YAML: no indentation or quoting to get wrong.
pub fn cloud_init(machine: &MachineSpec, keys: &GuestKeys<'_>) -> String {
    let host_public = keys.host_public.trim();
    let config = json!({
        "hostname": machine.name,
        "fqdn": machine.name,
        "disable_root": false,
        "ssh_pwauth": false,
        "users": [{ "name": VM_USER, "lock_passwd": true, "ssh_authorized_keys": keys.authorized.iter().map(|k| k.trim()).collect::<Vec<_>>() }],
        "ssh_deletekeys": true,
        "ssh_genkeytypes": [],
        "ssh_keys": { "ed25519_private": keys.host_private, "ed25519_public": host_public },
        "write_files": [
            { "path": "/root/.ssh/id_ed25519", "owner": "root:root", "permissions": "0600", "content": keys.peer_private },
            { "path": "/etc/ssh/ssh_known_hosts", "permissions": "0644", "content": format!("* {host_public}\n") },
        ],
    });
    format!("#cloud-config\n{}\n", serde_json::to_string_pretty(&config).expect("a cloud-config serializes"))
}

/// The name of a machine's cloud-init secret.
pub fn cloud_init_secret_name(machine: &str) -> String {
    format!("{machine}-cloud-init")
}

/// A machine's cloud-init user data, kept in a secret: it holds the host's
/// private key, which an object's spec would show to anyone who can read
/// virtual machines.
pub fn cloud_init_secret(machine: &MachineSpec, user_data: &str, labels: &BTreeMap<String, String>) -> Secret {
    typed(
        "secret",
        json!({
            "metadata": { "name": cloud_init_secret_name(&machine.name), "labels": labels },
            "type": "Opaque",
            "stringData": { "userdata": user_data },
        }),
    )
}

/// Where virtual machines' root disks live (`[kubernetes.vm_storage]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum VmStorage {
    /// The lab's disk image itself, on the node: quick to start, nothing
    /// to clean up, gone when the machine stops.
    #[default]
    Container,
    /// A volume per machine that KubeVirt's importer (CDI) fills from the
    /// disk image: survives the machine's reboots, sized and placed by the
    /// cluster's storage.
    Volume {
        /// The storage class (the cluster's default when absent).
        storage_class: Option<String>,
        /// The volume's size, e.g. `20Gi`.
        size: String,
    },
}

/// The name of a machine's root volume (`VmStorage::Volume`).
pub fn root_volume_name(machine: &str) -> String {
    format!("{machine}-root")
}

/// A virtual machine booting `disk` (a containerDisk image, or a volume
/// filled from it), with the machine's memory and CPUs, running as
/// `run_strategy` says while the session lasts.
pub fn virtual_machine(machine: &MachineSpec, disk: &str, labels: &BTreeMap<String, String>, run_strategy: &str, storage: &VmStorage) -> DynamicObject {
    let cores = machine.resources.cpus.ceil().max(1.0) as u32;
    let root = match storage {
        VmStorage::Container => json!({ "name": "root", "containerDisk": { "image": disk } }),
        VmStorage::Volume { .. } => json!({ "name": "root", "dataVolume": { "name": root_volume_name(&machine.name) } }),
    };
    let mut value = json!({
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": { "name": machine.name, "labels": labels },
        "spec": {
            "runStrategy": run_strategy,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "hostname": machine.name,
                    "domain": {
                        "cpu": { "cores": cores },
                        "memory": { "guest": bytes(machine.resources.memory_bytes) },
                        "resources": { "limits": { "memory": bytes(machine.resources.memory_bytes + VM_OVERHEAD_BYTES), "cpu": cpus(machine.resources.cpus) } },
                        "devices": {
                            "disks": [
                                { "name": "root", "disk": { "bus": "virtio" } },
                                { "name": "cloudinit", "disk": { "bus": "virtio" } },
                            ],
                            "interfaces": [{ "name": "default", "masquerade": {} }],
                        },
                    },
                    "networks": [{ "name": "default", "pod": {} }],
                    "terminationGracePeriodSeconds": 5,
                    "volumes": [
                        root,
                        { "name": "cloudinit", "cloudInitNoCloud": { "secretRef": { "name": cloud_init_secret_name(&machine.name) } } },
                    ],
                },
            },
        },
    });
    if let VmStorage::Volume { storage_class, size } = storage {
        let mut volume = json!({ "resources": { "requests": { "storage": size } } });
        if let Some(class) = storage_class {
            volume["storageClassName"] = json!(class);
        }
        value["spec"]["dataVolumeTemplates"] = json!([{
            "metadata": { "name": root_volume_name(&machine.name), "labels": labels },
            "spec": { "source": { "registry": { "url": format!("docker://{disk}") } }, "storage": volume },
        }]);
    }
    typed("virtual machine", value)
}

/// A headless service per machine, so the others reach it by its name.
pub fn service(machine: &MachineSpec, labels: &BTreeMap<String, String>) -> Service {
    typed(
        "service",
        json!({
            "metadata": { "name": machine.name, "labels": labels },
            "spec": {
                "clusterIP": "None",
                "selector": { crate::runtime::labels::MACHINE: machine.name, crate::runtime::labels::SESSION: labels.get(crate::runtime::labels::SESSION) },
                "publishNotReadyAddresses": true,
            },
        }),
    )
}

/// The session's SSH keys (its login key, its machines' public host key),
/// for reaching its virtual machines after a restart too.
pub fn ssh_secret(private_key: &str, host_public: &str, labels: &BTreeMap<String, String>) -> Secret {
    typed(
        "secret",
        json!({
            "metadata": { "name": SSH_SECRET, "labels": labels },
            "type": "Opaque",
            "stringData": { SSH_KEY_ENTRY: private_key, HOST_KEY_ENTRY: host_public },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ImageSource;

    fn machine(name: &str, image: ImageSource) -> MachineSpec {
        MachineSpec { name: name.into(), image, resources: Resources { memory_bytes: 1 << 30, cpus: 1.5, pids: 256 }, workdir: "/root".into() }
    }

    #[test]
    fn every_manifest_is_well_formed_and_carries_its_limits() {
        let labels = BTreeMap::from([(crate::runtime::labels::SESSION.to_owned(), "s1".to_owned())]);
        let vm = machine("control-plane", ImageSource::Disk { disk: "quay.io/x/node:1".into() });
        let box_ = machine("box", ImageSource::Reference("debian".into()));
        let spec = EnvironmentSpec { session: "s1".into(), lab: "l".into(), owner: "u".into(), machines: vec![vm.clone(), box_.clone()], egress: vec![] };

        let quota = serde_json::to_value(resource_quota(&spec)).unwrap();
        assert_eq!(quota["spec"]["hard"]["limits.memory"], "2304Mi", "two machines and one launcher's overhead");
        assert_eq!((quota["spec"]["hard"]["limits.cpu"].as_str(), quota["spec"]["hard"]["pods"].as_str()), (Some("3000m"), Some("4")));

        let pod = serde_json::to_value(pod(&box_, "debian", &labels, "IfNotPresent")).unwrap();
        let c = &pod["spec"]["containers"][0];
        assert_eq!((c["resources"]["limits"]["memory"].as_str(), c["securityContext"]["allowPrivilegeEscalation"].as_bool()), (Some("1024Mi"), Some(false)));
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false);

        let volume = VmStorage::Volume { storage_class: Some("fast".into()), size: "20Gi".into() };
        let on_volume = serde_json::to_value(virtual_machine(&vm, "quay.io/x/node:1", &labels, "Always", &volume)).unwrap();
        assert_eq!(on_volume["spec"]["template"]["spec"]["volumes"][0], json!({"name": "root", "dataVolume": {"name": "control-plane-root"}}));
        let template = &on_volume["spec"]["dataVolumeTemplates"][0]["spec"];
        assert_eq!((template["source"]["registry"]["url"].as_str(), template["storage"]["storageClassName"].as_str()), (Some("docker://quay.io/x/node:1"), Some("fast")));
        assert_eq!(template["storage"]["resources"]["requests"]["storage"], "20Gi");
        assert_eq!(quota["spec"]["hard"]["persistentvolumeclaims"], "1");
        let vm_object = serde_json::to_value(virtual_machine(&vm, "quay.io/x/node:1", &labels, "Always", &VmStorage::Container)).unwrap();
        assert!(vm_object["spec"].get("dataVolumeTemplates").is_none());
        let domain = &vm_object["spec"]["template"]["spec"]["domain"];
        assert_eq!((domain["cpu"]["cores"].as_u64(), domain["memory"]["guest"].as_str()), (Some(2), Some("1024Mi")));
        assert_eq!(vm_object["spec"]["template"]["spec"]["volumes"][1]["cloudInitNoCloud"]["secretRef"]["name"], "control-plane-cloud-init");
        let host_private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let authorized = ["ssh-ed25519 AAAA login".to_owned(), "ssh-ed25519 CCCC peer\n".to_owned()];
        let keys = GuestKeys { authorized: &authorized, peer_private: "PEER PRIVATE\n", host_private, host_public: "ssh-ed25519 BBBB host\n" };
        let user_data = cloud_init(&vm, &keys);
        assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
        let parsed: Value = serde_yaml::from_str(&user_data).unwrap();
        assert_eq!(parsed["users"][0]["ssh_authorized_keys"], json!(["ssh-ed25519 AAAA login", "ssh-ed25519 CCCC peer"]));
        assert_eq!(parsed["write_files"][0], json!({"path": "/root/.ssh/id_ed25519", "owner": "root:root", "permissions": "0600", "content": "PEER PRIVATE\n"}));
        assert_eq!(parsed["write_files"][1]["content"], "* ssh-ed25519 BBBB host\n");
        assert_eq!((parsed["ssh_keys"]["ed25519_private"].as_str(), parsed["ssh_keys"]["ed25519_public"].as_str()), (Some(host_private), Some("ssh-ed25519 BBBB host")));
        assert_eq!((parsed["ssh_deletekeys"].as_bool(), parsed["hostname"].as_str()), (Some(true), Some("control-plane")));
        let secret = serde_json::to_value(cloud_init_secret(&vm, &user_data, &labels)).unwrap();
        assert_eq!(secret["stringData"]["userdata"], user_data.as_str());

        let policy = serde_json::to_value(network_policy(&[Egress { cidr: "203.0.113.0/24".into(), port: Some(443) }])).unwrap();
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(policy["spec"]["egress"][2], json!({"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]}));
        limit_range();
        service(&box_, &labels);
        ssh_secret("key", "host", &labels);
        namespace("proctor-s1", &labels);
    }
}
