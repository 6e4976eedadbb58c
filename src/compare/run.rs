//! A whole compare: the baselines, the trial directories, the trials side by side, the report;
//! and the same machinery for one trial again (`--rerun`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::baselines;
use super::bundle::Bundle;
use super::config::{CompareConfig, Group, Settings, trial_root, trial_run_id};
use super::error::CompareError;
use super::files::{CompareReport, TrialRecord, to_value};
use super::schedule;
use super::summary::{self, ReportHead};
use super::trial::{Shared, TrialPlan};
use crate::harness::json::write_json_atomic;
use crate::orchestrator::RunConfig;
use crate::report::GroupComparison;
use crate::sandbox::{Engine, Selector};
use crate::snapshot::strategy;

/// The report's file name.
pub const REPORT: &str = "compare_report.json";

/// How a compare ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every trial ran and the report is written.
    Finished(Box<Finished>),
    /// Ctrl-C: the trials that had started (their run configurations), for the caller to mark
    /// and clean.
    Interrupted(Vec<RunConfig>),
}

/// A finished compare.
#[derive(Debug)]
pub struct Finished {
    /// `<output-dir>/compare_report.json`.
    pub path: PathBuf,
    /// Its content.
    pub report: CompareReport,
    /// The verdict's numbers.
    pub comparison: GroupComparison,
    /// Run ids whose snapshots are kept in the engine (`--keep-snapshots`).
    pub kept: Vec<String>,
}

/// One trial to set up: its group, number, directory and run id.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The group.
    pub group: Group,
    /// The number.
    pub k: u32,
    /// Its directory.
    pub root: PathBuf,
    /// Its run id.
    pub run_id: String,
}

/// The compare's trials.
pub fn slots(settings: &Settings) -> Vec<Slot> {
    let mut slots = Vec::new();
    for group in Group::BOTH {
        for k in 1..=settings.trials {
            slots.push(Slot {
                group,
                k,
                root: trial_root(&settings.output_dir, group, k),
                run_id: trial_run_id(&settings.compare_id, group, k),
            });
        }
    }
    slots
}

/// Refuse to start over existing trial directories unless `--overwrite`.
pub fn check_trial_dirs(config: &CompareConfig) -> Result<(), CompareError> {
    if config.overwrite {
        return Ok(());
    }
    match slots(&config.settings)
        .into_iter()
        .find(|s| s.root.exists())
    {
        Some(slot) => Err(CompareError::TrialExists { path: slot.root }),
        None => Ok(()),
    }
}

/// What the trials of a compare (or a re-run) share, and their plans.
struct Prepared {
    shared: Arc<Shared>,
    plans: Vec<TrialPlan>,
}

/// Make the trials' directories and configurations, then the baselines (labelled `label`, their
/// records under `records_root`).
async fn prepare(
    engine: &Engine,
    settings: &Settings,
    probe: &RunConfig,
    (label, records_root): (&str, &Path),
    slots: &[Slot],
) -> Result<Prepared, CompareError> {
    let image_id = engine.require_image(&probe.image).await?;
    let info = engine.info().await?;
    let (strategy, _) = strategy::detect(engine, &info, &probe.image).await?;
    let needs_bundle = slots.iter().any(|s| s.group == Group::Harnessed);
    let bundle = match (&settings.artifact_source, needs_bundle) {
        (Some(source), true) => {
            let source = source.clone();
            let staged = tokio::task::spawn_blocking(move || Bundle::stage(&source))
                .await
                .map_err(|e| CompareError::io("stage the bundle", Path::new("."))(e.into()))?;
            Some(staged?)
        }
        _ => None,
    };
    let mut plans = Vec::new();
    for slot in slots {
        plans.push(plan(settings, slot, bundle.as_ref())?);
    }
    let baselines = baselines::make(
        engine,
        (label, records_root),
        &settings.workspace_template,
        probe,
        strategy,
        bundle.as_ref(),
    )
    .await?;
    let shared = Shared {
        engine: engine.clone(),
        settings: settings.clone(),
        baselines,
        bundle: bundle.map(|b| (b.files.clone(), b.digest.clone())),
        image_id,
        info,
        strategy,
    };
    Ok(Prepared {
        shared: Arc::new(shared),
        plans,
    })
}

/// A fresh trial directory with its host workspace (the bundle in it for a harnessed trial),
/// and the trial's run configuration.
fn plan(
    settings: &Settings,
    slot: &Slot,
    bundle: Option<&Bundle>,
) -> Result<TrialPlan, CompareError> {
    if slot.root.exists() {
        std::fs::remove_dir_all(&slot.root).map_err(CompareError::io("remove", &slot.root))?;
    }
    let workspace = slot.root.join("workspace");
    std::fs::create_dir_all(&workspace).map_err(CompareError::io("create", &workspace))?;
    let workspace = workspace
        .canonicalize()
        .map_err(CompareError::io("resolve", &workspace))?;
    if let (Group::Harnessed, Some(bundle)) = (slot.group, bundle) {
        bundle.write_into(&workspace)?;
    }
    let config = settings.trial_config(&workspace, &slot.run_id)?;
    Ok(TrialPlan {
        group: slot.group,
        k: slot.k,
        root: slot.root.clone(),
        argv: settings.trial_argv(&workspace, &slot.run_id),
        config,
        rerun_of: None,
    })
}

/// Remove what the compare labelled `label` made (its baselines, harnessed one first: under the
/// commit strategy it is the other's child), unless snapshots are kept.
async fn clean_baselines(shared: &Shared, label: &str, keep: bool) {
    if keep {
        return;
    }
    if let Some(harnessed) = &shared.baselines.harnessed
        && let Err(err) = shared.baselines.store.remove(harnessed).await
    {
        tracing::warn!("cleanup: {err}");
    }
    let report = shared
        .engine
        .reap(&Selector::Run(label.to_string()), true)
        .await;
    for err in report.errors {
        tracing::warn!("cleanup: {err}");
    }
}

/// Run the prepared trials, stopping on `token`: their records in plan order, or (cancelled)
/// their run configurations, which the caller marks interrupted and whose objects it reaps.
async fn trials(
    prepared: Prepared,
    (probe, jobs, quiet): (&RunConfig, usize, bool),
    label: &str,
    token: &CancellationToken,
) -> Result<Vec<TrialRecord>, Vec<RunConfig>> {
    let Prepared { shared, plans } = prepared;
    let configs: Vec<RunConfig> = plans.iter().map(|p| p.config.clone()).collect();
    let Some(records) = schedule::run_all(shared.clone(), plans, jobs, quiet, token).await else {
        return Err(configs);
    };
    clean_baselines(&shared, label, probe.keep_snapshots).await;
    Ok(records)
}

/// Run the compare `config`; `quiet` silences the per-trial lines.
pub async fn compare(
    engine: &Engine,
    config: &CompareConfig,
    quiet: bool,
    token: &CancellationToken,
) -> Result<Outcome, CompareError> {
    let settings = &config.settings;
    let created_at = crate::harness::time::utc_now();
    let slots = slots(settings);
    let label = (settings.compare_id.as_str(), settings.output_dir.as_path());
    let setup = prepare(engine, settings, &config.probe, label, &slots);
    let prepared = tokio::select! {
        prepared = setup => prepared?,
        () = token.cancelled() => return Ok(Outcome::Interrupted(Vec::new())),
    };
    let extra = json!({
        "compare_id": settings.compare_id,
        "jobs": config.jobs,
        "engine_calls": config.engine_calls,
        "template_files": prepared.shared.baselines.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "baselines": prepared.shared.baselines.record(),
        "bundle_digest": prepared.shared.bundle.as_ref().map(|(_, d)| d.clone()),
    });
    let run = (&config.probe, config.jobs, quiet);
    let records = match trials(prepared, run, &settings.compare_id, token).await {
        Ok(records) => records,
        Err(configs) => return Ok(Outcome::Interrupted(configs)),
    };
    let head = ReportHead {
        created_at,
        workspace_template: settings.workspace_template.display().to_string(),
        artifact_source: settings
            .artifact_source
            .as_ref()
            .map(|p| p.display().to_string()),
        higher_is_better: config.probe.higher_is_better,
        seed: settings.seed,
        extra,
    };
    let (report, comparison) = summary::report(&head, records);
    let path = settings.output_dir.join(REPORT);
    write_json_atomic(&path, &report).map_err(|source| CompareError::Write {
        path: path.clone(),
        source,
    })?;
    let kept = if config.probe.keep_snapshots {
        let mut ids = vec![settings.compare_id.clone()];
        ids.extend(self::slots(settings).into_iter().map(|s| s.run_id));
        ids
    } else {
        Vec::new()
    };
    Ok(Outcome::Finished(Box::new(Finished {
        path,
        report,
        comparison,
        kept,
    })))
}

/// Run one trial again (`--rerun`): `slot` with `settings`, its record marked `rerun_of` the
/// `original` with how the inputs differ. `Ok(Err(configs))`: interrupted.
pub async fn rerun(
    engine: &Engine,
    settings: &Settings,
    slot: &Slot,
    original: &Value,
    quiet: bool,
    token: &CancellationToken,
) -> Result<Result<Value, Vec<RunConfig>>, CompareError> {
    let probe = settings.probe()?;
    let baselines = rerun_label(slot);
    let label = (baselines.as_str(), slot.root.as_path());
    let setup = prepare(engine, settings, &probe, label, std::slice::from_ref(slot));
    let mut prepared = tokio::select! {
        prepared = setup => prepared?,
        () = token.cancelled() => return Ok(Err(Vec::new())),
    };
    let differences = rerun_differences(&prepared.shared, original);
    for line in differences.iter().filter_map(Value::as_str) {
        crate::errln!("warning: {line}");
    }
    for plan in &mut prepared.plans {
        plan.rerun_of = Some(json!({
            "trial": format!("{}/{}", slot.group.name(), slot.k),
            "run_id": original["run_id"],
            "differences": differences,
        }));
    }
    let run = (&probe, 1, quiet);
    Ok(trials(prepared, run, &baselines, token)
        .await
        .map(|records| records.first().map(to_value).unwrap_or(Value::Null)))
}

/// The label of a re-run's own baselines.
pub fn rerun_label(slot: &Slot) -> String {
    format!("{}-baselines", slot.run_id)
}

/// How the inputs of a re-run differ from the original trial's record: the template's layer,
/// the bundle, the image.
fn rerun_differences(shared: &Shared, original: &Value) -> Vec<Value> {
    let before = &original["harnessgym"]["rerun"];
    let now = shared.baselines.record();
    let mut differences = Vec::new();
    let mut check = |what: &str, old: &Value, new: &Value| {
        if old != new {
            differences.push(json!(format!("{what} differs: was {old}, now {new}")));
        }
    };
    check(
        "the template's layer (diff id)",
        &before["baselines"]["template"]["diff_id"],
        &now["template"]["diff_id"],
    );
    check(
        "the bundle's digest",
        &before["bundle_digest"],
        &json!(shared.bundle.as_ref().map(|(_, d)| d)),
    );
    check("the image id", &before["image_id"], &json!(shared.image_id));
    differences
}
