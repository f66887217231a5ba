//! The task being graded and the machines of the learner's session.

use std::time::Duration;

use crate::{
    Error,
    bindings::{environment, types as wit},
};

/// The task a judge or hint provider is asked about.
#[derive(Clone, Debug)]
pub struct Task {
    inner: wit::Task,
}

impl Task {
    /// The lab's id.
    pub fn lab(&self) -> &str {
        &self.inner.lab
    }

    /// The task's id, as the lab file names it.
    pub fn id(&self) -> &str {
        &self.inner.task
    }

    /// The learner's session id.
    pub fn session(&self) -> &str {
        &self.inner.session
    }

    /// The names of the session's machines; the first is the default.
    pub fn machines(&self) -> &[String] {
        &self.inner.machines
    }

    /// A parameter the lab file sets for this task.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The session's default machine.
    pub fn machine(&self) -> Machine {
        Machine { name: self.inner.machines.first().cloned().unwrap_or_else(|| "main".into()) }
    }

    /// The machine called `name`.
    pub fn machine_named(&self, name: &str) -> Machine {
        Machine { name: name.to_owned() }
    }
}

impl From<wit::Task> for Task {
    fn from(inner: wit::Task) -> Self {
        Task { inner }
    }
}

/// A machine of the learner's session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    name: String,
}

/// Default cap on the bytes [`Machine::read_to_string`] reads.
pub const DEFAULT_READ_CAP: u32 = 1 << 20;

impl Machine {
    /// The machine's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command to run here; see [`Command`] for options.
    pub fn command<I, S>(&self, argv: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            inner: wit::Command {
                machine: self.name.clone(),
                argv: argv.into_iter().map(Into::into).collect(),
                stdin: None,
                env: Vec::new(),
                workdir: None,
                timeout_ms: None,
                max_output_bytes: None,
            },
        }
    }

    /// A shell script to run here with `sh -c`.
    pub fn script(&self, script: &str) -> Command {
        self.command(["sh", "-c", script])
    }

    /// Runs a program with arguments (no shell).
    pub fn run<I, S>(&self, argv: I) -> Result<Output, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.command(argv).run()
    }

    /// Runs a shell script with `sh -c`.
    pub fn sh(&self, script: &str) -> Result<Output, Error> {
        self.script(script).run()
    }

    /// Reads at most `max_bytes` of a file.
    pub fn read_file(&self, path: &str, max_bytes: u32) -> Result<FileContent, Error> {
        let f = environment::read_file(&self.name, path, max_bytes)?;
        Ok(FileContent { data: f.data, size: f.size, truncated: f.truncated })
    }

    /// Reads a text file (at most 1 MiB; invalid UTF-8 is replaced).
    pub fn read_to_string(&self, path: &str) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.read_file(path, DEFAULT_READ_CAP)?.data).into_owned())
    }

    /// Reads a text file as [`read_to_string`](Self::read_to_string) does;
    /// `None` when it does not exist (a learner's missing file is a verdict,
    /// not an error).
    pub fn read_optional(&self, path: &str) -> Result<Option<String>, Error> {
        match self.read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a file exists: `read-file` answers `not-found` for a missing one.
    pub fn file_exists(&self, path: &str) -> Result<bool, Error> {
        match self.read_file(path, 0) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The start of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileContent {
    /// The bytes read.
    pub data: Vec<u8>,
    /// The file's full size.
    pub size: u64,
    /// Whether the file is larger than `data`.
    pub truncated: bool,
}

/// A command, with options, ready to run on its machine.
#[derive(Clone, Debug)]
pub struct Command {
    inner: wit::Command,
}

impl Command {
    /// Bytes for the command's standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.inner.stdin = Some(bytes.into());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.env.push((name.into(), value.into()));
        self
    }

    /// Runs in this directory.
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.inner.workdir = Some(dir.into());
        self
    }

    /// Time limit (the lab's ceiling still applies).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.inner.timeout_ms = Some(limit.as_millis().min(u32::MAX as u128) as u32);
        self
    }

    /// Cap on each of stdout and stderr, in bytes.
    pub fn max_output(mut self, bytes: u32) -> Self {
        self.inner.max_output_bytes = Some(bytes);
        self
    }

    /// Runs the command and waits for it.
    pub fn run(self) -> Result<Output, Error> {
        Ok(environment::run(&self.inner)?.into())
    }
}

/// Runs several commands at once and returns their results in order. One
/// call costs about as much as the slowest command.
pub fn run_all(commands: impl IntoIterator<Item = Command>) -> Vec<Result<Output, Error>> {
    let commands: Vec<wit::Command> = commands.into_iter().map(|c| c.inner).collect();
    environment::run_all(&commands)
        .into_iter()
        .map(|r| r.map(Output::from).map_err(Error::from))
        .collect()
}

/// What a finished command produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Exit code (128 + signal when killed by one).
    pub exit_code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Whether stdout was cut at the cap.
    pub stdout_truncated: bool,
    /// Whether stderr was cut at the cap.
    pub stderr_truncated: bool,
    /// How long the command took.
    pub duration: Duration,
}

impl Output {
    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Standard output as text, trimmed of surrounding white space.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_owned()
    }

    /// Standard error as text, trimmed of surrounding white space.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

impl From<wit::CommandOutput> for Output {
    fn from(o: wit::CommandOutput) -> Self {
        Output {
            exit_code: o.exit_code,
            stdout: o.stdout,
            stderr: o.stderr,
            stdout_truncated: o.stdout_truncated,
            stderr_truncated: o.stderr_truncated,
            duration: Duration::from_millis(o.duration_ms.into()),
        }
    }
}
