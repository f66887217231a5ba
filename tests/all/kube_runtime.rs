//! The Kubernetes runtime against a test API server that answers its
//! requests as a real one does (no cluster can run here): a session's
//! namespace with its network policy, quota and limit range; a pod
//! machine made ready, commands (exit codes, stdin, working directory,
//! environment, timeouts, output caps), files and directories, a terminal
//! with resizes, listing, and removal with the namespace; a cluster out of
//! quota, an image that cannot be pulled and a virtual machine no node can
//! take, each a clear error with nothing left behind; a virtual machine
//! booted with the session's SSH key; and a restart that adopts running
//! sessions and removes orphans.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use proctor::{
    api::ApiError,
    capabilities::Command,
    runtime::{
        EnvironmentSpec, ImageSource, MachineSpec, Resources, Runtime, RuntimeError, TerminalSize,
        kube::{KubeRuntime, KubernetesConfig},
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

fn sh(script: &str) -> Command {
    Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() }
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
    assert!(requests[6..].iter().all(|r| r == "GET /api/v1/namespaces/proctor-s1/pods/main") && requests.len() >= 8, "{requests:#?}");
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

    // Commands: exit codes and both streams, stdin, place and environment.
    let out = kube.exec("s1", &sh("echo out; echo err >&2; exit 3")).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.0.as_slice(), out.stderr.0.as_slice()), (3, &b"out\n"[..], &b"err\n"[..]));
    let cat = Command { stdin: Some(b"typed in\n".to_vec().into()), ..sh("tr a-z A-Z") };
    assert_eq!(kube.exec("s1", &cat).await.unwrap().stdout.0, b"TYPED IN\n");
    std::fs::create_dir_all(dir.path().join("sub dir")).unwrap();
    let placed = Command { workdir: Some(dir.path().join("sub dir").display().to_string()), env: vec![("GREETING".into(), "hi there".into())], ..sh("basename \"$PWD\"; echo \"$GREETING\"") };
    assert_eq!(String::from_utf8_lossy(&kube.exec("s1", &placed).await.unwrap().stdout.0), "sub dir\nhi there\n");
    let slow = Command { timeout: Some(Duration::from_millis(300)), ..sh("sleep 5") };
    assert!(matches!(kube.exec("s1", &slow).await, Err(RuntimeError::TimedOut(300))));
    let loud = Command { max_output_bytes: Some(100), ..sh("head -c 5000 /dev/zero") };
    let loud = kube.exec("s1", &loud).await.unwrap();
    assert_eq!((loud.stdout.0.len(), loud.stdout_truncated), (100, true));

    // Files and directories travel through commands.
    let file = dir.path().join("work/notes.txt").display().to_string();
    kube.write_file("s1", "main", &file, b"line one\nline two\n", 0o750).await.unwrap();
    let read = kube.read_file("s1", "main", &file, 9).await.unwrap();
    assert_eq!((read.data.0.as_slice(), read.size, read.truncated), (&b"line one\n"[..], 18, true));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(matches!(kube.read_file("s1", "main", &dir.path().join("nope").display().to_string(), 10).await, Err(RuntimeError::NotFound(_))));
    assert!(matches!(kube.read_file("s1", "main", "../etc/passwd", 10).await, Err(RuntimeError::InvalidPath(_))));
    let tar = kube.archive_dir("s1", "main", &dir.path().join("work").display().to_string(), 1 << 20).await.unwrap();
    let copy = dir.path().join("restored");
    kube.restore_dir("s1", "main", &copy.display().to_string(), &tar).await.unwrap();
    assert_eq!(std::fs::read_to_string(copy.join("notes.txt")).unwrap(), "line one\nline two\n");
    assert!(matches!(kube.archive_dir("s1", "main", &dir.path().join("work").display().to_string(), 100).await, Err(RuntimeError::TooLarge(_))));

    // A terminal: typing, output, resizes on the resize channel.
    let mut terminal = kube.open_terminal("s1", "main", TerminalSize { cols: 100, rows: 30 }).await.unwrap();
    terminal.input.write_all(b"echo hi-$((6*7))\n").await.unwrap();
    let mut seen = String::new();
    while !seen.contains("hi-42") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), terminal.output.next()).await.expect("output").expect("open").unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
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
    let dockerfile = ImageSource::Dockerfile { context: dir.path().into(), dockerfile: "Dockerfile".into() };
    assert!(!runtime(&cluster, 10).supports(&dockerfile), "a Dockerfile lab is not startable without a builder");
}

#[tokio::test]
async fn virtual_machines_boot_with_the_sessions_key_or_fail_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::start(Behaviour { unschedulable_disk: Some("quay.io/proctor/huge:1".into()), ..Behaviour::default() }).await;
    let kube = runtime(&cluster, 2);
    let disk = ImageSource::Disk { disk: "quay.io/proctor/kubeadm-node:1.31".into() };
    assert!(kube.supports(&disk));
    kube.create(&spec("s4", vec![machine("control-plane", disk, dir.path())])).await.unwrap();
    let vm = cluster.object("proctor-s4", "virtualmachines", "control-plane").unwrap();
    let template = &vm["spec"]["template"]["spec"];
    assert_eq!((vm["spec"]["runStrategy"].as_str(), template["volumes"][0]["containerDisk"]["image"].as_str()), (Some("Always"), Some("quay.io/proctor/kubeadm-node:1.31")));
    let user_data = template["volumes"][1]["cloudInitNoCloud"]["userData"].as_str().unwrap();
    let key = cluster.object("proctor-s4", "secrets", "proctor-ssh").unwrap();
    assert!(key["stringData"]["id_ed25519"].as_str().unwrap().starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(user_data.contains("ssh_authorized_keys:\n      - ssh-ed25519 "), "{user_data}");
    let error = kube.exec("s4", &Command { machine: "control-plane".into(), argv: vec!["true".into()], ..Command::default() }).await.unwrap_err();
    assert!(error.to_string().contains("virtual machine"), "{error}");
    kube.destroy("s4").await.unwrap();

    let began = std::time::Instant::now();
    let stuck = kube.create(&spec("s5", vec![machine("big", ImageSource::Disk { disk: "quay.io/proctor/huge:1".into() }, dir.path())])).await.unwrap_err();
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
