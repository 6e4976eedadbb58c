//! Packs a host workspace into an uncompressed tar stream for upload into a container.
//!
//! The stream is what becomes a run's baseline layer (and what carries `.harnessgym/` bundles into
//! qualification containers), so it keeps what the agent needs and nothing of harnessgym's own:
//!
//! - **Naming.** The first entry is the root directory, named `./`, so the upload sets the target
//!   directory's own mode and owner. Every other entry is named relative to the root without a `./`
//!   prefix (`src/main.rs`). Entries come in sorted, depth-first order (byte order of names, a
//!   directory before its contents), so the same tree always gives the same sequence.
//! - **Ownership.** Every entry is owned by [`EntryOwner`] (uid/gid 1000, `agent`, by default):
//!   Docker's archive upload keeps tar ownership, and the workspace must belong to the in-container
//!   user. Permission bits (executable bits included) and mtimes (seconds) are kept, except the
//!   root's (0): it moves with entries that are never packed (`.harnessgym/`, run state).
//! - **Links.** Symlinks are stored as links, never followed, whatever they point at. Hard links on
//!   the host are stored as independent regular files. Sockets, FIFOs and devices are skipped and
//!   counted.
//! - **Exclusions.** harnessgym's run state (`.harnessgym/runs`, `.harnessgym/task_state`,
//!   `.harnessgym/run.lock`) is never packed; the reference's template exclusion set is dropped too
//!   when [`PackFilter::reference_exclusions`] is on (see [`is_reference_excluded`]).
//! - **Streaming.** File contents go through one reused buffer into a buffered writer; no file and
//!   no archive is ever held in memory whole.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use tar::{Builder, EntryType, Header};

mod exclude;
#[cfg(test)]
mod tests;

use exclude::normalize;
pub use exclude::{is_reference_excluded, is_run_state};

/// uid and gid of the `agent` user in harnessgym's images.
pub const AGENT_ID: u64 = 1000;
/// User and group name of the in-container user.
pub const AGENT_NAME: &str = "agent";

/// Size of the reused read buffer and of the output buffer: large copies keep syscalls few.
const COPY_BUF: usize = 1 << 20;

/// Owner written into every entry's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOwner {
    /// Numeric user id.
    pub uid: u64,
    /// Numeric group id.
    pub gid: u64,
    /// User name (at most 32 bytes).
    pub user: String,
    /// Group name (at most 32 bytes).
    pub group: String,
}

impl Default for EntryOwner {
    fn default() -> Self {
        Self {
            uid: AGENT_ID,
            gid: AGENT_ID,
            user: AGENT_NAME.to_owned(),
            group: AGENT_NAME.to_owned(),
        }
    }
}

/// What [`pack_workspace`] packs, and as whom.
#[derive(Debug, Clone, Default)]
pub struct PackFilter {
    /// Also drop the reference's template exclusion set ([`is_reference_excluded`]).
    pub reference_exclusions: bool,
    /// When set, pack only these paths (relative to the root; files or whole directories) plus the
    /// directories above them, so an upload creates missing parents with the right owner. Paths
    /// that do not exist, or that sit below a symlink or a file, are skipped (a changed-paths list
    /// may name deletions). Exclusions still apply to them. An empty path or `.` means everything;
    /// an empty list packs only the root directory entry.
    pub include: Option<Vec<PathBuf>>,
    /// Owner of every entry.
    pub owner: EntryOwner,
    /// The name of the root in the archive: `None` names it `./` and its contents relative to
    /// it (for an upload into a directory); `Some("workspace")` names it `workspace/` and its
    /// contents `workspace/…` (for an image layer, whose root is `/`).
    pub prefix: Option<PathBuf>,
    /// A further exclusion (e.g. a compare template's), tried on every relative path; an
    /// excluded directory is not descended.
    pub exclude: Option<fn(&Path) -> bool>,
    /// Root-relative paths left out (with what is below them), e.g. `.harnessgym` for a layer
    /// of the task files alone.
    pub skip: Vec<PathBuf>,
}

/// Counts of what [`pack_workspace`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackStats {
    /// Regular files packed.
    pub files: u64,
    /// Directories packed, the root included.
    pub dirs: u64,
    /// Symlinks packed (as links).
    pub symlinks: u64,
    /// Sockets, FIFOs and devices skipped.
    pub skipped_special: u64,
    /// Bytes of file contents packed.
    pub bytes: u64,
}

/// Why packing failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The workspace root could not be inspected.
    #[error("failed to inspect workspace root {}", path.display())]
    Root {
        /// The workspace root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The workspace root is not a directory.
    #[error("workspace root {} is not a directory", path.display())]
    RootNotDir {
        /// The workspace root.
        path: PathBuf,
    },
    /// An include path is absolute or has a `..` component.
    #[error("include path {} must be relative and free of `..`", path.display())]
    InvalidInclude {
        /// The include path as given.
        path: PathBuf,
    },
    /// The owner's user or group name does not fit a tar header.
    #[error("owner name `{name}` does not fit a tar header")]
    InvalidOwner {
        /// The offending name.
        name: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A directory could not be listed.
    #[error("failed to list directory {}", path.display())]
    ListDir {
        /// The directory (host path).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path could not be inspected (`lstat`).
    #[error("failed to inspect {}", path.display())]
    Inspect {
        /// The path (host path).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A symlink's target could not be read.
    #[error("failed to read symlink {}", path.display())]
    ReadLink {
        /// The symlink (host path).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A regular file could not be opened.
    #[error("failed to open {}", path.display())]
    OpenFile {
        /// The file (host path).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An entry could not be appended (reading the file or writing the stream failed).
    #[error("failed to append {} to the archive", path.display())]
    Append {
        /// The entry name in the archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file shrank while it was packed; its entry was padded, so the archive is not trustworthy.
    #[error("{} shrank while it was being packed", path.display())]
    FileShrank {
        /// The file (host path).
        path: PathBuf,
    },
    /// The archive trailer could not be written or the output not flushed.
    #[error("failed to finish the archive")]
    Finish {
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl PackError {
    /// Whether the workspace holds something its user may not read (a fix the user can make).
    pub fn is_permission_denied(&self) -> bool {
        let io = match self {
            Self::Root { source, .. }
            | Self::ListDir { source, .. }
            | Self::Inspect { source, .. }
            | Self::ReadLink { source, .. }
            | Self::OpenFile { source, .. }
            | Self::Append { source, .. } => source,
            _ => return false,
        };
        io.kind() == io::ErrorKind::PermissionDenied
    }
}

/// Packs the tree under `root` into `out` as an uncompressed tar stream (see the module docs for
/// naming, ownership and exclusions) and returns what it packed.
///
/// # Errors
///
/// [`PackError`] when the root is not a directory, an include path is invalid, the tree cannot be
/// read, a file shrinks while it is packed, or `out` fails. Nothing more is written to `out`
/// after a failure (no trailer), but a consumer may already hold a prefix that ends on an entry
/// boundary, which some readers accept: whoever consumes the stream must be aborted too.
pub fn pack_workspace<W: Write>(
    root: &Path,
    filter: &PackFilter,
    out: W,
) -> Result<PackStats, PackError> {
    let root_meta = fs::metadata(root).map_err(|source| PackError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    if !root_meta.is_dir() {
        return Err(PackError::RootNotDir {
            path: root.to_path_buf(),
        });
    }
    // `None`: pack everything (no include list, or one that names the root).
    let includes = match filter.include.as_deref() {
        Some(raw) => normalize_includes(raw)?,
        None => None,
    };
    let mut packer = Packer {
        root,
        filter,
        template: owner_header(&filter.owner)?,
        builder: Builder::new(BufWriter::with_capacity(
            COPY_BUF,
            Output {
                inner: out,
                closed: false,
            },
        )),
        stats: PackStats::default(),
        buf: vec![0; COPY_BUF],
    };
    let walked = packer
        .append_dir(Path::new(""), &root_meta)
        .and_then(|()| match includes {
            None => packer.pack_children(PathBuf::new()),
            Some(includes) => packer.pack_includes(&includes),
        });
    if let Err(err) = walked {
        // Dropping the builder would append a valid trailer (and the buffer would flush), making
        // a partial stream look complete; close the output first so nothing more reaches it.
        packer.builder.get_mut().get_mut().closed = true;
        return Err(err);
    }
    let stats = packer.stats;
    let mut writer = packer
        .builder
        .into_inner()
        .map_err(|source| PackError::Finish { source })?;
    writer
        .flush()
        .map_err(|source| PackError::Finish { source })?;
    Ok(stats)
}

/// The caller's writer, closed for good once packing (or writing a layer) has failed: a tar
/// builder would otherwise append a trailer, and its buffer flush, when dropped.
pub(super) struct Output<W> {
    pub(super) inner: W,
    pub(super) closed: bool,
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::other("archive abandoned after an error"));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        self.inner.flush()
    }
}

/// Validates include paths and reduces them to a sorted list where none lies below another.
/// `None` means "everything" (an include named the root).
fn normalize_includes(raw: &[PathBuf]) -> Result<Option<Vec<PathBuf>>, PackError> {
    let mut set = BTreeSet::new();
    let mut everything = false;
    for path in raw {
        let bad = path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        if bad {
            return Err(PackError::InvalidInclude { path: path.clone() });
        }
        let rel = normalize(path);
        everything |= rel.as_os_str().is_empty();
        set.insert(rel);
    }
    if everything {
        return Ok(None);
    }
    // Path order is component-wise, so a path sorts before everything below it.
    let mut kept: Vec<PathBuf> = Vec::with_capacity(set.len());
    for rel in set {
        if kept.last().is_none_or(|prev| !rel.starts_with(prev)) {
            kept.push(rel);
        }
    }
    Ok(Some(kept))
}

/// A header carrying the fixed owner fields; every entry's header starts as a copy of it.
fn owner_header(owner: &EntryOwner) -> Result<Header, PackError> {
    let mut header = Header::new_gnu();
    header.set_uid(owner.uid);
    header.set_gid(owner.gid);
    header
        .set_username(&owner.user)
        .map_err(|source| PackError::InvalidOwner {
            name: owner.user.clone(),
            source,
        })?;
    header
        .set_groupname(&owner.group)
        .map_err(|source| PackError::InvalidOwner {
            name: owner.group.clone(),
            source,
        })?;
    Ok(header)
}

/// What the walk does after appending an entry.
enum Visit {
    /// The entry is a directory: pack its contents next.
    Descend,
    /// Nothing below this entry.
    Done,
}

/// The state of one packing run.
struct Packer<'a, W: Write> {
    root: &'a Path,
    filter: &'a PackFilter,
    template: Header,
    builder: Builder<BufWriter<Output<W>>>,
    stats: PackStats,
    /// Reused for every file's contents.
    buf: Vec<u8>,
}

impl<W: Write> Packer<'_, W> {
    /// The archive name of the entry at `rel` (empty: the root).
    fn name(&self, rel: &Path) -> PathBuf {
        match (&self.filter.prefix, rel.as_os_str().is_empty()) {
            (None, true) => PathBuf::from("./"),
            (None, false) => rel.to_path_buf(),
            (Some(prefix), true) => prefix.clone(),
            (Some(prefix), false) => prefix.join(rel),
        }
    }

    fn excluded(&self, rel: &Path) -> bool {
        is_run_state(rel)
            || (self.filter.reference_exclusions && is_reference_excluded(rel))
            || self.filter.exclude.is_some_and(|exclude| exclude(rel))
            || self.filter.skip.iter().any(|skipped| skipped == rel)
    }

    /// Packs each include with the directories above it, each directory once.
    fn pack_includes(&mut self, includes: &[PathBuf]) -> Result<(), PackError> {
        let mut emitted: BTreeSet<PathBuf> = BTreeSet::new();
        'includes: for rel in includes {
            if self.excluded(rel) {
                continue;
            }
            let ancestors: Vec<&Path> = rel.ancestors().skip(1).collect();
            for dir in ancestors
                .into_iter()
                .rev()
                .filter(|d| !d.as_os_str().is_empty())
            {
                if emitted.contains(dir) {
                    continue;
                }
                match self.lstat(dir)? {
                    Some(meta) if meta.is_dir() => self.append_dir(dir, &meta)?,
                    _ => {
                        tracing::warn!(path = %rel.display(), "include path is not below a real directory; skipped");
                        continue 'includes;
                    }
                }
                emitted.insert(dir.to_path_buf());
            }
            match self.lstat(rel)? {
                None => {
                    tracing::debug!(path = %rel.display(), "include path does not exist; skipped")
                }
                Some(meta) => {
                    if let Visit::Descend = self.append_entry(rel, &meta)? {
                        self.pack_children(rel.to_path_buf())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Packs everything below the directory `dir` (relative), depth first in sorted order. The
    /// walk keeps its own stack so deep trees cannot overflow the thread's stack.
    fn pack_children(&mut self, dir: PathBuf) -> Result<(), PackError> {
        let children = self.sorted_children(&dir)?;
        let mut stack = vec![(dir, children.into_iter())];
        while let Some((parent, names)) = stack.last_mut() {
            let Some(name) = names.next() else {
                stack.pop();
                continue;
            };
            let rel = parent.join(name);
            if self.excluded(&rel) {
                continue;
            }
            // An entry that vanished since the listing is simply not packed.
            let Some(meta) = self.lstat(&rel)? else {
                continue;
            };
            if let Visit::Descend = self.append_entry(&rel, &meta)? {
                let children = self.sorted_children(&rel)?;
                stack.push((rel, children.into_iter()));
            }
        }
        Ok(())
    }

    fn sorted_children(&self, dir: &Path) -> Result<Vec<OsString>, PackError> {
        let path = self.root.join(dir);
        let list_err = |source| PackError::ListDir {
            path: path.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(&path).map_err(list_err)? {
            names.push(entry.map_err(list_err)?.file_name());
        }
        names.sort_unstable();
        Ok(names)
    }

    /// `lstat` of a relative path; `None` when it does not exist.
    fn lstat(&self, rel: &Path) -> Result<Option<Metadata>, PackError> {
        let path = self.root.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PackError::Inspect { path, source }),
        }
    }

    fn append_entry(&mut self, rel: &Path, meta: &Metadata) -> Result<Visit, PackError> {
        let kind = meta.file_type();
        if kind.is_dir() {
            self.append_dir(rel, meta)?;
            return Ok(Visit::Descend);
        }
        if kind.is_symlink() {
            self.append_symlink(rel, meta)?;
        } else if kind.is_file() {
            self.append_file(rel)?;
        } else {
            tracing::warn!(path = %self.root.join(rel).display(), "skipping socket, fifo or device");
            self.stats.skipped_special += 1;
        }
        Ok(Visit::Done)
    }

    fn header(&self, kind: EntryType, meta: &Metadata) -> Header {
        let mut header = self.template.clone();
        header.set_entry_type(kind);
        header.set_mode(meta.mode() & 0o7777);
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        header.set_size(0);
        header
    }

    fn append_dir(&mut self, rel: &Path, meta: &Metadata) -> Result<(), PackError> {
        let mut header = self.header(EntryType::Directory, meta);
        if rel.as_os_str().is_empty() {
            // The root's mtime moves whenever `.harnessgym/` or run state, which are never in
            // this layer, is created or removed: a fresh copy of a template and a second run
            // must pack to the same bytes, so the root carries no mtime.
            header.set_mtime(0);
        }
        let name = self.name(rel);
        self.builder
            .append_data(&mut header, &name, io::empty())
            .map_err(|source| PackError::Append {
                path: rel.to_path_buf(),
                source,
            })?;
        self.stats.dirs += 1;
        Ok(())
    }

    fn append_symlink(&mut self, rel: &Path, meta: &Metadata) -> Result<(), PackError> {
        let path = self.root.join(rel);
        let target = fs::read_link(&path).map_err(|source| PackError::ReadLink { path, source })?;
        let mut header = self.header(EntryType::Symlink, meta);
        let name = self.name(rel);
        self.builder
            .append_link(&mut header, &name, &target)
            .map_err(|source| PackError::Append {
                path: rel.to_path_buf(),
                source,
            })?;
        self.stats.symlinks += 1;
        Ok(())
    }

    fn append_file(&mut self, rel: &Path) -> Result<(), PackError> {
        let path = self.root.join(rel);
        // O_NOFOLLOW: if the file was swapped for a symlink since the listing, fail rather than
        // pack what it points at. O_NONBLOCK: a file swapped for a FIFO must not hang the open.
        let mut file = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|source| PackError::OpenFile {
                path: path.clone(),
                source,
            })?;
        let meta = file.metadata().map_err(|source| PackError::Inspect {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            tracing::warn!(path = %path.display(), "no longer a regular file; skipped");
            self.stats.skipped_special += 1;
            return Ok(());
        }
        let mut header = self.header(EntryType::Regular, &meta);
        header.set_size(meta.len());
        let name = self.name(rel);
        let mut reader = ExactReader::new(&mut file, &mut self.buf, meta.len());
        self.builder
            .append_data(&mut header, &name, &mut reader)
            .map_err(|source| PackError::Append {
                path: rel.to_path_buf(),
                source,
            })?;
        if reader.shrank {
            return Err(PackError::FileShrank { path });
        }
        self.stats.files += 1;
        self.stats.bytes += meta.len();
        Ok(())
    }
}

/// Yields exactly `remaining` bytes of a file through a reused buffer. The tar header already
/// holds the size, so a file that shrinks mid-copy is padded with zeros (keeping the stream
/// well-formed) and flagged; one that grows is cut at the recorded size.
struct ExactReader<'a> {
    file: &'a mut File,
    buf: &'a mut [u8],
    start: usize,
    end: usize,
    remaining: u64,
    shrank: bool,
}

impl<'a> ExactReader<'a> {
    fn new(file: &'a mut File, buf: &'a mut [u8], size: u64) -> Self {
        Self {
            file,
            buf,
            start: 0,
            end: 0,
            remaining: size,
            shrank: false,
        }
    }
}

impl Read for ExactReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if self.remaining == 0 {
                return Ok(0);
            }
            let want =
                usize::try_from(self.remaining).map_or(self.buf.len(), |r| r.min(self.buf.len()));
            let mut got = if self.shrank {
                0
            } else {
                self.file.read(&mut self.buf[..want])?
            };
            if got == 0 {
                self.shrank = true;
                self.buf[..want].fill(0);
                got = want;
            }
            self.start = 0;
            self.end = got;
            self.remaining -= got as u64;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}
