//! A trial's post command (reference §9 step 6): once, after its iterations, in a fresh
//! container of the trial's final snapshot — network off, the trial's limits, the whole process
//! tree killed at `--post-timeout` — so nothing the agent left running can touch the score. Its
//! output goes to `<trial>/post.{stdout,stderr}.txt`; the record is the loop's post-attempt
//! record ([`PostResult`], §2.7) with the prefix `post`.

use std::path::Path;

use super::config::PostSettings;
use crate::harness::optimization::PostResult;
use crate::sandbox::{ContainerSpec, Role, SandboxError};
use crate::snapshot::{Snapshot, SnapshotStore};

/// Run `post` on `snapshot` (a container of `store`'s run, with `spec`), logs in `dir`.
pub async fn run(
    store: &SnapshotStore,
    snapshot: &Snapshot,
    spec: &ContainerSpec,
    post: &PostSettings,
    dir: &Path,
) -> Result<PostResult, SandboxError> {
    let container = store.start(snapshot, spec, Role::Scratch).await?;
    crate::orchestrator::score_in(
        container,
        &post.command,
        post.timeout(),
        &post.score_key,
        (dir, "post"),
    )
    .await
}
