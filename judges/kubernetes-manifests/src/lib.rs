//! Judge and hint provider for the `kubernetes-manifests` lab. The judge
//! reads the learner's YAML and checks it the way a reviewer would:
//! structure, names and labels, the selector against the pod template,
//! replicas, ports, resources and probes, and the Service's selector and
//! target port against the Deployment. Each mistake is its own check with
//! its own message; the rules are plain functions tested natively below.

mod manifest;

use manifest::{Manifest, port_matches};
use proctor_sdk::{Error, Hint, HintProvider, Judge, Task, Verdict, export};

const DEPLOYMENT: &str = "/workspace/manifests/deployment.yaml";
const SERVICE: &str = "/workspace/manifests/service.yaml";

struct Manifests;

impl Judge for Manifests {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let read = |path: &str| task.machine().read_optional(path);
        match task.id() {
            "deployment" => Ok(grade_deployment(read(DEPLOYMENT)?.as_deref())),
            "service" => Ok(grade_service(read(SERVICE)?.as_deref(), read(DEPLOYMENT)?.as_deref())),
            other => Ok(Verdict::not_gradable(format!("the kubernetes-manifests judge has no task `{other}`"))),
        }
    }
}

/// Parses `text` as one manifest of `kind`, failing `v` with why not.
fn load(v: &mut Verdict, file: &str, text: Option<&str>, api_version: &str, kind: &str) -> Option<Manifest> {
    let Some(text) = text else {
        v.fail("file_missing", format!("{file} does not exist")).hint(format!("Create {file} in the editor."));
        return None;
    };
    let manifest = match Manifest::parse(text) {
        Ok(m) => m,
        Err(why) => {
            v.fail("yaml_invalid", format!("{file} is not valid YAML: {why}")).hint("YAML nests by indentation: use spaces, never tabs, and keep siblings aligned.");
            return None;
        }
    };
    let (found_api, found_kind) = (manifest.str(&["apiVersion"]).unwrap_or("(none)"), manifest.str(&["kind"]).unwrap_or("(none)"));
    let right = found_api == api_version && found_kind == kind;
    v.check("kind", right, format!("{file} is a {found_kind} of {found_api}"))
        .hint(format!("Start with `apiVersion: {api_version}` and `kind: {kind}`."));
    right.then_some(manifest)
}

/// Grades the Deployment's YAML (`None`: no file).
pub fn grade_deployment(text: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(d) = load(&mut v, "deployment.yaml", text, "apps/v1", "Deployment") else { return v };

    let name = d.str(&["metadata", "name"]);
    v.check("name", name == Some("web"), format!("the Deployment is named {name:?}")).hint("Set `metadata.name: web`.");

    let replicas = d.int(&["spec", "replicas"]);
    let message = match replicas {
        Some(n) => format!("it asks for {n} replica{}", if n == 1 { "" } else { "s" }),
        None => "it sets no replicas, so Kubernetes runs 1".to_owned(),
    };
    v.check("replicas", replicas == Some(3), message).hint("Set `spec.replicas: 3`.");

    let pod_labels = d.labels(&["spec", "template", "metadata", "labels"]);
    v.check("pod_labels", pod_labels.get("app").map(String::as_str) == Some("web"), format!("the pods are labelled {}", show(&pod_labels)))
        .hint("Label the pod template: `spec.template.metadata.labels: {app: web}`.");
    let selector = d.labels(&["spec", "selector", "matchLabels"]);
    let (selects, message) = match unmatched(&selector, &pod_labels) {
        _ if selector.is_empty() => (false, "the Deployment has no selector.matchLabels".to_owned()),
        None => (true, format!("the selector {} matches the pod template", show(&selector))),
        Some(missing) => (false, format!("the selector asks for {missing} but the pod template is labelled {}: the Deployment would own no pods", show(&pod_labels))),
    };
    v.check("selector", selects, message).hint("`spec.selector.matchLabels` must repeat the pod template's labels exactly.");

    let containers = d.list(&["spec", "template", "spec", "containers"]);
    let Some(c) = containers.iter().find(|c| c.str(&["name"]) == Some("web")) else {
        let names: Vec<&str> = containers.iter().filter_map(|c| c.str(&["name"])).collect();
        v.fail("container", format!("there is no container named web (containers: {names:?})")).hint("Add a container with `name: web`.");
        return v;
    };
    let image = c.str(&["image"]);
    v.check("image", image == Some("nginx:1.27"), format!("the container runs {image:?}")).hint("Use `image: nginx:1.27`: a pinned tag, not `latest`.");
    let ports = c.list(&["ports"]);
    let port80 = ports.iter().any(|p| p.int(&["containerPort"]) == Some(80));
    v.check("container_port", port80, if port80 { "the container exposes port 80".to_owned() } else { "the container declares no containerPort 80".to_owned() })
        .hint("Add `ports: [{name: http, containerPort: 80}]` to the container.");

    let missing: Vec<&str> = [("requests.cpu", &["resources", "requests", "cpu"][..]), ("requests.memory", &["resources", "requests", "memory"]), ("limits.memory", &["resources", "limits", "memory"])]
        .into_iter()
        .filter(|(_, path)| c.scalar(path).is_none())
        .map(|(name, _)| name)
        .collect();
    let message = if missing.is_empty() { "requests and a memory limit are set".to_owned() } else { format!("resources lack {}", missing.join(", ")) };
    v.check("resources", missing.is_empty(), message).hint("Under the container: `resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}`.");

    for (probe, id) in [("readinessProbe", "readiness_probe"), ("livenessProbe", "liveness_probe")] {
        let (ok, message) = match (c.str(&[probe, "httpGet", "path"]), c.scalar(&[probe, "httpGet", "port"])) {
            _ if !c.has(&[probe]) => (false, format!("the container has no {probe}")),
            (None, _) | (_, None) => (false, format!("the {probe} is not an HTTP GET with a path and a port")),
            (Some(path), Some(port)) if !port_matches(&port, &ports) => (false, format!("the {probe} checks port {port}, which the container does not expose (path {path})")),
            (Some(path), Some(port)) => (true, format!("the {probe} checks GET {path} on port {port}")),
        };
        v.check(id, ok, message).hint(format!("`{probe}: {{httpGet: {{path: /, port: http}}}}` under the container."));
    }
    v
}

/// Grades the Service's YAML against the Deployment's (`None`: no file).
pub fn grade_service(text: Option<&str>, deployment: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(s) = load(&mut v, "service.yaml", text, "v1", "Service") else { return v };
    let name = s.str(&["metadata", "name"]);
    v.check("name", name == Some("web"), format!("the Service is named {name:?}")).hint("Set `metadata.name: web`.");

    let deployment = deployment.and_then(|d| Manifest::parse(d).ok());
    let pod_labels = deployment.as_ref().map(|d| d.labels(&["spec", "template", "metadata", "labels"])).unwrap_or_default();
    let selector = s.labels(&["spec", "selector"]);
    let (selects, message) = match unmatched(&selector, &pod_labels) {
        _ if selector.is_empty() => (false, "the Service has no selector, so it sends traffic nowhere".to_owned()),
        None => (true, format!("the selector {} finds the Deployment's pods", show(&selector))),
        Some(missing) => (false, format!("the selector asks for {missing} but the Deployment's pods are labelled {}", show(&pod_labels))),
    };
    v.check("service_selector", selects, message).hint("`spec.selector` must match the pod template's labels: `app: web`.");

    let ports = s.list(&["spec", "ports"]);
    let Some(p) = ports.iter().find(|p| p.int(&["port"]) == Some(80)) else {
        v.fail("service_port", "the Service does not listen on port 80").hint("Add `ports: [{port: 80, targetPort: http}]`.");
        return v;
    };
    v.pass("service_port", "the Service listens on port 80");
    let container_ports = deployment
        .as_ref()
        .and_then(|d| d.list(&["spec", "template", "spec", "containers"]).into_iter().next())
        .map(|c| c.list(&["ports"]))
        .unwrap_or_default();
    // Without a targetPort, Kubernetes uses the same number as `port`.
    let target = p.scalar(&["targetPort"]).unwrap_or_else(|| "80".to_owned());
    let reaches = port_matches(&target, &container_ports);
    v.check("target_port", reaches, if reaches { format!("it sends traffic to the container's port {target}") } else { format!("targetPort {target} is not a port of the Deployment's container") })
        .hint("`targetPort` is the container's port: `80`, or its name `http`.");
    v
}

/// The selector's labels the pods lack, as `k=v, …` (`None`: it matches).
fn unmatched(selector: &std::collections::BTreeMap<String, String>, pods: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let missing: Vec<String> = selector.iter().filter(|(k, v)| pods.get(*k) != Some(*v)).map(|(k, v)| format!("{k}={v}")).collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}

fn show(labels: &std::collections::BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "(no labels)".to_owned();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

struct ManifestHints;

impl HintProvider for ManifestHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match (task.id(), failing) {
            (_, Some("yaml_invalid")) => &["Look at the line the error names, and the one above it.", "Indent with two spaces per level; list items start with `- ` aligned under their key."],
            ("deployment", Some("selector")) => &[
                "A Deployment owns the pods its selector matches.",
                "Compare `spec.selector.matchLabels` with `spec.template.metadata.labels`: they must agree.",
                "Both should say `app: web`.",
            ],
            ("deployment", Some("resources")) => &["Requests say what a pod needs to be scheduled; limits cap it.", "Under the container: `resources:` / `requests:` (cpu, memory) / `limits:` (memory)."],
            ("deployment", Some("readiness_probe" | "liveness_probe")) => &[
                "A readiness probe decides when a pod gets traffic; a liveness probe restarts a stuck one.",
                "Each is an `httpGet` with a `path` and a `port`, under the container, next to `image`.",
                "`readinessProbe: {httpGet: {path: /, port: http}}` — the same shape for `livenessProbe`.",
            ],
            ("deployment", _) => &[
                "Go down the step's list one point at a time; the verdict names each mistake.",
                "`kubectl explain deployment.spec` on a real cluster documents every field; here the verdict's messages do.",
            ],
            ("service", Some("service_selector")) => &["A Service finds pods by label, like the Deployment's selector does.", "`spec.selector: {app: web}`"],
            ("service", Some("target_port")) => &["`port` is where the Service listens; `targetPort` is where the pod listens.", "Use `targetPort: http` (the container port's name) or `80`."],
            ("service", _) => &["Start from the template in the step and fill in each `…`.", "The selector matches the pod labels; the port is 80; the target port is the container's."],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: Manifests, hints: ManifestHints);

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../cases/deployment.yaml");
    const SERVICE_OK: &str = include_str!("../cases/service.yaml");

    fn failing(v: &Verdict) -> Vec<&str> {
        v.checks().iter().filter(|c| !c.passed).map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn the_reference_manifests_pass() {
        assert!(grade_deployment(Some(GOOD)).passed(), "{:?}", failing(&grade_deployment(Some(GOOD))));
        assert!(grade_service(Some(SERVICE_OK), Some(GOOD)).passed(), "{:?}", failing(&grade_service(Some(SERVICE_OK), Some(GOOD))));
    }

    #[test]
    fn each_deployment_mistake_has_its_own_check_and_message() {
        let bad = GOOD.replace("replicas: 3", "replicas: 1").replace("      app: web\n  template", "      app: frontend\n  template");
        let v = grade_deployment(Some(&bad));
        assert_eq!(failing(&v), ["replicas", "selector"]);
        let selector = v.checks().iter().find(|c| c.id == "selector").unwrap();
        assert!(selector.message.contains("app=frontend") && selector.message.contains("app=web"), "{}", selector.message);

        let no_probes = GOOD.split("          readinessProbe:").next().unwrap();
        assert_eq!(failing(&grade_deployment(Some(no_probes))), ["readiness_probe", "liveness_probe"]);
        let wrong_port = GOOD.replace("port: 80\n", "port: 8080\n");
        assert!(grade_deployment(Some(&wrong_port)).checks().iter().any(|c| c.id == "liveness_probe" && !c.passed && c.message.contains("8080")));
        let no_limits = GOOD.replace("            limits:\n              memory: 128Mi\n", "");
        assert_ne!(no_limits, GOOD);
        assert_eq!(failing(&grade_deployment(Some(&no_limits))), ["resources"]);
    }

    #[test]
    fn broken_files_are_named_not_panicked_on() {
        assert_eq!(failing(&grade_deployment(None)), ["file_missing"]);
        assert_eq!(failing(&grade_deployment(Some("kind: Deployment\n  bad: [indent"))), ["yaml_invalid"]);
        assert_eq!(failing(&grade_deployment(Some("apiVersion: v1\nkind: Pod\n"))), ["kind"]);
        assert_eq!(failing(&grade_deployment(Some("[1, 2]"))), ["kind"]);
    }

    #[test]
    fn the_service_must_find_the_pods_and_their_port() {
        let wrong = SERVICE_OK.replace("app: web", "app: frontend").replace("targetPort: http", "targetPort: 8080");
        let v = grade_service(Some(&wrong), Some(GOOD));
        assert_eq!(failing(&v), ["service_selector", "target_port"]);
        assert!(grade_service(Some(&SERVICE_OK.replace("targetPort: http", "targetPort: 80")), Some(GOOD)).passed());
        assert_eq!(failing(&grade_service(None, Some(GOOD))), ["file_missing"]);
    }
}
