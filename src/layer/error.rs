//! The one error of the layer code ([`LayerError`]) and why a layer entry is refused
//! ([`Refusal`]).
//!
//! Every variant names the operation that failed and the path it failed on; the cause travels in
//! `source()` and is never repeated in the message.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::diagnostics::Diagnose;
use crate::exit;

/// Why a layer entry (or the layer stream around it) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name is absolute.
    Absolute,
    /// The name has a `..` component.
    ParentDir,
    /// The name has a `.` component.
    CurDir,
    /// The name has an empty component (`a//b`, a trailing `/` on a non-directory).
    EmptyComponent,
    /// The name has a NUL byte.
    NulByte,
    /// The name does not lie under the layer's prefix.
    OutsidePrefix,
    /// The prefix directory itself is not a directory entry.
    PrefixNotDir,
    /// The first entry of a non-empty layer is not the prefix directory.
    PrefixFirst,
    /// The entry's parent is not a directory entry earlier in the layer.
    MissingParent,
    /// The path appears twice (as entries, whiteouts or opaque markers).
    Duplicate,
    /// A whiteout names nothing, `.`, `..`, or another whiteout.
    WhiteoutTarget,
    /// A whiteout or opaque marker is not an empty regular file.
    WhiteoutNotEmptyFile,
    /// A name starting with `.wh..wh.` other than the opaque marker.
    ReservedName,
    /// A link entry has no target.
    MissingLinkTarget,
    /// A hardlink's target is not a regular file earlier in the layer.
    HardlinkTarget,
    /// Directories, symlinks and hardlinks carry no data.
    DataOnNonFile,
    /// An entry type layers do not use (devices, FIFOs, sparse files, global headers, ...).
    UnsupportedType(u8),
    /// A PAX key this reader does not accept (it would change how the entry is read).
    UnsupportedPax(String),
    /// A long-name, long-link or PAX header larger than any real name.
    ExtensionTooLarge,
    /// Two extension headers of one kind, or one not followed by an entry.
    DanglingExtension,
    /// A directory on the way is a symlink on disk.
    ThroughSymlink,
    /// A path on the way exists on disk and is not a directory.
    ParentNotDir,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute => f.write_str("absolute path"),
            Self::ParentDir => f.write_str("path has a `..` component"),
            Self::CurDir => f.write_str("path has a `.` component"),
            Self::EmptyComponent => f.write_str("path has an empty component"),
            Self::NulByte => f.write_str("path has a NUL byte"),
            Self::OutsidePrefix => f.write_str("path is outside the layer's prefix"),
            Self::PrefixNotDir => f.write_str("the prefix itself must be a directory entry"),
            Self::PrefixFirst => f.write_str("the first entry must be the prefix directory"),
            Self::MissingParent => f.write_str("parent is not a directory earlier in the layer"),
            Self::Duplicate => f.write_str("path appears twice in the layer"),
            Self::WhiteoutTarget => f.write_str("whiteout names no valid entry"),
            Self::WhiteoutNotEmptyFile => f.write_str("whiteout is not an empty regular file"),
            Self::ReservedName => f.write_str("name is reserved for layer markers"),
            Self::MissingLinkTarget => f.write_str("link entry has no target"),
            Self::HardlinkTarget => {
                f.write_str("hardlink target is not a regular file earlier in the layer")
            }
            Self::DataOnNonFile => f.write_str("entry that holds no data has a size"),
            Self::UnsupportedType(kind) => write!(f, "unsupported entry type `{}`", *kind as char),
            Self::UnsupportedPax(key) => write!(f, "unsupported PAX key `{key}`"),
            Self::ExtensionTooLarge => f.write_str("extension header is too large"),
            Self::DanglingExtension => f.write_str("extension header describes no single entry"),
            Self::ThroughSymlink => f.write_str("a directory above it is a symlink on disk"),
            Self::ParentNotDir => f.write_str("a path above it is not a directory on disk"),
        }
    }
}

/// Why walking, writing, reading or applying a layer failed.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// `HARNESSGYM_IN_CONTAINER=1` is not set: the layer commands run inside containers only.
    #[error("refusing to run outside a harnessgym container (HARNESSGYM_IN_CONTAINER is not 1)")]
    NotInContainer,
    /// The layer prefix is empty or not a clean relative path.
    #[error("invalid layer prefix `{prefix}`")]
    InvalidPrefix {
        /// The prefix, lossily decoded.
        prefix: String,
    },
    /// The root of the walk could not be inspected.
    #[error("failed to inspect root {}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The root of the walk is not a directory (symlinks are not followed).
    #[error("root {} is not a directory", path.display())]
    RootNotDir {
        /// The root.
        path: PathBuf,
    },
    /// A directory could not be listed.
    #[error("failed to list directory {}", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path could not be inspected (`lstat`).
    #[error("failed to inspect {}", path.display())]
    Inspect {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A symlink's target could not be read.
    #[error("failed to read symlink {}", path.display())]
    ReadLink {
        /// The symlink.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The owner bits of an unreadable entry could not be added or restored.
    #[error("failed to change the mode of {}", path.display())]
    Chmod {
        /// The entry.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A regular file could not be opened for reading.
    #[error("failed to open {}", path.display())]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A regular file could not be read.
    #[error("failed to read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file was replaced, or changed size, between the walk and the end of its copy.
    #[error("{} changed while the layer was being written", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// The layer's file contents would exceed the byte limit; nothing past the limit was written.
    #[error("the layer holds {needed} bytes of file contents, over the limit of {limit}")]
    TooLarge {
        /// The limit.
        limit: u64,
        /// What the layer would hold.
        needed: u64,
    },
    /// The layer stream could not be written.
    #[error("failed to write the layer stream")]
    Write {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A manifest is malformed (truncated, corrupted, or not a manifest).
    #[error("invalid manifest at byte {offset}: {reason}")]
    InvalidManifest {
        /// Where parsing stopped.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// A manifest was written by an unknown format version.
    #[error("unsupported manifest format version {version}")]
    ManifestVersion {
        /// The version found.
        version: u16,
    },
    /// The layer stream could not be read or holds a malformed tar header.
    #[error("failed to read the layer stream")]
    ReadLayer {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The layer stream ends without a tar trailer: it may be the prefix of a longer layer.
    #[error("the layer stream ends without a tar trailer")]
    Truncated,
    /// Something other than zeros follows the tar trailer.
    #[error("the layer stream has data after its trailer")]
    TrailingData,
    /// A layer entry was refused.
    #[error("refused layer entry `{entry}`: {reason}")]
    Refused {
        /// The entry name as in the layer, lossily decoded.
        entry: String,
        /// Why (boxed to keep the error small).
        reason: Box<Refusal>,
    },
    /// A directory could not be created.
    #[error("failed to create directory {}", path.display())]
    CreateDir {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file could not be written or renamed into place.
    #[error("failed to write file {}", path.display())]
    WriteFile {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A symlink could not be created or renamed into place.
    #[error("failed to create symlink {}", path.display())]
    CreateSymlink {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A hard link could not be created or renamed into place.
    #[error("failed to create hard link {}", path.display())]
    HardLink {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path could not be removed.
    #[error("failed to remove {}", path.display())]
    Remove {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Mode, owner or times could not be applied.
    #[error("failed to set the metadata of {}", path.display())]
    SetMetadata {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Standard input could not be read.
    #[error("failed to read standard input")]
    Stdin {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Standard output or error could not be written.
    #[error("failed to write the output")]
    Output {
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl LayerError {
    /// A refusal of the entry named `raw` (lossily decoded for the message).
    pub(crate) fn refused(raw: &[u8], reason: Refusal) -> Self {
        Self::Refused {
            entry: String::from_utf8_lossy(raw).into_owned(),
            reason: Box::new(reason),
        }
    }
}

impl Diagnose for LayerError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::NotInContainer | Self::InvalidPrefix { .. } => exit::USAGE,
            Self::TooLarge { .. } => exit::LAYER_TOO_LARGE,
            _ => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::NotInContainer => Some(
                "the layer commands walk and rewrite a workspace; harnessgym runs them only inside \
                 its containers, through `docker exec` with HARNESSGYM_IN_CONTAINER=1"
                    .to_owned(),
            ),
            Self::TooLarge { .. } => Some(
                "more changed than --max-bytes allows; nothing was written, so the host can fall \
                 back to a commit"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}
