//! Writing a snapshot back to the host: the paths changed since the baseline, deletions
//! included, through safe extraction only.
//!
//! Everything here is the agent's output, hence hostile. The change set (from the snapshot's own
//! layers, never the engine's diff) says what to do; the content comes from a created, never
//! started staging container of the snapshot image. Each path goes through the caller's policy
//! (keep, skip silently, or refuse and record) and the extractor's own rules; a refused path is
//! recorded and skipped, and the rest of the write-back completes.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::store::{Snapshot, SnapshotStore, finish};
use crate::sandbox::extract::{
    Decision, ExtractOptions, MAX_LISTED_REFUSALS, Refused, remove_paths_safe,
};
use crate::sandbox::{Container, SandboxError, WORKSPACE};

/// Beyond this many paths to copy, one download of the whole workspace (filtered) is cheaper
/// than one archive request per path.
const MAX_PER_PATH_COPIES: usize = 64;

/// What a write-back may do with each workspace-relative path: keep it, leave it alone
/// silently (not part of this write-back), or refuse it and record why.
pub type Policy = Arc<dyn Fn(&Path) -> Decision + Send + Sync>;

/// What a write-back did.
#[derive(Debug, Clone, Default)]
pub struct WriteBackReport {
    /// Relative paths written.
    pub written: Vec<PathBuf>,
    /// Relative paths removed.
    pub removed: Vec<PathBuf>,
    /// Entries and removals refused (recorded, not applied), in the order met: at most
    /// [`MAX_LISTED_REFUSALS`], so a hostile snapshot cannot grow the report without bound.
    pub refused: Vec<Refused>,
    /// Entries skipped below a refused directory or link.
    pub refused_below: usize,
    /// Refusals past [`MAX_LISTED_REFUSALS`], counted only.
    pub refused_unlisted: usize,
}

impl WriteBackReport {
    fn absorb(&mut self, other: WriteBackReport) {
        self.written.extend(other.written);
        self.removed.extend(other.removed);
        self.refuse(other.refused);
        self.refused_below += other.refused_below;
        self.refused_unlisted += other.refused_unlisted;
    }

    /// List `refused` while there is room, count the rest.
    fn refuse(&mut self, refused: Vec<Refused>) {
        let room = MAX_LISTED_REFUSALS.saturating_sub(self.refused.len());
        self.refused_unlisted += refused.len().saturating_sub(room);
        self.refused.extend(refused.into_iter().take(room));
    }

    /// Every refusal: listed, below a refused entry, and unlisted.
    pub fn refused_count(&self) -> usize {
        self.refused.len() + self.refused_below + self.refused_unlisted
    }
}

impl SnapshotStore {
    /// Write `snapshot`'s changes since the baseline into the host directory `dest`, as
    /// `policy` decides per path.
    pub async fn write_back(
        &self,
        snapshot: &Snapshot,
        dest: &Path,
        policy: Policy,
    ) -> Result<WriteBackReport, SandboxError> {
        let started = Instant::now();
        let plan = snapshot
            .since_baseline
            .filtered(|p| !matches!(policy(p), Decision::Skip))
            .plan();
        let mut report = WriteBackReport::default();
        let decide = |p: &Path| policy(p);
        for paths in [&plan.remove, &plan.replace] {
            let removal = remove_paths_safe(dest, paths, Some(&decide)).map_err(|source| {
                SandboxError::Extract {
                    id: "host".into(),
                    path: WORKSPACE.to_string(),
                    dest: dest.to_path_buf(),
                    source,
                }
            })?;
            report.removed.extend(removal.removed);
            report.refuse(removal.refused);
        }
        let wanted: Vec<PathBuf> = plan.copy.iter().chain(&plan.replace).cloned().collect();
        if !wanted.is_empty() || !plan.dirs.is_empty() {
            let staging = self.staging(&snapshot.image_id).await?;
            let copied = copy_paths(&staging, dest, &wanted, &plan.dirs, policy).await;
            report.absorb(finish(staging, copied).await?);
        }
        tracing::info!(
            written = report.written.len(),
            removed = report.removed.len(),
            refused = report.refused.len(),
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
    policy: Policy,
) -> Result<WriteBackReport, SandboxError> {
    let per_path = paths.len() + dirs.len() <= MAX_PER_PATH_COPIES
        && paths
            .iter()
            .chain(dirs)
            .all(|p| std::str::from_utf8(p.as_os_str().as_bytes()).is_ok());
    if !per_path {
        return copy_filtered(staging, dest, paths, dirs, policy).await;
    }
    let mut report = WriteBackReport::default();
    // A directory with something to copy below it is created (safely) by that copy; one with
    // nothing below (a new empty directory) is copied as its own entry alone.
    let lonely = dirs
        .iter()
        .filter(|d| !paths.iter().any(|p| p.starts_with(d)))
        .map(|d| (d.clone(), true));
    let wanted = paths.iter().map(|p| (p.clone(), false));
    for (rel, alone) in lonely.chain(wanted) {
        let decide = policy.clone();
        let only = rel.clone();
        let policy: crate::sandbox::extract::EntryPolicy = if alone {
            Box::new(move |p: &Path| if p == only { decide(p) } else { Decision::Skip })
        } else {
            Box::new(move |p: &Path| decide(p))
        };
        let options = ExtractOptions {
            prefix: rel.parent().map(Path::to_path_buf),
            policy: Some(policy),
            replace_dirs: true,
            ..ExtractOptions::default()
        };
        let src = format!("{WORKSPACE}/{}", rel.display());
        let extracted = match staging.download_to(&src, dest, options).await {
            Ok(extracted) => extracted,
            // Gone from the image (a special file the layer did not carry): nothing to copy.
            Err(SandboxError::Download { source, .. }) if source.is_not_found() => continue,
            Err(err) => return Err(err),
        };
        report.written.extend(extracted.written);
        report.refuse(extracted.refused);
        report.refused_below += extracted.refused_below;
        report.refused_unlisted += extracted.refused_unlisted;
    }
    Ok(report)
}

/// One download of the whole workspace, keeping only what is wanted.
async fn copy_filtered(
    staging: &Container,
    dest: &Path,
    paths: &[PathBuf],
    dirs: &[PathBuf],
    policy: Policy,
) -> Result<WriteBackReport, SandboxError> {
    let roots: BTreeSet<PathBuf> = paths.iter().cloned().collect();
    let dirs: BTreeSet<PathBuf> = dirs.iter().cloned().collect();
    let decide = move |rel: &Path| {
        let wanted = dirs.contains(rel)
            || roots.contains(rel)
            || rel.ancestors().skip(1).any(|a| roots.contains(a));
        if wanted { policy(rel) } else { Decision::Skip }
    };
    let options = ExtractOptions {
        strip_components: 1,
        policy: Some(Box::new(decide)),
        replace_dirs: true,
        ..ExtractOptions::default()
    };
    let extracted = staging.download_to(WORKSPACE, dest, options).await?;
    Ok(WriteBackReport {
        written: extracted.written,
        removed: Vec::new(),
        refused: extracted.refused,
        refused_below: extracted.refused_below,
        refused_unlisted: extracted.refused_unlisted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::extract::Refusal;

    fn refusals(n: usize) -> Vec<Refused> {
        (0..n)
            .map(|i| Refused {
                path: PathBuf::from(format!("l{i}")),
                reason: Refusal::Protected,
            })
            .collect()
    }

    #[test]
    fn refusals_past_the_listed_bound_are_counted_across_reports() {
        let mut report = WriteBackReport::default();
        report.refuse(refusals(MAX_LISTED_REFUSALS - 10));
        report.absorb(WriteBackReport {
            refused: refusals(25),
            refused_below: 3,
            refused_unlisted: 7,
            ..WriteBackReport::default()
        });
        assert_eq!(report.refused.len(), MAX_LISTED_REFUSALS);
        assert_eq!(report.refused_unlisted, 15 + 7);
        assert_eq!(
            report.refused_count(),
            MAX_LISTED_REFUSALS - 10 + 25 + 3 + 7
        );
    }
}
