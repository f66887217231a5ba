//! The capability requests and answers as the host sees them.
//!
//! These mirror the WIT records but belong to the host, so that runtimes,
//! fixtures and recordings never depend on generated bindings. They serialize
//! to readable JSON: byte strings are text when they are UTF-8 and
//! `{"base64": "…"}` when they are not.

use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Bytes that serialize as text when they are UTF-8, else as base64.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Binary { base64: String },
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => BytesRepr::Text(text.to_owned()),
            Err(_) => BytesRepr::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(&self.0),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match BytesRepr::deserialize(d)? {
            BytesRepr::Text(text) => Ok(Bytes(text.into_bytes())),
            BytesRepr::Binary { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map(Bytes)
                .map_err(serde::de::Error::custom),
        }
    }
}

fn is_empty_bytes(b: &Bytes) -> bool {
    b.0.is_empty()
}

/// The capabilities a lab can grant to its plugins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Run commands on the session's machines (`run`, `run-all`).
    Exec,
    /// Read files from the session's machines.
    ReadFile,
    /// Build a container image from a directory of a machine.
    BuildImage,
    /// Run a built image, probe it over HTTP and stop it.
    RunImage,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 4] = [
        Capability::Exec,
        Capability::ReadFile,
        Capability::BuildImage,
        Capability::RunImage,
    ];

    /// The name used in lab files and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Exec => "exec",
            Capability::ReadFile => "read-file",
            Capability::BuildImage => "build-image",
            Capability::RunImage => "run-image",
        }
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Capability::ALL.iter().map(|c| c.name()).collect();
                format!("unknown capability `{s}`; known: {}", known.join(", "))
            })
    }
}

/// Why a capability call produced no answer; the guest receives it as data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum CapabilityError {
    /// The lab does not grant the capability.
    #[error("denied: {0}")]
    Denied(String),
    /// The call ran out of time.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The request or answer is too large.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The machine, file or container does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The runtime cannot do this.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Anything else.
    #[error("failed: {0}")]
    Failed(String),
}

/// One command to run on a machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Machine name.
    pub machine: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Bytes>,
    /// Extra environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Time limit; the lab's default when absent.
    #[serde(default, rename = "timeout_ms", skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub timeout: Option<Duration>,
    /// Cap on each output stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u32>,
}

/// What a finished command produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandOutput {
    /// Exit code.
    pub exit_code: i32,
    /// Standard output.
    #[serde(default, skip_serializing_if = "is_empty_bytes")]
    pub stdout: Bytes,
    /// Standard error.
    #[serde(default, skip_serializing_if = "is_empty_bytes")]
    pub stderr: Bytes,
    /// Whether stdout was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdout_truncated: bool,
    /// Whether stderr was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stderr_truncated: bool,
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u32,
}

impl CommandOutput {
    /// The end of what the command said, for an error message: its last
    /// `lines` lines of standard error, or of standard output when it wrote
    /// no errors, joined with ` / `.
    pub fn said_tail(&self, lines: usize) -> String {
        let said = if self.stderr.0.is_empty() { &self.stdout.0 } else { &self.stderr.0 };
        let text = String::from_utf8_lossy(said);
        let all: Vec<&str> = text.trim().lines().collect();
        all[all.len().saturating_sub(lines)..].join(" / ")
    }
}

/// A file read request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadFile {
    /// Machine name.
    pub machine: String,
    /// Absolute path or one relative to the machine's working directory.
    pub path: String,
    /// At most this many bytes are returned.
    #[serde(default = "default_read_cap")]
    pub max_bytes: u32,
}

fn default_read_cap() -> u32 {
    1 << 20
}

/// The start of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContent {
    /// The bytes read.
    pub data: Bytes,
    /// The file's full size.
    pub size: u64,
    /// Whether the file is larger than `data`.
    #[serde(default)]
    pub truncated: bool,
}

impl FileContent {
    /// Cuts the content to `max` bytes, as a runtime must before answering.
    pub fn capped(mut self, max: u32) -> Self {
        if self.data.0.len() > max as usize {
            self.data.0.truncate(max as usize);
            self.truncated = true;
        }
        self
    }
}

/// A request to build an image from a directory of a machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildRequest {
    /// Machine holding the context.
    pub machine: String,
    /// Context directory on that machine.
    pub context_dir: String,
    /// Dockerfile relative to the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Build arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_args: Vec<(String, String)>,
    /// Time limit; the lab's default when absent.
    #[serde(default, rename = "timeout_ms", skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub timeout: Option<Duration>,
}

/// The outcome of a build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildReport {
    /// The image reference, when the build succeeded.
    #[serde(default)]
    pub image: Option<String>,
    /// Image size in bytes.
    #[serde(default)]
    pub size_bytes: u64,
    /// Build time in milliseconds.
    #[serde(default)]
    pub duration_ms: u32,
    /// Build log.
    #[serde(default)]
    pub log: String,
    /// Whether the log was cut.
    #[serde(default)]
    pub log_truncated: bool,
    /// Why the build failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// A request to run a built image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Image reference from a build.
    pub image: String,
    /// Ports to reach.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// Command override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// A running container.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// Opaque handle.
    pub handle: String,
    /// Host name on the session network.
    pub address: String,
}

/// An HTTP GET to a container port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// Container handle.
    pub container: String,
    /// Port.
    pub port: u16,
    /// Path and query.
    pub path: String,
    /// Time limit; the lab's default when absent.
    #[serde(default, rename = "timeout_ms", skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub timeout: Option<Duration>,
}

/// An HTTP response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body.
    #[serde(default)]
    pub body: Bytes,
    /// Whether the body was cut.
    #[serde(default)]
    pub truncated: bool,
}

/// Durations as whole milliseconds in JSON.
mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(d.as_millis() as u64),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn said_tail_prefers_errors_and_keeps_the_last_lines() {
        let out = |stdout: &str, stderr: &str| CommandOutput { stdout: Bytes(stdout.into()), stderr: Bytes(stderr.into()), ..CommandOutput::default() };
        assert_eq!(out("a\nb\nc\n", "").said_tail(2), "b / c");
        assert_eq!(out("ignored", "e1\ne2\n").said_tail(5), "e1 / e2");
        assert_eq!(out("", "").said_tail(3), "");
    }
}
