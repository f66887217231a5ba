//! What every runtime's commands share: the limits of a command that names
//! none, keeping output within its cap, running within its time, and the
//! shell words and line that run a command where only a shell line can be
//! sent (SSH) or a wrapper is needed (a directory, an environment).

use std::time::{Duration, Instant};

use crate::capabilities::{Command, CommandOutput};
use crate::runtime::RuntimeError;

/// Default time limit of a command that names none.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on each output stream of a command that names none.
pub const DEFAULT_OUTPUT_CAP: u32 = 1 << 20;

/// Appends `data` to `kept` up to `cap` bytes; whether anything was cut.
pub fn keep(kept: &mut Vec<u8>, data: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(kept.len());
    kept.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}

/// Runs a command to its end within `timeout`, noting how long it took;
/// `None` when time ran out (the caller stops the command).
pub async fn within(timeout: Duration, run: impl Future<Output = Result<CommandOutput, RuntimeError>>) -> Option<Result<CommandOutput, RuntimeError>> {
    let started = Instant::now();
    let done = tokio::time::timeout(timeout, run).await.ok()?;
    Some(done.map(|mut out| {
        out.duration_ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        out
    }))
}

/// Quotes `s` as one word for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The shell line that runs `cmd` as its argv says, in its directory and
/// with its environment, every word quoted.
pub fn shell_line(cmd: &Command) -> String {
    let mut line = String::new();
    if let Some(dir) = &cmd.workdir {
        line.push_str(&format!("cd -- {} && ", quote(dir)));
    }
    line.push_str("exec ");
    if !cmd.env.is_empty() {
        line.push_str("env ");
        for (k, v) in &cmd.env {
            line.push_str(&quote(&format!("{k}={v}")));
            line.push(' ');
        }
    }
    line.push_str(&cmd.argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_keep_every_word_whole_and_output_stays_within_its_cap() {
        let plain = Command { argv: vec!["ls".into(), "-l".into()], ..Command::default() };
        assert_eq!(shell_line(&plain), "exec 'ls' '-l'");
        let placed = Command { argv: vec!["echo".into(), "it's $HOME; rm -rf /".into()], workdir: Some("/w d".into()), env: vec![("A".into(), "1 2".into())], ..Command::default() };
        assert_eq!(shell_line(&placed), r#"cd -- '/w d' && exec env 'A=1 2' 'echo' 'it'\''s $HOME; rm -rf /'"#);
        let mut kept = Vec::new();
        assert!(!keep(&mut kept, b"abc", 4));
        assert!(keep(&mut kept, b"def", 4));
        assert_eq!(kept, b"abcd");
    }
}
