//! Commands, files and terminals on virtual machines: SSH (russh) through
//! the instance's `portforward` tunnel, logging in with the session's key
//! and trusting only the host key the session gave the machine at boot
//! (cloud-init installs both). One connection per machine is kept and
//! shared by its commands and terminals, each on a channel of its own; a
//! connection found closed is opened again once.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use russh::{
    ChannelMsg, Sig,
    client::{self, Handle, Msg},
    keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate},
};

use super::{
    api_error,
    manifests::{HOST_KEY_ENTRY, SSH_KEY_ENTRY, SSH_SECRET, VM_USER},
    tunnel,
};
use crate::{
    capabilities::{Command, CommandOutput},
    runtime::{
        RuntimeError, Terminal, TerminalResizer, TerminalSize,
        command::{DEFAULT_EXEC_TIMEOUT, DEFAULT_OUTPUT_CAP, keep, shell_line, within},
    },
};

/// The port SSH listens on in the guests.
const SSH_PORT: u16 = 22;
/// How long opening a connection (tunnel, handshake, login) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A session's keys: the one its server logs in with, and the host key its
/// machines were given.
pub struct SessionKeys {
    client: Arc<PrivateKey>,
    host: PublicKey,
}

fn key_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Engine(format!("SSH key: {e}"))
}

/// A new ed25519 key.
fn new_key() -> PrivateKey {
    let seed: [u8; 32] = rand::random();
    PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed))
}

/// A private key in OpenSSH form.
pub fn private_openssh(key: &PrivateKey) -> Result<String, RuntimeError> {
    Ok(key.to_openssh(russh::keys::ssh_key::LineEnding::LF).map_err(key_error)?.to_string())
}

/// A public key in OpenSSH form.
pub fn public_openssh(key: &PublicKey) -> Result<String, RuntimeError> {
    key.to_openssh().map_err(key_error)
}

/// New keys for a session, with those only the machines' cloud-init data
/// carries.
pub struct NewKeys {
    /// What the server keeps.
    pub keys: SessionKeys,
    /// The host's private key.
    pub host_private: PrivateKey,
    /// The key the session's machines reach each other with.
    pub peer: PrivateKey,
}

impl SessionKeys {
    /// Makes a session's keys.
    pub fn generate() -> NewKeys {
        let host_private = new_key();
        NewKeys { keys: SessionKeys { client: Arc::new(new_key()), host: host_private.public_key().clone() }, host_private, peer: new_key() }
    }

    /// The public half of the login key, for `authorized_keys`.
    pub fn client_public(&self) -> Result<String, RuntimeError> {
        public_openssh(self.client.public_key())
    }

    /// The private login key, for the session's secret.
    pub fn client_private(&self) -> Result<String, RuntimeError> {
        private_openssh(&self.client)
    }

    /// The host's public key, for the session's secret.
    pub fn host_public(&self) -> Result<String, RuntimeError> {
        public_openssh(&self.host)
    }

    /// The keys kept in the session's secret (after a restart, say).
    pub fn from_secret(secret: &Secret) -> Result<SessionKeys, RuntimeError> {
        let entry = |name: &str| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(name))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .ok_or_else(|| RuntimeError::Engine(format!("the session's secret {SSH_SECRET} has no {name}")))
        };
        let client = PrivateKey::from_openssh(entry(SSH_KEY_ENTRY)?).map_err(key_error)?;
        let host = PublicKey::from_openssh(entry(HOST_KEY_ENTRY)?.trim()).map_err(key_error)?;
        Ok(SessionKeys { client: Arc::new(client), host })
    }
}

/// Trusts exactly the host key the session's machines were given.
struct Pinned(PublicKey);

impl client::Handler for Pinned {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(matches!(offered, PublicKeyOrCertificate::PublicKey { key, .. } if key.key_data() == self.0.key_data()))
    }
}

/// A machine's key among connections: (namespace, machine).
type MachineKey = (String, String);

/// The open connections and known keys of every session, by namespace.
#[derive(Default)]
pub struct Connections {
    open: Mutex<HashMap<MachineKey, Arc<Handle<Pinned>>>>,
    keys: Mutex<HashMap<String, Arc<SessionKeys>>>,
}

impl Connections {
    /// Remembers a new session's keys.
    pub fn remember(&self, ns: &str, keys: SessionKeys) {
        self.keys.lock().expect("keys lock").insert(ns.to_owned(), Arc::new(keys));
    }

    /// Drops a session's connections and keys (it ended).
    pub fn forget(&self, ns: &str) {
        self.keys.lock().expect("keys lock").remove(ns);
        self.open.lock().expect("connections lock").retain(|(n, _), _| n != ns);
    }

    /// The session's keys, read from its secret the first time.
    async fn keys(&self, client: &Client, ns: &str) -> Result<Arc<SessionKeys>, RuntimeError> {
        if let Some(keys) = self.keys.lock().expect("keys lock").get(ns) {
            return Ok(keys.clone());
        }
        let secret = Api::<Secret>::namespaced(client.clone(), ns).get(SSH_SECRET).await.map_err(|e| api_error("read the session's SSH key", e))?;
        let keys = Arc::new(SessionKeys::from_secret(&secret)?);
        self.keys.lock().expect("keys lock").insert(ns.to_owned(), keys.clone());
        Ok(keys)
    }
}

/// A virtual machine of a session.
#[derive(Clone)]
pub struct VmMachine {
    /// The API server's client.
    pub client: Client,
    /// The session's namespace.
    pub namespace: String,
    /// The machine (and its instance's) name.
    pub name: String,
    /// Where connections are kept.
    pub connections: Arc<Connections>,
}

/// The exit code a shell reports for a program killed by `signal`.
fn signal_exit_code(signal: &Sig) -> i32 {
    128 + match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(_) => 0,
    }
}

impl VmMachine {
    fn key(&self) -> MachineKey {
        (self.namespace.clone(), self.name.clone())
    }

    /// A new connection: the tunnel, the handshake with the pinned host key,
    /// the login.
    async fn connect(&self) -> Result<Handle<Pinned>, RuntimeError> {
        let keys = self.connections.keys(&self.client, &self.namespace).await?;
        let stream = tunnel::open(&self.client, &self.namespace, &self.name, SSH_PORT).await?;
        let config = Arc::new(client::Config { keepalive_interval: Some(Duration::from_secs(30)), ..client::Config::default() });
        let unreachable = |e: russh::Error| RuntimeError::Unreachable(format!("SSH to {}: {e}", self.name));
        let mut handle = client::connect_stream(config, stream, Pinned(keys.host.clone())).await.map_err(|e| match e {
            russh::Error::UnknownKey => RuntimeError::Engine(format!("machine {} answered with a host key that is not the session's", self.name)),
            other => unreachable(other),
        })?;
        let login = handle.authenticate_publickey(VM_USER, PrivateKeyWithHashAlg::new(keys.client.clone(), None)).await.map_err(unreachable)?;
        if !login.success() {
            return Err(RuntimeError::Engine(format!("machine {} refused the session's SSH key for {VM_USER}", self.name)));
        }
        Ok(handle)
    }

    /// The machine's connection, opened when there is none or it closed.
    async fn handle(&self, fresh: bool) -> Result<Arc<Handle<Pinned>>, RuntimeError> {
        if !fresh && let Some(open) = self.connections.open.lock().expect("connections lock").get(&self.key()).filter(|h| !h.is_closed()) {
            return Ok(open.clone());
        }
        let handle = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| RuntimeError::Unreachable(format!("SSH to {} did not answer within {} s", self.name, CONNECT_TIMEOUT.as_secs())))??;
        let handle = Arc::new(handle);
        self.connections.open.lock().expect("connections lock").insert(self.key(), handle.clone());
        Ok(handle)
    }

    /// A new session channel, on a fresh connection if the kept one fails.
    async fn channel(&self) -> Result<russh::Channel<Msg>, RuntimeError> {
        match self.handle(false).await?.channel_open_session().await {
            Ok(channel) => Ok(channel),
            Err(e) => {
                tracing::debug!(machine = %self.name, error = %e, "the kept SSH connection failed; opening a new one");
                self.handle(true).await?.channel_open_session().await.map_err(|e| RuntimeError::Unreachable(format!("SSH channel to {}: {e}", self.name)))
            }
        }
    }

    /// Checks the machine answers SSH: for readiness.
    pub async fn probe(&self) -> Result<(), RuntimeError> {
        let out = self.exec(&Command { machine: self.name.clone(), argv: vec!["true".into()], timeout: Some(Duration::from_secs(10)), ..Command::default() }).await?;
        if out.exit_code == 0 { Ok(()) } else { Err(RuntimeError::Engine(format!("`true` exited with {} on {}", out.exit_code, self.name))) }
    }

    /// Runs a command to completion within its timeout and output caps.
    pub async fn exec(&self, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        if cmd.argv.is_empty() {
            return Err(RuntimeError::Invalid("a command needs a program".into()));
        }
        let timeout = cmd.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT);
        let cap = cmd.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP) as usize;
        let channel = self.channel().await?;
        let lost = |e: russh::Error| RuntimeError::Unreachable(format!("SSH to {}: {e}", self.name));
        channel.exec(true, shell_line(cmd)).await.map_err(lost)?;
        let (mut read, write) = channel.split();
        // Input is fed while output is read: a program answering as it
        // reads would otherwise stall on a full window.
        let feed = async {
            if let Some(data) = &cmd.stdin {
                write.data_bytes(data.0.clone()).await.map_err(lost)?;
            }
            write.eof().await.map_err(lost)
        };
        let collect = async {
            let mut out = CommandOutput::default();
            let (mut stdout, mut stderr, mut code) = (Vec::new(), Vec::new(), None);
            while let Some(message) = read.wait().await {
                match message {
                    ChannelMsg::Data { data } => out.stdout_truncated |= keep(&mut stdout, &data, cap),
                    ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr_truncated |= keep(&mut stderr, &data, cap),
                    ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i32),
                    ChannelMsg::ExitSignal { signal_name, .. } => code = Some(signal_exit_code(&signal_name)),
                    ChannelMsg::Failure => return Err(RuntimeError::Engine(format!("machine {} refused to run the command", self.name))),
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            out.exit_code = code.ok_or_else(|| RuntimeError::Unreachable(format!("the connection to {} ended before the command did", self.name)))?;
            out.stdout = stdout.into();
            out.stderr = stderr.into();
            Ok(out)
        };
        let run = async {
            let (fed, out) = tokio::join!(feed, collect);
            let out = out?;
            fed?;
            Ok::<_, RuntimeError>(out)
        };
        match within(timeout, run).await {
            Some(done) => done,
            None => {
                // Asking to kill needs a server that honours signal
                // requests; closing the channel hangs up on it either way.
                write.signal(Sig::KILL).await.ok();
                write.close().await.ok();
                Err(RuntimeError::TimedOut(timeout.as_millis()))
            }
        }
    }

    /// Opens a login shell on a terminal of `size`.
    pub async fn terminal(&self, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        let mut channel = self.channel().await?;
        let lost = |e: russh::Error| RuntimeError::Unreachable(format!("SSH to {}: {e}", self.name));
        channel.request_pty(true, "xterm-256color", u32::from(size.cols), u32::from(size.rows), 0, 0, &[]).await.map_err(lost)?;
        confirmed(&mut channel, &self.name, "a terminal").await?;
        channel.request_shell(true).await.map_err(lost)?;
        confirmed(&mut channel, &self.name, "a shell").await?;
        let (read, write) = channel.split();
        let exit = Arc::new(Mutex::new(None));
        let input = Box::pin(write.make_writer()) as Pin<Box<dyn tokio::io::AsyncWrite + Send>>;
        let output = futures::stream::unfold((read, exit.clone()), |(mut read, exit)| async move {
            loop {
                match read.wait().await? {
                    ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => return Some((Ok(data), (read, exit))),
                    ChannelMsg::ExitStatus { exit_status } => *exit.lock().expect("exit lock") = Some(i64::from(exit_status)),
                    ChannelMsg::ExitSignal { signal_name, .. } => *exit.lock().expect("exit lock") = Some(i64::from(signal_exit_code(&signal_name))),
                    ChannelMsg::Close => return None,
                    _ => {}
                }
            }
        });
        Ok(Terminal { input, output: output.boxed(), resizer: Arc::new(VmTerminal { write, exit }) })
    }
}

/// Waits for the answer to a request made with `want_reply`.
async fn confirmed(channel: &mut russh::Channel<Msg>, machine: &str, what: &str) -> Result<(), RuntimeError> {
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Success) => return Ok(()),
            Some(ChannelMsg::Failure) => return Err(RuntimeError::Engine(format!("machine {machine} refused {what}"))),
            Some(_) => {}
            None => return Err(RuntimeError::Unreachable(format!("the connection to {machine} closed while asking for {what}"))),
        }
    }
}

/// A VM terminal's control side.
struct VmTerminal {
    write: russh::ChannelWriteHalf<Msg>,
    exit: Arc<Mutex<Option<i64>>>,
}

#[async_trait::async_trait]
impl TerminalResizer for VmTerminal {
    async fn resize(&self, size: TerminalSize) -> Result<(), RuntimeError> {
        self.write.window_change(u32::from(size.cols), u32::from(size.rows), 0, 0).await.map_err(|_| RuntimeError::NotFound("the terminal ended".into()))
    }

    async fn exit_code(&self) -> Option<i64> {
        *self.exit.lock().expect("exit lock")
    }

    /// Closing the channel hangs up the terminal: the shell and its jobs get
    /// SIGHUP, as when a learner's SSH client goes away.
    async fn terminate(&self) -> Result<(), RuntimeError> {
        self.write.close().await.ok();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_ends_with_the_code_a_shell_reports() {
        assert_eq!(signal_exit_code(&Sig::KILL), 137);
        assert_eq!(signal_exit_code(&Sig::TERM), 143);
    }

    #[test]
    fn keys_survive_the_secret_and_pin_the_host() {
        let new = SessionKeys::generate();
        let secret = Secret {
            data: Some(
                [
                    (SSH_KEY_ENTRY.to_owned(), k8s_openapi::ByteString(new.keys.client_private().unwrap().into_bytes())),
                    (HOST_KEY_ENTRY.to_owned(), k8s_openapi::ByteString(new.keys.host_public().unwrap().into_bytes())),
                ]
                .into(),
            ),
            ..Secret::default()
        };
        let back = SessionKeys::from_secret(&secret).unwrap();
        assert_eq!(back.client_public().unwrap(), new.keys.client_public().unwrap());
        assert_eq!(back.host.key_data(), new.host_private.public_key().key_data());
        assert!(SessionKeys::from_secret(&Secret::default()).is_err_and(|e| e.to_string().contains(SSH_KEY_ENTRY)));
    }
}
