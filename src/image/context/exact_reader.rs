//! A reader that yields exactly the size a file had when it was listed, so a file that changes
//! while it is packed or hashed is reported as a read error instead of corrupting the output.

use std::io::{self, Read};

/// Reads exactly `len` bytes; remembers a read error or a short file so the caller can report it
/// as a read failure instead of a tar failure.
pub(super) struct ExactReader<R> {
    inner: R,
    remaining: u64,
    /// The read error or short read that ended the stream early, if any.
    pub(super) error: Option<io::Error>,
}

impl<R: Read> ExactReader<R> {
    /// Read exactly `len` bytes of `inner`.
    pub(super) fn new(inner: R, len: u64) -> Self {
        Self {
            inner,
            remaining: len,
            error: None,
        }
    }

    fn fail(&mut self, err: io::Error) -> io::Error {
        let copy = io::Error::new(err.kind(), err.to_string());
        self.error = Some(err);
        copy
    }
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        match self.inner.read(&mut buf[..want]) {
            Ok(0) => Err(self.fail(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while it was packed",
            ))),
            Ok(n) => {
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => Err(self.fail(err)),
        }
    }
}
