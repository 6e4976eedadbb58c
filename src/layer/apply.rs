//! Applies a layer tar to a real directory, with the semantics an overlay engine gives it.
//!
//! This runs in a staging container (engines that refuse partial image loads start one from the
//! parent image, apply the snapshot's layer to `/workspace`, and commit), and it is the model
//! tests compare the walker against. The layer passes every check of [`super::read_layer`]
//! first, entry by entry as it streams; then:
//!
//! - **Whiteouts** remove their path, recursively. **Opaque markers** empty their directory of
//!   everything this layer has not written.
//! - **Entries** are created or replaced: a file, symlink or hardlink replaces whatever is at its
//!   path (a directory recursively), through a temporary name and `rename`, so nothing is ever
//!   written through an existing link; a directory entry keeps an existing directory (its
//!   contents merge) and replaces anything else.
//! - **Never through a symlink.** Every directory above an entry must be a real directory on
//!   disk, not a symlink, whatever put it there (the rule `sandbox::extract` keeps too).
//! - **Metadata.** Mode (`& 0o7777`) and mtime on files and directories; symlinks keep the time
//!   of their creation (std has no safe `lutimes`). Ownership only when running as root.
//!   Directories get theirs after everything below them is written.
//! - **Hardlinks** are real hard links to the file this layer wrote earlier.
//!
//! A refusal stops the apply; what came before it stays applied (the staging container is then
//! thrown away). Run it as root: directories the layers locked (`chmod 000`) stay locked to
//! anyone else.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, FileTimes, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::names::{self, host_path};
use super::read::{Checked, EntryKind, parse};
use super::{LayerError, Refusal, perm};

/// Prefix of the temporary files and links created next to their targets.
pub const TEMP_PREFIX: &str = ".harnessgym-apply-";

/// Size of the reused copy buffer.
const COPY_BUF: usize = 1 << 20;

/// What [`apply_layer`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyStats {
    /// Regular files written.
    pub files: u64,
    /// Directory entries applied (the root included).
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Whiteouts applied (whether or not the path existed).
    pub whiteouts: u64,
    /// Directories emptied by an opaque marker.
    pub opaque_dirs: u64,
    /// Bytes of file contents written.
    pub content_bytes: u64,
}

/// Applies the layer tar `reader` (entries under `prefix`) to the directory `root`, which stands
/// for the prefix directory; see the module docs for the rules.
///
/// # Errors
///
/// Every error of [`super::read_layer`], [`LayerError::Refused`] when a parent on disk is a
/// symlink or not a directory, and I/O errors naming the path.
pub fn apply_layer<R: Read>(
    reader: R,
    root: &Path,
    prefix: &[u8],
) -> Result<ApplyStats, LayerError> {
    apply_layer_with(reader, root, prefix, ApplyOptions::default())
}

/// How [`apply_layer_with`] applies a layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Give a file that replaces one with the same mtime (to the second) the next second. An
    /// engine that commits by comparing size and mtime (the naive diff of drivers such as
    /// fuse-overlayfs, which also ignores nanoseconds when either side has none) would otherwise
    /// miss a same-size change whose mtime the agent set back — and drop the file from the
    /// commit, breaking its hard links. The tar header has whole seconds only, so the
    /// nanoseconds cannot carry the difference.
    pub distinct_mtimes: bool,
}

/// [`apply_layer`] with options.
///
/// # Errors
///
/// As [`apply_layer`].
pub fn apply_layer_with<R: Read>(
    reader: R,
    root: &Path,
    prefix: &[u8],
    options: ApplyOptions,
) -> Result<ApplyStats, LayerError> {
    let meta = fs::symlink_metadata(root).map_err(|source| LayerError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(LayerError::RootNotDir {
            path: root.to_path_buf(),
        });
    }
    let mut applier = Applier {
        root,
        options,
        as_root: perm::running_as_root(),
        written: HashSet::new(),
        dirs: Vec::new(),
        verified_parent: None,
        buf: vec![0; COPY_BUF],
        temp_counter: 0,
        stats: ApplyStats::default(),
    };
    parse(reader, prefix, |checked, data| applier.entry(checked, data))?;
    applier.finish_dirs()?;
    Ok(applier.stats)
}

/// A directory whose metadata is applied once everything below it is written (writing changes
/// its mtime, and a read-only mode would block the writes).
struct DeferredDir {
    rel: Vec<u8>,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: u64,
}

struct Applier<'a> {
    root: &'a Path,
    options: ApplyOptions,
    as_root: bool,
    /// Paths this layer wrote (relative): opaque markers keep them, hardlinks may target files.
    written: HashSet<Vec<u8>>,
    dirs: Vec<DeferredDir>,
    /// The last parent directory checked to be real, so runs of entries in one directory skip
    /// the `lstat` walk. Cleared by every removal.
    verified_parent: Option<Vec<u8>>,
    buf: Vec<u8>,
    temp_counter: u64,
    stats: ApplyStats,
}

impl Applier<'_> {
    fn entry(&mut self, checked: &Checked, data: &mut dyn Read) -> Result<(), LayerError> {
        let rel = checked.entry.path.as_slice();
        match checked.entry.kind {
            EntryKind::Dir => self.dir(checked),
            EntryKind::File => self.file(checked, data),
            EntryKind::Symlink => self.symlink(checked),
            EntryKind::Hardlink => self.hardlink(checked),
            EntryKind::Whiteout => {
                self.check_parents(rel)?;
                self.remove(&host_path(self.root, rel))?;
                self.stats.whiteouts += 1;
                Ok(())
            }
            EntryKind::Opaque => self.opaque(rel),
        }
    }

    /// Checks that every directory above `rel` is a real directory on disk.
    fn check_parents(&mut self, rel: &[u8]) -> Result<(), LayerError> {
        let (parent, _) = names::split_last(rel);
        if parent.is_empty() || self.verified_parent.as_deref() == Some(parent) {
            return Ok(());
        }
        let mut at = 0;
        while at <= parent.len() {
            let end = parent[at..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(parent.len(), |i| at + i);
            let path = host_path(self.root, &parent[..end]);
            let refuse = |reason| LayerError::refused(rel, reason);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(refuse(Refusal::ThroughSymlink));
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(refuse(Refusal::ParentNotDir)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(refuse(Refusal::ParentNotDir));
                }
                Err(source) => return Err(LayerError::Inspect { path, source }),
            }
            at = end + 1;
        }
        self.verified_parent = Some(parent.to_vec());
        Ok(())
    }

    /// Removes whatever is at `path` (a directory recursively, never following a symlink).
    fn remove(&mut self, path: &Path) -> Result<(), LayerError> {
        let removed = match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(LayerError::Inspect {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        self.verified_parent = None;
        removed.map_err(|source| LayerError::Remove {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Removes a directory at `path`, so a non-directory can be renamed over it.
    fn clear_dir(&mut self, path: &Path) -> Result<(), LayerError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => self.remove(path),
            _ => Ok(()),
        }
    }

    fn dir(&mut self, checked: &Checked) -> Result<(), LayerError> {
        let rel = checked.entry.path.clone();
        if !rel.is_empty() {
            self.check_parents(&rel)?;
            let path = host_path(self.root, &rel);
            let create = match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => false,
                // A file or symlink where the layer has a directory: replace it, never follow it.
                Ok(_) => {
                    self.remove(&path)?;
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => true,
                Err(source) => return Err(LayerError::Inspect { path, source }),
            };
            if create {
                fs::create_dir(&path).map_err(|source| LayerError::CreateDir { path, source })?;
            }
        }
        self.dirs.push(DeferredDir {
            rel: rel.clone(),
            mode: checked.entry.mode,
            uid: checked.uid,
            gid: checked.gid,
            mtime: checked.mtime,
        });
        self.written.insert(rel);
        self.stats.dirs += 1;
        Ok(())
    }

    fn file(&mut self, checked: &Checked, data: &mut dyn Read) -> Result<(), LayerError> {
        let rel = checked.entry.path.as_slice();
        self.check_parents(rel)?;
        let target = host_path(self.root, rel);
        self.clear_dir(&target)?;
        let write_err = |source| LayerError::WriteFile {
            path: target.clone(),
            source,
        };
        let parent = host_path(self.root, names::split_last(rel).0);
        let replaced_mtime = fs::symlink_metadata(&target)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok());
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&parent)
            .map_err(write_err)?;
        let copied = copy(data, temp.as_file_mut(), &mut self.buf, &target)?;
        // A truncated stream ends an entry early without an error; never rename a short file in.
        if copied != checked.entry.size {
            return Err(LayerError::ReadLayer {
                source: io::Error::new(io::ErrorKind::UnexpectedEof, "layer ended inside a file"),
            });
        }
        self.set_file_meta(temp.as_file(), checked, replaced_mtime)
            .map_err(|source| LayerError::SetMetadata {
                path: target.clone(),
                source,
            })?;
        // rename(2) replaces a file or symlink at `target` itself; it never follows it.
        temp.persist(&target).map_err(|e| write_err(e.error))?;
        self.written.insert(rel.to_vec());
        self.stats.files += 1;
        self.stats.content_bytes += copied;
        Ok(())
    }

    /// Owner (as root; before the mode, since `chown` clears set-id bits), mode and mtime.
    fn set_file_meta(
        &self,
        file: &File,
        checked: &Checked,
        replaced: Option<SystemTime>,
    ) -> io::Result<()> {
        if self.as_root {
            std::os::unix::fs::fchown(file, Some(checked.uid), Some(checked.gid))?;
        }
        file.set_permissions(Permissions::from_mode(checked.entry.mode))?;
        let mut time = mtime(checked.mtime);
        if let Some(old) = replaced.filter(|_| self.options.distinct_mtimes) {
            time = distinct_from(time, old);
        }
        file.set_times(FileTimes::new().set_accessed(time).set_modified(time))
    }

    /// A fresh name next to `parent`'s entries for a link about to be renamed into place.
    fn temp_name(&mut self, parent: &Path) -> PathBuf {
        self.temp_counter += 1;
        parent.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            self.temp_counter
        ))
    }

    fn symlink(&mut self, checked: &Checked) -> Result<(), LayerError> {
        let rel = checked.entry.path.as_slice();
        self.check_parents(rel)?;
        let path = host_path(self.root, rel);
        self.clear_dir(&path)?;
        let link_err = |source| LayerError::CreateSymlink {
            path: path.clone(),
            source,
        };
        let target = OsStr::from_bytes(checked.entry.link.as_deref().unwrap_or_default());
        let parent = host_path(self.root, names::split_last(rel).0);
        // Create the link under a fresh name, then rename it over the path: an existing link
        // there is replaced atomically and nothing is ever written through it.
        let temp = loop {
            let candidate = self.temp_name(&parent);
            match std::os::unix::fs::symlink(target, &candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(link_err(source)),
            }
        };
        let placed = if self.as_root {
            std::os::unix::fs::lchown(&temp, Some(checked.uid), Some(checked.gid))
        } else {
            Ok(())
        }
        .and_then(|()| fs::rename(&temp, &path));
        if let Err(source) = placed {
            // Best effort: the first error is the one worth reporting.
            let _ = fs::remove_file(&temp);
            return Err(link_err(source));
        }
        self.written.insert(rel.to_vec());
        self.stats.symlinks += 1;
        Ok(())
    }

    fn hardlink(&mut self, checked: &Checked) -> Result<(), LayerError> {
        let rel = checked.entry.path.as_slice();
        let source_rel = checked.entry.link.as_deref().unwrap_or_default();
        let refuse = || LayerError::refused(rel, Refusal::HardlinkTarget);
        // Only a file this layer wrote, still a regular file reached through real directories.
        self.check_parents(source_rel)?;
        let first = host_path(self.root, source_rel);
        let is_file = fs::symlink_metadata(&first).is_ok_and(|meta| meta.is_file());
        if !self.written.contains(source_rel) || !is_file {
            return Err(refuse());
        }
        self.check_parents(rel)?;
        let path = host_path(self.root, rel);
        self.clear_dir(&path)?;
        let link_err = |source| LayerError::HardLink {
            path: path.clone(),
            source,
        };
        let parent = host_path(self.root, names::split_last(rel).0);
        let temp = loop {
            let candidate = self.temp_name(&parent);
            match fs::hard_link(&first, &candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(link_err(source)),
            }
        };
        let renamed = fs::rename(&temp, &path);
        // rename(2) does nothing when both names are already links to one inode: drop the
        // temporary name then (and after a failure).
        let _ = fs::remove_file(&temp);
        renamed.map_err(link_err)?;
        self.written.insert(rel.to_vec());
        self.stats.hardlinks += 1;
        Ok(())
    }

    /// Empties directory `rel` of everything this layer has not written.
    fn opaque(&mut self, rel: &[u8]) -> Result<(), LayerError> {
        self.check_parents(rel)?;
        let dir = host_path(self.root, rel);
        let list_err = |source| LayerError::ListDir {
            path: dir.clone(),
            source,
        };
        let mut doomed = Vec::new();
        for entry in fs::read_dir(&dir).map_err(list_err)? {
            let name = entry.map_err(list_err)?.file_name();
            if !self.written.contains(&names::join(rel, name.as_bytes())) {
                doomed.push(dir.join(name));
            }
        }
        for path in doomed {
            self.remove(&path)?;
        }
        self.stats.opaque_dirs += 1;
        Ok(())
    }

    /// Applies deferred directory metadata, deepest first, through a no-follow handle.
    fn finish_dirs(&mut self) -> Result<(), LayerError> {
        for dir in std::mem::take(&mut self.dirs).into_iter().rev() {
            self.check_parents(&dir.rel)?;
            let path = host_path(self.root, &dir.rel);
            let meta_err = |source| LayerError::SetMetadata {
                path: path.clone(),
                source,
            };
            let handle = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&path)
                .map_err(meta_err)?;
            if self.as_root {
                std::os::unix::fs::fchown(&handle, Some(dir.uid), Some(dir.gid))
                    .map_err(meta_err)?;
            }
            let time = mtime(dir.mtime);
            handle
                .set_times(FileTimes::new().set_accessed(time).set_modified(time))
                .map_err(meta_err)?;
            handle
                .set_permissions(Permissions::from_mode(dir.mode))
                .map_err(meta_err)?;
        }
        Ok(())
    }
}

/// `time` (whole seconds), or — when `old` falls in the same second — the next second.
fn distinct_from(time: SystemTime, old: SystemTime) -> SystemTime {
    let (Ok(new), Ok(before)) = (
        time.duration_since(SystemTime::UNIX_EPOCH),
        old.duration_since(SystemTime::UNIX_EPOCH),
    ) else {
        return time;
    };
    if new.as_secs() == before.as_secs() {
        SystemTime::UNIX_EPOCH + Duration::from_secs(new.as_secs() + 1)
    } else {
        time
    }
}

fn mtime(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Copies an entry's data into `out` through `buf`; returns the bytes copied.
fn copy(
    data: &mut dyn Read,
    out: &mut File,
    buf: &mut [u8],
    target: &Path,
) -> Result<u64, LayerError> {
    let mut total = 0u64;
    loop {
        let n = match data.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(LayerError::ReadLayer { source }),
        };
        out.write_all(&buf[..n])
            .map_err(|source| LayerError::WriteFile {
                path: target.to_path_buf(),
                source,
            })?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_in_the_same_second_moves_to_the_next_one() {
        let at = |secs: u64, nanos: u32| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        assert_eq!(distinct_from(at(100, 0), at(100, 0)), at(101, 0));
        assert_eq!(distinct_from(at(100, 0), at(100, 5)), at(101, 0));
        assert_eq!(distinct_from(at(100, 0), at(99, 0)), at(100, 0));
    }
}
