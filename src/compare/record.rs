//! `trial.json` (reference §3.7, one entry of `compare_report.json`'s `trials`), made from what
//! a trial left on disk: its iterations' `result.json` files, its telemetry, its post command.
//! Pure but for reading those files; the same files give the same record.
//!
//! Beside the reference's keys it carries a `harnessgym` block: `format_version`, the compare id,
//! when the trial started and ended, and `rerun` — what re-runs it exactly (the compare's
//! settings, the trial's full `run` argv, image and engine, limits, the baselines' ids and diff
//! ids, the bundle's digest); a re-run adds `rerun_of`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::Group;
use super::files::{IterationRow, Telemetry, TrialRecord};
use super::validity::{self, Requirements};
use crate::harness::json::read_json_if_exists;
use crate::harness::optimization::PostResult;
use crate::harness::result::{extract_score, is_solved_and_verified};

/// Version of the `harnessgym` block of `trial.json`.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a trial record is made of.
#[derive(Debug)]
pub struct TrialFacts {
    /// The group.
    pub group: Group,
    /// 1-based trial number.
    pub k: u32,
    /// The trial's host workspace.
    pub workspace: PathBuf,
    /// Its run id.
    pub run_id: String,
    /// What ended the trial early (empty: nothing).
    pub error: String,
    /// Wall time of the whole trial.
    pub duration_seconds: f64,
    /// `solved` per iteration from the run's summary, when the run finished.
    pub solved: Vec<bool>,
    /// The score key of `result.json`.
    pub score_key: String,
    /// What the bundle copied into the trial (harnessed trials).
    pub copied: Vec<String>,
    /// The trial's `mcp_telemetry`.
    pub telemetry: Telemetry,
    /// Whether the compare has a post command.
    pub post_configured: bool,
    /// What the post command did.
    pub post: Option<PostResult>,
    /// Its score key.
    pub post_score_key: String,
    /// The harness rules.
    pub requirements: Requirements,
    /// The `harnessgym` block.
    pub harnessgym: Value,
}

impl TrialFacts {
    /// The run directory.
    pub fn run_dir(&self) -> PathBuf {
        self.workspace.join(".harnessgym/runs").join(&self.run_id)
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The row of iteration `i`, from its `result.json`.
fn iteration_row(
    i: u32,
    path: &Path,
    result: &Map<String, Value>,
    facts: &TrialFacts,
) -> IterationRow {
    let empty = Value::Null;
    let attempt = result
        .get("phases")
        .and_then(|p| p.get("attempt"))
        .unwrap_or(&empty);
    let usage = result.get("harness_usage").unwrap_or(&empty);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    IterationRow {
        iteration: i,
        status: result
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
        solved: facts
            .solved
            .get(i as usize - 1)
            .copied()
            .unwrap_or_else(|| is_solved_and_verified(result)),
        result_path: path.display().to_string(),
        attempt_status: text(attempt, "status").unwrap_or_default(),
        attempt_return_code: attempt.get("return_code").and_then(Value::as_i64),
        attempt_timed_out: attempt
            .get("timed_out")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        attempt_duration_seconds: attempt
            .get("duration_seconds")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        attempt_message: text(attempt, "message").unwrap_or_default(),
        attempt_transcript_path: text(attempt, "transcript_path"),
        score: extract_score(result, &facts.score_key),
        active_mcp_count: count("active_mcp_count"),
        active_tool_count: count("active_tool_count"),
        used_active_tools: strings(usage.get("used_active_tools")),
        mcp_call_count: count("mcp_call_count"),
        mcp_called_tools: strings(usage.get("mcp_called_tools")),
    }
}

/// One row per iteration that left a `result.json`, in order.
pub fn iteration_rows(facts: &TrialFacts) -> Vec<IterationRow> {
    let mut rows = Vec::new();
    for i in 1.. {
        let path = facts.run_dir().join(format!("iterations/{i}/result.json"));
        let Ok(Some(Value::Object(result))) = read_json_if_exists(&path) else {
            break;
        };
        rows.push(iteration_row(i, &path, &result, facts));
    }
    rows
}

/// The trial's record.
pub fn trial(facts: &TrialFacts) -> TrialRecord {
    let rows = iteration_rows(facts);
    let last = rows.last();
    let status = match (last, facts.error.is_empty()) {
        (None, true) => "not_started".to_string(),
        (None, false) => "error".to_string(),
        (Some(row), _) => row.status.clone(),
    };
    let runner = validity::runner(&facts.error, &rows);
    let harness = validity::harness(
        facts.group == Group::Harnessed,
        !facts.copied.is_empty(),
        facts.requirements,
        &rows,
        &facts.telemetry,
    );
    let comparison_reason = [&runner.reason, &harness.reason]
        .into_iter()
        .find(|r| !r.is_empty())
        .cloned()
        .unwrap_or_default();
    let post = validity::post(
        facts.post_configured,
        facts.post.as_ref(),
        &comparison_reason,
        &facts.post_score_key,
    );
    TrialRecord {
        group: facts.group.name().to_string(),
        trial: facts.k,
        workspace: facts.workspace.display().to_string(),
        run_id: facts.run_id.clone(),
        run_dir: facts.run_dir().display().to_string(),
        result_path: last.map(|r| r.result_path.clone()),
        status,
        solved: last.is_some_and(|r| r.solved),
        error: facts.error.clone(),
        duration_seconds: facts.duration_seconds,
        attempt_duration_seconds: last.map_or(0.0, |r| r.attempt_duration_seconds),
        cumulative_attempt_duration_seconds: rows.iter().map(|r| r.attempt_duration_seconds).sum(),
        iterations_completed: rows.len(),
        score: last.and_then(|r| r.score),
        copied_artifacts: facts.copied.clone(),
        mcp_call_count: facts.telemetry.count,
        mcp_called_tools: facts.telemetry.called_tools.clone(),
        mcp_telemetry: facts.telemetry.clone(),
        runner_validation: runner,
        harness_validation: harness,
        comparison_valid: comparison_reason.is_empty(),
        comparison_invalid_reason: comparison_reason,
        post_result: post.result,
        objective_post_valid: post.objective_valid,
        post_valid: post.valid,
        post_invalid_reason: post.invalid_reason,
        post_score: post.score,
        post_treated_as_worst: post.treated_as_worst,
        harnessgym: Some(facts.harnessgym.clone()),
        iterations: rows,
    }
}
