//! The binary form of a [`Manifest`] (format version 1).
//!
//! ```text
//! magic    8 bytes  "HGYMMNFT"
//! version  u16 LE   1
//! count    varint   number of entries, the root included
//! entries  count ×  depth varint (root 0), name (varint length + bytes), kind u8
//!                   (0 dir, 1 file, 2 symlink, 3 other), flags u8 (bit 0 racy, bits 1-3
//!                   listing: 0 not a directory, 1 listed, 2 listed after chmod, 3 unreadable,
//!                   4 other filesystem), ino (zigzag varint, delta from the previous
//!                   entry's), dev, mode, uid, gid, size, nlink (varints), ctime and mtime
//!                   (zigzag varint seconds, delta from the previous entry's; varint
//!                   nanoseconds), and for symlinks the target (varint length + bytes)
//! sha256   32 bytes of everything before it
//! ```
//!
//! Varints are unsigned LEB128. Entries are in walk order (depth first, siblings by name
//! bytes); the decoder checks that order, every field's range and the hash, so a manifest that
//! decodes is one the walker could have produced. Deltas keep neighbours (inodes and times of
//! files made together) to a byte or two: 100k entries of a source tree take about 4 MB.

use sha2::{Digest, Sha256};

use super::{EntryMeta, Kind, Listing, Manifest, Node, Timestamp};
use crate::layer::LayerError;

const MAGIC: &[u8; 8] = b"HGYMMNFT";
/// The format version this code writes and reads.
pub(super) const FORMAT_VERSION: u16 = 1;
const HASH_LEN: usize = 32;
/// The fewest bytes an entry can take: bounds the count before anything is allocated.
const MIN_ENTRY_LEN: usize = 15;
/// Longest name or symlink target accepted (Linux allows 255 and 4095).
const MAX_BYTES_FIELD: u64 = 64 * 1024;

pub(super) fn encode(manifest: &Manifest) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + manifest.len() * 48);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    put_varint(&mut out, manifest.len() as u64);
    let mut depths = vec![0u64; manifest.len()];
    let mut prev = Deltas::default();
    for (i, node) in manifest.nodes().iter().enumerate() {
        if i > 0 {
            depths[i] = depths[node.parent] + 1;
        }
        put_varint(&mut out, depths[i]);
        put_bytes(&mut out, &node.name);
        put_meta(&mut out, &node.meta, &mut prev);
    }
    let hash = Sha256::digest(&out);
    out.extend_from_slice(&hash);
    out
}

/// The previous entry's fields that are stored as deltas.
#[derive(Default)]
struct Deltas {
    ino: u64,
    ctime: i64,
    mtime: i64,
}

fn put_meta(out: &mut Vec<u8>, meta: &EntryMeta, prev: &mut Deltas) {
    out.push(match meta.kind {
        Kind::Dir => 0,
        Kind::File => 1,
        Kind::Symlink => 2,
        Kind::Other => 3,
    });
    let listing: u8 = match meta.listing {
        Listing::NotDir => 0,
        Listing::Listed => 1,
        Listing::ListedAfterChmod => 2,
        Listing::Unreadable => 3,
        Listing::OtherFilesystem => 4,
    };
    out.push(u8::from(meta.racy) | (listing << 1));
    put_varint(out, zigzag(meta.ino.wrapping_sub(prev.ino) as i64));
    prev.ino = meta.ino;
    for value in [
        meta.dev,
        u64::from(meta.mode),
        u64::from(meta.uid),
        u64::from(meta.gid),
        meta.size,
        meta.nlink,
    ] {
        put_varint(out, value);
    }
    for (time, prev) in [(meta.ctime, &mut prev.ctime), (meta.mtime, &mut prev.mtime)] {
        put_varint(out, zigzag(time.sec.wrapping_sub(*prev)));
        put_varint(out, u64::from(time.nsec));
        *prev = time.sec;
    }
    if let Some(target) = &meta.target {
        put_bytes(out, target);
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

pub(super) fn decode(bytes: &[u8]) -> Result<Manifest, LayerError> {
    let header_len = MAGIC.len() + 2;
    if bytes.len() < header_len + 1 + HASH_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(invalid(0, "not a harnessgym manifest"));
    }
    let version = u16::from_le_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
    if version != FORMAT_VERSION {
        return Err(LayerError::ManifestVersion { version });
    }
    let (body, hash) = bytes.split_at(bytes.len() - HASH_LEN);
    if Sha256::digest(body).as_slice() != hash {
        return Err(invalid(
            body.len(),
            "checksum mismatch (truncated or corrupted)",
        ));
    }
    let mut cursor = Cursor {
        bytes: body,
        at: header_len,
        prev: Deltas::default(),
    };
    let count = cursor.varint()?;
    let room = (body.len() - cursor.at) / MIN_ENTRY_LEN;
    let count = usize::try_from(count)
        .ok()
        .filter(|&count| count >= 1 && count <= room)
        .ok_or_else(|| invalid(cursor.at, "entry count does not fit the manifest"))?;
    let mut tree = TreeCheck::default();
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        let node = cursor.node(&mut tree)?;
        tree.add(&node, cursor.at)?;
        nodes.push(node);
    }
    if cursor.at != body.len() {
        return Err(invalid(cursor.at, "data after the last entry"));
    }
    Ok(Manifest::from_nodes(nodes))
}

fn invalid(offset: usize, reason: &'static str) -> LayerError {
    LayerError::InvalidManifest { offset, reason }
}

/// Checks the walk-order shape as nodes arrive and assigns their parents.
#[derive(Default)]
struct TreeCheck {
    /// The current path: index of each directory, and the last child name seen in it.
    path: Vec<(usize, Option<Vec<u8>>)>,
    /// Index of the next node.
    next: usize,
}

impl TreeCheck {
    /// Validates `depth` and `name` of the next node and returns its parent index.
    fn parent(&mut self, depth: u64, name: &[u8], at: usize) -> Result<usize, LayerError> {
        if self.next == 0 {
            return if depth == 0 && name.is_empty() {
                Ok(0)
            } else {
                Err(invalid(at, "the first entry must be the root"))
            };
        }
        let depth = usize::try_from(depth).unwrap_or(usize::MAX);
        if depth == 0 || depth > self.path.len() {
            return Err(invalid(at, "entry depth does not follow its predecessor"));
        }
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(invalid(at, "invalid entry name"));
        }
        if name.contains(&0) {
            return Err(invalid(at, "invalid entry name"));
        }
        self.path.truncate(depth);
        let (parent, last) = &mut self.path[depth - 1];
        if last.as_deref().is_some_and(|last| last >= name) {
            return Err(invalid(at, "entries are not sorted by name"));
        }
        *last = Some(name.to_vec());
        Ok(*parent)
    }

    fn add(&mut self, node: &Node, at: usize) -> Result<(), LayerError> {
        if self.next == 0 && node.meta.kind != Kind::Dir {
            return Err(invalid(at, "the root must be a directory"));
        }
        if node.meta.listing.is_known() {
            self.path.push((self.next, None));
        }
        self.next += 1;
        Ok(())
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    prev: Deltas,
}

impl Cursor<'_> {
    fn node(&mut self, tree: &mut TreeCheck) -> Result<Node, LayerError> {
        let start = self.at;
        let depth = self.varint()?;
        let name = self.byte_field()?;
        let parent = tree.parent(depth, &name, start)?;
        let meta = self.meta()?;
        Ok(Node {
            name,
            parent,
            end: 0,
            meta,
        })
    }

    fn meta(&mut self) -> Result<EntryMeta, LayerError> {
        let at = self.at;
        let kind = match self.byte()? {
            0 => Kind::Dir,
            1 => Kind::File,
            2 => Kind::Symlink,
            3 => Kind::Other,
            _ => return Err(invalid(at, "unknown entry kind")),
        };
        let flags = self.byte()?;
        let listing = match (kind, flags >> 1) {
            (Kind::Dir, 1) => Listing::Listed,
            (Kind::Dir, 2) => Listing::ListedAfterChmod,
            (Kind::Dir, 3) => Listing::Unreadable,
            (Kind::Dir, 4) => Listing::OtherFilesystem,
            (Kind::File | Kind::Symlink | Kind::Other, 0) => Listing::NotDir,
            _ => return Err(invalid(at, "listing does not match the entry kind")),
        };
        let racy = flags & 1 == 1;
        if racy && kind != Kind::File {
            return Err(invalid(at, "only regular files can be racy"));
        }
        let ino = self.prev.ino.wrapping_add(unzigzag(self.varint()?) as u64);
        self.prev.ino = ino;
        let dev = self.varint()?;
        let mode = self.small(0o7777)?;
        let uid = self.small(u64::from(u32::MAX))?;
        let gid = self.small(u64::from(u32::MAX))?;
        let size = self.varint()?;
        let nlink = self.varint()?;
        let ctime = self.timestamp(self.prev.ctime)?;
        self.prev.ctime = ctime.sec;
        let mtime = self.timestamp(self.prev.mtime)?;
        self.prev.mtime = mtime.sec;
        let target = match kind {
            Kind::Symlink => Some(self.byte_field()?),
            _ => None,
        };
        Ok(EntryMeta {
            kind,
            ino,
            dev,
            mode,
            uid,
            gid,
            size,
            ctime,
            mtime,
            nlink,
            target,
            listing,
            racy,
        })
    }

    fn byte(&mut self) -> Result<u8, LayerError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| invalid(self.at, "unexpected end"))?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, LayerError> {
        let start = self.at;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(invalid(start, "varint overflows 64 bits"))
    }

    /// A varint that must fit `max` (and so a `u32`).
    fn small(&mut self, max: u64) -> Result<u32, LayerError> {
        let at = self.at;
        let value = self.varint()?;
        u32::try_from(value)
            .ok()
            .filter(|_| value <= max)
            .ok_or_else(|| invalid(at, "field out of range"))
    }

    /// A timestamp whose seconds are a delta from `prev`.
    fn timestamp(&mut self, prev: i64) -> Result<Timestamp, LayerError> {
        let sec = prev.wrapping_add(unzigzag(self.varint()?));
        let nsec = self.small(999_999_999)?;
        Ok(Timestamp { sec, nsec })
    }

    fn byte_field(&mut self) -> Result<Vec<u8>, LayerError> {
        let at = self.at;
        let len = self.varint()?;
        if len > MAX_BYTES_FIELD {
            return Err(invalid(at, "name or target too long"));
        }
        let len = usize::try_from(len).map_err(|_| invalid(at, "name or target too long"))?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| invalid(at, "unexpected end"))?;
        let field = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(field)
    }
}

/// Re-hashes a manifest body: tests mutate the body and need the checksum to pass.
#[cfg(test)]
pub(super) fn reseal(bytes: &[u8]) -> Vec<u8> {
    let body = &bytes[..bytes.len().saturating_sub(HASH_LEN)];
    let mut out = body.to_vec();
    out.extend_from_slice(&Sha256::digest(body));
    out
}
