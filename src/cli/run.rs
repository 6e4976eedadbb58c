//! `harnessgym run` flags: the reference's (§1.1, same names and defaults) plus container flags,
//! `--codex-extra-arg`, the custom runner's `--runner-config`, and how credentials reach the
//! agent (`--env NAME`, `--credentials-file`).
//!
//! Duration flags take a value that starts with `-` (`allow_hyphen_values`), so `-5s` reaches the
//! duration parser and is refused as negative instead of being read as an unknown flag.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, ValueEnum};

use crate::duration::{parse_duration_arg, parse_duration_list_arg};

/// A comma-separated list of durations, parsed as one value (clap would otherwise read an
/// `Option<Vec<_>>` field as a flag taking several values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

fn parse_schedule(text: &str) -> Result<Schedule, String> {
    parse_duration_list_arg(text).map(Schedule)
}

/// Which agent backend runs the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunnerChoice {
    /// Codex: `codex exec` / `codex exec resume` in the `harnessgym/codex` image.
    Exec,
    /// Claude Code: `claude -p --output-format json` / `--resume` in the `harnessgym/claude` image.
    Claude,
    /// Deterministic offline runner (reference §7.4): the demo on `examples/numerical_debug_task`.
    Fake,
    /// Any agent CLI, described by `--runner-config agent.toml`.
    Custom,
    /// Experimental: interactive Codex driven through a terminal, one fresh session per attempt.
    TuiGoal,
}

/// What the next attempt starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskStateChoice {
    /// Edits compound: the next attempt starts from the last session's committed state.
    Continue,
    /// Every attempt starts from the original task files plus the current `.harnessgym/` bundle.
    Reset,
}

/// How ambitious the tooling the agent is asked to build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepthChoice {
    /// Keep artifacts focused and small.
    Standard,
    /// Capability-creating instrumentation, multi-tool MCP suites, thorough self-tests.
    Deep,
}

/// `harnessgym run`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("task_source").required(true).args(["task", "task_text"])))]
pub struct RunArgs {
    /// Task file (markdown or text). Relative paths are tried from the current directory, then
    /// from the workspace.
    #[arg(long, value_name = "PATH")]
    pub task: Option<PathBuf>,

    /// The task as inline text.
    #[arg(long, value_name = "TEXT")]
    pub task_text: Option<String>,

    /// Workspace directory (copied into each container at /workspace).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,

    /// Maximum number of iterations.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub iterations: u32,

    /// Attempt-phase timeout (e.g. `45m`, `1h30m`, `90` = seconds).
    #[arg(long, value_name = "D", default_value = "45m", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub attempt_timeout: Duration,

    /// Per-iteration attempt budgets, comma separated (`10m,20m`); the last one repeats.
    #[arg(long, value_name = "LIST", value_parser = parse_schedule, allow_hyphen_values = true)]
    pub attempt_timeouts: Option<Schedule>,

    /// Build-phase timeout, also used for every repair build.
    #[arg(long, value_name = "D", default_value = "20m", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub build_timeout: Duration,

    /// Reflection-phase timeout (default: the build timeout).
    #[arg(long, value_name = "D", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub reflection_timeout: Option<Duration>,

    /// Agent backend.
    #[arg(long, value_enum, default_value = "exec")]
    pub runner: RunnerChoice,

    /// The Codex executable inside the image (`exec`, `tui-goal`).
    #[arg(long, value_name = "BIN", default_value = "codex")]
    pub codex_bin: String,

    /// An extra argument for `codex exec` (and the TUI), before the MCP overrides (repeatable), e.g.
    /// `--codex-extra-arg=-c --codex-extra-arg='model="o3"'`.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub codex_extra_arg: Vec<String>,

    /// The Claude Code executable inside the image (`claude`).
    #[arg(long, value_name = "BIN", default_value = "claude")]
    pub claude_bin: String,

    /// Passed to Claude Code as `--model`.
    #[arg(long, value_name = "MODEL")]
    pub claude_model: Option<String>,

    /// Passed to Claude Code as `--permission-mode` (an empty value passes none).
    #[arg(long, value_name = "MODE", default_value = "bypassPermissions")]
    pub claude_permission_mode: String,

    /// Passed to Claude Code as `--max-budget-usd`.
    #[arg(long, value_name = "USD")]
    pub claude_max_budget_usd: Option<f64>,

    /// A raw extra argument for Claude Code, after the budget flag (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub claude_extra_arg: Vec<String>,

    /// The custom agent's description (`--runner custom`), a TOML file.
    #[arg(long, value_name = "FILE")]
    pub runner_config: Option<PathBuf>,

    /// An environment variable passed by name to the agent (repeatable; its value is read here
    /// and never recorded). Default: the runner's API keys that are set (`ANTHROPIC_API_KEY`,
    /// `ANTHROPIC_AUTH_TOKEN`, `CLAUDE_CODE_OAUTH_TOKEN` for claude; `OPENAI_API_KEY`,
    /// `CODEX_API_KEY` for exec).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,

    /// A credentials file mounted read-only into each session (repeatable), e.g.
    /// `~/.codex/auth.json`; a file under your home goes to the same place under the agent's
    /// home unless `:CONTAINER_PATH` says otherwise.
    #[arg(long, value_name = "PATH[:CONTAINER_PATH]")]
    pub credentials_file: Vec<String>,

    /// Run id (default: `YYYYMMDDTHHMMSSZ-<8 hex>`, UTC).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// After a verified solve (without --stop-score), still reflect, build and qualify.
    #[arg(long)]
    pub build_after_solve: bool,

    /// Stop when the score reaches this value (only a verified score counts).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub stop_score: Option<f64>,

    /// Key of the score in result.json.
    #[arg(long, value_name = "K", default_value = "score")]
    pub score_key: String,

    /// Higher scores are better (default: lower is better).
    #[arg(long)]
    pub higher_is_better: bool,

    /// What each attempt starts from.
    #[arg(long, value_enum, default_value = "continue")]
    pub task_state: TaskStateChoice,

    /// Guidance for how ambitious the built tooling should be.
    #[arg(long, value_enum, default_value = "deep")]
    pub harness_depth: DepthChoice,

    /// Self-test each build in a fresh container of the original workspace (default).
    #[arg(long, overrides_with = "no_qualify_artifacts")]
    pub qualify_artifacts: bool,

    /// Skip qualification (activation still runs).
    #[arg(long)]
    pub no_qualify_artifacts: bool,

    /// Same-session repair builds after a failed qualification.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub artifact_repair_attempts: u32,

    /// Shell command run after every attempt (even a timed-out one) in a fresh container of the
    /// attempt's state, network off; its stdout, one JSON object, scores and verifies it.
    #[arg(long, value_name = "CMD")]
    pub post_attempt_command: Option<String>,

    /// Key of the score in the post-attempt command's JSON (default: --score-key).
    #[arg(long, value_name = "K")]
    pub post_attempt_score_key: Option<String>,

    /// Timeout of the post-attempt command (the whole process tree is killed).
    #[arg(long, value_name = "D", default_value = "2m", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub post_attempt_timeout: Duration,

    /// Score the untouched workspace first, report improvement, keep the best workspace.
    #[arg(long)]
    pub optimization_mode: bool,

    /// In optimization mode, write the best-scoring workspace back at the end (default).
    #[arg(long, overrides_with = "no_restore_best")]
    pub restore_best: bool,

    /// In optimization mode, keep the final workspace instead of the best one.
    #[arg(long)]
    pub no_restore_best: bool,

    /// Image the sessions run in (default: `harnessgym/codex:latest` for exec,
    /// `harnessgym/claude:latest` for claude, else the custom agent's or `harnessgym/base:latest`).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// CPUs per container.
    #[arg(long, value_name = "N", default_value_t = 2.0)]
    pub cpus: f64,

    /// Memory per container (`4g`, `512m`, bytes); swap is disabled.
    #[arg(long, value_name = "SIZE", default_value = "4g")]
    pub memory: String,

    /// Maximum processes per container.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub pids_limit: i64,

    /// Container network for agent sessions (default: `bridge` for exec and claude and a custom
    /// agent that needs one, else `none`; qualification and scoring always run without one).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// OCI runtime of every container (e.g. `runsc` for gVisor, once installed in the engine);
    /// the engine's default (runc) when not given.
    #[arg(long, value_name = "NAME")]
    pub runtime: Option<String>,

    /// Most a container may write (`2g`, `500m`; `none` for no limit): the engine's storage
    /// quota where its storage driver has one, else a watchdog that stops the phase. A snapshot
    /// larger than this is refused.
    #[arg(long, value_name = "SIZE", default_value = "2g")]
    pub disk_limit: String,

    /// Evaluator files (a path or a glob, repeatable) always taken from the original workspace
    /// when an attempt is scored; an attempt that changed one is recorded and never counts as
    /// verified or best.
    #[arg(long, value_name = "PATH")]
    pub protect: Vec<String>,

    /// Keep every snapshot image of the run (default: the baseline, the final state and the
    /// best checkpoint; `harnessgym gc --run <id>` removes them).
    #[arg(long)]
    pub keep_snapshots: bool,

    /// Print the run summary as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}
