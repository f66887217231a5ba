//! Where a requested path lands in a workspace, decided from the text alone
//! before anything touches the machine: relative paths join the workspace
//! root, absolute ones must already lie under it, and `..` is refused
//! outright rather than resolved, so no spelling climbs out. Symbolic links
//! are the machine's business and are checked there (see `super`).

use super::FilesError;

/// The absolute path of `requested` inside the workspace `root`, in normal
/// form (no `.`, no repeated `/`, no trailing `/`). An empty request is the
/// root itself.
pub fn resolve(root: &str, requested: &str) -> Result<String, FilesError> {
    if requested.contains('\0') {
        return Err(FilesError::BadPath { path: requested.escape_debug().to_string(), why: "it contains a NUL byte" });
    }
    let root = normal(root);
    let mut parts: Vec<&str> = Vec::new();
    for part in requested.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(FilesError::Outside(requested.to_owned())),
            p => parts.push(p),
        }
    }
    let joined = if requested.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else if parts.is_empty() {
        root.clone()
    } else {
        format!("{}/{}", root.trim_end_matches('/'), parts.join("/"))
    };
    if within(&root, &joined) { Ok(joined) } else { Err(FilesError::Outside(requested.to_owned())) }
}

/// The path relative to the root, as answered to clients ("" for the root).
pub fn relative<'a>(root: &str, path: &'a str) -> &'a str {
    let root = root.trim_end_matches('/');
    path.strip_prefix(root).map_or(path, |rest| rest.trim_start_matches('/'))
}

/// Whether `path` is `root` or below it (both normal and absolute).
pub fn within(root: &str, path: &str) -> bool {
    let root = root.trim_end_matches('/');
    root.is_empty() || path == root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'))
}

fn normal(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_paths_inside_the_root_resolve() {
        assert_eq!(resolve("/workspace", "").unwrap(), "/workspace");
        assert_eq!(resolve("/workspace/", "app/./main.py").unwrap(), "/workspace/app/main.py");
        assert_eq!(resolve("/workspace", "/workspace//app/").unwrap(), "/workspace/app");
        assert_eq!(resolve("/", "etc/hosts").unwrap(), "/etc/hosts");
        assert_eq!(relative("/workspace", "/workspace/app/main.py"), "app/main.py");
        assert_eq!(relative("/workspace", "/workspace"), "");
    }

    #[test]
    fn climbing_out_is_refused_in_every_spelling() {
        for bad in ["../etc/passwd", "app/../../etc", "/etc/passwd", "/workspace2/x", "/workspace/../etc", "a\0b"] {
            assert!(resolve("/workspace", bad).is_err(), "{bad:?} was let through");
        }
        assert!(!within("/workspace", "/workspacex"));
        assert!(within("/workspace", "/workspace/x"));
    }
}
