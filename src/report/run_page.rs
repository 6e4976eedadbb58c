//! The HTML report of one run: its facts, score per iteration, phase durations, the iteration
//! table of `show`, and the workspace's registry with each artifact's qualification state and
//! the run's clean-room reports.

use std::path::PathBuf;

use serde::Deserialize;

use super::charts::{self, PhaseBar, ScoreSeries};
use super::html::{self, Cell, long, num, text};
use super::read::{lenient, lenient_list, read_or_warn};
use super::runs::{RunData, subdirectories_of};
use super::show::RunView;
use super::stats::Better;
use super::text as fmt;
use crate::harness::registry::{Artifact, Registry};

/// `quality_gate` of a qualification report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Gate {
    #[serde(deserialize_with = "lenient_list")]
    warnings: Vec<String>,
}

/// `iterations/<n>/qualification/attempt_<k>/qualification.json` (reference §5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct QualificationFile {
    #[serde(deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(deserialize_with = "lenient_list")]
    copied_artifacts: Vec<String>,
    #[serde(deserialize_with = "lenient_list")]
    failed_artifacts: Vec<String>,
    #[serde(deserialize_with = "lenient_list")]
    quarantined_artifacts: Vec<String>,
    #[serde(deserialize_with = "lenient")]
    quality_gate: Gate,
}

/// One clean-room report of the run.
#[derive(Debug, Clone)]
pub struct QualificationAttempt {
    /// The iteration.
    pub iteration: u32,
    /// The attempt within it (1, then one per repair).
    pub attempt: u32,
    status: Option<String>,
    copied: usize,
    failed: Vec<String>,
    quarantined: Vec<String>,
    warnings: Vec<String>,
}

/// Every `qualification.json` of the run, by iteration and attempt.
pub fn load_qualifications(run: &RunData, warnings: &mut Vec<String>) -> Vec<QualificationAttempt> {
    let Some(root) = run.dir.as_ref().map(|d| d.path.clone()) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for it in &run.iterations {
        let dir = PathBuf::from(format!("iterations/{}/qualification", it.number));
        let mut attempts: Vec<u32> = subdirectories_of(&root.join(&dir))
            .iter()
            .filter_map(|name| name.strip_prefix("attempt_")?.parse().ok())
            .collect();
        attempts.sort_unstable();
        for k in attempts {
            let rel = dir.join(format!("attempt_{k}/qualification.json"));
            let Some(file) = read_or_warn::<QualificationFile>(&root, &rel, warnings) else {
                continue;
            };
            found.push(QualificationAttempt {
                iteration: it.number,
                attempt: k,
                status: file.status,
                copied: file.copied_artifacts.len(),
                failed: file.failed_artifacts,
                quarantined: file.quarantined_artifacts,
                warnings: file.quality_gate.warnings,
            });
        }
    }
    found
}

/// The page of `run`.
pub fn run_page(
    run: &RunData,
    view: &RunView,
    registry: Option<&Registry>,
    qualifications: &[QualificationAttempt],
    warnings: &[String],
) -> String {
    let mut body = format!("<h1>Run {}</h1>\n", html::escape(&view.run_id));
    body.push_str(&format!(
        "<p class=\"sub\">{} · {} of {} iterations · {}</p>\n",
        html::escape(view.runner.as_deref().unwrap_or("unknown runner")),
        view.iterations_done,
        view.iterations_max
            .map_or_else(|| "?".into(), |m| m.to_string()),
        html::escape(&view.final_status),
    ));
    body.push_str(&html::facts(&facts(view)));
    body.push_str(&html::heading("Score per iteration"));
    body.push_str(&charts::score_chart(&score_series(run, view)));
    body.push_str(&html::heading("Phase durations"));
    body.push_str(&charts::phase_chart(&phase_bars(view)));
    body.push_str(&html::heading("Iterations"));
    body.push_str(&iterations_table(view));
    body.push_str(&html::heading("Artifacts and their qualification"));
    body.push_str(&registry_table(registry));
    body.push_str(&html::heading("Clean-room qualification reports"));
    body.push_str(&qualification_table(qualifications));
    body.push_str(&html::warnings(warnings));
    html::page(&format!("harnessgym run {}", view.run_id), &body)
}

fn facts(view: &RunView) -> Vec<(&'static str, String)> {
    let direction = if view.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let mut facts = vec![
        (
            "workspace",
            view.workspace.clone().unwrap_or_else(|| "-".into()),
        ),
        ("task", view.task_path.clone().unwrap_or_else(|| "-".into())),
        ("final status", view.final_status.clone()),
        (
            "solved and verified",
            if view.solved { "yes" } else { "no" }.into(),
        ),
        (
            "best score",
            format!(
                "{} ({}, {direction})",
                fmt::opt_number(view.best_score),
                view.score_key
            ),
        ),
    ];
    if view.optimization_mode || view.baseline_score.is_some() {
        facts.push(("baseline score", fmt::opt_number(view.baseline_score)));
    }
    if let Some(i) = view.best_checkpoint_iteration {
        let at = if i == 0 {
            "the baseline".to_string()
        } else {
            format!("iteration {i}")
        };
        facts.push(("best checkpoint", at));
    }
    if let Some(wall) = view.wall_seconds {
        facts.push(("wall time", fmt::seconds(Some(wall))));
    }
    if view.limits_hit > 0 {
        facts.push(("limits hit", view.limits_hit.to_string()));
    }
    facts
}

fn score_series(run: &RunData, view: &RunView) -> ScoreSeries {
    ScoreSeries {
        iterations: view
            .iterations
            .iter()
            .map(|r| r.iteration)
            .max()
            .unwrap_or(1),
        points: run
            .iterations
            .iter()
            .filter_map(|i| Some((i.number, i.score?)))
            .collect(),
        baseline: view.baseline_score,
        best: view.best_score,
        best_iteration: view.best_checkpoint_iteration,
        better: Better::from_higher_is_better(view.higher_is_better),
        key: view.score_key.clone(),
    }
}

fn phase_bars(view: &RunView) -> Vec<PhaseBar> {
    view.iterations
        .iter()
        .map(|row| PhaseBar {
            iteration: row.iteration,
            parts: row
                .durations
                .parts()
                .into_iter()
                .filter_map(|(name, s)| Some((name, s?)))
                .collect(),
        })
        .collect()
}

fn iterations_table(view: &RunView) -> String {
    let rows: Vec<Vec<Cell>> = view
        .iterations
        .iter()
        .map(|row| {
            let d = &row.durations;
            let mut status = row.status.clone().unwrap_or_else(|| "-".into());
            if !row.timed_out.is_empty() {
                status.push_str(&format!(" ({} timed out)", row.timed_out.join(", ")));
            }
            let mut qualification = row.qualification.clone().unwrap_or_else(|| "-".into());
            if !row.quarantined.is_empty() {
                qualification.push_str(&format!(", quarantined: {}", row.quarantined.join(", ")));
            }
            vec![
                num(row.iteration.to_string()),
                long(status),
                num(fmt::opt_number(row.score)),
                num(fmt::seconds(d.attempt)),
                num(fmt::seconds(d.reflection)),
                num(fmt::seconds(d.build)),
                num(fmt::seconds(d.repair)),
                num(fmt::seconds(d.qualification)),
                num(fmt::seconds(d.post_attempt)),
                long(qualification),
                num(row
                    .active_tools
                    .map_or_else(|| "-".into(), |n| n.to_string())),
                long(join_or_dash(&row.artifacts_built)),
                long(join_or_dash(&row.tools_used)),
            ]
        })
        .collect();
    html::table(
        &[
            "iteration",
            "status",
            "score",
            "attempt",
            "reflect",
            "build",
            "repair",
            "qualify",
            "post",
            "qualification",
            "active tools",
            "artifacts built",
            "tools used",
        ],
        &rows,
    )
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// An artifact's state: quarantined, qualified, or neither, and the detail.
fn artifact_state(artifact: &Artifact) -> (&'static str, &'static str, String) {
    let meta = &artifact.metadata;
    if artifact.is_quarantined() {
        let reason = meta
            .get("quarantine")
            .and_then(|q| q.get("reason"))
            .and_then(|r| r.as_str())
            .unwrap_or("");
        return ("bad", "quarantined", reason.to_string());
    }
    let qualification = meta.get("qualification");
    let status = qualification
        .and_then(|q| q.get("status"))
        .and_then(|s| s.as_str());
    let iteration = qualification
        .and_then(|q| q.get("iteration"))
        .and_then(|i| i.as_i64());
    match (status, iteration) {
        (Some("passed"), Some(i)) => ("ok", "qualified", format!("in iteration {i}")),
        (Some("passed"), None) => ("ok", "qualified", String::new()),
        _ => ("warn", "not qualified", String::new()),
    }
}

fn registry_table(registry: Option<&Registry>) -> String {
    let Some(registry) = registry.filter(|r| !r.artifacts.is_empty()) else {
        return "<p>No artifacts registered in the workspace's <code>.harnessgym/registry.json</code>.</p>\n".into();
    };
    let rows: Vec<Vec<Cell>> = registry
        .artifacts
        .iter()
        .map(|a| {
            let (class, state, detail) = artifact_state(a);
            let iteration = a
                .iteration_number()
                .map_or_else(|| "-".into(), |i| i.to_string());
            vec![
                text(a.kind.clone()),
                long(a.path.clone()),
                num(iteration),
                Cell::Markup(html::badge(class, state)),
                long(detail),
                long(a.description.clone()),
            ]
        })
        .collect();
    html::table(
        &[
            "kind",
            "path",
            "iteration",
            "state",
            "detail",
            "description",
        ],
        &rows,
    )
}

fn qualification_table(reports: &[QualificationAttempt]) -> String {
    if reports.is_empty() {
        return "<p>No clean-room qualification ran in this run.</p>\n".into();
    }
    let rows: Vec<Vec<Cell>> = reports
        .iter()
        .map(|q| {
            let status = q.status.clone().unwrap_or_else(|| "-".into());
            let class = if status == "passed" { "ok" } else { "bad" };
            vec![
                num(q.iteration.to_string()),
                num(q.attempt.to_string()),
                Cell::Markup(html::badge(class, &status)),
                num(q.copied.to_string()),
                long(join_or_dash(&q.failed)),
                long(join_or_dash(&q.quarantined)),
                long(join_or_dash(&q.warnings)),
            ]
        })
        .collect();
    html::table(
        &[
            "iteration",
            "attempt",
            "status",
            "copied",
            "failed",
            "quarantined",
            "gate warnings",
        ],
        &rows,
    )
}
