//! The context tar: the deterministic archive of a context directory that is streamed to the
//! engine as the build context.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::error::ContextError;
use super::exact_reader::ExactReader;
use super::list::{EntryKind, list_context};

/// A file added to a context that does not live in the context directory (a downloaded wheel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    /// Its path in the context.
    pub name: String,
    /// Where its bytes come from.
    pub source: ExtraSource,
}

/// The bytes of an [`ExtraFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraSource {
    /// A host file, streamed.
    Path(std::path::PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

/// Write the context directory `dir` as a deterministic tar into `out` and return the writer.
///
/// Same content (paths, kinds, executable bits, bytes, link targets) → same bytes. A file that
/// changes size while it is packed is an error rather than a corrupt archive.
pub fn write_context_tar<W: Write>(dir: &Path, out: W) -> Result<W, ContextError> {
    write_context_tar_with(dir, &[], out)
}

/// [`write_context_tar`], then `extras` as regular files (mode `0644`), in the given order.
pub fn write_context_tar_with<W: Write>(
    dir: &Path,
    extras: &[ExtraFile],
    out: W,
) -> Result<W, ContextError> {
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
    for extra in extras {
        append_extra(&mut builder, extra)?;
    }
    builder.into_inner().map_err(write_err)
}

fn append_extra<W: Write>(
    builder: &mut tar::Builder<W>,
    extra: &ExtraFile,
) -> Result<(), ContextError> {
    let write_err = |source| ContextError::WriteTar { source };
    let mut header = tar::Header::new_gnu();
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    match &extra.source {
        ExtraSource::Bytes(bytes) => {
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, &extra.name, bytes.as_slice())
                .map_err(write_err)
        }
        ExtraSource::Path(path) => {
            let read_err = |source| ContextError::ReadFile {
                path: path.clone(),
                source,
            };
            let file = fs::File::open(path).map_err(read_err)?;
            let len = file.metadata().map_err(read_err)?.len();
            header.set_size(len);
            let mut reader = ExactReader::new(file, len);
            let result = builder.append_data(&mut header, &extra.name, &mut reader);
            if let Some(source) = reader.error.take() {
                return Err(read_err(source));
            }
            result.map_err(write_err)
        }
    }
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
    fn extras_follow_the_directory_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(&dir.path().join("Dockerfile"), "FROM x\n");
        let outside = tempfile::tempdir().expect("tempdir");
        let wheel = outside.path().join("w.whl");
        write(&wheel, "wheel bytes");
        let extras = [
            ExtraFile {
                name: "agent.whl".into(),
                source: ExtraSource::Path(wheel),
            },
            ExtraFile {
                name: "info.json".into(),
                source: ExtraSource::Bytes(b"{}".to_vec()),
            },
        ];
        let bytes = write_context_tar_with(dir.path(), &extras, Vec::new()).expect("tar");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mut text = String::new();
            io::Read::read_to_string(&mut entry, &mut text).expect("read");
            seen.push((path, text));
        }
        assert_eq!(
            seen,
            [
                ("Dockerfile".to_owned(), "FROM x\n".to_owned()),
                ("agent.whl".to_owned(), "wheel bytes".to_owned()),
                ("info.json".to_owned(), "{}".to_owned()),
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
