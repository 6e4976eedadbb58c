//! Writes a tar stream from a container into a host directory, safely.
//!
//! This is the only way harnessgym writes container output into the host tree (DESIGN.md
//! invariant 2), so it treats every archive as hostile:
//!
//! - **Nothing outside `dest`.** Entries (and hardlink targets) with an absolute path, a `..`
//!   component or a NUL byte are refused, and so is any entry whose parent chain inside `dest`
//!   holds a symlink, whether it was there before or created earlier by the same archive.
//!   A refusal is an error naming the entry; entries before it stay applied (the stream is applied
//!   entry by entry and is never buffered whole).
//! - **Never through a link.** A file or symlink entry replaces whatever non-directory is at its
//!   path via `rename`, so an existing symlink is replaced, never written through. An existing
//!   directory where a non-directory must go is an error unless [`ExtractOptions::replace_dirs`].
//! - **No truncated files.** A regular file is written to a temporary file in its own directory,
//!   then renamed over the target; a crash leaves at most a stray `.harnessgym-extract-*` file.
//! - **No ownership, no special bits.** Ownership is never applied; permission bits are masked
//!   to `0o777` (setuid, setgid and sticky dropped); mtimes are kept if asked (not on symlinks).
//! - **Hardlinks** are materialised as copies, and only when they point at a regular file that
//!   this archive already wrote inside `dest`.
//! - **Devices and FIFOs are skipped** with a warning and counted in [`ExtractReport::skipped`]:
//!   a workspace may legitimately hold a FIFO, and refusing it would block a whole sync.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, FileTimes, Permissions};
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::{Archive, Entry, EntryType};
use tempfile::NamedTempFile;

mod error;
mod files;
mod paths;
#[cfg(test)]
mod tests;

pub use error::{ExtractError, Refusal};
use files::{CopyFault, copy_data, temp_file};
pub use paths::remove_paths_safe;
use paths::{entry_path, is_real_dir, walk_parents};

/// Size of the input buffer and of the copy buffer.
const COPY_BUF: usize = 1 << 20;

/// Prefix of the temporary files and links created next to their targets.
pub const TEMP_PREFIX: &str = ".harnessgym-extract-";

/// Decides per entry path (relative to `dest`) whether it is extracted: `true` keeps it.
pub type EntryFilter = Box<dyn Fn(&Path) -> bool + Send>;

/// How [`extract_safe`] applies an archive. Owned and `Send`, so it can move into the blocking
/// task that consumes a download stream.
pub struct ExtractOptions {
    /// Leading path components dropped from every entry name and hardlink target (Docker's
    /// archive download of `/workspace` names its entries `workspace/…`). Entries with fewer
    /// components are skipped; an entry with exactly that many names `dest` itself. `.`
    /// components do not count.
    pub strip_components: usize,
    /// A relative directory under `dest` that every entry (and hardlink target) is placed in,
    /// after stripping: downloading `/workspace/a/b` yields entries named `b/…`, so the prefix
    /// `a` puts them back at `a/b/…`. It must be relative without `..`, and it gets the same
    /// symlink checks as the entry names.
    pub prefix: Option<PathBuf>,
    /// Called with each entry's path relative to `dest` (after stripping and prefixing); `false`
    /// skips the entry, leaving whatever is on the host untouched. Not called for `dest` itself.
    pub filter: Option<EntryFilter>,
    /// Apply the archive's mtimes to files and directories (default `true`).
    pub preserve_mtime: bool,
    /// Replace an existing directory (recursively) when the archive puts a file or symlink at
    /// its path; otherwise that is an error (default `false`).
    pub replace_dirs: bool,
    /// `fsync` every file before renaming it into place, so the replacement also survives a
    /// power loss (default `false`: rename alone covers a process crash).
    pub sync_files: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            strip_components: 0,
            prefix: None,
            filter: None,
            preserve_mtime: true,
            replace_dirs: false,
            sync_files: false,
        }
    }
}

impl fmt::Debug for ExtractOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractOptions")
            .field("strip_components", &self.strip_components)
            .field("prefix", &self.prefix)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .field("preserve_mtime", &self.preserve_mtime)
            .field("replace_dirs", &self.replace_dirs)
            .field("sync_files", &self.sync_files)
            .finish()
    }
}

/// What [`extract_safe`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Every non-directory path written (regular files, hardlink copies, symlinks), relative to
    /// `dest`, in archive order.
    pub written: Vec<PathBuf>,
    /// Directory entries applied.
    pub dirs: usize,
    /// Symlinks created (also listed in `written`).
    pub symlinks: usize,
    /// Entries skipped: rejected by the filter, devices, FIFOs and unknown entry types.
    pub skipped: usize,
}

/// Extracts the tar stream `archive` into `dest` (created if missing) under the rules in the
/// module docs, reading it once, entry by entry, with bounded memory.
///
/// # Errors
///
/// [`ExtractError::Refused`] for an unsafe entry, other variants when the stream cannot be read
/// or the host tree not written. Entries before the failing one stay applied.
pub fn extract_safe<R: Read>(
    archive: R,
    dest: &Path,
    opts: &ExtractOptions,
) -> Result<ExtractReport, ExtractError> {
    let prefix = match &opts.prefix {
        None => PathBuf::new(),
        Some(prefix) => entry_path(prefix.as_os_str().as_bytes(), 0)
            .map_err(|reason| ExtractError::InvalidPrefix {
                prefix: prefix.clone(),
                reason: Box::new(reason),
            })?
            .unwrap_or_default(),
    };
    fs::create_dir_all(dest).map_err(|source| ExtractError::CreateDest {
        path: dest.to_path_buf(),
        source,
    })?;
    let mut archive = Archive::new(BufReader::with_capacity(COPY_BUF, archive));
    let mut extractor = Extractor {
        dest,
        opts,
        prefix,
        report: ExtractReport::default(),
        files: HashSet::new(),
        dirs: Vec::new(),
        verified_parent: None,
        buf: vec![0; COPY_BUF],
        temp_counter: 0,
    };
    let entries = archive
        .entries()
        .map_err(|source| ExtractError::ReadArchive { source })?;
    for entry in entries {
        let mut entry = entry.map_err(|source| ExtractError::ReadArchive { source })?;
        extractor.entry(&mut entry)?;
    }
    extractor.finish_dirs()?;
    Ok(extractor.report)
}

/// How an entry is applied.
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Devices, FIFOs and unknown types: skipped with a warning.
    Special,
    /// Metadata-only entries (global PAX headers): nothing to apply.
    Ignored,
}

fn classify(kind: EntryType, raw_name: &[u8]) -> Kind {
    match kind {
        // Pre-POSIX archives mark directories with a trailing slash on a regular entry.
        EntryType::Regular if raw_name.ends_with(b"/") => Kind::Dir,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Kind::File,
        EntryType::Directory => Kind::Dir,
        EntryType::Symlink => Kind::Symlink,
        EntryType::Link => Kind::Hardlink,
        EntryType::XGlobalHeader
        | EntryType::XHeader
        | EntryType::GNULongName
        | EntryType::GNULongLink => Kind::Ignored,
        _ => Kind::Special,
    }
}

/// A directory entry whose permissions and mtime are applied once everything below it is
/// written (writing children changes a directory's mtime, and a read-only mode would block them).
struct DeferredDir {
    rel: PathBuf,
    mode: u32,
    mtime: Option<SystemTime>,
}

/// The state of one extraction.
struct Extractor<'a> {
    dest: &'a Path,
    opts: &'a ExtractOptions,
    /// [`ExtractOptions::prefix`], validated and normalised (empty when none).
    prefix: PathBuf,
    report: ExtractReport,
    /// Regular files written so far (relative): the only valid hardlink targets.
    files: HashSet<PathBuf>,
    dirs: Vec<DeferredDir>,
    /// The last parent directory whose chain was checked, so runs of entries in one directory
    /// skip the `lstat` walk. Only removing a directory can turn a checked chain into something
    /// else; an entry always checks its own parent before it removes anything, which moves the
    /// cache off that chain, and the removal clears it as well.
    verified_parent: Option<PathBuf>,
    buf: Vec<u8>,
    temp_counter: u64,
}

impl Extractor<'_> {
    fn entry<R: Read>(&mut self, entry: &mut Entry<'_, R>) -> Result<(), ExtractError> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let kind = classify(entry.header().entry_type(), &raw);
        let refuse = |reason| ExtractError::refused(&name, reason);
        let Some(rel) = self.dest_rel(&raw).map_err(refuse)? else {
            return Ok(());
        };
        if rel.as_os_str().is_empty() {
            // `dest` itself: its own metadata is the caller's, not the archive's.
            return match kind {
                Kind::Dir | Kind::Ignored => Ok(()),
                _ => Err(refuse(Refusal::Destination)),
            };
        }
        if self.opts.filter.as_ref().is_some_and(|keep| !keep(&rel)) {
            self.report.skipped += 1;
            return Ok(());
        }
        match kind {
            Kind::File => self.file(entry, &name, rel),
            Kind::Dir => self.dir(entry, &name, rel),
            Kind::Symlink => self.symlink(entry, &name, rel),
            Kind::Hardlink => self.hardlink(entry, &name, rel),
            Kind::Special => {
                let kind = entry.header().entry_type();
                tracing::warn!(entry = %name, ?kind, "skipping device, fifo or unknown entry");
                self.report.skipped += 1;
                Ok(())
            }
            Kind::Ignored => Ok(()),
        }
    }

    /// An entry name (or hardlink target) as a path relative to `dest`: checked, stripped and
    /// prefixed. `Ok(None)`: stripped away entirely.
    fn dest_rel(&self, raw: &[u8]) -> Result<Option<PathBuf>, Refusal> {
        Ok(entry_path(raw, self.opts.strip_components)?.map(|rel| {
            if rel.as_os_str().is_empty() {
                self.prefix.clone()
            } else {
                self.prefix.join(rel)
            }
        }))
    }

    /// Permission bits (masked to `0o777`) and, if kept, the mtime of an entry.
    fn entry_meta<R: Read>(
        &self,
        entry: &Entry<'_, R>,
        name: &str,
    ) -> Result<(u32, Option<SystemTime>), ExtractError> {
        let read_err = |source| ExtractError::ReadEntry {
            entry: name.to_owned(),
            source,
        };
        let mode = entry.header().mode().map_err(read_err)? & 0o777;
        let mtime = if self.opts.preserve_mtime {
            let secs = entry.header().mtime().map_err(read_err)?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
        } else {
            None
        };
        Ok((mode, mtime))
    }

    /// Makes sure the directories above `rel` exist and are real; returns the parent's host path.
    fn prepare_parents(&mut self, name: &str, rel: &Path) -> Result<PathBuf, ExtractError> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if self.verified_parent.as_deref() != Some(parent) {
            let refuse = |reason| ExtractError::refused(name, reason);
            walk_parents(self.dest, rel, true, &refuse)?;
            self.verified_parent = Some(parent.to_path_buf());
        }
        Ok(self.dest.join(parent))
    }

    /// Clears the way for a non-directory at `path`: an existing directory is an error unless
    /// `replace_dirs`; anything else is left for `rename` to replace.
    fn clear_directory(&mut self, name: &str, path: &Path) -> Result<(), ExtractError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                if !self.opts.replace_dirs {
                    return Err(ExtractError::refused(name, Refusal::DirectoryInTheWay));
                }
                self.verified_parent = None;
                fs::remove_dir_all(path).map_err(|source| ExtractError::Remove {
                    path: path.to_path_buf(),
                    source,
                })
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ExtractError::Inspect {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut Entry<'_, R>,
        name: &str,
        rel: PathBuf,
    ) -> Result<(), ExtractError> {
        let (mode, mtime) = self.entry_meta(entry, name)?;
        let parent = self.prepare_parents(name, &rel)?;
        let target = self.dest.join(&rel);
        self.clear_directory(name, &target)?;
        let mut temp = temp_file(&parent, &target)?;
        let expected = entry.size();
        let copied = copy_data(entry, temp.as_file_mut(), &mut self.buf).map_err(|e| match e {
            CopyFault::Read(source) => ExtractError::ReadEntry {
                entry: name.to_owned(),
                source,
            },
            CopyFault::Write(source) => ExtractError::WriteFile {
                path: target.clone(),
                source,
            },
        })?;
        // A truncated stream ends an entry early without an error; never rename a short file in.
        if copied != expected {
            return Err(ExtractError::ReadEntry {
                entry: name.to_owned(),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "archive ended inside the entry",
                ),
            });
        }
        self.commit(temp, &target, mode, mtime)?;
        self.files.insert(rel.clone());
        self.report.written.push(rel);
        Ok(())
    }

    /// Applies mode, mtime (and fsync) to a finished temp file, then renames it over `target`.
    fn commit(
        &self,
        temp: NamedTempFile,
        target: &Path,
        mode: u32,
        mtime: Option<SystemTime>,
    ) -> Result<(), ExtractError> {
        let file = temp.as_file();
        let meta_err = |source| ExtractError::SetMetadata {
            path: target.to_path_buf(),
            source,
        };
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(meta_err)?;
        if let Some(time) = mtime {
            file.set_times(FileTimes::new().set_accessed(time).set_modified(time))
                .map_err(meta_err)?;
        }
        if self.opts.sync_files {
            file.sync_all().map_err(|source| ExtractError::WriteFile {
                path: target.to_path_buf(),
                source,
            })?;
        }
        // rename(2) replaces a file or symlink at `target` itself; it never follows it.
        temp.persist(target).map_err(|e| ExtractError::WriteFile {
            path: target.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }

    fn dir<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        name: &str,
        rel: PathBuf,
    ) -> Result<(), ExtractError> {
        let (mode, mtime) = self.entry_meta(entry, name)?;
        self.prepare_parents(name, &rel)?;
        let path = self.dest.join(&rel);
        let create = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => false,
            // A file or symlink where the archive has a directory: replace it, never follow it.
            Ok(_) => {
                fs::remove_file(&path).map_err(|source| ExtractError::Remove {
                    path: path.clone(),
                    source,
                })?;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(source) => return Err(ExtractError::Inspect { path, source }),
        };
        if create {
            fs::create_dir(&path).map_err(|source| ExtractError::CreateDir { path, source })?;
        }
        self.dirs.push(DeferredDir { rel, mode, mtime });
        self.report.dirs += 1;
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        name: &str,
        rel: PathBuf,
    ) -> Result<(), ExtractError> {
        let target = match entry.link_name_bytes() {
            Some(bytes) if !bytes.is_empty() => PathBuf::from(OsStr::from_bytes(&bytes)),
            _ => {
                return Err(ExtractError::refused(name, Refusal::MissingLinkTarget));
            }
        };
        let parent = self.prepare_parents(name, &rel)?;
        let path = self.dest.join(&rel);
        self.clear_directory(name, &path)?;
        let link_err = |source| ExtractError::CreateSymlink {
            path: path.clone(),
            source,
        };
        // Create the link under a fresh name, then rename it over the path: an existing link
        // there is replaced atomically and nothing is ever written through it.
        let temp = loop {
            self.temp_counter += 1;
            let candidate = parent.join(format!(
                "{TEMP_PREFIX}{}-{}",
                std::process::id(),
                self.temp_counter
            ));
            match std::os::unix::fs::symlink(&target, &candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(link_err(source)),
            }
        };
        if let Err(source) = fs::rename(&temp, &path) {
            // Best effort: the rename error is the one worth reporting.
            let _ = fs::remove_file(&temp);
            return Err(link_err(source));
        }
        self.files.remove(&rel);
        self.report.symlinks += 1;
        self.report.written.push(rel);
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        name: &str,
        rel: PathBuf,
    ) -> Result<(), ExtractError> {
        let refuse = |reason| ExtractError::refused(name, reason);
        let raw_target = entry
            .link_name_bytes()
            .ok_or_else(|| refuse(Refusal::MissingLinkTarget))?
            .into_owned();
        let source_rel = self
            .dest_rel(&raw_target)
            .map_err(refuse)?
            .unwrap_or_default();
        let bad_target = || {
            refuse(Refusal::HardlinkTarget {
                target: String::from_utf8_lossy(&raw_target).into_owned(),
            })
        };
        // Only a file this archive wrote, and only if it is still a regular file reached through
        // real directories (a later entry may have replaced it or a directory above it).
        if !self.files.contains(&source_rel)
            || !walk_parents(self.dest, &source_rel, false, &refuse)?
        {
            return Err(bad_target());
        }
        let source_path = self.dest.join(&source_rel);
        let mut source = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&source_path)
            .map_err(|_| bad_target())?;
        let source_meta = source.metadata().map_err(|source| ExtractError::Inspect {
            path: source_path.clone(),
            source,
        })?;
        if !source_meta.is_file() {
            return Err(bad_target());
        }
        let (_, mtime) = self.entry_meta(entry, name)?;
        let mode = source_meta.permissions().mode() & 0o777;
        let parent = self.prepare_parents(name, &rel)?;
        let target = self.dest.join(&rel);
        self.clear_directory(name, &target)?;
        let mut temp = temp_file(&parent, &target)?;
        io::copy(&mut source, temp.as_file_mut()).map_err(|source| ExtractError::WriteFile {
            path: target.clone(),
            source,
        })?;
        self.commit(temp, &target, mode, mtime)?;
        self.files.insert(rel.clone());
        self.report.written.push(rel);
        Ok(())
    }

    /// Applies deferred directory metadata, deepest first, through a no-follow handle.
    fn finish_dirs(&mut self) -> Result<(), ExtractError> {
        for dir in std::mem::take(&mut self.dirs).into_iter().rev() {
            // A later entry may have replaced this directory or one above it.
            if !is_real_dir(self.dest, &dir.rel) {
                continue;
            }
            let path = self.dest.join(&dir.rel);
            let meta_err = |source| ExtractError::SetMetadata {
                path: path.clone(),
                source,
            };
            let handle = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&path)
                .map_err(meta_err)?;
            if let Some(time) = dir.mtime {
                handle
                    .set_times(FileTimes::new().set_accessed(time).set_modified(time))
                    .map_err(meta_err)?;
            }
            handle
                .set_permissions(Permissions::from_mode(dir.mode))
                .map_err(meta_err)?;
        }
        Ok(())
    }
}
