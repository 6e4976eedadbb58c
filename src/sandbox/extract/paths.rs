//! Path checks shared by extraction and removal: entry names become clean relative paths,
//! nothing is reached through a symlink inside the destination, and a symlink target stays in it.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::error::Fault;
use super::{ExtractError, Refusal};

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
pub(super) fn walk_parents(dest: &Path, rel: &Path, create: bool) -> Result<bool, Fault> {
    let Some(parent) = rel.parent() else {
        return Ok(true);
    };
    let mut prefix = PathBuf::new();
    for component in parent.components() {
        prefix.push(component);
        let path = dest.join(&prefix);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Refusal::ThroughSymlink { link: prefix }.into());
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) if create => return Err(Refusal::ParentNotDir { parent: prefix }.into()),
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&path).map_err(|source| ExtractError::CreateDir { path, source })?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(ExtractError::Inspect { path, source }.into()),
        }
    }
    Ok(true)
}

/// Makes `rel`, whose parents are known to be real directories, a real directory: checks it,
/// or creates it when missing. The refusals are [`walk_parents`]'s for that one level.
pub(super) fn ensure_dir(dest: &Path, rel: &Path) -> Result<(), Fault> {
    let path = dest.join(rel);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(Refusal::ThroughSymlink {
            link: rel.to_path_buf(),
        }
        .into()),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Refusal::ParentNotDir {
            parent: rel.to_path_buf(),
        }
        .into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(&path).map_err(|source| ExtractError::CreateDir { path, source }.into())
        }
        Err(source) => Err(ExtractError::Inspect { path, source }.into()),
    }
}

/// Whether `rel` and every directory above it are real directories (no symlink anywhere).
pub(super) fn is_real_dir(dest: &Path, rel: &Path) -> bool {
    let mut path = dest.to_path_buf();
    rel.components().all(|component| {
        path.push(component);
        fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir())
    })
}

/// Checks a symlink's target (non-empty, raw bytes) for the link at `rel`: not absolute, and,
/// applied to the link's directory, never above `dest`. A `..` after a name is refused too:
/// the name may be a link (to `.`, say) that `..` would then climb out of, so only targets of
/// the form `../../a/b` are judged lexically.
pub(super) fn check_link_target(rel: &Path, target: &Path) -> Result<(), Refusal> {
    if target.as_os_str().as_bytes().contains(&0) {
        return Err(Refusal::NulByte);
    }
    let outside = || Refusal::SymlinkOutside {
        target: target.to_path_buf(),
    };
    let mut depth = rel.parent().map_or(0, |parent| parent.components().count());
    let mut named = false;
    for component in target.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                return Err(Refusal::SymlinkAbsolute {
                    target: target.to_path_buf(),
                });
            }
            Component::CurDir => {}
            Component::ParentDir if named => return Err(outside()),
            Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(outside)?,
            Component::Normal(_) => named = true,
        }
    }
    Ok(())
}
