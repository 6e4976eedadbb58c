//! A whole run (reference §2.1 and the end of §2.2): lock, bundle dirs and registry, the
//! baseline snapshot, `run_config.json`, the iterations, the final task files back to the host,
//! `summary.json`.

use serde_json::Value;

use super::RunConfig;
use super::display::Display;
use super::error::RunError;
use super::layout::RunLayout;
use super::lock::WorkspaceLock;
use super::summary;
use crate::harness::json::write_json_atomic;
use crate::harness::registry;
use crate::runner::Runner;
use crate::sandbox::Engine;
use crate::snapshot::pack::PackFilter;
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

/// The harnessgym executable installed into the run's containers: `HARNESSGYM_HELPER_BINARY`
/// when set (tests, or a binary built for another libc), else this very executable.
fn helper_binary() -> Result<std::path::PathBuf, RunError> {
    match std::env::var_os("HARNESSGYM_HELPER_BINARY") {
        Some(path) => Ok(path.into()),
        None => std::env::current_exe()
            .map_err(|e| RunError::write("(locating the harnessgym binary)", e)),
    }
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
    let layout = RunLayout::new(&config.workspace, &config.run_id);
    registry::ensure_harness_dirs(&config.workspace).map_err(RunError::Registry)?;
    let registry_path = registry::registry_path(&config.workspace);
    let mut loaded = registry::load_registry(&registry_path).map_err(RunError::Registry)?;
    registry::save_registry(&registry_path, &mut loaded.registry).map_err(RunError::Registry)?;
    std::fs::create_dir_all(layout.run_dir().join("iterations"))
        .map_err(|e| RunError::write("the run directory", e))?;
    let image_id = engine.require_image(&config.image).await?;
    let info = engine.info().await?;
    let mut display = Display::new(quiet);
    let line = display.start("snapshot of the workspace".to_string(), None);
    let store = SnapshotStore::new(engine.clone(), &config.run_id);
    let helper = helper_binary()?;
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
        runner: Runner::new(config.runner),
        display,
        last: baseline.clone(),
        baseline,
    };
    let (entries, scores) = run.iterations().await?;
    run.write_back().await?;
    let summary = summary::summary(
        config,
        &entries,
        &scores,
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

    /// The final task files to the host: the paths changed since the baseline, deletions
    /// included, `.harnessgym/` left to its own sync.
    async fn write_back(&mut self) -> Result<(), RunError> {
        let line = self
            .display
            .start("task files back to the workspace".to_string(), None);
        let report = self
            .store
            .write_back(
                &self.last,
                &self.config.workspace,
                WriteBack::Changed,
                task_file,
            )
            .await?;
        let word = format!(
            "{} written, {} removed",
            report.written.len(),
            report.removed.len()
        );
        self.display.finish(line, &word);
        Ok(())
    }
}
