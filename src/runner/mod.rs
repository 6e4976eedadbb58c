//! Runners turn a prompt into an agent session inside the iteration's container (reference §7).
//!
//! A runner knows the sandbox only through [`crate::session::Session`] and reports a
//! [`RunnerResult`]. Dispatch is a plain enum: each backend is one file.

mod fake;
mod result;
pub mod scripted;

pub use fake::FakeRunner;
pub use result::RunnerResult;

use crate::session::{PhaseContext, SessionError};

/// Which backend runs the sessions, as validated from `--runner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// The deterministic offline runner (reference §7.4).
    Fake,
}

impl RunnerKind {
    /// The name as `--runner` spells it (recorded in `run_config.json`; prompts pick the agent's
    /// name from it).
    pub fn name(self) -> &'static str {
        match self {
            RunnerKind::Fake => "fake",
        }
    }
}

/// The agent backends.
#[derive(Debug)]
pub enum Runner {
    /// The deterministic offline runner.
    Fake(FakeRunner),
}

impl Runner {
    /// The runner for `choice`.
    pub fn new(kind: RunnerKind) -> Self {
        match kind {
            RunnerKind::Fake => Runner::Fake(FakeRunner),
        }
    }

    /// The runner's name as `--runner` spells it (prompts pick the agent's name from it).
    pub fn name(&self) -> &'static str {
        match self {
            Runner::Fake(_) => "fake",
        }
    }

    /// A fresh session working the task.
    pub async fn start_attempt(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
    ) -> Result<RunnerResult, SessionError> {
        match self {
            Runner::Fake(r) => r.start_attempt(ctx, prompt).await,
        }
    }

    /// Resume `session_id` to reflect on what tooling was missing.
    pub async fn reflect(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
        session_id: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        match self {
            Runner::Fake(r) => r.reflect(ctx, prompt, session_id).await,
        }
    }

    /// Resume `session_id` to build (or repair) the selected artifact.
    pub async fn build_tooling(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
        session_id: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        match self {
            Runner::Fake(r) => r.build_tooling(ctx, prompt, session_id).await,
        }
    }
}
