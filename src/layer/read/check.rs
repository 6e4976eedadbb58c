//! The per-entry checks of a layer: extension headers gathered with size caps, names, tree
//! order, markers and links (the rules are listed in the docs of `read`).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use tar::{Entry, EntryType, PaxExtensions};

use super::{Checked, EntryKind, LayerEntry};
use crate::layer::names::{self, relative_path};
use crate::layer::{LayerError, Refusal};

/// Largest long-name, long-link or PAX header accepted.
const MAX_EXTENSION: u64 = 64 * 1024;

/// Extension headers read before the entry they describe.
#[derive(Debug, Default)]
pub(super) struct Extensions {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

impl Extensions {
    pub(super) fn is_empty(&self) -> bool {
        self.long_name.is_none() && self.long_link.is_none() && self.pax.is_none()
    }

    /// If `entry` is an extension header, reads and keeps it (`Ok(true)`).
    pub(super) fn take_extension<R: Read>(
        &mut self,
        entry: &mut Entry<'_, R>,
    ) -> Result<bool, LayerError> {
        let kind = entry.header().entry_type();
        let slot = if kind.is_gnu_longname() {
            &mut self.long_name
        } else if kind.is_gnu_longlink() {
            &mut self.long_link
        } else if kind.is_pax_local_extensions() {
            &mut self.pax
        } else {
            return Ok(false);
        };
        let refuse = |reason| LayerError::refused(&entry.path_bytes(), reason);
        if slot.is_some() {
            return Err(refuse(Refusal::DanglingExtension));
        }
        if entry.size() > MAX_EXTENSION {
            return Err(refuse(Refusal::ExtensionTooLarge));
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|source| LayerError::ReadLayer { source })?;
        if !kind.is_pax_local_extensions() {
            // GNU tar counts the terminating NUL in the size.
            while data.last() == Some(&0) {
                data.pop();
            }
        }
        *slot = Some(data);
        Ok(true)
    }
}

/// The PAX keys that matter, once checked.
#[derive(Debug, Default)]
struct Pax {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    uid: Option<u32>,
    gid: Option<u32>,
    mtime: Option<u64>,
}

fn parse_pax(data: &[u8], name: &[u8]) -> Result<Pax, LayerError> {
    let refuse = |reason| LayerError::refused(name, reason);
    let unsupported = |key: &[u8]| {
        refuse(Refusal::UnsupportedPax(
            String::from_utf8_lossy(key).into_owned(),
        ))
    };
    let mut pax = Pax::default();
    for record in PaxExtensions::new(data) {
        let record = record.map_err(|_| unsupported(b"<malformed record>"))?;
        let (key, value) = (record.key_bytes(), record.value_bytes());
        let number = |value: &[u8]| -> Option<u64> {
            let whole = value.split(|&b| b == b'.').next()?;
            std::str::from_utf8(whole).ok()?.parse::<u64>().ok()
        };
        match key {
            b"path" => pax.path = Some(value.to_vec()),
            b"linkpath" => pax.link = Some(value.to_vec()),
            b"uid" => {
                pax.uid = Some(
                    number(value)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| unsupported(key))?,
                )
            }
            b"gid" => {
                pax.gid = Some(
                    number(value)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| unsupported(key))?,
                )
            }
            // A time before 1970 (a leading `-`) is applied as 0, like the header's.
            b"mtime" => pax.mtime = Some(number(value).unwrap_or(0)),
            b"atime" | b"ctime" | b"uname" | b"gname" | b"comment" => {}
            _ if key.starts_with(b"SCHILY.xattr.") || key.starts_with(b"LIBARCHIVE.xattr.") => {}
            _ => return Err(unsupported(key)),
        }
    }
    Ok(pax)
}

/// uid, gid and mtime, PAX values first. `Err(None)`: a malformed header field.
fn owner_and_time(header: &tar::Header, pax: &Pax) -> Result<(u32, u32, u64), Option<Refusal>> {
    let id = |pax: Option<u32>, field: std::io::Result<u64>| match pax {
        Some(id) => Ok(id),
        None => u32::try_from(field.map_err(|_| None)?)
            .map_err(|_| Some(Refusal::UnsupportedPax("uid/gid".to_owned()))),
    };
    let uid = id(pax.uid, header.uid())?;
    let gid = id(pax.gid, header.gid())?;
    let mtime = match pax.mtime {
        Some(mtime) => mtime,
        None => header.mtime().map_err(|_| None)?,
    };
    Ok((uid, gid, mtime))
}

/// What a path of the layer is, for the parent and hardlink checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Dir,
    File,
    /// Symlinks and whiteouts: neither a parent nor a hardlink target.
    Other,
}

/// The state of the checks across entries.
pub(super) struct Validator<'p> {
    prefix: &'p [u8],
    seen: HashMap<Vec<u8>, Seen>,
    opaque: HashSet<Vec<u8>>,
}

impl<'p> Validator<'p> {
    pub(super) fn new(prefix: &'p [u8]) -> Self {
        Self {
            prefix,
            seen: HashMap::new(),
            opaque: HashSet::new(),
        }
    }

    /// Checks the next entry (with the extension headers read before it).
    pub(super) fn check<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        ext: Extensions,
    ) -> Result<Checked, LayerError> {
        let header = entry.header();
        let header_name = header.path_bytes();
        let mut pax = match &ext.pax {
            Some(data) => parse_pax(data, &header_name)?,
            None => Pax::default(),
        };
        let name = match (ext.long_name, pax.path.take()) {
            (Some(_), Some(_)) => {
                return Err(LayerError::refused(
                    &header_name,
                    Refusal::DanglingExtension,
                ));
            }
            (Some(name), None) | (None, Some(name)) => name,
            (None, None) => header_name.into_owned(),
        };
        let refuse = |reason| LayerError::refused(&name, reason);
        let kind = match header.entry_type() {
            EntryType::Regular => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::Hardlink,
            other => return Err(refuse(Refusal::UnsupportedType(other.as_byte()))),
        };
        let read_err = |source| LayerError::ReadLayer { source };
        let size = header.entry_size().map_err(read_err)?;
        if size != 0 && kind != EntryKind::File {
            return Err(refuse(Refusal::DataOnNonFile));
        }
        let rel = relative_path(&name, self.prefix, kind == EntryKind::Dir).map_err(refuse)?;
        let (path, kind) = self.place(rel, kind, size).map_err(refuse)?;
        let link = match kind {
            EntryKind::Symlink | EntryKind::Hardlink => {
                let raw = match (ext.long_link, pax.link.take()) {
                    (Some(_), Some(_)) => return Err(refuse(Refusal::DanglingExtension)),
                    (Some(link), None) | (None, Some(link)) => link,
                    (None, None) => header.link_name_bytes().unwrap_or_default().into_owned(),
                };
                Some(self.link(kind, raw, &path).map_err(refuse)?)
            }
            _ => None,
        };
        let mode = match kind {
            EntryKind::Whiteout | EntryKind::Opaque => 0,
            _ => header.mode().map_err(read_err)? & 0o7777,
        };
        let (uid, gid, mtime) = owner_and_time(header, &pax).map_err(|reason| match reason {
            Some(reason) => refuse(reason),
            None => LayerError::ReadLayer {
                source: std::io::Error::other("malformed owner or mtime field"),
            },
        })?;
        let size = if kind == EntryKind::File { size } else { 0 };
        Ok(Checked {
            entry: LayerEntry {
                path,
                kind,
                size,
                mode,
                link,
            },
            uid,
            gid,
            mtime,
        })
    }

    /// Checks where an entry lands in the tree and records it; turns marker files into
    /// whiteouts and opaque markers. Returns the path it stands for and its kind.
    fn place(
        &mut self,
        rel: Vec<u8>,
        kind: EntryKind,
        size: u64,
    ) -> Result<(Vec<u8>, EntryKind), Refusal> {
        if self.seen.is_empty() {
            return match (rel.is_empty(), kind) {
                (true, EntryKind::Dir) => {
                    self.seen.insert(rel.clone(), Seen::Dir);
                    Ok((rel, kind))
                }
                (true, _) => Err(Refusal::PrefixNotDir),
                (false, _) => Err(Refusal::PrefixFirst),
            };
        }
        if rel.is_empty() {
            return Err(Refusal::Duplicate);
        }
        let (parent, name) = names::split_last(&rel);
        if self.seen.get(parent) != Some(&Seen::Dir) {
            return Err(Refusal::MissingParent);
        }
        let marker = names::marker(name)?;
        if marker.is_some() && (kind != EntryKind::File || size != 0) {
            return Err(Refusal::WhiteoutNotEmptyFile);
        }
        let (path, kind, seen) = match marker {
            Some(None) => {
                let dir = parent.to_vec();
                if !self.opaque.insert(dir.clone()) {
                    return Err(Refusal::Duplicate);
                }
                return Ok((dir, EntryKind::Opaque));
            }
            Some(Some(target)) => (
                names::join(parent, target),
                EntryKind::Whiteout,
                Seen::Other,
            ),
            None => {
                let seen = match kind {
                    EntryKind::Dir => Seen::Dir,
                    EntryKind::File | EntryKind::Hardlink => Seen::File,
                    _ => Seen::Other,
                };
                (rel, kind, seen)
            }
        };
        if self.seen.insert(path.clone(), seen).is_some() {
            return Err(Refusal::Duplicate);
        }
        Ok((path, kind))
    }

    /// Checks a symlink's target (kept as is) or a hardlink's (an earlier regular file).
    fn link(&self, kind: EntryKind, raw: Vec<u8>, path: &[u8]) -> Result<Vec<u8>, Refusal> {
        if raw.is_empty() {
            return Err(Refusal::MissingLinkTarget);
        }
        if raw.contains(&0) {
            return Err(Refusal::NulByte);
        }
        if kind == EntryKind::Symlink {
            return Ok(raw);
        }
        let target = relative_path(&raw, self.prefix, false)?;
        // The entry itself is recorded already: a link to itself names no earlier file.
        if target == path || self.seen.get(&target) != Some(&Seen::File) {
            return Err(Refusal::HardlinkTarget);
        }
        Ok(target)
    }
}
