//! Trials side by side: up to `--jobs` at once, as tokio tasks of one process, started in
//! interleaved order (plain 1, harnessed 1, plain 2, harnessed 2, …) so both groups see the same
//! machine conditions, whatever `--jobs` is.
//!
//! A trial that fails, panics or has its container killed is recorded as an invalid trial and
//! never stops the others. Ctrl-C (the command's cancellation token) aborts every trial and
//! waits until their tasks are gone before the command's cleanup runs. Each trial's loop is
//! quiet; this module prints one line per trial start and end on stderr.

use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::files::{HarnessValidation, RunnerValidation, Telemetry, TrialRecord};
use super::trial::{self, Shared, TrialPlan};

/// `plans` in start order: plain and harnessed interleaved by trial number.
pub fn interleaved(mut plans: Vec<TrialPlan>) -> Vec<TrialPlan> {
    plans.sort_by_key(|p| (p.k, p.group));
    plans
}

/// The record of a trial whose task panicked (a bug): invalid, with the panic as its error.
fn panicked(plan: &TrialPlan, message: &str) -> TrialRecord {
    let reason = format!("trial error: the trial panicked: {message}");
    TrialRecord {
        group: plan.group.name().to_string(),
        trial: plan.k,
        workspace: plan.workspace().display().to_string(),
        run_id: plan.config.run_id.clone(),
        run_dir: String::new(),
        result_path: None,
        status: "error".to_string(),
        solved: false,
        error: format!("the trial panicked: {message}"),
        duration_seconds: 0.0,
        attempt_duration_seconds: 0.0,
        cumulative_attempt_duration_seconds: 0.0,
        iterations_completed: 0,
        iterations: Vec::new(),
        score: None,
        copied_artifacts: Vec::new(),
        mcp_telemetry: Telemetry::default(),
        mcp_call_count: 0,
        mcp_called_tools: Vec::new(),
        runner_validation: RunnerValidation {
            valid: false,
            reason: reason.clone(),
            failed_iterations: Vec::new(),
            failed_attempts: Vec::new(),
        },
        harness_validation: HarnessValidation {
            required: false,
            valid: true,
            reason: String::new(),
            active_harness_required: None,
            tool_use_required: None,
            active_tool_count: None,
            active_mcp_count: None,
            mcp_call_count: None,
            mcp_successful_call_count: None,
            mcp_called_tools: None,
            mcp_call_status_counts: None,
        },
        comparison_valid: false,
        comparison_invalid_reason: reason.clone(),
        post_result: None,
        objective_post_valid: None,
        post_valid: Some(false),
        post_invalid_reason: reason,
        post_score: None,
        post_treated_as_worst: true,
        harnessgym: None,
    }
}

/// One line about a finished trial.
fn outcome_line(record: &TrialRecord) -> String {
    let post_status = record
        .post_result
        .as_ref()
        .and_then(|r| r["status"].as_str())
        .map(str::to_string);
    let post = match (post_status, record.post_score) {
        (None, _) => String::new(),
        (Some(status), Some(score)) => format!(", post {status} (score {score})"),
        (Some(status), None) => format!(", post {status}"),
    };
    let validity = [
        &record.comparison_invalid_reason,
        &record.post_invalid_reason,
    ]
    .into_iter()
    .find(|r| !r.is_empty())
    .map_or_else(|| "valid".to_string(), |r| format!("invalid: {r}"));
    format!("{}{post}; {validity}", record.status)
}

/// Run every plan, at most `jobs` at once, until all are done or `token` is cancelled
/// (`None` then). Records come back in plan order.
pub async fn run_all(
    shared: Arc<Shared>,
    plans: Vec<TrialPlan>,
    jobs: usize,
    quiet: bool,
    token: &CancellationToken,
) -> Option<Vec<TrialRecord>> {
    let plans = interleaved(plans);
    let slots = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set: JoinSet<(usize, TrialRecord)> = JoinSet::new();
    let drive = async {
        for (index, plan) in plans.iter().cloned().enumerate() {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let shared = shared.clone();
            if !quiet {
                crate::errln!("trial {}: started ({})", plan.label(), plan.config.run_id);
            }
            set.spawn(async move {
                let started = Instant::now();
                let run = std::panic::AssertUnwindSafe(trial::run(&shared, &plan));
                let record = match run.catch_unwind().await {
                    Ok(record) => record,
                    Err(panic) => {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        panicked(&plan, &message)
                    }
                };
                if !quiet {
                    crate::errln!(
                        "trial {}: finished in {:.1}s: {}",
                        plan.label(),
                        started.elapsed().as_secs_f64(),
                        outcome_line(&record)
                    );
                }
                drop(slot);
                (index, record)
            });
        }
        let mut records: Vec<Option<TrialRecord>> = vec![None; plans.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((index, record)) = joined {
                records[index] = Some(record);
            }
        }
        records.into_iter().flatten().collect::<Vec<_>>()
    };
    let outcome = tokio::select! {
        records = drive => Some(records),
        () = token.cancelled() => None,
    };
    if outcome.is_none() {
        // Cancelled: abort every trial and wait until their tasks have ended, so nothing of
        // theirs runs while the command cleans up.
        set.shutdown().await;
    }
    outcome
}
