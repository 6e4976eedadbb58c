//! The post-attempt command (reference §2.7): run in a fresh container of a snapshot, network
//! off, so nothing the agent left running can touch the score; the whole process tree is killed
//! at the timeout (fix of §14.12).

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::Loop;
use super::error::RunError;
use super::results::ResultFile;
use crate::duration::format_duration;
use crate::harness::optimization::PostResult;
use crate::harness::optimization::{Standing, post_attempt_update};
use crate::harness::result::{extract_score, is_better_score, is_checkpointable};
use crate::sandbox::{ContainerSpec, ExecSpec, OutputSink, Role, WORKSPACE};
use crate::session::Session;
use crate::snapshot::Snapshot;

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
        start: &Snapshot,
        i: u32,
    ) -> Result<(), RunError> {
        self.last_post_passed = None;
        if self.config.post_attempt_command.is_none() && !self.checkpoints.enabled {
            return Ok(());
        }
        let line = self
            .display
            .start(format!("  iteration {i} attempt snapshot"), None);
        let attempt = self
            .store
            .commit(
                session.container(),
                start,
                &format!("iteration-{i}-attempt"),
            )
            .await?;
        self.display.finish(line, "committed");
        let dir = self.layout.iteration_dir(i);
        if let Some(post) = self.run_post(&attempt, &dir, "post_attempt", i).await? {
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
            self.last_post_passed = Some(post.passed());
        }
        let score = extract_score(result.get(), &self.config.score_key);
        let better = |s: f64| {
            self.checkpoints
                .best_score
                .is_none_or(|best| is_better_score(s, best, self.config.higher_is_better))
        };
        // Only a verified improvement raises the bar (fix of reference §14.5).
        if let Some(score) = score.filter(|s| self.checkpoints.enabled && better(*s))
            && is_checkpointable(result.get())
        {
            let manifest = self
                .capture(&attempt, i, score, "post_attempt_best_score")
                .await?;
            result
                .update(json!({"optimization": {"best_checkpoint": manifest}}))
                .map_err(|e| RunError::write("result.json", e))?;
        }
        result.push(session).await?;
        Ok(())
    }

    /// Run the post-attempt command on `snapshot`, writing `<dir>/<stem>.{stdout,stderr}.txt`.
    pub(super) async fn run_post(
        &mut self,
        snapshot: &Snapshot,
        dir: &Path,
        stem: &str,
        i: u32,
    ) -> Result<Option<PostResult>, RunError> {
        let Some(command) = self.config.post_attempt_command.clone() else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir).map_err(|e| RunError::write("the post-attempt logs", e))?;
        let stdout = dir.join(format!("{stem}.stdout.txt"));
        let stderr = dir.join(format!("{stem}.stderr.txt"));
        let line = self
            .display
            .start(format!("  {stem}"), Some(self.config.post_attempt_timeout));
        let mut spec = ContainerSpec::new(&self.config.image);
        spec.limits = self.config.limits;
        spec.env = self.container_env(i);
        let container = self.store.start(snapshot, &spec, Role::Scratch).await?;
        let mut exec = ExecSpec::shell(&command, self.config.post_attempt_timeout);
        exec.workdir = Some(WORKSPACE.to_string());
        exec.stdout = OutputSink::file(&stdout, OUTPUT_CAP);
        exec.stderr = OutputSink::file(&stderr, OUTPUT_CAP);
        let started = Instant::now();
        let outcome = container.exec(&exec).await;
        container.remove().await?;
        let outcome = outcome?;
        if outcome.timed_out {
            let note = format!(
                "Timed out after {}.\n",
                format_duration(self.config.post_attempt_timeout)
            );
            append(&stderr, &note)?;
        }
        let text = std::fs::read_to_string(&stdout).unwrap_or_default();
        let post = PostResult::new(
            &command,
            (outcome.exit_code, outcome.timed_out),
            started.elapsed().as_secs_f64(),
            (stdout.display().to_string(), stderr.display().to_string()),
            &text,
            &self.config.post_attempt_score_key,
        );
        let word = match (post.passed(), post.score) {
            (true, Some(score)) => format!("passed, score {score}"),
            (true, None) => "passed".to_string(),
            (false, _) => format!("{} (not a pass)", post.status),
        };
        self.display.finish(line, &word);
        Ok(Some(post))
    }
}

fn append(path: &Path, text: &str) -> Result<(), RunError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| RunError::write("the post-attempt logs", e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| RunError::write("the post-attempt logs", e))
}
