//! Streams a [`Plan`] as a GNU tar: headers from the walk's metadata, file contents read through
//! one reused buffer, directories the agent locked opened up (and restored) for the reads.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use super::LayerStats;
use super::plan::{Op, Plan, What};
use crate::layer::manifest::{EntryMeta, Listing, Manifest};
use crate::layer::names::{self, OPAQUE_MARKER, WHITEOUT_PREFIX, host_path, tar_name};
use crate::layer::pack::Output;
use crate::layer::{LayerError, perm};

/// Size of the reused read buffer and of the output buffer: large writes keep syscalls few on
/// a `docker exec` attach stream.
const COPY_BUF: usize = 1 << 20;

/// Writes `plan` (made from `now`, the walk of `root`) to `out` and returns the final stats.
pub(super) fn emit<W: Write>(
    root: &Path,
    now: &Manifest,
    plan: Plan,
    prefix: &[u8],
    out: W,
) -> Result<LayerStats, LayerError> {
    let mut emitter = Emitter {
        root,
        now,
        prefix,
        builder: Builder::new(BufWriter::with_capacity(
            COPY_BUF,
            Output {
                inner: out,
                closed: false,
            },
        )),
        buf: vec![0; COPY_BUF],
        opened: Vec::new(),
        skipped: HashSet::new(),
        stats: plan.stats,
    };
    let written = plan.ops.iter().try_for_each(|op| emitter.op(op));
    let restored = emitter.close_all();
    if let Err(err) = written.and(restored) {
        // Dropping the builder would append a trailer and flush the buffer: a prefix of the
        // layer would look complete. Close the output first so nothing more reaches it.
        emitter.builder.get_mut().get_mut().closed = true;
        return Err(err);
    }
    let stats = emitter.stats;
    let mut writer = emitter
        .builder
        .into_inner()
        .map_err(|source| LayerError::Write { source })?;
    writer
        .flush()
        .map_err(|source| LayerError::Write { source })?;
    Ok(stats)
}

struct Emitter<'a, W: Write> {
    root: &'a Path,
    now: &'a Manifest,
    prefix: &'a [u8],
    builder: Builder<BufWriter<Output<W>>>,
    /// Reused for every file's contents.
    buf: Vec<u8>,
    /// Directories opened up for the current file, root first: (entry, path, original mode).
    opened: Vec<(usize, PathBuf, u32)>,
    /// Files left out as unreadable (relative): hardlinks to them are left out too.
    skipped: HashSet<Vec<u8>>,
    stats: LayerStats,
}

impl<W: Write> Emitter<'_, W> {
    fn op(&mut self, op: &Op) -> Result<(), LayerError> {
        let rel = op.rel.as_slice();
        match &op.what {
            What::Dir(i) => {
                let header = header(EntryType::Directory, self.meta(*i), 0);
                self.append(header, &tar_name(self.prefix, rel, None), io::empty())
            }
            What::Symlink(i) => {
                let meta = self.meta(*i);
                let mut header = header(EntryType::Symlink, meta, 0);
                let target = meta.target.clone().unwrap_or_default();
                self.set_link(&mut header, &target)?;
                self.append(header, &tar_name(self.prefix, rel, None), io::empty())
            }
            What::Hardlink(i, first) => {
                if self.skipped.contains(first) {
                    self.stats.hardlinks -= 1;
                    self.stats.unreadable += 1;
                    return Ok(());
                }
                let mut header = header(EntryType::Link, self.meta(*i), 0);
                self.set_link(&mut header, &tar_name(self.prefix, first, None))?;
                self.append(header, &tar_name(self.prefix, rel, None), io::empty())
            }
            What::Whiteout => {
                let (parent, name) = names::split_last(rel);
                let marker = [WHITEOUT_PREFIX, name].concat();
                let name = tar_name(self.prefix, parent, Some(&marker));
                self.append(marker_header(), &name, io::empty())
            }
            What::Opaque => {
                let name = tar_name(self.prefix, rel, Some(OPAQUE_MARKER));
                self.append(marker_header(), &name, io::empty())
            }
            What::File(i) => self.file(*i, rel),
        }
    }

    fn meta(&self, i: usize) -> &EntryMeta {
        &self.now.node(i).meta
    }

    fn append(
        &mut self,
        mut header: Header,
        name: &[u8],
        data: impl Read,
    ) -> Result<(), LayerError> {
        self.builder
            .append_data(&mut header, Path::new(OsStr::from_bytes(name)), data)
            .map_err(|source| LayerError::Write { source })
    }

    /// Puts a link target in the header byte for byte (the tar crate's own setter normalises
    /// `a//b`), with a GNU long-link entry first when it does not fit.
    fn set_link(&mut self, header: &mut Header, target: &[u8]) -> Result<(), LayerError> {
        let field = header.as_old().linkname.len();
        let write_err = |source| LayerError::Write { source };
        if target.len() > field {
            let mut ext = Header::new_gnu();
            if let Some(gnu) = ext.as_gnu_mut() {
                let name = b"././@LongLink";
                gnu.name[..name.len()].copy_from_slice(name);
            }
            ext.set_mode(0o644);
            ext.set_uid(0);
            ext.set_gid(0);
            ext.set_mtime(0);
            // GNU tar counts the terminating NUL.
            ext.set_size(target.len() as u64 + 1);
            ext.set_entry_type(EntryType::GNULongLink);
            ext.set_cksum();
            self.builder
                .append(&ext, target.chain(&[0u8][..]))
                .map_err(write_err)?;
        }
        header
            .set_link_name_literal(&target[..target.len().min(field)])
            .map_err(write_err)
    }

    fn file(&mut self, index: usize, rel: &[u8]) -> Result<(), LayerError> {
        let meta = self.now.node(index).meta.clone();
        let path = host_path(self.root, rel);
        self.open_parents(index)?;
        let Some(mut file) = open_file(&path, &meta)? else {
            self.stats.files -= 1;
            self.stats.content_bytes -= meta.size;
            self.stats.unreadable += 1;
            self.skipped.insert(rel.to_vec());
            return Ok(());
        };
        let inspect = |file: &File| {
            file.metadata().map_err(|source| LayerError::Inspect {
                path: path.clone(),
                source,
            })
        };
        let first = inspect(&file)?;
        if !first.is_file() || first.ino() != meta.ino || first.len() != meta.size {
            return Err(LayerError::Changed { path });
        }
        let mut header = header(EntryType::Regular, &meta, meta.size);
        let name = tar_name(self.prefix, rel, None);
        let mut reader = ExactReader {
            file: &mut file,
            buf: &mut self.buf,
            start: 0,
            end: 0,
            remaining: meta.size,
            fault: None,
        };
        let appended = self.builder.append_data(
            &mut header,
            Path::new(OsStr::from_bytes(&name)),
            &mut reader,
        );
        match (appended, reader.fault.take()) {
            (Ok(()), None) => {}
            (_, Some(Fault::Short)) => return Err(LayerError::Changed { path }),
            (_, Some(Fault::Read(source))) => return Err(LayerError::ReadFile { path, source }),
            (Err(source), None) => return Err(LayerError::Write { source }),
        }
        let last = inspect(&file)?;
        if last.len() != meta.size
            || (last.ctime(), last.ctime_nsec()) != (first.ctime(), first.ctime_nsec())
        {
            return Err(LayerError::Changed { path });
        }
        Ok(())
    }

    /// Opens up the directories above entry `index` that the walk had to open up, and restores
    /// those opened for an earlier file that are not above this one.
    fn open_parents(&mut self, index: usize) -> Result<(), LayerError> {
        let mut chain = Vec::new();
        let mut at = index;
        while at != 0 {
            at = self.now.node(at).parent;
            if self.now.node(at).meta.listing == Listing::ListedAfterChmod {
                chain.push(at);
            }
        }
        chain.reverse();
        let keep = self
            .opened
            .iter()
            .zip(&chain)
            .take_while(|(opened, wanted)| opened.0 == **wanted)
            .count();
        while self.opened.len() > keep {
            if let Some((_, path, mode)) = self.opened.pop() {
                perm::restore(&path, mode)?;
            }
        }
        for &dir in &chain[keep..] {
            let path = host_path(self.root, &self.now.path_of(dir));
            let mode = self.meta(dir).mode;
            if perm::open_up(&path, mode, perm::DIR_BITS)? {
                self.opened.push((dir, path, mode));
            }
        }
        Ok(())
    }

    /// Restores every directory still opened up; returns the first error.
    fn close_all(&mut self) -> Result<(), LayerError> {
        let mut first = Ok(());
        while let Some((_, path, mode)) = self.opened.pop() {
            if let Err(err) = perm::restore(&path, mode)
                && first.is_ok()
            {
                first = Err(err);
            }
        }
        first
    }
}

/// Opens a regular file for reading without following a symlink (one swapped in since the walk
/// fails) and without blocking (a FIFO swapped in must not hang). A file the agent locked is
/// opened up for the open only: reading needs no permission once it is open. `Ok(None)`: not
/// readable and not ours to open up.
fn open_file(path: &Path, meta: &EntryMeta) -> Result<Option<File>, LayerError> {
    let open = || {
        File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    };
    let open_err = |source| LayerError::OpenFile {
        path: path.to_path_buf(),
        source,
    };
    match open() {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            if !perm::open_up(path, meta.mode, perm::FILE_BITS)? {
                tracing::warn!(path = %path.display(), "file not readable and not ours; left out of the layer");
                return Ok(None);
            }
            let opened = open();
            perm::restore(path, meta.mode)?;
            opened.map(Some).map_err(open_err)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ELOOP) => {
            Err(LayerError::Changed {
                path: path.to_path_buf(),
            })
        }
        Err(source) => Err(open_err(source)),
    }
}

fn header(kind: EntryType, meta: &EntryMeta, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(meta.mode);
    header.set_uid(u64::from(meta.uid));
    header.set_gid(u64::from(meta.gid));
    header.set_mtime(u64::try_from(meta.mtime.sec).unwrap_or(0));
    header.set_size(size);
    header
}

/// Whiteouts and opaque markers: empty regular files, mode 0, owner 0, mtime 0.
fn marker_header() -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(0);
    header
}

/// Why a file's copy stopped.
enum Fault {
    /// The file ended before the size in its header: it shrank.
    Short,
    /// Reading failed.
    Read(io::Error),
}

/// Yields exactly `remaining` bytes of a file through a reused buffer. A file that ends early
/// fails the copy (never padded: the layer would hold contents that never existed); one that
/// grows is caught by the caller's `fstat` after the copy.
struct ExactReader<'a> {
    file: &'a mut File,
    buf: &'a mut [u8],
    start: usize,
    end: usize,
    remaining: u64,
    fault: Option<Fault>,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if self.remaining == 0 {
                return Ok(0);
            }
            let want =
                usize::try_from(self.remaining).map_or(self.buf.len(), |r| r.min(self.buf.len()));
            let got = match self.file.read(&mut self.buf[..want]) {
                Ok(0) => {
                    self.fault = Some(Fault::Short);
                    return Err(io::Error::other("file shrank while it was read"));
                }
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => {
                    self.fault = Some(Fault::Read(e));
                    return Err(io::Error::other("reading the file failed"));
                }
            };
            self.start = 0;
            self.end = got;
            self.remaining -= got as u64;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::plan::plan;
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;
    /// What `emit` returned, and the bytes that reached the output.
    type Emitted = (Result<LayerStats, LayerError>, Vec<u8>);

    /// Walks, lets `change` run between the walk and the copy, and returns the result and the
    /// bytes that reached the output.
    fn emit_after(
        change: impl FnOnce(&Path) -> io::Result<()>,
    ) -> Result<Emitted, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        fs::write(dir.path().join("f"), b"0123456789")?;
        fs::write(dir.path().join("g"), b"other")?;
        let now = Manifest::walk(dir.path())?;
        let planned = plan(None, &now);
        change(dir.path())?;
        let mut out = Vec::new();
        let result = emit(dir.path(), &now, planned, b"workspace", &mut out);
        Ok((result, out))
    }

    #[test]
    fn an_unchanged_tree_streams_whole() -> TestResult {
        let (result, out) = emit_after(|_| Ok(()))?;
        assert_eq!(result?.files, 2);
        assert!(out.ends_with(&[0u8; 1024]));
        Ok(())
    }

    #[test]
    fn a_file_changed_after_the_walk_fails_the_layer_and_nothing_is_written() -> TestResult {
        let changes: [fn(&Path) -> io::Result<()>; 4] = [
            |root| fs::write(root.join("f"), b"01234567890"),
            |root| fs::write(root.join("f"), b"012345678"),
            |root| fs::remove_file(root.join("f")),
            |root| {
                fs::remove_file(root.join("f"))?;
                std::os::unix::fs::symlink("g", root.join("f"))
            },
        ];
        for change in changes {
            let (result, out) = emit_after(change)?;
            assert!(
                matches!(result, Err(LayerError::Changed { .. })),
                "{result:?}"
            );
            // The output was closed before the buffer could flush: not even a prefix.
            assert!(out.is_empty());
        }
        Ok(())
    }
}
