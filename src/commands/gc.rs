//! `harnessgym gc`: remove what harnessgym processes that are gone left in the engine.

use super::context::Context;
use super::error::CommandError;
use crate::cli::GcArgs;
use crate::exit;
use crate::sandbox::Selector;

/// Remove containers, volumes and (unless `--keep`) snapshot images of dead owners, or of one run.
pub async fn run(ctx: &Context, args: GcArgs) -> Result<u8, CommandError> {
    let engine = ctx.engine().await?;
    let selector = match args.run {
        Some(run) => Selector::Run(run),
        None => Selector::DeadOwners,
    };
    let report = ctx
        .guarded(&engine, async {
            Ok(engine.reap(&selector, !args.keep).await)
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
