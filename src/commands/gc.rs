//! `harnessgym gc`: remove what harnessgym processes that are gone left in the engine.

use super::context::Context;
use super::error::CommandError;
use crate::cli::GcArgs;
use crate::exit;
use crate::sandbox::Selector;

/// Remove containers, volumes and (unless `--keep`) snapshot images of dead owners, or of one
/// run; without `--run` and `--keep`, also the helper images nothing uses any more.
pub async fn run(ctx: &Context, args: GcArgs) -> Result<u8, CommandError> {
    let engine = ctx.engine().await?;
    let prune_helpers = args.run.is_none() && !args.keep;
    let selector = match args.run {
        Some(run) => Selector::Run(run),
        None => Selector::DeadOwners,
    };
    let report = ctx
        .guarded(&engine, async {
            let mut report = engine.reap(&selector, !args.keep).await;
            if prune_helpers {
                engine
                    .prune_helpers(crate::snapshot::HELPER_ROLE, &mut report)
                    .await;
            }
            Ok(report)
        })
        .await?;
    if !ctx.quiet {
        crate::outln!(
            "removed {} container(s), {} image(s), {} volume(s)",
            report.containers.len(),
            report.images.len(),
            report.volumes.len()
        );
        if ctx.verbose > 0 {
            for id in report
                .containers
                .iter()
                .chain(&report.images)
                .chain(&report.volumes)
            {
                crate::outln!("  {id}");
            }
        }
    }
    if report.errors.is_empty() {
        return Ok(exit::SUCCESS);
    }
    for err in &report.errors {
        crate::errp!("{}", crate::diagnostics::render(err, None));
    }
    Ok(exit::ENGINE)
}
