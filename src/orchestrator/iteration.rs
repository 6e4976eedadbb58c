//! One iteration (reference §2.2): a session container from the iteration's start snapshot,
//! the attempt, the stop and skip rules (§2.3), reflect → build → finalize when tooling is
//! wanted, then the session committed as the next snapshot.

use serde_json::{Value, json};

use super::Loop;
use super::TaskState;
use super::activation::{self, ActivationTarget};
use super::bundle;
use super::error::RunError;
use super::phases::{self, PhaseKind};
use super::prompts;
use super::results::ResultFile;
use crate::harness::registry::{self, Registry};
use crate::harness::reports::IterationEntry;
use crate::harness::result::{
    create_initial_result, extract_score, is_solved_and_verified, reached_stop_score,
    should_mark_tooling_built,
};
use crate::runner::RunnerResult;
use crate::session::{PhaseContext, Session};
use crate::snapshot::{Capture, CaptureBase, Snapshot};

/// What an iteration ended with.
#[derive(Debug)]
pub struct IterationOutcome {
    /// The summary entry (reference §3.6 `iterations[]`).
    pub entry: IterationEntry,
    /// Whether the loop stops here.
    pub stop: bool,
    /// The committed session.
    pub snapshot: Snapshot,
    /// The extracted score.
    pub score: Option<f64>,
}

struct Phases {
    attempt: RunnerResult,
    reflection: Option<RunnerResult>,
    build: Option<RunnerResult>,
    solved: bool,
    stop: bool,
}

/// Solved and verified (reference §4.3), and not disqualified: an attempt that changed a
/// protected evaluator path is never solved, whatever it wrote afterwards (the record is
/// harnessgym's, kept over agent rewrites).
fn solved_for_real(result: &serde_json::Map<String, Value>) -> bool {
    is_solved_and_verified(result) && !result.contains_key("protected_paths_modified")
}

/// Whether the result carries a passing verification (`verified: true` or
/// `verification.status == "passed"`).
pub fn is_verified(result: &serde_json::Map<String, Value>) -> bool {
    result.get("verified") == Some(&Value::Bool(true))
        || result
            .get("verification")
            .and_then(|v| v.get("status"))
            .and_then(Value::as_str)
            == Some("passed")
}

impl Loop<'_> {
    /// Run iteration `i`.
    pub async fn iteration(&mut self, i: u32) -> Result<IterationOutcome, RunError> {
        let start = match (i, self.config.task_state) {
            (1, _) | (_, TaskState::Reset) => self.baseline.clone(),
            (_, TaskState::Continue) => self.last.clone(),
        };
        let registry = self.prepare_registry()?;
        let initial = create_initial_result(
            &self.config.run_id,
            i,
            self.config.task_path.as_deref(),
            registry.artifacts.len(),
        );
        let mut result = ResultFile::create(
            self.layout.result_path(i),
            self.layout.result_rel(i),
            initial,
        )
        .map_err(|e| RunError::write("result.json", e))?;
        let (session, base) = self.open_session(&start, &result, i).await?;
        let report = self
            .activate_session(&session, i, "activation.json")
            .await?;
        let done = self
            .phases(&session, &mut result, &base, i, &registry, &report)
            .await?;
        let snapshot = self
            .capture(&session, &base, &format!("iteration-{i}"), &mut result)
            .await?
            .unwrap_or_else(|| base.start().clone());
        session.into_container().remove().await?;
        for mut line in result.limits() {
            line["iteration"] = json!(i);
            self.limit_lines.push(line);
        }
        let current = result.get();
        let status = current
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        let entry = IterationEntry {
            iteration: i,
            status,
            result_path: result.host_path().display().to_string(),
            attempt: done.attempt.to_value(),
            reflection: done.reflection.as_ref().map(RunnerResult::to_value),
            build: done.build.as_ref().map(RunnerResult::to_value),
            solved: done.solved,
        };
        Ok(IterationOutcome {
            entry,
            stop: done.stop,
            snapshot,
            // A disqualified attempt's score is evidence, never the run's best.
            score: extract_score(current, &self.config.score_key)
                .filter(|_| !super::post::is_disqualified(current)),
        })
    }

    fn prepare_registry(&self) -> Result<Registry, RunError> {
        let path = registry::registry_path(&self.config.workspace);
        let mut loaded = registry::load_registry(&path).map_err(RunError::Registry)?;
        for warning in &loaded.warnings {
            tracing::warn!("registry.json: {warning}");
        }
        registry::sync_registry_from_files(&mut loaded.registry, &self.config.workspace, None)
            .map_err(RunError::Registry)?;
        registry::save_registry(&path, &mut loaded.registry).map_err(RunError::Registry)?;
        Ok(loaded.registry)
    }

    /// Activate the session's bundle in its container and keep the report on the host.
    async fn activate_session(
        &mut self,
        session: &Session,
        i: u32,
        name: &str,
    ) -> Result<Value, RunError> {
        let line = self
            .display
            .start(format!("  iteration {i} activation"), None);
        let target = ActivationTarget {
            run_id: &self.config.run_id,
            iteration: i,
            telemetry_path: format!(
                "{}/{}/mcp_calls.jsonl",
                crate::sandbox::WORKSPACE,
                self.layout.iteration_rel(i)
            ),
        };
        let mut report = activation::activate(session.container(), &target).await?;
        activation::take_failed(&mut report);
        self.write_activation(&report, i, name)?;
        let gate = crate::harness::reports::Gate::of(&report);
        self.display.finish(line, &format!("gate {}", gate.status));
        Ok(report)
    }

    pub(super) fn write_activation(
        &self,
        report: &Value,
        i: u32,
        name: &str,
    ) -> Result<(), RunError> {
        let write = |path: std::path::PathBuf| {
            crate::harness::json::write_json_atomic(&path, report)
                .map_err(|e| RunError::write("activation.json", e))
        };
        write(self.config.workspace.join(".harnessgym/activation.json"))?;
        write(self.layout.iteration_dir(i).join(name))
    }

    /// The environment of every container of iteration `i`: where it is, which run, where MCP
    /// telemetry goes (one file per iteration, so counts are the iteration's: fix of §14.6).
    pub(super) fn container_env(&self, i: u32) -> Vec<String> {
        use crate::activation::IN_CONTAINER_ENV;
        use crate::mcp::workspace::{ENV_ITERATION, ENV_RUN_ID, ENV_TELEMETRY_PATH, ENV_WORKSPACE};
        vec![
            format!("{IN_CONTAINER_ENV}=1"),
            format!("{ENV_WORKSPACE}={}", crate::sandbox::WORKSPACE),
            format!("{ENV_RUN_ID}={}", self.config.run_id),
            format!("{ENV_ITERATION}={i}"),
            format!(
                "{ENV_TELEMETRY_PATH}={}/{}/mcp_calls.jsonl",
                crate::sandbox::WORKSPACE,
                self.layout.iteration_rel(i)
            ),
        ]
    }

    /// The spec of every container of iteration `i`: the session image, limits (disk
    /// included), environment; network off (sessions set theirs).
    pub(super) fn spec(&self, i: u32) -> crate::sandbox::ContainerSpec {
        let mut spec = crate::sandbox::ContainerSpec::new(&self.config.image);
        spec.limits = self.config.limits;
        spec.env = self.container_env(i);
        spec.disk = self.disk;
        spec.runtime = self.config.runtime.clone();
        spec
    }

    async fn open_session(
        &mut self,
        start: &Snapshot,
        result: &ResultFile,
        i: u32,
    ) -> Result<(Session, CaptureBase), RunError> {
        let line = self.display.start("  session container".to_string(), None);
        let mut spec = self.spec(i);
        spec.network = self.config.network.clone();
        spec.binds = self.config.credentials.clone();
        let (container, base) = self.store.open_session(start, &spec).await?;
        let session = Session::new(container, start.image_id());
        bundle::push(&session, &self.config.workspace).await?;
        result.push(&session).await?;
        self.display.finish(line, "ready");
        Ok((session, base))
    }

    /// Capture the session's workspace as `name`. A state over the disk limit is refused and
    /// recorded; the iteration then ends where it started.
    pub(super) async fn capture(
        &mut self,
        session: &Session,
        base: &CaptureBase,
        name: &str,
        result: &mut ResultFile,
    ) -> Result<Option<Snapshot>, RunError> {
        let line = self.display.start(format!("  snapshot {name}"), None);
        let outcome = self
            .store
            .capture(session.container(), base, name, self.config.disk_limit)
            .await?;
        match outcome {
            Capture::Taken(snapshot, left_out) => {
                // Never carried to the host: recorded, not silently dropped.
                result
                    .record_limits(name, "refused", left_out.details())
                    .map_err(|e| RunError::write("result.json", e))?;
                let word = format!("{} paths changed", snapshot.own_changes().len());
                self.display.finish(line, &word);
                Ok(Some(snapshot))
            }
            Capture::TooLarge { limit } => {
                let detail = format!(
                    "the workspace changed by more than the disk limit ({limit} bytes): snapshot `{name}` refused, its state discarded"
                );
                result
                    .record_limit(name, "disk", &detail)
                    .map_err(|e| RunError::write("result.json", e))?;
                self.display.finish(line, "refused: over the disk limit");
                Ok(None)
            }
        }
    }

    async fn phases(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        base: &CaptureBase,
        i: u32,
        registry: &Registry,
        report: &Value,
    ) -> Result<Phases, RunError> {
        let ctx = phase_ctx(self.config, &self.layout, session, i, PhaseKind::Attempt);
        let prompt = prompts::attempt(self, registry, report, i)?;
        let label = format!("iteration {i}/{} attempt", self.config.iterations);
        let mut attempt = phases::shown(
            &mut self.display,
            &ctx,
            &label,
            &prompt,
            self.runner.start_attempt(&ctx, &prompt),
        )
        .await?;
        phases::record(session, result, "attempt", PhaseKind::Attempt, &mut attempt).await?;
        self.score_attempt(session, result, base, i).await?;
        self.record_usage(session, result, i, report).await?;
        let stop = self.stop_reached(result);
        let solved = solved_for_real(result.get());
        if self.config.attempt_only {
            // Compare trials (reference §2.2 step 11): the attempt is all; stop once solved.
            let solved = solved || stop;
            return Ok(Phases {
                attempt,
                reflection: None,
                build: None,
                solved,
                stop: solved,
            });
        }
        let no_target = self.config.stop_score.is_none();
        if stop || (solved && no_target && !self.config.build_after_solve) {
            return Ok(Phases {
                attempt,
                reflection: None,
                build: None,
                solved: true,
                stop: true,
            });
        }
        let (reflection, build) = self.reflect_and_build(session, result, i, &attempt).await?;
        self.record_usage(session, result, i, report).await?;
        if solved && no_target {
            // --build-after-solve: the tooling was built on top of a verified solve.
            result
                .update(json!({"status": "solved", "verified": true, "primary_task_solved_before_build": true}))
                .map_err(|e| RunError::write("result.json", e))?;
            return Ok(Phases {
                attempt,
                reflection: Some(reflection),
                build: Some(build),
                solved: true,
                stop: true,
            });
        }
        let solved = solved_for_real(result.get());
        let stop = self.stop_reached(result) || (solved && no_target);
        Ok(Phases {
            attempt,
            reflection: Some(reflection),
            build: Some(build),
            solved: solved || stop,
            stop,
        })
    }

    /// A stop score counts only for a verified result, and, with a post command, only when
    /// that command passed (fix of reference §14.3).
    fn stop_reached(&self, result: &ResultFile) -> bool {
        let score = extract_score(result.get(), &self.config.score_key);
        let post_ok =
            self.config.post_attempt_command.is_none() || self.last_post_passed == Some(true);
        reached_stop_score(score, self.config.stop_score, self.config.higher_is_better)
            && is_verified(result.get())
            && post_ok
    }

    async fn reflect_and_build(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
        attempt: &RunnerResult,
    ) -> Result<(RunnerResult, RunnerResult), RunError> {
        let ctx = phase_ctx(self.config, &self.layout, session, i, PhaseKind::Reflection);
        let prompt = prompts::reflection(self, result.get(), i)?;
        let label = format!("iteration {i}/{} reflect", self.config.iterations);
        let resume = attempt.session_id.as_deref();
        let mut reflection = phases::shown(
            &mut self.display,
            &ctx,
            &label,
            &prompt,
            self.runner.reflect(&ctx, &prompt, resume),
        )
        .await?;
        phases::record(
            session,
            result,
            "reflection",
            PhaseKind::Reflection,
            &mut reflection,
        )
        .await?;
        let stdout = std::fs::read_to_string(&reflection.stdout_path).unwrap_or_default();
        let selected = crate::harness::result::selected_improvement(result.get(), &stdout);
        let ctx = phase_ctx(self.config, &self.layout, session, i, PhaseKind::Build);
        let prompt = prompts::build(self, &selected, i)?;
        let label = format!("iteration {i}/{} build", self.config.iterations);
        let resume = reflection
            .session_id
            .as_deref()
            .or(attempt.session_id.as_deref());
        let mut build = phases::shown(
            &mut self.display,
            &ctx,
            &label,
            &prompt,
            self.runner.build_tooling(&ctx, &prompt, resume),
        )
        .await?;
        phases::record(session, result, "build", PhaseKind::Build, &mut build).await?;
        self.finalize(session, result, i, &build).await?;
        Ok((reflection, build))
    }

    /// After a build: qualification of the session's bundle (which writes it to the host only
    /// if it passed), the registry back into the session, post-build activation, and the
    /// `tooling_built` promotion (reference §2.2 steps 17–19).
    async fn finalize(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
        build: &RunnerResult,
    ) -> Result<(), RunError> {
        let qualification = self.qualify(session, result, i, build).await?;
        bundle::push_registry(session, &self.config.workspace).await?;
        let report = self
            .activate_session(session, i, "post_build_activation.json")
            .await?;
        self.record_gate(i, &report);
        let registry = registry::load_registry(&registry::registry_path(&self.config.workspace))
            .map_err(RunError::Registry)?
            .registry;
        let path = registry::registry_path(&self.config.workspace);
        let mut update = json!({
            "registry_artifact_count": registry.artifacts.len(),
            "registry_path": path.display().to_string(),
            "harness_quality_gate": report.get("quality_gate").cloned().unwrap_or(Value::Null),
        });
        if let Some(qualification) = qualification {
            update["artifact_qualification"] = qualification;
        }
        result
            .update(update)
            .map_err(|e| RunError::write("result.json", e))?;
        if should_mark_tooling_built(result.get(), &build.status) {
            result
                .update(json!({"status": "tooling_built"}))
                .map_err(|e| RunError::write("result.json", e))?;
        }
        Ok(())
    }
}

/// The context of one phase. A free function so it borrows the configuration, not the loop
/// (the runner and display are borrowed mutably at the same time).
pub(super) fn phase_ctx<'s>(
    config: &'s super::RunConfig,
    layout: &super::RunLayout,
    session: &'s Session,
    i: u32,
    kind: PhaseKind,
) -> PhaseContext<'s> {
    let timeout = match kind {
        PhaseKind::Attempt => config.attempt_timeout_for(i),
        PhaseKind::Reflection => config.reflection_timeout,
        PhaseKind::Build => config.build_timeout,
    };
    PhaseContext {
        session,
        run_id: &config.run_id,
        iteration: i,
        files: layout.phase_files(i, kind.name(), None),
        result_rel: layout.result_rel(i),
        timeout,
        telemetry_rel: format!("{}/mcp_calls.jsonl", layout.iteration_rel(i)),
    }
}
