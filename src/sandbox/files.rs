//! Single files in and out of a container: read one file into memory (bounded), write one file
//! (with its missing parent directories) owned by the agent user.
//!
//! Both go through the archive endpoints, so they work on created and stopped containers too.

use std::io::Read;

use super::container::Container;
use super::error::SandboxError;

/// Largest file [`Container::read_file`] returns; result files and manifests are far smaller.
pub const READ_LIMIT: u64 = 16 << 20;
const AGENT_UID: u64 = 1000;

impl Container {
    /// The contents of the file at absolute `path`, or `None` when there is no such file.
    ///
    /// Files larger than [`READ_LIMIT`] and non-regular files (a directory, a symlink the agent
    /// put there) read as `None`: a caller reading `result.json` must not follow a link out of
    /// the workspace or load an unbounded blob.
    pub async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, SandboxError> {
        let result = self
            .download_with(path, |reader| {
                let mut archive = tar::Archive::new(reader);
                let mut entries = archive.entries()?;
                let Some(entry) = entries.next() else {
                    return Ok(None);
                };
                let entry = entry?;
                let header = entry.header();
                if !header.entry_type().is_file() || header.size()? > READ_LIMIT {
                    return Ok(None);
                }
                let mut bytes = Vec::new();
                entry.take(READ_LIMIT).read_to_end(&mut bytes)?;
                Ok::<_, std::io::Error>(Some(bytes))
            })
            .await;
        match result {
            Ok(read) => read.map_err(|source| SandboxError::HostIo {
                action: "read",
                path: path.into(),
                source,
            }),
            Err(SandboxError::Download { source, .. }) if source.is_not_found() => Ok(None),
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
