//! One trial (reference §9 steps 5–8): the loop, attempt-only, from the group's baseline (its
//! host workspace holds only `.harnessgym/`: the task files are in the image); the post command
//! in a fresh container of its final snapshot; its images removed (unless `--keep-snapshots`);
//! its `trial.json` written. A trial never fails the compare: whatever goes wrong becomes its
//! `error`, and the trial is invalid.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use super::baselines::{self, Baselines};
use super::config::{Group, Settings};
use super::files::{Telemetry, TrialRecord};
use super::post;
use super::record::{self, TrialFacts};
use super::validity::Requirements;
use crate::harness::json::write_json_atomic;
use crate::harness::optimization::PostResult;
use crate::orchestrator::{self, Driving, GivenBaseline, RunConfig, RunError, RunOutcome};
use crate::sandbox::{DiskLimit, Enforcement, Engine, EngineInfo, Selector};
use crate::snapshot::{SnapshotStore, Strategy};

/// What every trial of a compare shares.
#[derive(Debug)]
pub struct Shared {
    /// The engine.
    pub engine: Engine,
    /// The compare's settings.
    pub settings: Settings,
    /// The baselines.
    pub baselines: Baselines,
    /// The bundle's files (copied into harnessed trials) and digest.
    pub bundle: Option<(Vec<String>, String)>,
    /// The session image's id.
    pub image_id: String,
    /// The engine's facts.
    pub info: EngineInfo,
    /// How snapshots become images.
    pub strategy: Strategy,
}

/// One trial to run.
#[derive(Debug, Clone)]
pub struct TrialPlan {
    /// Its group.
    pub group: Group,
    /// Its 1-based number.
    pub k: u32,
    /// `<output-dir>/<group>/trial_<k>` (or a re-run's directory).
    pub root: PathBuf,
    /// Its run's configuration.
    pub config: RunConfig,
    /// Its full `harnessgym run` argv.
    pub argv: Vec<String>,
    /// For a re-run: the original trial and how this one differs.
    pub rerun_of: Option<Value>,
}

impl TrialPlan {
    /// `plain/1`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.group.name(), self.k)
    }

    /// The trial's host workspace.
    pub fn workspace(&self) -> &Path {
        &self.config.workspace
    }
}

pub use crate::diagnostics::one_line as chain;

/// The disk limit of the post container, enforced as the engine allows (the trial's run has
/// probed it by then).
fn disk_limit(shared: &Shared, config: &RunConfig) -> Option<DiskLimit> {
    let quota = crate::sandbox::facts::load(&shared.info.id).storage_quota == Some(true);
    config.disk_limit.map(|bytes| DiskLimit {
        bytes,
        enforcement: if quota {
            Enforcement::Quota
        } else {
            Enforcement::Watchdog
        },
    })
}

/// Score the finished trial with the post command, if there is one. An engine failure here is
/// the trial's error.
async fn score(
    shared: &Shared,
    plan: &TrialPlan,
    outcome: &RunOutcome,
) -> (Option<PostResult>, String) {
    let Some(settings) = &shared.settings.post else {
        return (None, String::new());
    };
    let store = SnapshotStore::new(
        shared.engine.clone(),
        &plan.config.run_id,
        crate::snapshot::records_dir(&outcome.run_dir),
        shared.strategy,
    );
    let mut spec = baselines::spec(&plan.config);
    spec.disk = disk_limit(shared, &plan.config);
    match post::run(&store, &outcome.last, &spec, settings, &plan.root).await {
        Ok(result) => (Some(result), String::new()),
        Err(err) => (None, format!("post command: {}", chain(&err))),
    }
}

/// Remove the trial's images, unless snapshots are kept: a finished run keeps only its final
/// snapshot, removed by its tag (an attempt that changed nothing has the baseline's image under
/// a new tag: only that tag goes); after an error, every container and image of its run label.
async fn clean(shared: &Shared, plan: &TrialPlan, outcome: &Result<RunOutcome, RunError>) {
    let keep = plan.config.keep_snapshots;
    match (outcome, keep) {
        (Ok(outcome), false) => {
            if let Err(err) = shared.engine.remove_image(outcome.last.reference()).await {
                tracing::warn!("{}: cleanup: {err}", plan.label());
            }
        }
        (Ok(_), true) => {}
        (Err(_), _) => {
            let selector = Selector::Run(plan.config.run_id.clone());
            let report = shared.engine.reap(&selector, !keep).await;
            for err in report.errors {
                tracing::warn!("{}: cleanup: {err}", plan.label());
            }
        }
    }
}

/// The trial's `mcp_telemetry`: its iterations' logs, joined in order into the reference's
/// place (`<workspace>/.harnessgym/mcp_calls.jsonl`), summarized for its run.
fn telemetry(plan: &TrialPlan) -> Telemetry {
    let workspace = plan.workspace();
    let run_dir = workspace.join(".harnessgym/runs").join(&plan.config.run_id);
    let mut joined = Vec::new();
    for i in 1..=plan.config.iterations {
        let log = run_dir.join(format!("iterations/{i}/mcp_calls.jsonl"));
        if let Ok(bytes) = std::fs::read(&log) {
            joined.extend_from_slice(&bytes);
            if !joined.ends_with(b"\n") {
                joined.push(b'\n');
            }
        }
    }
    let path = workspace.join(".harnessgym/mcp_calls.jsonl");
    if !joined.is_empty()
        && let Err(err) = std::fs::write(&path, &joined)
    {
        tracing::warn!("cannot write {}: {err}", path.display());
    }
    let summary =
        crate::mcp::telemetry::summarize_contents(&path, &joined, Some(&plan.config.run_id), None);
    Telemetry {
        path: summary.path,
        count: summary.count as u64,
        successful_count: summary.successful_count as u64,
        failed_count: summary.failed_count as u64,
        status_counts: summary
            .status_counts
            .into_iter()
            .map(|(k, v)| (k, v as u64))
            .collect(),
        called_tools: summary.called_tools,
        servers: summary.servers,
        samples: summary.samples,
    }
}

/// What re-runs the trial exactly.
fn rerun_block(shared: &Shared, plan: &TrialPlan) -> Value {
    let config = &plan.config;
    json!({
        "settings": shared.settings,
        "group": plan.group.name(),
        "trial": plan.k,
        "run_argv": plan.argv,
        "image": config.image,
        "image_id": shared.image_id,
        "engine": {
            "id": shared.info.id,
            "version": shared.info.version,
            "api_version": shared.info.api_version,
            "storage_driver": shared.info.storage_driver,
        },
        "limits": {
            "cpus": config.limits.cpus,
            "memory_bytes": config.limits.memory_bytes,
            "pids": config.limits.pids,
        },
        "disk_limit_bytes": config.disk_limit,
        "network": config.network,
        "runtime": config.runtime,
        "snapshot_strategy": shared.strategy.name(),
        "baselines": shared.baselines.record(),
        "bundle_digest": shared.bundle.as_ref().map(|(_, digest)| digest),
    })
}

/// Run `plan` to its end and write its `trial.json`; returns the record.
pub async fn run(shared: &Shared, plan: &TrialPlan) -> TrialRecord {
    let started = Instant::now();
    let started_at = crate::harness::time::utc_now();
    let harnessed = plan.group == Group::Harnessed;
    let given = GivenBaseline {
        snapshot: shared.baselines.start(harnessed).clone(),
        files: shared.baselines.files.clone(),
    };
    let driving = Driving {
        quiet: true,
        verbose: false,
    };
    let outcome = orchestrator::run_from(&plan.config, &shared.engine, driving, Some(given)).await;
    let (post, error, solved) = match &outcome {
        Ok(outcome) => {
            let (post, error) = score(shared, plan, outcome).await;
            (post, error, solved_flags(&outcome.summary))
        }
        Err(err) => (None, chain(err), Vec::new()),
    };
    clean(shared, plan, &outcome).await;
    let copied = match (&shared.bundle, harnessed) {
        (Some((files, _)), true) => files.clone(),
        _ => Vec::new(),
    };
    let mut harnessgym = json!({
        "format_version": record::FORMAT_VERSION,
        "compare_id": shared.settings.compare_id,
        "started_at": started_at,
        "finished_at": crate::harness::time::utc_now(),
        "rerun": rerun_block(shared, plan),
    });
    if let Some(of) = &plan.rerun_of {
        harnessgym["rerun_of"] = of.clone();
    }
    let facts = TrialFacts {
        group: plan.group,
        k: plan.k,
        workspace: plan.workspace().to_path_buf(),
        run_id: plan.config.run_id.clone(),
        error,
        duration_seconds: started.elapsed().as_secs_f64(),
        solved,
        score_key: plan.config.score_key.clone(),
        copied,
        telemetry: telemetry(plan),
        post_configured: shared.settings.post.is_some(),
        post,
        post_score_key: shared
            .settings
            .post
            .as_ref()
            .map(|p| p.score_key.clone())
            .unwrap_or_default(),
        requirements: Requirements {
            active: shared.settings.require_active_harness,
            tool_use: shared.settings.require_harness_tool_use,
        },
        harnessgym,
    };
    let trial = record::trial(&facts);
    let path = plan.root.join("trial.json");
    if let Err(err) = write_json_atomic(&path, &trial) {
        tracing::warn!("cannot write {}: {err}", path.display());
    }
    trial
}

/// `solved` of each iteration, from the run's summary.
fn solved_flags(summary: &Value) -> Vec<bool> {
    summary["iterations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["solved"].as_bool().unwrap_or(false))
        .collect()
}
