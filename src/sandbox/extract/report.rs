//! What an extraction or a removal did, refusals included, and the JSON form of a refusal.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use serde::Serialize;

use super::Refusal;

/// Refusals listed in one report; past this many they are only counted
/// ([`ExtractReport::refused_unlisted`]), so a hostile archive cannot grow the report without
/// bound.
pub const MAX_LISTED_REFUSALS: usize = 1000;

/// One refused entry or removal: nothing was written or removed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The path relative to the destination (after stripping and prefixing) when the name was
    /// valid, else the entry name as in the archive. Raw bytes, never made lossy.
    pub path: PathBuf,
    /// Why.
    pub reason: Refusal,
}

/// What [`super::extract_safe`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Every non-directory path written (regular files, hardlink copies, symlinks), relative to
    /// `dest`, in archive order.
    pub written: Vec<PathBuf>,
    /// Directory entries applied.
    pub dirs: usize,
    /// Symlinks created (also listed in `written`).
    pub symlinks: usize,
    /// Entries the policy skipped ([`super::Decision::Skip`]).
    pub skipped: usize,
    /// Refused entries, in archive order (at most [`MAX_LISTED_REFUSALS`]).
    pub refused: Vec<Refused>,
    /// Entries not looked at because they lie below a refused directory or below the link or
    /// file that caused a refusal (all of them would be refused for the same reason).
    pub refused_below: usize,
    /// Refusals past [`MAX_LISTED_REFUSALS`], counted only.
    pub refused_unlisted: usize,
    /// Files and directories whose setuid, setgid or sticky bit was dropped.
    pub modes_stripped: usize,
}

impl ExtractReport {
    /// Records a refusal (listed while there is room, else counted).
    pub(super) fn refuse(&mut self, path: PathBuf, reason: Refusal) {
        if self.refused.len() < MAX_LISTED_REFUSALS {
            tracing::warn!(path = %path.display(), reason = %reason, "refused an archive entry");
            self.refused.push(Refused { path, reason });
        } else {
            self.refused_unlisted += 1;
        }
    }
}

/// What [`super::remove_paths_safe`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalReport {
    /// Paths removed (whole, with everything below them), normalised, in the given order.
    pub removed: Vec<PathBuf>,
    /// Paths refused, nothing removed for them. A directory that held a protected path is kept
    /// with it: the protected path is listed here, the directory in neither list.
    pub refused: Vec<Refused>,
}

impl RemovalReport {
    pub(super) fn refuse(&mut self, path: PathBuf, reason: Refusal) {
        tracing::warn!(path = %path.display(), reason = %reason, "refused a removal");
        self.refused.push(Refused { path, reason });
    }
}

/// A refusal as written to JSON reports (e.g. `write_back.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    /// The path, made valid UTF-8 for display (invalid bytes become U+FFFD).
    pub path: String,
    /// The path's exact bytes in lowercase hex, only when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes_hex: Option<String>,
    /// The reason's stable code ([`Refusal::code`]).
    pub reason: String,
    /// The reason for a human.
    pub message: String,
}

impl RefusalRecord {
    /// The record of `reason` for `path`.
    pub fn new(path: PathBuf, reason: Refusal) -> Self {
        let bytes = path.as_os_str().as_bytes();
        let path_bytes_hex = std::str::from_utf8(bytes).is_err().then(|| {
            bytes.iter().fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
        });
        Self {
            path: path.to_string_lossy().into_owned(),
            path_bytes_hex,
            reason: reason.code().to_owned(),
            message: reason.to_string(),
        }
    }
}

impl From<Refused> for RefusalRecord {
    fn from(refused: Refused) -> Self {
        Self::new(refused.path, refused.reason)
    }
}
