//! Waiting for a session's machines: a pod is ready when its `Ready`
//! condition is true; a virtual machine when its instance runs, is
//! `Ready`, and answers SSH with the session's keys. Each machine is read
//! once, then followed with a watch, so the API server tells of changes
//! instead of being asked every moment. A machine that cannot become
//! ready (an image that cannot be pulled, no node with room) fails at once
//! with the cluster's reason; one still not ready at the deadline fails
//! with what it was waiting for.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Resource,
    api::{DynamicObject, ListParams, WatchEvent, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::{KubeRuntime, api_error, kubevirt};
use crate::runtime::{EnvironmentSpec, MachineSpec, RuntimeError};

/// How long one watch may last before it is started again.
const WATCH_SECONDS: u32 = 60;
/// The pause before following again after a watch broke off, and between
/// SSH attempts.
const RETRY: Duration = Duration::from_secs(1);

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

/// Follows object `name` of `api` until `standing` says it is ready,
/// keeping in `last` what it is waiting for. A watch the API server ends
/// (its time limit, or `410 Gone` when it has moved on) is started again
/// from a fresh list.
async fn follow<K>(api: &Api<K>, machine: &str, standing: fn(&Value) -> Standing, last: &mut Option<String>) -> Result<(), RuntimeError>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + 'static,
{
    let fields = format!("metadata.name={machine}");
    let judge = |object: &K, last: &mut Option<String>| match standing(&serde_json::to_value(object).unwrap_or_default()) {
        Standing::Ready => Ok(true),
        Standing::Failed(why) => Err(RuntimeError::Engine(format!("machine {machine} cannot start: {why}"))),
        Standing::Waiting(what) => {
            *last = Some(what);
            Ok(false)
        }
    };
    loop {
        let list = api.list(&ListParams::default().fields(&fields)).await.map_err(|e| api_error(&format!("read machine {machine}"), e))?;
        match list.items.first() {
            Some(object) if judge(object, last)? => return Ok(()),
            Some(_) => {}
            // KubeVirt makes the instance a moment after the machine.
            None => *last = Some("not created yet".into()),
        }
        let version = list.metadata.resource_version.unwrap_or_default();
        let params = WatchParams::default().fields(&fields).timeout(WATCH_SECONDS);
        let mut events = api.watch(&params, &version).await.map_err(|e| api_error(&format!("watch machine {machine}"), e))?.boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Added(object) | WatchEvent::Modified(object)) => {
                    if judge(&object, last)? {
                        return Ok(());
                    }
                }
                Ok(WatchEvent::Deleted(_)) => return Err(RuntimeError::Engine(format!("machine {machine} cannot start: it was deleted"))),
                Ok(WatchEvent::Bookmark(_)) => {}
                // Expired (410) or broken off: list again.
                Ok(WatchEvent::Error(_)) | Err(_) => break,
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Waits for one machine, keeping in `last` what it waits for (`None`
/// once it is ready).
async fn machine_ready(rt: &KubeRuntime, ns: &str, m: &MachineSpec, last: &mut Option<String>) -> Result<(), RuntimeError> {
    if !m.is_vm() {
        let pods: Api<Pod> = Api::namespaced(rt.client.clone(), ns);
        follow(&pods, &m.name, pod_standing, last).await?;
        *last = None;
        return Ok(());
    }
    let vmis: Api<DynamicObject> = Api::namespaced_with(rt.client.clone(), ns, &kubevirt("VirtualMachineInstance", "virtualmachineinstances"));
    follow(&vmis, &m.name, vmi_standing, last).await?;
    // Booted is not yet reachable: sshd starts late in boot.
    loop {
        match rt.vm(ns, &m.name).probe().await {
            Ok(()) => {
                *last = None;
                return Ok(());
            }
            Err(e) => *last = Some(format!("SSH not answering yet: {e}")),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Waits until every machine of `spec` is ready, within `timeout`.
pub async fn all_ready(rt: &KubeRuntime, ns: &str, spec: &EnvironmentSpec, timeout: Duration) -> Result<(), RuntimeError> {
    let mut waiting: Vec<Option<String>> = vec![Some("not looked at yet".into()); spec.machines.len()];
    let all = futures::future::try_join_all(spec.machines.iter().zip(waiting.iter_mut()).map(|(m, last)| machine_ready(rt, ns, m, last)));
    match tokio::time::timeout(timeout, all).await {
        Ok(done) => done.map(|_| ()),
        Err(_) => {
            let still: Vec<String> = spec.machines.iter().zip(&waiting).filter_map(|(m, what)| Some(format!("{} ({})", m.name, what.as_ref()?))).collect();
            Err(RuntimeError::Engine(format!("machines not ready after {} s: {}", timeout.as_secs(), still.join(", "))))
        }
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
