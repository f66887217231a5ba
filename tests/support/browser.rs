//! What the browser tests need: Node, Debian's Chromium and playwright-core
//! (found, or why not), and running one of `tests/browser/*.mjs` with its
//! screenshots kept in the target directory's `browser-artifacts`.
//!
//! They run when `PROCTOR_TEST_DOCKER=1` and the tools are installed; with
//! `PROCTOR_TEST_BROWSER=1` (as CI sets) missing tools fail the test
//! instead of skipping it.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use crate::workspace;

/// Node and Chromium.
pub struct BrowserTools {
    node: PathBuf,
    chromium: PathBuf,
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(program)).find(|p| p.is_file()))
}

fn find_tools() -> Result<BrowserTools, String> {
    let node = which("node").ok_or("node is not installed (apt-get install nodejs)")?;
    let chromium = std::env::var_os("PROCTOR_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Err(format!("{} is missing (apt-get install chromium)", chromium.display()));
    }
    let dir = workspace().join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err(format!("playwright-core is not installed: run `npm ci` in {}", dir.display()));
    }
    Ok(BrowserTools { node, chromium })
}

/// The tools for `test`; `None` after saying why it is skipped. Panics
/// when `PROCTOR_TEST_BROWSER=1` and a tool is missing.
pub fn browser_tools(test: &str) -> Option<BrowserTools> {
    match find_tools() {
        Ok(tools) => Some(tools),
        Err(missing) if std::env::var("PROCTOR_TEST_BROWSER").is_ok_and(|v| v == "1") => {
            panic!("PROCTOR_TEST_BROWSER=1 but the browser test cannot run: {missing}")
        }
        Err(missing) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped {test}: {missing} (set PROCTOR_TEST_BROWSER=1 to make this a failure)");
            None
        }
    }
}

/// Where the screenshots go: the target directory's `browser-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    target.join("browser-artifacts")
}

impl BrowserTools {
    /// Runs `tests/browser/<script>` with `args` and `env` (and the
    /// browser's path and the artifacts directory) within `limit`; asserts
    /// it succeeded and said every step passed. `shots` is where its
    /// screenshots are, for the failure message.
    pub async fn run(&self, script: &str, args: &[String], env: &[(&str, &std::ffi::OsStr)], limit: Duration, shots: &Path) {
        let script = workspace().join("tests/browser").join(script);
        let run = tokio::process::Command::new(&self.node)
            .arg(&script)
            .args(args)
            .envs(env.iter().copied())
            .env("PROCTOR_ARTIFACTS", artifacts_dir())
            .env("PROCTOR_CHROMIUM", &self.chromium)
            .current_dir(script.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(limit, run)
            .await
            .unwrap_or_else(|_| panic!("{} did not finish within {} s", script.display(), limit.as_secs()))
            .expect("node runs");
        let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{} failed ({}); screenshots in {}:\n{log}", script.display(), output.status, shots.display());
        assert!(log.contains("steps passed"), "{log}");
    }
}
