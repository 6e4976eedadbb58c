//! A trial's post command (reference §9 step 6): once, after its iterations, in a fresh
//! container of the trial's final snapshot — network off, the trial's limits, the whole process
//! tree killed at `--post-timeout` — so nothing the agent left running can touch the score. Its
//! output goes to `<trial>/post.{stdout,stderr}.txt`; the record is the loop's post-attempt
//! record ([`PostResult`], §2.7) with the prefix `post`.

use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use super::config::PostSettings;
use crate::duration::format_duration;
use crate::harness::optimization::PostResult;
use crate::sandbox::{ContainerSpec, ExecSpec, OutputSink, Role, SandboxError, WORKSPACE};
use crate::snapshot::{Snapshot, SnapshotStore};

/// Output kept per stream.
const OUTPUT_CAP: u64 = 8 << 20;

fn append(path: &Path, text: &str) -> Result<(), SandboxError> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|source| SandboxError::HostIo {
            action: "append to",
            path: path.to_path_buf(),
            source,
        })
}

/// Run `post` on `snapshot` (a container of `store`'s run, with `spec`), logs in `dir`.
pub async fn run(
    store: &SnapshotStore,
    snapshot: &Snapshot,
    spec: &ContainerSpec,
    post: &PostSettings,
    dir: &Path,
) -> Result<PostResult, SandboxError> {
    let stdout = dir.join("post.stdout.txt");
    let stderr = dir.join("post.stderr.txt");
    let container = store.start(snapshot, spec, Role::Scratch).await?;
    let mut exec = ExecSpec::shell(&post.command, post.timeout());
    exec.workdir = Some(WORKSPACE.to_string());
    exec.stdout = OutputSink::file(&stdout, OUTPUT_CAP);
    exec.stderr = OutputSink::file(&stderr, OUTPUT_CAP);
    let started = Instant::now();
    let outcome = container.exec(&exec).await;
    container.remove().await?;
    let mut outcome = outcome?;
    if let Some(bytes) = outcome.disk_exceeded {
        append(
            &stderr,
            &format!("Stopped: the container wrote {bytes} bytes, over the disk limit.\n"),
        )?;
        // A stopped command never passes, whatever it managed to print.
        outcome.exit_code = outcome.exit_code.filter(|c| *c != 0).or(Some(1));
    }
    if outcome.timed_out {
        append(
            &stderr,
            &format!("Timed out after {}.\n", format_duration(post.timeout())),
        )?;
    }
    let text = std::fs::read_to_string(&stdout).unwrap_or_default();
    Ok(PostResult::new(
        &post.command,
        (outcome.exit_code, outcome.timed_out),
        started.elapsed().as_secs_f64(),
        (stdout.display().to_string(), stderr.display().to_string()),
        &text,
        &post.score_key,
    ))
}
