//! What the agent runners need beyond a phase's context: the CLI binaries and flags, the
//! environment variables to pass by name, the image name for messages, the custom agent.
//!
//! Validated by the loop's configuration from the run flags; recorded in `run_config.json` (names
//! only, never values).

use super::RunnerKind;
use super::custom::CustomAgent;

/// The settings of every runner (each uses its own part).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    /// The Codex executable in the image (`exec`, `tui-goal`).
    pub codex_bin: String,
    /// Extra arguments for `codex exec`, placed before the MCP overrides.
    pub codex_extra_args: Vec<String>,
    /// The Claude Code executable in the image.
    pub claude_bin: String,
    /// `--model` for Claude Code.
    pub claude_model: Option<String>,
    /// `--permission-mode` for Claude Code; empty: not passed.
    pub claude_permission_mode: String,
    /// `--max-budget-usd` for Claude Code.
    pub claude_max_budget_usd: Option<f64>,
    /// Raw extra arguments for Claude Code, after the budget flag.
    pub claude_extra_args: Vec<String>,
    /// The custom agent (`--runner custom --runner-config FILE`).
    pub custom: Option<CustomAgent>,
    /// Environment variables passed by name to every agent exec (when set).
    pub env: Vec<String>,
    /// The session image, as named by the user (for messages).
    pub image: String,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            codex_bin: "codex".into(),
            codex_extra_args: Vec::new(),
            claude_bin: "claude".into(),
            claude_model: None,
            claude_permission_mode: "bypassPermissions".into(),
            claude_max_budget_usd: None,
            claude_extra_args: Vec::new(),
            custom: None,
            env: Vec::new(),
            image: crate::image::BASE_IMAGE.into(),
        }
    }
}

/// The variables a runner passes when they are set and `--env` names none: its CLI's API keys.
pub fn default_env(kind: RunnerKind) -> &'static [&'static str] {
    match kind {
        RunnerKind::Claude => &[
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CODE_OAUTH_TOKEN",
        ],
        RunnerKind::Exec | RunnerKind::TuiGoal => &["OPENAI_API_KEY", "CODEX_API_KEY"],
        RunnerKind::Fake | RunnerKind::Custom => &[],
    }
}
