//! Files and directories moved with commands, for runtimes whose only way
//! into a machine is running a program there (Kubernetes pods through the
//! exec subresource, virtual machines over SSH): `cat`, `tar`, `mkdir` and
//! `chmod`, with the data on standard input or output.

use crate::{
    capabilities::{Command, CommandOutput, FileContent},
    runtime::{RuntimeError, checked_path},
};

/// How long a file or directory transfer may take.
const TRANSFER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A machine commands can be run on.
#[async_trait::async_trait]
pub trait RunsCommands: Send + Sync {
    /// Runs `cmd` to completion.
    async fn run(&self, cmd: &Command) -> Result<CommandOutput, RuntimeError>;
}

fn command(machine: &str, script: &str, args: &[&str], stdin: Option<Vec<u8>>, cap: u64) -> Command {
    let mut argv = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned(), "sh".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    Command {
        machine: machine.to_owned(),
        argv,
        stdin: stdin.map(Into::into),
        timeout: Some(TRANSFER_TIMEOUT),
        max_output_bytes: Some(cap.min(u64::from(u32::MAX)) as u32),
        ..Command::default()
    }
}

fn failed(what: &str, path: &str, out: &CommandOutput) -> RuntimeError {
    let said = String::from_utf8_lossy(&out.stderr.0).trim().to_owned();
    if said.contains("No such file") || out.exit_code == 2 {
        return RuntimeError::NotFound(path.to_owned());
    }
    RuntimeError::Invalid(format!("could not {what} {path}: {said}"))
}

/// Reads at most `max_bytes` of a file, with its full size.
pub async fn read_file(m: &dyn RunsCommands, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError> {
    let path = checked_path(path)?;
    // The size first, on a line of its own, then the bytes: one round trip.
    let script = r#"[ -f "$1" ] || { echo "not a regular file" >&2; [ -e "$1" ] && exit 3; exit 2; }; wc -c < "$1"; head -c "$2" "$1""#;
    let out = m.run(&command(machine, script, &[path, &max_bytes.to_string()], None, u64::from(max_bytes) + 32)).await?;
    if out.exit_code != 0 {
        return Err(failed("read", path, &out));
    }
    let data = out.stdout.0;
    let newline = data.iter().position(|b| *b == b'\n').ok_or_else(|| RuntimeError::Engine(format!("reading {path} gave no size")))?;
    let size: u64 = String::from_utf8_lossy(&data[..newline]).trim().parse().map_err(|_| RuntimeError::Engine(format!("reading {path} gave no size")))?;
    let body = data[newline + 1..].to_vec();
    Ok(FileContent { truncated: size > body.len() as u64, size, data: body.into() }.capped(max_bytes))
}

/// Writes a file (creating its directory), then sets its mode.
pub async fn write_file(m: &dyn RunsCommands, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError> {
    let path = checked_path(path)?;
    let script = r#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && chmod "$2" "$1""#;
    let out = m.run(&command(machine, script, &[path, &format!("{mode:o}")], Some(data.to_vec()), 4096)).await?;
    if out.exit_code != 0 {
        return Err(failed("write", path, &out));
    }
    Ok(())
}

/// A tar of a directory's contents, refused past `max_bytes`.
pub async fn archive_dir(m: &dyn RunsCommands, machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
    let path = checked_path(path)?;
    let out = m.run(&command(machine, r#"cd -- "$1" && tar -cf - ."#, &[path], None, max_bytes + 1)).await?;
    if out.exit_code != 0 {
        return Err(failed("archive", path, &out));
    }
    if out.stdout_truncated || out.stdout.0.len() as u64 > max_bytes {
        return Err(super::archive::too_large(path, max_bytes));
    }
    Ok(out.stdout.0.to_vec())
}

/// Unpacks a tar into a directory, creating it.
pub async fn restore_dir(m: &dyn RunsCommands, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
    let path = checked_path(path)?;
    let out = m.run(&command(machine, r#"mkdir -p -- "$1" && tar -xf - -C "$1""#, &[path], Some(tar.to_vec()), 4096)).await?;
    if out.exit_code != 0 {
        return Err(failed("restore", path, &out));
    }
    Ok(())
}
