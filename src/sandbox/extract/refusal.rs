//! Why an archive entry or a removal was refused: a reason with a stable code for JSON reports
//! and a human message.

use std::fmt;
use std::path::PathBuf;

use crate::hostfs::FileKind;

/// Why an entry or a removal was refused. Paths inside are relative to the destination; link
/// targets are as in the archive (raw bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The path is absolute.
    Absolute,
    /// The path has a `..` component.
    ParentDir,
    /// The path (or a symlink target) has a NUL byte.
    NulByte,
    /// The path names the destination itself (and is not a directory entry).
    Destination,
    /// A directory above the path is a symlink.
    ThroughSymlink {
        /// The symlink.
        link: PathBuf,
    },
    /// A path above the entry exists and is not a directory.
    ParentNotDir {
        /// The non-directory.
        parent: PathBuf,
    },
    /// An existing directory is where a file or symlink must go, and replacing directories is
    /// off.
    DirectoryInTheWay,
    /// A link entry has no target.
    MissingLinkTarget,
    /// A hardlink's target is not a regular file this archive wrote inside the destination.
    HardlinkTarget {
        /// The target as named in the archive.
        target: PathBuf,
    },
    /// A symlink's target is an absolute path.
    SymlinkAbsolute {
        /// The target.
        target: PathBuf,
    },
    /// A symlink's target, applied to the link's directory, leaves the destination. A `..`
    /// after a name (`x/../y`) counts as leaving: `x` may itself be a link, which `..` would
    /// climb out of.
    SymlinkOutside {
        /// The target.
        target: PathBuf,
    },
    /// The caller's policy protects the path (e.g. [`super::protected_path`]).
    Protected,
    /// A FIFO, a device or an entry type this extractor does not know.
    SpecialFile {
        /// What it is.
        kind: FileKind,
    },
}

impl Refusal {
    /// A short stable name for JSON reports (`symlink_outside`, `protected`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Absolute => "absolute_path",
            Self::ParentDir => "parent_dir",
            Self::NulByte => "nul_byte",
            Self::Destination => "destination",
            Self::ThroughSymlink { .. } => "through_symlink",
            Self::ParentNotDir { .. } => "parent_not_dir",
            Self::DirectoryInTheWay => "directory_in_the_way",
            Self::MissingLinkTarget => "missing_link_target",
            Self::HardlinkTarget { .. } => "hardlink_target",
            Self::SymlinkAbsolute { .. } => "symlink_absolute",
            Self::SymlinkOutside { .. } => "symlink_outside",
            Self::Protected => "protected",
            Self::SpecialFile { .. } => "special_file",
        }
    }

    /// Every code [`Refusal::code`] can return, for documentation and tests.
    pub const CODES: &'static [&'static str] = &[
        "absolute_path",
        "parent_dir",
        "nul_byte",
        "destination",
        "through_symlink",
        "parent_not_dir",
        "directory_in_the_way",
        "missing_link_target",
        "hardlink_target",
        "symlink_absolute",
        "symlink_outside",
        "protected",
        "special_file",
    ];
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute => f.write_str("absolute path"),
            Self::ParentDir => f.write_str("path has a `..` component"),
            Self::NulByte => f.write_str("path or link target has a NUL byte"),
            Self::Destination => f.write_str("names the destination itself"),
            Self::ThroughSymlink { link } => write!(f, "`{}` is a symlink", link.display()),
            Self::ParentNotDir { parent } => write!(f, "`{}` is not a directory", parent.display()),
            Self::DirectoryInTheWay => f.write_str("an existing directory is in the way"),
            Self::MissingLinkTarget => f.write_str("link entry has no target"),
            Self::HardlinkTarget { target } => write!(
                f,
                "hardlink target `{}` is not a file extracted earlier from this archive",
                target.display()
            ),
            Self::SymlinkAbsolute { target } => {
                write!(f, "symlink target `{}` is absolute", target.display())
            }
            Self::SymlinkOutside { target } => write!(
                f,
                "symlink target `{}` leaves the destination",
                target.display()
            ),
            Self::Protected => {
                f.write_str("protected path: host programs run code from it without review")
            }
            Self::SpecialFile { kind } => write!(f, "a {kind} is never written to the host"),
        }
    }
}
