//! The record of an interrupted run (Ctrl-C, SIGTERM): the loop's future is dropped mid-phase,
//! so what it would have written at the end is written here from what is on disk.
//!
//! The iteration that was running gets `status: interrupted`, and so does the phase that was
//! running (its prompt file is written before the phase starts; its transcript only when it
//! ends); `summary.json` is written with `final_status: interrupted` and the reference's keys.

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

/// Mark the run `config` describes as interrupted. Nothing to do when it never started (no
/// `run_config.json`). Failures are logged: an interruption must not turn into another error.
pub fn record_interruption(config: &RunConfig) {
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
            mark(&mut result, &layout.iteration_dir(i));
        }
        if let Err(err) = write_json_atomic(&path, &result) {
            tracing::warn!("cannot mark {} interrupted: {err}", path.display());
        }
        entries.push(entry(i, &result, &path));
    }
    let summary = to_value(&summary(config, entries));
    if let Err(err) = write_json_atomic(&layout.summary_path(), &summary) {
        tracing::warn!("cannot write the interrupted run's summary: {err}");
    }
}

/// An unfinished iteration's result and its running phase become `interrupted`.
fn mark(result: &mut Map<String, Value>, dir: &Path) {
    result.insert("status".into(), json!("interrupted"));
    let running = PHASES.iter().rev().find(|phase| {
        dir.join(format!("{phase}.prompt.txt")).exists()
            && !dir.join(format!("{phase}.transcript.txt")).exists()
    });
    if let Some(phase) = running {
        let record = json!({
            "phase": phase,
            "status": "interrupted",
            "prompt_path": dir.join(format!("{phase}.prompt.txt")).display().to_string(),
            "message": "interrupted (Ctrl-C or SIGTERM); its container was removed",
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
fn summary(config: &RunConfig, entries: Vec<IterationEntry>) -> Summary {
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
        final_status: "interrupted".into(),
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
        harnessgym: Some(json!({"format_version": FORMAT_VERSION, "interrupted": true})),
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
        mark(&mut result, dir.path());
        assert_eq!(result["status"], "interrupted");
        assert_eq!(result["phases"]["reflection"]["status"], "interrupted");
        assert_eq!(result["phases"]["attempt"]["status"], "completed");
    }
}
