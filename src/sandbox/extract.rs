//! Writes a tar stream from a container into a host directory, safely.
//!
//! This is the only way harnessgym writes container output into the host tree (DESIGN.md
//! invariant 2), so it treats every archive as hostile. **A hostile entry is refused, recorded
//! in [`ExtractReport::refused`] and skipped; extraction goes on with the next entry.** Only a
//! host I/O failure or a broken stream is an error (entries before it stay applied; the stream
//! is applied entry by entry and never buffered whole). The rules:
//!
//! - **Nothing outside `dest`.** Entries (and hardlink targets) with an absolute path, a `..`
//!   component or a NUL byte are refused, and so is any entry whose parent chain inside `dest`
//!   holds a symlink or a non-directory, whether it was there before or created earlier by the
//!   same archive. A directory that is refused takes everything below it along: the directory
//!   is recorded once and the entries below are only counted ([`ExtractReport::refused_below`]);
//!   likewise the entries below the link that made an entry refused.
//! - **No link leads out.** A symlink whose target is absolute, or which leaves `dest` when
//!   applied to the link's directory, is refused ([`Refusal::SymlinkOutside`] says how `..` is
//!   judged). Links inside `dest` land as they are.
//! - **Never through a link.** A file or symlink entry replaces whatever non-directory is at its
//!   path via `rename`, so an existing symlink is replaced, never written through. A directory
//!   entry replaces a file or symlink at its path with a real directory (the agent's change).
//!   An existing directory where a non-directory must go is refused unless
//!   [`ExtractOptions::replace_dirs`].
//! - **The caller's policy.** [`ExtractOptions::policy`] keeps, skips or refuses each path;
//!   [`workspace_policy`] refuses the [`protected_path`]s (`.git`, editor and agent
//!   configuration, ...) that host programs run code from.
//! - **No truncated files.** A regular file is written to a temporary file in its own directory,
//!   then renamed over the target; a crash leaves at most a stray `.harnessgym-extract-*` file.
//! - **No ownership, no special files, no special bits, no lock-out.** Ownership is never
//!   applied; FIFOs, devices and unknown entry types are refused; permission bits go through
//!   [`host_mode`]: setuid, setgid and sticky dropped (counted in
//!   [`ExtractReport::modes_stripped`]), no write for group and others, and always readable and
//!   writable (directories also searchable) by the user running harnessgym, so an archive can
//!   neither lock that user out of their own tree (a mode-000 file breaks the next run's
//!   baseline) nor leave a world-writable file in it; mtimes are kept if asked (not on symlinks).
//! - **Hardlinks** are materialised as copies, and only when they point at a regular file that
//!   this archive already wrote inside `dest`.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, FileTimes, Permissions};
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tar::{Archive, Entry, EntryType};
use tempfile::NamedTempFile;

use crate::hostfs::FileKind;

mod error;
mod files;
mod links;
mod paths;
mod policy;
mod refusal;
mod remove;
mod report;
#[cfg(test)]
mod tests;

pub use error::ExtractError;
use error::Fault;
use files::{CopyFault, copy_data, temp_file};
use paths::{ensure_dir, entry_path, is_real_dir, walk_parents};
pub use policy::{Decision, EntryPolicy, PROTECTED_NAMES, protected_path, workspace_policy};
pub use refusal::Refusal;
pub use remove::remove_paths_safe;
pub use report::{ExtractReport, MAX_LISTED_REFUSALS, RefusalRecord, Refused, RemovalReport};

/// Size of the input buffer and of the copy buffer.
const COPY_BUF: usize = 1 << 20;

/// Prefix of the temporary files and links created next to their targets.
pub const TEMP_PREFIX: &str = ".harnessgym-extract-";

/// Latest mtime applied (9999-12-31): a later one is not kept, since some host filesystems
/// refuse it.
const MAX_MTIME: u64 = 253_402_300_799;

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
    /// Called with each entry's path relative to `dest` (after stripping and prefixing): keep,
    /// skip silently, or refuse (recorded). Whatever is on the host at a skipped or refused path
    /// stays untouched; a refused directory refuses everything below it. Not called for `dest`
    /// itself. `None` keeps every entry.
    pub policy: Option<EntryPolicy>,
    /// Apply the archive's mtimes to files and directories (default `true`).
    pub preserve_mtime: bool,
    /// Replace an existing directory (recursively) when the archive puts a file or symlink at
    /// its path; otherwise that entry is refused as [`Refusal::DirectoryInTheWay`] (default
    /// `false`).
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
            policy: None,
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
            .field("policy", &self.policy.as_ref().map(|_| "<fn>"))
            .field("preserve_mtime", &self.preserve_mtime)
            .field("replace_dirs", &self.replace_dirs)
            .field("sync_files", &self.sync_files)
            .finish()
    }
}

/// Extracts the tar stream `archive` into `dest` (created if missing) under the rules in the
/// module docs, reading it once, entry by entry, with bounded memory. Refused entries are in the
/// report.
///
/// # Errors
///
/// [`ExtractError::InvalidPrefix`] for a bad [`ExtractOptions::prefix`]; other variants when the
/// stream is broken or the host tree cannot be written. Entries before the failing one stay
/// applied.
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
        refused_root: None,
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
    /// Devices, FIFOs and unknown types: refused.
    Special(FileKind),
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
        EntryType::Fifo => Kind::Special(FileKind::Fifo),
        EntryType::Char => Kind::Special(FileKind::CharDevice),
        EntryType::Block => Kind::Special(FileKind::BlockDevice),
        _ => Kind::Special(FileKind::Other),
    }
}

/// A directory entry whose permissions and mtime are applied once everything below it is
/// written (writing children changes a directory's mtime, and a read-only mode would block them).
struct DeferredDir {
    rel: PathBuf,
    mode: u32,
    mtime: Option<SystemTime>,
}

/// The permission bits an entry with `mode` gets on the host: its own read and execute bits,
/// without setuid, setgid, sticky and write for group and others, plus read and write (and, for
/// a directory, search) for the owner, the user running harnessgym.
pub fn host_mode(mode: u32, dir: bool) -> u32 {
    let owner = if dir { 0o700 } else { 0o600 };
    (mode & 0o755) | owner
}

/// The metadata of an entry as it is applied.
struct Meta {
    /// Permission bits, as [`host_mode`] makes them.
    mode: u32,
    /// The mtime, when kept.
    mtime: Option<SystemTime>,
    /// Whether setuid, setgid or sticky bits were dropped.
    stripped: bool,
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
    /// The path whose subtree is refused as a whole: a refused directory entry, or the link or
    /// non-directory that made an entry below it refused. Archives list a directory's contents
    /// right after it, so one path (not a set) collapses the refusals with bounded memory.
    refused_root: Option<PathBuf>,
    buf: Vec<u8>,
    temp_counter: u64,
}

impl Extractor<'_> {
    fn entry<R: Read>(&mut self, entry: &mut Entry<'_, R>) -> Result<(), ExtractError> {
        let raw = entry.path_bytes().into_owned();
        let kind = classify(entry.header().entry_type(), &raw);
        if let Kind::Ignored = kind {
            return Ok(());
        }
        let raw_path = || PathBuf::from(OsStr::from_bytes(&raw));
        let rel = match self.dest_rel(&raw) {
            Ok(Some(rel)) => rel,
            Ok(None) => return Ok(()),
            Err(reason) => {
                self.report.refuse(raw_path(), reason);
                return Ok(());
            }
        };
        if self.below_refused_root(&rel) {
            self.report.refused_below += 1;
            return Ok(());
        }
        let is_dir = matches!(kind, Kind::Dir);
        if rel.as_os_str().is_empty() {
            // `dest` itself: its own metadata is the caller's, not the archive's.
            if !is_dir {
                self.report.refuse(raw_path(), Refusal::Destination);
            }
            return Ok(());
        }
        let decision = self
            .opts
            .policy
            .as_ref()
            .map_or(Decision::Keep, |p| p(&rel));
        let applied = match decision {
            Decision::Skip => {
                self.report.skipped += 1;
                return Ok(());
            }
            Decision::Refuse(reason) => Err(Fault::Refused(reason)),
            Decision::Keep => match kind {
                Kind::File => self.file(entry, &rel),
                Kind::Dir => self.dir(entry, &rel),
                Kind::Symlink => self.symlink(entry, &rel),
                Kind::Hardlink => self.hardlink(entry, &rel),
                Kind::Special(kind) => Err(Refusal::SpecialFile { kind }.into()),
                Kind::Ignored => Ok(()),
            },
        };
        match applied {
            Ok(()) => Ok(()),
            Err(Fault::Refused(reason)) => {
                self.refused(rel, reason, is_dir);
                Ok(())
            }
            Err(Fault::Failed(err)) => Err(err),
        }
    }

    /// Whether `rel` lies strictly below the refused subtree; any other entry ends that subtree.
    fn below_refused_root(&mut self, rel: &Path) -> bool {
        match &self.refused_root {
            Some(root) if rel != root && rel.starts_with(root) => true,
            Some(_) => {
                self.refused_root = None;
                false
            }
            None => false,
        }
    }

    /// Records the refusal of `rel`, and which subtree it takes along.
    fn refused(&mut self, rel: PathBuf, reason: Refusal, is_dir: bool) {
        self.refused_root = match &reason {
            Refusal::ThroughSymlink { link } => Some(link.clone()),
            Refusal::ParentNotDir { parent } => Some(parent.clone()),
            _ if is_dir => Some(rel.clone()),
            _ => None,
        };
        self.report.refuse(rel, reason);
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

    /// Permission bits (as [`host_mode`] makes them) and, if kept, the mtime of an entry.
    fn entry_meta<R: Read>(&self, entry: &Entry<'_, R>) -> Result<Meta, ExtractError> {
        let read_err = |source| ExtractError::ReadEntry {
            entry: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            source,
        };
        let mode = entry.header().mode().map_err(read_err)?;
        let mtime = if self.opts.preserve_mtime {
            let secs = entry.header().mtime().map_err(read_err)?;
            (secs <= MAX_MTIME)
                .then(|| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
                .flatten()
        } else {
            None
        };
        let is_dir = entry.header().entry_type() == EntryType::Directory;
        Ok(Meta {
            mode: host_mode(mode, is_dir),
            mtime,
            stripped: mode & 0o7000 != 0,
        })
    }

    /// Makes sure the directories above `rel` exist and are real; returns the parent's host path.
    ///
    /// One level below the last checked chain (a directory, then its contents: the order of
    /// archives), only that level is checked: a deep tree costs one check per entry, not one per
    /// level per entry.
    fn prepare_parents(&mut self, rel: &Path) -> Result<PathBuf, Fault> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if self.verified_parent.as_deref() != Some(parent) {
            let one_below = self.verified_parent.is_some()
                && !parent.as_os_str().is_empty()
                && parent.parent() == self.verified_parent.as_deref();
            if one_below {
                ensure_dir(self.dest, parent)?;
            } else {
                walk_parents(self.dest, rel, true)?;
            }
            self.verified_parent = Some(parent.to_path_buf());
        }
        Ok(self.dest.join(parent))
    }

    /// Clears the way for a non-directory at `path`: an existing directory is refused unless
    /// `replace_dirs`; anything else is left for `rename` to replace.
    fn clear_directory(&mut self, path: &Path) -> Result<(), Fault> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                if !self.opts.replace_dirs {
                    return Err(Refusal::DirectoryInTheWay.into());
                }
                self.verified_parent = None;
                fs::remove_dir_all(path).map_err(|source| {
                    Fault::Failed(ExtractError::Remove {
                        path: path.to_path_buf(),
                        source,
                    })
                })
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ExtractError::Inspect {
                path: path.to_path_buf(),
                source,
            }
            .into()),
        }
    }

    fn file<R: Read>(&mut self, entry: &mut Entry<'_, R>, rel: &Path) -> Result<(), Fault> {
        let meta = self.entry_meta(entry)?;
        let parent = self.prepare_parents(rel)?;
        let target = self.dest.join(rel);
        self.clear_directory(&target)?;
        let mut temp = temp_file(&parent, &target)?;
        let expected = entry.size();
        let copied = copy_data(entry, temp.as_file_mut(), &mut self.buf);
        let read_err = |source| ExtractError::ReadEntry {
            entry: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            source,
        };
        match copied {
            Ok(copied) if copied == expected => {}
            // A truncated stream ends an entry early without an error; never rename it in.
            Ok(_) => {
                let eof = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "archive ended inside the entry",
                );
                return Err(read_err(eof).into());
            }
            Err(CopyFault::Read(source)) => return Err(read_err(source).into()),
            Err(CopyFault::Write(source)) => {
                return Err(ExtractError::WriteFile {
                    path: target,
                    source,
                }
                .into());
            }
        }
        self.commit(temp, &target, &meta)?;
        self.report.modes_stripped += usize::from(meta.stripped);
        self.files.insert(rel.to_path_buf());
        self.report.written.push(rel.to_path_buf());
        Ok(())
    }

    /// Applies mode, mtime (and fsync) to a finished temp file, then renames it over `target`.
    fn commit(&self, temp: NamedTempFile, target: &Path, meta: &Meta) -> Result<(), ExtractError> {
        let file = temp.as_file();
        let meta_err = |source| ExtractError::SetMetadata {
            path: target.to_path_buf(),
            source,
        };
        file.set_permissions(Permissions::from_mode(meta.mode))
            .map_err(meta_err)?;
        if let Some(time) = meta.mtime {
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

    fn dir<R: Read>(&mut self, entry: &Entry<'_, R>, rel: &Path) -> Result<(), Fault> {
        let meta = self.entry_meta(entry)?;
        self.prepare_parents(rel)?;
        let path = self.dest.join(rel);
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
            Err(source) => return Err(ExtractError::Inspect { path, source }.into()),
        };
        if create {
            fs::create_dir(&path).map_err(|source| ExtractError::CreateDir { path, source })?;
        }
        self.report.modes_stripped += usize::from(meta.stripped);
        self.dirs.push(DeferredDir {
            rel: rel.to_path_buf(),
            mode: meta.mode,
            mtime: meta.mtime,
        });
        self.report.dirs += 1;
        Ok(())
    }

    /// Applies deferred directory metadata, deepest first, through a no-follow handle.
    fn finish_dirs(&mut self) -> Result<(), ExtractError> {
        let dirs = std::mem::take(&mut self.dirs);
        // A later entry may have replaced a directory or one above it. Nothing changes the tree
        // from here on, so whether each is still a real directory is worked out once, parents
        // first (archive order), from its parent's answer and one `lstat`.
        let mut real: HashMap<&Path, bool> = HashMap::with_capacity(dirs.len());
        for dir in &dirs {
            let parent_real = match dir.rel.parent() {
                None => true,
                Some(p) if p.as_os_str().is_empty() => true,
                Some(p) => match real.get(p) {
                    Some(known) => *known,
                    None => is_real_dir(self.dest, p),
                },
            };
            let is_real = parent_real
                && fs::symlink_metadata(self.dest.join(&dir.rel)).is_ok_and(|m| m.is_dir());
            real.insert(&dir.rel, is_real);
        }
        for dir in dirs.iter().rev() {
            if real.get(dir.rel.as_path()) != Some(&true) {
                continue;
            }
            let path = self.dest.join(&dir.rel);
            let meta_err = |source| ExtractError::SetMetadata {
                path: path.clone(),
                source,
            };
            let handle = fs::File::options()
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
