//! The record of a run that did not finish: interrupted (Ctrl-C, SIGTERM), or stopped by an
//! error (the engine went away, a host write failed). The loop's future is gone mid-phase, so
//! what it would have written at the end is written here from what is on disk: a run that
//! started always leaves a `summary.json`.
//!
//! The iteration that was running gets `status: interrupted` (or `error`), and so does the phase
//! that was running (its prompt file is written before the phase starts; its transcript only
//! when it ends); `summary.json` is written with that `final_status` and the reference's keys,
//! and, for an error, its message in the `harnessgym` block.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::RunConfig;
use super::layout::RunLayout;
use super::summary::FORMAT_VERSION;
use crate::harness::json::{read_json_if_exists, write_json_atomic};
use crate::harness::reports::{
    CheckpointReport, IterationEntry, OptimizationSummary, QualificationSummary, Summary, to_value,
};

/// The phases of an iteration, in the order they run (repairs write `build.*` in `repair_<k>/`).
const PHASES: [&str; 3] = ["attempt", "reflection", "build"];

/// How a run ended early.
#[derive(Debug, Clone, Copy)]
enum End<'a> {
    Interrupted,
    /// The error that stopped it, as one line with its causes.
    Failed(&'a str),
}

impl End<'_> {
    fn status(self) -> &'static str {
        match self {
            End::Interrupted => "interrupted",
            End::Failed(_) => "error",
        }
    }

    fn message(self) -> String {
        match self {
            End::Interrupted => "interrupted (Ctrl-C or SIGTERM); its container was removed".into(),
            End::Failed(error) => format!("the run stopped: {error}"),
        }
    }
}

/// Mark the run `config` describes as interrupted. Nothing to do when it never started (no
/// `run_config.json`). Failures are logged: an interruption must not turn into another error.
pub fn record_interruption(config: &RunConfig) {
    record(config, End::Interrupted);
}

/// Mark the run `config` describes as stopped by `error` (its message and causes), like
/// [`record_interruption`].
pub fn record_failure(config: &RunConfig, error: &(dyn std::error::Error + 'static)) {
    record(config, End::Failed(&crate::diagnostics::one_line(error)));
}

fn record(config: &RunConfig, end: End<'_>) {
    let layout = RunLayout::new(&config.workspace, &config.run_id);
    if !layout.run_config_path().exists() {
        return;
    }
    let mut entries = Vec::new();
    for i in 1..=config.iterations {
        let path = layout.result_path(i);
        let Ok(Some(Value::Object(mut result))) = read_json_if_exists(&path) else {
            break;
        };
        // An iteration ended when its session was captured.
        let records = crate::snapshot::records_dir(&layout.run_dir());
        let finished = records.join(format!("iteration-{i}.json")).exists();
        if !finished {
            mark(&mut result, &layout.iteration_dir(i), end);
        }
        if let Err(err) = write_json_atomic(&path, &result) {
            tracing::warn!("cannot mark {} {}: {err}", path.display(), end.status());
        }
        entries.push(entry(i, &result, &path));
    }
    let summary = to_value(&summary(config, entries, end));
    if let Err(err) = write_json_atomic(&layout.summary_path(), &summary) {
        tracing::warn!("cannot write the unfinished run's summary: {err}");
    }
}

/// An unfinished iteration's result and its running phase become `interrupted` (or `error`).
fn mark(result: &mut Map<String, Value>, dir: &Path, end: End<'_>) {
    result.insert("status".into(), json!(end.status()));
    let running = PHASES.iter().rev().find(|phase| {
        dir.join(format!("{phase}.prompt.txt")).exists()
            && !dir.join(format!("{phase}.transcript.txt")).exists()
    });
    if let Some(phase) = running {
        let record = json!({
            "phase": phase,
            "status": end.status(),
            "prompt_path": dir.join(format!("{phase}.prompt.txt")).display().to_string(),
            "message": end.message(),
        });
        match result.get_mut("phases") {
            Some(Value::Object(phases)) => {
                phases.insert((*phase).to_string(), record);
            }
            _ => {
                result.insert("phases".into(), json!({ *phase: record }));
            }
        }
    }
}

fn entry(i: u32, result: &Map<String, Value>, path: &Path) -> IterationEntry {
    let phase = |name: &str| result.get("phases").and_then(|p| p.get(name)).cloned();
    IterationEntry {
        iteration: i,
        status: result
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
        result_path: path.display().to_string(),
        attempt: phase("attempt").unwrap_or(Value::Null),
        reflection: phase("reflection"),
        build: phase("build"),
        solved: false,
    }
}

/// The reference's summary keys, for a run that did not finish.
fn summary(config: &RunConfig, entries: Vec<IterationEntry>, end: End<'_>) -> Summary {
    let checkpoint = CheckpointReport {
        enabled: false,
        restored: false,
        captures: Vec::new(),
        latest: None,
        reason: None,
        restore: None,
    };
    Summary {
        run_id: config.run_id.clone(),
        iterations: entries,
        final_status: end.status().into(),
        solved: false,
        best_score: None,
        baseline_post_attempt: None,
        optimization: OptimizationSummary {
            enabled: config.optimization_mode,
            score_key: config.score_key.clone(),
            higher_is_better: config.higher_is_better,
            baseline_score: None,
            best_score: None,
            improved: false,
            restore_best: config.restore_best,
            best_checkpoint: checkpoint.clone(),
            absolute_delta_from_baseline: None,
            relative_reduction: None,
            relative_improvement: None,
        },
        best_checkpoint: checkpoint,
        artifact_qualification: QualificationSummary {
            template: None,
            reports: Vec::new(),
        },
        harness_usage: Vec::new(),
        harness_quality_gates: Vec::new(),
        harnessgym: Some(match end {
            End::Interrupted => json!({"format_version": FORMAT_VERSION, "interrupted": true}),
            End::Failed(error) => json!({"format_version": FORMAT_VERSION, "error": error}),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_phase_and_its_iteration_are_marked() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "attempt.prompt.txt",
            "attempt.transcript.txt",
            "reflection.prompt.txt",
        ] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        let mut result = Map::new();
        result.insert("status".into(), json!("running"));
        result.insert("phases".into(), json!({"attempt": {"status": "completed"}}));
        mark(&mut result, dir.path(), End::Interrupted);
        assert_eq!(result["status"], "interrupted");
        assert_eq!(result["phases"]["reflection"]["status"], "interrupted");
        assert_eq!(result["phases"]["attempt"]["status"], "completed");
    }

    #[test]
    fn a_failure_marks_the_running_phase_with_its_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("attempt.prompt.txt"), "x").expect("write");
        let mut result = Map::new();
        result.insert("status".into(), json!("running"));
        mark(&mut result, dir.path(), End::Failed("the engine went away"));
        assert_eq!(result["status"], "error");
        let attempt = &result["phases"]["attempt"];
        assert_eq!(attempt["status"], "error");
        assert_eq!(attempt["message"], "the run stopped: the engine went away");
    }
}
