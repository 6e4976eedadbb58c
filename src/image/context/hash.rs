//! The content hash of a context: SHA-256 over exactly what the tar carries plus the build args
//! and the base image ID, so the image tag changes whenever the build input does.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::ContextError;
use super::exact_reader::ExactReader;
use super::list::{EntryKind, list_context};

/// Number of hex digits of the content hash used in tags.
pub const SHORT_HASH_LEN: usize = 12;

/// Version tag mixed into the hash; bump it when the hashed encoding changes.
const HASH_DOMAIN: &[u8] = b"harnessgym-context-v1";

/// A SHA-256 content hash of a build context, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextHash(pub(super) String);

impl ContextHash {
    /// The full 64-digit hex digest.
    pub fn full(&self) -> &str {
        &self.0
    }

    /// The first [`SHORT_HASH_LEN`] digits, used as the image tag.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_HASH_LEN]
    }
}

impl std::fmt::Display for ContextHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hash a build context: every entry's path, kind, normalised mode and content (or link
/// target), then the build args (sorted by key), then the base image ID if given.
///
/// Pass `base_image_id` (the local ID of the resolved `FROM` image) whenever the base is local,
/// e.g. `harnessgym/base:latest` for the agent images, so a rebuilt parent changes the child's tag.
pub fn context_hash(
    dir: &Path,
    build_args: &BTreeMap<String, String>,
    base_image_id: Option<&str>,
) -> Result<ContextHash, ContextError> {
    let entries = list_context(dir)?;
    let mut hasher = Sha256::new();
    field(&mut hasher, HASH_DOMAIN);
    for entry in &entries {
        match &entry.kind {
            EntryKind::Dir => field(&mut hasher, b"D"),
            EntryKind::File { .. } => field(&mut hasher, b"F"),
            EntryKind::Symlink { .. } => field(&mut hasher, b"L"),
        }
        field(&mut hasher, entry.path.as_bytes());
        field(&mut hasher, format!("{:o}", entry.mode).as_bytes());
        match &entry.kind {
            EntryKind::Dir => {}
            EntryKind::Symlink { target } => field(&mut hasher, target.as_bytes()),
            EntryKind::File { len } => {
                let path = dir.join(&entry.path);
                let read_err = |source| ContextError::ReadFile {
                    path: path.clone(),
                    source,
                };
                let file = fs::File::open(&path).map_err(read_err)?;
                hasher.update(len.to_le_bytes());
                let mut reader = ExactReader::new(file, *len);
                let copied = io::copy(&mut reader, &mut HashWriter(&mut hasher));
                if let Some(source) = reader.error.take() {
                    return Err(read_err(source));
                }
                copied.map_err(read_err)?;
            }
        }
    }
    field(&mut hasher, b"ARGS");
    hasher.update((build_args.len() as u64).to_le_bytes());
    for (key, value) in build_args {
        field(&mut hasher, key.as_bytes());
        field(&mut hasher, value.as_bytes());
    }
    match base_image_id {
        Some(id) => {
            field(&mut hasher, b"BASE");
            field(&mut hasher, id.as_bytes());
        }
        None => field(&mut hasher, b"NOBASE"),
    }
    Ok(ContextHash(hex(&hasher.finalize())))
}

/// Length-prefixed field, so no two different inputs encode to the same byte string.
fn field(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::context::test_support::{args, sample_context, set_mode, write};

    #[test]
    fn hash_depends_on_content_mode_path_args_and_base() {
        let dir = tempfile::tempdir().expect("tempdir");
        sample_context(dir.path());
        let none = BTreeMap::new();
        let h = |d: &Path, a: &BTreeMap<String, String>, base: Option<&str>| {
            context_hash(d, a, base).expect("hash")
        };
        let base = h(dir.path(), &none, None);
        assert_eq!(base.full().len(), 64);
        assert_eq!(base.short().len(), SHORT_HASH_LEN);
        assert!(base.full().starts_with(base.short()));
        assert_eq!(base, h(dir.path(), &none, None), "stable");

        let with_arg = h(dir.path(), &args(&[("BASE_IMAGE", "x")]), None);
        assert_ne!(base, with_arg);
        assert_ne!(with_arg, h(dir.path(), &args(&[("BASE_IMAGE", "y")]), None));
        assert_ne!(base, h(dir.path(), &none, Some("sha256:abc")));

        set_mode(&dir.path().join("a.txt"), 0o755);
        let exec = h(dir.path(), &none, None);
        assert_ne!(base, exec, "executable bit is hashed");
        set_mode(&dir.path().join("a.txt"), 0o600);
        assert_eq!(base, h(dir.path(), &none, None), "only the exec bit counts");

        write(&dir.path().join("a.txt"), "b");
        let content = h(dir.path(), &none, None);
        assert_ne!(base, content);
        write(&dir.path().join("a.txt"), "a");

        fs::rename(dir.path().join("a.txt"), dir.path().join("b.txt")).expect("rename");
        assert_ne!(base, h(dir.path(), &none, None), "path is hashed");
    }

    #[test]
    fn field_encoding_is_unambiguous() {
        // "ab" + "c" must not hash like "a" + "bc".
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join("Dockerfile"), "FROM x\n");
        let one = context_hash(dir.path(), &args(&[("ab", "c")]), None).expect("hash");
        let two = context_hash(dir.path(), &args(&[("a", "bc")]), None).expect("hash");
        assert_ne!(one, two);
    }
}
