//! The parts of a run's files that `runs`, `show` and `report` use (reference §3.3, §3.4, §3.6;
//! `harnessgym` blocks from `orchestrator/summary.rs`). Every field is optional and lenient
//! ([`super::read`]): files written by HarnessGym 0.1.1 and by harnessgym read the same, and an
//! agent-shaped `result.json` cannot make a whole file unreadable.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::read::{lenient, lenient_list, lenient_map};

/// `run_config.json` (§3.3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunConfigFile {
    /// The run id.
    #[serde(deserialize_with = "lenient")]
    pub run_id: Option<String>,
    /// The workspace (host path when written).
    #[serde(deserialize_with = "lenient")]
    pub workspace: Option<String>,
    /// The task file.
    #[serde(deserialize_with = "lenient")]
    pub task_path: Option<String>,
    /// The iteration budget.
    #[serde(deserialize_with = "lenient")]
    pub iterations: Option<u64>,
    /// The runner's name.
    #[serde(deserialize_with = "lenient")]
    pub runner: Option<String>,
    /// `--score-key`.
    #[serde(deserialize_with = "lenient")]
    pub score_key: Option<String>,
    /// `--higher-is-better`.
    #[serde(deserialize_with = "lenient")]
    pub higher_is_better: bool,
    /// `--optimization-mode`.
    #[serde(deserialize_with = "lenient")]
    pub optimization_mode: bool,
    /// `--stop-score`.
    #[serde(deserialize_with = "lenient")]
    pub stop_score: Option<f64>,
    /// `--post-attempt-command`.
    #[serde(deserialize_with = "lenient")]
    pub post_attempt_command: Option<String>,
}

/// One phase's runner record (`summary.iterations[].attempt`, `result.phases.*`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PhaseRecord {
    /// `attempt`, `reflection` or `build` (repairs say `build`).
    #[serde(deserialize_with = "lenient")]
    pub phase: Option<String>,
    /// The runner's status.
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Wall time of the phase.
    #[serde(deserialize_with = "lenient")]
    pub duration_seconds: Option<f64>,
    /// Whether it hit its timeout.
    #[serde(deserialize_with = "lenient")]
    pub timed_out: bool,
}

/// One line of `summary.iterations` (§3.6).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryIteration {
    /// The iteration number.
    #[serde(deserialize_with = "lenient")]
    pub iteration: Option<u32>,
    /// Its final status.
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// The attempt phase.
    #[serde(deserialize_with = "lenient")]
    pub attempt: Option<PhaseRecord>,
    /// The reflection phase, when it ran.
    #[serde(deserialize_with = "lenient")]
    pub reflection: Option<PhaseRecord>,
    /// The build phase, when it ran.
    #[serde(deserialize_with = "lenient")]
    pub build: Option<PhaseRecord>,
    /// Solved and verified.
    #[serde(deserialize_with = "lenient")]
    pub solved: bool,
}

/// `summary.optimization`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OptimizationBlock {
    /// Optimization mode was on.
    #[serde(deserialize_with = "lenient")]
    pub enabled: bool,
    /// The baseline's score.
    #[serde(deserialize_with = "lenient")]
    pub baseline_score: Option<f64>,
    /// The best score.
    #[serde(deserialize_with = "lenient")]
    pub best_score: Option<f64>,
}

/// `summary.harnessgym.timings[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// The step's label (`iteration 1/2 attempt`, `  iteration 1 qualification 1`, ...).
    #[serde(deserialize_with = "lenient")]
    pub step: String,
    /// Its wall time.
    #[serde(deserialize_with = "lenient")]
    pub seconds: Option<f64>,
}

/// The `harnessgym` block of `summary.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryBlock {
    /// Its format version.
    #[serde(deserialize_with = "lenient")]
    pub format_version: Option<u32>,
    /// Wall time of the whole run.
    #[serde(deserialize_with = "lenient")]
    pub wall_seconds: Option<f64>,
    /// Every timed step.
    #[serde(deserialize_with = "lenient_list")]
    pub timings: Vec<Timing>,
    /// Limits hit.
    #[serde(deserialize_with = "lenient_list")]
    pub limits: Vec<Value>,
}

/// `summary.json` (§3.6).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryFile {
    /// Per-iteration lines.
    #[serde(deserialize_with = "lenient_list")]
    pub iterations: Vec<SummaryIteration>,
    /// The last iteration's status (`not_started` when none ran).
    #[serde(deserialize_with = "lenient")]
    pub final_status: Option<String>,
    /// The last iteration was solved and verified.
    #[serde(deserialize_with = "lenient")]
    pub solved: bool,
    /// The best score over the baseline and every iteration.
    #[serde(deserialize_with = "lenient")]
    pub best_score: Option<f64>,
    /// The optimization block.
    #[serde(deserialize_with = "lenient")]
    pub optimization: OptimizationBlock,
    /// harnessgym's own block (absent in the reference's files).
    #[serde(deserialize_with = "lenient")]
    pub harnessgym: Option<SummaryBlock>,
}

/// `result.post_attempt` (§3.4).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PostAttempt {
    /// `completed`, `failed`, `timeout`...
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// The score read from its JSON.
    #[serde(deserialize_with = "lenient")]
    pub score: Option<f64>,
    /// Its wall time.
    #[serde(deserialize_with = "lenient")]
    pub duration_seconds: Option<f64>,
}

/// `result.harness_usage` (§2.9).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Active tools (MCP tools and tool files) before the attempt.
    #[serde(deserialize_with = "lenient")]
    pub active_tool_count: Option<u64>,
    /// Their names.
    #[serde(deserialize_with = "lenient_list")]
    pub active_tools: Vec<String>,
    /// Active tools the attempt used (declared or inferred).
    #[serde(deserialize_with = "lenient_list")]
    pub used_active_tools: Vec<String>,
    /// Tools the agent said it used.
    #[serde(deserialize_with = "lenient_list")]
    pub used_harness_tools: Vec<String>,
    /// MCP calls recorded.
    #[serde(deserialize_with = "lenient")]
    pub mcp_call_count: Option<u64>,
}

/// `result.artifact_qualification` (§5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Qualification {
    /// `passed`, `failed`, `disabled`.
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Which clean-room attempt this is.
    #[serde(deserialize_with = "lenient")]
    pub iteration: Option<u32>,
    /// Artifacts marked qualified.
    #[serde(deserialize_with = "lenient_list")]
    pub qualified_artifacts: Vec<String>,
    /// Artifacts quarantined.
    #[serde(deserialize_with = "lenient_list")]
    pub quarantined_artifacts: Vec<String>,
    /// Artifacts that failed activation.
    #[serde(deserialize_with = "lenient_list")]
    pub failed_artifacts: Vec<String>,
    /// Where the report is.
    #[serde(deserialize_with = "lenient")]
    pub report_path: Option<String>,
}

/// An artifact entry (`tooling.built[]`, registry artifacts).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ArtifactEntry {
    /// Its id.
    #[serde(deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its kind.
    #[serde(deserialize_with = "lenient")]
    pub kind: Option<String>,
    /// Its workspace-relative path.
    #[serde(deserialize_with = "lenient")]
    pub path: Option<String>,
}

/// `result.tooling` (the fake runner's build report).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Tooling {
    /// What the build says it built.
    #[serde(deserialize_with = "lenient_list")]
    pub built: Vec<ArtifactEntry>,
}

/// `iterations/<n>/result.json` (§3.4): written by harnessgym and by the agent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResultFile {
    /// The iteration's status.
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// When the result was created.
    #[serde(deserialize_with = "lenient")]
    pub created_at: Option<String>,
    /// Runner records by phase name (`attempt`, `reflection`, `build`, `repair_<k>`).
    #[serde(deserialize_with = "lenient_map")]
    pub phases: BTreeMap<String, PhaseRecord>,
    /// The post-attempt command's record.
    #[serde(deserialize_with = "lenient")]
    pub post_attempt: Option<PostAttempt>,
    /// Harness usage of the attempt.
    #[serde(deserialize_with = "lenient")]
    pub harness_usage: Option<Usage>,
    /// The latest qualification report.
    #[serde(deserialize_with = "lenient")]
    pub artifact_qualification: Option<Qualification>,
    /// The build's own report.
    #[serde(deserialize_with = "lenient")]
    pub tooling: Option<Tooling>,
}

/// `checkpoints/best_manifest.json` (§2.8).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BestManifest {
    /// The iteration of the best state (0 = the baseline).
    #[serde(deserialize_with = "lenient")]
    pub iteration: Option<u32>,
    /// Its score.
    #[serde(deserialize_with = "lenient")]
    pub score: Option<f64>,
}
