//! What a runner reports for one phase (reference §7.1), and where its files go.

use std::path::PathBuf;

use crate::session::PhaseFiles;

use serde::Serialize;

/// The outcome of one phase, stored under `phases.<name>` in result.json.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunnerResult {
    /// `attempt`, `reflection` or `build` (repairs say `build`).
    pub phase: String,
    /// `completed`, `failed`, `timeout`, or a runner-specific word (`blocked`).
    pub status: String,
    /// The agent session, for resumption.
    pub session_id: Option<String>,
    /// Exit code of the agent process, when it ended by itself.
    pub return_code: Option<i64>,
    /// Whether the phase hit its timeout.
    pub timed_out: bool,
    /// Wall-clock seconds.
    pub duration_seconds: f64,
    /// Host path of standard output.
    pub stdout_path: String,
    /// Host path of standard error.
    pub stderr_path: String,
    /// Host path of the transcript.
    pub transcript_path: String,
    /// Host path of the prompt.
    pub prompt_path: String,
    /// A short message (why it failed).
    pub message: String,
    /// Whether the agent's output was cut at the capture cap (recorded as a limit; not part of
    /// the reference's shape).
    #[serde(skip)]
    pub output_truncated: bool,
}

impl RunnerResult {
    /// A result for `phase` with `files`, to be completed by the runner.
    pub fn new(phase: &str, status: &str, files: &PhaseFiles) -> Self {
        let path = |p: &PathBuf| p.display().to_string();
        RunnerResult {
            phase: phase.to_string(),
            status: status.to_string(),
            session_id: None,
            return_code: None,
            timed_out: false,
            duration_seconds: 0.0,
            stdout_path: path(&files.stdout),
            stderr_path: path(&files.stderr),
            transcript_path: path(&files.transcript),
            prompt_path: path(&files.prompt),
            message: String::new(),
            output_truncated: false,
        }
    }

    /// As a JSON value (for result.json and summary.json).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
