//! The context tar: the deterministic archive of a context directory that is streamed to the
//! engine as the build context.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::error::ContextError;
use super::exact_reader::ExactReader;
use super::list::{EntryKind, list_context};

/// Write the context directory `dir` as a deterministic tar into `out` and return the writer.
///
/// Same content (paths, kinds, executable bits, bytes, link targets) → same bytes. A file that
/// changes size while it is packed is an error rather than a corrupt archive.
pub fn write_context_tar<W: Write>(dir: &Path, out: W) -> Result<W, ContextError> {
    let entries = list_context(dir)?;
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let write_err = |source| ContextError::WriteTar { source };
    for entry in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(entry.mode);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{}/", entry.path), io::empty())
                    .map_err(write_err)?;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, &entry.path, target)
                    .map_err(write_err)?;
            }
            EntryKind::File { len } => {
                let path = dir.join(&entry.path);
                let read_err = |source| ContextError::ReadFile {
                    path: path.clone(),
                    source,
                };
                let file = fs::File::open(&path).map_err(read_err)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(*len);
                let mut reader = ExactReader::new(file, *len);
                let result = builder.append_data(&mut header, &entry.path, &mut reader);
                if let Some(source) = reader.error.take() {
                    return Err(read_err(source));
                }
                result.map_err(write_err)?;
            }
        }
    }
    builder.into_inner().map_err(write_err)
}

/// Pack the context directory `dir` into memory (contexts are small: Dockerfiles and scripts).
pub fn context_tar_bytes(dir: &Path) -> Result<Vec<u8>, ContextError> {
    write_context_tar(dir, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::context::test_support::{sample_context, set_mode, write};

    #[test]
    fn tar_is_deterministic_sorted_and_normalised() {
        let one = tempfile::tempdir().expect("tempdir");
        let two = tempfile::tempdir().expect("tempdir");
        sample_context(one.path());
        sample_context(two.path());
        // Different mtimes and a different non-exec mode on the second copy.
        set_mode(&two.path().join("a.txt"), 0o600);
        let later = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(two.path().join("a.txt"))
            .expect("open")
            .set_modified(later)
            .expect("mtime");
        let a = context_tar_bytes(one.path()).expect("tar");
        let b = context_tar_bytes(two.path()).expect("tar");
        assert_eq!(a, b);

        let mut archive = tar::Archive::new(a.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            let header = entry.header();
            assert_eq!(header.mtime().expect("mtime"), 0);
            assert_eq!(header.uid().expect("uid"), 0);
            assert_eq!(header.gid().expect("gid"), 0);
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mode = header.mode().expect("mode");
            let link = entry
                .link_name()
                .expect("link")
                .map(|l| l.to_string_lossy().into_owned());
            seen.push((path, mode, link));
        }
        assert_eq!(
            seen,
            [
                ("Dockerfile".to_owned(), 0o644, None),
                ("a.txt".to_owned(), 0o644, None),
                (
                    "link".to_owned(),
                    0o777,
                    Some("scripts/setup.sh".to_owned())
                ),
                ("scripts/".to_owned(), 0o755, None),
                ("scripts/setup.sh".to_owned(), 0o755, None),
            ]
        );
    }

    #[test]
    fn tar_handles_long_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(120));
        write(&dir.path().join(&long), "x");
        let bytes = context_tar_bytes(dir.path()).expect("tar");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let paths: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert!(paths.contains(&long), "{paths:?}");
    }
}
