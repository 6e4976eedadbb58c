//! The compare's files as types (reference §3.7): `compare_report.json` and each trial's
//! `trial.json` (one entry of the report's `trials`). The compare builds these and serialises
//! them, so a missing or misspelled key is a compile error; a test reads the compare fixture in
//! the reference's shape (`tests/fixtures/compare/ab-demo/`) into them and writes it back.
//! Keys the reference leaves out when absent (the harness fields of a plain trial, harnessgym's
//! blocks) are skipped when `None`. Post-command records stay `Value`s: their type lives with
//! their writer (`optimization::PostResult`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::NumberSummary;

/// `compare_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// When the compare started.
    pub created_at: String,
    /// The template (absolute).
    pub workspace_template: String,
    /// The bundle's `.harnessgym` directory (absolute), when there is one.
    pub artifact_source: Option<String>,
    /// Every trial: plain 1..N, then harnessed 1..N.
    pub trials: Vec<TrialRecord>,
    /// One summary per group.
    pub summary: Summaries,
    /// harnessgym's block: the verdict (`crate::report::CompareBlock`) and what the compare was
    /// made of; absent in the reference's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harnessgym: Option<Value>,
}

/// `compare_report.summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summaries {
    /// The plain group.
    pub plain: GroupSummary,
    /// The harnessed group.
    pub harnessed: GroupSummary,
}

/// One group's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Trials.
    pub count: usize,
    /// The last attempt's time (best: least).
    pub attempt_duration_seconds: NumberSummary,
    /// All attempts' time (best: least).
    pub cumulative_attempt_duration_seconds: NumberSummary,
    /// Iterations that ran (best: most).
    pub iterations_completed: NumberSummary,
    /// The agent's score (best: `--higher-is-better`'s direction).
    pub score: NumberSummary,
    /// The valid trials' post scores, and the counts of the others.
    pub post_score: PostScoreSummary,
    /// The post commands' statuses (`not_run` when none ran).
    pub post_status: BTreeMap<String, u64>,
    /// `valid` / `invalid` comparisons.
    pub comparison_valid: BTreeMap<String, u64>,
    /// MCP calls (best: most).
    pub mcp_call_count: NumberSummary,
    /// Every tool called in the group.
    pub mcp_called_tools: Vec<String>,
    /// Each trial's `post_invalid_reason`, counted.
    pub invalid_reasons: BTreeMap<String, u64>,
}

/// `summary.<group>.post_score`: a number summary of the valid post scores plus counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostScoreSummary {
    /// Valid scores.
    pub count: usize,
    /// The least.
    pub min: Option<f64>,
    /// The median.
    pub median: Option<f64>,
    /// The most.
    pub max: Option<f64>,
    /// The best in the score's direction.
    pub best: Option<f64>,
    /// Trials whose post score counts.
    pub valid_count: usize,
    /// Trials that should have been scored and do not count (the worst case).
    pub invalid_count: usize,
    /// Trials nobody scored (no post command).
    pub not_run_count: usize,
    /// Whether some trial of the group was treated as the worst case.
    pub invalid_treated_as_worst: bool,
}

/// `trial.json`, and one entry of the report's `trials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// `plain` or `harnessed`.
    pub group: String,
    /// 1-based.
    pub trial: u32,
    /// The trial's host workspace.
    pub workspace: String,
    /// Its run id.
    pub run_id: String,
    /// Its run directory.
    pub run_dir: String,
    /// The last iteration's result.json.
    pub result_path: Option<String>,
    /// The last iteration's status (`not_started`, `error` without one).
    pub status: String,
    /// The last iteration solved.
    pub solved: bool,
    /// What ended the trial early (empty: nothing).
    pub error: String,
    /// Wall time of the trial.
    pub duration_seconds: f64,
    /// The last iteration's attempt time.
    pub attempt_duration_seconds: f64,
    /// All attempts' time.
    pub cumulative_attempt_duration_seconds: f64,
    /// Iterations that ran.
    pub iterations_completed: usize,
    /// One row per iteration.
    pub iterations: Vec<IterationRow>,
    /// The last iteration's score (read with the run's score key).
    pub score: Option<f64>,
    /// What the bundle copied into the trial.
    pub copied_artifacts: Vec<String>,
    /// The trial's MCP calls.
    pub mcp_telemetry: Telemetry,
    /// `mcp_telemetry.count`.
    pub mcp_call_count: u64,
    /// `mcp_telemetry.called_tools`.
    pub mcp_called_tools: Vec<String>,
    /// Whether the runner did its part.
    pub runner_validation: RunnerValidation,
    /// Whether the harness did (harnessed trials).
    pub harness_validation: HarnessValidation,
    /// Runner and harness valid.
    pub comparison_valid: bool,
    /// Why not (empty: valid).
    pub comparison_invalid_reason: String,
    /// The post command's record (prefix `post`), when it ran.
    pub post_result: Option<Value>,
    /// The post command passed with a finite score (`null`: no post command).
    pub objective_post_valid: Option<bool>,
    /// That, and the comparison is valid (`null`: no post command).
    pub post_valid: Option<bool>,
    /// Why the trial does not count.
    pub post_invalid_reason: String,
    /// The post score, when valid.
    pub post_score: Option<f64>,
    /// It should have been scored and does not count.
    pub post_treated_as_worst: bool,
    /// harnessgym's block: times, and what re-runs the trial exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harnessgym: Option<Value>,
}

/// One iteration of a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRow {
    /// 1-based.
    pub iteration: u32,
    /// Its result's status.
    pub status: String,
    /// Solved (and verified) or the stop score reached.
    pub solved: bool,
    /// Its result.json.
    pub result_path: String,
    /// The attempt's runner status.
    pub attempt_status: String,
    /// Its exit code.
    pub attempt_return_code: Option<i64>,
    /// Whether it timed out.
    pub attempt_timed_out: bool,
    /// Its time.
    pub attempt_duration_seconds: f64,
    /// Its message.
    pub attempt_message: String,
    /// Its transcript.
    pub attempt_transcript_path: Option<String>,
    /// The result's score.
    pub score: Option<f64>,
    /// MCP servers active for the attempt.
    pub active_mcp_count: u64,
    /// Tools active for the attempt.
    pub active_tool_count: u64,
    /// Active tools it used.
    pub used_active_tools: Vec<String>,
    /// MCP calls it made.
    pub mcp_call_count: u64,
    /// Tools it called.
    pub mcp_called_tools: Vec<String>,
}

/// `mcp_telemetry` (the reference's telemetry summary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// The log.
    pub path: String,
    /// Calls.
    pub count: u64,
    /// Calls with status `completed`.
    pub successful_count: u64,
    /// Calls with status `error`, `failed` or `timeout`.
    pub failed_count: u64,
    /// Calls per status.
    pub status_counts: BTreeMap<String, u64>,
    /// Tools called.
    pub called_tools: Vec<String>,
    /// Servers called.
    pub servers: Vec<String>,
    /// The first events as logged.
    pub samples: Vec<Value>,
}

/// `runner_validation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerValidation {
    /// Whether the runner did its part.
    pub valid: bool,
    /// Why not (empty: valid).
    pub reason: String,
    /// Iterations whose attempt or result failed.
    pub failed_iterations: Vec<u32>,
    /// Their attempts.
    pub failed_attempts: Vec<FailedAttempt>,
}

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// Its iteration.
    pub iteration: u32,
    /// The attempt's runner status.
    pub status: String,
    /// Its exit code.
    pub return_code: Option<i64>,
    /// Whether it timed out.
    pub timed_out: bool,
    /// Its message.
    pub message: String,
    /// Its transcript.
    pub transcript_path: Option<String>,
}

/// `harness_validation`: three keys for a plain trial, all of them for a harnessed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HarnessValidation {
    /// Whether any rule applied.
    pub required: bool,
    /// Whether the harness did its part.
    pub valid: bool,
    /// Why not (empty: valid).
    pub reason: String,
    /// `--require-active-harness` applied (artifacts were copied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_harness_required: Option<bool>,
    /// `--require-harness-tool-use` applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_required: Option<bool>,
    /// The most tools any iteration had active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_tool_count: Option<u64>,
    /// The most MCP servers any iteration had active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_mcp_count: Option<u64>,
    /// MCP calls recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_call_count: Option<u64>,
    /// Of which completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_successful_call_count: Option<u64>,
    /// Tools called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_called_tools: Option<Vec<String>>,
    /// Calls per status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_call_status_counts: Option<BTreeMap<String, u64>>,
}

/// The post fields of a trial.
#[derive(Debug, Clone, PartialEq)]
pub struct PostFields {
    /// `post_result`.
    pub result: Option<Value>,
    /// `objective_post_valid`.
    pub objective_valid: Option<bool>,
    /// `post_valid`.
    pub valid: Option<bool>,
    /// `post_invalid_reason`.
    pub invalid_reason: String,
    /// `post_score`.
    pub score: Option<f64>,
    /// `post_treated_as_worst`.
    pub treated_as_worst: bool,
}

/// `value` as JSON (these types always serialise).
pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare/ab-demo")
    }

    /// Numbers as floats, so `1` and `1.0` read the same (Python writes counts as ints).
    fn floats(value: Value) -> Value {
        match value {
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| serde_json::json!(f)),
            Value::Array(items) => Value::Array(items.into_iter().map(floats).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, floats(v))).collect())
            }
            other => other,
        }
    }

    fn round_trips<T: Serialize + serde::de::DeserializeOwned>(path: &Path) {
        let text = std::fs::read_to_string(path).expect("read");
        let original: Value = serde_json::from_str(&text).expect("json");
        let typed: T = serde_json::from_value(original.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            floats(to_value(&typed)),
            floats(original),
            "{}",
            path.display()
        );
    }

    #[test]
    fn the_compare_fixture_round_trips() {
        round_trips::<CompareReport>(&fixture().join("compare_report.json"));
        for group in ["plain", "harnessed"] {
            for k in 1..=4 {
                round_trips::<TrialRecord>(
                    &fixture().join(format!("{group}/trial_{k}/trial.json")),
                );
            }
        }
    }
}
