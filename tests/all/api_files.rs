//! The files API on a real engine, as the editor uses it: write a file into
//! a new directory, list, read it back, keep an executable's mode across a
//! save, delete; and every way out of the workspace refused (`..`, absolute
//! paths, symbolic links that lead out, for reads, listings, writes and
//! deletions), an oversized write refused before it lands, someone else's
//! session and an ended one. Runs when `PROCTOR_TEST_DOCKER=1`.

use proctor::{capabilities::Command, config::Config, sessions::Sessions};
use proctor_tests::{
    docker_enabled,
    http::{Answer, guest, request, request_bytes, serve_bundled_labs, start_as_guest},
};

/// Runs `script` in the session's machine and returns its standard output.
async fn shell(sessions: &Sessions, id: &str, script: &str) -> String {
    let cmd = Command { machine: "main".into(), argv: vec!["sh".into(), "-c".into(), script.into()], ..Command::default() };
    let out = sessions.runtime().exec(id, &cmd).await.expect("the command runs");
    String::from_utf8_lossy(&out.stdout.0).into_owned()
}

fn code(answer: &Answer) -> (u16, Option<&str>) {
    (answer.status, answer.json["error"]["code"].as_str())
}

#[tokio::test]
async fn the_editor_reads_and_writes_inside_the_workspace_and_nowhere_else() {
    if !docker_enabled("the_editor_reads_and_writes_inside_the_workspace_and_nowhere_else") {
        return;
    }
    let mut config = Config::default();
    config.sessions.max_file_kib = 1024;
    let (port, sessions) = serve_bundled_labs(config).await;
    let (ann, id, _cleanup) = start_as_guest(port, "first-steps").await;
    let auth = [("Authorization", ann.as_str())];
    let files = format!("/api/v1/sessions/{id}/files");
    let content = format!("{files}/content");

    // Write into a directory that does not exist yet, list, read back.
    let written = request_bytes(port, "PUT", &format!("{content}?path=app/hello.sh"), &auth, b"echo hello\n").await;
    assert_eq!((written.status, written.json["size"].as_u64()), (200, Some(11)), "{written:?}");
    let root = request(port, "GET", &files, &auth, None).await;
    assert_eq!(root.status, 200, "{root:?}");
    assert_eq!(root.json["path"], "");
    assert!(root.json["entries"].as_array().unwrap().iter().any(|e| e["name"] == "app" && e["kind"] == "dir"), "{root:?}");
    let app = request(port, "GET", &format!("{files}?path=app"), &auth, None).await;
    let entry = &app.json["entries"][0];
    assert_eq!((entry["name"].as_str(), entry["path"].as_str(), entry["kind"].as_str(), entry["size"].as_u64()), (Some("hello.sh"), Some("app/hello.sh"), Some("file"), Some(11)), "{app:?}");
    let read = request(port, "GET", &format!("{content}?path=/workspace/app/hello.sh"), &auth, None).await;
    assert_eq!((read.status, read.text.as_str()), (200, "echo hello\n"), "{read:?}");
    assert_eq!(shell(&sessions, &id, "cat /workspace/app/hello.sh").await, "echo hello\n");

    // Saving from the editor keeps the file executable.
    shell(&sessions, &id, "chmod 755 /workspace/app/hello.sh").await;
    request_bytes(port, "PUT", &format!("{content}?path=app/hello.sh"), &auth, b"echo saved\n").await;
    assert_eq!(shell(&sessions, &id, "stat -c %a /workspace/app/hello.sh; /workspace/app/hello.sh").await, "755\nsaved\n");

    // Ways out of the workspace, and a link that leads out.
    shell(&sessions, &id, "ln -s /etc /workspace/etc-link && ln -s /etc/hostname /workspace/host-link && ln -s app /workspace/inner").await;
    for path in ["../etc/passwd", "/etc/passwd", "app/../../etc/passwd", "/workspace/../etc/passwd", "etc-link/passwd", "host-link"] {
        let q = format!("?path={}", path.replace('/', "%2F"));
        let read = request(port, "GET", &format!("{content}{q}"), &auth, None).await;
        assert_eq!(code(&read), (400, Some("path_outside_workspace")), "read {path}: {read:?}");
        let write = request_bytes(port, "PUT", &format!("{content}{q}"), &auth, b"owned").await;
        assert_eq!(code(&write), (400, Some("path_outside_workspace")), "write {path}: {write:?}");
        // Deleting `host-link` removes the link itself, which is inside (below).
        if path != "host-link" {
            let delete = request(port, "DELETE", &format!("{files}{q}"), &auth, None).await;
            assert_eq!(code(&delete), (400, Some("path_outside_workspace")), "delete {path}: {delete:?}");
        }
    }
    let listed = request(port, "GET", &format!("{files}?path=etc-link"), &auth, None).await;
    assert_eq!(code(&listed), (400, Some("path_outside_workspace")), "{listed:?}");
    assert_eq!(shell(&sessions, &id, "test -e /etc/passwd && ! test -e /etc/owned && echo intact").await, "intact\n");
    // A link that stays inside is followed.
    let inner = request(port, "GET", &format!("{content}?path=inner/hello.sh"), &auth, None).await;
    assert_eq!((inner.status, inner.text.as_str()), (200, "echo saved\n"), "{inner:?}");

    // Too large: refused with a clear error, nothing written.
    let big = vec![b'x'; 10_000_000];
    let refused = request_bytes(port, "PUT", &format!("{content}?path=big.bin"), &auth, &big).await;
    assert_eq!(code(&refused), (413, Some("file_too_large")), "{}", refused.text);
    assert!(refused.json["error"]["message"].as_str().unwrap().contains("1048576"), "{refused:?}");
    assert_eq!(shell(&sessions, &id, "test -e /workspace/big.bin || echo absent").await, "absent\n");
    shell(&sessions, &id, "head -c 2000000 /dev/zero > /workspace/large.bin").await;
    let large = request(port, "GET", &format!("{content}?path=large.bin"), &auth, None).await;
    assert_eq!(code(&large), (413, Some("file_too_large")), "{large:?}");

    // Wrong kinds and missing files.
    assert_eq!(code(&request(port, "GET", &format!("{content}?path=app"), &auth, None).await), (400, Some("is_a_directory")));
    assert_eq!(code(&request(port, "GET", &format!("{files}?path=app/hello.sh"), &auth, None).await), (400, Some("not_a_directory")));
    assert_eq!(code(&request(port, "GET", &format!("{content}?path=nope.txt"), &auth, None).await), (404, Some("file_not_found")));
    assert_eq!(code(&request_bytes(port, "PUT", &format!("{content}?path=app"), &auth, b"x").await), (400, Some("is_a_directory")));

    // Deleting: a link (not what it points to), a directory with contents
    // only when recursive, never the root.
    assert_eq!(request(port, "DELETE", &format!("{files}?path=host-link"), &auth, None).await.status, 204);
    assert_eq!(shell(&sessions, &id, "test -e /etc/hostname && ! test -L /workspace/host-link && echo ok").await, "ok\n");
    assert_eq!(code(&request(port, "DELETE", &format!("{files}?path=app"), &auth, None).await), (409, Some("directory_not_empty")));
    assert_eq!(request(port, "DELETE", &format!("{files}?path=app&recursive=true"), &auth, None).await.status, 204);
    assert_eq!(shell(&sessions, &id, "test -e /workspace/app || echo gone").await, "gone\n");
    assert_eq!(code(&request(port, "DELETE", &format!("{files}?path=&recursive=true"), &auth, None).await), (400, Some("cannot_delete_workspace")));
    assert_eq!(code(&request(port, "DELETE", &format!("{files}?path=app"), &auth, None).await), (404, Some("file_not_found")));

    // Someone else's session does not exist for them; an ended one has no files.
    let other = guest(port).await;
    let theirs = request(port, "GET", &files, &[("Authorization", other.as_str())], None).await;
    assert_eq!(code(&theirs), (404, Some("session_not_found")), "{theirs:?}");
    let put = request_bytes(port, "PUT", &format!("{content}?path=x"), &[("Authorization", other.as_str())], b"x").await;
    assert_eq!(code(&put), (404, Some("session_not_found")), "{put:?}");
    request(port, "DELETE", &format!("/api/v1/sessions/{id}"), &auth, None).await;
    let ended = request(port, "GET", &files, &auth, None).await;
    assert_eq!(code(&ended), (409, Some("session_not_running")), "{ended:?}");
}
