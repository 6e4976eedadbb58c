//! `run_config.json` (reference §3.3, plus what reproduces the run: image, engine, limits) and
//! `summary.json` (§3.6).

use serde_json::{Value, json};

use super::RunConfig;
use crate::harness::prompts::HarnessDepth;
use crate::sandbox::EngineInfo;

/// Version of the `harnessgym` block harnessgym adds to the reference's files.
pub const FORMAT_VERSION: u32 = 1;

/// The run configuration as recorded.
pub fn run_config(config: &RunConfig, image_id: &str, engine: &EngineInfo) -> Value {
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
        "attempt_only": false,
        "harness_depth": match config.harness_depth { HarnessDepth::Standard => "standard", HarnessDepth::Deep => "deep" },
        "post_attempt_command": config.post_attempt_command,
        "post_attempt_score_key": config.post_attempt_score_key,
        "post_attempt_timeout_seconds": seconds(config.post_attempt_timeout),
        "optimization_mode": config.optimization_mode,
        "restore_best": config.restore_best,
        "qualify_artifacts": config.qualify_artifacts,
        "artifact_repair_attempts": config.artifact_repair_attempts,
        "harnessgym": {
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
            "agent": agent_block(config),
        },
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
    pub captures: Vec<Value>,
    /// Whether checkpoints were taken.
    pub checkpoints_enabled: bool,
    /// The restore report, when the best was restored.
    pub restore: Option<Value>,
    /// One line per qualification (§3.6 `artifact_qualification.reports`).
    pub qualification_reports: Vec<Value>,
    /// §3.6 `harness_usage`.
    pub usage_lines: Vec<Value>,
    /// §3.6 `harness_quality_gates`.
    pub gate_lines: Vec<Value>,
}

fn optimization_blocks(config: &RunConfig, o: &RunFacts, best: Option<f64>) -> (Value, Value) {
    let improved = best.zip(o.baseline_score).is_some_and(|(b, base)| {
        crate::harness::result::is_better_score(b, base, config.higher_is_better)
    });
    let latest = o.captures.last().cloned().unwrap_or(Value::Null);
    let mut checkpoint = json!({
        "enabled": o.checkpoints_enabled,
        "restored": o.restore.is_some(),
        "captures": o.captures,
        "latest": latest,
    });
    if config.optimization_mode && !o.restore_best {
        checkpoint["reason"] = json!("disabled_by_config");
    } else if o.checkpoints_enabled && o.captures.is_empty() {
        checkpoint["reason"] = json!("no_checkpoint_captured");
    }
    if let Some(restore) = &o.restore {
        checkpoint["restore"] = restore.clone();
    }
    let mut optimization = json!({
        "enabled": o.config_enabled,
        "score_key": config.score_key,
        "higher_is_better": config.higher_is_better,
        "baseline_score": o.baseline_score,
        "best_score": best,
        "improved": improved,
        "restore_best": o.restore_best,
        "best_checkpoint": latest,
    });
    if let (Some(b), Some(base)) = (best, o.baseline_score) {
        optimization["absolute_delta_from_baseline"] = json!(b - base);
        if base != 0.0 {
            let (key, value) = if config.higher_is_better {
                ("relative_improvement", b / base - 1.0)
            } else {
                ("relative_reduction", 1.0 - b / base)
            };
            optimization[key] = json!(value);
        }
    }
    (optimization, checkpoint)
}

/// The summary of a finished (or interrupted) run.
pub fn summary(
    config: &RunConfig,
    iterations: &[Value],
    scores: &[f64],
    facts: &RunFacts,
    wall_seconds: f64,
    timings: &[(String, std::time::Duration)],
) -> Value {
    let last = iterations.last();
    let final_status = last
        .and_then(|e| e.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("not_started");
    let solved = last
        .and_then(|e| e.get("solved"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let best = best_score(scores, config.higher_is_better);
    let (optimization_block, checkpoint_block) = optimization_blocks(config, facts, best);
    json!({
        "run_id": config.run_id,
        "iterations": iterations,
        "final_status": final_status,
        "solved": solved,
        "best_score": best,
        "baseline_post_attempt": facts.baseline_post,
        "optimization": optimization_block,
        "best_checkpoint": checkpoint_block,
        "artifact_qualification": {"template": null, "reports": facts.qualification_reports},
        "harness_usage": facts.usage_lines,
        "harness_quality_gates": facts.gate_lines,
        "harnessgym": {
            "format_version": FORMAT_VERSION,
            "wall_seconds": wall_seconds,
            "timings": timings.iter().map(|(label, took)| json!({"step": label, "seconds": took.as_secs_f64()})).collect::<Vec<_>>(),
        },
    })
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
