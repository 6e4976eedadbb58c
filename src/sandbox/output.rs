//! Where an exec's output goes: a file or memory, with a size cap and a visible truncation mark.
//!
//! An agent can print without bound; the host keeps at most `cap` bytes per stream and says so at
//! the end of the kept output, so a reader never mistakes a cut log for a complete one.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use super::error::SandboxError;

/// Where one output stream goes.
#[derive(Debug, Clone)]
pub enum OutputSink {
    /// A host file (created or truncated), keeping at most `cap` bytes.
    File {
        /// The file.
        path: PathBuf,
        /// Bytes kept at most.
        cap: u64,
    },
    /// Memory, keeping at most `cap` bytes.
    Memory {
        /// Bytes kept at most.
        cap: u64,
    },
}

impl OutputSink {
    /// A file sink with the given cap.
    pub fn file(path: impl Into<PathBuf>, cap: u64) -> Self {
        OutputSink::File {
            path: path.into(),
            cap,
        }
    }

    /// A memory sink with the given cap.
    pub fn memory(cap: u64) -> Self {
        OutputSink::Memory { cap }
    }
}

/// What was captured from one stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// Bytes the command produced in all.
    pub total_bytes: u64,
    /// Whether some were dropped because of the cap.
    pub truncated: bool,
    /// The kept bytes, for a memory sink.
    pub bytes: Vec<u8>,
    /// The file, for a file sink.
    pub path: Option<PathBuf>,
}

impl Captured {
    /// The kept bytes as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

pub(crate) struct SinkWriter {
    file: Option<(File, PathBuf)>,
    cap: u64,
    command: String,
    captured: Captured,
}

impl SinkWriter {
    pub(crate) fn open(sink: &OutputSink, command: &str) -> Result<Self, SandboxError> {
        let (file, cap) = match sink {
            OutputSink::File { path, cap } => {
                let io = |source| SandboxError::ExecOutput {
                    command: command.to_string(),
                    path: path.clone(),
                    source,
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let file = File::create(path).map_err(io)?;
                (Some((file, path.clone())), *cap)
            }
            OutputSink::Memory { cap } => (None, *cap),
        };
        Ok(SinkWriter {
            captured: Captured {
                path: file.as_ref().map(|(_, p)| p.clone()),
                ..Captured::default()
            },
            file,
            cap,
            command: command.to_string(),
        })
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<(), SandboxError> {
        let kept = self.captured.total_bytes.min(self.cap);
        let room = usize::try_from(self.cap - kept).unwrap_or(usize::MAX);
        let take = &chunk[..chunk.len().min(room)];
        self.captured.total_bytes += chunk.len() as u64;
        if take.len() < chunk.len() {
            self.captured.truncated = true;
        }
        if take.is_empty() {
            return Ok(());
        }
        match &mut self.file {
            Some((file, path)) => file
                .write_all(take)
                .map_err(|source| SandboxError::ExecOutput {
                    command: self.command.clone(),
                    path: path.clone(),
                    source,
                }),
            None => {
                self.captured.bytes.extend_from_slice(take);
                Ok(())
            }
        }
    }

    pub(crate) fn finish(mut self) -> Result<Captured, SandboxError> {
        let mark = self.captured.truncated.then(|| {
            format!(
                "\n[harnessgym: output truncated: kept {} of {} bytes]\n",
                self.cap, self.captured.total_bytes
            )
        });
        match (&mut self.file, mark) {
            (Some((file, path)), mark) => {
                let result = match mark {
                    Some(mark) => file.write_all(mark.as_bytes()).and_then(|()| file.flush()),
                    None => file.flush(),
                };
                result.map_err(|source| SandboxError::ExecOutput {
                    command: self.command.clone(),
                    path: path.clone(),
                    source,
                })?;
            }
            (None, Some(mark)) => self.captured.bytes.extend_from_slice(mark.as_bytes()),
            (None, None) => {}
        }
        Ok(self.captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sink_keeps_the_cap_and_marks_the_cut() {
        let mut w = SinkWriter::open(&OutputSink::memory(4), "cmd").expect("memory sink opens");
        w.write(b"abc").expect("write");
        w.write(b"defgh").expect("write");
        let c = w.finish().expect("finish");
        assert_eq!(c.total_bytes, 8);
        assert!(c.truncated);
        assert!(
            c.text()
                .starts_with("abcd\n[harnessgym: output truncated: kept 4 of 8 bytes]")
        );
    }

    #[test]
    fn file_sink_writes_everything_under_the_cap_without_a_mark() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        let mut w =
            SinkWriter::open(&OutputSink::file(&path, 100), "cmd").expect("file sink opens");
        w.write(b"hello\n").expect("write");
        let c = w.finish().expect("finish");
        assert!(!c.truncated);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            "hello\n"
        );
    }

    #[test]
    fn file_sink_marks_truncation_in_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        let mut w = SinkWriter::open(&OutputSink::file(&path, 3), "cmd").expect("file sink opens");
        w.write(b"123456").expect("write");
        w.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(
            text,
            "123\n[harnessgym: output truncated: kept 3 of 6 bytes]\n"
        );
    }
}
