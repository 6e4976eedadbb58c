//! Listing a build context: every directory, file and symlink under the context root, in path
//! order, with the normalised mode that goes into the tar and the hash.

use std::fs;
use std::path::Path;

use super::error::ContextError;

/// What a context entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file of this many bytes.
    File {
        /// Size in bytes when listed.
        len: u64,
    },
    /// A symbolic link (stored as a link, never followed).
    Symlink {
        /// The link target, as written in the link.
        target: String,
    },
}

/// One entry of a build context, as it goes into the tar and the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path relative to the context root, `/`-separated, no leading `./`.
    pub path: String,
    /// The entry kind.
    pub kind: EntryKind,
    /// The normalised mode (`0o755`, `0o644` or `0o777` for links).
    pub mode: u32,
}

/// List a context directory recursively, sorted by path (byte order), symlinks not followed.
pub fn list_context(dir: &Path) -> Result<Vec<ContextEntry>, ContextError> {
    let mut entries = Vec::new();
    walk(dir, "", &mut entries)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<ContextEntry>) -> Result<(), ContextError> {
    let walk_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ContextError::Walk { path, source }
    };
    for entry in fs::read_dir(dir).map_err(walk_err(dir))? {
        let entry = entry.map_err(walk_err(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(ContextError::NonUtf8Path { path });
        };
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(walk_err(&path))?;
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(&path).map_err(walk_err(&path))?;
            let Some(target) = target.to_str().map(str::to_owned) else {
                return Err(ContextError::NonUtf8Path { path });
            };
            out.push(ContextEntry {
                path: rel,
                kind: EntryKind::Symlink { target },
                mode: 0o777,
            });
        } else if file_type.is_dir() {
            out.push(ContextEntry {
                path: rel.clone(),
                kind: EntryKind::Dir,
                mode: 0o755,
            });
            walk(&path, &rel, out)?;
        } else if file_type.is_file() {
            use std::os::unix::fs::PermissionsExt as _;
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push(ContextEntry {
                path: rel,
                kind: EntryKind::File { len: meta.len() },
                mode: if executable { 0o755 } else { 0o644 },
            });
        } else {
            return Err(ContextError::UnsupportedEntry { path });
        }
    }
    Ok(())
}
