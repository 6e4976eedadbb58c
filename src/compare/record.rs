//! `trial.json` (reference §3.7, one entry of `compare_report.json`'s `trials`), made from what
//! a trial left on disk: its iterations' `result.json` files, its telemetry, its post command.
//! Pure but for reading those files; the same files give the same record.
//!
//! Beside the reference's keys it carries a `harnessgym` block: `format_version`, the compare id,
//! when the trial started and ended, and `rerun` — what re-runs it exactly (the compare's
//! settings, the trial's full `run` argv, image and engine, limits, the baselines' ids and diff
//! ids, the bundle's digest); a re-run adds `rerun_of`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::config::Group;
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
    pub telemetry: Value,
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

fn text(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// The §3.7 row of iteration `i`, from its `result.json`.
fn iteration_row(i: u32, path: &Path, result: &Map<String, Value>, facts: &TrialFacts) -> Value {
    let attempt = result
        .get("phases")
        .and_then(|p| p.get("attempt"))
        .cloned()
        .unwrap_or(Value::Null);
    let usage = result.get("harness_usage").cloned().unwrap_or(Value::Null);
    let solved = facts
        .solved
        .get(i as usize - 1)
        .copied()
        .unwrap_or_else(|| is_solved_and_verified(result));
    json!({
        "iteration": i,
        "status": result.get("status").and_then(Value::as_str).unwrap_or("unknown"),
        "solved": solved,
        "result_path": path.display().to_string(),
        "attempt_status": attempt.get("status").and_then(Value::as_str).unwrap_or(""),
        "attempt_return_code": text(&attempt, "return_code"),
        "attempt_timed_out": attempt.get("timed_out").and_then(Value::as_bool).unwrap_or(false),
        "attempt_duration_seconds": attempt.get("duration_seconds").and_then(Value::as_f64).unwrap_or(0.0),
        "attempt_message": attempt.get("message").and_then(Value::as_str).unwrap_or(""),
        "attempt_transcript_path": text(&attempt, "transcript_path"),
        "score": extract_score(result, &facts.score_key),
        "active_mcp_count": usage.get("active_mcp_count").and_then(Value::as_u64).unwrap_or(0),
        "active_tool_count": usage.get("active_tool_count").and_then(Value::as_u64).unwrap_or(0),
        "used_active_tools": usage.get("used_active_tools").cloned().unwrap_or(json!([])),
        "mcp_call_count": usage.get("mcp_call_count").and_then(Value::as_u64).unwrap_or(0),
        "mcp_called_tools": usage.get("mcp_called_tools").cloned().unwrap_or(json!([])),
    })
}

/// One row per iteration that left a `result.json`, in order.
pub fn iteration_rows(facts: &TrialFacts) -> Vec<Value> {
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
pub fn trial(facts: &TrialFacts) -> Value {
    let rows = iteration_rows(facts);
    let last = rows.last().cloned().unwrap_or(Value::Null);
    let attempt = |row: &Value| row["attempt_duration_seconds"].as_f64().unwrap_or(0.0);
    let status = match (&last, facts.error.is_empty()) {
        (Value::Null, true) => "not_started".to_string(),
        (Value::Null, false) => "error".to_string(),
        (row, _) => row["status"].as_str().unwrap_or("unknown").to_string(),
    };
    let runner = validity::runner(&facts.error, &rows);
    let copied = !facts.copied.is_empty();
    let harness = validity::harness(
        facts.group == Group::Harnessed,
        copied,
        facts.requirements,
        &rows,
        &facts.telemetry,
    );
    let comparison_reason = [&runner, &harness]
        .iter()
        .find_map(|v| v["reason"].as_str().filter(|r| !r.is_empty()))
        .unwrap_or("")
        .to_string();
    let mut record = json!({
        "group": facts.group.name(),
        "trial": facts.k,
        "workspace": facts.workspace.display().to_string(),
        "run_id": facts.run_id,
        "run_dir": facts.run_dir().display().to_string(),
        "result_path": last.get("result_path").cloned().unwrap_or(Value::Null),
        "status": status,
        "solved": last.get("solved").and_then(Value::as_bool).unwrap_or(false),
        "error": facts.error,
        "duration_seconds": facts.duration_seconds,
        "attempt_duration_seconds": if rows.is_empty() { 0.0 } else { attempt(&last) },
        "cumulative_attempt_duration_seconds": rows.iter().map(attempt).sum::<f64>(),
        "iterations_completed": rows.len(),
        "score": last.get("score").cloned().unwrap_or(Value::Null),
        "copied_artifacts": facts.copied,
        "mcp_telemetry": facts.telemetry,
        "mcp_call_count": facts.telemetry.get("count").cloned().unwrap_or(json!(0)),
        "mcp_called_tools": facts.telemetry.get("called_tools").cloned().unwrap_or(json!([])),
        "runner_validation": runner,
        "harness_validation": harness,
        "comparison_valid": comparison_reason.is_empty(),
        "comparison_invalid_reason": comparison_reason,
        "harnessgym": facts.harnessgym,
        "iterations": rows,
    });
    let post = validity::post(
        facts.post_configured,
        facts.post.as_ref(),
        &comparison_reason,
        &facts.post_score_key,
    );
    if let (Value::Object(record), Value::Object(post)) = (&mut record, post) {
        record.extend(post);
    }
    record
}
