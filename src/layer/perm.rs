//! Reading what the agent locked away from itself: owner permission bits added for one read and
//! then restored.
//!
//! The walker runs as the workspace's owner (uid 1000), like the agent. An agent may `chmod 000`
//! its own directories and files; they are still part of the workspace's state and must reach
//! the snapshot. Adding the owner bits needs no privilege (only ownership), so the walker adds
//! them, reads, and puts the exact original mode back. Entries owned by someone else cannot be
//! opened up (`chmod` fails with `EPERM`): the caller records them as unreadable instead.
//!
//! Both `chmod`s go through the path and follow a symlink swapped in meanwhile. That grants
//! nothing: the walker has no privilege the agent lacks, and a concurrent swap is a change the
//! next snapshot sees anyway.

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::LayerError;

/// Owner read and search bits, needed to list a directory and reach its entries.
pub(super) const DIR_BITS: u32 = 0o500;
/// Owner read bit, needed to open a file for reading.
pub(super) const FILE_BITS: u32 = 0o400;

/// Adds `bits` to `path`, whose current mode (`& 0o7777`) is `mode`. `Ok(false)`: the entry is
/// not ours to change (it stays unreadable); `Ok(true)`: it is opened up and the caller must
/// [`restore`] `mode` once it is done.
pub(super) fn open_up(path: &Path, mode: u32, bits: u32) -> Result<bool, LayerError> {
    match fs::set_permissions(path, Permissions::from_mode(mode | bits)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(false),
        Err(source) => Err(LayerError::Chmod {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Puts the original `mode` back on `path`. An entry that vanished meanwhile needs nothing.
pub(super) fn restore(path: &Path, mode: u32) -> Result<(), LayerError> {
    match fs::set_permissions(path, Permissions::from_mode(mode)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LayerError::Chmod {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Whether this process runs as root (which ignores permission bits and may apply ownership).
/// `/proc/self` belongs to the process's effective uid; without `/proc`, assume not root.
pub(crate) fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_up_and_restores_the_exact_mode() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("locked");
        fs::create_dir(&path)?;
        fs::set_permissions(&path, Permissions::from_mode(0o1070))?;
        assert!(open_up(&path, 0o1070, DIR_BITS)?);
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o7777, 0o1570);
        restore(&path, 0o1070)?;
        assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o7777, 0o1070);
        Ok(())
    }

    #[test]
    fn someone_elses_entry_is_not_opened() -> Result<(), Box<dyn std::error::Error>> {
        // Root may chmod anything, so only an unprivileged run can see the refusal.
        if running_as_root() {
            return Ok(());
        }
        let foreign = Path::new("/");
        let mode = fs::metadata(foreign)?.permissions().mode() & 0o7777;
        assert!(!open_up(foreign, mode, DIR_BITS)?);
        Ok(())
    }

    #[test]
    fn restoring_a_vanished_entry_is_fine() -> Result<(), LayerError> {
        restore(Path::new("/nonexistent/harnessgym-layer-test"), 0o755)
    }
}
