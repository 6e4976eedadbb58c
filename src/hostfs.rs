//! Reading files from the host workspace without following links out of it.
//!
//! The workspace holds what write-back brought from containers and whatever was there before,
//! so it may hold symlinks to host files, FIFOs, devices or huge files. Everything the host reads
//! from it (the task file, `registry.json`, manifests, result files) goes through
//! [`read_workspace_file`]:
//!
//! - **One component at a time.** The path is walked from the canonical root the way the kernel
//!   would walk it. A symlink is followed only when its target, applied to where the walk stands,
//!   stays inside the root (an absolute target must name a place inside the root); `..` never
//!   climbs above the root. The result is checked once more with `canonicalize`.
//! - **Regular files only.** The final path is `lstat`ed before anything opens it (opening a
//!   FIFO or a device can block or have side effects), then opened with
//!   `O_NOFOLLOW | O_NONBLOCK` and checked again with `fstat`.
//! - **Bounded.** The size is checked before reading and the read is capped, so a file that grows
//!   meanwhile is refused too.
//!
//! Pure std: this module knows neither Docker nor harnesses, so every layer may use it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, FileType};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

#[cfg(test)]
mod tests;

/// Symlinks followed in one walk before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// What a path holds when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else (an unknown archive entry type, say).
    Other,
}

impl FileKind {
    /// The kind of a non-regular file; `None` for a regular file.
    pub fn from_file_type(file_type: FileType) -> Option<Self> {
        let kind = if file_type.is_file() {
            return None;
        } else if file_type.is_dir() {
            Self::Directory
        } else if file_type.is_symlink() {
            Self::Symlink
        } else if file_type.is_fifo() {
            Self::Fifo
        } else if file_type.is_char_device() {
            Self::CharDevice
        } else if file_type.is_block_device() {
            Self::BlockDevice
        } else if file_type.is_socket() {
            Self::Socket
        } else {
            Self::Other
        };
        Some(kind)
    }

    /// A short stable name (`fifo`, `char_device`, ...), for JSON reports.
    pub fn code(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Symlink => "symlink",
            Self::Fifo => "fifo",
            Self::CharDevice => "char_device",
            Self::BlockDevice => "block_device",
            Self::Socket => "socket",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Directory => "directory",
            Self::Symlink => "symlink",
            Self::Fifo => "FIFO",
            Self::CharDevice => "character device",
            Self::BlockDevice => "block device",
            Self::Socket => "socket",
            Self::Other => "file of an unknown type",
        })
    }
}

/// Why a workspace file was not read. `path` is the path as asked (joined on the root).
#[derive(Debug, thiserror::Error)]
pub enum HostReadError {
    /// The path, or a symlink on the way, leads outside the workspace.
    #[error("{} leads outside the workspace", path.display())]
    Outside {
        /// The path as asked.
        path: PathBuf,
    },
    /// The path is not a regular file.
    #[error("{} is a {kind}, not a regular file", path.display())]
    NotRegular {
        /// The path as asked.
        path: PathBuf,
        /// What it is instead.
        kind: FileKind,
    },
    /// The file is larger than the caller's limit.
    #[error("{} holds {size} bytes, more than the {limit} allowed", path.display())]
    TooLarge {
        /// The path as asked.
        path: PathBuf,
        /// Its size (at least this many bytes when it grew while being read).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The path (or a directory above it) does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The path as asked.
        path: PathBuf,
    },
    /// Inspecting or reading failed on the host.
    #[error("failed to read {}", path.display())]
    Io {
        /// The path as asked.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// The contents of the regular file at `rel` under the workspace `root`, at most `limit` bytes,
/// opened without following any link out of the workspace (module docs). `rel` may also be an
/// absolute path inside `root`.
///
/// # Errors
///
/// [`HostReadError`] names the rule that failed and the path.
pub fn read_workspace_file(root: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, HostReadError> {
    let shown = root.join(rel);
    let walk = Walk::start(root, &shown)?;
    let rel = walk.relative(rel)?;
    let real = walk.resolve(&rel, false)?;
    read_regular(&walk.root.join(real), &shown, limit)
}

/// The real location of `path` relative to the workspace `root`: symlinks inside the workspace
/// resolved, `.` and `..` applied. `path` is absolute, or relative to `root`. A missing tail
/// (names only, no `..`) is allowed, so a file that is about to be written can be checked.
///
/// # Errors
///
/// [`HostReadError::Outside`] when the path or a link on it leaves `root`,
/// [`HostReadError::NotFound`] for `..` below a missing name, [`HostReadError::Io`] otherwise.
pub fn check_inside(root: &Path, path: &Path) -> Result<PathBuf, HostReadError> {
    let shown = root.join(path);
    let walk = Walk::start(root, &shown)?;
    let rel = walk.relative(path)?;
    walk.resolve(&rel, true)
}

/// One resolution: the canonical root and the path to name in errors.
struct Walk<'a> {
    /// `root` as given, made absolute (lexically).
    given: PathBuf,
    /// `root` canonicalised.
    root: PathBuf,
    shown: &'a Path,
}

/// A path component still to walk.
enum Part {
    Name(OsString),
    Parent,
}

impl<'a> Walk<'a> {
    fn start(root: &Path, shown: &'a Path) -> Result<Self, HostReadError> {
        let io = |source| HostReadError::Io {
            path: shown.to_path_buf(),
            source,
        };
        let given = std::path::absolute(root).map_err(io)?;
        let root = fs::canonicalize(root).map_err(io)?;
        Ok(Self { given, root, shown })
    }

    fn outside(&self) -> HostReadError {
        HostReadError::Outside {
            path: self.shown.to_path_buf(),
        }
    }

    fn not_found(&self) -> HostReadError {
        HostReadError::NotFound {
            path: self.shown.to_path_buf(),
        }
    }

    /// `path` relative to the root: an absolute path must lie inside the root as given or as
    /// canonicalised (lexically), or resolve inside it.
    fn relative(&self, path: &Path) -> Result<PathBuf, HostReadError> {
        if !path.has_root() {
            return Ok(path.to_path_buf());
        }
        if let Some(rel) = self.lexically_inside(path) {
            return Ok(rel);
        }
        // Reached through a link outside the workspace the user named: judge where it lands.
        fs::canonicalize(path)
            .ok()
            .and_then(|real| real.strip_prefix(&self.root).ok().map(Path::to_path_buf))
            .ok_or_else(|| self.outside())
    }

    /// The absolute `path` relative to the root, when it lies inside the root as given or as
    /// canonicalised once `.` and `..` are applied.
    fn lexically_inside(&self, path: &Path) -> Option<PathBuf> {
        let normal = lexical(path)?;
        [&self.root, &self.given]
            .into_iter()
            .find_map(|base| normal.strip_prefix(base).ok().map(Path::to_path_buf))
    }

    /// The real path of `rel` below the root, without links. With `allow_missing`, a missing
    /// tail of plain names is kept as given.
    fn resolve(&self, rel: &Path, allow_missing: bool) -> Result<PathBuf, HostReadError> {
        let mut pending = parts(rel).ok_or_else(|| self.outside())?;
        let mut real = PathBuf::new();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            let name = match part {
                Part::Parent if real.pop() => continue,
                Part::Parent => return Err(self.outside()),
                Part::Name(name) => name,
            };
            let here = self.root.join(&real).join(&name);
            let meta = match fs::symlink_metadata(&here) {
                Ok(meta) => meta,
                Err(e) if is_missing(&e) && allow_missing => {
                    real.push(name);
                    return self.missing_tail(real, pending);
                }
                Err(e) if is_missing(&e) => return Err(self.not_found()),
                Err(source) => return Err(self.io(source)),
            };
            if !meta.file_type().is_symlink() {
                // `file/x` and `file/..` name nothing (ENOTDIR).
                if !meta.is_dir() && !pending.is_empty() {
                    return Err(self.not_found());
                }
                real.push(name);
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(self.io(io::Error::from_raw_os_error(libc::ELOOP)));
            }
            let target = fs::read_link(&here).map_err(|e| self.io(e))?;
            let mut ahead = if target.has_root() {
                // Walked again from the root, so that links inside it are resolved too.
                real = PathBuf::new();
                let inside = self.lexically_inside(&target);
                inside.as_deref().and_then(parts)
            } else {
                parts(&target)
            }
            .ok_or_else(|| self.outside())?;
            ahead.extend(pending);
            pending = ahead;
        }
        self.verify(real)
    }

    /// The rest of a path whose component `real` does not exist.
    fn missing_tail(
        &self,
        mut real: PathBuf,
        pending: VecDeque<Part>,
    ) -> Result<PathBuf, HostReadError> {
        for part in pending {
            match part {
                Part::Name(name) => real.push(name),
                Part::Parent => return Err(self.not_found()),
            }
        }
        Ok(real)
    }

    /// Checks with `canonicalize` that the walked path really lies inside the root.
    fn verify(&self, real: PathBuf) -> Result<PathBuf, HostReadError> {
        let canonical = fs::canonicalize(self.root.join(&real)).map_err(|e| {
            if is_missing(&e) {
                self.not_found()
            } else {
                self.io(e)
            }
        })?;
        if canonical.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(self.outside())
        }
    }

    fn io(&self, source: io::Error) -> HostReadError {
        HostReadError::Io {
            path: self.shown.to_path_buf(),
            source,
        }
    }
}

/// Whether an `lstat` error means "no such path" (a missing name, or a file used as a directory).
fn is_missing(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENOTDIR)
}

/// The components of a relative path (`None` for a path with a root or a prefix).
fn parts(path: &Path) -> Option<VecDeque<Part>> {
    let mut out = VecDeque::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push_back(Part::Name(name.to_os_string())),
            Component::ParentDir => out.push_back(Part::Parent),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// An absolute path with `.` and `..` applied lexically; `None` when `..` climbs above `/`.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir if out.pop() => {}
            Component::ParentDir => return None,
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Reads the regular file at `real` (a path without links), at most `limit` bytes.
fn read_regular(real: &Path, shown: &Path, limit: u64) -> Result<Vec<u8>, HostReadError> {
    let io = |source: io::Error| HostReadError::Io {
        path: shown.to_path_buf(),
        source,
    };
    let check = |file_type: FileType, size: u64| match FileKind::from_file_type(file_type) {
        Some(FileKind::Symlink) => Err(HostReadError::Outside {
            path: shown.to_path_buf(),
        }),
        Some(kind) => Err(HostReadError::NotRegular {
            path: shown.to_path_buf(),
            kind,
        }),
        None if size > limit => Err(HostReadError::TooLarge {
            path: shown.to_path_buf(),
            size,
            limit,
        }),
        None => Ok(()),
    };
    // Never open a FIFO or a device at all: opening one can block or act.
    let meta = fs::symlink_metadata(real).map_err(io)?;
    check(meta.file_type(), meta.len())?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(real)
        .map_err(|e| match e.raw_os_error() {
            // Replaced by a link since the walk.
            Some(libc::ELOOP) => HostReadError::Outside {
                path: shown.to_path_buf(),
            },
            _ => io(e),
        })?;
    let meta = file.metadata().map_err(io)?;
    check(meta.file_type(), meta.len())?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(HostReadError::TooLarge {
            path: shown.to_path_buf(),
            size: read,
            limit,
        });
    }
    Ok(bytes)
}
