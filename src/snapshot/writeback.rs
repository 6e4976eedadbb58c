//! Writing a snapshot back to the host: the paths changed since the baseline, deletions
//! included, through safe extraction only.
//!
//! Everything here is the agent's output, hence hostile. The change set (from the snapshot's own
//! layers, never the engine's diff) says what to do; the content comes from a created, never
//! started staging container of the snapshot image. Each path goes through the caller's policy
//! and the extractor's rules; a refused path is recorded and skipped, and the rest of the
//! write-back completes.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::store::{Snapshot, SnapshotStore, finish};
use crate::sandbox::extract::{ExtractOptions, remove_paths_safe};
use crate::sandbox::{Container, SandboxError, WORKSPACE};

/// Beyond this many paths to copy, one download of the whole workspace (filtered) is cheaper
/// than one archive request per path.
const MAX_PER_PATH_COPIES: usize = 64;

/// Which workspace-relative paths a write-back may touch.
pub type Policy = Arc<dyn Fn(&Path) -> bool + Send + Sync>;

/// What a write-back did.
#[derive(Debug, Clone, Default)]
pub struct WriteBackReport {
    /// Relative paths written.
    pub written: Vec<PathBuf>,
    /// Relative paths removed.
    pub removed: Vec<PathBuf>,
    /// Relative paths refused, with the reason.
    pub refused: Vec<(PathBuf, String)>,
}

impl SnapshotStore {
    /// Write `snapshot`'s changes since the baseline that `keep` accepts into the host
    /// directory `dest`.
    pub async fn write_back(
        &self,
        snapshot: &Snapshot,
        dest: &Path,
        keep: Policy,
    ) -> Result<WriteBackReport, SandboxError> {
        let started = Instant::now();
        let plan = snapshot.since_baseline.filtered(|p| keep(p)).plan();
        let mut report = WriteBackReport::default();
        let removed =
            remove_paths_safe(dest, &plan.remove).map_err(|source| SandboxError::Extract {
                id: "host".into(),
                path: WORKSPACE.to_string(),
                dest: dest.to_path_buf(),
                source,
            })?;
        report.removed.extend(removed);
        let replaced =
            remove_paths_safe(dest, &plan.replace).map_err(|source| SandboxError::Extract {
                id: "host".into(),
                path: WORKSPACE.to_string(),
                dest: dest.to_path_buf(),
                source,
            })?;
        report.removed.extend(replaced);
        let wanted: Vec<PathBuf> = plan.copy.iter().chain(&plan.replace).cloned().collect();
        if !wanted.is_empty() || !plan.dirs.is_empty() {
            let staging = self.staging(&snapshot.image_id).await?;
            let copied = copy_paths(&staging, dest, &wanted, &plan.dirs, keep).await;
            report.written.extend(finish(staging, copied).await?);
        }
        tracing::info!(
            written = report.written.len(),
            removed = report.removed.len(),
            "{}: written back in {:.2?}",
            snapshot.name,
            started.elapsed()
        );
        Ok(report)
    }
}

/// Copy `paths` (files, links, whole replaced directories) and `dirs` (directory entries alone)
/// from the staging container's workspace into `dest`.
async fn copy_paths(
    staging: &Container,
    dest: &Path,
    paths: &[PathBuf],
    dirs: &[PathBuf],
    keep: Policy,
) -> Result<Vec<PathBuf>, SandboxError> {
    let per_path = paths.len() <= MAX_PER_PATH_COPIES
        && paths
            .iter()
            .all(|p| std::str::from_utf8(p.as_os_str().as_bytes()).is_ok());
    if !per_path {
        return copy_filtered(staging, dest, paths, dirs, keep).await;
    }
    let mut written = Vec::new();
    for dir in dirs {
        if keep(dir) {
            std::fs::create_dir_all(dest.join(dir)).map_err(|source| SandboxError::HostIo {
                action: "create",
                path: dest.join(dir),
                source,
            })?;
        }
    }
    for rel in paths {
        let policy = keep.clone();
        let options = ExtractOptions {
            prefix: rel.parent().map(Path::to_path_buf),
            filter: Some(Box::new(move |p: &Path| policy(p))),
            replace_dirs: true,
            ..ExtractOptions::default()
        };
        let src = format!("{WORKSPACE}/{}", rel.display());
        let extracted = staging.download_to(&src, dest, options).await?;
        written.extend(extracted.written);
    }
    Ok(written)
}

/// One download of the whole workspace, keeping only what is wanted.
async fn copy_filtered(
    staging: &Container,
    dest: &Path,
    paths: &[PathBuf],
    dirs: &[PathBuf],
    keep: Policy,
) -> Result<Vec<PathBuf>, SandboxError> {
    let roots: BTreeSet<PathBuf> = paths.iter().cloned().collect();
    let dirs: BTreeSet<PathBuf> = dirs.iter().cloned().collect();
    let filter = move |rel: &Path| {
        keep(rel)
            && (dirs.contains(rel)
                || roots.contains(rel)
                || rel.ancestors().skip(1).any(|a| roots.contains(a)))
    };
    let options = ExtractOptions {
        strip_components: 1,
        filter: Some(Box::new(filter)),
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    Ok(staging.download_to(WORKSPACE, dest, options).await?.written)
}
