//! A compare directory read back: `compare_report.json` (reference §3.7) and its trials, the
//! values its verdict is made from, and harnessgym's `harnessgym` block in that file.
//!
//! # The `harnessgym` block of `compare_report.json`
//!
//! ```json
//! "harnessgym": {
//!   "format_version": 1,
//!   "metric": "post_score",
//!   "higher_is_better": false,
//!   "verdict": "harness better",
//!   "difference_of_medians": -2.0,
//!   "interval": [-3.5, -0.5],
//!   "confidence": 0.95,
//!   "resamples": 10000,
//!   "seed": 1592598566,
//!   "valid_counts": {"plain": 3, "harnessed": 3}
//! }
//! ```
//!
//! `difference_of_medians` is `median(harnessed) − median(plain)` of the valid trials' `metric`
//! (`null` when a group has none); `interval` is its bootstrap interval (`null` below three valid
//! trials per group); `verdict` reads the interval in the direction of `higher_is_better`
//! ([`super::stats`] documents the method). A reader that finds no block (a report of the
//! reference tool) recomputes the same numbers with the default seed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::RunConfigFile;
use super::read::{lenient, lenient_list, read_or_warn};
use super::runs::COMPARE_REPORT;
use super::stats::{
    Better, BootstrapSettings, GroupComparison, NumberSummary, Verdict, compare_groups,
};

/// Version of the `harnessgym` block of `compare_report.json`.
pub const COMPARE_FORMAT_VERSION: u32 = 1;

/// The metric a compare's verdict is made from: each valid trial's `post_score`.
pub const VERDICT_METRIC: &str = "post_score";

/// The two groups, in the order reports show them.
pub const GROUPS: [&str; 2] = ["plain", "harnessed"];

/// Valid values per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupCounts {
    /// The plain group.
    #[serde(deserialize_with = "lenient")]
    pub plain: usize,
    /// The harnessed group.
    #[serde(deserialize_with = "lenient")]
    pub harnessed: usize,
}

/// harnessgym's block in `compare_report.json` (module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompareBlock {
    /// [`COMPARE_FORMAT_VERSION`].
    #[serde(deserialize_with = "lenient")]
    pub format_version: u32,
    /// The trial field the verdict is made from ([`VERDICT_METRIC`]).
    #[serde(deserialize_with = "lenient")]
    pub metric: String,
    /// The metric's direction.
    #[serde(deserialize_with = "lenient")]
    pub higher_is_better: bool,
    /// The verdict (`null` when a reader does not know the text).
    #[serde(deserialize_with = "lenient")]
    pub verdict: Option<Verdict>,
    /// `median(harnessed) − median(plain)`.
    #[serde(deserialize_with = "lenient")]
    pub difference_of_medians: Option<f64>,
    /// The bootstrap interval of that difference.
    #[serde(deserialize_with = "lenient")]
    pub interval: Option<[f64; 2]>,
    /// The interval's coverage.
    #[serde(deserialize_with = "lenient")]
    pub confidence: f64,
    /// Bootstrap rounds.
    #[serde(deserialize_with = "lenient")]
    pub resamples: u32,
    /// The generator's seed.
    #[serde(deserialize_with = "lenient")]
    pub seed: u64,
    /// Valid trials per group.
    #[serde(deserialize_with = "lenient")]
    pub valid_counts: GroupCounts,
}

impl CompareBlock {
    /// The block recording `comparison` of `metric`.
    pub fn from_comparison(comparison: &GroupComparison, metric: &str) -> Self {
        CompareBlock {
            format_version: COMPARE_FORMAT_VERSION,
            metric: metric.to_string(),
            higher_is_better: comparison.better == Better::Higher,
            verdict: Some(comparison.verdict),
            difference_of_medians: comparison.difference_of_medians,
            interval: comparison.interval,
            confidence: comparison.settings.confidence,
            resamples: comparison.settings.resamples,
            seed: comparison.settings.seed,
            valid_counts: GroupCounts {
                plain: comparison.plain_count,
                harnessed: comparison.harnessed_count,
            },
        }
    }
}

/// `{valid, reason}` of a trial's runner or harness validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Validation {
    /// Whether it passed.
    #[serde(deserialize_with = "lenient")]
    pub valid: Option<bool>,
    /// Why not.
    #[serde(deserialize_with = "lenient")]
    pub reason: Option<String>,
}

/// One trial of `compare_report.json` (§3.7), as far as reports use it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Trial {
    /// `plain` or `harnessed`.
    #[serde(deserialize_with = "lenient")]
    pub group: String,
    /// 1-based trial number.
    #[serde(deserialize_with = "lenient")]
    pub trial: Option<u32>,
    /// The trial's run id.
    #[serde(deserialize_with = "lenient")]
    pub run_id: Option<String>,
    /// The last iteration's status.
    #[serde(deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Solved and verified.
    #[serde(deserialize_with = "lenient")]
    pub solved: bool,
    /// An error that ended the trial.
    #[serde(deserialize_with = "lenient")]
    pub error: Option<String>,
    /// The last iteration's attempt time.
    #[serde(deserialize_with = "lenient")]
    pub attempt_duration_seconds: Option<f64>,
    /// All attempts' time.
    #[serde(deserialize_with = "lenient")]
    pub cumulative_attempt_duration_seconds: Option<f64>,
    /// Iterations that ran.
    #[serde(deserialize_with = "lenient")]
    pub iterations_completed: Option<u32>,
    /// The agent's score.
    #[serde(deserialize_with = "lenient")]
    pub score: Option<f64>,
    /// MCP calls recorded.
    #[serde(deserialize_with = "lenient")]
    pub mcp_call_count: Option<u64>,
    /// The runner's validity.
    #[serde(deserialize_with = "lenient")]
    pub runner_validation: Validation,
    /// The harness's validity (harnessed trials).
    #[serde(deserialize_with = "lenient")]
    pub harness_validation: Validation,
    /// Runner and harness valid.
    #[serde(deserialize_with = "lenient")]
    pub comparison_valid: Option<bool>,
    /// Why not.
    #[serde(deserialize_with = "lenient")]
    pub comparison_invalid_reason: Option<String>,
    /// Post command passed with a score and the comparison is valid.
    #[serde(deserialize_with = "lenient")]
    pub post_valid: Option<bool>,
    /// Why not.
    #[serde(deserialize_with = "lenient")]
    pub post_invalid_reason: Option<String>,
    /// The post command's score, when valid.
    #[serde(deserialize_with = "lenient")]
    pub post_score: Option<f64>,
    /// The post command ran and the trial is invalid.
    #[serde(deserialize_with = "lenient")]
    pub post_treated_as_worst: bool,
}

impl Trial {
    /// The value this trial adds to the verdict: its finite `post_score` when `post_valid`.
    pub fn verdict_value(&self) -> Option<f64> {
        self.post_score
            .filter(|s| self.post_valid == Some(true) && s.is_finite())
    }

    /// Every distinct reason this trial is not valid, in a fixed order.
    pub fn invalid_reasons(&self) -> Vec<String> {
        let candidates = [
            self.error.as_deref(),
            self.runner_validation.reason.as_deref(),
            self.harness_validation.reason.as_deref(),
            self.comparison_invalid_reason.as_deref(),
            self.post_invalid_reason.as_deref(),
        ];
        let mut reasons: Vec<String> = Vec::new();
        for reason in candidates.into_iter().flatten() {
            let reason = reason.trim();
            if !reason.is_empty() && !reasons.iter().any(|r| r == reason) {
                reasons.push(reason.to_string());
            }
        }
        reasons
    }
}

/// `compare_report.json` (§3.7).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompareReportFile {
    /// When the compare started.
    #[serde(deserialize_with = "lenient")]
    pub created_at: Option<String>,
    /// The template workspace.
    #[serde(deserialize_with = "lenient")]
    pub workspace_template: Option<String>,
    /// The bundle's `.harnessgym`.
    #[serde(deserialize_with = "lenient")]
    pub artifact_source: Option<String>,
    /// Every trial.
    #[serde(deserialize_with = "lenient_list")]
    pub trials: Vec<Trial>,
    /// harnessgym's block, when harnessgym wrote the report.
    #[serde(deserialize_with = "lenient")]
    pub harnessgym: Option<CompareBlock>,
}

/// Everything reports know about a compare.
#[derive(Debug, Clone, Default)]
pub struct CompareData {
    /// The compare directory.
    pub path: PathBuf,
    /// The report.
    pub report: CompareReportFile,
    /// The first trial's `run_config.json` (runner, score direction), when readable.
    pub trial_config: Option<RunConfigFile>,
    /// The verdict shown: the recorded block, else one computed from the trials.
    pub block: CompareBlock,
    /// Whether `block` was recorded in the file (`false`: computed by the reader).
    pub recorded: bool,
    /// Files that could not be used.
    pub warnings: Vec<String>,
}

impl CompareData {
    /// The directory's name.
    pub fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The trials of `group`, by trial number.
    pub fn trials(&self, group: &str) -> Vec<&Trial> {
        let mut trials: Vec<&Trial> = self
            .report
            .trials
            .iter()
            .filter(|t| t.group == group)
            .collect();
        trials.sort_by_key(|t| t.trial);
        trials
    }

    /// The verdict's values of `group`.
    pub fn values(&self, group: &str) -> Vec<f64> {
        self.trials(group)
            .iter()
            .filter_map(|t| t.verdict_value())
            .collect()
    }

    /// The metric's direction.
    pub fn better(&self) -> Better {
        Better::from_higher_is_better(self.block.higher_is_better)
    }

    /// `{count, min, median, max, best}` of the verdict's values of `group`.
    pub fn summary(&self, group: &str) -> NumberSummary {
        NumberSummary::of(&self.values(group), self.better())
    }
}

/// Read the compare at `dir`.
pub fn load_compare(dir: &Path) -> CompareData {
    let mut warnings = Vec::new();
    let report: CompareReportFile =
        read_or_warn(dir, Path::new(COMPARE_REPORT), &mut warnings).unwrap_or_default();
    let trial_config = report.trials.iter().find_map(|t| {
        let rel = trial_run_config(t)?;
        read_or_warn(dir, &rel, &mut warnings)
    });
    for trial in &report.trials {
        if !GROUPS.contains(&trial.group.as_str()) {
            warnings.push(format!(
                "a trial of group `{}` is in neither group and was left out",
                trial.group
            ));
        }
    }
    let mut data = CompareData {
        path: dir.to_path_buf(),
        recorded: report.harnessgym.is_some(),
        block: report.harnessgym.clone().unwrap_or_default(),
        report,
        trial_config,
        warnings,
    };
    if !data.recorded {
        let higher = data
            .trial_config
            .as_ref()
            .is_some_and(|c| c.higher_is_better);
        let comparison = compare_groups(
            &data.values("plain"),
            &data.values("harnessed"),
            Better::from_higher_is_better(higher),
            BootstrapSettings::default(),
        );
        data.block = CompareBlock::from_comparison(&comparison, VERDICT_METRIC);
    }
    data
}

/// Where a trial's `run_config.json` is inside the compare directory (reference §3.1:
/// `<group>/trial_<k>/workspace/.harnessgym/runs/<run_id>/`).
fn trial_run_config(trial: &Trial) -> Option<PathBuf> {
    let id = trial.run_id.as_deref()?;
    let k = trial.trial?;
    let plain = Path::new(id).components().count() == 1 && !id.starts_with('.');
    (GROUPS.contains(&trial.group.as_str()) && plain).then(|| {
        PathBuf::from(format!(
            "{}/trial_{k}/workspace/.harnessgym/runs/{id}/run_config.json",
            trial.group
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_reads_back_what_it_writes() {
        let comparison = compare_groups(
            &[10.0, 11.0, 12.0],
            &[5.0, 6.0, 7.0],
            Better::Lower,
            BootstrapSettings::default(),
        );
        let block = CompareBlock::from_comparison(&comparison, VERDICT_METRIC);
        let json = serde_json::to_value(&block).expect("serializes");
        assert_eq!(json["verdict"], "harness better");
        assert_eq!(json["confidence"], 0.95);
        assert_eq!(json["resamples"], 10_000);
        let back: CompareBlock = serde_json::from_value(json).expect("reads");
        assert_eq!(back, block);
    }

    #[test]
    fn only_valid_finite_post_scores_count_and_reasons_are_distinct() {
        let trial: Trial = serde_json::from_value(serde_json::json!({
            "group": "harnessed", "trial": 1, "post_valid": false, "post_score": 3.0,
            "comparison_invalid_reason": "no calls", "post_invalid_reason": "no calls",
            "runner_validation": {"valid": true, "reason": ""}
        }))
        .expect("reads");
        assert_eq!(trial.verdict_value(), None);
        assert_eq!(trial.invalid_reasons(), vec!["no calls".to_string()]);
    }

    #[test]
    fn a_trial_run_id_cannot_walk_out_of_its_workspace() {
        let mut trial = Trial {
            group: "plain".into(),
            trial: Some(2),
            run_id: Some("compare-plain-2".into()),
            ..Trial::default()
        };
        assert_eq!(
            trial_run_config(&trial),
            Some(PathBuf::from(
                "plain/trial_2/workspace/.harnessgym/runs/compare-plain-2/run_config.json"
            ))
        );
        trial.run_id = Some("../../../x".into());
        assert_eq!(trial_run_config(&trial), None);
        trial.run_id = Some("..".into());
        assert_eq!(trial_run_config(&trial), None);
    }
}
