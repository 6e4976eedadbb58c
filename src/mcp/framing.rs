//! The two ways JSON-RPC messages travel over MCP stdio, read tolerantly and written strictly.
//!
//! - **Content-Length** (generated servers, Codex): `Content-Length: N` header lines, a blank line,
//!   then exactly `N` bytes of JSON. The reader accepts `\r\n` or bare `\n` line ends (so both
//!   `\r\n\r\n` and `\n\n` end the header), a header name in any case, other headers (ignored),
//!   stray blank lines between messages, and any split of the bytes across reads. The writer
//!   always emits `Content-Length: N\r\n\r\n<compact json>`.
//! - **Newline-delimited** (Claude Code): one JSON document per line. Blank lines are skipped; a
//!   line that is not JSON is an error the caller can log and skip
//!   ([`FramingError::is_skippable`]).
//!
//! Both readers bound what they buffer ([`MAX_MESSAGE_BYTES`]) and return `Ok(None)` at a clean
//! end of stream, between messages.

use std::io;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The largest message body (or line) either reader accepts: 64 MiB.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// The longest header line the Content-Length reader accepts.
const MAX_HEADER_LINE: usize = 8 << 10;

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// The underlying stream failed while reading.
    #[error("failed to read from the stream")]
    Read(#[source] io::Error),
    /// The underlying stream failed while writing.
    #[error("failed to write to the stream")]
    Write(#[source] io::Error),
    /// The stream ended inside a header or a body.
    #[error("stream ended in the middle of a message")]
    Truncated,
    /// A header line did not end within the limit.
    #[error("header line longer than {limit} bytes")]
    HeaderTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The `Content-Length` value is not a non-negative integer.
    #[error("invalid content length `{value}`")]
    BadLength {
        /// The header value as received.
        value: String,
    },
    /// The headers ended without a `Content-Length`.
    #[error("message headers carry no content length")]
    MissingLength,
    /// The announced or actual size exceeds the limit.
    #[error("message of {length} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The size of the message (for a line: at least this).
        length: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A complete message (body or line) is not JSON.
    #[error("message is not valid json")]
    InvalidJson(#[source] serde_json::Error),
}

impl FramingError {
    /// Whether the reader is still at a message boundary, so the caller can log this error and
    /// read the next message. Everything else means the stream is unusable.
    pub fn is_skippable(&self) -> bool {
        matches!(
            self,
            FramingError::InvalidJson(_)
                | FramingError::MissingLength
                | FramingError::TooLarge { .. }
        )
    }
}

/// Reads Content-Length framed messages.
#[derive(Debug)]
pub struct ContentLengthReader<R> {
    inner: BufReader<R>,
    limit: usize,
}

impl<R: AsyncRead + Unpin> ContentLengthReader<R> {
    /// A reader with the default size limit.
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, MAX_MESSAGE_BYTES)
    }

    /// A reader accepting bodies of at most `limit` bytes.
    pub fn with_limit(reader: R, limit: usize) -> Self {
        ContentLengthReader {
            inner: BufReader::new(reader),
            limit,
        }
    }

    /// The next message body, or `None` at the end of the stream between messages.
    ///
    /// A body larger than the limit is read and discarded, then reported as
    /// [`FramingError::TooLarge`] (skippable).
    pub async fn read_body(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(length) = self.read_headers().await? else {
            return Ok(None);
        };
        if length > self.limit {
            self.discard(length).await?;
            return Err(FramingError::TooLarge {
                length,
                limit: self.limit,
            });
        }
        let mut body = vec![0; length];
        self.inner
            .read_exact(&mut body)
            .await
            .map_err(eof_is_truncation)?;
        Ok(Some(body))
    }

    /// The next message parsed as JSON, or `None` at the end of the stream between messages.
    pub async fn read_message(&mut self) -> Result<Option<Value>, FramingError> {
        match self.read_body().await? {
            Some(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(FramingError::InvalidJson),
            None => Ok(None),
        }
    }

    /// Reads header lines up to the blank line; returns the content length.
    async fn read_headers(&mut self) -> Result<Option<usize>, FramingError> {
        let mut length = None;
        let mut in_headers = false;
        loop {
            let Some(line) = self.read_header_line().await? else {
                return if in_headers {
                    Err(FramingError::Truncated)
                } else {
                    Ok(None)
                };
            };
            let text = String::from_utf8_lossy(&line);
            let text = text.trim();
            if text.is_empty() {
                if in_headers {
                    return length.map(Some).ok_or(FramingError::MissingLength);
                }
                continue;
            }
            in_headers = true;
            if let Some(value) = content_length_value(text) {
                length = Some(parse_length(value)?);
            }
        }
    }

    /// One line including its `\n`; a final line without `\n` is returned as is and the next
    /// call reports the end.
    async fn read_header_line(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let mut line = Vec::new();
        let limit = (MAX_HEADER_LINE + 1) as u64;
        let read = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut line)
            .await
            .map_err(FramingError::Read)?;
        if read == 0 {
            return Ok(None);
        }
        if line.len() > MAX_HEADER_LINE && line.last() != Some(&b'\n') {
            return Err(FramingError::HeaderTooLong {
                limit: MAX_HEADER_LINE,
            });
        }
        if line.last() != Some(&b'\n') {
            // End of stream inside a header line.
            return Err(FramingError::Truncated);
        }
        Ok(Some(line))
    }

    async fn discard(&mut self, length: usize) -> Result<(), FramingError> {
        let copied = tokio::io::copy(
            &mut (&mut self.inner).take(length as u64),
            &mut tokio::io::sink(),
        )
        .await
        .map_err(FramingError::Read)?;
        if copied < length as u64 {
            return Err(FramingError::Truncated);
        }
        Ok(())
    }
}

/// The value of a `Content-Length` header line (name in any case), if this is one.
fn content_length_value(line: &str) -> Option<&str> {
    let (name, value) = line.split_once(':')?;
    name.trim()
        .eq_ignore_ascii_case("content-length")
        .then(|| value.trim())
}

fn parse_length(value: &str) -> Result<usize, FramingError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FramingError::BadLength {
            value: value.to_string(),
        });
    }
    value.parse().map_err(|_| FramingError::BadLength {
        value: value.to_string(),
    })
}

fn eof_is_truncation(err: io::Error) -> FramingError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        FramingError::Truncated
    } else {
        FramingError::Read(err)
    }
}

/// Reads newline-delimited JSON messages.
#[derive(Debug)]
pub struct NewlineReader<R> {
    inner: BufReader<R>,
    limit: usize,
}

impl<R: AsyncRead + Unpin> NewlineReader<R> {
    /// A reader with the default line limit.
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, MAX_MESSAGE_BYTES)
    }

    /// A reader accepting lines of at most `limit` bytes.
    pub fn with_limit(reader: R, limit: usize) -> Self {
        NewlineReader {
            inner: BufReader::new(reader),
            limit,
        }
    }

    /// The next message, or `None` at the end of the stream. Blank lines are skipped; a line that
    /// is not JSON or is too long is a skippable error.
    pub async fn read_message(&mut self) -> Result<Option<Value>, FramingError> {
        loop {
            let mut line = Vec::new();
            let read = (&mut self.inner)
                .take(self.limit as u64 + 1)
                .read_until(b'\n', &mut line)
                .await
                .map_err(FramingError::Read)?;
            if read == 0 {
                return Ok(None);
            }
            if line.len() > self.limit && line.last() != Some(&b'\n') {
                let rest = self.discard_line().await?;
                return Err(FramingError::TooLarge {
                    length: line.len() + rest,
                    limit: self.limit,
                });
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(&line)
                .map(Some)
                .map_err(FramingError::InvalidJson);
        }
    }

    /// Skips to just after the next `\n` (or the end); returns how many bytes were skipped.
    async fn discard_line(&mut self) -> Result<usize, FramingError> {
        let mut skipped = 0;
        loop {
            let buffer = self.inner.fill_buf().await.map_err(FramingError::Read)?;
            if buffer.is_empty() {
                return Ok(skipped);
            }
            match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    self.inner.consume(at + 1);
                    return Ok(skipped + at + 1);
                }
                None => {
                    let length = buffer.len();
                    self.inner.consume(length);
                    skipped += length;
                }
            }
        }
    }
}

/// Compact JSON text of a message (keys in the map's order, sorted in this crate's build).
pub fn encode(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// Writes one Content-Length framed message with `body` (already JSON) and flushes.
pub async fn write_content_length<W: AsyncWrite + Unpin>(
    writer: &mut W,
    body: &[u8],
) -> Result<(), FramingError> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    writer
        .write_all(&frame)
        .await
        .map_err(FramingError::Write)?;
    writer.flush().await.map_err(FramingError::Write)
}

/// Writes `value` as one compact JSON line and flushes.
pub async fn write_line<W: AsyncWrite + Unpin>(
    writer: &mut W,
    value: &Value,
) -> Result<(), FramingError> {
    let mut line = encode(value);
    line.push(b'\n');
    writer.write_all(&line).await.map_err(FramingError::Write)?;
    writer.flush().await.map_err(FramingError::Write)
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
