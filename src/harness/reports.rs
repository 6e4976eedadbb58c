//! The reference's report files as types: `summary.json` (§3.6), the checkpoint manifest and
//! report (§2.8), `qualification.json` (§5) and the activation gate (§6.3).
//!
//! The loop builds these and serialises them, and reads reports back through them — never by
//! string indexing — so a missing or misspelled key is a compile error, and a test checks each
//! type against files the reference itself wrote (`tests/fixtures/reference/`): they read them,
//! and write back the same keys. Optional keys the reference leaves out when absent are skipped
//! when `None`. Phase records and post-command records stay `Value`s here: their types live
//! with their writers (`runner::RunnerResult`, `optimization::PostResult`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run.
    pub run_id: String,
    /// One entry per iteration that ran.
    pub iterations: Vec<IterationEntry>,
    /// The last iteration's status (`not_started` when none ran).
    pub final_status: String,
    /// The last iteration's `solved`.
    pub solved: bool,
    /// The best extracted score, baseline included.
    pub best_score: Option<f64>,
    /// The baseline command's record (optimization mode with a post command).
    pub baseline_post_attempt: Option<Value>,
    /// The optimization block (always present).
    pub optimization: OptimizationSummary,
    /// The best-checkpoint report.
    pub best_checkpoint: CheckpointReport,
    /// The qualification template and one line per qualification.
    pub artifact_qualification: QualificationSummary,
    /// One usage line per iteration.
    pub harness_usage: Vec<UsageLine>,
    /// One gate line per iteration that built tooling.
    pub harness_quality_gates: Vec<GateLine>,
    /// harnessgym's own block (format-versioned); absent in the reference's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harnessgym: Option<Value>,
}

/// One `summary.iterations[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationEntry {
    /// 1-based.
    pub iteration: u32,
    /// Its result's status.
    pub status: String,
    /// Host path of its result.json.
    pub result_path: String,
    /// The attempt's runner record.
    pub attempt: Value,
    /// The reflection's, when it ran.
    pub reflection: Option<Value>,
    /// The build's, when it ran.
    pub build: Option<Value>,
    /// Solved (and verified), or the stop score reached.
    pub solved: bool,
}

/// `summary.optimization`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizationSummary {
    /// `--optimization-mode`.
    pub enabled: bool,
    /// `--score-key`.
    pub score_key: String,
    /// `--higher-is-better`.
    pub higher_is_better: bool,
    /// The passing baseline's score.
    pub baseline_score: Option<f64>,
    /// The run's best score.
    pub best_score: Option<f64>,
    /// The best is strictly better than the baseline.
    pub improved: bool,
    /// `--restore-best`.
    pub restore_best: bool,
    /// The same report as `summary.best_checkpoint`.
    pub best_checkpoint: CheckpointReport,
    /// best − baseline, when both are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_delta_from_baseline: Option<f64>,
    /// 1 − best/baseline (lower is better, baseline ≠ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_reduction: Option<f64>,
    /// best/baseline − 1 (higher is better, baseline ≠ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_improvement: Option<f64>,
}

/// The best-checkpoint report (§2.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointReport {
    /// Checkpoints are taken.
    pub enabled: bool,
    /// The best was written back at the end.
    pub restored: bool,
    /// Every capture, in order.
    pub captures: Vec<CheckpointManifest>,
    /// The last capture, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<CheckpointManifest>,
    /// Why there is no checkpoint (`disabled_by_config`, `no_checkpoint_captured`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The restore, when it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreReport>,
}

/// `best_manifest.json`: one capture of the best state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// When.
    pub created_at: String,
    /// Which iteration (0: the baseline).
    pub iteration: u32,
    /// Its score.
    pub score: f64,
    /// Why it was captured.
    pub reason: String,
    /// Where the state is (for us: the snapshot's `repo:tag`).
    pub checkpoint_path: String,
    /// Host path of `best_manifest.json`.
    pub manifest_path: String,
    /// Number of files in the state.
    pub file_count: usize,
    /// Every file of the state (the reference's exclusions left out), sorted.
    pub files: Vec<String>,
}

/// The restore of the best state at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// Always true when present.
    pub restored: bool,
    /// When.
    pub restored_at: String,
    /// As in the manifest.
    pub checkpoint_path: String,
    /// As in the manifest.
    pub manifest_path: String,
    /// Files of the restored state.
    pub restored_file_count: usize,
    /// Their paths.
    pub restored_files: Vec<String>,
    /// The manifest's iteration.
    pub iteration: u32,
    /// The manifest's score.
    pub score: f64,
    /// The manifest's reason.
    pub reason: String,
    /// The post command run again on the restored state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_restore: Option<Value>,
    /// Whether it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_restore_passed: Option<bool>,
}

/// `summary.artifact_qualification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationSummary {
    /// The clean rooms' template (none without qualification).
    pub template: Option<TemplateReport>,
    /// One line per qualification, in order.
    pub reports: Vec<QualificationLine>,
}

/// The qualification template (for us: the baseline every clean room starts from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateReport {
    /// When it was made.
    pub created_at: String,
    /// The workspace it was made from.
    pub workspace: String,
    /// Where it is (for us: the baseline's `repo:tag`).
    pub template_path: String,
    /// Number of files.
    pub file_count: usize,
    /// Its files, sorted.
    pub files: Vec<String>,
}

/// One `artifact_qualification.reports[]` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationLine {
    /// Iteration.
    pub iteration: u32,
    /// `passed` or `failed`.
    pub status: String,
    /// Host path of its qualification.json.
    pub report_path: String,
    /// Where the clean room was.
    pub fresh_workspace: String,
    /// Gate counts.
    pub active_mcp_count: usize,
    /// Gate counts.
    pub active_tool_count: usize,
    /// Gate counts.
    pub inactive_mcp_count: usize,
    /// Failing artifacts.
    pub failed_artifacts: Vec<String>,
}

/// One `summary.harness_usage[]` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageLine {
    /// Iteration.
    pub iteration: u32,
    /// Counts of §2.9.
    pub active_skill_count: usize,
    /// Counts of §2.9.
    pub active_mcp_count: usize,
    /// Counts of §2.9.
    pub active_tool_count: usize,
    /// Counts of §2.9.
    pub declared_tool_use_count: usize,
    /// Counts of §2.9.
    pub inferred_tool_use_count: usize,
    /// Active tools the attempt used.
    pub used_active_tools: Vec<String>,
}

/// One `summary.harness_quality_gates[]` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateLine {
    /// Iteration.
    pub iteration: u32,
    /// `passed` or `failed`.
    pub status: String,
    /// Gate counts.
    pub active_mcp_count: usize,
    /// Gate counts.
    pub inactive_mcp_count: usize,
    /// Gate counts.
    pub active_tool_count: usize,
}

/// An activation's run gate (`quality_gate` of an activation report, §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// `passed` iff no inactive server and no warning.
    pub status: String,
    /// Active servers.
    pub active_mcp_count: usize,
    /// Inactive servers.
    pub inactive_mcp_count: usize,
    /// Distinct tools of active servers.
    pub active_tool_count: usize,
    /// The report's warnings.
    pub warnings: Vec<String>,
}

impl Gate {
    /// The gate of an activation report, or a failed gate saying why it could not be read.
    pub fn of(report: &Value) -> Gate {
        report
            .get("quality_gate")
            .cloned()
            .and_then(|g| serde_json::from_value(g).ok())
            .unwrap_or_else(|| Gate {
                status: "failed".into(),
                active_mcp_count: 0,
                inactive_mcp_count: 0,
                active_tool_count: 0,
                warnings: vec!["the activation report has no readable quality gate".into()],
            })
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.status == "passed"
    }
}

/// `qualification.json` (§5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationReport {
    /// When.
    pub created_at: String,
    /// `passed` or `failed`.
    pub status: String,
    /// Iteration.
    pub iteration: u32,
    /// The workspace the bundle came from.
    pub source_workspace: String,
    /// Where the clean room was.
    pub fresh_workspace: String,
    /// The files copied in, sorted.
    pub copied_artifacts: Vec<String>,
    /// The activation's gate.
    pub quality_gate: Gate,
    /// The whole activation report.
    pub activation: Value,
    /// Failing artifacts.
    pub failed_artifacts: Vec<String>,
    /// Registry size.
    pub registry_artifact_count: usize,
    /// Host path of this file.
    pub report_path: String,
    /// On a pass: every registry artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualified_artifacts: Option<Vec<String>>,
    /// On a final failure: what was quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantined_artifacts: Option<Vec<String>>,
}

impl QualificationReport {
    /// Its line in `summary.artifact_qualification.reports`.
    pub fn line(&self) -> QualificationLine {
        QualificationLine {
            iteration: self.iteration,
            status: self.status.clone(),
            report_path: self.report_path.clone(),
            fresh_workspace: self.fresh_workspace.clone(),
            active_mcp_count: self.quality_gate.active_mcp_count,
            active_tool_count: self.quality_gate.active_tool_count,
            inactive_mcp_count: self.quality_gate.inactive_mcp_count,
            failed_artifacts: self.failed_artifacts.clone(),
        }
    }
}

/// A report as the JSON value written to disk (sorted keys by the writer).
pub fn to_value<T: Serialize>(report: &T) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference")
    }

    /// Every file named `name` under the reference fixtures.
    fn files(name: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![fixtures()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n == name) {
                    found.push(path);
                }
            }
        }
        assert!(!found.is_empty(), "no {name} fixture");
        found
    }

    /// The reference's file reads into the type and writes back exactly.
    fn round_trips<T: Serialize + serde::de::DeserializeOwned>(name: &str) {
        for path in files(name) {
            let text = std::fs::read_to_string(&path).expect("read");
            let original: Value = serde_json::from_str(&text).expect("json");
            let typed: T = serde_json::from_value(original.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(to_value(&typed), original, "{}", path.display());
        }
    }

    #[test]
    fn summaries_of_every_scenario_round_trip() {
        round_trips::<Summary>("summary.json");
    }

    #[test]
    fn checkpoint_manifests_round_trip() {
        round_trips::<CheckpointManifest>("best_manifest.json");
    }

    #[test]
    fn qualification_reports_round_trip() {
        round_trips::<QualificationReport>("qualification.json");
    }

    #[test]
    fn an_unreadable_gate_is_a_failed_gate() {
        let gate = Gate::of(&serde_json::json!({"quality_gate": "nonsense"}));
        assert!(!gate.passed());
        assert!(!gate.warnings.is_empty());
    }
}
