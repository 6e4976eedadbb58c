//! Path checks shared by extraction and removal: entry names become clean relative paths, and
//! nothing is reached through a symlink inside the destination.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::{ExtractError, Refusal};

/// Removes files, directories (recursively) and symlinks at `rels`, relative to `dest`. Every
/// path is checked first (no absolute path, no `..`, no symlink above it), so a refused list
/// removes nothing. A symlink is removed itself, never its target; missing paths are ignored.
/// Returns the paths actually removed, normalised, in the given order.
///
/// # Errors
///
/// [`ExtractError::RefusedRemoval`] (before anything is removed) for an unsafe path, or an I/O
/// variant when inspecting or removing fails.
pub fn remove_paths_safe(dest: &Path, rels: &[PathBuf]) -> Result<Vec<PathBuf>, ExtractError> {
    let mut planned = Vec::with_capacity(rels.len());
    for raw in rels {
        let refuse = |reason| ExtractError::refused_removal(raw, reason);
        let rel = entry_path(raw.as_os_str().as_bytes(), 0)
            .map_err(refuse)?
            .unwrap_or_default();
        if rel.as_os_str().is_empty() {
            return Err(refuse(Refusal::Destination));
        }
        walk_parents(dest, &rel, false, &refuse)?;
        planned.push((raw, rel));
    }
    let mut removed = Vec::new();
    for (raw, rel) in planned {
        let refuse = |reason| ExtractError::refused_removal(raw, reason);
        // An earlier removal may have taken this path with it.
        if !walk_parents(dest, &rel, false, &refuse)? {
            continue;
        }
        let path = dest.join(&rel);
        let result = match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ExtractError::Inspect { path, source }),
            // std's remove_dir_all never follows symlinks inside the tree.
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
        };
        result.map_err(|source| ExtractError::Remove { path, source })?;
        removed.push(rel);
    }
    Ok(removed)
}

/// Turns a raw entry name into a path relative to the destination, after dropping
/// `strip` leading components. `Ok(None)`: the name had fewer components than `strip`.
pub(super) fn entry_path(raw: &[u8], strip: usize) -> Result<Option<PathBuf>, Refusal> {
    if raw.contains(&0) {
        return Err(Refusal::NulByte);
    }
    let mut parts = Vec::new();
    for component in Path::new(OsStr::from_bytes(raw)).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(Refusal::ParentDir),
            Component::RootDir | Component::Prefix(_) => return Err(Refusal::Absolute),
        }
    }
    Ok(parts.get(strip..).map(|kept| kept.iter().collect()))
}

/// Checks that every directory above `rel` inside `dest` is a real directory (not a symlink),
/// creating missing ones when `create`. Returns `false` (only when not creating) when one is
/// missing or not a directory, i.e. `rel` cannot exist.
pub(super) fn walk_parents(
    dest: &Path,
    rel: &Path,
    create: bool,
    refuse: &dyn Fn(Refusal) -> ExtractError,
) -> Result<bool, ExtractError> {
    let Some(parent) = rel.parent() else {
        return Ok(true);
    };
    let mut prefix = PathBuf::new();
    for component in parent.components() {
        prefix.push(component);
        let path = dest.join(&prefix);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refuse(Refusal::ThroughSymlink { link: prefix }));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) if create => return Err(refuse(Refusal::ParentNotDir { parent: prefix })),
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&path).map_err(|source| ExtractError::CreateDir { path, source })?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(ExtractError::Inspect { path, source }),
        }
    }
    Ok(true)
}

/// Whether `rel` and every directory above it are real directories (no symlink anywhere).
pub(super) fn is_real_dir(dest: &Path, rel: &Path) -> bool {
    let mut path = dest.to_path_buf();
    rel.components().all(|component| {
        path.push(component);
        fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir())
    })
}
