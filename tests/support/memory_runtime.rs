//! A runtime held in memory, for testing the session manager's rules
//! (caps, queue, pools, reaping, reconciling) without an engine. Faults can
//! be switched on. The real engine is tested in `docker_runtime` and
//! `docker_sessions`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use proctor::{
    capabilities::{BuildReport, BuildRequest, Command, CommandOutput, Container, FileContent, HttpRequest, HttpResponse, RunRequest},
    runtime::{EnvironmentSpec, OwnedEnvironment, Runtime, RuntimeError, Terminal, TerminalSize},
};

/// Environments as maps of files.
#[derive(Debug, Default)]
pub struct MemoryRuntime {
    envs: Mutex<HashMap<String, Env>>,
    /// Make `create` fail.
    pub fail_create: AtomicBool,
    /// Make `destroy` fail.
    pub fail_destroy: AtomicBool,
    /// Environments created so far.
    pub created: AtomicU32,
}

#[derive(Debug, Clone)]
struct Env {
    spec: EnvironmentSpec,
    files: BTreeMap<String, Vec<u8>>,
}

impl MemoryRuntime {
    /// Sessions with an environment, sorted.
    pub fn sessions(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.envs.lock().unwrap().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Adds an environment behind the manager's back (a leftover).
    pub fn plant(&self, spec: EnvironmentSpec) {
        self.envs.lock().unwrap().insert(spec.session.clone(), Env { spec, files: BTreeMap::new() });
    }

    /// Removes an environment behind the manager's back (lost).
    pub fn vanish(&self, session: &str) {
        self.envs.lock().unwrap().remove(session);
    }

    fn with_env<T>(&self, session: &str, f: impl FnOnce(&mut Env) -> T) -> Result<T, RuntimeError> {
        let mut envs = self.envs.lock().unwrap();
        envs.get_mut(session).map(f).ok_or_else(|| RuntimeError::NotFound(format!("session {session}")))
    }
}

/// What the memory runtime answers for what only a real engine does.
fn unsupported() -> RuntimeError {
    RuntimeError::Invalid("the in-memory runtime has no terminals or images".into())
}

#[async_trait]
impl Runtime for MemoryRuntime {
    async fn create(&self, spec: &EnvironmentSpec) -> Result<(), RuntimeError> {
        // A real engine takes a while: let other tasks run in between.
        tokio::time::sleep(Duration::from_millis(1)).await;
        if self.fail_create.load(Ordering::SeqCst) {
            return Err(RuntimeError::Unreachable("switched off for the test".into()));
        }
        self.created.fetch_add(1, Ordering::SeqCst);
        self.plant(spec.clone());
        Ok(())
    }

    async fn exec(&self, session: &str, _cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        self.with_env(session, |_| CommandOutput::default())
    }

    async fn read_file(&self, session: &str, _machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError> {
        let data = self.with_env(session, |e| e.files.get(path).cloned())?;
        let data = data.ok_or_else(|| RuntimeError::NotFound(path.to_owned()))?;
        Ok(FileContent { size: data.len() as u64, truncated: data.len() > max_bytes as usize, data: data.into() })
    }

    async fn write_file(&self, session: &str, _machine: &str, path: &str, data: &[u8], _mode: u32) -> Result<(), RuntimeError> {
        self.with_env(session, |e| e.files.insert(path.to_owned(), data.to_vec())).map(|_| ())
    }

    async fn archive_dir(&self, session: &str, _machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let files: BTreeMap<String, Vec<u8>> = self.with_env(session, |e| {
            e.files.iter().filter_map(|(p, d)| Some((p.strip_prefix(&prefix)?.to_owned(), d.clone()))).collect()
        })?;
        let archive = serde_json::to_vec(&files).expect("files serialize");
        if archive.len() as u64 > max_bytes {
            return Err(RuntimeError::Invalid(format!("{path} is larger than {max_bytes} bytes")));
        }
        Ok(archive)
    }

    async fn restore_dir(&self, session: &str, _machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
        let files: BTreeMap<String, Vec<u8>> =
            serde_json::from_slice(tar).map_err(|e| RuntimeError::Invalid(format!("not an archive: {e}")))?;
        self.with_env(session, |e| {
            for (name, data) in files {
                e.files.insert(format!("{}/{name}", path.trim_end_matches('/')), data);
            }
        })
    }

    async fn open_terminal(&self, _session: &str, _machine: &str, _size: TerminalSize) -> Result<Terminal, RuntimeError> {
        Err(unsupported())
    }

    async fn build_image(&self, _session: &str, _req: &BuildRequest) -> Result<BuildReport, RuntimeError> {
        Err(unsupported())
    }

    async fn run_image(&self, _session: &str, _req: &RunRequest) -> Result<Container, RuntimeError> {
        Err(unsupported())
    }

    async fn http_get(&self, _session: &str, _req: &HttpRequest) -> Result<HttpResponse, RuntimeError> {
        Err(unsupported())
    }

    async fn stop_container(&self, _session: &str, _handle: &str) -> Result<(), RuntimeError> {
        Err(unsupported())
    }

    async fn destroy(&self, session: &str) -> Result<(), RuntimeError> {
        if self.fail_destroy.load(Ordering::SeqCst) {
            return Err(RuntimeError::Unreachable("switched off for the test".into()));
        }
        self.vanish(session);
        Ok(())
    }

    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError> {
        Ok(self
            .envs
            .lock()
            .unwrap()
            .values()
            .map(|e| OwnedEnvironment {
                session: e.spec.session.clone(),
                lab: e.spec.lab.clone(),
                owner: e.spec.owner.clone(),
                machines: e.spec.machines.iter().map(|m| m.name.clone()).collect(),
            })
            .collect())
    }
}
