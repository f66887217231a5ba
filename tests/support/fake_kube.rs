//! A Kubernetes API server for the Kubernetes runtime's tests: it answers
//! the requests the runtime makes the way a real API server does (objects
//! with server-set metadata, `Status` errors with their codes and reasons,
//! label selectors, the exec subresource over a WebSocket speaking the
//! `v5.channel.k8s.io` channel protocol), with a KubeVirt that turns a
//! `VirtualMachine` into a `VirtualMachineInstance` that boots, lists and
//! watches by field selector (a watch streams each change as an event
//! line, and ends at its `timeoutSeconds`), and the
//! ways a cluster refuses: a quota, an image it cannot pull, a virtual
//! machine no node can take.
//!
//! Commands exec'd into a pod run as processes of the test (in the pod's
//! working directory), so what the runtime sends is really executed. A
//! running virtual machine instance is a real OpenSSH server set up from
//! its cloud-init data (`fake_guest`), reached through the instance's
//! `portforward` subresource speaking `plain.kubevirt.io`.

use std::{
    collections::BTreeMap,
    process::Stdio,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{
        Path, Query, RawQuery, State,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fake_guest::Guest;

/// What the cluster does besides answering.
#[derive(Default)]
pub struct Behaviour {
    /// Refuse every pod as over quota.
    pub pods_over_quota: bool,
    /// Pods with this image never pull.
    pub unpullable_image: Option<String>,
    /// Virtual machines booting this disk stay in `Scheduling`.
    pub unschedulable_disk: Option<String>,
    /// Guests answer SSH with a host key of their own, not the one
    /// cloud-init gave them.
    pub impostor_guests: bool,
    /// How many watches end at once with `410 Gone` (the resource version
    /// asked for is too old), as after an API server's compaction.
    pub expired_watches: u32,
}

#[derive(Default)]
struct Cluster {
    /// (namespace or "", plural, name) → object
    objects: BTreeMap<(String, String, String), Value>,
    /// Times each object was read, to move pods and VMIs along.
    reads: BTreeMap<(String, String, String), u32>,
    requests: Vec<String>,
    resizes: Vec<Value>,
    behaviour: Behaviour,
    serial: u64,
    /// Booted guests by (namespace, instance).
    guests: BTreeMap<(String, String), Arc<Guest>>,
}

/// A running fake API server; cheap to clone.
#[derive(Clone)]
pub struct FakeCluster {
    /// Its URL.
    pub url: String,
    state: Arc<Mutex<Cluster>>,
}

fn status(code: StatusCode, reason: &str, message: String, kind: &str, name: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": { "name": name, "kind": kind }, "code": code.as_u16(),
    });
    (code, Json(body)).into_response()
}

fn matches_selector(object: &Value, selector: Option<&String>) -> bool {
    let Some(selector) = selector else { return true };
    selector.split(',').filter(|s| !s.is_empty()).all(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        object["metadata"]["labels"][k].as_str() == Some(v)
    })
}

impl FakeCluster {
    /// Starts a fake API server on a free loopback port.
    pub async fn start(behaviour: Behaviour) -> FakeCluster {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let cluster = FakeCluster { url, state: Arc::new(Mutex::new(Cluster { behaviour, ..Cluster::default() })) };
        let app = Router::new()
            .route("/api/v1/namespaces", get(list_namespaces).post(create_namespace))
            .route("/api/v1/namespaces/{name}", get(get_namespace).delete(delete_namespace))
            .route("/api/v1/namespaces/{ns}/pods/{name}/exec", get(exec))
            .route("/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/portforward/{port}/{protocol}", get(portforward))
            .route("/api/{version}/namespaces/{ns}/{plural}", get(list_core).post(create_core))
            .route("/api/{version}/namespaces/{ns}/{plural}/{name}", get(get_core))
            .route("/apis/{group}/{version}/namespaces/{ns}/{plural}", get(list_grouped).post(create_grouped))
            .route("/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}", get(get_grouped))
            .fallback(|uri: axum::http::Uri| async move { status(StatusCode::NOT_FOUND, "NotFound", format!("the server could not find the requested resource ({uri})"), "", "") })
            .with_state(cluster.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        cluster
    }

    /// A client of this API server.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    /// Every request so far, as `METHOD path`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// An object, if the cluster holds it.
    pub fn object(&self, ns: &str, plural: &str, name: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(&(ns.to_owned(), plural.to_owned(), name.to_owned())).cloned()
    }

    /// The namespaces the cluster holds.
    pub fn namespaces(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().filter(|(ns, plural, _)| ns.is_empty() && plural == "namespaces").map(|(_, _, n)| n.clone()).collect()
    }

    /// Terminal sizes the exec streams were sent.
    pub fn resizes(&self) -> Vec<Value> {
        self.state.lock().unwrap().resizes.clone()
    }

    /// Adds an object as if another server (or an earlier run) made it.
    pub fn plant(&self, ns: &str, plural: &str, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        self.state.lock().unwrap().objects.insert((ns.to_owned(), plural.to_owned(), name), object);
    }

    fn log(&self, what: String) {
        self.state.lock().unwrap().requests.push(what);
    }

    /// Stores a new object with the metadata a server sets; 409 when it exists.
    fn create(&self, ns: &str, plural: &str, kind: &str, api_version: &str, mut object: Value) -> Response {
        let mut state = self.state.lock().unwrap();
        if !ns.is_empty() && !state.objects.contains_key(&(String::new(), "namespaces".into(), ns.to_owned())) {
            return status(StatusCode::NOT_FOUND, "NotFound", format!("namespaces \"{ns}\" not found"), "namespaces", ns);
        }
        let Some(name) = object["metadata"]["name"].as_str().map(str::to_owned) else {
            return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", format!("{kind} is invalid: metadata.name: Required value"), plural, "");
        };
        let key = (ns.to_owned(), plural.to_owned(), name.clone());
        if state.objects.contains_key(&key) {
            return status(StatusCode::CONFLICT, "AlreadyExists", format!("{plural} \"{name}\" already exists"), plural, &name);
        }
        if plural == "pods" && state.behaviour.pods_over_quota {
            let message = format!("pods \"{name}\" is forbidden: exceeded quota: compute-resources, requested: limits.memory=512Mi, used: limits.memory=63Gi, limited: limits.memory=64Gi");
            return status(StatusCode::FORBIDDEN, "Forbidden", message, plural, &name);
        }
        state.serial += 1;
        let serial = state.serial;
        object["apiVersion"] = json!(api_version);
        object["kind"] = json!(kind);
        object["metadata"]["uid"] = json!(format!("uid-{serial}"));
        object["metadata"]["resourceVersion"] = json!(serial.to_string());
        object["metadata"]["creationTimestamp"] = json!("2026-11-23T10:00:00Z");
        if !ns.is_empty() {
            object["metadata"]["namespace"] = json!(ns);
        }
        if plural == "secrets" {
            // The API server keeps `stringData` as base64 `data`.
            if let Some(Value::Object(strings)) = object.as_object_mut().and_then(|o| o.remove("stringData")) {
                for (k, v) in strings {
                    object["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default()));
                }
            }
        }
        if plural == "virtualmachines" {
            // KubeVirt's controller makes the instance of a running machine.
            let mut vmi = json!({ "apiVersion": api_version, "kind": "VirtualMachineInstance", "metadata": { "name": name, "namespace": ns }, "spec": object["spec"]["template"]["spec"].clone() });
            vmi["status"] = json!({ "phase": "Pending" });
            state.objects.insert((ns.to_owned(), "virtualmachineinstances".into(), name.clone()), vmi);
        }
        state.objects.insert(key, object.clone());
        (StatusCode::CREATED, Json(object)).into_response()
    }

    /// An object as read, or 404.
    fn read(&self, ns: &str, plural: &str, name: &str) -> Response {
        match self.advance(ns, plural, name) {
            Some(object) => Json(object).into_response(),
            None => status(StatusCode::NOT_FOUND, "NotFound", format!("{plural} \"{name}\" not found"), plural, name),
        }
    }

    /// An object, moving pods and virtual machine instances along their
    /// lives with each read.
    fn advance(&self, ns: &str, plural: &str, name: &str) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        let key = (ns.to_owned(), plural.to_owned(), name.to_owned());
        let reads = {
            let n = state.reads.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let (unpullable, unschedulable) = (state.behaviour.unpullable_image.clone(), state.behaviour.unschedulable_disk.clone());
        let object = state.objects.get_mut(&key)?;
        match plural {
            "pods" => {
                let image = object["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_owned();
                object["status"] = if unpullable.as_deref() == Some(image.as_str()) {
                    json!({ "phase": "Pending", "containerStatuses": [{ "name": "machine", "ready": false, "restartCount": 0, "image": image, "imageID": "",
                        "state": { "waiting": { "reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"") } } }] })
                } else if reads < 2 {
                    json!({ "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "True" }] })
                } else {
                    json!({ "phase": "Running", "conditions": [{ "type": "PodScheduled", "status": "True" }, { "type": "Ready", "status": "True" }] })
                };
            }
            "virtualmachineinstances" => {
                let disk = object["spec"]["volumes"][0]["containerDisk"]["image"].as_str().unwrap_or_default().to_owned();
                object["status"] = if unschedulable.as_deref() == Some(disk.as_str()) {
                    json!({ "phase": "Scheduling", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient devices.kubevirt.io/kvm." }] })
                } else {
                    let phase = ["Pending", "Scheduling", "Scheduled", "Running"][(reads as usize - 1).min(3)];
                    let ready = if phase == "Running" { "True" } else { "False" };
                    json!({ "phase": phase, "conditions": [{ "type": "Ready", "status": ready, "message": if ready == "True" { "" } else { "the guest is booting" } }] })
                };
            }
            _ => {}
        }
        Some(object.clone())
    }
}

async fn list_namespaces(State(c): State<FakeCluster>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    c.log("GET /api/v1/namespaces".into());
    let state = c.state.lock().unwrap();
    let items: Vec<Value> = state
        .objects
        .iter()
        .filter(|((ns, plural, _), o)| ns.is_empty() && plural == "namespaces" && matches_selector(o, q.get("labelSelector")))
        .map(|(_, o)| o.clone())
        .collect();
    Json(json!({ "kind": "NamespaceList", "apiVersion": "v1", "metadata": { "resourceVersion": state.serial.to_string() }, "items": items })).into_response()
}

async fn create_namespace(State(c): State<FakeCluster>, Json(mut body): Json<Value>) -> Response {
    c.log("POST /api/v1/namespaces".into());
    body["status"] = json!({ "phase": "Active" });
    c.create("", "namespaces", "Namespace", "v1", body)
}

async fn get_namespace(State(c): State<FakeCluster>, Path(name): Path<String>) -> Response {
    c.log(format!("GET /api/v1/namespaces/{name}"));
    c.read("", "namespaces", &name)
}

/// Deleting a namespace deletes everything in it; the answer is the
/// namespace, terminating.
async fn delete_namespace(State(c): State<FakeCluster>, Path(name): Path<String>) -> Response {
    c.log(format!("DELETE /api/v1/namespaces/{name}"));
    let mut state = c.state.lock().unwrap();
    let Some(mut ns) = state.objects.remove(&(String::new(), "namespaces".into(), name.clone())) else {
        return status(StatusCode::NOT_FOUND, "NotFound", format!("namespaces \"{name}\" not found"), "namespaces", &name);
    };
    state.objects.retain(|(n, _, _), _| *n != name);
    state.guests.retain(|(n, _), _| *n != name);
    ns["metadata"]["deletionTimestamp"] = json!("2026-11-23T10:05:00Z");
    ns["status"] = json!({ "phase": "Terminating" });
    Json(ns).into_response()
}

fn kind_of(plural: &str) -> &'static str {
    match plural {
        "pods" => "Pod",
        "services" => "Service",
        "secrets" => "Secret",
        "resourcequotas" => "ResourceQuota",
        "limitranges" => "LimitRange",
        "networkpolicies" => "NetworkPolicy",
        "virtualmachines" => "VirtualMachine",
        "virtualmachineinstances" => "VirtualMachineInstance",
        _ => "Unknown",
    }
}

async fn create_core(State(c): State<FakeCluster>, Path((version, ns, plural)): Path<(String, String, String)>, Json(body): Json<Value>) -> Response {
    c.log(format!("POST /api/{version}/namespaces/{ns}/{plural}"));
    c.create(&ns, &plural, kind_of(&plural), &version, body)
}

async fn get_core(State(c): State<FakeCluster>, Path((version, ns, plural, name)): Path<(String, String, String, String)>) -> Response {
    c.log(format!("GET /api/{version}/namespaces/{ns}/{plural}/{name}"));
    c.read(&ns, &plural, &name)
}

async fn create_grouped(State(c): State<FakeCluster>, Path((group, version, ns, plural)): Path<(String, String, String, String)>, Json(body): Json<Value>) -> Response {
    c.log(format!("POST /apis/{group}/{version}/namespaces/{ns}/{plural}"));
    c.create(&ns, &plural, kind_of(&plural), &format!("{group}/{version}"), body)
}

async fn get_grouped(State(c): State<FakeCluster>, Path((group, version, ns, plural, name)): Path<(String, String, String, String, String)>) -> Response {
    c.log(format!("GET /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}"));
    c.read(&ns, &plural, &name)
}

/// The objects of `plural` in `ns` named as `fieldSelector=metadata.name=…`
/// asks (all without one), each read as `read` reads it.
fn selected(c: &FakeCluster, ns: &str, plural: &str, query: &BTreeMap<String, String>) -> Vec<Value> {
    let wanted = query.get("fieldSelector").and_then(|f| f.strip_prefix("metadata.name=")).map(str::to_owned);
    let names: Vec<String> = {
        let state = c.state.lock().unwrap();
        state.objects.keys().filter(|(n, p, name)| n == ns && p == plural && wanted.as_ref().is_none_or(|w| w == name)).map(|(_, _, name)| name.clone()).collect()
    };
    names.iter().filter_map(|name| c.advance(ns, plural, name)).collect()
}

/// A list, or with `watch=true` a watch: every 200 ms the selected objects
/// are read (moving them along their lives) and each change is sent as an
/// `ADDED` or `MODIFIED` event line, until `timeoutSeconds`.
fn list_or_watch(c: FakeCluster, ns: String, plural: String, kind: &str, api_version: String, query: BTreeMap<String, String>) -> Response {
    let name = query.get("fieldSelector").cloned().unwrap_or_default();
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        c.log(format!("WATCH {plural} in {ns} {name}"));
        let expired = {
            let mut state = c.state.lock().unwrap();
            let left = &mut state.behaviour.expired_watches;
            (*left > 0).then(|| *left -= 1).is_some()
        };
        if expired {
            let gone = json!({ "type": "ERROR", "object": { "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version: 1 (42)", "reason": "Expired", "code": 410 } });
            return Response::builder().header("content-type", "application/json").body(axum::body::Body::from(format!("{gone}\n"))).unwrap();
        }
        let seconds: u64 = query.get("timeoutSeconds").and_then(|t| t.parse().ok()).unwrap_or(30);
        let events = futures::stream::unfold((c, BTreeMap::<String, Value>::new(), tokio::time::Instant::now() + std::time::Duration::from_secs(seconds)), move |(c, mut seen, until)| {
            let (ns, plural, query) = (ns.clone(), plural.clone(), query.clone());
            async move {
                loop {
                    if tokio::time::Instant::now() >= until {
                        return None;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    let mut lines = String::new();
                    for object in selected(&c, &ns, &plural, &query) {
                        let key = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                        let kind = match seen.insert(key, object.clone()) {
                            None => "ADDED",
                            Some(before) if before != object => "MODIFIED",
                            Some(_) => continue,
                        };
                        lines.push_str(&json!({ "type": kind, "object": object }).to_string());
                        lines.push('\n');
                    }
                    if !lines.is_empty() {
                        return Some((Ok::<_, std::convert::Infallible>(lines), (c, seen, until)));
                    }
                }
            }
        });
        return Response::builder().header("content-type", "application/json").body(axum::body::Body::from_stream(events)).unwrap();
    }
    c.log(format!("LIST {plural} in {ns} {name}"));
    let items = selected(&c, &ns, &plural, &query);
    let serial = c.state.lock().unwrap().serial;
    Json(json!({ "kind": format!("{kind}List"), "apiVersion": api_version, "metadata": { "resourceVersion": serial.to_string() }, "items": items })).into_response()
}

async fn list_core(State(c): State<FakeCluster>, Path((version, ns, plural)): Path<(String, String, String)>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    list_or_watch(c, ns, plural.clone(), kind_of(&plural), version, q)
}

async fn list_grouped(State(c): State<FakeCluster>, Path((group, version, ns, plural)): Path<(String, String, String, String)>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    list_or_watch(c, ns, plural.clone(), kind_of(&plural), format!("{group}/{version}"), q)
}

/// The exec subresource: the command runs as a process here, in the pod's
/// working directory, its streams framed on the WebSocket by channel.
async fn exec(State(c): State<FakeCluster>, Path((ns, name)): Path<(String, String)>, RawQuery(query): RawQuery, upgrade: WebSocketUpgrade) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    c.log(format!("GET /api/v1/namespaces/{ns}/pods/{name}/exec"));
    let command: Vec<String> = pairs.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    let flag = |k: &str| pairs.iter().any(|(key, v)| key == k && v == "true");
    let (stdin, tty) = (flag("stdin"), flag("tty"));
    let workdir = match c.object(&ns, "pods", &name) {
        Some(pod) => pod["spec"]["containers"][0]["workingDir"].as_str().unwrap_or("/").to_owned(),
        None => return status(StatusCode::NOT_FOUND, "NotFound", format!("pods \"{name}\" not found"), "pods", &name),
    };
    upgrade.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]).on_upgrade(move |socket| run(c, socket, command, workdir, stdin, tty))
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

async fn run(c: FakeCluster, mut socket: WebSocket, command: Vec<String>, workdir: String, stdin: bool, tty: bool) {
    let Some((program, args)) = command.split_first() else { return };
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .current_dir(&workdir)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let failure = json!({ "metadata": {}, "status": "Failure", "message": format!("exec: \"{program}\": {e}"), "reason": "InternalError", "code": 500 });
            let _ = socket.send(frame(3, failure.to_string().as_bytes())).await;
            return;
        }
    };
    let mut input = child.stdin.take();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
    let (mut out_open, mut err_open) = (true, true);
    // A terminal's output is one stream, as a PTY's would be.
    let err_channel = if tty { 1 } else { 2 };
    while out_open || err_open {
        tokio::select! {
            n = out.read(&mut out_buf), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => { let _ = socket.send(frame(1, &out_buf[..n])).await; }
            },
            n = err.read(&mut err_buf), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => { let _ = socket.send(frame(err_channel, &err_buf[..n])).await; }
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) if !bytes.is_empty() => match bytes[0] {
                    0 => if let Some(i) = input.as_mut() { let _ = i.write_all(&bytes[1..]).await; },
                    4 => c.state.lock().unwrap().resizes.push(serde_json::from_slice(&bytes[1..]).unwrap_or(Value::Null)),
                    // v5: the client closed a stream (stdin).
                    255 if bytes.get(1) == Some(&0) => { input.take(); }
                    _ => {}
                },
                Some(Ok(_)) => {}
                // The client hung up: the process goes with the stream.
                Some(Err(_)) | None => { let _ = child.kill().await; return; }
            },
        }
    }
    let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
    let status = if code == 0 {
        json!({ "metadata": {}, "status": "Success" })
    } else {
        json!({ "metadata": {}, "status": "Failure", "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode", "details": { "causes": [{ "reason": "ExitCode", "message": code.to_string() }] } })
    };
    let _ = socket.send(frame(3, status.to_string().as_bytes())).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// The guest of a running instance, booted from its cloud-init secret at
/// the first connection.
async fn guest(c: &FakeCluster, ns: &str, name: &str) -> Result<Arc<Guest>, Response> {
    let key = (ns.to_owned(), name.to_owned());
    if let Some(guest) = c.state.lock().unwrap().guests.get(&key) {
        return Ok(guest.clone());
    }
    let not_running = || status(StatusCode::BAD_REQUEST, "BadRequest", format!("VirtualMachineInstance {name} in namespace {ns} not running"), "virtualmachineinstances", name);
    let vmi = c.object(ns, "virtualmachineinstances", name).ok_or_else(|| status(StatusCode::NOT_FOUND, "NotFound", format!("virtualmachineinstances.kubevirt.io \"{name}\" not found"), "virtualmachineinstances", name))?;
    if vmi["status"]["phase"] != "Running" {
        return Err(not_running());
    }
    let volumes = vmi["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    let secret_name = volumes.iter().find_map(|v| v["cloudInitNoCloud"]["secretRef"]["name"].as_str().map(str::to_owned)).ok_or_else(not_running)?;
    let secret = c.object(ns, "secrets", &secret_name).ok_or_else(not_running)?;
    let user_data = base64::engine::general_purpose::STANDARD.decode(secret["data"]["userdata"].as_str().unwrap_or_default()).unwrap_or_default();
    let impostor = c.state.lock().unwrap().behaviour.impostor_guests;
    let guest = Guest::boot(&String::from_utf8_lossy(&user_data), impostor)
        .await
        .map_err(|e| status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", format!("the guest did not boot: {e}"), "virtualmachineinstances", name))?;
    let guest = Arc::new(guest);
    let mut state = c.state.lock().unwrap();
    Ok(state.guests.entry(key).or_insert(guest).clone())
}

/// KubeVirt's portforward subresource: a WebSocket whose binary messages
/// are the bytes of a TCP connection to the guest's port.
async fn portforward(State(c): State<FakeCluster>, Path((ns, name, port, protocol)): Path<(String, String, u16, String)>, upgrade: WebSocketUpgrade) -> Response {
    c.log(format!("GET /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/portforward/{port}/{protocol}"));
    if port != 22 || protocol != "tcp" {
        return status(StatusCode::BAD_REQUEST, "BadRequest", format!("nothing listens on {protocol} port {port} of {name}"), "virtualmachineinstances", &name);
    }
    let guest = match guest(&c, &ns, &name).await {
        Ok(guest) => guest,
        Err(refused) => return refused,
    };
    let target = guest.port;
    upgrade.protocols(["plain.kubevirt.io"]).on_upgrade(move |socket| async move {
        let _guest = guest;
        let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else { return };
        relay_tcp(socket, tcp).await;
    })
}

async fn relay_tcp(mut socket: WebSocket, tcp: tokio::net::TcpStream) {
    let (mut from_guest, mut to_guest) = tcp.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = from_guest.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => if socket.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() { break },
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => if to_guest.write_all(&bytes).await.is_err() { break },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
