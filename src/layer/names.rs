//! Entry names in layer tars: the prefix, OCI whiteout markers, and the checks every name
//! read from a layer must pass.
//!
//! A layer names its entries `<prefix>/<path>`: the prefix directory itself (`workspace`) is the
//! root of the tree; paths below it are raw bytes. Deletions are OCI whiteouts: an empty regular
//! file `.wh.<name>` next to the deleted name; `.wh..wh..opq` inside a directory hides everything
//! the layers below hold in it. Names starting with `.wh.` are therefore reserved.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{LayerError, Refusal};

/// Prefix of a whiteout's name.
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// Name of the opaque marker inside a directory.
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// Prefix of the names OCI reserves for markers other than whiteouts of real names.
const META_PREFIX: &[u8] = b".wh..wh.";

/// Whether a real entry with this name cannot be carried by a layer (the engine would read it
/// as a marker).
pub fn is_reserved(name: &[u8]) -> bool {
    name.starts_with(WHITEOUT_PREFIX)
}

/// Checks a layer prefix (`workspace`, or `a/b`): relative, clean, without markers.
pub(super) fn check_prefix(prefix: &[u8]) -> Result<(), LayerError> {
    let valid = !prefix.is_empty()
        && prefix
            .split(|&b| b == b'/')
            .all(|part| clean_component(part).is_ok() && !is_reserved(part));
    if valid {
        Ok(())
    } else {
        Err(LayerError::InvalidPrefix {
            prefix: String::from_utf8_lossy(prefix).into_owned(),
        })
    }
}

fn clean_component(part: &[u8]) -> Result<(), Refusal> {
    match part {
        b"" => Err(Refusal::EmptyComponent),
        b"." => Err(Refusal::CurDir),
        b".." => Err(Refusal::ParentDir),
        _ if part.contains(&0) => Err(Refusal::NulByte),
        _ => Ok(()),
    }
}

/// Splits a name from a layer into its path relative to the prefix directory (empty for the
/// prefix itself). A single trailing `/` is allowed when `dir` (tar's directory convention).
pub(super) fn relative_path(raw: &[u8], prefix: &[u8], dir: bool) -> Result<Vec<u8>, Refusal> {
    if raw.contains(&0) {
        return Err(Refusal::NulByte);
    }
    if raw.first() == Some(&b'/') {
        return Err(Refusal::Absolute);
    }
    let name = match raw.strip_suffix(b"/") {
        Some(stripped) if dir => stripped,
        _ => raw,
    };
    for part in name.split(|&b| b == b'/') {
        clean_component(part)?;
    }
    if name == prefix {
        return Ok(Vec::new());
    }
    match name.strip_prefix(prefix) {
        Some(rest) if rest.first() == Some(&b'/') => Ok(rest[1..].to_vec()),
        _ => Err(Refusal::OutsidePrefix),
    }
}

/// `<prefix>/<rel>` (or the prefix alone for the root), then `/<suffix>` when given.
pub(super) fn tar_name(prefix: &[u8], rel: &[u8], suffix: Option<&[u8]>) -> Vec<u8> {
    let mut name = Vec::with_capacity(prefix.len() + rel.len() + 16);
    name.extend_from_slice(prefix);
    for part in [Some(rel), suffix].into_iter().flatten() {
        if !part.is_empty() {
            name.push(b'/');
            name.extend_from_slice(part);
        }
    }
    name
}

/// Splits a relative path into its parent and last name (`("", name)` at the top).
pub(super) fn split_last(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&rel[..slash], &rel[slash + 1..]),
        None => (&[], rel),
    }
}

/// `parent/name`, or `name` at the top.
pub(super) fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut rel = Vec::with_capacity(parent.len() + name.len() + 1);
    rel.extend_from_slice(parent);
    if !parent.is_empty() {
        rel.push(b'/');
    }
    rel.extend_from_slice(name);
    rel
}

/// What a whiteout file's name deletes: `Ok(None)` for a name that is not a marker,
/// `Ok(Some(None))` for the opaque marker, `Ok(Some(Some(name)))` for a whiteout of `name`.
pub(super) fn marker(name: &[u8]) -> Result<Option<Option<&[u8]>>, Refusal> {
    if name == OPAQUE_MARKER {
        return Ok(Some(None));
    }
    if name.starts_with(META_PREFIX) {
        return Err(Refusal::ReservedName);
    }
    match name.strip_prefix(WHITEOUT_PREFIX) {
        None => Ok(None),
        Some(target) if target.is_empty() || is_reserved(target) => Err(Refusal::WhiteoutTarget),
        Some(b"." | b"..") => Err(Refusal::WhiteoutTarget),
        Some(target) => Ok(Some(Some(target))),
    }
}

/// A relative path (bytes) under `root`.
pub(super) fn host_path(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_paths_under_the_prefix() {
        assert_eq!(relative_path(b"workspace", b"workspace", true), Ok(vec![]));
        assert_eq!(relative_path(b"workspace/", b"workspace", true), Ok(vec![]));
        assert_eq!(
            relative_path(b"workspace/a/b", b"workspace", false),
            Ok(b"a/b".to_vec())
        );
        assert_eq!(
            relative_path(b"workspace/a/", b"workspace", false),
            Err(Refusal::EmptyComponent)
        );
        assert_eq!(
            relative_path(b"workspacex/a", b"workspace", false),
            Err(Refusal::OutsidePrefix)
        );
        assert_eq!(
            relative_path(b"/workspace/a", b"workspace", false),
            Err(Refusal::Absolute)
        );
        assert_eq!(
            relative_path(b"workspace/../etc", b"workspace", false),
            Err(Refusal::ParentDir)
        );
        assert_eq!(
            relative_path(b"workspace/./a", b"workspace", false),
            Err(Refusal::CurDir)
        );
        assert_eq!(
            relative_path(b"workspace//a", b"workspace", false),
            Err(Refusal::EmptyComponent)
        );
    }

    #[test]
    fn markers_are_recognised_and_bad_ones_refused() {
        assert_eq!(marker(b"file"), Ok(None));
        assert_eq!(marker(b".wh..wh..opq"), Ok(Some(None)));
        assert_eq!(marker(b".wh.gone"), Ok(Some(Some(&b"gone"[..]))));
        assert_eq!(marker(b".wh."), Err(Refusal::WhiteoutTarget));
        assert_eq!(marker(b".wh..."), Err(Refusal::WhiteoutTarget));
        assert_eq!(marker(b".wh..wh.plnk"), Err(Refusal::ReservedName));
        assert_eq!(marker(b".wh..wh.x"), Err(Refusal::ReservedName));
    }

    #[test]
    fn prefixes_must_be_clean() {
        assert!(check_prefix(b"workspace").is_ok());
        assert!(check_prefix(b"a/b").is_ok());
        for bad in [&b""[..], b"/abs", b"a/../b", b"a//b", b".wh.x", b"a/"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tar_names_join_prefix_path_and_suffix() {
        assert_eq!(tar_name(b"ws", b"", None), b"ws");
        assert_eq!(tar_name(b"ws", b"a/b", None), b"ws/a/b");
        assert_eq!(
            tar_name(b"ws", b"", Some(OPAQUE_MARKER)),
            b"ws/.wh..wh..opq"
        );
        assert_eq!(split_last(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_last(b"c"), (&b""[..], &b"c"[..]));
    }
}
