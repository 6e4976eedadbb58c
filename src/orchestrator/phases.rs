//! Running one phase and recording it: prompt, runner call, live line, result.json update, and
//! the container and image ids appended to its transcript.

use std::io::Write;

use serde_json::{Value, json};

use super::display::Display;
use super::error::RunError;
use super::results::ResultFile;
use crate::harness::result::apply_attempt_fallback;
use crate::runner::RunnerResult;
use crate::session::{PhaseContext, PhaseEnd, Session, write_host_file};

/// Which runner call a phase makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseKind {
    /// A fresh session.
    Attempt,
    /// Resume to reflect.
    Reflection,
    /// Resume to build (or repair).
    Build,
}

impl PhaseKind {
    /// The name in result.json and file names.
    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::Attempt => "attempt",
            PhaseKind::Reflection => "reflection",
            PhaseKind::Build => "build",
        }
    }
}

/// After the runner returned: kill whatever the phase left running, pull the agent's result,
/// record the limits the phase hit, store the phase under `phases.<key>`, apply the attempt
/// fallback status, note the container in the transcript, and push the result back so the next
/// phase's agent sees (and keeps) what harnessgym recorded. A phase the disk watchdog stopped is
/// failed, whatever the runner said.
pub async fn record(
    session: &Session,
    result: &mut ResultFile,
    key: &str,
    kind: PhaseKind,
    outcome: &mut RunnerResult,
) -> Result<(), RunError> {
    let end = session.end_phase().await?;
    result.pull(session, key).await?;
    record_limits(result, key, &end, outcome)?;
    if let Some(bytes) = end.disk_exceeded {
        outcome.status = "failed".to_string();
        outcome.message =
            format!("stopped: the container wrote {bytes} bytes, over the disk limit");
    }
    append_container(session, outcome)?;
    let mut update = serde_json::Map::new();
    update.insert("phases".into(), json!({ key: outcome.to_value() }));
    result
        .update(Value::Object(update))
        .map_err(|e| RunError::write("result.json", e))?;
    if kind == PhaseKind::Attempt {
        let mut current = result.get().clone();
        if apply_attempt_fallback(&mut current, &outcome.status) {
            let status = current.get("status").cloned().unwrap_or(Value::Null);
            result
                .update(json!({ "status": status }))
                .map_err(|e| RunError::write("result.json", e))?;
        }
    }
    result.push(session).await?;
    Ok(())
}

/// The limits a phase hit, in result.json's `limits` list.
fn record_limits(
    result: &mut ResultFile,
    key: &str,
    end: &PhaseEnd,
    outcome: &RunnerResult,
) -> Result<(), RunError> {
    let mut hits: Vec<(&str, String)> = Vec::new();
    if end.oom_kills > 0 {
        hits.push((
            "memory",
            format!(
                "{} process(es) killed by the kernel for memory",
                end.oom_kills
            ),
        ));
    }
    if end.pids_refused > 0 {
        hits.push((
            "pids",
            format!("{} fork(s) refused at the process limit", end.pids_refused),
        ));
    }
    if let Some(bytes) = end.disk_exceeded {
        hits.push((
            "disk",
            format!("stopped after writing {bytes} bytes, over the disk limit"),
        ));
    }
    if outcome.output_truncated {
        hits.push((
            "output",
            "the agent's output was cut at the capture cap".to_string(),
        ));
    }
    if end.killed > 0 {
        hits.push((
            "processes",
            format!(
                "{} process(es) left running by the phase were killed",
                end.killed
            ),
        ));
    }
    for (limit, detail) in hits {
        result
            .record_limit(key, limit, &detail)
            .map_err(|e| RunError::write("result.json", e))?;
    }
    Ok(())
}

/// Every phase records the container and image it ran in (the runner cannot forget it).
fn append_container(session: &Session, outcome: &RunnerResult) -> Result<(), RunError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&outcome.transcript_path)
        .map_err(|e| RunError::write("the transcript", e))?;
    writeln!(
        file,
        "\ncontainer_id: {}\nimage_id: {}",
        session.container_id(),
        session.image_id()
    )
    .map_err(|e| RunError::write("the transcript", e))
}

/// Write the phase's prompt file (so an interrupted phase still has it), show a live line while
/// `call` runs, then the runner's status.
pub async fn shown<F>(
    display: &mut Display,
    ctx: &PhaseContext<'_>,
    label: &str,
    prompt: &str,
    call: F,
) -> Result<RunnerResult, RunError>
where
    F: std::future::Future<Output = Result<RunnerResult, crate::session::SessionError>>,
{
    write_host_file(&ctx.files.prompt, prompt)?;
    let line = display.start(label.to_string(), Some(ctx.timeout));
    let outcome = call.await;
    let word = match &outcome {
        Ok(r) if r.timed_out => "timed out".to_string(),
        Ok(r) => r.status.clone(),
        Err(_) => "failed".to_string(),
    };
    display.finish(line, &word);
    Ok(outcome?)
}
