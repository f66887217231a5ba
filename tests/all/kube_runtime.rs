//! The Kubernetes runtime against a test API server that answers its
//! requests as a real one does (no cluster can run here): a session's
//! namespace with its network policy, quota and limit range; a pod
//! machine made ready, commands (exit codes, stdin, working directory,
//! environment, timeouts, output caps), files and directories, a terminal
//! with resizes, listing, and removal with the namespace; a cluster out of
//! quota, an image that cannot be pulled and a virtual machine no node can
//! take, each a clear error with nothing left behind; readiness followed
//! by a watch, again after one expires; a namespace that already exists
//! refused and left alone; a virtual machine
//! booted with the session's keys and reached over SSH through the
//! portforward subresource (commands, files, a terminal with a PTY), one
//! answering with a host key not its own refused; and a restart that
//! adopts running sessions and removes orphans.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use proctor::{
    api::ApiError,
    capabilities::Command,
    runtime::{
        EnvironmentSpec, ImageSource, MachineSpec, Resources, Runtime, RuntimeError, TerminalSize,
        kube::{KubeRuntime, KubernetesConfig, manifests::VmStorage},
    },
    sessions::{SessionError, Sessions},
};
use proctor_tests::{
    databases::sqlite,
    fake_kube::{Behaviour, FakeCluster},
};
use serde_json::json;
use tokio::io::AsyncWriteExt;

fn runtime(cluster: &FakeCluster, ready_timeout_seconds: u64) -> KubeRuntime {
    KubeRuntime::with_client(cluster.client(), KubernetesConfig { ready_timeout_seconds, ..KubernetesConfig::default() }, "kube-test")
}

fn machine(name: &str, image: ImageSource, workdir: &std::path::Path) -> MachineSpec {
    MachineSpec { name: name.into(), image, resources: Resources { memory_bytes: 512 << 20, cpus: 1.0, pids: 128 }, workdir: workdir.display().to_string() }
}

fn spec(session: &str, machines: Vec<MachineSpec>) -> EnvironmentSpec {
    EnvironmentSpec { session: session.into(), lab: "kube-lab".into(), owner: "u1".into(), machines, egress: vec!["203.0.113.0/24:443".parse().unwrap()] }
}

fn on(machine: &str, script: &str) -> Command {
    Command { machine: machine.into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() }
}

fn sh(script: &str) -> Command {
    on("main", script)
}

/// Commands (exit codes, both streams, stdin, place, environment, time
/// limit, output cap) and files and directories on `machine` of `session`.
async fn commands_and_files_work(kube: &KubeRuntime, session: &str, machine: &str, dir: &std::path::Path) {
    let sh = |script: &str| on(machine, script);
    let out = kube.exec(session, &sh("echo out; echo err >&2; exit 3")).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.0.as_slice(), out.stderr.0.as_slice()), (3, &b"out\n"[..], &b"err\n"[..]));
    let cat = Command { stdin: Some(b"typed in\n".to_vec().into()), ..sh("tr a-z A-Z") };
    assert_eq!(kube.exec(session, &cat).await.unwrap().stdout.0, b"TYPED IN\n");
    std::fs::create_dir_all(dir.join("sub dir")).unwrap();
    let placed = Command { workdir: Some(dir.join("sub dir").display().to_string()), env: vec![("GREETING".into(), "hi there".into())], ..sh("basename \"$PWD\"; echo \"$GREETING\"") };
    assert_eq!(String::from_utf8_lossy(&kube.exec(session, &placed).await.unwrap().stdout.0), "sub dir\nhi there\n");
    let slow = Command { timeout: Some(Duration::from_millis(300)), ..sh("sleep 5") };
    assert!(matches!(kube.exec(session, &slow).await, Err(RuntimeError::TimedOut(300))));
    let loud = Command { max_output_bytes: Some(100), ..sh("head -c 5000 /dev/zero") };
    let loud = kube.exec(session, &loud).await.unwrap();
    assert_eq!((loud.stdout.0.len(), loud.stdout_truncated), (100, true));

    // Files and directories travel through commands.
    let file = dir.join("work/notes.txt").display().to_string();
    kube.write_file(session, machine, &file, b"line one\nline two\n", 0o750).await.unwrap();
    let read = kube.read_file(session, machine, &file, 9).await.unwrap();
    assert_eq!((read.data.0.as_slice(), read.size, read.truncated), (&b"line one\n"[..], 18, true));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(matches!(kube.read_file(session, machine, &dir.join("nope").display().to_string(), 10).await, Err(RuntimeError::NotFound(_))));
    assert!(matches!(kube.read_file(session, machine, "../etc/passwd", 10).await, Err(RuntimeError::InvalidPath(_))));
    let tar = kube.archive_dir(session, machine, &dir.join("work").display().to_string(), 1 << 20).await.unwrap();
    let copy = dir.join("restored");
    kube.restore_dir(session, machine, &copy.display().to_string(), &tar).await.unwrap();
    assert_eq!(std::fs::read_to_string(copy.join("notes.txt")).unwrap(), "line one\nline two\n");
    assert!(matches!(kube.archive_dir(session, machine, &dir.join("work").display().to_string(), 100).await, Err(RuntimeError::TooLarge(_))));

}


#[tokio::test]
async fn a_pod_session_is_made_used_and_removed_through_the_api_server() {
    let cluster = FakeCluster::start(Behaviour::default()).await;
    let kube = runtime(&cluster, 10);
    let dir = tempfile::tempdir().unwrap();
    kube.create(&spec("s1", vec![machine("main", ImageSource::Reference("debian:bookworm".into()), dir.path())])).await.unwrap();

    // The objects, in order, then readiness polled.
    let requests = cluster.requests();
    assert_eq!(
        requests[..6],
        [
            "POST /api/v1/namespaces",
            "POST /apis/networking.k8s.io/v1/namespaces/proctor-s1/networkpolicies",
            "POST /api/v1/namespaces/proctor-s1/resourcequotas",
            "POST /api/v1/namespaces/proctor-s1/limitranges",
            "POST /api/v1/namespaces/proctor-s1/pods",
            "POST /api/v1/namespaces/proctor-s1/services",
        ],
        "{requests:#?}"
    );
    // Readiness: the pod read once (still pending), then followed by a watch.
    assert_eq!(
        requests[6..8],
        ["LIST pods in proctor-s1 metadata.name=main", "WATCH pods in proctor-s1 metadata.name=main"],
        "{requests:#?}"
    );
    let ns = cluster.object("", "namespaces", "proctor-s1").unwrap();
    assert_eq!((ns["metadata"]["labels"]["dev.proctor.session"].as_str(), ns["metadata"]["labels"]["dev.proctor.instance"].as_str()), (Some("s1"), Some("kube-test")));
    let policy = cluster.object("proctor-s1", "networkpolicies", "proctor-isolation").unwrap();
    assert_eq!(policy["spec"]["ingress"], json!([{"from": [{"podSelector": {}}]}]), "only the session's own pods get in");
    assert!(policy["spec"]["egress"].as_array().unwrap().iter().any(|r| r["to"][0]["ipBlock"]["cidr"] == "203.0.113.0/24" && r["ports"][0]["port"] == 443));
    let quota = cluster.object("proctor-s1", "resourcequotas", "proctor-quota").unwrap();
    assert_eq!((quota["spec"]["hard"]["limits.memory"].as_str(), quota["spec"]["hard"]["pods"].as_str()), (Some("512Mi"), Some("3")));
    let pod = cluster.object("proctor-s1", "pods", "main").unwrap();
    let security = &pod["spec"]["containers"][0]["securityContext"];
    assert_eq!((security["allowPrivilegeEscalation"].as_bool(), security["capabilities"]["drop"][0].as_str()), (Some(false), Some("ALL")));

    commands_and_files_work(&kube, "s1", "main", dir.path()).await;

    // A terminal: typing, output, resizes on the resize channel.
    let mut terminal = kube.open_terminal("s1", "main", TerminalSize { cols: 100, rows: 30 }).await.unwrap();
    terminal.input.write_all(b"echo hi-$((6*7))\n").await.unwrap();
    read_until(&mut terminal, "hi-42").await;
    terminal.resizer.resize(TerminalSize { cols: 120, rows: 40 }).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cluster.resizes().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", cluster.resizes());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cluster.resizes(), [json!({"Width": 100, "Height": 30}), json!({"Width": 120, "Height": 40})]);
    terminal.resizer.terminate().await.unwrap();

    let owned = kube.list_owned().await.unwrap();
    assert_eq!((owned.len(), owned[0].session.as_str(), owned[0].lab.as_str(), owned[0].machines.as_slice()), (1, "s1", "kube-lab", &["main".to_owned()][..]));
    kube.destroy("s1").await.unwrap();
    assert!(cluster.namespaces().is_empty(), "the namespace goes, and everything in it");
    assert!(cluster.object("proctor-s1", "pods", "main").is_none());
    kube.destroy("s1").await.unwrap();
    assert!(kube.list_owned().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_cluster_that_refuses_leaves_a_clear_error_and_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let full = FakeCluster::start(Behaviour { pods_over_quota: true, ..Behaviour::default() }).await;
    let refused = runtime(&full, 10).create(&spec("s2", vec![machine("main", ImageSource::Reference("debian".into()), dir.path())])).await.unwrap_err();
    assert!(matches!(&refused, RuntimeError::Capacity(m) if m.contains("exceeded quota")), "{refused:?}");
    let api = ApiError::from(SessionError::Runtime(refused));
    assert_eq!((api.status.as_u16(), api.code, api.retry_after), (503, "no_capacity", Some(60)), "{api:?}");
    assert!(full.namespaces().is_empty(), "the half-made namespace is deleted");

    let cluster = FakeCluster::start(Behaviour { unpullable_image: Some("registry.invalid/nope:1".into()), ..Behaviour::default() }).await;
    let failed = runtime(&cluster, 10).create(&spec("s3", vec![machine("main", ImageSource::Reference("registry.invalid/nope:1".into()), dir.path())])).await.unwrap_err();
    assert!(failed.to_string().contains("machine main cannot start: ImagePullBackOff"), "{failed}");
    assert!(cluster.namespaces().is_empty());

    // A watch that has expired (410 Gone) is followed by a fresh list and watch.
    let compacted = FakeCluster::start(Behaviour { expired_watches: 1, ..Behaviour::default() }).await;
    runtime(&compacted, 10).create(&spec("s7", vec![machine("main", ImageSource::Reference("debian".into()), dir.path())])).await.unwrap();
    let follows: Vec<String> = compacted.requests().into_iter().filter(|r| r.starts_with("LIST") || r.starts_with("WATCH")).collect();
    // (The second list finds the pod ready: no second watch is needed.)
    assert_eq!(follows, ["LIST pods in proctor-s7 metadata.name=main", "WATCH pods in proctor-s7 metadata.name=main", "LIST pods in proctor-s7 metadata.name=main"], "{follows:#?}");
    // A namespace left by an earlier attempt at the same session is a conflict, said plainly.
    let taken = runtime(&compacted, 10).create(&spec("s7", vec![machine("main", ImageSource::Reference("debian".into()), dir.path())])).await.unwrap_err();
    assert!(taken.to_string().contains("already exists") && taken.to_string().contains("409"), "{taken}");
    assert_eq!(compacted.namespaces(), ["proctor-s7"], "the namespace that was there is not this attempt's to remove");

    let dockerfile = ImageSource::Dockerfile { context: dir.path().into(), dockerfile: "Dockerfile".into() };
    assert!(!runtime(&cluster, 10).supports(&dockerfile), "a Dockerfile lab is not startable without a builder");
}

/// Reads a terminal until `what` shows, within ten seconds.
async fn read_until(terminal: &mut proctor::runtime::Terminal, what: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(what) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), terminal.output.next()).await.unwrap_or_else(|_| panic!("no {what:?} in {seen:?}")).expect("open").unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

fn decoded(secret: &serde_json::Value, entry: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(secret["data"][entry].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_virtual_machine_is_reached_over_ssh_through_the_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::start(Behaviour::default()).await;
    // Root disks on volumes the cluster's importer fills from the image.
    let storage = VmStorage::Volume { storage_class: Some("fast-ssd".into()), size: "30Gi".into() };
    let kube = KubeRuntime::with_client(cluster.client(), KubernetesConfig { ready_timeout_seconds: 20, vm_storage: storage, ..KubernetesConfig::default() }, "kube-test");
    let disk = ImageSource::Disk { disk: "quay.io/proctor/kubeadm-node:1.31".into() };
    assert!(kube.supports(&disk));
    kube.create(&spec("s4", vec![machine("control-plane", disk, dir.path())])).await.unwrap();

    // The machine boots the lab's disk with its cloud-init data in a secret:
    // the session's login key, and a host key the server pins.
    let vm = cluster.object("proctor-s4", "virtualmachines", "control-plane").unwrap();
    let template = &vm["spec"]["template"]["spec"];
    assert_eq!((vm["spec"]["runStrategy"].as_str(), template["volumes"][0]["dataVolume"]["name"].as_str()), (Some("Always"), Some("control-plane-root")));
    let root = &vm["spec"]["dataVolumeTemplates"][0]["spec"];
    assert_eq!((root["source"]["registry"]["url"].as_str(), root["storage"]["storageClassName"].as_str()), (Some("docker://quay.io/proctor/kubeadm-node:1.31"), Some("fast-ssd")));
    assert_eq!(template["volumes"][1]["cloudInitNoCloud"]["secretRef"]["name"], "control-plane-cloud-init");
    let keys = cluster.object("proctor-s4", "secrets", "proctor-ssh").unwrap();
    assert!(decoded(&keys, "id_ed25519").starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let user_data = decoded(&cluster.object("proctor-s4", "secrets", "control-plane-cloud-init").unwrap(), "userdata");
    assert!(user_data.contains(decoded(&keys, "host_ed25519.pub").trim()), "the pinned host key is the one the machine gets: {user_data}");
    // Ready means SSH answered, through the instance's portforward.
    let requests = cluster.requests();
    let tunnel = "GET /apis/subresources.kubevirt.io/v1/namespaces/proctor-s4/virtualmachineinstances/control-plane/portforward/22/tcp";
    assert!(requests.iter().any(|r| r == tunnel), "{requests:#?}");

    commands_and_files_work(&kube, "s4", "control-plane", dir.path()).await;
    let who = kube.exec("s4", &on("control-plane", "id -un")).await.unwrap();
    assert_eq!(who.stdout.0, b"root\n");

    // A terminal with a PTY: typing, output, a resize the shell sees, and
    // the shell's exit code.
    let mut terminal = kube.open_terminal("s4", "control-plane", TerminalSize { cols: 100, rows: 30 }).await.unwrap();
    terminal.input.write_all(b"stty size; echo hi-$((6*7))\n").await.unwrap();
    let seen = read_until(&mut terminal, "hi-42").await;
    assert!(seen.contains("30 100"), "{seen:?}");
    terminal.resizer.resize(TerminalSize { cols: 120, rows: 40 }).await.unwrap();
    terminal.input.write_all(b"stty size; echo sized-$((6*7))\n").await.unwrap();
    assert!(read_until(&mut terminal, "sized-42").await.contains("40 120"));
    terminal.input.write_all(b"exit 7\n").await.unwrap();
    while tokio::time::timeout(Duration::from_secs(10), terminal.output.next()).await.expect("the shell ends").is_some() {}
    assert_eq!(terminal.resizer.exit_code().await, Some(7));

    // A restarted server (no keys in memory) reaches the machine with the
    // keys kept in the session's secret.
    let restarted = runtime(&cluster, 20);
    assert_eq!(restarted.exec("s4", &on("control-plane", "echo again")).await.unwrap().stdout.0, b"again\n");

    kube.destroy("s4").await.unwrap();
    assert!(cluster.namespaces().is_empty());
    assert!(kube.exec("s4", &on("control-plane", "true")).await.is_err(), "an ended session's machine is gone");
}

#[tokio::test]
async fn virtual_machines_that_cannot_be_trusted_or_scheduled_fail_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    // A machine that answers SSH with a host key other than the one it was
    // given is not the session's machine.
    let impostors = FakeCluster::start(Behaviour { impostor_guests: true, ..Behaviour::default() }).await;
    let disk = ImageSource::Disk { disk: "quay.io/proctor/kubeadm-node:1.31".into() };
    let refused = runtime(&impostors, 3).create(&spec("s6", vec![machine("node", disk, dir.path())])).await.unwrap_err();
    assert!(refused.to_string().contains("host key that is not the session's"), "{refused}");
    assert!(impostors.namespaces().is_empty());

    let cluster = FakeCluster::start(Behaviour { unschedulable_disk: Some("quay.io/proctor/huge:1".into()), ..Behaviour::default() }).await;
    let began = std::time::Instant::now();
    let stuck = runtime(&cluster, 2).create(&spec("s5", vec![machine("big", ImageSource::Disk { disk: "quay.io/proctor/huge:1".into() }, dir.path())])).await.unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(10), "bounded by the ready timeout");
    let said = stuck.to_string();
    assert!(said.contains("not ready after 2 s") && said.contains("Scheduling") && said.contains("Insufficient devices.kubevirt.io/kvm"), "{said}");
    assert!(cluster.namespaces().is_empty(), "the stuck machine's namespace is deleted");
}

#[tokio::test]
async fn a_restarted_server_adopts_its_sessions_and_removes_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::start(Behaviour::default()).await;
    let store = sqlite().await;
    let mut lab = proctor_tests::hour_long_lab("kube-lab");
    lab.machines[0].workdir = dir.path().display().to_string();
    let sessions = Sessions::new(store.clone(), Arc::new(runtime(&cluster, 10)), Default::default());
    assert!(sessions.set_lab(lab.clone()));
    let started = sessions.start("u1", "kube-lab").await.unwrap();
    // A namespace of this server that no session owns, and one of another server.
    let labels = |instance: &str, session: &str| json!({"dev.proctor.managed": "true", "dev.proctor.instance": instance, "dev.proctor.session": session});
    cluster.plant("", "namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "proctor-sorphan", "labels": labels("kube-test", "sorphan")}}));
    cluster.plant("", "namespaces", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "proctor-sother", "labels": labels("someone-else", "sother")}}));

    let restarted = Sessions::new(store, Arc::new(runtime(&cluster, 10)), Default::default());
    restarted.set_lab(lab);
    let report = restarted.reconcile().await.unwrap();
    assert_eq!((report.adopted, report.removed_orphans), (vec![started.session.id.clone()], vec!["sorphan".to_owned()]));
    assert_eq!(cluster.namespaces(), [format!("proctor-{}", started.session.id), "proctor-sother".to_owned()], "another server's namespace is not touched");
    let out = restarted.runtime().exec(&started.session.id, &sh("echo still here")).await.unwrap();
    assert_eq!(out.stdout.0, b"still here\n");
}
