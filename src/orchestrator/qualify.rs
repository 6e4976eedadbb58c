//! Qualification (reference §5): a generated artifact is trusted only after it works in a clean
//! room. For each attempt k, a fresh container of the run's *baseline* (the original task files)
//! gets only the reusable bundle (the eight artifact folders and `registry.json`, quarantine
//! marks stripped), network off; activation runs there and is the test. A failure goes back to the
//! session for a repair build, then the failing artifacts and this iteration's are quarantined —
//! never older ones (fix 0f28973), and a broken skill is named (fix §14.16).
//!
//! The bundle under test is the session's (downloaded into a private staging directory), not the
//! host's: only a bundle that passed — or every build with `--no-qualify-artifacts` — is written
//! into the host workspace. A quarantined tool never touches the host tree.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::Loop;
use super::activation::{self, ActivationTarget};
use super::bundle::SessionBundle;
use super::error::RunError;
use super::phases::{self, PhaseKind};
use super::results::ResultFile;
use crate::harness::json::write_json_atomic;
use crate::harness::registry::{self, Registry};
use crate::harness::reports::{Gate, QualificationReport, to_value};
use crate::harness::time::utc_now;
use crate::runner::RunnerResult;
use crate::sandbox::{Role, short_id};
use crate::session::Session;

/// One qualification attempt's verdict.
struct Verdict {
    passed: bool,
    report: QualificationReport,
    path: PathBuf,
}

/// How a qualification ended, and the key of `qualification.json` that lists its artifacts.
enum Conclusion {
    /// Every registry artifact is qualified (`qualified_artifacts`).
    Qualified(Vec<String>),
    /// What was quarantined (`quarantined_artifacts`).
    Quarantined(Vec<String>),
}

impl Loop<'_> {
    /// Qualify the bundle after iteration `i`'s build, repairing in `session` and quarantining
    /// what still fails. Returns the `artifact_qualification` block (none with
    /// `--no-qualify-artifacts`: the bundle then lands as built, and the reference writes no
    /// block).
    pub(super) async fn qualify(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
        build: &RunnerResult,
    ) -> Result<Option<Value>, RunError> {
        let (mut taken, mut registry) = self.take_bundle(session, result, i).await?;
        if !self.config.qualify_artifacts {
            self.land(&taken, &mut registry, result)?;
            return Ok(None);
        }
        let mut resume = build.session_id.clone();
        let attempts = self.config.artifact_repair_attempts + 1;
        for k in 1..=attempts {
            let verdict = self.qualify_once(i, k, &taken, &registry).await?;
            if verdict.passed {
                let paths: Vec<String> =
                    registry.artifacts.iter().map(|a| a.path.clone()).collect();
                let report_path = verdict.path.display().to_string();
                registry::mark_artifacts_qualified(
                    &mut registry,
                    &paths,
                    Some(&report_path),
                    Some(i64::from(i)),
                );
                self.land(&taken, &mut registry, result)?;
                return self
                    .conclude(verdict, Conclusion::Qualified(paths))
                    .map(Some);
            }
            let Some(session_id) = resume.clone().filter(|_| k < attempts) else {
                let quarantined = self.quarantine(&mut registry, &verdict, i)?;
                return self
                    .conclude(verdict, Conclusion::Quarantined(quarantined))
                    .map(Some);
            };
            let repair = self
                .repair(session, result, i, k, &verdict, &session_id)
                .await?;
            resume = repair.session_id.clone().or(Some(session_id));
            (taken, registry) = self.take_bundle(session, result, i).await?;
        }
        Ok(Some(json!({"status": "failed", "iteration": i})))
    }

    /// Download the session's bundle (recording what was refused) and the registry it makes
    /// with the host's.
    async fn take_bundle(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
    ) -> Result<(SessionBundle, Registry), RunError> {
        let taken = SessionBundle::download(session).await?;
        record_refusals(result, &taken.refused, taken.refused_unlisted)?;
        if let Some(problem) = &taken.registry_problem {
            result
                .record_limit("bundle", "refused", problem)
                .map_err(|e| RunError::write("result.json", e))?;
        }
        let registry = taken.merged_registry(&load(&self.config.workspace)?, i);
        Ok((taken, registry))
    }

    /// Write a bundle that may land into the host workspace, and save its registry.
    fn land(
        &mut self,
        taken: &SessionBundle,
        registry: &mut Registry,
        result: &mut ResultFile,
    ) -> Result<(), RunError> {
        let report = taken.write_to_host(&self.config.workspace)?;
        record_refusals(result, &report.refused, report.refused_unlisted)?;
        save(&self.config.workspace, registry)
    }

    /// One clean-room activation of the session's bundle.
    async fn qualify_once(
        &mut self,
        i: u32,
        k: u32,
        taken: &SessionBundle,
        registry: &Registry,
    ) -> Result<Verdict, RunError> {
        let line = self
            .display
            .start(format!("  iteration {i} qualification {k}"), None);
        let spec = self.spec(i);
        let container = self
            .store
            .start(&self.baseline, &spec, Role::Scratch)
            .await?;
        let outcome = async {
            let copied = taken.push_into(&container, registry).await?;
            let target = ActivationTarget {
                run_id: &self.config.run_id,
                iteration: i,
                telemetry_path: "/tmp/harnessgym-qualification-calls.jsonl".to_string(),
            };
            let mut report = activation::activate(&container, &target).await?;
            let failed = activation::take_failed(&mut report);
            Ok::<_, RunError>((copied, report, failed))
        }
        .await;
        let container_id = container.id().to_string();
        container.remove().await?;
        let (copied, activation_report, failed) = outcome?;
        let dir = self
            .layout
            .iteration_dir(i)
            .join(format!("qualification/attempt_{k}"));
        let path = dir.join("qualification.json");
        let quality_gate = Gate::of(&activation_report);
        let passed = quality_gate.passed();
        let report = QualificationReport {
            created_at: utc_now(),
            status: if passed { "passed" } else { "failed" }.into(),
            iteration: i,
            source_workspace: self.config.workspace.display().to_string(),
            fresh_workspace: format!(
                "container {}:/workspace (from the run's baseline, removed)",
                short_id(&container_id)
            ),
            copied_artifacts: copied,
            quality_gate,
            activation: activation_report,
            failed_artifacts: failed,
            registry_artifact_count: registry.artifacts.len(),
            report_path: path.display().to_string(),
            qualified_artifacts: None,
            quarantined_artifacts: None,
        };
        write_json_atomic(&path, &to_value(&report))
            .map_err(|e| RunError::write("qualification.json", e))?;
        self.display
            .finish(line, if passed { "passed" } else { "failed" });
        Ok(Verdict {
            passed,
            report,
            path,
        })
    }

    /// A repair build in the same session, with the qualification report to fix.
    async fn repair(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
        k: u32,
        verdict: &Verdict,
        session_id: &str,
    ) -> Result<RunnerResult, RunError> {
        let rel = verdict
            .path
            .strip_prefix(&self.config.workspace)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let report = to_value(&verdict.report);
        let text = crate::harness::json::to_pretty_json(&report).unwrap_or_default();
        session
            .write(&rel, format!("{text}\n").into_bytes(), 0o644)
            .await?;
        let reasons = failure_reasons(&verdict.report);
        let prompt = super::prompts::repair(self, i, k, &reasons, &rel, &report)?;
        let mut ctx =
            super::iteration::phase_ctx(self.config, &self.layout, session, i, PhaseKind::Build);
        ctx.files = self.layout.phase_files(i, "build", Some(k));
        let label = format!("iteration {i}/{} repair {k}", self.config.iterations);
        let mut repair = phases::shown(
            &mut self.display,
            &ctx,
            &label,
            &prompt,
            self.runner.build_tooling(&ctx, &prompt, Some(session_id)),
        )
        .await?;
        phases::record(
            session,
            result,
            &format!("repair_{k}"),
            PhaseKind::Build,
            &mut repair,
        )
        .await?;
        result
            .update(json!({ "artifact_qualification": report }))
            .map_err(|e| RunError::write("result.json", e))?;
        Ok(repair)
    }

    /// Quarantine the failing artifacts and everything this iteration produced.
    fn quarantine(
        &self,
        registry: &mut Registry,
        verdict: &Verdict,
        i: u32,
    ) -> Result<Vec<String>, RunError> {
        let mut paths = verdict.report.failed_artifacts.clone();
        paths.extend(
            registry
                .artifacts
                .iter()
                .filter(|a| a.iteration_number() == Some(i64::from(i)))
                .map(|a| a.path.clone()),
        );
        paths.sort();
        paths.dedup();
        let reasons = failure_reasons(&verdict.report);
        let reason = if reasons.is_empty() {
            "quality gate failed".to_string()
        } else {
            format!("{reasons:?}")
        };
        let report_path = verdict.path.display().to_string();
        let touched = registry::quarantine_artifacts(
            registry,
            &paths,
            &reason,
            Some(&report_path),
            Some(i64::from(i)),
        );
        save(&self.config.workspace, registry)?;
        Ok(touched)
    }

    /// Write the final `qualification.json` and its summary line; returns the report.
    fn conclude(&mut self, verdict: Verdict, end: Conclusion) -> Result<Value, RunError> {
        let mut report = verdict.report;
        match end {
            Conclusion::Qualified(paths) => report.qualified_artifacts = Some(paths),
            Conclusion::Quarantined(paths) => report.quarantined_artifacts = Some(paths),
        }
        let value = to_value(&report);
        write_json_atomic(&verdict.path, &value)
            .map_err(|e| RunError::write("qualification.json", e))?;
        self.qualification_reports.push(report.line());
        Ok(value)
    }
}

/// One `refused` limit per listed refusal of the bundle, and one that counts the unlisted ones.
fn record_refusals(
    result: &mut ResultFile,
    listed: &[crate::sandbox::extract::Refused],
    unlisted: usize,
) -> Result<(), RunError> {
    let details = listed
        .iter()
        .map(|refused| format!("{}: {}", refused.path.display(), refused.reason))
        .chain((unlisted > 0).then(|| format!("{unlisted} more entries refused, not listed")));
    result
        .record_limits("bundle", "refused", details)
        .map_err(|e| RunError::write("result.json", e))
}

/// The gate's warnings (or its status) as the reasons a repair must address.
fn failure_reasons(report: &QualificationReport) -> Vec<String> {
    let gate = &report.quality_gate;
    if gate.warnings.is_empty() {
        vec![format!("quality gate {}", gate.status)]
    } else {
        gate.warnings.clone()
    }
}

fn load(workspace: &std::path::Path) -> Result<Registry, RunError> {
    registry::load_registry(&registry::registry_path(workspace))
        .map(|l| l.registry)
        .map_err(RunError::Registry)
}

fn save(workspace: &std::path::Path, registry: &mut Registry) -> Result<(), RunError> {
    registry::save_registry(&registry::registry_path(workspace), registry)
        .map_err(RunError::Registry)
}
