//! The HTML report of a compare: the verdict and its interval, the per-group distributions of
//! the verdict's metric and of attempt time, the group summaries and every trial with the
//! reasons it does not count.

use super::charts::{self, BLUE, ORANGE, Strip};
use super::compare::{CompareData, GROUPS, Trial};
use super::html::{self, Cell, long, num, text};
use super::stats::{Better, NumberSummary, Verdict};
use super::text as fmt;

fn colour(group: &str) -> &'static str {
    if group == "plain" { ORANGE } else { BLUE }
}

/// The page of `compare`.
pub fn compare_page(compare: &CompareData, warnings: &[String]) -> String {
    let id = compare.id();
    let mut body = format!("<h1>Compare {}</h1>\n", html::escape(&id));
    body.push_str(&format!(
        "<p class=\"sub\">{} plain and {} harnessed trials</p>\n",
        compare.trials("plain").len(),
        compare.trials("harnessed").len()
    ));
    body.push_str(&html::facts(&facts(compare)));
    body.push_str(&html::heading("Verdict"));
    body.push_str(&verdict(compare));
    body.push_str(&charts::interval_chart(
        compare.block.difference_of_medians,
        compare.block.interval,
        compare.better(),
    ));
    body.push_str(&html::heading("Post score by group (valid trials)"));
    body.push_str(&charts::strip_chart(
        "Post score by group",
        &axis_title(compare),
        &strips(compare, "invalid", |t| t.verdict_value()),
    ));
    body.push_str(&html::heading("Attempt time by group (all trials)"));
    body.push_str(&charts::strip_chart(
        "Attempt time by group",
        "seconds, last iteration's attempt (lower is better)",
        &strips(compare, "without a time", |t| {
            t.attempt_duration_seconds.filter(|s| s.is_finite())
        }),
    ));
    body.push_str(&html::heading("Groups"));
    body.push_str(&groups_table(compare));
    body.push_str(&html::heading("Trials"));
    body.push_str(&trials_table(compare));
    body.push_str(&html::warnings(warnings));
    html::page(&format!("harnessgym compare {id}"), &body)
}

fn direction(better: Better) -> &'static str {
    match better {
        Better::Lower => "lower is better",
        Better::Higher => "higher is better",
    }
}

fn axis_title(compare: &CompareData) -> String {
    format!("{} ({})", compare.block.metric, direction(compare.better()))
}

fn facts(compare: &CompareData) -> Vec<(&'static str, String)> {
    let report = &compare.report;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        ("started", fmt::date(report.created_at.as_deref())),
        ("template", or_dash(&report.workspace_template)),
        ("artifact source", or_dash(&report.artifact_source)),
        (
            "runner",
            compare
                .trial_config
                .as_ref()
                .and_then(|c| c.runner.clone())
                .unwrap_or_else(|| "-".into()),
        ),
        ("verdict metric", axis_title(compare)),
    ]
}

fn verdict(compare: &CompareData) -> String {
    let block = &compare.block;
    let (class, words) = match block.verdict {
        Some(Verdict::HarnessBetter) => ("better", Verdict::HarnessBetter.as_str()),
        Some(Verdict::HarnessWorse) => ("worse", Verdict::HarnessWorse.as_str()),
        Some(v) => ("unclear", v.as_str()),
        None => ("unclear", "no verdict recorded"),
    };
    let mut out = format!(
        "<div class=\"verdict {class}\">{}</div>\n",
        html::escape(words)
    );
    let interval = block.interval.map_or_else(
        || "no interval (fewer than 3 valid trials in a group)".to_string(),
        |[lo, hi]| {
            format!(
                "{:.0}% interval [{}, {}]",
                block.confidence * 100.0,
                fmt::number(lo),
                fmt::number(hi)
            )
        },
    );
    let source = if compare.recorded {
        "as recorded in compare_report.json"
    } else {
        "computed by harnessgym report: the file records no verdict"
    };
    out.push_str(&format!(
        "<p>Difference of medians (harnessed − plain): <b>{}</b>; {}. Valid trials: {} plain, {} harnessed. \
Percentile bootstrap of the medians, {} resamples, seed {}; {}.</p>\n",
        html::escape(&fmt::opt_number(block.difference_of_medians)),
        html::escape(&interval),
        block.valid_counts.plain,
        block.valid_counts.harnessed,
        block.resamples,
        block.seed,
        html::escape(source),
    ));
    out
}

/// One strip per group of `value` of its trials; `missing` names the trials without one.
fn strips(
    compare: &CompareData,
    missing: &str,
    value: impl Fn(&Trial) -> Option<f64>,
) -> Vec<Strip> {
    GROUPS
        .iter()
        .map(|group| {
            let trials = compare.trials(group);
            let points: Vec<(f64, String)> = trials
                .iter()
                .filter_map(|t| {
                    let v = value(t)?;
                    let k = t.trial.map_or_else(|| "?".into(), |k| k.to_string());
                    Some((v, format!("{group} trial {k}: {}", fmt::number(v))))
                })
                .collect();
            let left_out = trials.len() - points.len();
            let note = if left_out == 0 {
                format!("{} trials", trials.len())
            } else {
                format!("{} trials, {left_out} {missing}", trials.len())
            };
            Strip {
                name: (*group).to_string(),
                colour: colour(group),
                points,
                note,
            }
        })
        .collect()
}

fn summary_cells(s: &NumberSummary) -> [Cell; 4] {
    [
        num(fmt::opt_number(s.min)),
        num(fmt::opt_number(s.median)),
        num(fmt::opt_number(s.max)),
        num(fmt::opt_number(s.best)),
    ]
}

fn groups_table(compare: &CompareData) -> String {
    let rows: Vec<Vec<Cell>> = GROUPS
        .iter()
        .map(|group| {
            let trials = compare.trials(group);
            let post = compare.summary(group);
            let attempts: Vec<f64> = trials
                .iter()
                .filter_map(|t| t.attempt_duration_seconds)
                .collect();
            let attempt = NumberSummary::of(&attempts, Better::Lower);
            let mut row = vec![
                text(*group),
                num(trials.len().to_string()),
                num(post.count.to_string()),
            ];
            row.extend(summary_cells(&post));
            row.push(num(fmt::seconds(attempt.median)));
            row
        })
        .collect();
    html::table(
        &[
            "group",
            "trials",
            "valid",
            "post score min",
            "median",
            "max",
            "best",
            "attempt time median",
        ],
        &rows,
    )
}

fn trials_table(compare: &CompareData) -> String {
    let rows: Vec<Vec<Cell>> = GROUPS
        .iter()
        .flat_map(|group| compare.trials(group))
        .map(|t| {
            let valid = t.verdict_value().is_some();
            let badge = if valid {
                html::badge("ok", "valid")
            } else {
                html::badge("bad", "invalid")
            };
            let reasons = t.invalid_reasons();
            vec![
                text(t.group.clone()),
                num(t.trial.map_or_else(|| "-".into(), |k| k.to_string())),
                text(t.run_id.clone().unwrap_or_else(|| "-".into())),
                text(t.status.clone().unwrap_or_else(|| "-".into())),
                text(if t.solved { "yes" } else { "no" }),
                num(t
                    .iterations_completed
                    .map_or_else(|| "-".into(), |n| n.to_string())),
                num(fmt::seconds(t.attempt_duration_seconds)),
                num(fmt::opt_number(t.score)),
                num(fmt::opt_number(t.post_score)),
                num(t
                    .mcp_call_count
                    .map_or_else(|| "-".into(), |n| n.to_string())),
                Cell::Markup(badge),
                long(if reasons.is_empty() {
                    "-".into()
                } else {
                    reasons.join("; ")
                }),
            ]
        })
        .collect();
    html::table(
        &[
            "group",
            "trial",
            "run",
            "status",
            "solved",
            "iterations",
            "attempt",
            "score",
            "post score",
            "mcp calls",
            "counts",
            "why not",
        ],
        &rows,
    )
}
