//! A Unix-socket relay between a runtime and the Docker engine that a test
//! can cut: every connection dropped at once and new ones refused, as when
//! the engine stops mid-call; then resumed, as when it comes back.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use tokio::{
    net::{UnixListener, UnixStream},
    sync::watch,
    task::JoinHandle,
};

/// The relay.
#[derive(Debug)]
pub struct EngineProxy {
    path: PathBuf,
    upstream: PathBuf,
    /// Bumped by every cut; connections end when it moves.
    cuts: watch::Sender<u64>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

impl EngineProxy {
    /// Relays a new socket in the temporary directory to the engine's
    /// socket at `upstream`.
    pub fn start(upstream: impl Into<PathBuf>) -> Arc<EngineProxy> {
        let path = std::env::temp_dir().join(format!("proctor-engine-{}-{}.sock", std::process::id(), rand_suffix()));
        let proxy = Arc::new(EngineProxy {
            path,
            upstream: upstream.into(),
            cuts: watch::channel(0).0,
            listener: Mutex::new(None),
        });
        proxy.resume();
        proxy
    }

    /// The socket to give the runtime.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        if let Some(task) = self.listener.lock().unwrap().take() {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Accepts connections again.
    pub fn resume(&self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).expect("bind the relay socket");
        let upstream = self.upstream.clone();
        let cuts = self.cuts.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut engine) = UnixStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut engine) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        *self.listener.lock().unwrap() = Some(task);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
