//! A whole run (reference §2.1 and the end of §2.2): lock, bundle dirs and registry, the
//! baseline snapshot, `run_config.json`, the iterations, the final task files back to the host,
//! `summary.json`.

use serde_json::Value;

use super::RunConfig;
use super::checkpoint::{Checkpoints, restorable};
use super::display::Display;
use super::error::RunError;
use super::layout::RunLayout;
use super::lock::WorkspaceLock;
use super::summary;
use crate::harness::json::write_json_atomic;
use crate::harness::optimization::PostResult;
use crate::harness::registry;
use crate::layer::pack::PackFilter;
use crate::runner::Runner;
use crate::sandbox::Engine;
use crate::snapshot::{Snapshot, SnapshotStore, WriteBack};

/// The loop's state across iterations.
pub struct Loop<'a> {
    pub(super) config: &'a RunConfig,
    pub(super) layout: RunLayout,
    pub(super) store: SnapshotStore,
    pub(super) runner: Runner,
    pub(super) display: Display,
    pub(super) baseline: Snapshot,
    pub(super) last: Snapshot,
    pub(super) checkpoints: Checkpoints,
    /// The baseline's score, only from a passing baseline command (fix of reference §14.5).
    pub(super) baseline_score: Option<f64>,
    pub(super) baseline_post: Option<PostResult>,
    /// Whether the last attempt's post command passed (`None`: no post command).
    pub(super) last_post_passed: Option<bool>,
    /// One line per qualification, for summary.json.
    pub(super) qualification_reports: Vec<Value>,
    /// One harness-usage line per iteration, for summary.json.
    pub(super) usage_lines: Vec<Value>,
    /// One quality-gate line per iteration, for summary.json.
    pub(super) gate_lines: Vec<Value>,
}

/// What a finished run hands back.
#[derive(Debug)]
pub struct RunOutcome {
    /// summary.json's content.
    pub summary: Value,
    /// Host run directory.
    pub run_dir: std::path::PathBuf,
    /// Host result.json of the last iteration.
    pub final_result: Option<String>,
}

/// Task files go back to the host; the bundle has its own sync and run state stays host-side.
fn task_file(rel: &str) -> bool {
    rel != ".harnessgym" && !rel.starts_with(".harnessgym/")
}

/// Run the loop for `config` in `engine`.
pub async fn run(
    config: &RunConfig,
    engine: &Engine,
    quiet: bool,
    verbose: bool,
) -> Result<RunOutcome, RunError> {
    let lock = WorkspaceLock::acquire(&config.workspace, &config.run_id)?;
    let outcome = run_locked(config, engine, quiet, verbose).await;
    lock.release();
    outcome
}

async fn run_locked(
    config: &RunConfig,
    engine: &Engine,
    quiet: bool,
    verbose: bool,
) -> Result<RunOutcome, RunError> {
    // What can fail without touching the workspace goes first.
    let image_id = engine.require_image(&config.image).await?;
    let info = engine.info().await?;
    let layout = RunLayout::new(&config.workspace, &config.run_id);
    registry::ensure_harness_dirs(&config.workspace).map_err(RunError::Registry)?;
    let registry_path = registry::registry_path(&config.workspace);
    let mut loaded = registry::load_registry(&registry_path).map_err(RunError::Registry)?;
    registry::save_registry(&registry_path, &mut loaded.registry).map_err(RunError::Registry)?;
    std::fs::create_dir_all(layout.run_dir().join("iterations"))
        .map_err(|e| RunError::write("the run directory", e))?;
    let mut display = Display::new(quiet);
    let line = display.start("snapshot of the workspace".to_string(), None);
    let store = SnapshotStore::new(engine.clone(), &config.run_id);
    let helper = crate::snapshot::helper_binary()
        .map_err(|e| RunError::write("(locating the harnessgym binary)", e))?;
    let baseline = store
        .baseline(
            &config.image,
            &config.workspace,
            PackFilter::default(),
            Some(&helper),
        )
        .await?;
    display.finish(line, "baseline ready");
    write_json_atomic(
        &layout.run_config_path(),
        &summary::run_config(config, &image_id, &info),
    )
    .map_err(|e| RunError::write("run_config.json", e))?;
    let mut run = Loop {
        config,
        layout,
        store,
        runner: Runner::new(config.runner, &config.agent),
        display,
        last: baseline.clone(),
        baseline,
        checkpoints: Checkpoints {
            enabled: config.optimization_mode && config.restore_best,
            ..Checkpoints::default()
        },
        baseline_score: None,
        baseline_post: None,
        last_post_passed: None,
        qualification_reports: Vec::new(),
        usage_lines: Vec::new(),
        gate_lines: Vec::new(),
    };
    run.score_baseline().await?;
    let (entries, mut scores) = run.iterations().await?;
    scores.extend(run.baseline_score);
    let restore = run.finish_workspace(&entries).await?;
    let summary = summary::summary(
        config,
        &entries,
        &scores,
        &run.run_facts(restore),
        run.display.wall().as_secs_f64(),
        run.display.timings(),
    );
    write_json_atomic(&run.layout.summary_path(), &summary)
        .map_err(|e| RunError::write("summary.json", e))?;
    if verbose && !quiet {
        run.display.print_breakdown();
    }
    let final_result = entries
        .last()
        .and_then(|e| e.get("result_path"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(RunOutcome {
        summary,
        run_dir: run.layout.run_dir(),
        final_result,
    })
}

impl Loop<'_> {
    async fn iterations(&mut self) -> Result<(Vec<Value>, Vec<f64>), RunError> {
        let mut entries = Vec::new();
        let mut scores = Vec::new();
        for i in 1..=self.config.iterations {
            let outcome = self.iteration(i).await?;
            entries.push(outcome.entry);
            scores.extend(outcome.score);
            self.last = outcome.snapshot;
            if outcome.stop {
                break;
            }
        }
        Ok((entries, scores))
    }

    /// Optimization mode with a post command scores the untouched workspace first.
    async fn score_baseline(&mut self) -> Result<(), RunError> {
        if !self.config.optimization_mode {
            return Ok(());
        }
        let dir = self.layout.run_dir().join("baseline");
        let baseline = self.baseline.clone();
        let Some(post) = self.run_post(&baseline, &dir, "baseline", 0).await? else {
            return Ok(());
        };
        if post.passed() {
            self.baseline_score = post.score;
            if let (true, Some(score)) = (self.checkpoints.enabled, post.score) {
                self.capture(&baseline, 0, score, "baseline_post_attempt_passed")
                    .await?;
            }
        }
        self.baseline_post = Some(post);
        Ok(())
    }

    /// The end of the run on the host: the best checkpoint's task files when restoring (then
    /// scored again), else the final task files. Returns the restore report, if any.
    async fn finish_workspace(&mut self, entries: &[Value]) -> Result<Option<Value>, RunError> {
        let best = self
            .checkpoints
            .best
            .clone()
            .filter(|_| self.checkpoints.enabled);
        let Some(best) = best else {
            self.write_back(
                &self.last.clone(),
                "task files back to the workspace",
                task_file,
            )
            .await?;
            return Ok(None);
        };
        let report = self
            .write_back(&best, "best checkpoint back to the workspace", restorable)
            .await?;
        let dir = self.layout.run_dir().join("checkpoints");
        let last_i = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let post = self.run_post(&best, &dir, "restored_best", last_i).await?;
        let manifest = self
            .checkpoints
            .captures
            .last()
            .cloned()
            .unwrap_or(Value::Null);
        let mut restore = serde_json::json!({
            "restored": true,
            "restored_at": crate::harness::time::utc_now(),
            "checkpoint_path": manifest.get("checkpoint_path"),
            "manifest_path": manifest.get("manifest_path"),
            "restored_file_count": report.written.len(),
            "restored_files": report.written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "iteration": manifest.get("iteration"),
            "score": manifest.get("score"),
            "reason": manifest.get("reason"),
        });
        if let Some(post) = post {
            restore["post_restore_passed"] = serde_json::json!(post.passed());
            restore["post_restore"] = post.to_value();
        }
        if let Some(path) = entries
            .last()
            .and_then(|e| e.get("result_path"))
            .and_then(Value::as_str)
        {
            let update =
                serde_json::json!({"optimization": {"restored_best_checkpoint": restore.clone()}});
            if let Value::Object(update) = update {
                crate::harness::result::update_result(std::path::Path::new(path), update)
                    .map_err(|e| RunError::write("result.json", e))?;
            }
        }
        Ok(Some(restore))
    }

    /// What summary.json needs beyond the iterations (reference §3.6).
    fn run_facts(&self, restore: Option<Value>) -> summary::RunFacts {
        summary::RunFacts {
            config_enabled: self.config.optimization_mode,
            restore_best: self.config.restore_best,
            baseline_score: self.baseline_score,
            baseline_post: self.baseline_post.as_ref().map(PostResult::to_value),
            captures: self.checkpoints.captures.clone(),
            checkpoints_enabled: self.checkpoints.enabled,
            restore,
            qualification_reports: self.qualification_reports.clone(),
            usage_lines: self.usage_lines.clone(),
            gate_lines: self.gate_lines.clone(),
        }
    }

    /// Write `snapshot`'s changed paths that `keep` accepts to the host workspace.
    async fn write_back(
        &mut self,
        snapshot: &Snapshot,
        label: &str,
        keep: fn(&str) -> bool,
    ) -> Result<crate::snapshot::WriteBackReport, RunError> {
        let line = self.display.start(label.to_string(), None);
        let report = self
            .store
            .write_back(snapshot, &self.config.workspace, WriteBack::Changed, keep)
            .await?;
        let word = format!(
            "{} written, {} removed",
            report.written.len(),
            report.removed.len()
        );
        self.display.finish(line, &word);
        Ok(report)
    }
}
