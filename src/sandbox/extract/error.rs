//! Errors of [`super::extract_safe`] and [`super::remove_paths_safe`], and why an entry or a
//! removal is refused.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why an entry or a removal was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The path is absolute.
    Absolute,
    /// The path has a `..` component.
    ParentDir,
    /// The path has a NUL byte.
    NulByte,
    /// The path names the destination itself (and is not a directory entry).
    Destination,
    /// A directory above the path is a symlink (relative to the destination).
    ThroughSymlink {
        /// The symlink.
        link: PathBuf,
    },
    /// A path above the entry exists and is not a directory (relative to the destination).
    ParentNotDir {
        /// The non-directory.
        parent: PathBuf,
    },
    /// An existing directory is where a file or symlink must go.
    DirectoryInTheWay,
    /// A link entry has no target.
    MissingLinkTarget,
    /// A hardlink's target is not a regular file this archive wrote inside the destination.
    HardlinkTarget {
        /// The target as named in the archive.
        target: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute => f.write_str("absolute path"),
            Self::ParentDir => f.write_str("path has a `..` component"),
            Self::NulByte => f.write_str("path has a NUL byte"),
            Self::Destination => f.write_str("names the destination itself"),
            Self::ThroughSymlink { link } => write!(f, "`{}` is a symlink", link.display()),
            Self::ParentNotDir { parent } => write!(f, "`{}` is not a directory", parent.display()),
            Self::DirectoryInTheWay => f.write_str("an existing directory is in the way"),
            Self::MissingLinkTarget => f.write_str("link entry has no target"),
            Self::HardlinkTarget { target } => write!(
                f,
                "hardlink target `{target}` is not a file extracted earlier from this archive"
            ),
        }
    }
}

/// Why extraction or removal failed.
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
    /// An entry was refused; nothing was written for it.
    #[error("refused archive entry `{entry}`: {reason}")]
    Refused {
        /// The entry name as in the archive.
        entry: String,
        /// Why (boxed to keep the error small).
        reason: Box<Refusal>,
    },
    /// A removal was refused; nothing was removed at all.
    #[error("refused to remove `{}`: {reason}", path.display())]
    RefusedRemoval {
        /// The path as given.
        path: PathBuf,
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

impl ExtractError {
    /// [`ExtractError::Refused`] for the entry named `entry`.
    pub(super) fn refused(entry: &str, reason: Refusal) -> Self {
        Self::Refused {
            entry: entry.to_owned(),
            reason: Box::new(reason),
        }
    }

    /// [`ExtractError::RefusedRemoval`] for the path given as `path`.
    pub(super) fn refused_removal(path: &Path, reason: Refusal) -> Self {
        Self::RefusedRemoval {
            path: path.to_path_buf(),
            reason: Box::new(reason),
        }
    }
}
