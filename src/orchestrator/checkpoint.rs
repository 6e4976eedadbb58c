//! The best checkpoint of optimization mode (reference §2.8), as a layer: capturing is tagging
//! the attempt's committed snapshot (no copy); restoring writes its task files to the host.

use super::Loop;
use super::error::RunError;
use crate::harness::json::write_json_atomic;
use crate::harness::reports::{CheckpointManifest, to_value};
use crate::harness::time::utc_now;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::layer::pack::{is_reference_excluded, is_run_state};
use crate::snapshot::{Change, ChangeSet, EntryKind, Snapshot};

/// The checkpoint state of a run.
#[derive(Debug, Default)]
pub struct Checkpoints {
    /// Checkpoints are taken (optimization mode with restore on).
    pub enabled: bool,
    /// The best verified score so far (seeded only by a passing baseline).
    pub best_score: Option<f64>,
    /// The tagged best snapshot.
    pub best: Option<Snapshot>,
    /// Every manifest captured, in order.
    pub captures: Vec<CheckpointManifest>,
}

/// The files and links of the host workspace as the baseline packed them, without the
/// reference's template exclusions (§2.8): what a checkpoint or the qualification template
/// holds in the reference.
pub fn baseline_files(workspace: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(workspace.join(&dir))? {
            let rel = dir.join(entry?.file_name());
            if is_run_state(&rel) || is_reference_excluded(&rel) {
                continue;
            }
            if std::fs::symlink_metadata(workspace.join(&rel))?.is_dir() {
                stack.push(rel);
            } else {
                files.push(rel);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The files of a state: the baseline's with `changes` (since the baseline) applied, without
/// the reference's exclusions; sorted, as text.
pub fn state_files(baseline: &[PathBuf], changes: &ChangeSet) -> Vec<String> {
    let mut files: BTreeSet<PathBuf> = baseline.iter().cloned().collect();
    for (path, change) in changes.iter() {
        match change {
            Change::Written(EntryKind::File | EntryKind::Symlink) => {
                files.retain(|f| !f.starts_with(path) || f == path);
                files.insert(path.to_path_buf());
            }
            Change::Written(EntryKind::Dir) => {
                files.remove(path);
            }
            Change::Removed | Change::Replaced => files.retain(|f| !f.starts_with(path)),
        }
    }
    files
        .into_iter()
        .filter(|f| !is_reference_excluded(f))
        .map(|f| f.to_string_lossy().into_owned())
        .collect()
}

impl Loop<'_> {
    /// Tag `snapshot` as the best and write `best_manifest.json`; returns the manifest.
    pub(super) async fn capture_best(
        &mut self,
        snapshot: &Snapshot,
        iteration: u32,
        score: f64,
        reason: &str,
    ) -> Result<CheckpointManifest, RunError> {
        let best = self.store.tag(snapshot, "best").await?;
        let files = state_files(&self.baseline_files, snapshot.changes_since_baseline());
        let dir = self.layout.run_dir().join("checkpoints");
        let manifest_path = dir.join("best_manifest.json");
        let manifest = CheckpointManifest {
            created_at: utc_now(),
            iteration,
            score,
            reason: reason.to_string(),
            checkpoint_path: best.reference().to_string(),
            manifest_path: manifest_path.display().to_string(),
            file_count: files.len(),
            files,
        };
        write_json_atomic(&manifest_path, &to_value(&manifest))
            .map_err(|e| RunError::write("best_manifest.json", e))?;
        self.checkpoints.best = Some(best);
        self.checkpoints.best_score = Some(score);
        self.checkpoints.captures.push(manifest.clone());
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_states_files_are_the_baselines_with_the_changes_applied() {
        use crate::snapshot::LayerChange;
        let baseline: Vec<PathBuf> = ["a.c", "dir/x", "dir/y", "keep.md"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let changes = ChangeSet::from_layer(
            [
                ("a.c", LayerChange::Entry(EntryKind::File)),
                ("dir", LayerChange::Whiteout),
                ("new.o", LayerChange::Entry(EntryKind::File)),
                ("new.py", LayerChange::Entry(EntryKind::File)),
                ("keep.md", LayerChange::Entry(EntryKind::Dir)),
                ("keep.md/inner", LayerChange::Entry(EntryKind::File)),
            ]
            .map(|(p, c)| (PathBuf::from(p), c)),
        );
        assert_eq!(
            state_files(&baseline, &changes),
            ["a.c", "keep.md/inner", "new.py"],
            "removals drop what they held, a file that became a directory goes, `.o` is excluded"
        );
    }
}
