//! `harnessgym run`: validate the flags, connect, run the loop, print the closing lines.

use serde_json::Value;

use super::context::Context;
use super::error::CommandError;
use crate::cli::RunArgs;
use crate::exit;
use crate::orchestrator::{self, RunConfig, RunError};
use crate::sandbox::Selector;

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
        Err(err) => return Err(err),
    };
    if config.json {
        let text = crate::harness::json::to_pretty_json(&outcome.summary)
            .map_err(|e| RunError::write("the summary", e))?;
        println!("{text}");
        return Ok(exit::SUCCESS);
    }
    println!("Run id: {}", config.run_id);
    println!("Run artifacts: {}", outcome.run_dir.display());
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
        println!("Final status: {status}");
        println!(
            "Solved and verified: {}",
            if solved { "True" } else { "False" }
        );
        if let Some(path) = &outcome.final_result {
            println!("Final result: {path}");
        }
    }
    Ok(exit::SUCCESS)
}
