//! Waiting for a session's machines: a pod is ready when its `Ready`
//! condition is true; a virtual machine when its instance runs, is
//! `Ready`, and answers SSH with the session's keys. A machine that cannot become ready (an image that cannot be
//! pulled, no node with room) fails at once with the cluster's reason;
//! one still not ready at the deadline fails with what it was waiting for.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, api::DynamicObject};
use serde_json::Value;

use super::{KubeRuntime, api_error, kubevirt};
use crate::runtime::{EnvironmentSpec, RuntimeError};

/// How often readiness is asked for.
const POLL: Duration = Duration::from_millis(500);

/// Container states the pod does not come back from by waiting.
const HOPELESS: &[&str] = &["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff"];

/// Where a machine stands.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    Ready,
    /// Still coming up: what it waits for.
    Waiting(String),
    /// It will not come up: why.
    Failed(String),
}

fn condition<'a>(conditions: Option<&'a Value>, kind: &str) -> Option<&'a Value> {
    conditions?.as_array()?.iter().find(|c| c["type"] == kind)
}

/// A pod's standing, from its status.
fn pod_standing(pod: &Value) -> Standing {
    let status = &pod["status"];
    if let Some(cs) = status["containerStatuses"].as_array() {
        for c in cs {
            let waiting = &c["state"]["waiting"];
            if let Some(reason) = waiting["reason"].as_str().filter(|r| HOPELESS.contains(r)) {
                return Standing::Failed(format!("{reason}: {}", waiting["message"].as_str().unwrap_or("")));
            }
        }
    }
    if status["phase"] == "Failed" {
        return Standing::Failed(status["message"].as_str().unwrap_or("the pod failed").to_owned());
    }
    if condition(status.get("conditions"), "Ready").is_some_and(|c| c["status"] == "True") {
        return Standing::Ready;
    }
    let unscheduled = condition(status.get("conditions"), "PodScheduled").filter(|c| c["status"] == "False");
    match unscheduled {
        Some(c) => Standing::Waiting(format!("not scheduled: {}", c["message"].as_str().unwrap_or("no node fits"))),
        None => Standing::Waiting(format!("pod {}", status["phase"].as_str().unwrap_or("Pending"))),
    }
}

/// A virtual machine instance's standing, from its status.
fn vmi_standing(vmi: &Value) -> Standing {
    let status = &vmi["status"];
    let phase = status["phase"].as_str().unwrap_or("Pending");
    match phase {
        "Failed" | "Succeeded" => return Standing::Failed(format!("the virtual machine stopped ({phase})")),
        "Running" if condition(status.get("conditions"), "Ready").is_some_and(|c| c["status"] == "True") => return Standing::Ready,
        _ => {}
    }
    let why = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["status"] == "False" && c["message"].as_str().is_some_and(|m| !m.is_empty()))
        .map(|c| format!(": {}", c["message"].as_str().unwrap_or_default()))
        .unwrap_or_default();
    Standing::Waiting(format!("virtual machine {phase}{why}"))
}

/// Waits until every machine of `spec` is ready, within `timeout`.
pub async fn all_ready(rt: &KubeRuntime, ns: &str, spec: &EnvironmentSpec, timeout: Duration) -> Result<(), RuntimeError> {
    let pods: Api<Pod> = Api::namespaced(rt.client.clone(), ns);
    let vmis: Api<DynamicObject> = Api::namespaced_with(rt.client.clone(), ns, &kubevirt("VirtualMachineInstance", "virtualmachineinstances"));
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&crate::runtime::MachineSpec> = spec.machines.iter().collect();
    loop {
        let mut still = Vec::new();
        for m in pending {
            let found = if m.is_vm() {
                vmis.get_opt(&m.name).await.map_err(|e| api_error(&format!("read virtual machine {}", m.name), e))?.map(|o| serde_json::to_value(o).unwrap_or_default())
            } else {
                pods.get_opt(&m.name).await.map_err(|e| api_error(&format!("read machine {}", m.name), e))?.map(|o| serde_json::to_value(o).unwrap_or_default())
            };
            let standing = match &found {
                // KubeVirt makes the instance a moment after the machine.
                None => Standing::Waiting("not created yet".into()),
                Some(v) if m.is_vm() => match vmi_standing(v) {
                    // Booted is not yet reachable: sshd starts late in boot.
                    Standing::Ready => match rt.vm(ns, &m.name).probe().await {
                        Ok(()) => Standing::Ready,
                        Err(e) => Standing::Waiting(format!("SSH not answering yet: {e}")),
                    },
                    other => other,
                },
                Some(v) => pod_standing(v),
            };
            match standing {
                Standing::Ready => {}
                Standing::Failed(why) => return Err(RuntimeError::Engine(format!("machine {} cannot start: {why}", m.name))),
                Standing::Waiting(what) => still.push((m, what)),
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let waiting: Vec<String> = still.iter().map(|(m, what)| format!("{} ({what})", m.name)).collect();
            return Err(RuntimeError::Engine(format!("machines not ready after {} s: {}", timeout.as_secs(), waiting.join(", "))));
        }
        pending = still.into_iter().map(|(m, _)| m).collect();
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standings_are_read_from_the_status_as_the_cluster_writes_it() {
        let ready = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(pod_standing(&ready), Standing::Ready);
        let pulling = json!({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nope\""}}}]}});
        assert!(matches!(pod_standing(&pulling), Standing::Failed(why) if why.contains("ImagePullBackOff")));
        let unschedulable = json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient memory."}]}});
        assert!(matches!(pod_standing(&unschedulable), Standing::Waiting(what) if what.contains("Insufficient memory")));

        let scheduling = json!({"status": {"phase": "Scheduling", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: 2 Insufficient devices.kubevirt.io/kvm."}]}});
        assert!(matches!(vmi_standing(&scheduling), Standing::Waiting(what) if what.contains("Scheduling") && what.contains("kvm")));
        let booted = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(vmi_standing(&booted), Standing::Ready);
        assert!(matches!(vmi_standing(&json!({"status": {"phase": "Failed"}})), Standing::Failed(_)));
    }
}
