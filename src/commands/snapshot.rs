//! `harnessgym snapshot list|export`: find a run's workspace states and get one out as a file.

use super::context::Context;
use super::error::CommandError;
use crate::cli::SnapshotCommand;
use crate::exit;
use crate::sandbox::{Engine, ImageSummary, SandboxError, labels, short_id};
use crate::snapshot::{NAME_LABEL, Snapshot, SnapshotStore};

/// Run a snapshot subcommand.
pub async fn run(ctx: &Context, command: SnapshotCommand) -> Result<u8, CommandError> {
    let engine = ctx.engine().await?;
    let work = async {
        match command {
            SnapshotCommand::List { run } => list(&engine, run.as_deref()).await,
            SnapshotCommand::Export { run, name, out } => {
                export(ctx, &engine, &run, &name, &out).await
            }
        }
    };
    ctx.guarded(&engine, work).await
}

async fn snapshots(engine: &Engine, run: Option<&str>) -> Result<Vec<ImageSummary>, SandboxError> {
    let mut images = engine.list_images_labelled(NAME_LABEL, None).await?;
    images.retain(|i| run.is_none_or(|r| i.labels.get(labels::RUN).map(String::as_str) == Some(r)));
    images.sort_by_key(|i| i.created);
    Ok(images)
}

async fn list(engine: &Engine, run: Option<&str>) -> Result<u8, CommandError> {
    for image in snapshots(engine, run).await? {
        let label = |key: &str| image.labels.get(key).cloned().unwrap_or_default();
        // No size column: every snapshot shares the base image's layers, so the engine's image
        // size would suggest each one costs the whole image.
        println!(
            "{:<32} {:<14} {}",
            label(labels::RUN),
            label(NAME_LABEL),
            short_id(&image.id)
        );
    }
    Ok(exit::SUCCESS)
}

async fn export(
    ctx: &Context,
    engine: &Engine,
    run: &str,
    name: &str,
    out: &std::path::Path,
) -> Result<u8, CommandError> {
    let found = snapshots(engine, Some(run))
        .await?
        .into_iter()
        .find(|i| i.labels.get(NAME_LABEL).map(String::as_str) == Some(name));
    let Some(image) = found else {
        return Err(CommandError::NoSnapshot {
            run: run.to_string(),
            name: name.to_string(),
        });
    };
    let snapshot = Snapshot {
        image_id: image.id.clone(),
        reference: image.tags.first().cloned().unwrap_or_default(),
        name: name.to_string(),
        changes: Default::default(),
    };
    let size = SnapshotStore::new(engine.clone(), run)
        .export_tar_gz(&snapshot, out)
        .await?;
    if !ctx.quiet {
        eprintln!("wrote {} ({:.1} MB)", out.display(), size as f64 / 1e6);
    }
    Ok(exit::SUCCESS)
}
