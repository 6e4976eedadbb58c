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
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::trial::{self, Shared, TrialPlan};

/// `plans` in start order: plain and harnessed interleaved by trial number.
pub fn interleaved(mut plans: Vec<TrialPlan>) -> Vec<TrialPlan> {
    plans.sort_by_key(|p| (p.k, p.group));
    plans
}

/// The record of a trial whose task panicked (a bug): invalid, with the panic as its error.
fn panicked(plan: &TrialPlan, message: &str) -> Value {
    json!({
        "group": plan.group.name(),
        "trial": plan.k,
        "run_id": plan.config.run_id,
        "workspace": plan.workspace().display().to_string(),
        "status": "error",
        "error": format!("the trial panicked: {message}"),
        "iterations": [],
        "iterations_completed": 0,
        "comparison_valid": false,
        "comparison_invalid_reason": "the trial panicked",
        "post_valid": false,
        "post_treated_as_worst": true,
        "post_invalid_reason": "the trial panicked",
    })
}

/// One line about a finished trial.
fn outcome_line(record: &Value) -> String {
    let status = record["status"].as_str().unwrap_or("unknown");
    let post = match (&record["post_result"], record["post_score"].as_f64()) {
        (Value::Null, _) => String::new(),
        (result, Some(score)) => format!(
            ", post {} (score {score})",
            result["status"].as_str().unwrap_or("?")
        ),
        (result, None) => format!(", post {}", result["status"].as_str().unwrap_or("?")),
    };
    let validity = match record["comparison_invalid_reason"].as_str() {
        Some(reason) if !reason.is_empty() => format!("invalid: {reason}"),
        _ => match record["post_invalid_reason"].as_str() {
            Some(reason) if !reason.is_empty() => format!("invalid: {reason}"),
            _ => "valid".to_string(),
        },
    };
    format!("{status}{post}; {validity}")
}

/// Run every plan, at most `jobs` at once, until all are done or `token` is cancelled
/// (`None` then). Records come back in plan order.
pub async fn run_all(
    shared: Arc<Shared>,
    plans: Vec<TrialPlan>,
    jobs: usize,
    quiet: bool,
    token: &CancellationToken,
) -> Option<Vec<Value>> {
    let plans = interleaved(plans);
    let slots = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set: JoinSet<(usize, Value)> = JoinSet::new();
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
        let mut records: Vec<Option<Value>> = vec![None; plans.len()];
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
