//! Single files in and out of a container: read one file into memory (bounded, and saying why
//! a path was not read), write one file (with its missing parent directories) owned by the
//! agent user.
//!
//! Both go through the archive endpoints, so they work on created and stopped containers too.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::container::Container;
use super::error::SandboxError;
use crate::hostfs::FileKind;

/// The usual limit for [`Container::read_file`]; result files and manifests are far smaller.
pub const READ_LIMIT: u64 = 16 << 20;
const AGENT_UID: u64 = 1000;

/// What [`Container::read_file`] found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    /// Nothing is at the path.
    Missing,
    /// A regular file within the limit: its contents.
    Data(Vec<u8>),
    /// Something is at the path, and it was not read.
    Refused(ReadRefusal),
}

impl FileRead {
    /// The contents, if a regular file was read.
    pub fn into_data(self) -> Option<Vec<u8>> {
        match self {
            Self::Data(bytes) => Some(bytes),
            Self::Missing | Self::Refused(_) => None,
        }
    }
}

/// Why [`Container::read_file`] did not read what is at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRefusal {
    /// A symlink, never followed (it may lead out of the workspace).
    Symlink {
        /// Its target (raw bytes).
        target: PathBuf,
    },
    /// A directory, FIFO, device or socket.
    NotRegular {
        /// What it is. The engine's archive leaves sockets out, so a path that exists but comes
        /// back as an empty archive is reported as [`FileKind::Socket`].
        kind: FileKind,
    },
    /// A regular file larger than the limit; none of its data was read.
    TooLarge {
        /// Its size.
        size: u64,
        /// The caller's limit.
        limit: u64,
    },
}

impl ReadRefusal {
    /// A short stable name for JSON reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Symlink { .. } => "symlink",
            Self::NotRegular { .. } => "not_regular",
            Self::TooLarge { .. } => "too_large",
        }
    }
}

impl fmt::Display for ReadRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symlink { target } => write!(f, "a symlink to `{}`", target.display()),
            Self::NotRegular { kind } => write!(f, "a {kind}, not a regular file"),
            Self::TooLarge { size, limit } => {
                write!(f, "{size} bytes, more than the {limit} allowed")
            }
        }
    }
}

impl Container {
    /// The regular file at absolute `path`, at most `limit` bytes ([`READ_LIMIT`] is the usual
    /// one), streamed from the engine.
    ///
    /// Anything else is refused with its reason, never followed or loaded: a symlink the agent
    /// put there, a directory, a FIFO, a device, a file over the limit (judged from the archive
    /// header, before any of its data is read).
    pub async fn read_file(&self, path: &str, limit: u64) -> Result<FileRead, SandboxError> {
        let result = self
            .download_with(path, move |reader| read_single(reader, limit))
            .await;
        match result {
            Ok(read) => read.map_err(|source| SandboxError::HostIo {
                action: "read",
                path: path.into(),
                source,
            }),
            Err(SandboxError::Download { source, .. }) if source.is_not_found() => {
                Ok(FileRead::Missing)
            }
            Err(err) => Err(err),
        }
    }

    /// Write `bytes` at `dir/rel` (`dir` absolute, e.g. the workspace; `rel` relative), creating
    /// missing directories of `rel` owned by the agent user, with file mode `mode`.
    pub async fn write_file(
        &self,
        dir: &str,
        rel: &str,
        bytes: Vec<u8>,
        mode: u32,
    ) -> Result<(), SandboxError> {
        let rel = rel.trim_start_matches('/').to_string();
        self.upload_tar(dir, move |writer| {
            let size = bytes.len() as u64;
            let file = FileEntry {
                rel: &rel,
                mode,
                uid: AGENT_UID,
                size,
            };
            file_archive(writer, &file, bytes.as_slice()).map_err(|source| SandboxError::HostIo {
                action: "pack",
                path: rel.clone().into(),
                source,
            })
        })
        .await
    }
}

/// One file to put in a container: where, with which mode, owned by which uid (gid alike).
struct FileEntry<'a> {
    rel: &'a str,
    mode: u32,
    uid: u64,
    size: u64,
}

/// A tar holding `file.rel`'s parent directories (so the engine does not create them with
/// another owner) and the file itself read from `contents`, all owned by `file.uid`.
fn file_archive(
    writer: &mut dyn std::io::Write,
    file: &FileEntry<'_>,
    contents: impl std::io::Read,
) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(writer);
    let parts: Vec<&str> = file.rel.split('/').filter(|p| !p.is_empty()).collect();
    for depth in 1..parts.len() {
        let mut header = header(tar::EntryType::Directory, 0o755, 0, file.uid);
        let name = format!("{}/", parts[..depth].join("/"));
        builder.append_data(&mut header, name, std::io::empty())?;
    }
    let mut header = header(tar::EntryType::Regular, file.mode, file.size, file.uid);
    builder.append_data(&mut header, parts.join("/"), contents)?;
    builder.finish()
}

fn header(kind: tar::EntryType, mode: u32, size: u64, uid: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(uid);
    header.set_gid(uid);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    header
}

impl Container {
    /// Stream the host file `source` into the container at `dir/rel` with `mode`, owned by root
    /// (with root-owned parent directories below `dir`), so that the workload cannot replace it.
    pub async fn install_file(
        &self,
        dir: &str,
        rel: &str,
        source: &std::path::Path,
        mode: u32,
    ) -> Result<(), SandboxError> {
        let rel = rel.trim_start_matches('/').to_string();
        let source = source.to_path_buf();
        self.upload_tar(dir, move |writer| {
            let io = |e| SandboxError::HostIo {
                action: "install",
                path: source.clone(),
                source: e,
            };
            let contents = std::fs::File::open(&source).map_err(io)?;
            let size = contents.metadata().map_err(io)?.len();
            let file = FileEntry {
                rel: &rel,
                mode,
                uid: 0,
                size,
            };
            file_archive(writer, &file, contents).map_err(io)
        })
        .await
    }
}

/// Reads the first entry of the archive of a single path: the file's data when it is a regular
/// file within `limit`, else why not. Stops at the header of anything else.
fn read_single(reader: &mut dyn Read, limit: u64) -> io::Result<FileRead> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries()?;
    let Some(entry) = entries.next() else {
        return Ok(FileRead::Refused(ReadRefusal::NotRegular {
            kind: FileKind::Socket,
        }));
    };
    let entry = entry?;
    let kind = match entry.header().entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous => None,
        tar::EntryType::Symlink => {
            let target = entry.link_name_bytes().unwrap_or_default();
            let target = PathBuf::from(std::ffi::OsStr::from_bytes(&target));
            return Ok(FileRead::Refused(ReadRefusal::Symlink { target }));
        }
        tar::EntryType::Directory => Some(FileKind::Directory),
        tar::EntryType::Fifo => Some(FileKind::Fifo),
        tar::EntryType::Char => Some(FileKind::CharDevice),
        tar::EntryType::Block => Some(FileKind::BlockDevice),
        _ => Some(FileKind::Other),
    };
    if let Some(kind) = kind {
        return Ok(FileRead::Refused(ReadRefusal::NotRegular { kind }));
    }
    let size = entry.size();
    if size > limit {
        return Ok(FileRead::Refused(ReadRefusal::TooLarge { size, limit }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.take(limit).read_to_end(&mut bytes)?;
    // A stream cut short ends the entry early without an error: never return half a file.
    if bytes.len() as u64 != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "archive ended inside the file",
        ));
    }
    Ok(FileRead::Data(bytes))
}
