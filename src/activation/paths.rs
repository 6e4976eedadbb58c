//! Lexical path helpers shared by the activation steps (pure: no filesystem access).
//!
//! Activation works on container paths it writes into configuration files, so paths are
//! normalised by their components only (`.` dropped, `..` popped), never canonicalised: a symlink
//! in the workspace must not turn `/workspace/...` into some other absolute path.

use std::path::{Component, Path, PathBuf};

/// `path` with `.` components removed and `..` components applied lexically (`..` at the root
/// stays at the root; leading `..` of a relative path are kept).
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(Component::Normal(_)) => {
                    parts.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => parts.push(component),
            },
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

/// `base` joined with `path` and normalised; an absolute `path` replaces `base`.
pub fn join_normalized(base: &Path, path: &Path) -> PathBuf {
    normalize(&base.join(path))
}

/// The path as a string for reports and configuration files (lossy for non-UTF-8 names, which
/// the reference cannot represent either).
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_drops_dots_and_applies_parents() {
        for (input, expected) in [
            ("/workspace/./a/../b", "/workspace/b"),
            ("/workspace/", "/workspace"),
            ("/../x", "/x"),
            ("a/../../b", "../b"),
            ("./", "."),
            ("a/./b/", "a/b"),
        ] {
            assert_eq!(
                normalize(Path::new(input)),
                PathBuf::from(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn join_normalized_keeps_absolute_paths() {
        let ws = Path::new("/workspace");
        assert_eq!(
            join_normalized(ws, Path::new("tools/../srv")),
            PathBuf::from("/workspace/srv")
        );
        assert_eq!(
            join_normalized(ws, Path::new("/opt/x/.")),
            PathBuf::from("/opt/x")
        );
        assert_eq!(
            join_normalized(ws, Path::new("")),
            PathBuf::from("/workspace")
        );
    }
}
