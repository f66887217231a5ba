//! A "booted" virtual machine for the fake API server: a real OpenSSH
//! server set up from the machine's cloud-init user data exactly as
//! cloud-init would (the authorized login key for root, the host key it
//! was given), listening on a loopback port that the portforward
//! subresource connects to. What the runtime runs over SSH really runs
//! here, as root on this machine.
//!
//! Needs `/usr/sbin/sshd` (Debian's `openssh-server`) and root, as the
//! guest's login is root.

use std::{path::Path, process::Stdio, time::Duration};

use serde_json::Value;

/// Where the OpenSSH server is.
pub const SSHD: &str = "/usr/sbin/sshd";

/// A running guest SSH server; stops when dropped.
pub struct Guest {
    /// Its loopback port.
    pub port: u16,
    _dir: tempfile::TempDir,
    _sshd: tokio::process::Child,
}

/// What a guest needs from the cloud-init user data.
struct Boot {
    authorized: Vec<String>,
    host_private: String,
    /// Root's own private key, written by `write_files`.
    own_key: Option<String>,
}

fn boot_data(user_data: &str) -> Result<Boot, String> {
    let parsed: Value = serde_yaml::from_str(user_data).map_err(|e| format!("the user data is not YAML: {e}"))?;
    if !user_data.starts_with("#cloud-config\n") {
        return Err("the user data does not start with #cloud-config".into());
    }
    let root = parsed["users"].as_array().and_then(|users| users.iter().find(|u| u["name"] == "root")).ok_or("no root user in the user data")?;
    let authorized = root["ssh_authorized_keys"].as_array().ok_or("root has no ssh_authorized_keys")?.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    let host_private = parsed["ssh_keys"]["ed25519_private"].as_str().ok_or("no ssh_keys.ed25519_private")?.to_owned();
    let files = parsed["write_files"].as_array().cloned().unwrap_or_default();
    let own_key = files.iter().find(|f| f["path"] == "/root/.ssh/id_ed25519").and_then(|f| f["content"].as_str().map(str::to_owned));
    Ok(Boot { authorized, host_private, own_key })
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", path.display()))
}

/// A host key that is not the one cloud-init gave: an impostor's.
fn other_host_key(dir: &Path) -> Result<String, String> {
    let path = dir.join("impostor");
    let made = std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&path).status().map_err(|e| format!("ssh-keygen: {e}"))?;
    if !made.success() {
        return Err("ssh-keygen failed".into());
    }
    std::fs::read_to_string(&path).map_err(|e| e.to_string())
}

/// The public half of a private key, as `type base64` (no comment).
fn public_of(dir: &Path, private: &str) -> Result<String, String> {
    let path = dir.join("own_key");
    write(&path, private, 0o600)?;
    let out = std::process::Command::new("ssh-keygen").arg("-y").arg("-f").arg(&path).output().map_err(|e| format!("ssh-keygen: {e}"))?;
    if !out.status.success() {
        return Err(format!("root's own key is not a private key: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

impl Guest {
    /// Boots a guest from `user_data`; with `impostor`, it answers with a
    /// host key of its own instead of the one it was given.
    pub async fn boot(user_data: &str, impostor: bool) -> Result<Guest, String> {
        if !Path::new(SSHD).exists() {
            return Err(format!("{SSHD} is missing: install Debian's openssh-server (.ci/run does)"));
        }
        let boot = boot_data(user_data)?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Root's own key must open the other machines of the session: its
        // public half is among those authorized (every machine gets the same).
        let own = public_of(dir.path(), boot.own_key.as_deref().ok_or("cloud-init writes root no key of its own")?)?;
        if !boot.authorized.iter().any(|k| k.starts_with(&own)) {
            return Err(format!("root's own key ({own}) is not authorized on the machines"));
        }
        let host_key = if impostor { other_host_key(dir.path())? } else { boot.host_private };
        write(&dir.path().join("host_ed25519"), &host_key, 0o600)?;
        write(&dir.path().join("authorized_keys"), &(boot.authorized.join("\n") + "\n"), 0o600)?;
        let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?.local_addr().map_err(|e| e.to_string())?.port();
        let d = dir.path().display();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nAuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {d}/sshd.pid\nLogLevel VERBOSE\n"
        );
        write(&dir.path().join("sshd_config"), &config, 0o644)?;
        // sshd's privilege separation wants this directory.
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
        let log = std::fs::File::create(dir.path().join("sshd.log")).map_err(|e| e.to_string())?;
        let sshd = tokio::process::Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{SSHD}: {e}"))?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(Guest { port, _dir: dir, _sshd: sshd });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let said = std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default();
        Err(format!("sshd did not start: {said}"))
    }
}
