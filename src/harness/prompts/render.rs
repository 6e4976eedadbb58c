//! The four agent prompts (reference §8, `prompts.py:render_*_prompt`): attempt, reflection, build
//! and repair, each from a small input struct.
//!
//! The agent works in a container where the workspace is always [`CONTAINER_WORKSPACE`], so every
//! path in a prompt is a container path. Host paths can still arrive inside the JSON and text the
//! loop passes through (an attempt result's `task_path`, an activation report's skill paths, a
//! qualification report); as a last step every rendered prompt has the host workspace prefix
//! rewritten to `/workspace`, so the host layout is never shown to the agent (nor sent to a model
//! API).

use std::path::{Component, Path};
use std::time::Duration;

use serde_json::Value;

use super::PromptError;
use super::template::{self, Template};
use crate::duration::format_duration;
use crate::harness::json;
use crate::harness::registry::HARNESS_DIR;
use crate::harness::result::ResultMap;

/// The workspace directory inside every container.
pub const CONTAINER_WORKSPACE: &str = "/workspace";

/// `/workspace/.harnessgym/runs/<run_id>/iterations/<iteration>/result.json`: where the agent
/// writes its result (reference §3.1), as seen inside the container.
pub fn container_result_path(run_id: &str, iteration: u32) -> String {
    format!("{CONTAINER_WORKSPACE}/{HARNESS_DIR}/runs/{run_id}/iterations/{iteration}/result.json")
}

/// `--harness-depth`: how ambitious the reflection, build and repair guidance is (reference §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HarnessDepth {
    /// One line: keep the artifact focused and small.
    Standard,
    /// Capability-creating instrumentation, multi-tool MCP servers, comprehensive self-tests (the
    /// reference default).
    #[default]
    Deep,
}

impl HarnessDepth {
    /// Parses the flag value, `standard` or `deep`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "standard" => Some(Self::Standard),
            "deep" => Some(Self::Deep),
            _ => None,
        }
    }

    /// The flag value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Deep => "deep",
        }
    }

    fn guidance(self) -> Template {
        match self {
            Self::Standard => template::DEPTH_STANDARD,
            Self::Deep => template::DEPTH_DEEP,
        }
    }
}

/// The agent the prompt addresses (only its name changes in the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// OpenAI Codex (`exec`, `tui-goal` and `fake` runners, as in the reference).
    Codex,
    /// Claude Code (`claude` runner).
    ClaudeCode,
}

impl Agent {
    /// The agent of a `--runner` value: Claude Code for `claude`, Codex otherwise.
    pub fn for_runner(runner: &str) -> Self {
        if runner == "claude" {
            Self::ClaudeCode
        } else {
            Self::Codex
        }
    }

    /// The agent's product name.
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Codex => "Codex",
            Self::ClaudeCode => "Claude Code",
        }
    }
}

/// What every prompt of one iteration shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSession<'a> {
    /// The agent addressed.
    pub agent: Agent,
    /// The run id.
    pub run_id: &'a str,
    /// The iteration, from 1.
    pub iteration: u32,
    /// The workspace on the host. Never shown: any occurrence in a prompt becomes `/workspace`.
    pub host_workspace: &'a Path,
    /// Where the agent writes its result, as a container path.
    pub result_path: String,
}

impl<'a> PromptSession<'a> {
    /// A session whose result path is [`container_result_path`].
    pub fn new(agent: Agent, run_id: &'a str, iteration: u32, host_workspace: &'a Path) -> Self {
        Self {
            agent,
            run_id,
            iteration,
            host_workspace,
            result_path: container_result_path(run_id, iteration),
        }
    }

    /// Finishes a rendered prompt: host paths mapped to the container, one final newline.
    fn finish(&self, text: &str) -> String {
        let mut text = to_container_paths(text, self.host_workspace);
        text.push('\n');
        text
    }
}

/// Where the task text came from, as the attempt prompt names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOrigin {
    /// `--task-text`.
    Inline,
    /// A task file inside the workspace: its workspace-relative POSIX path.
    Workspace(String),
    /// A task file outside the workspace, which the container cannot see: its file name only.
    External(String),
}

impl TaskOrigin {
    /// Classifies `--task` (absent for `--task-text`) against the host workspace. Both paths
    /// should be absolute; a relative task path is taken as workspace-relative.
    pub fn resolve(task_path: Option<&Path>, host_workspace: &Path) -> Self {
        let Some(task_path) = task_path else {
            return Self::Inline;
        };
        let relative = if task_path.is_absolute() {
            task_path.strip_prefix(host_workspace).ok()
        } else {
            Some(task_path)
        };
        let inside = relative.filter(|relative| {
            relative
                .components()
                .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
        });
        match inside {
            Some(relative) => Self::Workspace(posix(relative)),
            None => Self::External(
                task_path
                    .file_name()
                    .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
            ),
        }
    }

    fn describe(&self) -> Result<String, PromptError> {
        match self {
            Self::Inline => template::TASK_INLINE.fill(&[]),
            Self::Workspace(relative) => Ok(relative.clone()),
            Self::External(file_name) => template::TASK_EXTERNAL.fill(&[("file_name", file_name)]),
        }
    }
}

/// The stop-score target of an optimization run (`--stop-score`, `--score-key`,
/// `--higher-is-better`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopTarget<'a> {
    /// The key the agent records the score under.
    pub score_key: &'a str,
    /// The score that ends the run.
    pub stop_score: f64,
    /// Direction of improvement.
    pub higher_is_better: bool,
}

/// Input of the attempt prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptPrompt<'a> {
    /// Shared iteration facts.
    pub session: PromptSession<'a>,
    /// Where the task came from.
    pub task_origin: TaskOrigin,
    /// The task text (trimmed in the prompt).
    pub task_text: &'a str,
    /// The rendered artifact context ([`super::render_artifact_context`]).
    pub artifact_context: &'a str,
    /// The attempt's time budget.
    pub timeout: Duration,
    /// The optimization stop target, if any.
    pub stop_target: Option<StopTarget<'a>>,
}

/// Input of the reflection prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ReflectionPrompt<'a> {
    /// Shared iteration facts.
    pub session: PromptSession<'a>,
    /// The iteration's `result.json` after the attempt.
    pub attempt_result: &'a ResultMap,
    /// The reflection's time budget.
    pub timeout: Duration,
    /// Depth guidance.
    pub depth: HarnessDepth,
}

/// Input of the build prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildPrompt<'a> {
    /// Shared iteration facts.
    pub session: PromptSession<'a>,
    /// The reflection's choice ([`crate::harness::result::selected_improvement`]).
    pub selected_improvement: &'a str,
    /// The build's time budget.
    pub timeout: Duration,
    /// Depth guidance.
    pub depth: HarnessDepth,
}

/// Input of the repair prompt (one per failed qualification attempt that has a repair left).
#[derive(Debug, Clone, PartialEq)]
pub struct RepairPrompt<'a> {
    /// Shared iteration facts.
    pub session: PromptSession<'a>,
    /// Which repair this is, from 1.
    pub repair_index: u32,
    /// Why qualification failed (gate warnings, failed checks), one per line.
    pub failure_reasons: &'a [String],
    /// Where the qualification report can be read, as a container path.
    pub report_path: &'a str,
    /// The report itself, embedded as sorted JSON when given (the reference always embeds it).
    pub report: Option<&'a Value>,
    /// The repair's time budget (the build timeout).
    pub timeout: Duration,
    /// Depth guidance.
    pub depth: HarnessDepth,
}

/// Renders the attempt prompt.
pub fn render_attempt_prompt(input: &AttemptPrompt<'_>) -> Result<String, PromptError> {
    let session = &input.session;
    let stop_target = match input.stop_target {
        None => String::new(),
        Some(target) => {
            let line = if target.higher_is_better {
                template::STOP_TARGET_HIGHER
            } else {
                template::STOP_TARGET_LOWER
            };
            let text = line.fill(&[
                ("score_key", target.score_key),
                ("stop_score", &python_float(target.stop_score)),
            ])?;
            format!("\n{text}\n")
        }
    };
    let text = template::ATTEMPT.fill(&[
        ("iteration", &session.iteration.to_string()),
        ("run_id", session.run_id),
        ("workspace", CONTAINER_WORKSPACE),
        ("timeout", &format_duration(input.timeout)),
        ("task_origin", &input.task_origin.describe()?),
        ("task_text", input.task_text.trim()),
        ("artifact_context", input.artifact_context),
        ("stop_target", &stop_target),
        ("agent", session.agent.display_name()),
        ("result_path", &session.result_path),
    ])?;
    Ok(session.finish(&text))
}

/// Renders the reflection prompt.
pub fn render_reflection_prompt(input: &ReflectionPrompt<'_>) -> Result<String, PromptError> {
    let session = &input.session;
    let attempt_result =
        json::to_pretty_json(input.attempt_result).map_err(|source| PromptError::Json {
            what: "attempt result",
            source,
        })?;
    let text = template::REFLECTION.fill(&[
        ("agent", session.agent.display_name()),
        ("iteration", &session.iteration.to_string()),
        ("timeout", &format_duration(input.timeout)),
        ("attempt_result", &attempt_result),
        ("depth_guidance", &input.depth.guidance().fill(&[])?),
        ("result_path", &session.result_path),
    ])?;
    Ok(session.finish(&text))
}

/// Renders the build prompt.
pub fn render_build_prompt(input: &BuildPrompt<'_>) -> Result<String, PromptError> {
    let session = &input.session;
    let text = template::BUILD.fill(&[
        ("agent", session.agent.display_name()),
        ("iteration", &session.iteration.to_string()),
        ("timeout", &format_duration(input.timeout)),
        ("selected_improvement", input.selected_improvement.trim()),
        ("depth_guidance", &input.depth.guidance().fill(&[])?),
        ("result_path", &session.result_path),
    ])?;
    Ok(session.finish(&text))
}

/// Renders the repair prompt.
pub fn render_repair_prompt(input: &RepairPrompt<'_>) -> Result<String, PromptError> {
    let session = &input.session;
    let reasons: Vec<String> = input
        .failure_reasons
        .iter()
        .map(|reason| reason.trim())
        .filter(|reason| !reason.is_empty())
        .map(|reason| format!("- {reason}"))
        .collect();
    let reasons = if reasons.is_empty() {
        template::REPAIR_NO_REASONS.fill(&[])?
    } else {
        reasons.join("\n")
    };
    let report = match input.report {
        None => String::new(),
        Some(report) => {
            let report_json = json::to_pretty_json(report).map_err(|source| PromptError::Json {
                what: "qualification report",
                source,
            })?;
            format!(
                "\n{}\n",
                template::REPAIR_REPORT.fill(&[("report_json", &report_json)])?
            )
        }
    };
    let text = template::REPAIR.fill(&[
        ("agent", session.agent.display_name()),
        ("iteration", &session.iteration.to_string()),
        ("timeout", &format_duration(input.timeout)),
        ("repair_index", &input.repair_index.to_string()),
        ("failure_reasons", &reasons),
        ("report_path", input.report_path),
        ("report", &report),
        ("depth_guidance", &input.depth.guidance().fill(&[])?),
        ("result_path", &session.result_path),
    ])?;
    Ok(session.finish(&text))
}

/// Rewrites every occurrence of the host workspace path in `text` to [`CONTAINER_WORKSPACE`].
///
/// Only whole path prefixes are rewritten: `/home/u/ws` and `/home/u/ws/x` are, `/home/u/ws2` is
/// not (it names another directory). A workspace of `/` or an empty path rewrites nothing.
pub fn to_container_paths(text: &str, host_workspace: &Path) -> String {
    let host = host_workspace.to_string_lossy();
    let host = host.trim_end_matches('/');
    if host.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(offset) = rest.find(host) {
        let after = &rest[offset + host.len()..];
        let continues_name = after
            .chars()
            .next()
            .is_some_and(|next| next.is_alphanumeric() || matches!(next, '.' | '_' | '-'));
        out.push_str(&rest[..offset]);
        out.push_str(if continues_name {
            host
        } else {
            CONTAINER_WORKSPACE
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A float as Python's `str()` writes it for the values a stop score takes (`4.0`, `0.25`).
fn python_float(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{value:.1}")
    } else {
        value.to_string()
    }
}

/// A relative path with `/` separators and no `.` components.
fn posix(relative: &Path) -> String {
    relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}
