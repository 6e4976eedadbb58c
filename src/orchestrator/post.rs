//! The post-attempt command (reference §2.7): run in a fresh container of a snapshot, network
//! off, so nothing the agent left running can touch the score; the whole process tree is killed
//! at the timeout (fix of §14.12).

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::Loop;
use super::error::RunError;
use super::protect::Touched;
use super::results::ResultFile;
use crate::duration::format_duration;
use crate::harness::optimization::PostResult;
use crate::harness::optimization::{Standing, post_attempt_update};
use crate::harness::reports::to_value;
use crate::harness::result::{extract_score, is_better_score, is_checkpointable};
use crate::sandbox::{Container, ExecSpec, OutputSink, Role, SandboxError, WORKSPACE};
use crate::session::Session;
use crate::snapshot::{CaptureBase, Snapshot};

/// Output kept per stream.
const OUTPUT_CAP: u64 = 8 << 20;

impl Loop<'_> {
    /// After the attempt (§2.2 steps 8 and 10): commit the attempt's state, score it with the
    /// post command in a fresh container, and capture it as the best checkpoint when it is a
    /// verified improvement. Nothing to do without a post command or checkpoints.
    pub(super) async fn score_attempt(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        base: &CaptureBase,
        i: u32,
    ) -> Result<(), RunError> {
        self.last_post_passed = None;
        if self.config.post_attempt_command.is_none() && !self.checkpoints.enabled {
            return Ok(());
        }
        let Some(attempt) = self
            .capture(session, base, &format!("iteration-{i}-attempt"), result)
            .await?
        else {
            // The attempt's state was refused (over the disk limit): there is nothing to score.
            result.push(session).await?;
            return Ok(());
        };
        let dir = self.layout.iteration_dir(i);
        let touched = self.protected.touched(attempt.changes_since_baseline());
        if !touched.is_empty() {
            result
                .update(json!({"protected_paths_modified": touched.listed()}))
                .map_err(|e| RunError::write("result.json", e))?;
        }
        if let Some(post) = self
            .run_post(&attempt, &dir, "post_attempt", i, &touched)
            .await?
        {
            let standing = self.config.optimization_mode.then_some(Standing {
                baseline: self.baseline_score,
                previous_best: self.checkpoints.best_score,
                stop_score: self.config.stop_score,
                higher_is_better: self.config.higher_is_better,
            });
            let update = post_attempt_update(&post, &self.config.score_key, standing.as_ref());
            result
                .update(update)
                .map_err(|e| RunError::write("result.json", e))?;
            self.last_post_passed = Some(post.passed() && touched.is_empty());
        }
        if !touched.is_empty() {
            // Changing the evaluator disqualifies the attempt, whatever it scored.
            result
                .update(disqualified(result.get(), &touched))
                .map_err(|e| RunError::write("result.json", e))?;
        }
        let score = extract_score(result.get(), &self.config.score_key);
        let better = |s: f64| {
            self.checkpoints
                .best_score
                .is_none_or(|best| is_better_score(s, best, self.config.higher_is_better))
        };
        // Only a verified improvement raises the bar (fix of reference §14.5); the bar is kept
        // with or without checkpoints (it is `previous_best_score` of later iterations).
        if let Some(score) = score.filter(|s| better(*s))
            && is_checkpointable(result.get())
            && touched.is_empty()
        {
            if self.checkpoints.enabled {
                let manifest = self
                    .capture_best(&attempt, i, score, "post_attempt_best_score")
                    .await?;
                result
                    .update(json!({"optimization": {"best_checkpoint": to_value(&manifest)}}))
                    .map_err(|e| RunError::write("result.json", e))?;
            } else {
                self.checkpoints.best_score = Some(score);
            }
        }
        result.push(session).await?;
        Ok(())
    }

    /// A started container of `snapshot` whose protected paths are the baseline's: the ones the
    /// attempt changed are copied in from the baseline before it starts, the ones it added are
    /// removed before anything runs.
    async fn scoring_container(
        &mut self,
        snapshot: &Snapshot,
        i: u32,
        touched: &Touched,
    ) -> Result<Container, RunError> {
        let spec = self.spec(i);
        if touched.is_empty() {
            return Ok(self.store.start(snapshot, &spec, Role::Scratch).await?);
        }
        let container = self.store.create(snapshot, &spec, Role::Scratch).await?;
        let prepared = async {
            self.store
                .copy_into(&self.baseline, &container, &touched.restore)
                .await?;
            container.start().await?;
            if !touched.remove.is_empty() {
                let mut argv = vec!["rm".to_string(), "-rf".to_string(), "--".to_string()];
                argv.extend(
                    touched
                        .remove
                        .iter()
                        .map(|p| format!("{WORKSPACE}/{}", p.display())),
                );
                container.exec(&ExecSpec::new(argv, REMOVE_TIMEOUT)).await?;
            }
            Ok::<(), crate::sandbox::SandboxError>(())
        }
        .await;
        match prepared {
            Ok(()) => Ok(container),
            Err(err) => {
                container.remove().await?;
                Err(err.into())
            }
        }
    }

    /// Run the post-attempt command on `snapshot` (its `touched` protected paths taken from the
    /// baseline), writing `<dir>/<stem>.{stdout,stderr}.txt`.
    pub(super) async fn run_post(
        &mut self,
        snapshot: &Snapshot,
        dir: &Path,
        stem: &str,
        i: u32,
        touched: &Touched,
    ) -> Result<Option<PostResult>, RunError> {
        let Some(command) = self.config.post_attempt_command.clone() else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir).map_err(|e| RunError::write("the post-attempt logs", e))?;
        let line = self
            .display
            .start(format!("  {stem}"), Some(self.config.post_attempt_timeout));
        let container = self.scoring_container(snapshot, i, touched).await?;
        let post = score_in(
            container,
            &command,
            self.config.post_attempt_timeout,
            &self.config.post_attempt_score_key,
            (dir, stem),
        )
        .await?;
        let word = match (post.passed(), post.score) {
            (true, Some(score)) => format!("passed, score {score}"),
            (true, None) => "passed".to_string(),
            (false, _) => format!("{} (not a pass)", post.status),
        };
        self.display.finish(line, &word);
        Ok(Some(post))
    }
}

/// How long removing the attempt's added protected paths may take.
const REMOVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The update that marks an attempt which changed protected paths as neither verified, solved
/// nor an improvement (its measured score stays on record as evidence).
fn disqualified(
    result: &crate::harness::result::ResultMap,
    touched: &Touched,
) -> serde_json::Value {
    let status = result.get("status").and_then(serde_json::Value::as_str);
    let mut update = json!({
        "verified": false,
        "verification": {
            "status": "failed",
            "reason": format!("protected paths modified: {}", touched.listed().join(", ")),
        },
    });
    if matches!(status, Some("solved" | "improved" | "verified")) {
        update["status"] = json!("failed");
    }
    if result.contains_key("optimization") {
        update["optimization"] = json!({
            "improved_from_baseline": false,
            "improved_from_previous_best": false,
            "target_reached": false,
        });
    }
    update
}

/// Whether harnessgym disqualified the attempt of `result` for changing protected paths: its
/// score then never counts towards the run's best.
pub(super) fn is_disqualified(result: &crate::harness::result::ResultMap) -> bool {
    result
        .get("protected_paths_modified")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|paths| !paths.is_empty())
}

/// Run `command` in `container` (then removed) within `timeout`, its output in
/// `<dir>/<stem>.{stdout,stderr}.txt`, a stop by the disk limit or the timeout noted in the
/// stderr file: the post-attempt record, scored by `score_key`. The loop's post-attempt scoring
/// and a compare trial's post command share it.
pub async fn score_in(
    container: Container,
    command: &str,
    timeout: std::time::Duration,
    score_key: &str,
    (dir, stem): (&Path, &str),
) -> Result<PostResult, SandboxError> {
    let stdout = dir.join(format!("{stem}.stdout.txt"));
    let stderr = dir.join(format!("{stem}.stderr.txt"));
    let mut exec = ExecSpec::shell(command, timeout);
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
            &format!("Timed out after {}.\n", format_duration(timeout)),
        )?;
    }
    let text = std::fs::read_to_string(&stdout).unwrap_or_default();
    Ok(PostResult::new(
        command,
        (outcome.exit_code, outcome.timed_out),
        started.elapsed().as_secs_f64(),
        (stdout.display().to_string(), stderr.display().to_string()),
        &text,
        score_key,
    ))
}

fn append(path: &Path, text: &str) -> Result<(), SandboxError> {
    use std::io::Write;
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
