//! What the report module can fail with. Unreadable or malformed data files are not errors:
//! they become warnings beside what could be read (`runs` and `show` still print the rest).

use std::io;
use std::path::PathBuf;

use crate::diagnostics::Diagnose;
use crate::exit;

/// Why `runs`, `show` or `report` failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No run with this id in the workspace, and no run directory at this path.
    #[error("no run `{id}` in {}", workspace.display())]
    NoRun {
        /// What was asked for.
        id: String,
        /// The workspace searched.
        workspace: PathBuf,
    },
    /// The workspace given does not exist or is not a directory.
    #[error("{} is not a directory", path.display())]
    NoWorkspace {
        /// The path given.
        path: PathBuf,
    },
    /// The path is neither a run directory nor a compare directory.
    #[error("{} holds neither a run (`run_config.json`) nor a compare (`compare_report.json`)", path.display())]
    NotARunOrCompare {
        /// The path given.
        path: PathBuf,
    },
    /// The workspace's runs folder could not be listed.
    #[error("failed to list {}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path given could not be inspected.
    #[error("failed to inspect {}", path.display())]
    Inspect {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The HTML file could not be written.
    #[error("failed to write the report to {}", path.display())]
    Write {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Standard output could not be written (other than a closed pipe, which is not an error).
    #[error("failed to write to standard output")]
    Stdout(#[source] io::Error),
}

impl Diagnose for ReportError {
    fn exit_code(&self) -> u8 {
        match self {
            ReportError::NoRun { .. }
            | ReportError::NoWorkspace { .. }
            | ReportError::NotARunOrCompare { .. } => exit::USAGE,
            ReportError::List { .. }
            | ReportError::Inspect { .. }
            | ReportError::Write { .. }
            | ReportError::Stdout(_) => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ReportError::NoRun { workspace, .. } => Some(format!(
                "`harnessgym runs {}` lists the runs; pass a run id from it, or the path of a run directory (`.harnessgym/runs/<id>`), or `--workspace` for another workspace",
                workspace.display()
            )),
            ReportError::NotARunOrCompare { .. } => Some(
                "pass a run id, a run directory (`<workspace>/.harnessgym/runs/<id>`) or a compare output directory".into(),
            ),
            ReportError::NoWorkspace { .. } => {
                Some("pass the workspace directory a run used (`--workspace` of `harnessgym run`)".into())
            }
            ReportError::Write { .. } => {
                Some("check that the directory of `-o` exists and is writable".into())
            }
            _ => None,
        }
    }
}
