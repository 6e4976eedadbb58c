//! The agent's commits, offered as a git bundle instead of written into the host's `.git`.
//!
//! `.git` never comes back to the host (a hook, `core.fsmonitor` or a rewritten ref would run or
//! lose code without the user reading a diff). When the final state changed anything under
//! `.git`, `git bundle create --all` runs in a throwaway container of that state (network off;
//! the repository's own hooks and fsmonitor disabled), and the bundle is saved as
//! `runs/<id>/agent-commits.bundle`: the user can inspect it with `git bundle list-heads` and
//! fetch from it (`git fetch <bundle> 'refs/*:refs/agent/*'`) — a bundle is data, fetching it
//! runs nothing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Loop;
use super::error::RunError;
use crate::sandbox::{ExecSpec, Role, SandboxError};
use crate::snapshot::Snapshot;

/// Budget of `git bundle create`.
const BUNDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest bundle kept.
const BUNDLE_LIMIT: u64 = 1 << 30;
/// Where the bundle is made inside the throwaway container.
const BUNDLE_IN_CONTAINER: &str = "/tmp/agent-commits.bundle";

const SCRIPT: &str = "cd /workspace && git -c core.fsmonitor=false -c core.hooksPath=/dev/null \
    bundle create /tmp/agent-commits.bundle --all";

impl Loop<'_> {
    /// When `snapshot` changed `.git`, save the agent's commits as a bundle in the run folder;
    /// returns its path. A failure is logged, not fatal: the commits stay in the snapshot.
    pub(super) async fn save_agent_commits(&mut self, snapshot: &Snapshot) -> Option<PathBuf> {
        let touched_git = snapshot
            .changes_since_baseline()
            .iter()
            .any(|(path, _)| path.starts_with(".git"));
        if !touched_git {
            return None;
        }
        let out = self.layout.run_dir().join("agent-commits.bundle");
        match self.bundle_commits(snapshot, &out).await {
            Ok(()) => Some(out),
            Err(err) => {
                tracing::warn!(
                    "the agent changed .git, but its commits could not be bundled: {err}"
                );
                None
            }
        }
    }

    async fn bundle_commits(&mut self, snapshot: &Snapshot, out: &Path) -> Result<(), RunError> {
        let spec = self.spec(0);
        let container = self.store.start(snapshot, &spec, Role::Scratch).await?;
        let made = async {
            let run = container
                .exec(&ExecSpec::shell(SCRIPT, BUNDLE_TIMEOUT))
                .await?;
            if !run.success() {
                return Err(SandboxError::Walk {
                    id: container.short(),
                    code: run.exit_code,
                    stderr: run.stderr.text().trim().to_string(),
                });
            }
            let target = out.to_path_buf();
            container
                .download_with(BUNDLE_IN_CONTAINER, move |reader| {
                    save_single(reader, &target)
                })
                .await?
        }
        .await;
        container.remove().await?;
        Ok(made?)
    }
}

/// Save the one regular file of a single-entry archive at `out` (atomically, capped).
fn save_single(reader: &mut dyn Read, out: &Path) -> Result<(), SandboxError> {
    let io = |source| SandboxError::HostIo {
        action: "save the agent's commits at",
        path: out.to_path_buf(),
        source,
    };
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(io)?;
    let Some(entry) = entries.next() else {
        return Err(io(std::io::Error::other("the archive is empty")));
    };
    let entry = entry.map_err(io)?;
    if !entry.header().entry_type().is_file() || entry.size() > BUNDLE_LIMIT {
        return Err(io(std::io::Error::other(
            "not a regular file within the size limit",
        )));
    }
    let dir = out.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::copy(&mut entry.take(BUNDLE_LIMIT), temp.as_file_mut()).map_err(io)?;
    temp.persist(out).map_err(|e| io(e.error))?;
    Ok(())
}
