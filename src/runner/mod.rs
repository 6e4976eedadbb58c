//! Runners turn a prompt into an agent session inside the iteration's container (reference §7).
//!
//! A runner knows the sandbox only through [`crate::session::Session`] and reports a
//! [`RunnerResult`]. Dispatch is a plain enum: each backend is one file — `fake` (offline,
//! deterministic), `codex` (`--runner exec`), `claude`, `custom` (any CLI described by a TOML
//! file), `tui_goal` (interactive Codex through a terminal, experimental). What the agent-CLI runners share (running the CLI, masking credentials, transcripts)
//! is in `agent`; the MCP servers they are given come from the in-container activation (`mcp`).

mod agent;
mod claude;
mod codex;
pub mod custom;
mod fake;
pub mod mcp;
mod result;
pub mod scripted;
pub mod secrets;
pub mod session_id;
mod settings;
mod tui_goal;

pub use agent::{Invocation, display_command};
pub use claude::{ClaudeRunner, format_g, parse_result as parse_claude_result};
pub use codex::ExecRunner;
pub use custom::{CustomAgent, CustomConfigError, CustomRunner};
pub use fake::FakeRunner;
pub use result::RunnerResult;
pub use secrets::Secrets;
pub use settings::{AgentSettings, default_env};
pub use tui_goal::TuiGoalRunner;

use crate::session::{PhaseContext, SessionError};

/// Which backend runs the sessions, as validated from `--runner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// Codex's `codex exec` (reference §7.2).
    Exec,
    /// Claude Code's `claude -p` (reference §7.3).
    Claude,
    /// The deterministic offline runner (reference §7.4).
    Fake,
    /// Any agent CLI described by a TOML file.
    Custom,
    /// Interactive Codex driven through a terminal (experimental, reference §7.5).
    TuiGoal,
}

impl RunnerKind {
    /// The name as `--runner` spells it (recorded in `run_config.json`; prompts pick the agent's
    /// name from it).
    pub fn name(self) -> &'static str {
        match self {
            RunnerKind::Exec => "exec",
            RunnerKind::Claude => "claude",
            RunnerKind::Fake => "fake",
            RunnerKind::Custom => "custom",
            RunnerKind::TuiGoal => "tui-goal",
        }
    }

    /// The image sessions run in unless `--image` names one.
    pub fn default_image(self) -> &'static str {
        match self {
            RunnerKind::Exec | RunnerKind::TuiGoal => crate::image::CODEX_IMAGE,
            RunnerKind::Claude => crate::image::CLAUDE_IMAGE,
            RunnerKind::Fake | RunnerKind::Custom => crate::image::BASE_IMAGE,
        }
    }

    /// Whether its sessions talk to a model API (and so get a network by default).
    pub fn needs_network(self) -> bool {
        matches!(
            self,
            RunnerKind::Exec | RunnerKind::Claude | RunnerKind::TuiGoal
        )
    }
}

/// The agent backends.
#[derive(Debug)]
pub enum Runner {
    /// Codex.
    Exec(ExecRunner),
    /// Claude Code.
    Claude(ClaudeRunner),
    /// The deterministic offline runner.
    Fake(FakeRunner),
    /// A CLI described by a TOML file.
    Custom(CustomRunner),
    /// Interactive Codex in a terminal (experimental).
    TuiGoal(TuiGoalRunner),
}

impl Runner {
    /// The runner for `kind`; the variables `settings.env` names are read from this process's
    /// environment now (their values go to the agent's execs only).
    pub fn new(kind: RunnerKind, settings: &AgentSettings) -> Self {
        let secrets = Secrets::from_process_env(&settings.env);
        match kind {
            RunnerKind::Exec => Runner::Exec(ExecRunner::new(settings.clone(), secrets)),
            RunnerKind::Claude => Runner::Claude(ClaudeRunner::new(settings.clone(), secrets)),
            RunnerKind::Custom => Runner::Custom(CustomRunner::new(
                settings.custom.clone(),
                settings.image.clone(),
                secrets,
            )),
            RunnerKind::Fake => Runner::Fake(FakeRunner),
            RunnerKind::TuiGoal => Runner::TuiGoal(TuiGoalRunner::new(settings.clone(), secrets)),
        }
    }

    /// The runner's name as `--runner` spells it (prompts pick the agent's name from it).
    pub fn name(&self) -> &'static str {
        match self {
            Runner::Exec(_) => RunnerKind::Exec.name(),
            Runner::Claude(_) => RunnerKind::Claude.name(),
            Runner::Fake(_) => RunnerKind::Fake.name(),
            Runner::Custom(_) => RunnerKind::Custom.name(),
            Runner::TuiGoal(_) => RunnerKind::TuiGoal.name(),
        }
    }

    /// A fresh session working the task.
    pub async fn start_attempt(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
    ) -> Result<RunnerResult, SessionError> {
        match self {
            Runner::Exec(r) => r.phase(ctx, "attempt", prompt, None).await,
            Runner::Claude(r) => r.phase(ctx, "attempt", prompt, None).await,
            Runner::Fake(r) => r.start_attempt(ctx, prompt).await,
            Runner::Custom(r) => r.phase(ctx, "attempt", prompt, None).await,
            Runner::TuiGoal(r) => r.phase(ctx, "attempt", prompt, None).await,
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
            Runner::Exec(r) => r.resume(ctx, "reflection", prompt, session_id).await,
            Runner::Claude(r) => r.resume(ctx, "reflection", prompt, session_id).await,
            Runner::Fake(r) => r.reflect(ctx, prompt, session_id).await,
            Runner::Custom(r) => r.resume(ctx, "reflection", prompt, session_id).await,
            Runner::TuiGoal(r) => r.resume(ctx, "reflection", prompt, session_id).await,
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
            Runner::Exec(r) => r.resume(ctx, "build", prompt, session_id).await,
            Runner::Claude(r) => r.resume(ctx, "build", prompt, session_id).await,
            Runner::Fake(r) => r.build_tooling(ctx, prompt, session_id).await,
            Runner::Custom(r) => r.resume(ctx, "build", prompt, session_id).await,
            Runner::TuiGoal(r) => r.resume(ctx, "build", prompt, session_id).await,
        }
    }
}
