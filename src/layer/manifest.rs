//! The state of a directory tree at one moment, to tell later what changed.
//!
//! A [`Manifest`] records, for every entry under a root (the root itself included, with the empty
//! path), what `lstat` said about it: kind, inode and device, permission bits, owner, size,
//! ctime and mtime (nanoseconds), link count and, for symlinks, the target. Paths are raw bytes
//! relative to the root; names need not be UTF-8.
//!
//! - **The walk** ([`Manifest::walk`]) never follows a symlink and never crosses into another
//!   filesystem: a mount point is recorded as a directory whose contents are unknown
//!   ([`Listing::OtherFilesystem`]). Entries deeper than [`MAX_PATH_BYTES`] are left out and
//!   counted. Directories the agent made unreadable to itself are opened
//!   up for the listing and their mode restored; others' unreadable directories are recorded
//!   and not descended ([`Listing::Unreadable`]).
//! - **Racy files.** Inode timestamps come from a clock that ticks every few milliseconds, so a
//!   file written again within the tick of a walk can keep its ctime. Files whose ctime is
//!   within [`RACY_WINDOW`] of the walk's start are marked [`EntryMeta::racy`] and count as
//!   changed by the next layer (git's "racy clean" rule), so no such write is ever lost.
//! - **Order.** Entries are kept depth first, a directory before its contents, siblings in byte
//!   order of their names: the order of the layer that is written from them.
//! - **Bytes.** [`Manifest::to_bytes`] writes a compact, versioned binary form (see `codec.rs`);
//!   [`Manifest::from_bytes`] checks it fully and never panics on garbage.

use std::path::Path;
use std::time::Duration;

use super::LayerError;

mod codec;
#[cfg(test)]
mod tests;
mod walk;

/// Longest path (relative to the root, in bytes) the walk records. Deeper entries are left out
/// with everything below them and counted ([`Manifest::too_long`]): everything downstream (the
/// layer's applier, the engine, the host's write-back under its own workspace path) works with
/// whole paths, which the kernel caps at 4096 bytes, so an agent's directories nested past that
/// would otherwise stop the walk, and the run. 3072 leaves 1024 bytes for the host's prefix.
pub const MAX_PATH_BYTES: usize = 3072;

/// Files whose ctime is this close to (or after) the start of a walk are [`EntryMeta::racy`].
/// Linux stamps inodes from a clock that ticks at most every 10 ms; ten ticks leave room for a
/// lagging clock.
pub const RACY_WINDOW: Duration = Duration::from_millis(100);

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device: recorded, never put in a layer.
    Other,
}

/// How much of a directory's contents the walk saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listing {
    /// Not a directory.
    NotDir,
    /// Listed and descended.
    Listed,
    /// Listed and descended after adding the owner's read and search bits (the agent had
    /// removed them); the original mode was restored and is the one recorded.
    ListedAfterChmod,
    /// Not readable by the walker and not its own to open up: contents unknown.
    Unreadable,
    /// A mount point of another filesystem: contents not walked.
    OtherFilesystem,
}

impl Listing {
    /// Whether the walk knows this directory's contents.
    pub fn is_known(self) -> bool {
        matches!(self, Self::Listed | Self::ListedAfterChmod)
    }
}

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds (negative before 1970).
    pub sec: i64,
    /// Nanoseconds within the second (below 1e9).
    pub nsec: u32,
}

/// What the walk recorded about one entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryMeta {
    /// What it is.
    pub kind: Kind,
    /// `st_ino`.
    pub ino: u64,
    /// `st_dev`.
    pub dev: u64,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// `st_size`.
    pub size: u64,
    /// Last status change.
    pub ctime: Timestamp,
    /// Last modification.
    pub mtime: Timestamp,
    /// `st_nlink`.
    pub nlink: u64,
    /// A symlink's target, as stored (never resolved); `None` for other kinds.
    pub target: Option<Vec<u8>>,
    /// For directories, how much of the contents the walk saw.
    pub listing: Listing,
    /// A regular file whose ctime was too recent to prove a later write (see the module docs).
    pub racy: bool,
}

/// One entry in walk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    /// The last path component (empty for the root).
    pub(super) name: Vec<u8>,
    /// Index of the parent directory (the root is its own parent).
    pub(super) parent: usize,
    /// Index just past the last entry below this one.
    pub(super) end: usize,
    pub(super) meta: EntryMeta,
}

/// The state of a tree: every entry under a root, depth first (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Never empty: the root comes first.
    nodes: Vec<Node>,
    /// Entries the walk left out for a path longer than [`MAX_PATH_BYTES`] (not encoded: it
    /// matters only to the walk that found them).
    too_long: usize,
}

impl Manifest {
    /// Walks the tree under `root` (a directory, not a symlink to one) with `lstat` only.
    ///
    /// # Errors
    ///
    /// [`LayerError`] when the root is not a directory, or a directory cannot be listed or an
    /// entry inspected for another reason than the agent's or someone else's permission bits.
    pub fn walk(root: &Path) -> Result<Self, LayerError> {
        walk::walk(root)
    }

    /// The compact binary form: magic, format version, entries, SHA-256 of all of it.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Parses [`Manifest::to_bytes`] output, checking every field and the tree's shape.
    ///
    /// # Errors
    ///
    /// [`LayerError::InvalidManifest`] for anything but an intact manifest,
    /// [`LayerError::ManifestVersion`] for one of an unknown format version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LayerError> {
        codec::decode(bytes)
    }

    /// Builds a manifest from nodes in walk order whose `parent` is set; computes `end`.
    pub(super) fn from_nodes(mut nodes: Vec<Node>) -> Self {
        for i in (0..nodes.len()).rev() {
            let end = nodes[i].end.max(i + 1);
            nodes[i].end = end;
            let parent = nodes[i].parent;
            if parent < i {
                nodes[parent].end = nodes[parent].end.max(end);
            }
        }
        Self { nodes, too_long: 0 }
    }

    /// Entries left out for a path longer than [`MAX_PATH_BYTES`], with what is below them.
    pub fn too_long(&self) -> usize {
        self.too_long
    }

    /// Number of entries, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always `false`: a manifest holds at least its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The root directory's metadata.
    pub fn root(&self) -> &EntryMeta {
        &self.nodes[0].meta
    }

    /// The entry at `path` (relative, `/`-separated; empty for the root).
    pub fn get(&self, path: &[u8]) -> Option<&EntryMeta> {
        let mut at = 0;
        if !path.is_empty() {
            for name in path.split(|&b| b == b'/') {
                at = self
                    .children(at)
                    .find(|&child| self.nodes[child].name == name)?;
            }
        }
        Some(&self.nodes[at].meta)
    }

    /// Every entry with its path, in walk order.
    pub fn iter(&self) -> impl Iterator<Item = (Vec<u8>, &EntryMeta)> + '_ {
        (0..self.nodes.len()).map(|i| (self.path_of(i), &self.nodes[i].meta))
    }

    /// Directories whose contents the walk could not read (someone else's, locked).
    pub fn unreadable(&self) -> usize {
        self.count_listing(Listing::Unreadable)
    }

    /// Mount points of other filesystems, whose contents were not walked.
    pub fn other_filesystems(&self) -> usize {
        self.count_listing(Listing::OtherFilesystem)
    }

    fn count_listing(&self, listing: Listing) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.meta.listing == listing)
            .count()
    }

    pub(super) fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub(super) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Indices of the entries directly below entry `i`, in name order.
    pub(super) fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes[i].end;
        let mut next = i + 1;
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let child = next;
                next = self.nodes[child].end;
                child
            })
        })
    }

    /// The path of entry `i` relative to the root.
    pub(super) fn path_of(&self, i: usize) -> Vec<u8> {
        let mut names = Vec::new();
        let mut at = i;
        while at != 0 {
            names.push(&self.nodes[at].name);
            at = self.nodes[at].parent;
        }
        let mut path = Vec::new();
        for name in names.iter().rev() {
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
        }
        path
    }
}
