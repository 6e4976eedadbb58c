//! A whole run (reference §2.1 and the end of §2.2): lock, bundle dirs and registry, the
//! baseline snapshot, `run_config.json`, the iterations, the final task files back to the host,
//! `summary.json`.

use serde_json::{Value, json};

use super::RunConfig;
use super::checkpoint::Checkpoints;
use super::display::Display;
use super::error::RunError;
use super::layout::RunLayout;
use super::lock::WorkspaceLock;
use super::summary;
use crate::harness::json::write_json_atomic;
use crate::harness::optimization::PostResult;
use crate::harness::registry;
use crate::harness::reports::{
    GateLine, IterationEntry, QualificationLine, RestoreReport, TemplateReport, UsageLine, to_value,
};
use crate::runner::Runner;
use crate::sandbox::extract::{Decision, RefusalRecord, workspace_policy};
use crate::sandbox::{DiskLimit, Engine};
use crate::snapshot::{Snapshot, SnapshotStore, strategy};

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
    pub(super) qualification_reports: Vec<QualificationLine>,
    /// One harness-usage line per iteration, for summary.json.
    pub(super) usage_lines: Vec<UsageLine>,
    /// One quality-gate line per iteration, for summary.json.
    pub(super) gate_lines: Vec<GateLine>,
    /// Every limit hit, for summary.json.
    pub(super) limit_lines: Vec<Value>,
    /// What the final write-back did, for summary.json and the closing lines.
    pub(super) write_back_counts: Option<Value>,
    /// The disk limit of every container, and how it is enforced.
    pub(super) disk: Option<DiskLimit>,
    /// `--protect`: evaluator paths scoring takes from the baseline.
    pub(super) protected: super::protect::Protected,
    /// The baseline's files (without the reference's exclusions), for manifests and reports.
    pub(super) baseline_files: Vec<std::path::PathBuf>,
    /// When the baseline was made.
    pub(super) baseline_at: String,
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
    /// The snapshots the run keeps in the engine.
    pub kept: crate::snapshot::Retained,
    /// What the final write-back wrote, removed and refused.
    pub write_back: Option<Value>,
    /// The run's final state (kept in the engine).
    pub last: Snapshot,
}

/// What the final write-back (task files, or the best checkpoint's) does with a path: the
/// bundle has its own sync and run state stays host-side (skipped); version-control and tool
/// state that makes host programs run code is refused and recorded; the rest is written.
fn task_file(rel: &std::path::Path) -> Decision {
    if rel.starts_with(".harnessgym") {
        Decision::Skip
    } else {
        workspace_policy(rel)
    }
}

/// A baseline made elsewhere (a compare's template, shared by all its trials), that a run
/// starts from instead of packing its own workspace.
#[derive(Debug, Clone)]
pub struct GivenBaseline {
    /// The snapshot every session of the run starts from (with `reset`) or first.
    pub snapshot: Snapshot,
    /// The files it holds (without the reference's exclusions), for manifests and reports.
    pub files: Vec<std::path::PathBuf>,
}

/// How a run is driven.
#[derive(Debug, Clone, Copy, Default)]
pub struct Driving {
    /// Only errors on stderr.
    pub quiet: bool,
    /// The per-step breakdown at the end.
    pub verbose: bool,
}

/// Run the loop for `config` in `engine`.
pub async fn run(
    config: &RunConfig,
    engine: &Engine,
    quiet: bool,
    verbose: bool,
) -> Result<RunOutcome, RunError> {
    // A run removes the snapshots of its id it does not keep: an id some other run (of another
    // workspace) still has images under would lose them.
    let taken = engine
        .list_images_labelled(crate::sandbox::labels::RUN, Some(&config.run_id))
        .await?;
    if !taken.is_empty() {
        return Err(RunError::Config(super::config::ConfigError::RunInEngine {
            id: config.run_id.clone(),
            count: taken.len(),
        }));
    }
    run_from(config, engine, Driving { quiet, verbose }, None).await
}

/// Run the loop for `config`, its sessions starting from `given` when there is one (a compare
/// trial: attempt-only, nothing written back to the host; the caller scores and removes the
/// final snapshot) or from the workspace packed as a baseline.
pub async fn run_from(
    config: &RunConfig,
    engine: &Engine,
    driving: Driving,
    given: Option<GivenBaseline>,
) -> Result<RunOutcome, RunError> {
    // What can fail without touching the workspace goes first: a missing image or an engine
    // that cannot answer must not leave a `.harnessgym/` (the lock's directory) behind.
    let image_id = engine.require_image(&config.image).await?;
    let info = engine.info().await?;
    let lock = WorkspaceLock::acquire(&config.workspace, &config.run_id)?;
    let outcome = run_locked(config, engine, (image_id, info), driving, given).await;
    lock.release();
    outcome
}

/// The baseline of a run, its files and the store its snapshots go to.
struct Prepared {
    store: SnapshotStore,
    baseline: Snapshot,
    files: Vec<std::path::PathBuf>,
    strategy: (crate::snapshot::Strategy, strategy::Source),
}

/// Pack the workspace as the run's baseline, or adopt the given one.
async fn prepare(
    config: &RunConfig,
    engine: &Engine,
    info: &crate::sandbox::EngineInfo,
    records: std::path::PathBuf,
    given: Option<GivenBaseline>,
) -> Result<Prepared, RunError> {
    let (strategy, source) = strategy::detect(engine, info, &config.image).await?;
    let store = SnapshotStore::new(engine.clone(), &config.run_id, records, strategy);
    if let Some(given) = given {
        store.adopt_baseline(&given.snapshot);
        return Ok(Prepared {
            store,
            baseline: given.snapshot,
            files: given.files,
            strategy: (strategy, source),
        });
    }
    let helper = crate::snapshot::helper_binary()
        .map_err(|e| RunError::write("(locating the harnessgym binary)", e))?;
    let baseline = store
        .baseline(&config.image, &config.workspace, &helper)
        .await?;
    let files = super::checkpoint::baseline_files(&config.workspace)
        .map_err(|e| RunError::write("(listing the workspace)", e))?;
    Ok(Prepared {
        store,
        baseline,
        files,
        strategy: (strategy, source),
    })
}

async fn run_locked(
    config: &RunConfig,
    engine: &Engine,
    (image_id, info): (String, crate::sandbox::EngineInfo),
    driving: Driving,
    given: Option<GivenBaseline>,
) -> Result<RunOutcome, RunError> {
    let Driving { quiet, verbose } = driving;
    let layout = RunLayout::new(&config.workspace, &config.run_id);
    registry::ensure_harness_dirs(&config.workspace).map_err(RunError::Registry)?;
    let registry_path = registry::registry_path(&config.workspace);
    let mut loaded = registry::load_registry(&registry_path).map_err(RunError::Registry)?;
    registry::save_registry(&registry_path, &mut loaded.registry).map_err(RunError::Registry)?;
    std::fs::create_dir_all(layout.run_dir().join("iterations"))
        .map_err(|e| RunError::write("the run directory", e))?;
    let mut display = Display::new(quiet);
    let disk = disk_limit(engine, &info, config).await?;
    let protected = super::protect::Protected::scan(&config.workspace, &config.protect)
        .map_err(|e| RunError::write("(reading the --protect paths)", e))?;
    let line = display.start("snapshot of the workspace".to_string(), None);
    let records = crate::snapshot::records_dir(&layout.run_dir());
    let Prepared {
        store,
        baseline,
        files: baseline_files,
        strategy,
    } = prepare(config, engine, &info, records, given).await?;
    display.finish(line, "baseline ready");
    let baseline_at = crate::harness::time::utc_now();
    let facts = summary::RunEnvironment {
        image_id: &image_id,
        engine: &info,
        strategy,
        disk,
    };
    write_json_atomic(
        &layout.run_config_path(),
        &summary::run_config(config, &facts),
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
        limit_lines: Vec::new(),
        write_back_counts: None,
        disk,
        protected,
        baseline_files,
        baseline_at,
    };
    run.score_baseline().await?;
    let (entries, mut scores) = run.iterations().await?;
    scores.extend(run.baseline_score);
    // A compare trial leaves the host alone; its caller scores the final snapshot.
    let restore = if config.attempt_only {
        None
    } else {
        run.finish_workspace(&entries).await?
    };
    let kept = run.retain().await?;
    let mut facts = run.run_facts(restore);
    facts.kept = Some(json!({"snapshots": kept.names, "bytes": kept.bytes}));
    let summary = summary::summary(
        config,
        &entries,
        &scores,
        &facts,
        run.display.wall().as_secs_f64(),
        run.display.timings(),
    );
    let summary = to_value(&summary);
    write_json_atomic(&run.layout.summary_path(), &summary)
        .map_err(|e| RunError::write("summary.json", e))?;
    if verbose && !quiet {
        run.display.print_breakdown();
    }
    let final_result = entries.last().map(|e| e.result_path.clone());
    Ok(RunOutcome {
        summary,
        run_dir: run.layout.run_dir(),
        final_result,
        kept,
        write_back: run.write_back_counts.clone(),
        last: run.last.clone(),
    })
}

/// `write_back.json`: what the final write-back wrote, removed and refused (paths as bytes when
/// they are not UTF-8), so a refused entry is visible and the run is never aborted by one.
fn write_back_record(snapshot: &Snapshot, report: &crate::snapshot::WriteBackReport) -> Value {
    let text = |p: &std::path::PathBuf| p.to_string_lossy().into_owned();
    json!({
        "format_version": summary::FORMAT_VERSION,
        "snapshot": snapshot.name(),
        "written": report.written.iter().map(text).collect::<Vec<_>>(),
        "removed": report.removed.iter().map(text).collect::<Vec<_>>(),
        "refused": report.refused.iter().cloned().map(RefusalRecord::from).collect::<Vec<_>>(),
        "refused_below": report.refused_below,
        "refused_unlisted": report.refused_unlisted,
    })
}

/// The disk limit of the run's containers: a storage quota where the engine has one (probed
/// once per engine), else the watchdog.
async fn disk_limit(
    engine: &Engine,
    info: &crate::sandbox::EngineInfo,
    config: &RunConfig,
) -> Result<Option<DiskLimit>, RunError> {
    let Some(bytes) = config.disk_limit else {
        return Ok(None);
    };
    let (enforcement, _) = engine.disk_enforcement(info, &config.image).await?;
    Ok(Some(DiskLimit { bytes, enforcement }))
}

impl Loop<'_> {
    async fn iterations(&mut self) -> Result<(Vec<IterationEntry>, Vec<f64>), RunError> {
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
        let untouched = super::protect::Touched::default();
        let Some(post) = self
            .run_post(&baseline, &dir, "baseline", 0, &untouched)
            .await?
        else {
            return Ok(());
        };
        if post.passed() {
            self.baseline_score = post.score;
            self.checkpoints.best_score = post.score;
            if let (true, Some(score)) = (self.checkpoints.enabled, post.score) {
                self.capture_best(&baseline, 0, score, "baseline_post_attempt_passed")
                    .await?;
            }
        }
        self.baseline_post = Some(post);
        Ok(())
    }

    /// The end of the run on the host: the best checkpoint's task files when restoring (then
    /// scored again), else the final task files. Returns the restore report, if any.
    async fn finish_workspace(
        &mut self,
        entries: &[IterationEntry],
    ) -> Result<Option<RestoreReport>, RunError> {
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
        self.write_back(&best, "best checkpoint back to the workspace", task_file)
            .await?;
        let dir = self.layout.run_dir().join("checkpoints");
        let last_i = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let untouched = super::protect::Touched::default();
        let post = self
            .run_post(&best, &dir, "restored_best", last_i, &untouched)
            .await?;
        // A best snapshot exists only with a capture, whose manifest is the last one.
        let Some(manifest) = self.checkpoints.captures.last().cloned() else {
            return Ok(None);
        };
        let restore = RestoreReport {
            restored: true,
            restored_at: crate::harness::time::utc_now(),
            checkpoint_path: manifest.checkpoint_path,
            manifest_path: manifest.manifest_path,
            restored_file_count: manifest.file_count,
            restored_files: manifest.files,
            iteration: manifest.iteration,
            score: manifest.score,
            reason: manifest.reason,
            post_restore_passed: post.as_ref().map(PostResult::passed),
            post_restore: post.as_ref().map(PostResult::to_value),
        };
        if let Some(entry) = entries.last() {
            let path = &entry.result_path;
            let update = json!({"optimization": {"restored_best_checkpoint": to_value(&restore)}});
            if let Value::Object(update) = update {
                crate::harness::result::update_result(std::path::Path::new(path), update)
                    .map_err(|e| RunError::write("result.json", e))?;
            }
        }
        Ok(Some(restore))
    }

    /// What summary.json needs beyond the iterations (reference §3.6).
    fn run_facts(&self, restore: Option<RestoreReport>) -> summary::RunFacts {
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
            limit_lines: self.limit_lines.clone(),
            template: self
                .config
                .qualify_artifacts
                .then(|| self.template_report()),
            write_back: self.write_back_counts.clone(),
            kept: None,
        }
    }

    /// The reference's qualification template report (§5): here the template is the baseline
    /// image every clean room starts from.
    fn template_report(&self) -> TemplateReport {
        let files: Vec<String> = self
            .baseline_files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        TemplateReport {
            created_at: self.baseline_at.clone(),
            workspace: self.config.workspace.display().to_string(),
            template_path: self.baseline.reference().to_string(),
            file_count: files.len(),
            files,
        }
    }

    /// Keep what a user can still want — the baseline, the final state, the best checkpoint
    /// (everything with `--keep-snapshots`) — and remove the run's other snapshot images.
    async fn retain(&mut self) -> Result<crate::snapshot::Retained, RunError> {
        // A trial's baseline is the compare's, not the trial's to keep.
        let mut keep: Vec<Snapshot> = if self.config.attempt_only {
            vec![self.last.clone()]
        } else {
            vec![self.baseline.clone(), self.last.clone()]
        };
        keep.extend(self.checkpoints.best.clone());
        if self.config.keep_snapshots {
            let all =
                crate::snapshot::load_all(&crate::snapshot::records_dir(&self.layout.run_dir()));
            let kept = crate::snapshot::Retained {
                names: all.iter().map(|r| r.name.clone()).collect(),
                bytes: crate::snapshot::chain_bytes(
                    &all,
                    &all.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                ),
                removed: 0,
            };
            return Ok(kept);
        }
        let refs: Vec<&Snapshot> = keep.iter().collect();
        Ok(self.store.retain(&refs).await?)
    }

    /// Write `snapshot`'s changed paths that `keep` accepts to the host workspace.
    async fn write_back(
        &mut self,
        snapshot: &Snapshot,
        label: &str,
        keep: fn(&std::path::Path) -> Decision,
    ) -> Result<crate::snapshot::WriteBackReport, RunError> {
        let line = self.display.start(label.to_string(), None);
        let keep: crate::snapshot::Policy = std::sync::Arc::new(keep);
        let report = self
            .store
            .write_back(snapshot, &self.config.workspace, keep)
            .await?;
        let commits = self.save_agent_commits(snapshot).await;
        let mut record = write_back_record(snapshot, &report);
        record["agent_commits"] = json!(commits.as_ref().map(|p| p.display().to_string()));
        write_json_atomic(&self.layout.run_dir().join("write_back.json"), &record)
            .map_err(|e| RunError::write("write_back.json", e))?;
        self.write_back_counts = Some(json!({
            "snapshot": snapshot.name(),
            "written": report.written.len(),
            "removed": report.removed.len(),
            "refused": report.refused_count(),
            "agent_commits": commits.map(|p| p.display().to_string()),
        }));
        let word = format!(
            "{} written, {} removed, {} refused",
            report.written.len(),
            report.removed.len(),
            report.refused_count()
        );
        self.display.finish(line, &word);
        Ok(report)
    }
}
