//! `compare_report.json` (reference §3.7): the trials in a fixed order (plain 1..N, then
//! harnessed 1..N, whatever order they finished in), a summary per group, and harnessgym's
//! `harnessgym` block with the verdict (`crate::report::compare` documents it; the statistics
//! are `crate::report::stats`'s). Pure.
//!
//! Per group: `count`; number summaries (`count`, `min`, `median`, `max`, `best`) of the last
//! attempt's time and of all attempts' (best = least), of iterations completed (best = most), of
//! the agent's score and of the valid post scores (best in `--higher-is-better`'s direction), of
//! MCP calls (best = most); `post_score` adds `valid_count`, `invalid_count`, `not_run_count` and
//! `invalid_treated_as_worst`; `post_status` counts the post commands' statuses (`not_run` when
//! none ran); `comparison_valid` counts `valid`/`invalid`; `mcp_called_tools` is the union;
//! `invalid_reasons` counts each trial's `post_invalid_reason`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::config::Group;
use super::files::{
    CompareReport, GroupSummary, PostScoreSummary, Summaries, TrialRecord, to_value,
};
use crate::report::{
    Better, BootstrapSettings, CompareBlock, GroupComparison, NumberSummary, VERDICT_METRIC,
    compare_groups,
};

fn counts<'a>(keys: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    for key in keys {
        *map.entry(key.to_string()).or_default() += 1;
    }
    map
}

/// The valid post scores of `trials` (what the verdict is made of).
pub fn valid_scores(trials: &[&TrialRecord]) -> Vec<f64> {
    trials
        .iter()
        .filter(|t| t.post_valid == Some(true))
        .filter_map(|t| t.post_score)
        .filter(|s| s.is_finite())
        .collect()
}

/// The summary of one group's trials.
pub fn group(trials: &[&TrialRecord], higher_is_better: bool) -> GroupSummary {
    let score = Better::from_higher_is_better(higher_is_better);
    let of = |values: Vec<f64>, better| NumberSummary::of(&values, better);
    let each = |f: fn(&TrialRecord) -> f64| trials.iter().map(|t| f(t)).collect::<Vec<f64>>();
    let valid = trials.iter().filter(|t| t.post_valid == Some(true)).count();
    let not_run = trials.iter().filter(|t| t.post_valid.is_none()).count();
    let invalid = trials.len() - valid - not_run;
    let post = of(valid_scores(trials), score);
    let tools: BTreeSet<&String> = trials.iter().flat_map(|t| &t.mcp_called_tools).collect();
    GroupSummary {
        count: trials.len(),
        attempt_duration_seconds: of(each(|t| t.attempt_duration_seconds), Better::Lower),
        cumulative_attempt_duration_seconds: of(
            each(|t| t.cumulative_attempt_duration_seconds),
            Better::Lower,
        ),
        iterations_completed: of(each(|t| t.iterations_completed as f64), Better::Higher),
        score: of(trials.iter().filter_map(|t| t.score).collect(), score),
        post_score: PostScoreSummary {
            count: post.count,
            min: post.min,
            median: post.median,
            max: post.max,
            best: post.best,
            valid_count: valid,
            invalid_count: invalid,
            not_run_count: not_run,
            invalid_treated_as_worst: invalid > 0,
        },
        post_status: counts(trials.iter().map(|t| {
            t.post_result
                .as_ref()
                .and_then(|r| r["status"].as_str())
                .unwrap_or("not_run")
        })),
        comparison_valid: counts(trials.iter().map(|t| {
            if t.comparison_valid {
                "valid"
            } else {
                "invalid"
            }
        })),
        mcp_call_count: of(each(|t| t.mcp_call_count as f64), Better::Higher),
        mcp_called_tools: tools.into_iter().cloned().collect(),
        invalid_reasons: counts(
            trials
                .iter()
                .map(|t| t.post_invalid_reason.as_str())
                .filter(|r| !r.is_empty()),
        ),
    }
}

/// The trials of `group`, by trial number.
fn of_group(trials: &[TrialRecord], group: Group) -> Vec<&TrialRecord> {
    let mut of: Vec<&TrialRecord> = trials.iter().filter(|t| t.group == group.name()).collect();
    of.sort_by_key(|t| t.trial);
    of
}

/// Plain against harnessed on the valid post scores, with the bootstrap seeded by `seed`.
pub fn comparison(trials: &[TrialRecord], higher_is_better: bool, seed: u64) -> GroupComparison {
    compare_groups(
        &valid_scores(&of_group(trials, Group::Plain)),
        &valid_scores(&of_group(trials, Group::Harnessed)),
        Better::from_higher_is_better(higher_is_better),
        BootstrapSettings {
            seed,
            ..BootstrapSettings::default()
        },
    )
}

/// What the report says beside the trials.
#[derive(Debug)]
pub struct ReportHead {
    /// When the compare started.
    pub created_at: String,
    /// The template (absolute).
    pub workspace_template: String,
    /// The bundle's `.harnessgym` (absolute).
    pub artifact_source: Option<String>,
    /// The score direction.
    pub higher_is_better: bool,
    /// The bootstrap seed.
    pub seed: u64,
    /// More for the `harnessgym` block (compare id, jobs, baselines, bundle).
    pub extra: Value,
}

/// The whole report: `trials` in the fixed order, the summaries, the `harnessgym` block.
pub fn report(head: &ReportHead, trials: Vec<TrialRecord>) -> (CompareReport, GroupComparison) {
    let mut ordered: Vec<TrialRecord> = Vec::with_capacity(trials.len());
    for group in Group::BOTH {
        ordered.extend(of_group(&trials, group).into_iter().cloned());
    }
    let comparison = comparison(&ordered, head.higher_is_better, head.seed);
    let mut block = to_value(&CompareBlock::from_comparison(&comparison, VERDICT_METRIC));
    if let (Value::Object(block), Value::Object(extra)) = (&mut block, &head.extra) {
        block.extend(extra.clone());
    }
    let summary = Summaries {
        plain: group(&of_group(&ordered, Group::Plain), head.higher_is_better),
        harnessed: group(&of_group(&ordered, Group::Harnessed), head.higher_is_better),
    };
    let report = CompareReport {
        created_at: head.created_at.clone(),
        workspace_template: head.workspace_template.clone(),
        artifact_source: head.artifact_source.clone(),
        trials: ordered,
        summary,
        harnessgym: Some(block),
    };
    (report, comparison)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trial(group: &str, k: u32, score: Option<f64>, valid: Option<bool>) -> TrialRecord {
        let record = json!({"group": group, "trial": k, "post_valid": valid, "post_score": score,
               "post_result": if valid.is_some() { json!({"status": "completed"}) } else { Value::Null },
               "post_invalid_reason": if valid == Some(false) { "post command did not pass" } else { "" },
               "comparison_valid": true, "comparison_invalid_reason": "",
               "attempt_duration_seconds": 1.5, "cumulative_attempt_duration_seconds": 3.0,
               "iterations_completed": 2, "iterations": [], "score": null, "mcp_call_count": 0,
               "mcp_called_tools": [], "workspace": "w", "run_id": "r", "run_dir": "d",
               "result_path": null, "status": "blocked", "solved": false, "error": "",
               "duration_seconds": 2.0, "copied_artifacts": [],
               "mcp_telemetry": {"path": "p", "count": 0, "successful_count": 0, "failed_count": 0,
                                 "status_counts": {}, "called_tools": [], "servers": [], "samples": []},
               "runner_validation": {"valid": true, "reason": "", "failed_iterations": [], "failed_attempts": []},
               "harness_validation": {"required": false, "valid": true, "reason": ""},
               "objective_post_valid": valid, "post_treated_as_worst": valid == Some(false)});
        serde_json::from_value(record).expect("a trial record")
    }

    fn head() -> ReportHead {
        ReportHead {
            created_at: "t".into(),
            workspace_template: "/t".into(),
            artifact_source: None,
            higher_is_better: false,
            seed: 7,
            extra: json!({"compare_id": "c"}),
        }
    }

    #[test]
    fn trials_come_in_a_fixed_order_and_invalid_ones_are_the_worst_case() {
        let trials = vec![
            trial("harnessed", 2, Some(5.0), Some(true)),
            trial("plain", 2, None, Some(false)),
            trial("harnessed", 1, Some(4.0), Some(true)),
            trial("plain", 1, Some(9.0), Some(true)),
        ];
        let (report, comparison) = report(&head(), trials);
        let report = to_value(&report);
        let order: Vec<String> = report["trials"]
            .as_array()
            .expect("list")
            .iter()
            .map(|t| format!("{}/{}", t["group"].as_str().unwrap_or(""), t["trial"]))
            .collect();
        assert_eq!(order, ["plain/1", "plain/2", "harnessed/1", "harnessed/2"]);
        let plain = &report["summary"]["plain"]["post_score"];
        assert_eq!(plain["valid_count"], 1);
        assert_eq!(plain["invalid_count"], 1);
        assert_eq!(plain["invalid_treated_as_worst"], true);
        assert_eq!(plain["best"], 9.0);
        assert_eq!(report["summary"]["harnessed"]["post_score"]["median"], 4.5);
        assert_eq!(
            report["summary"]["plain"]["iterations_completed"]["best"],
            2.0
        );
        assert_eq!(
            report["summary"]["plain"]["invalid_reasons"]["post command did not pass"],
            1
        );
        assert_eq!(report["harnessgym"]["verdict"], "not enough valid trials");
        assert_eq!(report["harnessgym"]["compare_id"], "c");
        assert_eq!(report["harnessgym"]["seed"], 7);
        assert_eq!(comparison.difference_of_medians, Some(-4.5));
    }

    #[test]
    fn without_a_post_command_every_trial_is_not_run() {
        let trials = vec![
            trial("plain", 1, None, None),
            trial("harnessed", 1, None, None),
        ];
        let report = to_value(&report(&head(), trials).0);
        let post = &report["summary"]["plain"]["post_score"];
        assert_eq!(post["not_run_count"], 1);
        assert_eq!(post["invalid_count"], 0);
        assert_eq!(post["invalid_treated_as_worst"], false);
        assert_eq!(report["summary"]["plain"]["post_status"]["not_run"], 1);
    }

    #[test]
    fn the_same_scores_and_seed_give_the_same_interval() {
        let trials: Vec<TrialRecord> = (1..=3)
            .flat_map(|k| {
                [
                    trial("plain", k, Some(10.0 + f64::from(k)), Some(true)),
                    trial("harnessed", k, Some(5.0 + f64::from(k) * 0.5), Some(true)),
                ]
            })
            .collect();
        let a = to_value(&report(&head(), trials.clone()).0);
        let b = to_value(&report(&head(), trials).0);
        assert_eq!(a["harnessgym"]["interval"], b["harnessgym"]["interval"]);
        assert_eq!(a["harnessgym"]["verdict"], "harness better");
    }
}
