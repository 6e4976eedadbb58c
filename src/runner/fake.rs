//! The deterministic offline runner (reference §7.4), acting only inside the session container.
//!
//! Iteration 1's attempt is blocked; reflection selects a probe tool; the build writes
//! `.harnessgym/tools/harnessgym_fake_probe.py` and registers it; iteration ≥ 2 applies the
//! known fix to `kernel_ops.py` (the norm as the *product* of the two square roots) and runs
//! `python verifier.py` in the container. Every file it touches goes through the session.
//! A workspace can replace any phase with a script (see [`super::scripted`]).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::{RunnerResult, scripted};
use crate::harness::json::{parse_json_tolerant, to_pretty_json};
use crate::harness::registry::{Artifact, Registry, add_or_update_artifact, parse_registry_text};
use crate::harness::result::deep_merge;
use crate::harness::time::utc_now;
use crate::sandbox::ExecSpec;
use crate::session::PhaseFiles;
use crate::session::{PhaseContext, SessionError, write_host_file};

/// The buggy line the fake attempt fixes, and its fix.
pub const BUGGY_NORM: &str =
    "norm = math.sqrt(sum(x * x for x in a)) + math.sqrt(sum(y * y for y in b))";
/// The fixed line.
pub const FIXED_NORM: &str =
    "norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))";
/// Where the build puts the probe tool.
pub const PROBE_PATH: &str = ".harnessgym/tools/harnessgym_fake_probe.py";
const REGISTRY_PATH: &str = ".harnessgym/registry.json";
const VERIFIER_TIMEOUT: Duration = Duration::from_secs(10);
const VERIFIER_COMMAND: &str = "python verifier.py";

const PROBE_SOURCE: &str = r#"#!/usr/bin/env python3
"""harnessgym fake probe: run verifier.py from the current directory when it exists."""
import os
import subprocess
import sys

if os.path.exists("verifier.py"):
    sys.exit(subprocess.call([sys.executable, "verifier.py"]))
print("harnessgym_fake_probe: no verifier.py in", os.getcwd())
"#;

/// The fake runner. Stateless: sessions are `fake-session-<run_id>-<iteration>`.
#[derive(Debug, Default)]
pub struct FakeRunner;

struct Outcome {
    status: &'static str,
    stdout: String,
}

impl FakeRunner {
    pub(super) async fn start_attempt(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
    ) -> Result<RunnerResult, SessionError> {
        let started = Instant::now();
        if let Some(run) = scripted::run(ctx, "attempt").await? {
            return finish_script(ctx, "attempt", prompt, None, run, started);
        }
        let outcome = if ctx.iteration <= 1 {
            blocked_attempt(ctx).await?
        } else {
            fixing_attempt(ctx).await?
        };
        finish(ctx, "attempt", prompt, None, outcome, started)
    }

    pub(super) async fn reflect(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
        session_id: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let started = Instant::now();
        if let Some(run) = scripted::run(ctx, "reflection").await? {
            return finish_script(ctx, "reflection", prompt, session_id, run, started);
        }
        let update = json!({"reflection": {
            "recommendations": [
                "Build a reusable probe that runs the task's verifier in one step.",
                "Keep the probe under .harnessgym/tools so the next session starts with it.",
            ],
            "selected_improvement": {
                "kind": "tool",
                "name": "harnessgym_fake_probe",
                "reason": "The attempt lacked a fast objective debugging and verification loop.",
                "target_path": PROBE_PATH,
            },
        }});
        merge_result(ctx, update).await?;
        let outcome = Outcome {
            status: "completed",
            stdout: "Fake reflection selected the harnessgym_fake_probe tool.\n".into(),
        };
        finish(ctx, "reflection", prompt, session_id, outcome, started)
    }

    pub(super) async fn build_tooling(
        &mut self,
        ctx: &PhaseContext<'_>,
        prompt: &str,
        session_id: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let started = Instant::now();
        if let Some(run) = scripted::run(ctx, "build").await? {
            return finish_script(ctx, "build", prompt, session_id, run, started);
        }
        ctx.session
            .write(PROBE_PATH, PROBE_SOURCE.as_bytes().to_vec(), 0o755)
            .await?;
        let mut artifact = Artifact::new("tool", PROBE_PATH);
        artifact.description = "Fake debugging probe that runs verifier.py when present.".into();
        artifact.iteration = json!(ctx.iteration);
        artifact
            .metadata
            .insert("source".into(), json!("fake-runner"));
        let entry = serde_json::to_value(&artifact).unwrap_or(Value::Null);
        register(ctx, artifact).await?;
        merge_result(
            ctx,
            json!({"status": "tooling_built", "tooling": {
                "built": [entry],
                "summary": "Built the harnessgym_fake_probe tool and registered it.",
            }}),
        )
        .await?;
        let outcome = Outcome {
            status: "completed",
            stdout: format!("Fake build wrote {PROBE_PATH} and registered it.\n"),
        };
        finish(ctx, "build", prompt, session_id, outcome, started)
    }
}

async fn blocked_attempt(ctx: &PhaseContext<'_>) -> Result<Outcome, SessionError> {
    merge_result(
        ctx,
        json!({
            "status": "blocked",
            "verified": false,
            "summary": "Initial fake attempt blocked before completing the task.",
            "blockers": ["Need a faster objective debugging/verifier loop."],
            "missing_tooling": ["A reusable probe or verifier helper for the task."],
        }),
    )
    .await?;
    Ok(Outcome {
        status: "blocked",
        stdout: "Fake attempt: blocked, no tooling yet.\n".into(),
    })
}

async fn fixing_attempt(ctx: &PhaseContext<'_>) -> Result<Outcome, SessionError> {
    let session = ctx.session;
    let mut log = String::new();
    if let Some(source) = session.read("kernel_ops.py").await? {
        let text = String::from_utf8_lossy(&source);
        if text.contains(BUGGY_NORM) {
            let fixed = text.replacen(BUGGY_NORM, FIXED_NORM, 1);
            session
                .write("kernel_ops.py", fixed.into_bytes(), 0o644)
                .await?;
            log.push_str("Applied the known norm fix to kernel_ops.py.\n");
        }
    }
    let registry = read_registry(ctx).await?;
    let used: Vec<Value> = registry
        .active_artifacts()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect();
    let (verified, verification) = if session.read("verifier.py").await?.is_some() {
        let mut spec = ExecSpec::shell(VERIFIER_COMMAND, VERIFIER_TIMEOUT);
        spec.workdir = Some(crate::sandbox::WORKSPACE.into());
        let out = session.exec(&spec).await?;
        let passed = out.success();
        log.push_str(&format!("{VERIFIER_COMMAND}: exit {:?}\n", out.exit_code));
        (
            passed,
            json!({
                "status": if passed { "passed" } else { "failed" },
                "command": VERIFIER_COMMAND,
                "return_code": out.exit_code,
                "stdout": out.stdout.text(),
                "stderr": out.stderr.text(),
            }),
        )
    } else {
        let has_artifact = !used.is_empty();
        let check = json!({"status": if has_artifact { "passed" } else { "not_run" },
            "command": if has_artifact { "fake artifact-context check" } else { "verifier.py not found" }});
        (has_artifact, check)
    };
    let status = if verified { "solved" } else { "blocked" };
    merge_result(
        ctx,
        json!({
            "status": status,
            "verified": verified,
            "summary": if verified { "Fake attempt fixed the norm and the verifier passed." } else { "Fake attempt could not verify a fix." },
            "verification": verification,
            "used_artifacts": used,
        }),
    )
    .await?;
    Ok(Outcome {
        status: if verified { "completed" } else { "blocked" },
        stdout: log,
    })
}

/// Read result.json in the container, deep-merge `update`, write it back.
async fn merge_result(ctx: &PhaseContext<'_>, update: Value) -> Result<(), SessionError> {
    let mut current = match ctx.session.read(&ctx.result_rel).await? {
        Some(bytes) => match parse_json_tolerant(&String::from_utf8_lossy(&bytes)) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    if let Value::Object(update) = update {
        deep_merge(&mut current, update);
    }
    current.insert("updated_at".into(), json!(utc_now()));
    let text = to_pretty_json(&current).map_err(|e| harness_err("result.json", e))?;
    ctx.session
        .write(&ctx.result_rel, format!("{text}\n").into_bytes(), 0o644)
        .await
}

async fn read_registry(ctx: &PhaseContext<'_>) -> Result<Registry, SessionError> {
    let Some(bytes) = ctx.session.read(REGISTRY_PATH).await? else {
        return Ok(Registry::new());
    };
    parse_registry_text(&String::from_utf8_lossy(&bytes), Path::new(REGISTRY_PATH))
        .map(|loaded| loaded.registry)
        .map_err(|e| harness_err("registry.json", e))
}

async fn register(ctx: &PhaseContext<'_>, artifact: Artifact) -> Result<(), SessionError> {
    let mut registry = read_registry(ctx).await?;
    add_or_update_artifact(&mut registry, artifact);
    registry.updated_at = utc_now();
    let text = to_pretty_json(&registry).map_err(|e| harness_err("registry.json", e))?;
    ctx.session
        .write(REGISTRY_PATH, format!("{text}\n").into_bytes(), 0o644)
        .await
}

fn harness_err(
    what: &'static str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> SessionError {
    SessionError::Harness {
        what,
        source: Box::new(err),
    }
}

/// The result of a scripted phase (its stdout/stderr files are already written).
fn finish_script(
    ctx: &PhaseContext<'_>,
    phase: &str,
    prompt: &str,
    session_id: Option<&str>,
    run: scripted::ScriptRun,
    started: Instant,
) -> Result<RunnerResult, SessionError> {
    let mut result = base_result(ctx, phase, run.status, session_id, started);
    result.return_code = run.return_code;
    result.timed_out = run.timed_out;
    write_host_file(&ctx.files.prompt, prompt)?;
    write_transcript(ctx, &result, &run.stdout)?;
    Ok(result)
}

fn base_result(
    ctx: &PhaseContext<'_>,
    phase: &str,
    status: &str,
    session_id: Option<&str>,
    started: Instant,
) -> RunnerResult {
    let session = session_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("fake-session-{}-{}", ctx.run_id, ctx.iteration));
    let mut result = RunnerResult::new(phase, status, &ctx.files);
    result.session_id = Some(session);
    result.duration_seconds = started.elapsed().as_secs_f64();
    result
}

fn write_transcript(
    ctx: &PhaseContext<'_>,
    result: &RunnerResult,
    stdout: &str,
) -> Result<(), SessionError> {
    let transcript = format!(
        "runner: fake\nphase: {}\nstatus: {}\nduration_seconds: {:.3}\nsession_id: {}\n\n{stdout}",
        result.phase,
        result.status,
        result.duration_seconds,
        result.session_id.as_deref().unwrap_or_default(),
    );
    write_host_file(&ctx.files.transcript, &transcript)
}

/// Write the four phase files and build the result.
fn finish(
    ctx: &PhaseContext<'_>,
    phase: &str,
    prompt: &str,
    session_id: Option<&str>,
    outcome: Outcome,
    started: Instant,
) -> Result<RunnerResult, SessionError> {
    let files: &PhaseFiles = &ctx.files;
    let mut result = base_result(ctx, phase, outcome.status, session_id, started);
    result.return_code = Some(0);
    write_host_file(&files.prompt, prompt)?;
    write_host_file(&files.stdout, &outcome.stdout)?;
    write_host_file(&files.stderr, "")?;
    write_transcript(ctx, &result, &outcome.stdout)?;
    Ok(result)
}
