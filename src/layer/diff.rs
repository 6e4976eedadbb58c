//! Writes what changed in a tree since a [`Manifest`] as an OCI/Docker layer tar.
//!
//! [`write_layer`] walks the root again, decides what the layer must hold (`plan.rs`), then
//! streams it (`emit.rs`):
//!
//! - **Changed** means: kind, inode, ctime, size, mode, owner or symlink target differ, or the
//!   file was racy in the manifest. Never the mtime alone: the agent can set mtimes, not ctimes.
//!   A changed directory is a header only; what changed below it is found on its own.
//! - **Parents.** Every entry comes with all its parent directories up to the prefix directory,
//!   each once and with its current metadata: the engine would create missing ones as root-owned
//!   `0755` directories, and the merged view would show those.
//! - **Deletions** are whiteouts (`.wh.<name>`), one for the topmost deleted path. A directory
//!   gets an opaque marker (`.wh..wh..opq`) where it replaced a non-directory, where none of the
//!   names it held remain (the marker then replaces the whiteouts), or where its contents were
//!   unknown before; its whole current contents follow. Inode changes never make a directory
//!   opaque: overlay drivers may change a directory's inode on copy-up.
//! - **Hard links.** A regular file whose inode was already written is a hardlink entry to the
//!   first path written.
//! - **Never carried:** sockets, FIFOs and devices (counted, and a whiteout if they replaced a
//!   carried entry), names starting with `.wh.` (the engine would read them as markers), paths
//!   longer than [`super::manifest::MAX_PATH_BYTES`] (counted), the contents of mount points and
//!   of directories the walker may not read.
//! - **Format.** GNU tar, long and non-UTF-8 names and link targets kept byte for byte, numeric
//!   owner only, mode `& 0o7777`, mtime in whole seconds. Entries depth first, a directory
//!   before its contents, its opaque marker first, then the rest in byte order of their tar
//!   names. Markers are empty regular files with mode 0, owner 0 and mtime 0.
//! - **An unchanged tree gives an empty layer**: no entry at all, only the tar trailer (1024 zero
//!   bytes, the engine's well-known empty layer), and [`LayerStats::entries`] is 0.
//! - **Failure** never looks like success: over [`LayerOptions::max_bytes`] nothing is written
//!   at all; on any later error the stream stops without a trailer.

use std::io::Write;
use std::path::Path;

use super::{LayerError, Manifest, names};

mod emit;
mod plan;

/// How [`write_layer`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerOptions {
    /// The directory every entry lies under, without slashes around it (`b"workspace"`).
    pub prefix: Vec<u8>,
    /// Refuse a layer whose file contents exceed this many bytes ([`LayerError::TooLarge`]).
    pub max_bytes: Option<u64>,
    /// Ignore the manifest: the whole tree, under an opaque marker in the prefix directory.
    pub full: bool,
}

/// What [`write_layer`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LayerStats {
    /// Regular files with their contents.
    pub files: u64,
    /// Directory entries, parents included.
    pub dirs: u64,
    /// Symlinks.
    pub symlinks: u64,
    /// Hardlink entries (second and later paths of one inode).
    pub hardlinks: u64,
    /// Whiteouts (deleted paths).
    pub whiteouts: u64,
    /// Opaque markers.
    pub opaque_dirs: u64,
    /// New or changed sockets, FIFOs and devices left out.
    pub skipped_special: u64,
    /// Entries named `.wh.*` left out (with what is below them).
    pub skipped_reserved: u64,
    /// Entries whose path is longer than [`super::manifest::MAX_PATH_BYTES`] left out (with
    /// what is below them).
    pub skipped_long: u64,
    /// Directories anywhere in the tree, and changed files, that the walker could not read and
    /// could not open up (someone else's): their contents are not in the layer.
    pub unreadable: u64,
    /// Mount points anywhere in the tree: their contents are not in the layer.
    pub other_filesystems: u64,
    /// Bytes of file contents.
    pub content_bytes: u64,
}

impl LayerStats {
    /// Entries in the layer (0: nothing changed, the layer is empty).
    pub fn entries(&self) -> u64 {
        self.files + self.dirs + self.symlinks + self.hardlinks + self.whiteouts + self.opaque_dirs
    }
}

/// Walks `root` and writes to `out` a layer tar of what changed since `before` (or the whole
/// tree with [`LayerOptions::full`]); see the module docs for what it holds.
///
/// # Errors
///
/// [`LayerError::InvalidPrefix`], walk errors, [`LayerError::TooLarge`] (nothing written),
/// [`LayerError::Changed`] when a file changed while it was copied, and read or write errors.
/// After an error nothing more reaches `out` and no trailer is written.
pub fn write_layer<W: Write>(
    root: &Path,
    before: &Manifest,
    opts: &LayerOptions,
    out: W,
) -> Result<LayerStats, LayerError> {
    write(root, (!opts.full).then_some(before), opts, out)
}

/// [`write_layer`] where `None` means a full layer, so a caller with `--full` needs no manifest.
pub(super) fn write<W: Write>(
    root: &Path,
    before: Option<&Manifest>,
    opts: &LayerOptions,
    out: W,
) -> Result<LayerStats, LayerError> {
    names::check_prefix(&opts.prefix)?;
    let now = Manifest::walk(root)?;
    let plan = plan::plan(before.filter(|_| !opts.full), &now);
    if let Some(limit) = opts.max_bytes
        && plan.stats.content_bytes > limit
    {
        return Err(LayerError::TooLarge {
            limit,
            needed: plan.stats.content_bytes,
        });
    }
    emit::emit(root, &now, plan, &opts.prefix, out)
}
