//! The objects the Kubernetes runtime creates for a session, checked
//! against the schemas Kubernetes and KubeVirt publish, since no cluster
//! can run here: the namespace, network policy, resource quota, limit
//! range, pod, service and both secrets against Kubernetes 1.33's strict
//! JSON schemas (an unknown field is an error), and the virtual machine
//! against KubeVirt's `kubevirt.io/v1` VirtualMachine schema, read as
//! strictly (the API server would otherwise drop a misspelt field without
//! a word). Each manifest is built through the runtime's own functions for
//! a realistic session (a container machine, a virtual machine, egress
//! rules, the runtime's labels) and serialized as it is sent. Broken
//! copies of each are refused with the path of the fault, which shows the
//! schemas really apply. Where the schemas come from, and what they cannot
//! check (enumerations the published schemas leave open, CEL rules):
//! `tests/data/schemas/README.md`.

use std::{collections::BTreeMap, path::PathBuf, sync::LazyLock};

use jsonschema::{Registry, Validator};
use proctor::runtime::{
    Egress, EnvironmentSpec, ImageSource, MachineSpec, Resources,
    kube::manifests::{self, GuestKeys},
    labels,
};
use serde_json::{Value, json};

/// The address the Kubernetes kind schemas reach their shared definitions
/// at: their `$ref`s are relative to their `$id`s, under kubernetes.io.
const KUBERNETES_DEFINITIONS: &str = "https://kubernetes.io/api/_definitions.json";
const VIRTUAL_MACHINE: &str = "kubevirt-v1/virtualmachine.json";

fn schema_file(path: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/schemas").join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Makes every object schema that lists its fields refuse any other field,
/// as the API server does with strict field validation, unless the schema
/// keeps unknown fields on purpose. KubeVirt's published schema is a CRD's
/// structural schema, which leaves this to the server; Kubernetes' strict
/// set already says it.
fn refuse_unknown_fields(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    let keeps_unknown = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if object.get("properties").is_some_and(Value::is_object) && !keeps_unknown && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Only where schemas sit: a field that happens to be called "items" or
    // "properties" is a name inside a `properties` map, not a keyword.
    for keyword in ["items", "additionalProperties", "not"] {
        if let Some(sub) = object.get_mut(keyword) {
            refuse_unknown_fields(sub);
        }
    }
    for keyword in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = object.get_mut(keyword) {
            subs.iter_mut().for_each(refuse_unknown_fields);
        }
    }
    if let Some(Value::Object(fields)) = object.get_mut("properties") {
        fields.values_mut().for_each(refuse_unknown_fields);
    }
    if let Some(Value::Object(named)) = object.get_mut("components").and_then(|c| c.get_mut("schemas")) {
        named.values_mut().for_each(refuse_unknown_fields);
    }
}

/// A validator per schema file, built once for all tests.
struct Schemas {
    validators: BTreeMap<&'static str, (Validator, Value)>,
}

static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| {
    let registry = Registry::new()
        .add(KUBERNETES_DEFINITIONS, schema_file("kubernetes-1.33/_definitions.json"))
        .expect("the definitions' address is a URI")
        .prepare()
        .expect("the Kubernetes definitions load");
    let mut validators = BTreeMap::new();
    for file in [
        "kubernetes-1.33/namespace-v1.json",
        "kubernetes-1.33/networkpolicy-networking-v1.json",
        "kubernetes-1.33/resourcequota-v1.json",
        "kubernetes-1.33/limitrange-v1.json",
        "kubernetes-1.33/pod-v1.json",
        "kubernetes-1.33/service-v1.json",
        "kubernetes-1.33/secret-v1.json",
    ] {
        let schema = schema_file(file);
        let validator = jsonschema::options().with_registry(&registry).build(&schema).unwrap_or_else(|e| panic!("{file} compiles: {e}"));
        validators.insert(file, (validator, schema));
    }
    let mut vm = schema_file(VIRTUAL_MACHINE);
    refuse_unknown_fields(&mut vm);
    let validator = jsonschema::options().build(&vm).unwrap_or_else(|e| panic!("{VIRTUAL_MACHINE} compiles: {e}"));
    validators.insert(VIRTUAL_MACHINE, (validator, vm));
    Schemas { validators }
});

impl Schemas {
    /// Every way `manifest` breaks the schema in `file`, each with its JSON
    /// path; a kind other than the one the schema describes is one too.
    fn violations(&self, file: &str, manifest: &Value) -> Vec<String> {
        let (validator, schema) = &self.validators[file];
        let mut found: Vec<String> = validator
            .iter_errors(manifest)
            .map(|e| {
                let path = e.instance_path().as_str();
                format!("at {}: {e}", if path.is_empty() { "/" } else { path })
            })
            .collect();
        let gvk = &schema["x-kubernetes-group-version-kind"][0];
        let api_version = match gvk["group"].as_str() {
            Some("") | None => gvk["version"].as_str().unwrap_or_default().to_owned(),
            Some(group) => format!("{group}/{}", gvk["version"].as_str().unwrap_or_default()),
        };
        if (manifest["apiVersion"].as_str(), manifest["kind"].as_str()) != (Some(&api_version), gvk["kind"].as_str()) {
            found.push(format!("is {} {}, the schema describes {api_version} {}", manifest["apiVersion"], manifest["kind"], gvk["kind"]));
        }
        found
    }
}

/// A manifest as it is sent, named for the messages, with its schema.
struct Manifest {
    what: String,
    schema: &'static str,
    json: Value,
}

fn manifest(what: &str, schema: &'static str, object: impl k8s_openapi::serde::Serialize) -> Manifest {
    Manifest { what: what.into(), schema, json: serde_json::to_value(object).expect("a manifest serializes") }
}

/// Everything a session of a container machine and a virtual machine,
/// with egress to a subnet on one port and to a host on every port, is
/// made of on a cluster, with the runtime's defaults (pull policy
/// `IfNotPresent`, run strategy `Always`).
fn session() -> Vec<Manifest> {
    let vm = MachineSpec {
        name: "control-plane".into(),
        image: ImageSource::Disk { disk: "quay.io/containerdisks/debian:12".into() },
        resources: Resources { memory_bytes: 2 << 30, cpus: 1.5, pids: 512 },
        workdir: "/root".into(),
    };
    let container = MachineSpec {
        name: "web".into(),
        image: ImageSource::Reference("proctor/base:bookworm".into()),
        resources: Resources { memory_bytes: 768 << 20, cpus: 0.5, pids: 256 },
        workdir: "/root/app".into(),
    };
    let spec = EnvironmentSpec {
        session: "3f9c2a7d41".into(),
        lab: "kubernetes-basics".into(),
        owner: "learner-42".into(),
        machines: vec![vm.clone(), container.clone()],
        egress: vec![Egress { cidr: "203.0.113.0/24".into(), port: Some(443) }, Egress { cidr: "198.51.100.7/32".into(), port: None }],
    };
    let session_labels = BTreeMap::from([
        (labels::MANAGED.to_owned(), "true".to_owned()),
        (labels::INSTANCE.to_owned(), "proctor-eu-1".to_owned()),
        (labels::SESSION.to_owned(), spec.session.clone()),
        (labels::LAB.to_owned(), spec.lab.clone()),
        (labels::OWNER.to_owned(), spec.owner.clone()),
    ]);
    let machine_labels = |m: &MachineSpec| {
        let mut l = session_labels.clone();
        l.insert(labels::MACHINE.to_owned(), m.name.clone());
        l
    };

    let mut namespace = manifests::namespace("proctor-3f9c2a7d41", &session_labels);
    // The runtime notes the session's machines on its namespace.
    namespace.metadata.annotations = Some(BTreeMap::from([("dev.proctor.machines".to_owned(), "control-plane,web".to_owned())]));
    let host_private = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBa0n6ZqJ3hS2d5x0w1yVv1k5b1n2m3o4p5q6r7s8t9uAAAAJhZ1n2b\n-----END OPENSSH PRIVATE KEY-----\n";
    let host_public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFrSfpmoneFLZ3nHTDXJW/WTlvWfabejinmrqvuy3324 control-plane";
    let user_data = manifests::cloud_init(&vm, &GuestKeys { authorized: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx proctor", host_private, host_public });

    vec![
        manifest("namespace", "kubernetes-1.33/namespace-v1.json", namespace),
        manifest("network policy", "kubernetes-1.33/networkpolicy-networking-v1.json", manifests::network_policy(&spec.egress)),
        manifest("resource quota", "kubernetes-1.33/resourcequota-v1.json", manifests::resource_quota(&spec)),
        manifest("limit range", "kubernetes-1.33/limitrange-v1.json", manifests::limit_range()),
        manifest("SSH secret", "kubernetes-1.33/secret-v1.json", manifests::ssh_secret(host_private, host_public, &session_labels)),
        manifest("cloud-init secret", "kubernetes-1.33/secret-v1.json", manifests::cloud_init_secret(&vm, &user_data, &session_labels)),
        manifest("virtual machine", VIRTUAL_MACHINE, manifests::virtual_machine(&vm, "quay.io/containerdisks/debian:12", &machine_labels(&vm), "Always")),
        manifest("service of the virtual machine", "kubernetes-1.33/service-v1.json", manifests::service(&vm, &session_labels)),
        manifest("pod", "kubernetes-1.33/pod-v1.json", manifests::pod(&container, "proctor/base:bookworm", &machine_labels(&container), "IfNotPresent")),
        manifest("service of the pod", "kubernetes-1.33/service-v1.json", manifests::service(&container, &session_labels)),
    ]
}

fn find<'a>(manifests: &'a [Manifest], what: &str) -> &'a Manifest {
    manifests.iter().find(|m| m.what == what).unwrap_or_else(|| panic!("the session has a {what}"))
}

#[test]
fn every_generated_manifest_matches_the_published_schemas() {
    let manifests = session();
    let mut report = Vec::new();
    for m in &manifests {
        for violation in SCHEMAS.violations(m.schema, &m.json) {
            report.push(format!("the {} ({}) {violation}", m.what, m.schema));
        }
    }
    assert!(report.is_empty(), "manifests that a cluster would refuse or alter:\n{}", report.join("\n"));
    // Each kind the runtime creates was looked at, not skipped.
    let checked: std::collections::BTreeSet<_> = manifests.iter().map(|m| m.schema).collect();
    assert_eq!(checked.len(), SCHEMAS.validators.len(), "a schema no manifest was checked against");
}

#[test]
fn a_broken_copy_of_each_manifest_is_refused_at_the_broken_field() {
    let manifests = session();
    type Break = fn(&mut Value);
    let cases: &[(&str, &str, Break, &str)] = &[
        ("namespace", "a kind of another name", |m| m["kind"] = json!("Namespaces"), "/kind"),
        ("network policy", "policy types as one string", |m| m["spec"]["policyTypes"] = json!("Ingress"), "/spec/policyTypes"),
        ("network policy", "a port as a list", |m| m["spec"]["egress"][2]["ports"][0]["port"] = json!([443]), "/spec/egress/2/ports/0/port"),
        ("resource quota", "a quantity as a boolean", |m| m["spec"]["hard"]["limits.memory"] = json!(true), "/spec/hard/limits.memory"),
        ("limit range", "an unknown field", |m| m["spec"]["limits"][0]["defaults"] = json!({}), "/spec/limits/0"),
        ("SSH secret", "a value as a number", |m| m["stringData"]["id_ed25519"] = json!(1), "/stringData/id_ed25519"),
        ("pod", "containers as an object", |m| m["spec"]["containers"] = m["spec"]["containers"][0].clone(), "/spec/containers"),
        (
            "pod",
            "a misspelt security setting",
            |m| m["spec"]["containers"][0]["securityContext"]["allowPrivilegedEscalation"] = json!(false),
            "/spec/containers/0/securityContext",
        ),
        ("service of the pod", "a cluster IP as a boolean", |m| m["spec"]["clusterIP"] = json!(false), "/spec/clusterIP"),
        ("virtual machine", "a run strategy as a number", |m| m["spec"]["runStrategy"] = json!(1), "/spec/runStrategy"),
        ("virtual machine", "a misspelt domain field", |m| m["spec"]["template"]["spec"]["domain"]["cpus"] = json!({ "cores": 2 }), "/spec/template/spec/domain"),
        (
            "virtual machine",
            "a memory size that is no quantity",
            |m| m["spec"]["template"]["spec"]["domain"]["memory"]["guest"] = json!("2 GiB"),
            "/spec/template/spec/domain/memory/guest",
        ),
        (
            "virtual machine",
            "a domain without devices",
            |m| {
                m["spec"]["template"]["spec"]["domain"].as_object_mut().expect("the domain is an object").remove("devices");
            },
            "/spec/template/spec/domain",
        ),
        (
            "virtual machine",
            "a volume without a name",
            |m| {
                m["spec"]["template"]["spec"]["volumes"][0].as_object_mut().expect("a volume is an object").remove("name");
            },
            "/spec/template/spec/volumes/0",
        ),
    ];
    for (what, fault, break_it, path) in cases {
        let original = find(&manifests, what);
        let mut broken = original.json.clone();
        break_it(&mut broken);
        assert_ne!(broken, original.json, "breaking the {what} with {fault} changed nothing");
        let violations = SCHEMAS.violations(original.schema, &broken);
        let at = format!("at {path}: ");
        assert!(
            violations.iter().any(|v| v.starts_with(&at)),
            "the {what} with {fault} should be refused at {path}; the schema said:\n{}",
            if violations.is_empty() { "nothing".to_owned() } else { violations.join("\n") },
        );
    }
}
