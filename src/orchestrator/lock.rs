//! One run per workspace: `.harnessgym/run.lock` names the owner process; a second run is
//! refused while that process lives, and a dead owner's lock is taken over.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnose;
use crate::exit;
use crate::sandbox::Owner;

/// The lock file, relative to the workspace.
pub const LOCK_PATH: &str = ".harnessgym/run.lock";
const FORMAT_VERSION: u32 = 1;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error("another run ({run_id}, pid {pid}) is in progress in this workspace")]
    Held {
        /// Its run id.
        run_id: String,
        /// Its pid.
        pid: u32,
    },
    /// The lock file could not be created or read.
    #[error("failed to take the workspace lock {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnose for LockError {
    fn exit_code(&self) -> u8 {
        match self {
            LockError::Held { .. } => exit::USAGE,
            LockError::Io { .. } => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            LockError::Held { .. } => {
                Some("wait for it to finish, or run on a copy of the workspace".into())
            }
            LockError::Io { .. } => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LockRecord {
    format_version: u32,
    run_id: String,
    pid: u32,
    start: u64,
    host: String,
}

/// A held lock; released by [`WorkspaceLock::release`] (or, as a fallback, on drop).
#[derive(Debug)]
pub struct WorkspaceLock {
    path: PathBuf,
    released: bool,
}

impl WorkspaceLock {
    /// Take the lock of `workspace` for `run_id`.
    pub fn acquire(workspace: &Path, run_id: &str) -> Result<Self, LockError> {
        let path = workspace.join(LOCK_PATH);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let me = Owner::current();
        let record = LockRecord {
            format_version: FORMAT_VERSION,
            run_id: run_id.to_string(),
            pid: me.pid,
            start: me.start,
            host: me.host.clone(),
        };
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let text = serde_json::to_string(&record).unwrap_or_default();
                    file.write_all(text.as_bytes()).map_err(io)?;
                    return Ok(WorkspaceLock {
                        path,
                        released: false,
                    });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    check_stale(&path, &me.host)?;
                    tracing::warn!("taking over the lock of a run whose process is gone");
                    std::fs::remove_file(&path).map_err(io)?;
                }
                Err(err) => return Err(io(err)),
            }
        }
        Err(io(std::io::Error::other("the lock kept reappearing")))
    }

    /// Remove the lock file.
    pub fn release(mut self) {
        self.released = true;
        if let Err(err) = std::fs::remove_file(&self.path) {
            tracing::warn!("cannot remove {}: {err}", self.path.display());
        }
    }
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        if !self.released {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `Ok` when the existing lock's owner is gone (or the file is unreadable garbage).
fn check_stale(path: &Path, here: &str) -> Result<(), LockError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let Ok(record) = serde_json::from_str::<LockRecord>(&text) else {
        return Ok(());
    };
    let owner = Owner {
        pid: record.pid,
        start: record.start,
        host: record.host,
    };
    if owner.host != here || !owner.is_dead(here) {
        return Err(LockError::Held {
            run_id: record.run_id,
            pid: record.pid,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_lock_is_refused_and_released_on_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = WorkspaceLock::acquire(dir.path(), "run-a").expect("first lock");
        let second = WorkspaceLock::acquire(dir.path(), "run-b");
        assert!(matches!(second, Err(LockError::Held { ref run_id, .. }) if run_id == "run-a"));
        lock.release();
        assert!(!dir.path().join(LOCK_PATH).exists());
        WorkspaceLock::acquire(dir.path(), "run-b")
            .expect("free again")
            .release();
    }

    #[test]
    fn a_dead_owners_lock_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        let stale = LockRecord {
            format_version: 1,
            run_id: "old".into(),
            pid,
            start: 1,
            host: Owner::current().host,
        };
        std::fs::create_dir_all(dir.path().join(".harnessgym")).expect("mkdir");
        std::fs::write(
            dir.path().join(LOCK_PATH),
            serde_json::to_string(&stale).expect("json"),
        )
        .expect("write");
        let lock = WorkspaceLock::acquire(dir.path(), "new").expect("takes over");
        let text = std::fs::read_to_string(dir.path().join(LOCK_PATH)).expect("read");
        assert!(text.contains("\"run_id\":\"new\""));
        lock.release();
    }
}
