//! `harnessgym runs` and `harnessgym show` as text, and the [`RunView`] both `show --json` and
//! the HTML report are made from.

use serde::Serialize;

use super::runs::RunData;
use super::text::{self, NONE, Table, clean};
use super::view::{IterationRow, ListEntry, iteration_row};
use crate::harness::registry::Registry;

/// Widest cell for free text (statuses, ids) in text tables.
const CELL: usize = 40;

/// A run as `show` presents it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// The run id.
    pub run_id: String,
    /// The run directory.
    pub path: String,
    /// The workspace as recorded.
    pub workspace: Option<String>,
    /// The task file as recorded.
    pub task_path: Option<String>,
    /// The runner.
    pub runner: Option<String>,
    /// The score key.
    pub score_key: String,
    /// The score's direction.
    pub higher_is_better: bool,
    /// Optimization mode.
    pub optimization_mode: bool,
    /// Iterations that ran.
    pub iterations_done: usize,
    /// The iteration budget.
    pub iterations_max: Option<u64>,
    /// The last iteration's status (`unfinished` without a summary).
    pub final_status: String,
    /// The last iteration was solved and verified.
    pub solved: bool,
    /// The best score.
    pub best_score: Option<f64>,
    /// The baseline's score (optimization mode).
    pub baseline_score: Option<f64>,
    /// The iteration of the best checkpoint (0 = the baseline).
    pub best_checkpoint_iteration: Option<u32>,
    /// Wall time (harnessgym runs).
    pub wall_seconds: Option<f64>,
    /// How many limits were hit (harnessgym runs).
    pub limits_hit: usize,
    /// One row per iteration.
    pub iterations: Vec<IterationRow>,
    /// Files that could not be used.
    pub warnings: Vec<String>,
}

/// The view of `run`; `registry` is its workspace's, for the artifacts each iteration built
/// (an entry's `iteration` is the last iteration that registered it, in any run of the
/// workspace, so only iterations with a build phase claim entries).
pub fn run_view(run: &RunData, registry: Option<&Registry>) -> RunView {
    let summary = run.summary.as_ref();
    let block = summary.and_then(|s| s.harnessgym.as_ref());
    let iterations = run
        .iterations
        .iter()
        .map(|it| {
            let registered: Vec<String> = registry
                .filter(|_| it.built())
                .map(|r| {
                    r.artifacts
                        .iter()
                        .filter(|a| a.iteration_number() == Some(i64::from(it.number)))
                        .map(|a| a.path.clone())
                        .collect()
                })
                .unwrap_or_default();
            iteration_row(run, it, &registered)
        })
        .collect();
    RunView {
        run_id: run.id(),
        path: run
            .dir
            .as_ref()
            .map(|d| d.path.display().to_string())
            .unwrap_or_default(),
        workspace: run.config.workspace.clone(),
        task_path: run.config.task_path.clone(),
        runner: run.config.runner.clone(),
        score_key: run.score_key().to_string(),
        higher_is_better: run.config.higher_is_better,
        optimization_mode: run.config.optimization_mode,
        iterations_done: run.iterations.len(),
        iterations_max: run.config.iterations,
        final_status: summary
            .and_then(|s| s.final_status.clone())
            .unwrap_or_else(|| super::view::UNFINISHED.to_string()),
        solved: summary.is_some_and(|s| s.solved),
        best_score: summary.and_then(|s| s.best_score),
        baseline_score: summary.and_then(|s| s.optimization.baseline_score),
        best_checkpoint_iteration: run.best_manifest.as_ref().and_then(|m| m.iteration),
        wall_seconds: block.and_then(|b| b.wall_seconds),
        limits_hit: block.map_or(0, |b| b.limits.len()),
        iterations,
        warnings: run.warnings.clone(),
    }
}

/// `harnessgym runs` as text: a header and one line per entry.
pub fn runs_text(entries: &[ListEntry]) -> String {
    let mut table = Table::new(&[
        "KIND",
        "ID",
        "DATE",
        "RUNNER",
        "ITERATIONS",
        "STATUS",
        "BEST SCORE",
    ]);
    for entry in entries {
        let (iterations, status, best) = match entry.kind {
            "compare" => compare_cells(entry),
            _ => (
                format!(
                    "{}/{}",
                    entry.iterations_done.unwrap_or(0),
                    entry
                        .iterations_max
                        .map_or_else(|| "?".into(), |m| m.to_string())
                ),
                entry.final_status.as_deref().unwrap_or(NONE).to_string(),
                text::opt_number(entry.best_score),
            ),
        };
        table.row(vec![
            entry.kind.to_string(),
            clean(&entry.id, CELL),
            text::date(entry.date.as_deref()),
            clean(entry.runner.as_deref().unwrap_or(NONE), CELL),
            iterations,
            clean(&status, CELL),
            best,
        ]);
    }
    table.render()
}

fn compare_cells(entry: &ListEntry) -> (String, String, String) {
    let trials = entry.trials.map_or_else(
        || NONE.to_string(),
        |t| format!("{}+{} trials", t.plain, t.harnessed),
    );
    let best = entry.best_post_score.map_or_else(
        || NONE.to_string(),
        |b| {
            format!(
                "plain {}, harnessed {}",
                text::opt_number(b.plain),
                text::opt_number(b.harnessed)
            )
        },
    );
    let verdict = entry.verdict.clone().unwrap_or_else(|| NONE.to_string());
    (trials, verdict, best)
}

/// `harnessgym show` as text: the run's facts, then one line per iteration.
pub fn show_text(view: &RunView) -> String {
    let direction = if view.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let mut facts = Table::new(&["run:", &clean(&view.run_id, 80)]);
    let mut fact = |name: &str, value: String| facts.row(vec![name.to_string(), value]);
    fact(
        "runner:",
        clean(view.runner.as_deref().unwrap_or(NONE), CELL),
    );
    fact(
        "iterations:",
        format!(
            "{} of {}",
            view.iterations_done,
            view.iterations_max
                .map_or_else(|| "?".into(), |m| m.to_string())
        ),
    );
    fact("status:", clean(&view.final_status, CELL));
    fact(
        "solved:",
        if view.solved { "yes, verified" } else { "no" }.into(),
    );
    fact(
        "best score:",
        format!(
            "{} ({}, {direction})",
            text::opt_number(view.best_score),
            clean(&view.score_key, CELL)
        ),
    );
    if view.optimization_mode || view.baseline_score.is_some() {
        fact("baseline:", text::opt_number(view.baseline_score));
    }
    if let Some(wall) = view.wall_seconds {
        fact("wall time:", text::seconds(Some(wall)));
    }
    let mut out = facts.render();
    out.push('\n');
    out.push_str(&iterations_table(&view.iterations).render());
    out
}

fn iterations_table(rows: &[IterationRow]) -> Table {
    let mut table = Table::new(&[
        "ITER",
        "STATUS",
        "SCORE",
        "ATTEMPT",
        "REFLECT",
        "BUILD",
        "REPAIR",
        "QUALIFY",
        "POST",
        "QUALIFICATION",
        "ACTIVE TOOLS",
        "BUILT",
        "TOOLS USED",
    ]);
    for row in rows {
        let mut status = clean(row.status.as_deref().unwrap_or(NONE), CELL);
        if !row.timed_out.is_empty() {
            status.push_str(&format!(
                " ({} timed out)",
                clean(&row.timed_out.join(", "), CELL)
            ));
        }
        let d = &row.durations;
        let mut qualification = clean(row.qualification.as_deref().unwrap_or(NONE), CELL);
        if !row.quarantined.is_empty() {
            qualification.push_str(&format!(" ({} quarantined)", row.quarantined.len()));
        }
        table.row(vec![
            row.iteration.to_string(),
            status,
            text::opt_number(row.score),
            text::seconds(d.attempt),
            text::seconds(d.reflection),
            text::seconds(d.build),
            text::seconds(d.repair),
            text::seconds(d.qualification),
            text::seconds(d.post_attempt),
            qualification,
            row.active_tools
                .map_or_else(|| NONE.into(), |n| n.to_string()),
            text::list(&row.artifacts_built, 60),
            text::list(&row.tools_used, 60),
        ]);
    }
    table
}
