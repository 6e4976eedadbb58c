//! The walk behind [`Manifest::walk`]: `read_dir` plus `lstat` (through the directory handle),
//! depth first with its own stack so deep trees cannot overflow the thread's stack.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{EntryMeta, Kind, Listing, MAX_PATH_BYTES, Manifest, Node, RACY_WINDOW, Timestamp};
use crate::layer::LayerError;
use crate::layer::perm;

/// The entries of one directory, sorted by name bytes, with their `lstat`.
type Children = std::vec::IntoIter<(OsString, Metadata)>;

/// A directory being walked.
struct Frame {
    node: usize,
    path: PathBuf,
    children: Children,
    /// The original mode, when the walk opened the directory up and must restore it on leaving.
    restore: Option<u32>,
}

struct Walker {
    root_dev: u64,
    /// Bytes of the root's path, to measure paths relative to it.
    root_len: usize,
    /// Entries left out for a path longer than [`MAX_PATH_BYTES`].
    too_long: usize,
    /// Files with a ctime at or after this are racy.
    racy_after: Timestamp,
    nodes: Vec<Node>,
    stack: Vec<Frame>,
}

pub(super) fn walk(root: &Path) -> Result<Manifest, LayerError> {
    let racy_after = racy_threshold();
    let meta = fs::symlink_metadata(root).map_err(|source| LayerError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(LayerError::RootNotDir {
            path: root.to_path_buf(),
        });
    }
    let mut walker = Walker {
        root_dev: meta.dev(),
        root_len: root.as_os_str().len(),
        too_long: 0,
        racy_after,
        nodes: Vec::new(),
        stack: Vec::new(),
    };
    walker.nodes.push(Node {
        name: Vec::new(),
        parent: 0,
        end: 0,
        meta: walker.entry_meta(&meta, None),
    });
    let walked = walker.run(root);
    // On failure, directories still on the stack may be opened up: put their modes back first.
    let restored = walker.unwind();
    walked?;
    restored?;
    let mut manifest = Manifest::from_nodes(walker.nodes);
    manifest.too_long = walker.too_long;
    Ok(manifest)
}

/// `now - RACY_WINDOW`, as a timestamp.
fn racy_threshold() -> Timestamp {
    let since_epoch = SystemTime::now()
        .checked_sub(RACY_WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    Timestamp {
        sec: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nsec: since_epoch.subsec_nanos(),
    }
}

pub(crate) fn timestamp(sec: i64, nsec: i64) -> Timestamp {
    Timestamp {
        sec,
        nsec: u32::try_from(nsec).unwrap_or(0),
    }
}

impl Walker {
    fn run(&mut self, root: &Path) -> Result<(), LayerError> {
        self.enter(0, root.to_path_buf())?;
        while let Some(frame) = self.stack.last_mut() {
            let Some((name, meta)) = frame.children.next() else {
                if let Some(frame) = self.stack.pop() {
                    self.leave(frame)?;
                }
                continue;
            };
            let parent = frame.node;
            let path = frame.path.join(&name);
            // Relative to the root, without the separator after it.
            if path.as_os_str().len().saturating_sub(self.root_len + 1) > MAX_PATH_BYTES {
                if self.too_long == 0 {
                    tracing::warn!(
                        "paths longer than {MAX_PATH_BYTES} bytes left out, first under {}",
                        frame.path.display()
                    );
                }
                self.too_long += 1;
                continue;
            }
            let target = if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).map_err(|source| LayerError::ReadLink {
                    path: path.clone(),
                    source,
                })?;
                Some(target.into_os_string().into_vec())
            } else {
                None
            };
            let index = self.nodes.len();
            self.nodes.push(Node {
                name: name.into_vec(),
                parent,
                end: 0,
                meta: self.entry_meta(&meta, target),
            });
            if meta.is_dir() {
                self.enter(index, path)?;
            }
        }
        Ok(())
    }

    /// Lists directory `node` at `path` and pushes it on the stack, or records why not.
    fn enter(&mut self, node: usize, path: PathBuf) -> Result<(), LayerError> {
        let meta = &mut self.nodes[node].meta;
        if meta.dev != self.root_dev {
            meta.listing = Listing::OtherFilesystem;
            return Ok(());
        }
        let mode = meta.mode;
        let (children, restore) = match list(&path) {
            Ok(children) => (children, None),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if !perm::open_up(&path, mode, perm::DIR_BITS)? {
                    tracing::warn!(path = %path.display(), "directory not readable and not ours; contents not recorded");
                    meta.listing = Listing::Unreadable;
                    return Ok(());
                }
                meta.listing = Listing::ListedAfterChmod;
                match list(&path) {
                    Ok(children) => (children, Some(mode)),
                    Err(source) => {
                        perm::restore(&path, mode)?;
                        return Err(LayerError::ListDir { path, source });
                    }
                }
            }
            // Removed since its parent was listed: nothing below it any more.
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), None),
            Err(source) => return Err(LayerError::ListDir { path, source }),
        };
        self.stack.push(Frame {
            node,
            path,
            children: children.into_iter(),
            restore,
        });
        Ok(())
    }

    /// Done with a directory: restore its mode if it was opened up, and record the ctime that
    /// the restore left, so the next walk does not see the walker's own chmod as a change.
    fn leave(&mut self, frame: Frame) -> Result<(), LayerError> {
        let Some(mode) = frame.restore else {
            return Ok(());
        };
        perm::restore(&frame.path, mode)?;
        if let Ok(meta) = fs::symlink_metadata(&frame.path) {
            self.nodes[frame.node].meta.ctime = timestamp(meta.ctime(), meta.ctime_nsec());
        }
        Ok(())
    }

    /// Restores every directory still opened up (after a failure). Returns the first error.
    fn unwind(&mut self) -> Result<(), LayerError> {
        let mut first = Ok(());
        while let Some(frame) = self.stack.pop() {
            if let Some(mode) = frame.restore
                && let Err(err) = perm::restore(&frame.path, mode)
                && first.is_ok()
            {
                first = Err(err);
            }
        }
        first
    }

    fn entry_meta(&self, meta: &Metadata, target: Option<Vec<u8>>) -> EntryMeta {
        let file_type = meta.file_type();
        let kind = if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        let ctime = timestamp(meta.ctime(), meta.ctime_nsec());
        EntryMeta {
            kind,
            ino: meta.ino(),
            dev: meta.dev(),
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.size(),
            ctime,
            mtime: timestamp(meta.mtime(), meta.mtime_nsec()),
            nlink: meta.nlink(),
            target,
            listing: if kind == Kind::Dir {
                Listing::Listed
            } else {
                Listing::NotDir
            },
            racy: kind == Kind::File && ctime >= self.racy_after,
        }
    }
}

/// The entries of `dir` with their `lstat` (taken through the directory handle), sorted by name
/// bytes. Entries that vanish between listing and `lstat` are left out.
fn list(dir: &Path) -> io::Result<Vec<(OsString, Metadata)>> {
    let mut children = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        match entry.metadata() {
            Ok(meta) => children.push((entry.file_name(), meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    children.sort_unstable_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    Ok(children)
}
