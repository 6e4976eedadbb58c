//! `run_config.json` (reference §3.3, plus what reproduces the run: image, engine, limits) and
//! `summary.json` (§3.6).

use serde_json::{Value, json};

use crate::harness::reports::{
    CheckpointManifest, CheckpointReport, GateLine, IterationEntry, OptimizationSummary,
    QualificationLine, QualificationSummary, RestoreReport, Summary, TemplateReport, UsageLine,
};

use super::RunConfig;
use crate::harness::prompts::HarnessDepth;
use crate::sandbox::EngineInfo;
use crate::snapshot::strategy::{Source, Strategy};

/// Version of the `harnessgym` block harnessgym adds to the reference's files.
pub const FORMAT_VERSION: u32 = 1;

/// What the run found about its machine, recorded beside its configuration.
#[derive(Debug)]
pub struct RunEnvironment<'a> {
    /// The session image's id.
    pub image_id: &'a str,
    /// The engine.
    pub engine: &'a EngineInfo,
    /// How snapshots are registered, and why.
    pub strategy: (Strategy, Source),
    /// The containers' disk limit.
    pub disk: Option<crate::sandbox::DiskLimit>,
}

/// The run configuration as recorded.
pub fn run_config(config: &RunConfig, env: &RunEnvironment<'_>) -> Value {
    let seconds = |d: std::time::Duration| d.as_secs();
    json!({
        "run_id": config.run_id,
        "workspace": config.workspace.display().to_string(),
        "task_path": config.task_path.as_ref().map(|p| p.display().to_string()),
        "iterations": config.iterations,
        "attempt_timeout_seconds": seconds(config.attempt_timeout),
        "attempt_timeout_schedule_seconds": config.attempt_timeouts.iter().map(|d| d.as_secs()).collect::<Vec<_>>(),
        "build_timeout_seconds": seconds(config.build_timeout),
        "reflection_timeout_seconds": seconds(config.reflection_timeout),
        "runner": config.runner.name(),
        "codex_bin": config.agent.codex_bin,
        "claude_bin": config.agent.claude_bin,
        "claude_model": config.agent.claude_model,
        "claude_permission_mode": config.agent.claude_permission_mode,
        "claude_max_budget_usd": config.agent.claude_max_budget_usd,
        "claude_extra_args": config.agent.claude_extra_args,
        "build_after_solve": config.build_after_solve,
        "stop_score": config.stop_score,
        "score_key": config.score_key,
        "higher_is_better": config.higher_is_better,
        "task_state": config.task_state.name(),
        "attempt_only": config.attempt_only,
        "harness_depth": match config.harness_depth { HarnessDepth::Standard => "standard", HarnessDepth::Deep => "deep" },
        "post_attempt_command": config.post_attempt_command,
        "post_attempt_score_key": config.post_attempt_score_key,
        "post_attempt_timeout_seconds": seconds(config.post_attempt_timeout),
        "optimization_mode": config.optimization_mode,
        "restore_best": config.restore_best,
        "qualify_artifacts": config.qualify_artifacts,
        "artifact_repair_attempts": config.artifact_repair_attempts,
        "harnessgym": harnessgym_block(config, env),
    })
}

/// What reproduces the run beyond the reference's keys: versions, image, engine, limits,
/// strategy.
fn harnessgym_block(config: &RunConfig, env: &RunEnvironment<'_>) -> Value {
    let (image_id, engine) = (env.image_id, env.engine);
    json!({
            "format_version": FORMAT_VERSION,
            "version": env!("CARGO_PKG_VERSION"),
            "image": config.image,
            "image_id": image_id,
            "engine": engine,
            "limits": {
                "cpus": config.limits.cpus,
                "memory_bytes": config.limits.memory_bytes,
                "pids": config.limits.pids,
            },
            "network": config.network,
            "disk_limit": env.disk.map(|d| json!({
                "bytes": d.bytes,
                "enforcement": match d.enforcement {
                    crate::sandbox::Enforcement::Quota => "storage quota",
                    crate::sandbox::Enforcement::Watchdog => "watchdog",
                },
            })),
            "protect": config.protect,
            "runtime": config.runtime,
            "snapshot_strategy": env.strategy.0.name(),
            "snapshot_strategy_source": env.strategy.1.name(),
            "agent": agent_block(config),
    })
}

/// What harnessgym adds about the agent: names and paths only, never a credential's value.
fn agent_block(config: &RunConfig) -> Value {
    let agent = &config.agent;
    json!({
        "codex_extra_args": agent.codex_extra_args,
        "env": agent.env,
        "credentials_files": config.credentials.iter().map(|b| json!({
            "host_path": b.host.display().to_string(),
            "container_path": b.container,
            "read_only": b.read_only,
        })).collect::<Vec<_>>(),
        "runner_config": agent.custom.as_ref().map(|c| c.path.display().to_string()),
        "custom_agent": agent.custom.as_ref().map(|c| c.name.clone()),
    })
}

/// The best of `scores` in the configured direction.
pub fn best_score(scores: &[f64], higher_is_better: bool) -> Option<f64> {
    scores.iter().copied().reduce(|a, b| {
        let better = if higher_is_better { b > a } else { b < a };
        if better { b } else { a }
    })
}

/// What the loop knows at the end of a run beyond the iterations: optimization, checkpoints,
/// qualifications, usage and gates.
#[derive(Debug, Default)]
pub struct RunFacts {
    /// `--optimization-mode`.
    pub config_enabled: bool,
    /// `--restore-best`.
    pub restore_best: bool,
    /// The passing baseline's score.
    pub baseline_score: Option<f64>,
    /// The baseline command's record.
    pub baseline_post: Option<Value>,
    /// Checkpoint manifests, in order.
    pub captures: Vec<CheckpointManifest>,
    /// Whether checkpoints were taken.
    pub checkpoints_enabled: bool,
    /// The restore report, when the best was restored.
    pub restore: Option<RestoreReport>,
    /// One line per qualification (§3.6 `artifact_qualification.reports`).
    pub qualification_reports: Vec<QualificationLine>,
    /// §3.6 `harness_usage`.
    pub usage_lines: Vec<UsageLine>,
    /// §3.6 `harness_quality_gates`.
    pub gate_lines: Vec<GateLine>,
    /// Every limit hit, with its iteration and phase.
    pub limit_lines: Vec<Value>,
    /// The qualification template report (none without qualification).
    pub template: Option<TemplateReport>,
    /// The snapshots kept in the engine when the run ended, and their size.
    pub kept: Option<Value>,
    /// What the final write-back did (`write_back.json`'s counts).
    pub write_back: Option<Value>,
}

fn checkpoint_report(config: &RunConfig, o: &RunFacts) -> CheckpointReport {
    let reason = if config.optimization_mode && !o.restore_best {
        Some("disabled_by_config")
    } else if o.checkpoints_enabled && o.captures.is_empty() {
        Some("no_checkpoint_captured")
    } else {
        None
    };
    CheckpointReport {
        enabled: o.checkpoints_enabled,
        restored: o.restore.is_some(),
        captures: o.captures.clone(),
        latest: o.captures.last().cloned(),
        reason: reason.map(str::to_string),
        restore: o.restore.clone(),
    }
}

fn optimization_summary(
    config: &RunConfig,
    o: &RunFacts,
    best: Option<f64>,
    checkpoint: CheckpointReport,
) -> OptimizationSummary {
    let both = best.zip(o.baseline_score);
    let improved = both.is_some_and(|(b, base)| {
        crate::harness::result::is_better_score(b, base, config.higher_is_better)
    });
    let relative = both.filter(|(_, base)| *base != 0.0);
    OptimizationSummary {
        enabled: o.config_enabled,
        score_key: config.score_key.clone(),
        higher_is_better: config.higher_is_better,
        baseline_score: o.baseline_score,
        best_score: best,
        improved,
        restore_best: o.restore_best,
        best_checkpoint: checkpoint,
        absolute_delta_from_baseline: both.map(|(b, base)| b - base),
        relative_reduction: relative
            .filter(|_| !config.higher_is_better)
            .map(|(b, base)| 1.0 - b / base),
        relative_improvement: relative
            .filter(|_| config.higher_is_better)
            .map(|(b, base)| b / base - 1.0),
    }
}

/// The summary of a finished run.
pub fn summary(
    config: &RunConfig,
    iterations: &[IterationEntry],
    scores: &[f64],
    facts: &RunFacts,
    wall_seconds: f64,
    timings: &[(String, std::time::Duration)],
) -> Summary {
    let last = iterations.last();
    let best = best_score(scores, config.higher_is_better);
    let checkpoint = checkpoint_report(config, facts);
    Summary {
        run_id: config.run_id.clone(),
        iterations: iterations.to_vec(),
        final_status: last
            .map_or("not_started", |e| e.status.as_str())
            .to_string(),
        solved: last.is_some_and(|e| e.solved),
        best_score: best,
        baseline_post_attempt: facts.baseline_post.clone(),
        optimization: optimization_summary(config, facts, best, checkpoint.clone()),
        best_checkpoint: checkpoint,
        artifact_qualification: QualificationSummary {
            template: facts.template.clone(),
            reports: facts.qualification_reports.clone(),
        },
        harness_usage: facts.usage_lines.clone(),
        harness_quality_gates: facts.gate_lines.clone(),
        harnessgym: Some(json!({
            "format_version": FORMAT_VERSION,
            "limits": facts.limit_lines,
            "write_back": facts.write_back,
            "kept_snapshots": facts.kept,
            "wall_seconds": wall_seconds,
            "engine_seconds": crate::sandbox::deadline::engine_time().as_secs_f64(),
            "timings": timings.iter().map(|(label, took)| json!({"step": label, "seconds": took.as_secs_f64()})).collect::<Vec<_>>(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_score_follows_the_direction() {
        assert_eq!(best_score(&[4.0, 8.0, 6.0], false), Some(4.0));
        assert_eq!(best_score(&[4.0, 8.0, 6.0], true), Some(8.0));
        assert_eq!(best_score(&[], true), None);
    }
}
