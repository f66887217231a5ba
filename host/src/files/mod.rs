//! A session's workspace as the file editor sees it: list, read, write and
//! delete files below the working directory of a machine, and nowhere else.
//!
//! Every operation takes two steps on the machine at most. A small shell
//! script resolves the requested path and the root with `realpath` (so a
//! symbolic link that points out of the workspace is caught where the links
//! live), refuses anything outside, and then lists, inspects, prepares a
//! write or deletes; reads and writes move the bytes through the runtime's
//! file calls on the resolved path. The path is first checked as text
//! (`paths`), so most bad requests never reach the machine.

mod paths;

use std::time::Duration;

use crate::{
    capabilities::{Bytes, Command},
    runtime::{Runtime, RuntimeError},
};

pub use paths::{relative, resolve, within};

/// Why a workspace file operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// The path cannot name a file.
    #[error("invalid path {path:?}: {why}")]
    BadPath {
        /// The path asked for.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The path, or what a link in it points to, is outside the workspace.
    #[error("{0:?} is outside the workspace")]
    Outside(String),
    /// Nothing is there.
    #[error("{0:?} does not exist")]
    NotFound(String),
    /// A directory was given where a file was expected.
    #[error("{0:?} is a directory")]
    IsDirectory(String),
    /// A file was given where a directory was expected.
    #[error("{0:?} is not a directory")]
    NotDirectory(String),
    /// The directory has entries and the deletion was not recursive.
    #[error("the directory {0:?} is not empty")]
    NotEmpty(String),
    /// The workspace itself cannot be deleted.
    #[error("the workspace root cannot be deleted")]
    Root,
    /// The file is larger than the editor handles.
    #[error("{path:?} is {size} bytes; files are limited to {limit} bytes")]
    TooLarge {
        /// The path.
        path: String,
        /// Its size, or the size of the upload.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The machine could not carry the operation out.
    #[error("the machine could not {op} {path:?}: {detail}")]
    Machine {
        /// The operation.
        op: &'static str,
        /// The path.
        path: String,
        /// What the machine said.
        detail: String,
    },
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// What an entry of a directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (socket, device, pipe).
    Other,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Its path relative to the workspace root.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, seconds since the Unix epoch.
    pub modified: u64,
}

/// A directory's entries, directories first, then by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The directory, relative to the root.
    pub path: String,
    /// Its entries.
    pub entries: Vec<Entry>,
    /// Whether entries were left out (very large directories).
    pub truncated: bool,
}

/// The workspace of one machine of a session.
pub struct Workspace<'a> {
    runtime: &'a dyn Runtime,
    session: &'a str,
    machine: &'a str,
    root: &'a str,
    max_bytes: u64,
}

/// Answers of the resolving script (exit codes) beyond success.
const NOT_FOUND: i32 = 91;
const WRONG_KIND: i32 = 92;
const OUTSIDE: i32 = 93;
const NO_PARENT: i32 = 94;
const ROOT: i32 = 95;
const NOT_EMPTY: i32 = 96;

/// Resolves `$2` (root) and `$3` (path) on the machine, refuses a path
/// outside the root, then carries out `$1` (with `$4` = 1 for a recursive
/// removal). Prints the two resolved paths,
/// NUL-terminated, before anything else.
const SCRIPT: &str = r#"
root=$(realpath -m -- "$2") || exit 90
if [ "$1" = remove ]; then
  # A link is removed itself, not what it points to: resolve its directory only.
  dir=$(realpath -m -- "$(dirname -- "$3")") || exit 90
  path="${dir%/}/$(basename -- "$3")"
else
  path=$(realpath -m -- "$3") || exit 90
fi
printf '%s\0%s\0' "$root" "$path"
if [ "$root" != / ]; then
  case "$path/" in "$root"/*) ;; *) exit 93 ;; esac
fi
case $1 in
list)
  [ -e "$path" ] || exit 91
  [ -d "$path" ] || exit 92
  exec find "$path" -mindepth 1 -maxdepth 1 -printf '%y\t%s\t%T@\t%f\0' ;;
inspect)
  [ -e "$path" ] || exit 91
  [ -d "$path" ] && exit 92
  exit 0 ;;
prepare)
  [ -d "$path" ] && exit 92
  mkdir -p -- "$(dirname -- "$path")" || exit 94
  [ -e "$path" ] && exec stat -c '%a' -- "$path"
  exit 0 ;;
remove)
  [ -e "$path" ] || [ -L "$path" ] || exit 91
  [ "$path" = "$root" ] && exit 95
  if [ -d "$path" ]; then
    if [ "$4" = 1 ]; then exec rm -rf -- "$path"; fi
    rmdir -- "$path" 2>/dev/null || exit 96
  else
    exec rm -f -- "$path"
  fi ;;
esac
"#;

/// Most entries a listing returns.
const MAX_ENTRIES: usize = 2000;

impl<'a> Workspace<'a> {
    /// The workspace rooted at `root` on `machine`, with files of at most
    /// `max_bytes`.
    pub fn new(runtime: &'a dyn Runtime, session: &'a str, machine: &'a str, root: &'a str, max_bytes: u64) -> Self {
        Workspace { runtime, session, machine, root, max_bytes }
    }

    /// The largest file read or written.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The entries of a directory.
    pub async fn list(&self, path: &str) -> Result<Listing, FilesError> {
        let run = self.run("list", path, false).await?;
        let mut entries: Vec<Entry> = run
            .rest
            .split(|b| *b == 0)
            .filter(|r| !r.is_empty())
            .filter_map(|record| {
                let text = String::from_utf8_lossy(record);
                let mut fields = text.splitn(4, '\t');
                let (kind, size, modified, name) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
                let kind = match kind {
                    "f" => EntryKind::File,
                    "d" => EntryKind::Dir,
                    "l" => EntryKind::Symlink,
                    _ => EntryKind::Other,
                };
                let rel = relative(&run.root, &run.path);
                Some(Entry {
                    path: if rel.is_empty() { name.to_owned() } else { format!("{rel}/{name}") },
                    name: name.to_owned(),
                    kind,
                    size: size.parse().unwrap_or(0),
                    modified: modified.split('.').next().and_then(|s| s.parse().ok()).unwrap_or(0),
                })
            })
            .collect();
        let truncated = run.truncated || entries.len() > MAX_ENTRIES;
        entries.sort_by(|a, b| (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name)));
        entries.truncate(MAX_ENTRIES);
        Ok(Listing { path: relative(&run.root, &run.path).to_owned(), entries, truncated })
    }

    /// A file's bytes, refused when larger than the limit.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, FilesError> {
        let run = self.run("inspect", path, false).await?;
        let cap = u32::try_from(self.max_bytes).unwrap_or(u32::MAX);
        let content = self.runtime.read_file(self.session, self.machine, &run.path, cap).await.map_err(|e| match e {
            RuntimeError::NotFound(_) => FilesError::NotFound(path.to_owned()),
            RuntimeError::Invalid(_) => FilesError::Machine { op: "read", path: path.to_owned(), detail: "it is not a regular file".into() },
            e => FilesError::Runtime(e),
        })?;
        if content.truncated {
            return Err(FilesError::TooLarge { path: path.to_owned(), size: content.size, limit: self.max_bytes });
        }
        Ok(content.data.0)
    }

    /// Writes a file, creating its directories; an existing file keeps its
    /// permissions (an executable script stays executable).
    pub async fn write(&self, path: &str, data: &[u8]) -> Result<u64, FilesError> {
        if data.len() as u64 > self.max_bytes {
            return Err(FilesError::TooLarge { path: path.to_owned(), size: data.len() as u64, limit: self.max_bytes });
        }
        let run = self.run("prepare", path, false).await?;
        let mode = std::str::from_utf8(&run.rest).ok().and_then(|m| u32::from_str_radix(m.trim(), 8).ok()).unwrap_or(0o644);
        self.runtime.write_file(self.session, self.machine, &run.path, data, mode).await?;
        Ok(data.len() as u64)
    }

    /// Deletes a file, a link, an empty directory, or with `recursive` a
    /// whole tree.
    pub async fn remove(&self, path: &str, recursive: bool) -> Result<(), FilesError> {
        self.run("remove", path, recursive).await.map(drop)
    }

    /// Runs the script for `op` on the checked path and sorts its answer.
    async fn run(&self, op: &'static str, requested: &str, flag: bool) -> Result<Run, FilesError> {
        let path = resolve(self.root, requested)?;
        let argv = ["sh", "-c", SCRIPT, "proctor-files", op, self.root, &path, if flag { "1" } else { "0" }];
        let cmd = Command {
            machine: self.machine.to_owned(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            timeout: Some(Duration::from_secs(15)),
            max_output_bytes: Some(4 << 20),
            ..Command::default()
        };
        let out = self.runtime.exec(self.session, &cmd).await?;
        let mut parts = out.stdout.0.splitn(3, |b| *b == 0);
        let root = parts.next().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
        let real = parts.next().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
        let rest = parts.next().map(<[u8]>::to_vec).unwrap_or_default();
        let shown = || requested.to_owned();
        match out.exit_code {
            // Checked here as well as in the script: the answer is only
            // trusted when the resolved path is inside the resolved root.
            0 if root.is_empty() => Err(FilesError::Machine {
                op,
                path: shown(),
                detail: "it gave no answer (it needs sh, realpath and find)".into(),
            }),
            0 if within(&root, &real) => {
                Ok(Run { root, path: real, rest, truncated: out.stdout_truncated })
            }
            0 | OUTSIDE => Err(FilesError::Outside(shown())),
            NOT_FOUND => Err(FilesError::NotFound(shown())),
            WRONG_KIND if op == "list" => Err(FilesError::NotDirectory(shown())),
            WRONG_KIND => Err(FilesError::IsDirectory(shown())),
            NO_PARENT => Err(FilesError::Machine { op: "create the directories of", path: shown(), detail: tail(&out.stderr) }),
            ROOT => Err(FilesError::Root),
            NOT_EMPTY => Err(FilesError::NotEmpty(shown())),
            code => Err(FilesError::Machine {
                op,
                path: shown(),
                detail: format!("exit status {code}: {}", tail(&out.stderr)),
            }),
        }
    }
}

/// What the script answered.
struct Run {
    /// The root, resolved.
    root: String,
    /// The path, resolved.
    path: String,
    /// What the operation printed after the two paths.
    rest: Vec<u8>,
    /// Whether the output was cut.
    truncated: bool,
}

fn tail(stderr: &Bytes) -> String {
    let text = String::from_utf8_lossy(&stderr.0);
    let text = text.trim();
    let start = text.char_indices().rev().nth(300).map_or(0, |(i, _)| i);
    text[start..].to_owned()
}
