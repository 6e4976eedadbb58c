//! One agent session's container, as runners see it: run commands, read and write workspace
//! files. Attempt, reflect, build and repairs of an iteration all exec into the same container,
//! so the agent's own session store lives there and `resume` works.
//!
//! This is the small interface runners know the sandbox through. It lives below the
//! orchestrator (which drives the loop) and below the runners (which drive agents), so data
//! flows one way: orchestrator → runner → session → sandbox.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sandbox::{Container, ExecOutcome, ExecSpec, SandboxError, WORKSPACE};

/// What a session can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A container operation failed.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Writing a phase file on the host failed.
    #[error("failed to write {path}")]
    HostFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A harness file (registry, result) could not be read or written.
    #[error("failed to update {what} in the session container")]
    Harness {
        /// Which file.
        what: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The container of one iteration's session.
#[derive(Debug)]
pub struct Session {
    container: Container,
    image_id: String,
}

impl Session {
    /// Wrap a started container created from `image_id`.
    pub fn new(container: Container, image_id: impl Into<String>) -> Self {
        Session {
            container,
            image_id: image_id.into(),
        }
    }

    /// The container.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// Give the container back (to commit and remove it).
    pub fn into_container(self) -> Container {
        self.container
    }

    /// The container id.
    pub fn container_id(&self) -> &str {
        self.container.id()
    }

    /// The id of the image (snapshot) the container was created from.
    pub fn image_id(&self) -> &str {
        &self.image_id
    }

    /// Run a command (cwd `/workspace` unless the spec says otherwise).
    pub async fn exec(&self, spec: &ExecSpec) -> Result<ExecOutcome, SessionError> {
        Ok(self.container.exec(spec).await?)
    }

    /// A workspace file's contents (`rel` relative to `/workspace`), `None` if absent.
    pub async fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, SessionError> {
        Ok(self.container.read_file(&workspace_path(rel)).await?)
    }

    /// Write a workspace file (`rel` relative to `/workspace`), owned by the agent user.
    pub async fn write(&self, rel: &str, bytes: Vec<u8>, mode: u32) -> Result<(), SessionError> {
        Ok(self
            .container
            .write_file(WORKSPACE, rel, bytes, mode)
            .await?)
    }
}

/// `/workspace/<rel>`.
pub fn workspace_path(rel: &str) -> String {
    format!("{WORKSPACE}/{}", rel.trim_start_matches('/'))
}

/// The four files every phase writes (`<phase>.{prompt,stdout,stderr,transcript}.txt`), as host
/// paths in the iteration (or repair) directory.
#[derive(Debug, Clone)]
pub struct PhaseFiles {
    /// The prompt given to the agent.
    pub prompt: PathBuf,
    /// The agent's standard output.
    pub stdout: PathBuf,
    /// The agent's standard error.
    pub stderr: PathBuf,
    /// A readable account of the phase.
    pub transcript: PathBuf,
}

impl PhaseFiles {
    /// The files of `file_stem` (`attempt`, `reflection`, `build`) in `dir`.
    pub fn new(dir: &Path, file_stem: &str) -> Self {
        let file = |kind: &str| dir.join(format!("{file_stem}.{kind}.txt"));
        PhaseFiles {
            prompt: file("prompt"),
            stdout: file("stdout"),
            stderr: file("stderr"),
            transcript: file("transcript"),
        }
    }
}

/// Everything a runner needs for one phase.
#[derive(Debug)]
pub struct PhaseContext<'a> {
    /// The session's container.
    pub session: &'a Session,
    /// The run id.
    pub run_id: &'a str,
    /// 1-based iteration.
    pub iteration: u32,
    /// Host files of this phase.
    pub files: PhaseFiles,
    /// result.json relative to the workspace (`.harnessgym/runs/<id>/iterations/<n>/result.json`).
    pub result_rel: String,
    /// The phase's budget.
    pub timeout: Duration,
    /// The iteration's MCP telemetry file relative to the workspace (where the MCP helpers an
    /// agent starts must log).
    pub telemetry_rel: String,
}

/// Write a host phase file, creating its directory.
pub fn write_host_file(path: &std::path::Path, text: &str) -> Result<(), SessionError> {
    let io = |source| SessionError::HostFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}
