//! Images on a real engine: a judge builds an image from a machine's files,
//! runs it, probes it over HTTP and stops it, reaching only its own
//! session's; a session takes its images with it; a lab's Dockerfile builds
//! its machine image once per content.

use std::{path::PathBuf, sync::Arc, time::Duration};

use proctor::{
    capabilities::{BuildRequest, Environment, HttpRequest, RunRequest},
    runtime::{ImageSource, Runtime, RuntimeError, docker::DockerRuntime, session_env::SessionEnvironment},
};

use super::{cleanup, docker_cli, session, sh, spec, started};
use proctor_tests::{EngineCleanup, docker_enabled};

const SERVER: &str = r#"
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"chunked ", b"body"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        body = b"x" * (2 << 20) if self.path == "/big" else b"hello from " + self.path.encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("", 8000), Handler).serve_forever()
"#;

/// Writes files into a machine, making their directory first.
async fn put(docker: &DockerRuntime, id: &str, dir: &str, files: &[(&str, &str)]) {
    docker.exec(id, &sh(&format!("mkdir -p {dir}"))).await.unwrap();
    for (name, content) in files {
        docker.write_file(id, "main", &format!("{dir}/{name}"), content.as_bytes(), 0o644).await.unwrap();
    }
}

fn build(context_dir: &str) -> BuildRequest {
    BuildRequest { machine: "main".into(), context_dir: context_dir.into(), ..BuildRequest::default() }
}

fn get(container: &str, path: &str) -> HttpRequest {
    HttpRequest { container: container.into(), port: 8000, path: path.into(), timeout: Some(Duration::from_secs(20)) }
}

/// What the engine still holds with the session's label.
fn leftovers(session: &str) -> String {
    let label = format!("label=dev.proctor.session={session}");
    [
        docker_cli(&["ps", "-aq", "--filter", &label]),
        docker_cli(&["network", "ls", "-q", "--filter", &label]),
        docker_cli(&["images", "-q", "--filter", &label]),
    ]
    .concat()
}

#[tokio::test]
async fn a_judge_builds_runs_and_probes_an_image_and_the_session_takes_it_all_away() {
    let test = "a_judge_builds_runs_and_probes_an_image_and_the_session_takes_it_all_away";
    let Some((docker, id, _guard)) = started(test, "e2e").await else {
        return;
    };
    let dockerfile = "FROM proctor/base:bookworm\nCOPY server.py /\nCMD [\"python3\", \"/server.py\"]\n";
    put(&docker, &id, "/workspace/app", &[("server.py", SERVER), ("Dockerfile", dockerfile)]).await;
    let runtime: Arc<dyn Runtime> = Arc::new(docker.clone());
    // What a judge sees: the session's capabilities.
    let env = SessionEnvironment::new(runtime.clone(), id.clone());

    let report = env.build_image(&build("/workspace/app")).await.unwrap();
    assert_eq!(report.error, None, "{}", report.log);
    let image = report.image.clone().expect("an image");
    assert!(image.starts_with("proctor-build/"), "{image}");
    assert!(report.size_bytes > 0 && report.log.contains("COPY server.py"), "{report:?}");

    let app = env.run_image(&RunRequest { image: image.clone(), ports: vec![8000], ..RunRequest::default() }).await.unwrap();
    let hello = env.http_get(&get(&app.handle, "/hi")).await.unwrap();
    assert_eq!((hello.status, hello.body.0.as_slice(), hello.truncated), (200, &b"hello from /hi"[..], false));
    let chunked = env.http_get(&get(&app.handle, "/chunked")).await.unwrap();
    assert_eq!(chunked.body.0, b"chunked body");
    let big = env.http_get(&get(&app.handle, "/big")).await.unwrap();
    assert_eq!((big.body.0.len(), big.truncated), (1 << 20, true));
    // The machine reaches the container by its address on the session network.
    let curl = docker.exec(&id, &sh(&format!("curl -s http://{}:8000/from-main", app.address))).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&curl.stdout.0), "hello from /from-main");

    // A broken Dockerfile is a report, with the log, not an error.
    put(&docker, &id, "/workspace/broken", &[("Dockerfile", "FROM proctor/base:bookworm\nRUN echo failing step && exit 3\n")]).await;
    let broken = runtime.build_image(&id, &build("/workspace/broken")).await.unwrap();
    assert!(broken.image.is_none() && broken.error.as_deref().is_some_and(|e| e.contains("returned a non-zero code: 3")), "{broken:?}");
    assert!(broken.log.contains("failing step"), "{}", broken.log);
    let missing = runtime.build_image(&id, &BuildRequest { dockerfile: Some("Nope".into()), ..build("/workspace/app") }).await.unwrap();
    assert!(missing.error.is_some(), "{missing:?}");

    env.stop_container(&app.handle).await.unwrap();
    let stopped = runtime.http_get(&id, &get(&app.handle, "/")).await.unwrap_err();
    assert!(matches!(stopped, RuntimeError::NotFound(_)), "{stopped:?}");
    // One left running: the session takes it, the images and the network.
    let running = runtime.run_image(&id, &RunRequest { image: image.clone(), ..RunRequest::default() }).await.unwrap();
    assert!(leftovers(&id).lines().count() >= 3, "a container, the network and an image");
    runtime.destroy(&id).await.unwrap();
    assert_eq!(leftovers(&id), "", "nothing with the session's label remains");
    assert!(runtime.list_owned().await.unwrap().iter().all(|o| o.session != id));
    assert!(docker_cli(&["ps", "-aq", "--filter", &format!("name={}", running.handle)]).is_empty());
}

#[tokio::test]
async fn a_session_runs_and_stops_only_what_it_built_and_started() {
    let test = "a_session_runs_and_stops_only_what_it_built_and_started";
    let Some((docker, mine, _guard)) = started(test, "mine").await else {
        return;
    };
    let theirs = session("theirs");
    let _their_guard = cleanup(&theirs);
    docker.create(&spec(&theirs)).await.unwrap();
    put(&docker, &mine, "/workspace/idle", &[("Dockerfile", "FROM proctor/base:bookworm\nCMD [\"sleep\", \"infinity\"]\n")]).await;
    let image = docker.build_image(&mine, &build("/workspace/idle")).await.unwrap().image.expect("built");
    let started = docker.run_image(&mine, &RunRequest { image: image.clone(), ..RunRequest::default() }).await.unwrap();

    for other in [image.as_str(), "proctor/base:bookworm", "proctor-build/x:1", "sha256:0123"] {
        let refused = docker.run_image(&theirs, &RunRequest { image: other.into(), ..RunRequest::default() }).await.unwrap_err();
        assert!(matches!(&refused, RuntimeError::Invalid(m) if m.contains("not an image this session built")), "{other}: {refused:?}");
    }
    let refused = docker.stop_container(&theirs, &started.handle).await.unwrap_err();
    assert!(matches!(refused, RuntimeError::NotFound(_)), "{refused:?}");
    let refused = docker.http_get(&theirs, &get(&started.handle, "/")).await.unwrap_err();
    assert!(matches!(refused, RuntimeError::NotFound(_)), "{refused:?}");
    for machine_handle in [format!("proctor-{mine}-main"), "../images/json".to_owned()] {
        assert!(docker.stop_container(&mine, &machine_handle).await.is_err(), "a machine or a path is no handle: {machine_handle}");
    }

    let sneaky = docker.build_image(&mine, &build("/workspace/../etc")).await.unwrap_err();
    assert!(matches!(sneaky, RuntimeError::InvalidPath(_)), "{sneaky:?}");
    let sneaky = docker.build_image(&mine, &BuildRequest { dockerfile: Some("../Dockerfile".into()), ..build("/workspace/idle") }).await.unwrap_err();
    assert!(matches!(sneaky, RuntimeError::Invalid(_)), "{sneaky:?}");
    let nowhere = docker.build_image(&mine, &BuildRequest { machine: "nope".into(), ..build("/workspace/idle") }).await.unwrap_err();
    assert!(matches!(nowhere, RuntimeError::NotFound(_)), "{nowhere:?}");
    let no_dir = docker.build_image(&mine, &build("/workspace/none")).await.unwrap_err();
    assert!(matches!(no_dir, RuntimeError::NotFound(_)), "{no_dir:?}");

    // Still running after the refusals: its own session stops it.
    docker.stop_container(&mine, &started.handle).await.unwrap();
    docker.destroy(&theirs).await.unwrap();
    // A session whose machines and network are gone is still listed while
    // an image of it remains, and destroying it removes the image.
    docker_cli(&["rm", "-f", &format!("proctor-{mine}-main")]);
    docker_cli(&["network", "rm", &format!("proctor-{mine}")]);
    let owned = docker.list_owned().await.unwrap();
    let listed = owned.iter().find(|o| o.session == mine).expect("listed by its image");
    assert!(listed.machines.is_empty() && listed.lab == "runtime-test", "{listed:?}");
    docker.destroy(&mine).await.unwrap();
    assert!(docker_cli(&["images", "-q", &image]).is_empty(), "the image went with the session");
}

/// A lab image context on the host, unique to this test run.
fn lab_context(name: &str, marker: &str, dockerfile: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("proctor-lab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker.txt"), marker).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

/// The tag and image id a session's machine runs.
fn machine_image(session: &str) -> (String, String) {
    let out = docker_cli(&["inspect", "-f", "{{.Config.Image}} {{.Image}}", &format!("proctor-{session}-main")]);
    let (tag, id) = out.trim().split_once(' ').expect("tag and id");
    (tag.to_owned(), id.to_owned())
}

/// Image tags the engine reported between two instants (of any test
/// running beside this one, too).
fn tagged_between(since: &str, until: &str) -> String {
    docker_cli(&["events", "--since", since, "--until", until, "--filter", "type=image", "--filter", "event=tag"])
}

fn now() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

#[tokio::test]
async fn a_lab_dockerfile_builds_its_machine_image_once_per_content() {
    if !docker_enabled("a_lab_dockerfile_builds_its_machine_image_once_per_content") {
        return;
    }
    let docker = DockerRuntime::connect().await.expect("engine reachable");
    let lab = format!("lab-image-{}", std::process::id());
    // Lab images carry no session label: this test removes its own.
    let _lab_images = EngineCleanup::default().label("dev.proctor.lab-image", &lab);
    let dockerfile = "FROM proctor/base:bookworm\nCOPY marker.txt /marker.txt\n";
    let context = lab_context("image", &format!("first {}", now()), dockerfile);
    let with_image = |session: &str, context: &PathBuf| {
        let mut s = spec(session);
        s.lab = lab.clone();
        s.machines[0].image = ImageSource::Dockerfile { context: context.clone(), dockerfile: "Dockerfile".into() };
        s
    };
    let cat_marker = async |session: &str| String::from_utf8(docker.exec(session, &sh("cat /marker.txt")).await.unwrap().stdout.0).unwrap();

    let (a, b, c) = (session("lab-a"), session("lab-b"), session("lab-c"));
    let _guards = [cleanup(&a), cleanup(&b), cleanup(&c)];
    docker.create(&with_image(&a, &context)).await.unwrap();
    let (tag, image_id) = machine_image(&a);
    assert!(tag.starts_with(&format!("proctor-lab/{lab}:")), "{tag}");
    assert!(cat_marker(&a).await.starts_with("first"));

    let since = now();
    docker.create(&with_image(&b, &context)).await.unwrap();
    assert_eq!(machine_image(&b), (tag.clone(), image_id.clone()), "the cached image");
    let tagged = tagged_between(&since, &now());
    assert!(!tagged.contains(&lab), "nothing was built or tagged for the lab:\n{tagged}");

    std::fs::write(context.join("marker.txt"), "second").unwrap();
    let since = now();
    docker.create(&with_image(&c, &context)).await.unwrap();
    assert!(tagged_between(&since, &now()).contains(&lab), "a changed context was built");
    let (new_tag, new_id) = machine_image(&c);
    assert!(new_tag != tag && new_id != image_id, "{new_tag}");
    assert_eq!(cat_marker(&c).await, "second");
    for s in [&a, &b, &c] {
        docker.destroy(s).await.unwrap();
    }
    assert!(!docker_cli(&["images", "-q", &tag]).is_empty(), "a lab image outlives its sessions");

    // A broken lab Dockerfile fails the session with the build's words.
    let broken = lab_context("broken", "x", "FROM proctor/base:bookworm\nRUN echo lab step broke && false\n");
    let d = session("lab-d");
    let _guard = cleanup(&d);
    let err = docker.create(&with_image(&d, &broken)).await.unwrap_err();
    assert!(matches!(&err, RuntimeError::ImageBuild { log_tail, .. } if log_tail.contains("lab step broke")), "{err:?}");
    assert!(docker.list_owned().await.unwrap().iter().all(|o| o.session != d));
    for dir in [context, broken] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
