//! `harnessgym snapshot list|export`: find a run's workspace states and get one out as a file.
//!
//! Snapshots are images tagged `harnessgym/snapshot:<run>-<name>`; a name such as `best` may be
//! a second tag on another snapshot's image, so names come from tags, not from image labels.

use super::context::Context;
use super::error::CommandError;
use crate::cli::SnapshotCommand;
use crate::exit;
use crate::sandbox::{Engine, ImageSummary, SandboxError, labels, short_id};
use crate::snapshot::{NAME_LABEL, REPO, SnapshotStore, Strategy, tag_for};

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

/// The snapshot names an image carries in `run` (one per tag).
fn names(image: &ImageSummary, run: &str) -> Vec<String> {
    let prefix = format!("{REPO}:{}-", tag_for(run, ""));
    let prefix = prefix.trim_end_matches('-');
    let mut names: Vec<String> = image
        .tags
        .iter()
        .filter_map(|t| {
            t.strip_prefix(prefix)?
                .strip_prefix('-')
                .map(str::to_string)
        })
        .collect();
    if names.is_empty() {
        names.extend(image.labels.get(NAME_LABEL).cloned());
    }
    names
}

async fn list(engine: &Engine, run: Option<&str>) -> Result<u8, CommandError> {
    for image in snapshots(engine, run).await? {
        let run_id = image.labels.get(labels::RUN).cloned().unwrap_or_default();
        // No size column: every snapshot shares the base image's layers, so the engine's image
        // size would suggest each one costs the whole image.
        for name in names(&image, &run_id) {
            crate::outln!("{:<32} {:<24} {}", run_id, name, short_id(&image.id));
        }
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
    let reference = format!("{REPO}:{}", tag_for(run, name));
    let Some(image) = engine.inspect_image(&reference).await?.and_then(|i| i.id) else {
        return Err(CommandError::NoSnapshot {
            run: run.to_string(),
            name: name.to_string(),
        });
    };
    // Export reads through a staging container; no records or strategy are involved.
    let store = SnapshotStore::new(engine.clone(), run, std::env::temp_dir(), Strategy::Load);
    let size = store.export_tar_gz(&image, out).await?;
    if !ctx.quiet {
        crate::errln!("wrote {} ({:.1} MB)", out.display(), size as f64 / 1e6);
    }
    Ok(exit::SUCCESS)
}
