//! Filling the prompt templates (`crate::harness::prompts`) from the loop's state.

use serde_json::Value;

use super::Loop;
use super::error::RunError;
use crate::harness::prompts::{
    self, Agent, AttemptPrompt, BuildPrompt, HarnessDepth, PREVIEW_CHARS, PromptSession,
    ReflectionPrompt, RepairPrompt, StopTarget, TaskOrigin,
};
use crate::harness::registry::Registry;
use crate::harness::result::ResultMap;

fn session<'a>(run: &'a Loop<'_>, i: u32) -> PromptSession<'a> {
    let agent = Agent::for_runner(run.runner.name());
    PromptSession::new(agent, &run.config.run_id, i, &run.config.workspace)
}

fn depth(run: &Loop<'_>) -> HarnessDepth {
    run.config.harness_depth
}

/// The attempt prompt of iteration `i`.
pub fn attempt(
    run: &Loop<'_>,
    registry: &Registry,
    activation: &Value,
    i: u32,
) -> Result<String, RunError> {
    let err = |source| RunError::Prompt {
        phase: "attempt",
        source,
    };
    let previews = prompts::collect_previews(&run.config.workspace, registry, PREVIEW_CHARS);
    let context =
        prompts::render_artifact_context(registry, Some(activation), &previews).map_err(err)?;
    let stop_target = run.config.stop_score.map(|stop_score| StopTarget {
        score_key: &run.config.score_key,
        stop_score,
        higher_is_better: run.config.higher_is_better,
    });
    prompts::render_attempt_prompt(&AttemptPrompt {
        session: session(run, i),
        task_origin: TaskOrigin::resolve(run.config.task_path.as_deref(), &run.config.workspace),
        task_text: &run.config.task_text,
        artifact_context: &context,
        timeout: run.config.attempt_timeout_for(i),
        stop_target,
    })
    .map_err(err)
}

/// The reflection prompt, from the current result.
pub fn reflection(run: &Loop<'_>, result: &ResultMap, i: u32) -> Result<String, RunError> {
    prompts::render_reflection_prompt(&ReflectionPrompt {
        session: session(run, i),
        attempt_result: result,
        timeout: run.config.reflection_timeout,
        depth: depth(run),
    })
    .map_err(|source| RunError::Prompt {
        phase: "reflection",
        source,
    })
}

/// The build prompt for the selected improvement.
pub fn build(run: &Loop<'_>, selected: &str, i: u32) -> Result<String, RunError> {
    prompts::render_build_prompt(&BuildPrompt {
        session: session(run, i),
        selected_improvement: selected,
        timeout: run.config.build_timeout,
        depth: depth(run),
    })
    .map_err(|source| RunError::Prompt {
        phase: "build",
        source,
    })
}

/// The repair prompt for qualification attempt `k`'s failure.
pub fn repair(
    run: &Loop<'_>,
    i: u32,
    k: u32,
    reasons: &[String],
    report_rel: &str,
    report: &Value,
) -> Result<String, RunError> {
    let report_path = format!("{}/{report_rel}", crate::sandbox::WORKSPACE);
    prompts::render_repair_prompt(&RepairPrompt {
        session: session(run, i),
        repair_index: k,
        failure_reasons: reasons,
        report_path: &report_path,
        report: Some(report),
        timeout: run.config.build_timeout,
        depth: depth(run),
    })
    .map_err(|source| RunError::Prompt {
        phase: "repair",
        source,
    })
}
