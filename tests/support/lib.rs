//! Support for the end-to-end tests: the real components they run, built
//! once per test process from `judges/` and `tests/plugins/`.

pub mod browser;
pub mod databases;
pub mod engine_proxy;
pub mod fake_guest;
pub mod fake_kube;
pub mod http;
pub mod memory_runtime;
pub mod oidc_issuer;
pub mod terminal_socket;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use proctor::{
    capabilities::fixture::Fixture,
    plugins::{EngineConfig, PluginEngine, Task},
    toolchain,
};

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// Paths of the built components.
#[derive(Debug)]
pub struct Components {
    /// `judges/first-steps`: a judge and hint provider.
    pub first_steps: PathBuf,
    /// `judges/script`: runs each task's verify script.
    pub script: PathBuf,
    /// `tests/plugins/hostile`: misbehaves on purpose.
    pub hostile: PathBuf,
    /// `tests/plugins/probe` as version 1.0.0.
    pub probe_v1: PathBuf,
    /// `tests/plugins/probe` as version 2.0.0.
    pub probe_v2: PathBuf,
    /// `tests/plugins/incompatible`: built against contract 9.0.0.
    pub incompatible: PathBuf,
}


/// Builds the components on first use (cargo, `wasm32-wasip2`).
pub fn components() -> &'static Components {
    static BUILT: OnceLock<Components> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace();
        let out = root.join("target").join("test-components");
        let plugins = root.join("tests").join("plugins");
        let crates = [
            root.join("judges").join("first-steps"),
            root.join("judges").join("script"),
            plugins.join("hostile"),
            plugins.join("incompatible"),
            plugins.join("probe"),
        ];
        let built = toolchain::build_components(&root, &crates, &out, &[]).unwrap_or_else(|e| panic!("{e}"));
        // The probe again, as another version: what a hot swap installs.
        let v2 = toolchain::build_components(
            &root,
            &[plugins.join("probe")],
            &out.join("v2"),
            &[("PROCTOR_TEST_PLUGIN_VERSION", "2.0.0")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Components {
            first_steps: built[0].clone(),
            script: built[1].clone(),
            hostile: built[2].clone(),
            incompatible: built[3].clone(),
            probe_v1: built[4].clone(),
            probe_v2: v2[0].clone(),
        }
    })
}

/// Every judge in `judges/`, built on first use: what the bundled labs
/// name.
pub fn bundled_judges() -> &'static [PathBuf] {
    static BUILT: OnceLock<Vec<PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace();
        let crates = toolchain::crates_in(&root.join("judges"));
        toolchain::build_components(&root, &crates, &root.join("target").join("test-components").join("bundled"), &[]).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A one-machine lab named `id` for API tests on the in-memory runtime:
/// an hour long, one extension of an hour, no pool, nothing kept.
pub fn hour_long_lab(id: &str) -> proctor::sessions::LabEnvironment {
    use proctor::{
        runtime::{MachineSpec, Resources},
        sessions::{LabEnvironment, Lifetime},
    };
    let hour = std::time::Duration::from_secs(3600);
    LabEnvironment {
        lab: id.into(),
        machines: vec![MachineSpec { name: "main".into(), image: "any".into(), resources: Resources::default(), workdir: "/workspace".into() }],
        lifetime: Lifetime { ttl: hour, extend_by: hour, max_extensions: 1, max_total: hour * 3 },
        warm_pool: 0,
        workspace: None,
        setup: None,
        egress: vec![],
    }
}

/// Reads a component.
pub fn wasm(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// An engine with default settings and no artifact cache.
pub fn engine() -> PluginEngine {
    PluginEngine::new(EngineConfig::default()).expect("engine starts")
}

/// A task on one machine called `main`.
pub fn task(lab: &str, id: &str) -> Task {
    Task { lab: lab.into(), task: id.into(), session: "test".into(), machines: vec!["main".into()], params: vec![] }
}

/// A fixture from `scenarios/<lab>/fixtures/<case>.json`.
pub fn case(lab: &str, case: &str) -> Fixture {
    Fixture::load(&workspace().join("scenarios").join(lab).join("fixtures").join(format!("{case}.json")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Whether the real-engine tests run (`PROCTOR_TEST_DOCKER=1`); when they
/// do not, says on stderr that `test` skipped.
pub fn docker_enabled(test: &str) -> bool {
    let on = std::env::var("PROCTOR_TEST_DOCKER").is_ok_and(|v| v == "1");
    if !on {
        // Straight to stderr: the harness captures `eprintln!`, and a skip
        // must be seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped {test}: set PROCTOR_TEST_DOCKER=1 to run it against a Docker engine");
    }
    on
}

/// The image real-engine tests run (`PROCTOR_TEST_IMAGE`, default the
/// base image `scripts/build-base-image` builds).
pub fn test_image() -> String {
    std::env::var("PROCTOR_TEST_IMAGE").unwrap_or_else(|_| "proctor/base:bookworm".into())
}

/// The engine's Unix socket, from `DOCKER_HOST` or the default.
pub fn engine_socket() -> std::path::PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => host.trim_start_matches("unix://").into(),
        _ => "/var/run/docker.sock".into(),
    }
}

/// What the engine holds with a label: containers, networks, images.
const ENGINE_KINDS: [(&str, &[&str], &[&str]); 3] = [
    ("container", &["ps", "-aq"], &["rm", "-f", "-v"]),
    ("network", &["network", "ls", "-q"], &["network", "rm"]),
    ("image", &["images", "-q"], &["rmi", "-f"]),
];

fn docker_cli(args: &[&str]) -> Vec<String> {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Everything on the engine labelled `key=value`, as `kind id` lines, as
/// the `docker` CLI lists it (not through the runtime under test).
pub fn on_engine(key: &str, value: &str) -> Vec<String> {
    let filter = format!("label={key}={value}");
    ENGINE_KINDS
        .iter()
        .flat_map(|(kind, list, _)| docker_cli(&[list, &["--filter", &filter][..]].concat()).into_iter().map(move |id| format!("{kind} {id}")))
        .collect()
}

/// Removes, when dropped (a test's end, or its panic), every container,
/// network and image on the engine carrying one of its labels, so a failed
/// real-engine test leaves nothing behind.
#[derive(Debug, Default)]
pub struct EngineCleanup {
    labels: Vec<(String, String)>,
}

impl EngineCleanup {
    /// Cleans up what carries `key=value`.
    pub fn label(mut self, key: &str, value: &str) -> EngineCleanup {
        self.labels.push((key.to_owned(), value.to_owned()));
        self
    }
}

impl Drop for EngineCleanup {
    fn drop(&mut self) {
        for (key, value) in &self.labels {
            let filter = format!("label={key}={value}");
            // Containers first: a network or image in use cannot go.
            for (_, list, remove) in ENGINE_KINDS {
                let found = docker_cli(&[list, &["--filter", &filter][..]].concat());
                if !found.is_empty() {
                    let ids: Vec<&str> = found.iter().map(String::as_str).collect();
                    docker_cli(&[remove, &ids[..]].concat());
                }
            }
        }
    }
}
