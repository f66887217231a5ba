//! The `proctor` binary as authors and administrators use it: `judge
//! build`, `judge run`, `lab validate`, `lab test`, `lab import`, `lab new`,
//! `serve` answering `/healthz` and `/readyz`, and `login` with `plugin
//! push`/`list`/`rollback` hot-loading a judge while a learner's checks run.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn proctor() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_proctor"));
    cmd.current_dir(workspace());
    cmd
}

/// Builds the first-steps judge through the CLI, once per test process.
fn first_steps() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = workspace().join("target").join("cli-test-judges");
            let status = proctor().args(["judge", "build", "first-steps", "--out"]).arg(&out).status().unwrap();
            assert!(status.success(), "judge build failed");
            out.join("judge-first-steps.wasm")
        })
        .clone()
}

fn case(name: &str) -> PathBuf {
    workspace().join("scenarios/first-steps/fixtures").join(format!("{name}.json"))
}

#[test]
fn judge_run_prints_the_verdict_and_exits_by_status() {
    let out = proctor()
        .args(["judge", "run"])
        .arg(first_steps())
        .args(["--task", "create-file", "--fixture"])
        .arg(case("create-file-solved"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASSED") && text.contains("✓ greeting"), "{text}");

    let out = proctor()
        .args(["judge", "run"])
        .arg(first_steps())
        .args(["--task", "write-script", "--json", "--fixture"])
        .arg(case("write-script-not-executable"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(verdict["status"], "failed");
    assert_eq!(verdict["checks"][0]["id"], "script_executable");
    assert_eq!(verdict["plugin"]["name"], "judge-first-steps");
}

#[test]
fn judge_run_names_what_the_fixture_cannot_answer() {
    let dir = std::env::temp_dir().join(format!("proctor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, r#"{"calls": []}"#).unwrap();
    let out = proctor()
        .args(["judge", "run"])
        .arg(first_steps())
        .args(["--task", "create-file", "--fixture"])
        .arg(&empty)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no answer for read-file /workspace/hello.txt on main"), "{err}");
}

#[test]
fn judge_run_refuses_bad_input_clearly() {
    let out = proctor()
        .args(["judge", "run", "no-such.wasm", "--task", "t", "--fixture"])
        .arg(case("create-file-solved"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no-such.wasm"));

    let out = proctor().args(["judge", "build", "no-such-lab"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no crate found"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// What a started server answered, and what it left in its data directory.
struct Served {
    healthz: String,
    readyz: String,
    /// Judges compiled into the data directory's cache.
    cached: usize,
    /// The SQLite store was created in the data directory.
    store_created: bool,
}

fn get(port: u16, path: &str) -> std::io::Result<String> {
    send(port, "GET", path, None, "")
}

/// One HTTP/1.1 exchange: the whole response, headers and all.
fn send(port: u16, method: &str, path: &str, token: Option<&str>, json: &str) -> std::io::Result<String> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let body = if json.is_empty() { String::new() } else { format!("Content-Type: application/json\r\nContent-Length: {}\r\n", json.len()) };
    write!(conn, "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}{body}\r\n{json}")?;
    let mut response = String::new();
    conn.read_to_string(&mut response)?;
    Ok(response)
}

/// The JSON body of an exchange.
fn json_of(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// Starts the server with the first-steps judge and a fresh data directory
/// named after `tag`, letting `listen_at` say how it is told its address.
fn served(tag: &str, listen_at: impl FnOnce(&mut Command, &str)) -> Served {
    let judges = first_steps().parent().unwrap().to_path_buf();
    let data = std::env::temp_dir().join(format!("proctor-{tag}-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = proctor();
    // No labs (so no warm pool to fill) and objects of its own on the
    // engine: a test server must not reconcile away anyone's sessions.
    let no_labs = data.join("no-labs");
    std::fs::create_dir_all(&no_labs).unwrap();
    cmd.env("PROCTOR_DATA_DIR", &data)
        .env("PROCTOR_JUDGES_DIR", &judges)
        .env("PROCTOR_SCENARIOS_DIR", &no_labs)
        .env("PROCTOR_INSTANCE", format!("cli-test-{tag}-{}", std::process::id()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listen_at(&mut cmd, &format!("127.0.0.1:{port}"));
    let mut server = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let healthz = loop {
        if let Ok(response) = get(port, "/healthz") {
            break response;
        }
        if Instant::now() > deadline {
            server.kill().ok();
            panic!("the server did not start listening on {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let readyz = get(port, "/readyz").unwrap();
    server.kill().ok();
    server.wait().ok();
    let cached = std::fs::read_dir(data.join("cache/plugins")).map(|d| d.count()).unwrap_or(0);
    let store_created = data.join("proctor.db").is_file();
    std::fs::remove_dir_all(&data).ok();
    Served { healthz, readyz, cached, store_created }
}

#[test]
fn serve_answers_healthz_with_the_loaded_judges() {
    let served = served("serve", |cmd, listen| {
        cmd.args(["serve", "--listen", listen]);
    });
    let response = &served.healthz;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#) && response.contains(r#""plugins":1"#), "{response}");
    assert_eq!(served.cached, 1, "the judge was compiled into the data directory's cache");
    assert!(served.store_created, "the default store is a SQLite file in the data directory");
    // Ready only with an engine to run sessions on; either way it says so.
    let readyz = &served.readyz;
    if std::env::var("PROCTOR_TEST_DOCKER").is_ok_and(|v| v == "1") {
        assert!(readyz.starts_with("HTTP/1.1 200") && readyz.contains(r#""ready":true"#), "{readyz}");
    } else {
        assert!(readyz.contains(r#""store":"ok""#), "{readyz}");
    }
}

#[test]
fn plain_proctor_serves_where_the_environment_says() {
    let served = served("plain", |cmd, listen| {
        cmd.env("PROCTOR_LISTEN", listen);
    });
    let response = &served.healthz;
    assert!(response.starts_with("HTTP/1.1 200") && response.contains(r#""plugins":1"#), "{response}");
}

#[test]
fn a_server_without_an_engine_still_serves_and_says_it_is_not_ready() {
    let served = served("no-engine", |cmd, listen| {
        cmd.args(["serve", "--listen", listen]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    });
    assert!(served.healthz.starts_with("HTTP/1.1 200"), "{}", served.healthz);
    let readyz = &served.readyz;
    assert!(readyz.starts_with("HTTP/1.1 503") && readyz.contains("unreachable"), "{readyz}");
}

#[test]
fn lab_validate_passes_the_bundled_labs_and_names_what_is_wrong_with_others() {
    let out = proctor().args(["lab", "validate"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ok      first-steps (2 tasks)"), "{text}");

    let dir = std::env::temp_dir().join(format!("proctor-cli-labs-{}", std::process::id())).join("broken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lab.toml"), "id = \"broken\"\ntitle = \"Broken\"\ndifficulty = \"easy\"\nduration_minutes = 5\n").unwrap();
    let out = proctor().args(["lab", "validate"]).arg(&dir).output().unwrap();
    std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("lab.toml:3:14: unknown difficulty `easy`"), "{err}");
    assert!(err.contains("the lab has no machines") && err.contains("the lab has no tasks"), "{err}");
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("proctor-cli-{tag}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn lab_test_proves_a_lab_on_the_engine_and_asks_what_to_test() {
    let out = proctor().args(["lab", "test"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the labs to test, or --all"));
    if std::env::var("PROCTOR_TEST_DOCKER").as_deref() != Ok("1") {
        let _ = writeln!(std::io::stderr(), "skipped the engine part of lab_test_proves_a_lab: set PROCTOR_TEST_DOCKER=1");
        return;
    }
    let judges = first_steps().parent().unwrap().to_path_buf();
    let out = proctor().args(["lab", "test", "first-steps", "--judges-dir"]).arg(&judges).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("create-file") && text.contains("first-steps              ok: start"), "{text}");
    let missing = proctor().args(["lab", "test", "no-such-lab", "--judges-dir"]).arg(&judges).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no valid lab `no-such-lab`"));
}

#[test]
fn lab_import_writes_a_valid_lab_and_reports_what_changed() {
    let out_dir = scratch("import");
    let scenario = workspace().join("tests/data/killercoda/web-basics");
    let out = proctor().args(["lab", "import", "killercoda"]).arg(&scenario).arg("--out").arg(&out_dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("unsupported: step 3: `{{TRAFFIC_HOST1_8000}}`") && text.contains("imported web-basics"), "{text}");
    assert!(out_dir.join("web-basics/lab.toml").is_file());
    let again = proctor().args(["lab", "import", "killercoda"]).arg(&scenario).arg("--out").arg(&out_dir).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("a lab with this id exists"));
    std::fs::remove_dir_all(&out_dir).ok();
}

#[test]
fn lab_new_scaffolds_into_the_workspace_it_runs_in() {
    let root = scratch("new");
    std::fs::create_dir_all(root.join("judges")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_proctor")).current_dir(&root).args(["lab", "new", "my-lab"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["scenarios/my-lab/lab.toml", "scenarios/my-lab/solve.sh", "judges/my-lab/Cargo.toml", "judges/my-lab/src/lib.rs"] {
        assert!(root.join(file).is_file(), "{file} missing");
    }
    let again = Command::new(env!("CARGO_BIN_EXE_proctor")).current_dir(&root).args(["lab", "new", "my-lab"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let bad = Command::new(env!("CARGO_BIN_EXE_proctor")).current_dir(&root).args(["lab", "new", "My Lab"]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot be a lab id"));
    std::fs::remove_dir_all(&root).ok();
}

/// The probe test plugin built as `version`, for the hot-load test.
fn probe(version: &str) -> PathBuf {
    let root = workspace();
    let out = root.join("target").join("cli-test-judges").join(format!("probe-{version}"));
    let built = proctor::toolchain::build_components(&root, &[root.join("tests/plugins/probe")], &out, &[("PROCTOR_TEST_PLUGIN_VERSION", version)])
        .unwrap_or_else(|e| panic!("{e}"));
    built[0].clone()
}

/// A lab judged by the probe (no capability calls), on the base image.
fn probe_lab(root: &Path) {
    let dir = root.join("probe-lab");
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(dir.join("steps/one.md"), "# One\n\nNothing to do: the probe passes.\n").unwrap();
    std::fs::write(
        dir.join("lab.toml"),
        "id = \"probe-lab\"\ntitle = \"Probe\"\ndescription = \"Checked by the probe.\"\ndifficulty = \"beginner\"\nduration_minutes = 5\n\n\
         [[machines]]\nname = \"main\"\nimage = \"proctor/base:bookworm\"\n\n[judge]\nplugin = \"proctor-test-probe\"\n\n\
         [[tasks]]\nid = \"one\"\ntitle = \"One\"\nstep = \"steps/one.md\"\n",
    )
    .unwrap();
}

/// Checks a task over and over until told to stop, keeping each answer's
/// HTTP status, verdict status and judge version.
struct Checker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Checker {
    fn start(port: u16, token: String, session: String) -> Checker {
        use std::sync::{Arc, Mutex, atomic::AtomicBool};
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stopping, recording) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = send(port, "POST", &format!("/api/v1/sessions/{session}/tasks/one/check"), Some(&token), "").unwrap_or_default();
                let json = json_of(&answer);
                let status = format!("{} {}", answer.lines().next().unwrap_or_default(), json["status"].as_str().unwrap_or("?"));
                let version = json["verdict"]["plugin"]["version"].as_str().unwrap_or("?").to_owned();
                recording.lock().unwrap().push((status, version));
            }
        });
        Checker { stop, seen, thread }
    }

    /// Waits until a check reports `version`.
    fn wait_for(&self, version: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.seen.lock().unwrap().iter().rev().take(3).any(|(_, v)| v == version) {
            assert!(Instant::now() < deadline, "no check reported {version}: {:?}", self.seen.lock().unwrap().iter().rev().take(5).collect::<Vec<_>>());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(self) -> Vec<(String, String)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap();
        std::sync::Arc::try_unwrap(self.seen).unwrap().into_inner().unwrap()
    }
}

#[test]
fn the_first_admin_logs_in_from_the_cli_and_hot_loads_and_rolls_back_a_judge() {
    use std::io::BufRead;
    let data = scratch("hotload");
    let judges = data.join("judges");
    std::fs::create_dir_all(&judges).unwrap();
    std::fs::copy(probe("1.0.0"), judges.join("probe.wasm")).unwrap();
    let v2 = probe("2.0.0");
    // With an engine, a learner checks a probe-judged task all along.
    let checking = std::env::var("PROCTOR_TEST_DOCKER").is_ok_and(|v| v == "1");
    let labs = data.join("labs");
    std::fs::create_dir_all(&labs).unwrap();
    if checking {
        probe_lab(&labs);
    } else {
        let _ = writeln!(std::io::stderr(), "skipped the continuous checks of the hot-load test: set PROCTOR_TEST_DOCKER=1");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server_url = format!("http://127.0.0.1:{port}");
    let mut server = proctor()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("PROCTOR_DATA_DIR", &data)
        .env("PROCTOR_JUDGES_DIR", &judges)
        .env("PROCTOR_SCENARIOS_DIR", &labs)
        .env("PROCTOR_INSTANCE", format!("cli-test-hotload-{}", std::process::id()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The one-time password is printed once, on standard output.
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let otp = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.trim().strip_prefix("one-time password:").map(|p| p.trim().to_owned()))
        .expect("the first start prints the administrator's one-time password");
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(port, "/healthz").is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cli = |args: &[&str]| {
        proctor().args(args).env("PROCTOR_SERVER", &server_url).env("PROCTOR_CREDENTIALS", data.join("credentials.json")).env_remove("PROCTOR_TOKEN").output().unwrap()
    };
    let text = |o: &std::process::Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));

    let no_token = cli(&["plugin", "list"]);
    assert!(!no_token.status.success() && text(&no_token).contains("run `proctor login"), "{}", text(&no_token));
    let login = proctor()
        .args(["login", "--user", "admin"])
        .env("PROCTOR_SERVER", &server_url)
        .env("PROCTOR_CREDENTIALS", data.join("credentials.json"))
        .env("PROCTOR_PASSWORD", &otp)
        .env("PROCTOR_NEW_PASSWORD", "violet kettle drum")
        .output()
        .unwrap();
    assert!(login.status.success(), "{}", text(&login));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(data.join("credentials.json")).unwrap().permissions().mode() & 0o777, 0o600);

    let checker = checking.then(|| {
        let token = json_of(&send(port, "POST", "/api/v1/guests", None, "").unwrap())["token"].as_str().unwrap().to_owned();
        let started = json_of(&send(port, "POST", "/api/v1/sessions", Some(&token), r#"{"lab": "probe-lab"}"#).unwrap());
        let session = started["id"].as_str().unwrap_or_else(|| panic!("a session: {started}")).to_owned();
        let checker = Checker::start(port, token.clone(), session.clone());
        checker.wait_for("1.0.0");
        (checker, token, session)
    });

    let pushed = cli(&["plugin", "push", v2.to_str().unwrap()]);
    assert!(pushed.status.success() && text(&pushed).contains("2.0.0 (serving"), "{}", text(&pushed));
    if let Some((checker, ..)) = &checker {
        checker.wait_for("2.0.0");
    }
    let listed = cli(&["plugin", "list"]);
    assert!(text(&listed).contains("2.0.0      false     1.0.0, 2.0.0"), "{}", text(&listed));

    let broken = data.join("broken.wasm");
    std::fs::write(&broken, b"\0asm not really").unwrap();
    let refused = cli(&["plugin", "push", broken.to_str().unwrap()]);
    assert!(!refused.status.success() && text(&refused).contains("invalid_plugin"), "{}", text(&refused));
    assert!(text(&cli(&["plugin", "list"])).contains("2.0.0      false"), "a refused push changes nothing");

    let name = text(&listed).lines().nth(1).and_then(|l| l.split_whitespace().next()).unwrap().to_owned();
    let back = cli(&["plugin", "rollback", &name]);
    assert!(back.status.success() && text(&back).contains("serves 1.0.0 again"), "{}", text(&back));

    if let Some((checker, token, session)) = checker {
        checker.wait_for("1.0.0");
        let refused_again = cli(&["plugin", "push", broken.to_str().unwrap()]);
        assert!(!refused_again.status.success(), "{}", text(&refused_again));
        std::thread::sleep(Duration::from_millis(300));
        let seen = checker.finish();
        send(port, "DELETE", &format!("/api/v1/sessions/{session}"), Some(&token), "").unwrap();
        // Not one check failed across the swaps, and each reported the
        // version serving when it started: 1, then 2, then 1 again.
        let failed: Vec<_> = seen.iter().filter(|(status, _)| status != "HTTP/1.1 200 OK passed").collect();
        assert!(failed.is_empty(), "{} of {} checks failed: {failed:?}", failed.len(), seen.len());
        let mut phases: Vec<&str> = seen.iter().map(|(_, v)| v.as_str()).collect();
        phases.dedup();
        assert_eq!(phases, ["1.0.0", "2.0.0", "1.0.0"], "{} checks", seen.len());
    }
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&data).ok();
}
