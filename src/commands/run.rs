//! `harnessgym run`: validate the flags, connect, run the loop, print the closing lines.

use serde_json::Value;

use super::context::Context;
use super::error::CommandError;
use crate::cli::RunArgs;
use crate::exit;
use crate::orchestrator::{self, RunConfig, RunError};
use crate::sandbox::Selector;

/// A number as Python prints it (`4.0`), `None` when absent: the closing lines keep the
/// reference's format so scripts that read them keep working.
fn python_repr(value: Option<&Value>) -> String {
    match value.and_then(Value::as_f64) {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e16 => format!("{v:.1}"),
        Some(v) => v.to_string(),
        None => "None".to_string(),
    }
}

/// Run the loop once; exit 0 whether or not the task was solved.
pub async fn run(ctx: &Context, args: RunArgs) -> Result<u8, CommandError> {
    let cwd = std::env::current_dir()
        .map_err(|e| RunError::write("(reading the current directory)", e))?;
    let config = RunConfig::from_args(args, &cwd).map_err(RunError::from)?;
    let engine = ctx.engine().await?;
    let work = async {
        orchestrator::run(&config, &engine, ctx.quiet, ctx.verbose > 0)
            .await
            .map_err(CommandError::from)
    };
    let outcome = match ctx.guarded(&engine, work).await {
        Ok(outcome) => outcome,
        Err(CommandError::Interrupted) => {
            orchestrator::record_interruption(&config);
            // An interrupted run keeps nothing in the engine: its snapshots go too (a finished
            // run keeps them until `gc`). Its files under .harnessgym/runs stay for the user.
            let report = engine
                .reap(&Selector::Run(config.run_id.clone()), true)
                .await;
            for err in report.errors {
                tracing::warn!("cleanup: {err}");
            }
            return Err(CommandError::Interrupted);
        }
        Err(err) => {
            // A run that started leaves a summary whatever stopped it.
            orchestrator::record_failure(&config, &err);
            return Err(err);
        }
    };
    if config.json {
        let text = crate::harness::json::to_pretty_json(&outcome.summary)
            .map_err(|e| RunError::write("the summary", e))?;
        crate::output::print_json(&text);
        return Ok(exit::SUCCESS);
    }
    crate::outln!("Run id: {}", config.run_id);
    crate::outln!("Run artifacts: {}", outcome.run_dir.display());
    let summary = &outcome.summary;
    let has_iterations = summary
        .get("iterations")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty());
    if has_iterations {
        let status = summary
            .get("final_status")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let solved = summary
            .get("solved")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        crate::outln!("Final status: {status}");
        crate::outln!(
            "Solved and verified: {}",
            if solved { "True" } else { "False" }
        );
        if let Some(path) = &outcome.final_result {
            crate::outln!("Final result: {path}");
        }
    }
    if config.optimization_mode {
        let block = &summary["optimization"];
        let improved = block
            .get("improved")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        crate::outln!(
            "Optimization improved: {}",
            if improved { "True" } else { "False" }
        );
        crate::outln!("Best score: {}", python_repr(block.get("best_score")));
    }
    if !ctx.quiet {
        // Not the reference's closing lines (stdout): what harnessgym left behind, on stderr.
        closing_notes(&config.run_id, &outcome);
    }
    Ok(exit::SUCCESS)
}

/// What the write-back refused, and what the run keeps in the engine and how to remove it.
fn closing_notes(run_id: &str, outcome: &orchestrator::RunOutcome) {
    if let Some(counts) = &outcome.write_back {
        let refused = counts["refused"].as_u64().unwrap_or(0);
        if refused > 0 {
            crate::errln!(
                "write-back: {refused} path(s) refused, listed in {}",
                outcome.run_dir.join("write_back.json").display()
            );
        }
        if let Some(bundle) = counts["agent_commits"].as_str() {
            crate::errln!(
                "the agent's commits: {bundle} (git fetch <bundle> 'refs/*:refs/agent/*')"
            );
        }
    }
    let kept = &outcome.kept;
    if !kept.names.is_empty() {
        crate::errln!(
            "kept {} snapshot(s) in the engine ({}, {:.1} MB): `harnessgym gc --run {run_id}` removes them",
            kept.names.len(),
            kept.names.join(", "),
            kept.bytes as f64 / 1e6
        );
    }
}
