//! `harnessgym image build|bootstrap|list`.

use super::context::Context;
use super::error::CommandError;
use crate::cli::{BootstrapArgs, ImageBuildArgs, ImageCommand};
use crate::exit;
use crate::image::bootstrap::BootstrapOptions;
use crate::image::{BuildOptions, bootstrap_rootfs, build_images};

/// Run an image subcommand.
pub async fn run(ctx: &Context, command: ImageCommand) -> Result<u8, CommandError> {
    let engine = ctx.engine().await?;
    let work = async {
        match command {
            ImageCommand::Build(args) => build(ctx, &engine, args).await,
            ImageCommand::Bootstrap(args) => bootstrap(ctx, &engine, args).await,
            ImageCommand::List => list(&engine).await,
        }
    };
    ctx.guarded(&engine, work).await
}

async fn build(
    ctx: &Context,
    engine: &crate::sandbox::Engine,
    args: ImageBuildArgs,
) -> Result<u8, CommandError> {
    let options = BuildOptions {
        images_dir: args.images_dir,
        names: args.names,
        force: args.force,
        verbose: ctx.verbose > 0,
        quiet: ctx.quiet,
    };
    for outcome in build_images(engine, &options, &ctx.token).await? {
        crate::outln!("{} {}", outcome.tag, crate::sandbox::short_id(&outcome.id));
    }
    Ok(exit::SUCCESS)
}

async fn bootstrap(
    ctx: &Context,
    engine: &crate::sandbox::Engine,
    args: BootstrapArgs,
) -> Result<u8, CommandError> {
    let reference = crate::image::bootstrap::rootfs_image(&args.suite);
    if !args.force
        && let Some(image) = engine.inspect_image(&reference).await?
    {
        if !ctx.quiet {
            crate::errln!("{reference} already exists; pass --force to bootstrap again");
        }
        crate::outln!(
            "{reference} {}",
            crate::sandbox::short_id(&image.id.unwrap_or_default())
        );
        return Ok(exit::SUCCESS);
    }
    let options = BootstrapOptions {
        suite: args.suite,
        mirror: args.mirror,
        ..BootstrapOptions::default()
    };
    let id = bootstrap_rootfs(engine, &options, ctx.quiet, &ctx.token)
        .await
        .map_err(CommandError::from)?;
    crate::outln!("{reference} {}", crate::sandbox::short_id(&id));
    Ok(exit::SUCCESS)
}

async fn list(engine: &crate::sandbox::Engine) -> Result<u8, CommandError> {
    let mut images = engine
        .list_images_labelled("dev.harnessgym.image", None)
        .await?;
    images.extend(
        engine
            .list_images_labelled("dev.harnessgym.role", Some("rootfs"))
            .await?,
    );
    images.sort_by(|a, b| a.tags.cmp(&b.tags));
    images.dedup_by(|a, b| a.id == b.id);
    for image in images {
        crate::outln!(
            "{:<48} {}  {:>6.0} MB",
            image.tags.join(", "),
            crate::sandbox::short_id(&image.id),
            image.size as f64 / 1e6
        );
    }
    Ok(exit::SUCCESS)
}
