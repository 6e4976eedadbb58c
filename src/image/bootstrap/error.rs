//! The bootstrap's error type: what can go wrong while finding or installing the tool, running
//! it, trimming or packing the tree, and the hint that tells the user how to fix the errors they
//! can fix.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use super::plan::DEBIAN_KEYRING;
use super::tool::install_hint;

/// Errors of the bootstrap. Causes are in `source()`, never repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The process is not root; debootstrap and mmdebstrap's root mode need it.
    #[error("creating a root filesystem with {tool} needs root")]
    NotRoot {
        /// The tool that would run.
        tool: &'static str,
    },
    /// Neither tool is installed and it could not be installed.
    #[error("neither debootstrap nor mmdebstrap is installed")]
    ToolMissing {
        /// Why it was not installed automatically.
        reason: &'static str,
    },
    /// `apt-get install debootstrap` failed (to start, or with a non-zero status).
    #[error("failed to install debootstrap with apt-get")]
    InstallTool {
        /// The cause.
        #[source]
        source: Box<BootstrapError>,
    },
    /// The temporary directory for the tree could not be created.
    #[error("failed to create a temporary directory under {}", parent.display())]
    TempDir {
        /// Where it was to be created.
        parent: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A program could not be started.
    #[error("failed to start {}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Waiting for a program failed.
    #[error("failed to wait for {}", program.display())]
    Wait {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A program exited unsuccessfully.
    #[error("{} exited with {status} (last output: {last_line:?})", program.display())]
    Failed {
        /// The program.
        program: PathBuf,
        /// Its exit status.
        status: ExitStatus,
        /// Its last non-empty output line (usually the `E:` line).
        last_line: String,
        /// The mirror it used, for the hint (None when not a bootstrap run).
        mirror: Option<String>,
    },
    /// A program ran past its deadline and was killed.
    #[error("{} took longer than {}s and was killed", program.display(), after.as_secs())]
    TimedOut {
        /// The program.
        program: PathBuf,
        /// The deadline.
        after: Duration,
    },
    /// The caller cancelled (Ctrl-C / SIGTERM); the tool was killed.
    #[error("bootstrap cancelled")]
    Cancelled,
    /// Something is mounted inside the tree, so it is not modified or deleted.
    #[error("{} is a mount point inside the root filesystem; refusing to modify the tree", path.display())]
    Mounted {
        /// The mount point.
        path: PathBuf,
    },
    /// A trim step failed.
    #[error("failed to trim {}", path.display())]
    Trim {
        /// The path being removed or written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Packing the tree as tar failed.
    #[error("failed to pack the root filesystem at {}", path.display())]
    Pack {
        /// The tree.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl BootstrapError {
    /// A sentence telling the user how to fix it, for the errors they can fix.
    pub fn hint(&self) -> Option<String> {
        let install = install_hint();
        match self {
            Self::NotRoot { .. } => Some(
                "run `sudo harnessgym image bootstrap` (or `sudo make base-image`) once; \
                 building images on top of it needs no root"
                    .to_owned(),
            ),
            Self::ToolMissing { reason } => Some(format!("{reason}; install it with `{install}`")),
            Self::InstallTool { .. } => Some(format!("install it by hand with `{install}`")),
            Self::Failed {
                mirror: Some(mirror),
                ..
            } => {
                let keyring = if Path::new(DEBIAN_KEYRING).exists() {
                    String::new()
                } else {
                    format!(" and that {DEBIAN_KEYRING} exists (package debian-archive-keyring)")
                };
                Some(format!(
                    "check that the Debian mirror {mirror} is reachable from this host{keyring}"
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_for_user_fixable_errors_only() {
        let not_root = BootstrapError::NotRoot {
            tool: "debootstrap",
        };
        assert!(
            not_root
                .hint()
                .expect("hint")
                .contains("sudo harnessgym image bootstrap")
        );
        let missing = BootstrapError::ToolMissing {
            reason: "installing it needs root",
        };
        let hint = missing.hint().expect("hint");
        assert!(hint.contains("apt-get install -y debootstrap"), "{hint}");
        assert!(BootstrapError::Cancelled.hint().is_none());
        let trim = BootstrapError::Trim {
            path: PathBuf::from("/x"),
            source: io::Error::other("boom"),
        };
        assert!(trim.hint().is_none());
        assert!(!trim.to_string().contains("boom"), "cause not repeated");
        assert!(trim.to_string().starts_with(char::is_lowercase));
    }
}
