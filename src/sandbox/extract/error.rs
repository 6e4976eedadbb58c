//! Errors of [`super::extract_safe`] and [`super::remove_paths_safe`]: the host could not be
//! written, or the stream is broken. A refused entry is not an error (it is recorded in the
//! report); `Fault` carries either while one entry is applied.

use std::io;
use std::path::PathBuf;

use super::Refusal;

/// Why extraction or removal failed: a host I/O failure or a broken stream, never the content.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The destination directory could not be created.
    #[error("failed to create destination {}", path.display())]
    CreateDest {
        /// The destination.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The archive stream could not be read or holds a malformed header.
    #[error("failed to read the archive")]
    ReadArchive {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// [`super::ExtractOptions::prefix`] is absolute or has a `..` component.
    #[error("refused extraction prefix `{}`: {reason}", prefix.display())]
    InvalidPrefix {
        /// The prefix as given.
        prefix: PathBuf,
        /// Why (boxed to keep the error small).
        reason: Box<Refusal>,
    },
    /// An entry's header fields or data could not be read.
    #[error("failed to read archive entry `{entry}`")]
    ReadEntry {
        /// The entry name as in the archive.
        entry: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path could not be inspected (`lstat`).
    #[error("failed to inspect {}", path.display())]
    Inspect {
        /// The host path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A directory could not be created.
    #[error("failed to create directory {}", path.display())]
    CreateDir {
        /// The host path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file could not be written or renamed into place.
    #[error("failed to write file {}", path.display())]
    WriteFile {
        /// The host path of the target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A symlink could not be created or renamed into place.
    #[error("failed to create symlink {}", path.display())]
    CreateSymlink {
        /// The host path of the link.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path could not be removed.
    #[error("failed to remove {}", path.display())]
    Remove {
        /// The host path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Permissions or times could not be applied.
    #[error("failed to set permissions or times of {}", path.display())]
    SetMetadata {
        /// The host path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Why one entry or one removal was not applied: refused (recorded, the work goes on) or failed
/// (the whole extraction stops).
#[derive(Debug)]
pub(super) enum Fault {
    /// The content is refused.
    Refused(Refusal),
    /// The host or the stream failed.
    Failed(ExtractError),
}

impl From<ExtractError> for Fault {
    fn from(err: ExtractError) -> Self {
        Self::Failed(err)
    }
}

impl From<Refusal> for Fault {
    fn from(reason: Refusal) -> Self {
        Self::Refused(reason)
    }
}
