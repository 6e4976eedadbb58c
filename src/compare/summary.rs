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

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::config::Group;
use crate::report::{
    Better, BootstrapSettings, CompareBlock, GroupComparison, NumberSummary, VERDICT_METRIC,
    compare_groups,
};

fn numbers(trials: &[&Value], key: &str) -> Vec<f64> {
    trials.iter().filter_map(|t| t[key].as_f64()).collect()
}

fn summary(values: &[f64], better: Better) -> Value {
    serde_json::to_value(NumberSummary::of(values, better)).unwrap_or(Value::Null)
}

fn counts<'a>(keys: impl Iterator<Item = &'a str>) -> Value {
    let mut map: BTreeMap<&str, u64> = BTreeMap::new();
    for key in keys {
        *map.entry(key).or_default() += 1;
    }
    json!(map)
}

/// The valid post scores of `trials` (what the verdict is made of).
pub fn valid_scores(trials: &[&Value]) -> Vec<f64> {
    trials
        .iter()
        .filter(|t| t["post_valid"] == json!(true))
        .filter_map(|t| t["post_score"].as_f64())
        .filter(|s| s.is_finite())
        .collect()
}

/// The summary of one group's trials.
pub fn group(trials: &[&Value], higher_is_better: bool) -> Value {
    let score = Better::from_higher_is_better(higher_is_better);
    let valid = trials
        .iter()
        .filter(|t| t["post_valid"] == json!(true))
        .count();
    let not_run = trials.iter().filter(|t| t["post_valid"].is_null()).count();
    let invalid = trials.len() - valid - not_run;
    let mut post = summary(&valid_scores(trials), score);
    post["valid_count"] = json!(valid);
    post["invalid_count"] = json!(invalid);
    post["not_run_count"] = json!(not_run);
    post["invalid_treated_as_worst"] = json!(invalid > 0);
    let tools: std::collections::BTreeSet<&str> = trials
        .iter()
        .flat_map(|t| t["mcp_called_tools"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    json!({
        "count": trials.len(),
        "attempt_duration_seconds": summary(&numbers(trials, "attempt_duration_seconds"), Better::Lower),
        "cumulative_attempt_duration_seconds": summary(&numbers(trials, "cumulative_attempt_duration_seconds"), Better::Lower),
        "iterations_completed": summary(&numbers(trials, "iterations_completed"), Better::Higher),
        "score": summary(&numbers(trials, "score"), score),
        "post_score": post,
        "post_status": counts(trials.iter().map(|t| {
            t["post_result"]["status"].as_str().unwrap_or("not_run")
        })),
        "comparison_valid": counts(trials.iter().map(|t| {
            if t["comparison_valid"] == json!(true) { "valid" } else { "invalid" }
        })),
        "mcp_call_count": summary(&numbers(trials, "mcp_call_count"), Better::Higher),
        "mcp_called_tools": tools,
        "invalid_reasons": counts(trials.iter().filter_map(|t| {
            t["post_invalid_reason"].as_str().filter(|r| !r.is_empty())
        })),
    })
}

/// The trials of `group`, by trial number.
fn of_group(trials: &[Value], group: Group) -> Vec<&Value> {
    let mut of: Vec<&Value> = trials
        .iter()
        .filter(|t| t["group"] == group.name())
        .collect();
    of.sort_by_key(|t| t["trial"].as_u64());
    of
}

/// Plain against harnessed on the valid post scores, with the bootstrap seeded by `seed`.
pub fn comparison(trials: &[Value], higher_is_better: bool, seed: u64) -> GroupComparison {
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
pub fn report(head: &ReportHead, trials: Vec<Value>) -> (Value, GroupComparison) {
    let mut ordered: Vec<Value> = Vec::with_capacity(trials.len());
    for group in Group::BOTH {
        ordered.extend(of_group(&trials, group).into_iter().cloned());
    }
    let comparison = comparison(&ordered, head.higher_is_better, head.seed);
    let mut block =
        serde_json::to_value(CompareBlock::from_comparison(&comparison, VERDICT_METRIC))
            .unwrap_or_else(|_| json!({}));
    if let (Value::Object(block), Value::Object(extra)) = (&mut block, &head.extra) {
        block.extend(extra.clone());
    }
    let summary: serde_json::Map<String, Value> = Group::BOTH
        .iter()
        .map(|g| {
            let of = of_group(&ordered, *g);
            (g.name().to_string(), group(&of, head.higher_is_better))
        })
        .collect();
    let report = json!({
        "created_at": head.created_at,
        "workspace_template": head.workspace_template,
        "artifact_source": head.artifact_source,
        "trials": ordered,
        "summary": summary,
        "harnessgym": block,
    });
    (report, comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(group: &str, k: u32, score: Option<f64>, valid: Option<bool>) -> Value {
        json!({"group": group, "trial": k, "post_valid": valid, "post_score": score,
               "post_result": if valid.is_some() { json!({"status": "completed"}) } else { Value::Null },
               "post_invalid_reason": if valid == Some(false) { "post command did not pass" } else { "" },
               "comparison_valid": true, "attempt_duration_seconds": 1.5,
               "cumulative_attempt_duration_seconds": 3.0, "iterations_completed": 2,
               "score": null, "mcp_call_count": 0, "mcp_called_tools": []})
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
        let (report, _) = report(&head(), trials);
        let post = &report["summary"]["plain"]["post_score"];
        assert_eq!(post["not_run_count"], 1);
        assert_eq!(post["invalid_count"], 0);
        assert_eq!(post["invalid_treated_as_worst"], false);
        assert_eq!(report["summary"]["plain"]["post_status"]["not_run"], 1);
    }

    #[test]
    fn the_same_scores_and_seed_give_the_same_interval() {
        let trials: Vec<Value> = (1..=3)
            .flat_map(|k| {
                [
                    trial("plain", k, Some(10.0 + f64::from(k)), Some(true)),
                    trial("harnessed", k, Some(5.0 + f64::from(k) * 0.5), Some(true)),
                ]
            })
            .collect();
        let (a, _) = report(&head(), trials.clone());
        let (b, _) = report(&head(), trials);
        assert_eq!(a["harnessgym"]["interval"], b["harnessgym"]["interval"]);
        assert_eq!(a["harnessgym"]["verdict"], "harness better");
    }
}
