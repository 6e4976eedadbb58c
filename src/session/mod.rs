//! One agent session's container, as runners see it: run commands, read and write workspace
//! files. Attempt, reflect, build and repairs of an iteration all exec into the same container,
//! so the agent's own session store lives there and `resume` works.
//!
//! This is the small interface runners know the sandbox through. It lives below the
//! orchestrator (which drives the loop) and below the runners (which drive agents), so data
//! flows one way: orchestrator → runner → session → sandbox.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sandbox::{
    Container, ExecOutcome, ExecSpec, FileRead, READ_LIMIT, SandboxError, SweepReport, WORKSPACE,
};

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
    /// The limit counters at the end of the last phase (they are cumulative per container).
    counters: std::sync::Mutex<SweepReport>,
    /// Bytes written when the disk watchdog stopped a command of the current phase.
    disk_exceeded: std::sync::Mutex<Option<u64>>,
}

/// What the end of a phase found: processes left behind, and limits hit during the phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseEnd {
    /// Processes the phase left running, now killed.
    pub killed: u64,
    /// Processes the kernel killed for memory during the phase.
    pub oom_kills: u64,
    /// Forks refused at the pids limit during the phase.
    pub pids_refused: u64,
    /// Bytes the container had written when the disk watchdog stopped the phase.
    pub disk_exceeded: Option<u64>,
}

impl Session {
    /// Wrap a started container created from `image_id`.
    pub fn new(container: Container, image_id: impl Into<String>) -> Self {
        Session {
            container,
            image_id: image_id.into(),
            counters: std::sync::Mutex::new(SweepReport::default()),
            disk_exceeded: std::sync::Mutex::new(None),
        }
    }

    /// End a phase: kill everything it left running (nothing outlives its phase) and report
    /// the limits it hit.
    pub async fn end_phase(&self) -> Result<PhaseEnd, SessionError> {
        let now = self.container.sweep(None).await?;
        let mut last = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let disk_exceeded = self
            .disk_exceeded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let end = PhaseEnd {
            killed: now.killed,
            oom_kills: now.oom_kills.saturating_sub(last.oom_kills),
            pids_refused: now.pids_refused.saturating_sub(last.pids_refused),
            disk_exceeded,
        };
        *last = now;
        Ok(end)
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
        let outcome = self.container.exec(spec).await?;
        if let Some(bytes) = outcome.disk_exceeded {
            let mut seen = self
                .disk_exceeded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *seen = Some(seen.map_or(bytes, |b| b.max(bytes)));
        }
        Ok(outcome)
    }

    /// A workspace file's contents (`rel` relative to `/workspace`), `None` if absent, or if it
    /// is not a regular file within [`READ_LIMIT`] (logged with the reason).
    pub async fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, SessionError> {
        let path = workspace_path(rel);
        match self.container.read_file(&path, READ_LIMIT).await? {
            FileRead::Data(bytes) => Ok(Some(bytes)),
            FileRead::Missing => Ok(None),
            FileRead::Refused(why) => {
                tracing::warn!("not reading {path} from the session: it is {why}");
                Ok(None)
            }
        }
    }

    /// A workspace file as the engine sees it: its bytes, missing, or refused (a symlink, not a
    /// regular file, larger than `limit`) — for callers that record why.
    pub async fn read_checked(&self, rel: &str, limit: u64) -> Result<FileRead, SessionError> {
        Ok(self
            .container
            .read_file(&workspace_path(rel), limit)
            .await?)
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
