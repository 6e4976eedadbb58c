//! Streaming tar transfers between the host and a container, in bounded memory.
//!
//! Uploads: a blocking task writes the tar (e.g. a packed workspace) into a [`ChannelWriter`],
//! whose chunks feed the HTTP body as they are produced — memory is bounded by
//! [`CHUNK`] × [`CHANNEL_DEPTH`], never by the archive. Downloads: the engine's byte stream is
//! bridged to a blocking `Read` consumed by a tar reader (safe extraction, gzip export) as it
//! arrives. Works on created-but-not-started containers too, so a workspace can be in place
//! before the first process runs.

use std::io::{self, Read, Write};
use std::path::Path;

use bollard::body_try_stream;
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures::Stream;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::container::Container;
use super::deadline::{self, within};
use super::error::{CallError, SandboxError};
use super::extract::{ExtractOptions, ExtractReport, extract_safe};
use crate::layer::pack::{PackFilter, PackStats, pack_workspace};

/// Bytes per body chunk.
pub const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the tar writer and the HTTP body.
pub const CHANNEL_DEPTH: usize = 4;

/// A `Write` whose bytes become a stream of chunks on a bounded channel.
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<io::Result<Bytes>>) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload was abandoned"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let take = data.len().min(room);
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A request body (for [`body_try_stream`]) fed by `produce` on a blocking thread through a bounded channel, and the
/// handle that yields `produce`'s result.
///
/// When `produce` fails the body ends with an error, so the engine never applies a silently
/// truncated archive.
pub(crate) fn channel_body<T, E, F>(
    produce: F,
) -> (
    impl Stream<Item = io::Result<Bytes>> + Send + 'static,
    JoinHandle<Result<T, E>>,
)
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&mut ChannelWriter) -> Result<T, E> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_DEPTH);
    let producer = tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter::new(tx);
        let result = produce(&mut writer);
        let flushed = match &result {
            Ok(_) => writer.flush(),
            Err(_) => Err(io::Error::other("the archive could not be produced")),
        };
        if let Err(abort) = flushed {
            let _ = writer.tx.blocking_send(Err(abort));
        }
        result
    });
    let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (body, producer)
}

/// The result of a producer task; a panic in it is reported as an I/O failure of `what`.
pub(crate) async fn join_producer<T>(
    producer: JoinHandle<Result<T, SandboxError>>,
    what: &'static str,
) -> Result<T, SandboxError> {
    producer.await.map_err(|join| SandboxError::HostIo {
        action: what,
        path: "archive".into(),
        source: io::Error::other(join.to_string()),
    })?
}

impl Container {
    /// Upload a tar archive produced by `produce` and extract it into `dest` in the container.
    ///
    /// `produce` runs on a blocking thread. If it fails, the body is aborted (so the engine never
    /// applies a truncated archive) and its error is returned.
    pub async fn upload_tar<T, F>(&self, dest: &str, produce: F) -> Result<T, SandboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut ChannelWriter) -> Result<T, SandboxError> + Send + 'static,
    {
        let (body, producer) = channel_body(produce);
        let options = UploadToContainerOptionsBuilder::new().path(dest).build();
        let uploaded = within(
            deadline::TRANSFER,
            self.engine().docker.upload_to_container(
                self.id(),
                Some(options),
                body_try_stream(body),
            ),
        )
        .await;
        // The producer's error explains an aborted upload better than the engine's.
        let value = join_producer(producer, "pack").await?;
        uploaded.map_err(|source| SandboxError::Upload {
            id: self.short(),
            path: dest.to_string(),
            source,
        })?;
        Ok(value)
    }

    /// Pack the host directory `root` (see [`pack_workspace`]) and upload it into `dest`.
    pub async fn upload_dir(
        &self,
        root: &Path,
        filter: PackFilter,
        dest: &str,
    ) -> Result<PackStats, SandboxError> {
        let root = root.to_path_buf();
        self.upload_tar(dest, move |writer| {
            pack_workspace(&root, &filter, writer).map_err(|source| SandboxError::Pack {
                path: root.clone(),
                source,
            })
        })
        .await
    }

    /// Stream the archive of `src` (a path in the container) into `consume`, which runs on a
    /// blocking thread and reads it as it arrives.
    pub async fn download_with<T, F>(&self, src: &str, consume: F) -> Result<T, SandboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Read) -> T + Send + 'static,
    {
        let options = DownloadFromContainerOptionsBuilder::new().path(src).build();
        let mut stream = Box::pin(
            self.engine()
                .docker
                .download_from_container(self.id(), Some(options)),
        );
        // Wait for the first chunk here, so that a missing path is reported as the engine's
        // error rather than as a confusing short archive.
        let first = within(deadline::QUICK, stream.try_next())
            .await
            .map_err(|source| SandboxError::Download {
                id: self.short(),
                path: src.to_string(),
                source,
            })?;
        let head = futures::stream::iter(first.map(Ok::<Bytes, io::Error>));
        let stream = stream.map_err(io::Error::other);
        let reader = StreamReader::new(head.chain(stream));
        let bridge = SyncIoBridge::new(reader);
        let task = tokio::task::spawn_blocking(move || {
            let mut bridge = bridge;
            consume(&mut bridge)
        });
        tokio::time::timeout(deadline::TRANSFER, task)
            .await
            .map_err(|_| SandboxError::Download {
                id: self.short(),
                path: src.to_string(),
                source: CallError::Deadline(deadline::TRANSFER),
            })?
            .map_err(|join| SandboxError::HostIo {
                action: "extract",
                path: src.into(),
                source: io::Error::other(join.to_string()),
            })
    }

    /// Download `src` and extract it safely under `dest` on the host.
    ///
    /// The engine prefixes entries with the basename of `src` (`/workspace` → `workspace/…`);
    /// pass `strip_components: 1` in `options` to drop it.
    pub async fn download_to(
        &self,
        src: &str,
        dest: &Path,
        options: ExtractOptions,
    ) -> Result<ExtractReport, SandboxError> {
        let target = dest.to_path_buf();
        let result = self
            .download_with(src, move |reader| extract_safe(reader, &target, &options))
            .await?;
        result.map_err(|source| SandboxError::Extract {
            id: self.short(),
            path: src.to_string(),
            dest: dest.to_path_buf(),
            source,
        })
    }
}
