//! Tar archives the runtimes move in and out of machines: a directory's
//! contents re-rooted (build contexts, workspace archives), one file (file
//! writes and reads), and a deterministic tar of a host directory (a lab's
//! image context, hashed to cache its image).

use std::{
    io::Read,
    path::{Component, Path, PathBuf},
};

use futures::{Stream, StreamExt};

use super::RuntimeError;
use crate::capabilities::{Bytes, FileContent};

/// The modification time every entry of a deterministic archive carries,
/// so that the same files always make the same bytes.
const FIXED_MTIME: u64 = 1;

fn malformed(e: std::io::Error) -> RuntimeError {
    RuntimeError::Engine(format!("the archive is malformed: {e}"))
}

/// Reads a byte stream whole, refusing it once it passes `cap` bytes so
/// that nothing larger is buffered.
pub async fn collect_capped<S>(mut stream: S, cap: u64, what: &str) -> Result<Vec<u8>, RuntimeError>
where
    S: Stream<Item = Result<bytes::Bytes, RuntimeError>> + Unpin,
{
    let mut all = Vec::new();
    while let Some(chunk) = stream.next().await {
        all.extend_from_slice(&chunk?);
        if all.len() as u64 > cap {
            return Err(too_large(what, cap));
        }
    }
    Ok(all)
}

/// The error for something over its cap, in words a learner can act on.
pub fn too_large(what: &str, cap: u64) -> RuntimeError {
    RuntimeError::TooLarge(format!("{what} is larger than the cap of {} KiB", cap / 1024))
}

/// Turns the archive of a directory (whose entries all start with the
/// directory's own name, as an engine's archive of a path does) into an
/// archive of its contents: the directory's entries at the root.
pub fn reroot(archive: &[u8]) -> Result<Vec<u8>, RuntimeError> {
    let mut input = tar::Archive::new(archive);
    let mut out = tar::Builder::new(Vec::new());
    for (i, entry) in input.entries().map_err(malformed)?.enumerate() {
        let mut entry = entry.map_err(malformed)?;
        let kind = entry.header().entry_type();
        if i == 0 && !kind.is_dir() {
            return Err(RuntimeError::Invalid("the path is not a directory".into()));
        }
        let inner = without_first_component(&entry.path().map_err(malformed)?);
        if inner.as_os_str().is_empty() {
            continue; // the directory itself
        }
        let mut header = entry.header().clone();
        if kind.is_hard_link() || kind.is_symlink() {
            let target = entry.link_name().map_err(malformed)?.unwrap_or_default().into_owned();
            // A hard link names another entry of the archive, which moved;
            // a symbolic link's target is the machine's business.
            let target = if kind.is_hard_link() { without_first_component(&target) } else { target };
            out.append_link(&mut header, &inner, &target).map_err(malformed)?;
        } else {
            out.append_data(&mut header, &inner, &mut entry).map_err(malformed)?;
        }
    }
    out.into_inner().map_err(malformed)
}

fn without_first_component(path: &Path) -> PathBuf {
    let mut parts = path.components();
    parts.next();
    parts.as_path().to_path_buf()
}

/// An archive holding one file named `name`.
pub fn single_file(name: &std::ffi::OsStr, data: &[u8], mode: u32, mtime: u64) -> Result<Vec<u8>, RuntimeError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_mtime(mtime);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_data(&mut header, name, data).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    builder.into_inner().map_err(|e| RuntimeError::Invalid(e.to_string()))
}

/// The first entry of an archive as a file, cut at `max_bytes`.
pub fn first_file(archive: &[u8], max_bytes: u32) -> Option<FileContent> {
    let mut entries = tar::Archive::new(archive);
    let mut entry = entries.entries().ok()?.next()?.ok()?;
    if !entry.header().entry_type().is_file() {
        return None;
    }
    let size = entry.header().size().ok()?;
    let mut data = Vec::new();
    // A read cut short by the streaming cap still yields what arrived.
    let _ = (&mut entry).take(max_bytes as u64).read_to_end(&mut data);
    Some(FileContent { data: Bytes(data), size, truncated: size > max_bytes as u64 })
}

/// A deterministic archive of a host directory's contents: entries sorted,
/// one fixed mtime, owner root, modes reduced to what git keeps (executable
/// or not). Symbolic links stay when they point inside the directory and are
/// refused otherwise; so are archives over `max_bytes` and special files.
pub fn directory_tar(root: &Path, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut total = 0u64;
    append_tree(&mut builder, root, Path::new(""), max_bytes, &mut total)?;
    builder.into_inner().map_err(|e| io_error(root, e))
}

fn io_error(path: &Path, e: std::io::Error) -> RuntimeError {
    if e.kind() == std::io::ErrorKind::NotFound {
        RuntimeError::NotFound(format!("{}: {e}", path.display()))
    } else {
        RuntimeError::Engine(format!("{}: {e}", path.display()))
    }
}

fn append_tree(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel: &Path,
    max_bytes: u64,
    total: &mut u64,
) -> Result<(), RuntimeError> {
    let dir = root.join(rel);
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>().map_err(|e| io_error(&dir, e))?;
    names.sort();
    for name in names {
        let rel = rel.join(&name);
        let full = root.join(&rel);
        let meta = std::fs::symlink_metadata(&full).map_err(|e| io_error(&full, e))?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(FIXED_MTIME);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            builder.append_data(&mut header, &rel, std::io::empty()).map_err(|e| io_error(&full, e))?;
            append_tree(builder, root, &rel, max_bytes, total)?;
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&full).map_err(|e| io_error(&full, e))?;
            if !stays_inside(rel.parent().unwrap_or(Path::new("")), &target) {
                return Err(RuntimeError::Invalid(format!(
                    "{} links to {}, outside the build context",
                    full.display(),
                    target.display()
                )));
            }
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            builder.append_link(&mut header, &rel, &target).map_err(|e| io_error(&full, e))?;
        } else if meta.is_file() {
            *total += meta.len() + 512;
            if *total > max_bytes {
                return Err(too_large(&format!("the build context {}", root.display()), max_bytes));
            }
            use std::os::unix::fs::PermissionsExt;
            let executable = meta.permissions().mode() & 0o111 != 0;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            let file = std::fs::File::open(&full).map_err(|e| io_error(&full, e))?;
            // The size in the header is the size read: a file that changes
            // while it is archived must not make a broken archive.
            builder.append_data(&mut header, &rel, file.take(meta.len())).map_err(|e| io_error(&full, e))?;
        } else {
            return Err(RuntimeError::Invalid(format!("{} is not a file, directory or link", full.display())));
        }
    }
    Ok(())
}

/// Whether a link at `dir` (relative to the context root) pointing to
/// `target` resolves inside the context, judged on the path alone.
fn stays_inside(dir: &Path, target: &Path) -> bool {
    let mut depth = dir.components().count() as i64;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(archive: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(archive);
        a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
    }

    #[test]
    fn a_directory_archive_is_re_rooted_at_its_contents() {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir.clone(), "app/", std::io::empty()).unwrap();
        b.append_data(&mut dir, "app/src/", std::io::empty()).unwrap();
        let mut file = tar::Header::new_gnu();
        file.set_size(5);
        b.append_data(&mut file, "app/src/main.py", &b"print"[..]).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Link);
        link.set_size(0);
        b.append_link(&mut link, "app/again.py", "app/src/main.py").unwrap();
        let archive = b.into_inner().unwrap();

        let out = reroot(&archive).unwrap();
        assert_eq!(names(&out), ["src", "src/main.py", "again.py"]);
        let mut a = tar::Archive::new(&out[..]);
        let hard = a.entries().unwrap().nth(2).unwrap().unwrap();
        assert_eq!(hard.link_name().unwrap().unwrap().to_str(), Some("src/main.py"));
        assert!(matches!(reroot(&single_file("f".as_ref(), b"x", 0o644, 0).unwrap()), Err(RuntimeError::Invalid(_))));
    }

    #[test]
    fn a_host_directory_archives_the_same_every_time_and_keeps_links_inside() {
        let dir = std::env::temp_dir().join(format!("proctor-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.txt"), "b").unwrap();
        std::fs::write(dir.join("sub/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("../b.txt", dir.join("sub/link")).unwrap();
        let first = directory_tar(&dir, 1 << 20).unwrap();
        std::fs::write(dir.join("b.txt"), "b").unwrap(); // a new mtime, the same bytes
        assert_eq!(directory_tar(&dir, 1 << 20).unwrap(), first);
        assert_eq!(names(&first), ["b.txt", "sub", "sub/a.txt", "sub/link"]);
        assert!(matches!(directory_tar(&dir, 600), Err(RuntimeError::TooLarge(_))));

        std::os::unix::fs::symlink("../../etc/passwd", dir.join("sub/escape")).unwrap();
        let err = directory_tar(&dir, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("outside the build context"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn links_are_judged_by_where_they_resolve() {
        assert!(stays_inside(Path::new("a/b"), Path::new("../c")));
        assert!(stays_inside(Path::new(""), Path::new("./c")));
        assert!(!stays_inside(Path::new("a"), Path::new("../../c")));
        assert!(!stays_inside(Path::new(""), Path::new("/etc/passwd")));
    }
}
