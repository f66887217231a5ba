//! Judge and hint provider for the `cks-hardening` lab, on two virtual
//! machines (`control-plane`, `worker`). It reads the API server's static
//! pod manifest and the kubelet's configuration as files, and asks the
//! cluster with `kubectl` on the control plane; the rules are plain
//! functions over those answers, tested natively below.

use std::time::Duration;

use proctor_sdk::{Error, Hint, HintProvider, Judge, Task, Verdict, export, run_all};
use serde_yaml::Value;

const APISERVER: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
const POLICY: &str = "/etc/kubernetes/audit/policy.yaml";
const KUBELET: &str = "/var/lib/kubelet/config.yaml";
const KUBECTL: &str = "KUBECONFIG=/etc/kubernetes/admin.conf kubectl";

struct Cks;

impl Judge for Cks {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let cp = task.machine_named("control-plane");
        match task.id() {
            "audit-logging" => {
                let manifest = cp.read_optional(APISERVER)?;
                let policy = cp.read_optional(POLICY)?;
                let ready = cp.script(&format!("{KUBECTL} get --raw /readyz")).timeout(Duration::from_secs(10)).run()?;
                Ok(grade_audit(manifest.as_deref(), policy.as_deref(), ready.success()))
            }
            "kubelet-anonymous" => {
                let worker = task.machine_named("worker");
                let config = worker.read_optional(KUBELET)?;
                let active = worker.run(["systemctl", "is-active", "kubelet"])?;
                Ok(grade_kubelet(config.as_deref(), active.stdout_text().trim() == "active"))
            }
            "default-deny" => {
                let mut out = run_all([cp.script(&format!("{KUBECTL} -n payments get networkpolicies -o json"))]);
                let listed = out.pop().expect("one result")?;
                Ok(grade_default_deny(listed.success().then(|| listed.stdout_text()).as_deref()))
            }
            other => Ok(Verdict::not_gradable(format!("the cks-hardening judge has no task `{other}`"))),
        }
    }
}

/// The value of `--flag=value` among the API server's command lines.
fn flag<'a>(manifest: &'a str, name: &str) -> Option<&'a str> {
    manifest.lines().map(|l| l.trim().trim_start_matches('-').trim()).find_map(|l| l.strip_prefix(&format!("--{name}=")))
}

/// Grades the API server's manifest, the audit policy and whether the API
/// server answers.
pub fn grade_audit(manifest: Option<&str>, policy: Option<&str>, ready: bool) -> Verdict {
    let mut v = Verdict::new();
    let rules = policy.and_then(|p| serde_yaml::from_str::<Value>(p).ok()).and_then(|p| p.get("rules").and_then(Value::as_sequence).cloned());
    let logs = rules.as_ref().is_some_and(|r| r.iter().any(|rule| rule.get("level").and_then(Value::as_str).is_some_and(|l| l != "None")));
    let message = match (policy, &rules) {
        (None, _) => format!("{POLICY} does not exist"),
        (Some(_), None) => format!("{POLICY} is not an audit policy with rules"),
        (Some(_), Some(_)) if !logs => "the audit policy logs nothing (every rule is level None)".to_owned(),
        _ => "the audit policy logs requests".to_owned(),
    };
    v.check("audit_policy", logs, message).hint("A policy of `kind: Policy` (audit.k8s.io/v1) with a rule `- level: Metadata`.");
    let Some(manifest) = manifest else {
        v.fail("apiserver_manifest_missing", format!("{APISERVER} is gone")).hint("Restore it from your backup: the API server runs from this file.");
        return v;
    };
    let policy_flag = flag(manifest, "audit-policy-file");
    v.check("audit_policy_flag", policy_flag == Some(POLICY), format!("--audit-policy-file is {policy_flag:?}")).hint(format!("Add `- --audit-policy-file={POLICY}` to the command."));
    let log = flag(manifest, "audit-log-path");
    v.check("audit_log_flag", log.is_some_and(|l| l.starts_with("/var/log/kubernetes/audit/")), format!("--audit-log-path is {log:?}"))
        .hint("Add `- --audit-log-path=/var/log/kubernetes/audit/audit.log`.");
    let age = flag(manifest, "audit-log-maxage").and_then(|a| a.parse::<u32>().ok());
    v.check("audit_log_maxage", age.is_some_and(|a| (1..=7).contains(&a)), format!("--audit-log-maxage is {age:?}")).hint("Add `- --audit-log-maxage=7`.");
    let mounted = manifest.contains("path: /etc/kubernetes/audit") && manifest.contains("path: /var/log/kubernetes/audit");
    v.check("audit_mounts", mounted, if mounted { "both audit directories are mounted" } else { "the audit directories are not both mounted into the pod" })
        .hint("Add hostPath volumes for /etc/kubernetes/audit and /var/log/kubernetes/audit, and volumeMounts for them.");
    v.check("apiserver_ready", ready, if ready { "the API server answers" } else { "the API server does not answer /readyz" })
        .hint("Wait a minute after editing; if it stays down, `crictl ps -a` and the pod's logs show why.");
    v
}

/// Grades the worker's kubelet configuration.
pub fn grade_kubelet(config: Option<&str>, active: bool) -> Verdict {
    let mut v = Verdict::new();
    let Some(parsed) = config.and_then(|c| serde_yaml::from_str::<Value>(c).ok()) else {
        v.fail("kubelet_config_unreadable", format!("{KUBELET} is missing or not YAML")).hint("The kubelet reads this file at start; restore it before restarting.");
        return v;
    };
    let anonymous = parsed.get("authentication").and_then(|a| a.get("anonymous")).and_then(|a| a.get("enabled")).and_then(Value::as_bool);
    v.check("anonymous_disabled", anonymous == Some(false), format!("authentication.anonymous.enabled is {anonymous:?}"))
        .hint("Set `authentication.anonymous.enabled: false`.");
    let mode = parsed.get("authorization").and_then(|a| a.get("mode")).and_then(Value::as_str);
    v.check("webhook_authorization", mode == Some("Webhook"), format!("authorization.mode is {mode:?}")).hint("Set `authorization.mode: Webhook`.");
    v.check("kubelet_active", active, if active { "the kubelet runs" } else { "the kubelet is not active" })
        .hint("`systemctl restart kubelet`, then `journalctl -u kubelet -n 20` if it does not stay up.");
    v
}

/// Grades `kubectl get networkpolicies -o json` of the namespace.
pub fn grade_default_deny(list: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let items = list.and_then(|l| serde_yaml::from_str::<Value>(l).ok()).and_then(|l| l.get("items").and_then(Value::as_sequence).cloned()).unwrap_or_default();
    let Some(policy) = items.iter().find(|p| p.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str) == Some("default-deny")) else {
        v.fail("policy_missing", "there is no NetworkPolicy default-deny in payments").hint("Create it with `kubectl apply -f` in the payments namespace.");
        return v;
    };
    let spec = policy.get("spec").cloned().unwrap_or(Value::Null);
    let selects_all = spec.get("podSelector").is_some_and(|s| s.as_mapping().is_none_or(|m| m.iter().all(|(_, v)| v.as_mapping().is_none_or(|x| x.is_empty()))));
    v.check("selects_every_pod", selects_all, if selects_all { "it selects every pod" } else { "its podSelector selects only some pods" }).hint("`podSelector: {}` selects every pod of the namespace.");
    let types: Vec<&str> = spec.get("policyTypes").and_then(Value::as_sequence).map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let both = types.contains(&"Ingress") && types.contains(&"Egress");
    v.check("policy_types", both, format!("policyTypes: {types:?}")).hint("List both: `policyTypes: [Ingress, Egress]`.");
    let rules = ["ingress", "egress"].iter().filter(|k| spec.get(**k).and_then(Value::as_sequence).is_some_and(|r| !r.is_empty())).copied().collect::<Vec<_>>();
    v.check("no_allow_rules", rules.is_empty(), if rules.is_empty() { "it allows nothing".to_owned() } else { format!("it still allows some traffic ({})", rules.join(", ")) })
        .hint("A default deny has no `ingress` or `egress` rules at all.");
    v
}

struct CksHints;

impl HintProvider for CksHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match (task.id(), failing) {
            ("audit-logging", Some("apiserver_ready")) => &["A typo in the manifest keeps the API server down: compare it with your backup.", "`crictl ps -a | grep apiserver` and `crictl logs <id>` show the error."],
            ("audit-logging", _) => &[
                "Three parts: the policy file, the flags, and the volumes that let the pod see both directories.",
                "Flags go under `command:` in kube-apiserver.yaml; volumes under `spec.volumes` and `volumeMounts` under the container.",
                "The Kubernetes documentation's \"Auditing\" page has the exact volume snippet.",
            ],
            ("kubelet-anonymous", _) => &[
                "The kubelet's settings are in /var/lib/kubelet/config.yaml on the worker.",
                "Two keys: `authentication.anonymous.enabled` and `authorization.mode`.",
                "After editing: `systemctl restart kubelet && systemctl is-active kubelet`.",
            ],
            ("default-deny", _) => &[
                "An empty podSelector selects every pod in the namespace.",
                "With both policy types listed and no rules, nothing gets in or out.",
                "`kubectl -n payments get networkpolicy default-deny -o yaml` shows what you made.",
            ],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: Cks, hints: CksHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(v: &Verdict) -> Vec<&str> {
        v.checks().iter().filter(|c| !c.passed).map(|c| c.id.as_str()).collect()
    }

    const MANIFEST: &str = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --audit-policy-file=/etc/kubernetes/audit/policy.yaml\n    - --audit-log-path=/var/log/kubernetes/audit/audit.log\n    - --audit-log-maxage=7\n  volumes:\n  - hostPath: {path: /etc/kubernetes/audit}\n  - hostPath: {path: /var/log/kubernetes/audit}\n";
    const POLICY_TEXT: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n";

    #[test]
    fn audit_logging_needs_policy_flags_mounts_and_a_live_api_server() {
        assert!(grade_audit(Some(MANIFEST), Some(POLICY_TEXT), true).passed());
        let bare = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n";
        assert_eq!(failing(&grade_audit(Some(bare), None, true)), ["audit_policy", "audit_policy_flag", "audit_log_flag", "audit_log_maxage", "audit_mounts"]);
        assert_eq!(failing(&grade_audit(Some(&MANIFEST.replace("maxage=7", "maxage=30")), Some("rules:\n- level: None\n"), false)), ["audit_policy", "audit_log_maxage", "apiserver_ready"]);
    }

    #[test]
    fn the_kubelet_must_refuse_anonymous_and_use_the_webhook() {
        let good = "authentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n";
        assert!(grade_kubelet(Some(good), true).passed());
        let open = "authentication:\n  anonymous:\n    enabled: true\nauthorization:\n  mode: AlwaysAllow\n";
        assert_eq!(failing(&grade_kubelet(Some(open), false)), ["anonymous_disabled", "webhook_authorization", "kubelet_active"]);
        assert_eq!(failing(&grade_kubelet(None, true)), ["kubelet_config_unreadable"]);
    }

    #[test]
    fn a_default_deny_selects_all_and_allows_nothing() {
        let good = r#"{"items": [{"metadata": {"name": "default-deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}]}"#;
        assert!(grade_default_deny(Some(good)).passed());
        let partial = r#"{"items": [{"metadata": {"name": "default-deny"}, "spec": {"podSelector": {"matchLabels": {"app": "ledger"}}, "policyTypes": ["Ingress"], "ingress": [{}]}}]}"#;
        assert_eq!(failing(&grade_default_deny(Some(partial))), ["selects_every_pod", "policy_types", "no_allow_rules"]);
        assert_eq!(failing(&grade_default_deny(Some(r#"{"items": []}"#))), ["policy_missing"]);
        assert_eq!(failing(&grade_default_deny(None)), ["policy_missing"]);
    }
}
