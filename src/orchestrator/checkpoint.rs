//! The best checkpoint of optimization mode (reference §2.8), as a layer: capturing is tagging
//! the attempt's committed snapshot (no copy); restoring writes its task files to the host.

use serde_json::{Value, json};

use super::Loop;
use super::error::RunError;
use crate::harness::json::write_json_atomic;
use crate::harness::time::utc_now;
use crate::snapshot::Snapshot;

/// Top-level names a restore never touches (the reference keeps them, §2.8).
pub const RESTORE_KEEPS: &[&str] = &[".harnessgym", ".git", ".codex", ".agents", ".claude"];

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
    pub captures: Vec<Value>,
}

/// Whether a restore may write `rel` (a workspace-relative path).
pub fn restorable(rel: &std::path::Path) -> bool {
    !RESTORE_KEEPS.iter().any(|kept| rel.starts_with(kept))
}

impl Loop<'_> {
    /// Tag `snapshot` as the best and write `best_manifest.json`; returns the manifest.
    pub(super) async fn capture_best(
        &mut self,
        snapshot: &Snapshot,
        iteration: u32,
        score: f64,
        reason: &str,
    ) -> Result<Value, RunError> {
        let best = self.store.tag(snapshot, "best").await?;
        let files: Vec<String> = snapshot
            .changes_since_baseline()
            .written_files()
            .into_iter()
            .filter(|path| restorable(path))
            .map(|path| path.to_string_lossy().into_owned())
            .collect();
        let dir = self.layout.run_dir().join("checkpoints");
        let manifest_path = dir.join("best_manifest.json");
        let manifest = json!({
            "created_at": utc_now(),
            "iteration": iteration,
            "score": score,
            "reason": reason,
            "checkpoint_path": best.reference(),
            "manifest_path": manifest_path.display().to_string(),
            "image_id": best.image_id(),
            "file_count": files.len(),
            "files": files,
        });
        write_json_atomic(&manifest_path, &manifest)
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
    fn restores_leave_harness_and_vcs_dirs_alone() {
        for kept in [
            ".harnessgym/x",
            ".git/HEAD",
            ".codex/config.toml",
            ".agents",
            ".claude/skills/s",
        ] {
            assert!(!restorable(std::path::Path::new(kept)), "{kept}");
        }
        for written in ["kernel.c", "src/.git-like", "a/.git/x"] {
            assert!(restorable(std::path::Path::new(written)), "{written}");
        }
    }
}
