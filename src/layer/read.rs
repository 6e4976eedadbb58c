//! Reading a layer tar back (placeholder until the full validator lands).

use std::io::Read;

/// The kind of one layer entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
    /// A whiteout: the path is deleted.
    Whiteout,
    /// An opaque marker: the directory hides what was below it.
    Opaque,
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    /// Path relative to the prefix root (empty: the root).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Content size.
    pub size: u64,
}

/// Parse a layer tar.
pub fn read_layer(reader: impl Read, prefix: &[u8]) -> std::io::Result<Vec<LayerEntry>> {
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let raw = entry.path_bytes().into_owned();
        let raw = raw.strip_suffix(b"/").unwrap_or(&raw).to_vec();
        let rel: Vec<u8> = if raw == prefix {
            Vec::new()
        } else if raw.starts_with(prefix) && raw.get(prefix.len()) == Some(&b'/') {
            raw[prefix.len() + 1..].to_vec()
        } else {
            return Err(std::io::Error::other("entry outside the prefix"));
        };
        if rel
            .split(|b| *b == b'/')
            .any(|c| c == b".." || c.is_empty())
            && !rel.is_empty()
        {
            return Err(std::io::Error::other("bad entry name"));
        }
        let (parent, name) = match rel.iter().rposition(|b| *b == b'/') {
            Some(i) => (rel[..i].to_vec(), rel[i + 1..].to_vec()),
            None => (Vec::new(), rel.clone()),
        };
        let kind = entry.header().entry_type();
        let (path, kind) = if name == b".wh..wh..opq" {
            (parent, EntryKind::Opaque)
        } else if let Some(gone) = name.strip_prefix(b".wh.") {
            let mut path = parent;
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(gone);
            (path, EntryKind::Whiteout)
        } else if kind.is_dir() {
            (rel, EntryKind::Dir)
        } else if kind.is_symlink() {
            (rel, EntryKind::Symlink)
        } else if kind.is_hard_link() {
            (rel, EntryKind::Hardlink)
        } else {
            (rel, EntryKind::File)
        };
        out.push(LayerEntry {
            path,
            kind,
            size: entry.size(),
        });
    }
    Ok(out)
}
