//! Removing paths from the host tree (the deletions of a write-back), one at a time: an unsafe
//! or protected path is refused and recorded, the others are removed.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::error::Fault;
use super::paths::{entry_path, walk_parents};
use super::{Decision, ExtractError, Refusal, RemovalReport};

/// Removes files, directories (recursively) and symlinks at `rels`, relative to `dest`.
///
/// Each path is checked on its own: an absolute path, a `..`, a symlink above it, `dest` itself,
/// or a path the `policy` refuses is recorded in [`RemovalReport::refused`] and left alone; a
/// path the policy skips is left alone silently; the others are removed. A symlink is removed
/// itself, never its target; missing paths are ignored. Below a directory being removed the
/// policy is asked again, so removing `sub` keeps `sub/.git` (and `sub` with it) under
/// [`super::workspace_policy`].
///
/// # Errors
///
/// An I/O variant when inspecting or removing fails on the host; paths before it stay removed.
pub fn remove_paths_safe(
    dest: &Path,
    rels: &[PathBuf],
    policy: Option<&dyn Fn(&Path) -> Decision>,
) -> Result<RemovalReport, ExtractError> {
    let mut report = RemovalReport::default();
    for raw in rels {
        let rel = match entry_path(raw.as_os_str().as_bytes(), 0) {
            Ok(rel) => rel.unwrap_or_default(),
            Err(reason) => {
                report.refuse(raw.clone(), reason);
                continue;
            }
        };
        if rel.as_os_str().is_empty() {
            report.refuse(raw.clone(), Refusal::Destination);
            continue;
        }
        match policy.map_or(Decision::Keep, |decide| decide(&rel)) {
            Decision::Keep => {}
            Decision::Skip => continue,
            Decision::Refuse(reason) => {
                report.refuse(rel, reason);
                continue;
            }
        }
        // An earlier removal may have taken this path with it.
        match walk_parents(dest, &rel, false) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(Fault::Refused(reason)) => {
                report.refuse(rel, reason);
                continue;
            }
            Err(Fault::Failed(err)) => return Err(err),
        }
        if remove_one(dest, &rel, policy, &mut report)? == Outcome::Removed {
            report.removed.push(rel);
        }
    }
    Ok(report)
}

/// What became of one path.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Removed,
    /// The policy kept something below it, so it stays.
    Kept,
    Missing,
}

/// Removes `rel`, whose parents are real directories.
fn remove_one(
    dest: &Path,
    rel: &Path,
    policy: Option<&dyn Fn(&Path) -> Decision>,
    report: &mut RemovalReport,
) -> Result<Outcome, ExtractError> {
    let path = dest.join(rel);
    let removed = match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Outcome::Missing),
        Err(source) => return Err(ExtractError::Inspect { path, source }),
        Ok(meta) if meta.is_dir() => match policy {
            // std's remove_dir_all never follows symlinks inside the tree.
            None => fs::remove_dir_all(&path),
            Some(policy) => return remove_tree(dest, rel, policy, report),
        },
        Ok(_) => fs::remove_file(&path),
    };
    removed.map_err(|source| ExtractError::Remove { path, source })?;
    Ok(Outcome::Removed)
}

/// Removes the real directory `rel` and what is below it, asking `policy` about every path.
/// Links inside are removed, never followed.
fn remove_tree(
    dest: &Path,
    rel: &Path,
    policy: &dyn Fn(&Path) -> Decision,
    report: &mut RemovalReport,
) -> Result<Outcome, ExtractError> {
    let path = dest.join(rel);
    let inspect = |source| ExtractError::Inspect {
        path: path.clone(),
        source,
    };
    // Names first, so that no directory handle stays open while the tree below is walked.
    let names: Vec<OsString> = fs::read_dir(&path)
        .map_err(inspect)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<_, _>>()
        .map_err(inspect)?;
    let mut kept = false;
    for name in names {
        let child = rel.join(name);
        match policy(&child) {
            Decision::Keep => {
                kept |= remove_one(dest, &child, Some(policy), report)? == Outcome::Kept;
            }
            Decision::Skip => kept = true,
            Decision::Refuse(reason) => {
                report.refuse(child, reason);
                kept = true;
            }
        }
    }
    if kept {
        return Ok(Outcome::Kept);
    }
    fs::remove_dir(&path).map_err(|source| ExtractError::Remove { path, source })?;
    Ok(Outcome::Removed)
}
