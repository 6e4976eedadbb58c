//! Reads a layer tar as hostile input: every entry checked, the whole stream consumed.
//!
//! The host reads each snapshot's layer to learn what changed, and the staging container applies
//! it; neither trusts who wrote it. [`read_layer`] (and [`super::apply_layer`], through the same
//! parser) accept only a layer that is a clean tree under the prefix:
//!
//! - **Names** lie under `<prefix>/` or are the prefix directory itself, which must come first
//!   and be a directory; no absolute name, no `..` or `.`, no empty component, no NUL.
//! - **Tree order.** Every entry's parent is a directory entry earlier in the layer, and no path
//!   appears twice (as entries, whiteouts or opaque markers). So nothing is ever reached through
//!   a symlink or a file of the same layer, and the layer reads as one consistent change set.
//! - **Markers.** Whiteouts and opaque markers are empty regular files; a whiteout names a real
//!   name (not empty, not `.`/`..`, not itself `.wh.`-prefixed); other `.wh..wh.` names are
//!   refused.
//! - **Links.** A symlink has a target (kept as bytes, never resolved); a hardlink names a
//!   regular file earlier in the layer.
//! - **Types.** Directories, regular files, symlinks and hardlinks only. GNU long names and
//!   links and PAX headers are read, up to 64 KiB each; PAX keys that would change how the stream
//!   is read (`size`, sparse maps, ...) are refused, so no two readers can see two layers.
//! - **The end.** Two zero blocks must follow the last entry (a stream cut at an entry boundary
//!   is not a layer) and nothing but zeros after them. The stream is read to its end, so a
//!   caller hashing the bytes as they pass sees every byte.

use std::io::{self, BufReader, Read};

use tar::Archive;

use super::{LayerError, names};

mod check;

/// Size of the input buffer.
const INPUT_BUF: usize = 1 << 20;

use check::{Extensions, Validator};

/// What a layer entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A directory (its header: mode, owner, mtime).
    Dir,
    /// A regular file with contents.
    File,
    /// A symlink.
    Symlink,
    /// A regular file sharing the inode of an earlier file of the layer.
    Hardlink,
    /// `path` was deleted.
    Whiteout,
    /// The directory `path` hides everything the layers below hold in it.
    Opaque,
}

/// One entry of a layer, as [`read_layer`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerEntry {
    /// Relative to the prefix directory (empty: the prefix directory itself). For a whiteout the
    /// deleted path, for an opaque marker its directory.
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Bytes of contents (0 for everything but files).
    pub size: u64,
    /// Permission bits (`& 0o7777`) as in the header (0 for markers).
    pub mode: u32,
    /// A symlink's target as stored; a hardlink's target path relative to the prefix directory.
    pub link: Option<Vec<u8>>,
}

/// An entry that passed every check, with the header fields applying it needs.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    pub(super) entry: LayerEntry,
    pub(super) uid: u32,
    pub(super) gid: u32,
    /// Seconds since the epoch (0 for earlier times).
    pub(super) mtime: u64,
}

/// Lists the layer tar `reader` under `prefix` (`b"workspace"`), refusing anything but a clean
/// layer (see the module docs), and reads the stream to its end.
///
/// # Errors
///
/// [`LayerError::Refused`] for a refused entry, [`LayerError::ReadLayer`] for a malformed tar,
/// [`LayerError::Truncated`] / [`LayerError::TrailingData`] for a bad end,
/// [`LayerError::InvalidPrefix`] for a bad prefix.
pub fn read_layer<R: Read>(reader: R, prefix: &[u8]) -> Result<Vec<LayerEntry>, LayerError> {
    let mut entries = Vec::new();
    parse(reader, prefix, |checked, _| {
        entries.push(checked.entry.clone());
        Ok(())
    })?;
    Ok(entries)
}

/// Parses and checks the layer, calling `on_entry` with each entry and a reader of its
/// contents (whatever the callback leaves unread is skipped), then checks the trailer.
pub(super) fn parse<R: Read>(
    reader: R,
    prefix: &[u8],
    mut on_entry: impl FnMut(&Checked, &mut dyn Read) -> Result<(), LayerError>,
) -> Result<(), LayerError> {
    names::check_prefix(prefix)?;
    let read_err = |source| LayerError::ReadLayer { source };
    // The tar crate reads headers 512 bytes at a time: buffer below the count, which must
    // see only what the tar crate consumed.
    let mut archive = Archive::new(Counting {
        inner: BufReader::with_capacity(INPUT_BUF, reader),
        count: 0,
    });
    let mut validator = Validator::new(prefix);
    let mut extensions = Extensions::default();
    let mut end_of_entries = 0u64;
    // Raw: long names, long links and PAX headers come as entries and are checked here, with
    // size caps, instead of being read whole by the tar crate.
    for entry in archive.entries().map_err(read_err)?.raw(true) {
        let mut entry = entry.map_err(read_err)?;
        if extensions.take_extension(&mut entry)? {
            continue;
        }
        let checked = validator.check(&entry, std::mem::take(&mut extensions))?;
        on_entry(&checked, &mut entry)?;
        end_of_entries = entry.raw_file_position() + entry.size().div_ceil(512) * 512;
    }
    if !extensions.is_empty() {
        return Err(LayerError::refused(
            b"././@LongLink",
            super::Refusal::DanglingExtension,
        ));
    }
    let mut rest = archive.into_inner();
    // The tar crate stops at the first zero block (read) or at the end of the stream.
    let zeros_seen = rest.count.saturating_sub(end_of_entries);
    let zeros_after = drain_zeros(&mut rest)?;
    if zeros_seen + zeros_after < 1024 {
        return Err(LayerError::Truncated);
    }
    Ok(())
}

/// Reads `reader` to its end; every byte must be zero. Returns how many there were.
fn drain_zeros(reader: &mut impl Read) -> Result<u64, LayerError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(LayerError::ReadLayer { source }),
        };
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(LayerError::TrailingData);
        }
        total += n as u64;
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}
