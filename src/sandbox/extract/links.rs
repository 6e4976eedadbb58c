//! Symlink and hardlink entries: a symlink lands only when it stays inside the destination, and
//! a hardlink becomes a copy of a file this archive wrote.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::Entry;

use super::error::Fault;
use super::files::temp_file;
use super::paths::{check_link_target, walk_parents};
use super::{ExtractError, Extractor, Refusal, TEMP_PREFIX};

impl Extractor<'_> {
    pub(super) fn symlink<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        rel: &Path,
    ) -> Result<(), Fault> {
        let target = match entry.link_name_bytes() {
            Some(bytes) if !bytes.is_empty() => PathBuf::from(OsStr::from_bytes(&bytes)),
            _ => return Err(Refusal::MissingLinkTarget.into()),
        };
        // Judged before anything on the host is touched: an outside link removes nothing.
        check_link_target(rel, &target)?;
        let parent = self.prepare_parents(rel)?;
        let path = self.dest.join(rel);
        self.clear_directory(&path)?;
        let link_err = |source| ExtractError::CreateSymlink {
            path: path.clone(),
            source,
        };
        // Create the link under a fresh name, then rename it over the path: an existing link
        // there is replaced atomically and nothing is ever written through it.
        let temp = loop {
            self.temp_counter += 1;
            let candidate = parent.join(format!(
                "{TEMP_PREFIX}{}-{}",
                std::process::id(),
                self.temp_counter
            ));
            match std::os::unix::fs::symlink(&target, &candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(link_err(source).into()),
            }
        };
        if let Err(source) = fs::rename(&temp, &path) {
            // Best effort: the rename error is the one worth reporting.
            let _ = fs::remove_file(&temp);
            return Err(link_err(source).into());
        }
        self.files.remove(rel);
        self.report.symlinks += 1;
        self.report.written.push(rel.to_path_buf());
        Ok(())
    }

    pub(super) fn hardlink<R: Read>(
        &mut self,
        entry: &Entry<'_, R>,
        rel: &Path,
    ) -> Result<(), Fault> {
        let raw_target = entry
            .link_name_bytes()
            .ok_or(Refusal::MissingLinkTarget)?
            .into_owned();
        let source_rel = self.dest_rel(&raw_target)?.unwrap_or_default();
        let bad_target = || Refusal::HardlinkTarget {
            target: PathBuf::from(OsStr::from_bytes(&raw_target)),
        };
        // Only a file this archive wrote, and only if it is still a regular file reached through
        // real directories (a later entry may have replaced it or a directory above it).
        if !self.files.contains(&source_rel) || !walk_parents(self.dest, &source_rel, false)? {
            return Err(bad_target().into());
        }
        let source_path = self.dest.join(&source_rel);
        let mut source = File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&source_path)
            .map_err(|_| bad_target())?;
        let source_meta = source.metadata().map_err(|source| ExtractError::Inspect {
            path: source_path.clone(),
            source,
        })?;
        if !source_meta.is_file() {
            return Err(bad_target().into());
        }
        let mut meta = self.entry_meta(entry)?;
        meta.mode = source_meta.permissions().mode() & 0o777;
        meta.stripped = false;
        let parent = self.prepare_parents(rel)?;
        let target = self.dest.join(rel);
        self.clear_directory(&target)?;
        let mut temp = temp_file(&parent, &target)?;
        io::copy(&mut source, temp.as_file_mut()).map_err(|source| ExtractError::WriteFile {
            path: target.clone(),
            source,
        })?;
        self.commit(temp, &target, &meta)?;
        self.files.insert(rel.to_path_buf());
        self.report.written.push(rel.to_path_buf());
        Ok(())
    }
}
