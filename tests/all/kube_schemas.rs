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
//!
//! The deployment manifests shipped in `docs/kubernetes/` are checked the
//! same way, each document against the schema of its apiVersion and kind,
//! and against each other and the server where no schema can tell: the
//! configuration they mount is one the server reads, the service account
//! the server runs as is the one the RBAC binds and the admission policy
//! names, and that policy's namespace prefix is the server's.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::LazyLock,
};

use jsonschema::{Registry, Validator};
use k8s_openapi::serde::Deserialize;
use proctor::{
    config::{Config, RuntimeChoice},
    runtime::{
        Egress, EnvironmentSpec, ImageSource, MachineSpec, Resources,
        kube::{
            KubernetesConfig,
            manifests::{self, GuestKeys, VmStorage},
        },
        labels,
    },
};
use serde_json::{Value, json};

/// The address the Kubernetes kind schemas reach their shared definitions
/// at: their `$ref`s are relative to their `$id`s, under kubernetes.io.
const KUBERNETES_DEFINITIONS: &str = "https://kubernetes.io/api/_definitions.json";
const VIRTUAL_MACHINE: &str = "kubevirt-v1/virtualmachine.json";
/// The Kubernetes kinds the runtime creates for a session.
const SESSION_KINDS: &[&str] = &[
    "kubernetes-1.33/namespace-v1.json",
    "kubernetes-1.33/networkpolicy-networking-v1.json",
    "kubernetes-1.33/resourcequota-v1.json",
    "kubernetes-1.33/limitrange-v1.json",
    "kubernetes-1.33/pod-v1.json",
    "kubernetes-1.33/service-v1.json",
    "kubernetes-1.33/secret-v1.json",
];
/// The kinds the deployment manifests in `docs/kubernetes/` add to those.
const DEPLOYMENT_KINDS: &[&str] = &[
    "kubernetes-1.33/serviceaccount-v1.json",
    "kubernetes-1.33/clusterrole-rbac-v1.json",
    "kubernetes-1.33/clusterrolebinding-rbac-v1.json",
    "kubernetes-1.33/validatingadmissionpolicy-admissionregistration-v1.json",
    "kubernetes-1.33/validatingadmissionpolicybinding-admissionregistration-v1.json",
    "kubernetes-1.33/statefulset-apps-v1.json",
    "kubernetes-1.33/configmap-v1.json",
    "kubernetes-1.33/deployment-apps-v1.json",
];

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
    for &file in SESSION_KINDS.iter().chain(DEPLOYMENT_KINDS) {
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

/// The apiVersion and kind a schema describes, as a manifest names them.
fn api_version_and_kind(schema: &Value) -> (String, String) {
    let gvk = &schema["x-kubernetes-group-version-kind"][0];
    let version = gvk["version"].as_str().unwrap_or_default();
    let api_version = match gvk["group"].as_str() {
        Some("") | None => version.to_owned(),
        Some(group) => format!("{group}/{version}"),
    };
    (api_version, gvk["kind"].as_str().unwrap_or_default().to_owned())
}

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
        let (api_version, kind) = api_version_and_kind(schema);
        if (manifest["apiVersion"].as_str(), manifest["kind"].as_str()) != (Some(&*api_version), Some(&*kind)) {
            found.push(format!("is {} {}, the schema describes {api_version} {kind}", manifest["apiVersion"], manifest["kind"]));
        }
        found
    }

    /// The schema `manifest`'s apiVersion and kind select, and every way
    /// `manifest` breaks it. Without a schema for them that is the one
    /// fault, so an object of an unknown kind or version is refused, not
    /// passed unchecked.
    fn check(&self, manifest: &Value) -> (Option<&'static str>, Vec<String>) {
        let wanted = (manifest["apiVersion"].as_str(), manifest["kind"].as_str());
        let schema = self.validators.iter().find(|(_, (_, schema))| {
            let (api_version, kind) = api_version_and_kind(schema);
            wanted == (Some(&*api_version), Some(&*kind))
        });
        match schema {
            Some((&file, _)) => (Some(file), self.violations(file, manifest)),
            None => (None, vec![format!("has no schema here for {} {}", manifest["apiVersion"], manifest["kind"])]),
        }
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
    let authorized = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx proctor".to_owned()];
    let user_data = manifests::cloud_init(&vm, &GuestKeys { authorized: &authorized, peer_private: host_private, host_private, host_public });

    vec![
        manifest("namespace", "kubernetes-1.33/namespace-v1.json", namespace),
        manifest("network policy", "kubernetes-1.33/networkpolicy-networking-v1.json", manifests::network_policy(&spec.egress)),
        manifest("resource quota", "kubernetes-1.33/resourcequota-v1.json", manifests::resource_quota(&spec)),
        manifest("limit range", "kubernetes-1.33/limitrange-v1.json", manifests::limit_range()),
        manifest("SSH secret", "kubernetes-1.33/secret-v1.json", manifests::ssh_secret(host_private, host_public, &session_labels)),
        manifest("cloud-init secret", "kubernetes-1.33/secret-v1.json", manifests::cloud_init_secret(&vm, &user_data, &session_labels)),
        manifest("virtual machine", VIRTUAL_MACHINE, manifests::virtual_machine(&vm, "quay.io/containerdisks/debian:12", &machine_labels(&vm), "Always", &VmStorage::Container)),
        manifest(
            "virtual machine on a volume",
            VIRTUAL_MACHINE,
            manifests::virtual_machine(&vm, "quay.io/containerdisks/debian:12", &machine_labels(&vm), "Always", &VmStorage::Volume { storage_class: Some("fast".into()), size: "20Gi".into() }),
        ),
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
    let checked: BTreeSet<_> = manifests.iter().map(|m| m.schema).collect();
    let expected: BTreeSet<_> = SESSION_KINDS.iter().copied().chain([VIRTUAL_MACHINE]).collect();
    assert_eq!(checked, expected, "the kinds of a session's manifests");
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

/// The documents of a multi-document YAML file in `docs/kubernetes/`, each
/// as the JSON the API server is sent.
fn shipped_manifests(file: &str) -> Vec<Value> {
    let path = proctor_tests::workspace().join("docs/kubernetes").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap_or_else(|e| panic!("parse {file}: {e}")))
        // A stray `---` makes an empty document, which kubectl skips too.
        .filter(|document| !document.is_null())
        .collect()
}

/// How the messages name a document: its kind and name.
fn kind_and_name(document: &Value) -> String {
    format!("{} {}", document["kind"].as_str().unwrap_or("(no kind)"), document["metadata"]["name"].as_str().unwrap_or("(no name)"))
}

/// The one document of `kind` among `documents`.
fn only<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    let mut of_kind = documents.iter().filter(|d| d["kind"] == kind);
    match (of_kind.next(), of_kind.next()) {
        (Some(document), None) => document,
        _ => panic!("expected one {kind} among the shipped manifests"),
    }
}

/// A field a cross-check needs, as a string.
fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value.as_str().unwrap_or_else(|| panic!("{what} is a string, not {value}"))
}

#[test]
fn the_shipped_deployment_manifests_match_the_published_schemas() {
    let rbac = shipped_manifests("rbac.yaml");
    let proctor = shipped_manifests("proctor.yaml");

    // Every document of both files, each against its schema; a count of
    // them shows none was lost in the splitting.
    let mut report = Vec::new();
    let mut used = BTreeSet::new();
    for (file, documents, expected) in [("rbac.yaml", &rbac, 5), ("proctor.yaml", &proctor, 6)] {
        let mut validated = 0;
        for document in documents {
            let (schema, violations) = SCHEMAS.check(document);
            if let Some(schema) = schema {
                used.insert(schema);
                validated += 1;
            }
            report.extend(violations.into_iter().map(|v| format!("{file}: the {} {v}", kind_and_name(document))));
        }
        let names: Vec<_> = documents.iter().map(kind_and_name).collect();
        assert_eq!(documents.len(), expected, "the documents of {file}: {names:?}");
        assert_eq!(validated, expected, "documents of {file} validated against a schema, of {names:?}");
    }
    assert!(report.is_empty(), "shipped manifests that a cluster would refuse or alter:\n{}", report.join("\n"));
    // No schema is kept for a kind the manifests no longer use.
    for kind in DEPLOYMENT_KINDS {
        assert!(used.contains(kind), "no shipped manifest is a {kind}");
    }
    // A kind or version without a schema here fails rather than passing
    // unchecked: the admission policy at its beta version, say.
    let mut beta_policy = only(&rbac, "ValidatingAdmissionPolicy").clone();
    beta_policy["apiVersion"] = json!("admissionregistration.k8s.io/v1beta1");
    let (schema, violations) = SCHEMAS.check(&beta_policy);
    assert!(schema.is_none() && !violations.is_empty(), "a v1beta1 admission policy was checked against {schema:?}");

    // The server reads the configuration the ConfigMap holds: its file is
    // where the Deployment mounts the ConfigMap and points PROCTOR_CONFIG.
    let config_map = only(&proctor, "ConfigMap");
    let deployment = only(&proctor, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let server = &pod["containers"][0];
    let volume = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["configMap"]["name"] == config_map["metadata"]["name"])
        .expect("the Deployment mounts the ConfigMap");
    let mount = server["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == volume["name"])
        .expect("the server's container mounts the ConfigMap's volume");
    let config_file = server["env"].as_array().into_iter().flatten().find(|e| e["name"] == "PROCTOR_CONFIG").map(|e| &e["value"]);
    assert_eq!(config_file, Some(&json!(format!("{}/proctor.toml", text(&mount["mountPath"], "the mount path")))), "where the server reads its configuration");

    // Read as the server reads it at start-up, with its checks.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("proctor.toml");
    std::fs::write(&path, text(&config_map["data"]["proctor.toml"], "the ConfigMap's proctor.toml")).expect("write proctor.toml");
    let config = Config::load(Some(&path)).unwrap_or_else(|e| panic!("the ConfigMap's proctor.toml: {e}"));
    assert_eq!(config.runtime, RuntimeChoice::Kubernetes, "the runtime the ConfigMap chooses");

    // The server runs as the service account the RBAC binds, in its namespace.
    let account = only(&rbac, "ServiceAccount");
    let account_name = text(&account["metadata"]["name"], "the service account's name");
    let namespace = text(&account["metadata"]["namespace"], "the service account's namespace");
    assert_eq!(pod["serviceAccountName"], account_name, "the Deployment's service account");
    assert_eq!(deployment["metadata"]["namespace"], namespace, "the Deployment's namespace");
    let role = only(&rbac, "ClusterRole");
    let binding = only(&rbac, "ClusterRoleBinding");
    assert_eq!((&binding["roleRef"]["kind"], &binding["roleRef"]["name"]), (&json!("ClusterRole"), &role["metadata"]["name"]), "the role the binding grants");
    let subjects = binding["subjects"].as_array().into_iter().flatten();
    assert!(
        subjects.clone().any(|s| s["kind"] == "ServiceAccount" && s["name"] == account_name && s["namespace"] == namespace),
        "the ClusterRoleBinding grants the role to {:?}, not to the Deployment's service account {namespace}/{account_name}",
        subjects.collect::<Vec<_>>(),
    );

    // The admission policy is bound, refuses what it rejects, and applies
    // to that service account.
    let policy = only(&rbac, "ValidatingAdmissionPolicy");
    let policy_binding = only(&rbac, "ValidatingAdmissionPolicyBinding");
    assert_eq!(policy_binding["spec"]["policyName"], policy["metadata"]["name"], "the policy the binding applies");
    assert!(policy_binding["spec"]["validationActions"].as_array().into_iter().flatten().any(|a| a == "Deny"), "the policy binding only warns or audits");
    let username = format!("'system:serviceaccount:{namespace}:{account_name}'");
    let mut conditions = policy["spec"]["matchConditions"].as_array().into_iter().flatten();
    assert!(conditions.any(|c| text(&c["expression"], "a match condition").contains(&username)), "the admission policy's conditions name no {username}");

    // Its namespace prefix is the one the server's sessions get, both as
    // configured here and by default.
    let prefixes: BTreeSet<&str> = policy["spec"]["validations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| text(&v["expression"], "a validation").split("startsWith('").skip(1))
        .map(|rest| rest.split('\'').next().unwrap_or_default())
        .collect();
    assert_eq!(prefixes, BTreeSet::from([&*config.kubernetes.namespace_prefix]), "the admission policy's namespace prefixes and the ConfigMap's");
    assert_eq!(config.kubernetes.namespace_prefix, KubernetesConfig::default().namespace_prefix, "the ConfigMap's namespace prefix and the server's default");
}
