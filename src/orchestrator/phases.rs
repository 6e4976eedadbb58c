//! Running one phase and recording it: prompt, runner call, live line, result.json update, and
//! the container and image ids appended to its transcript.

use std::io::Write;

use serde_json::{Value, json};

use super::display::Display;
use super::error::RunError;
use super::results::ResultFile;
use crate::harness::result::apply_attempt_fallback;
use crate::runner::RunnerResult;
use crate::session::{PhaseContext, Session};

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

/// After the runner returned: pull the agent's result, store the phase under `phases.<key>`,
/// apply the attempt fallback status, note the container in the transcript, and push the
/// result back so the next phase's agent sees (and keeps) what harnessgym recorded.
pub async fn record(
    session: &Session,
    result: &mut ResultFile,
    key: &str,
    kind: PhaseKind,
    outcome: &RunnerResult,
) -> Result<(), RunError> {
    result.pull(session, key).await?;
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

/// Show a live line while `call` runs, then the runner's status.
pub async fn shown<F>(
    display: &mut Display,
    ctx: &PhaseContext<'_>,
    label: &str,
    call: F,
) -> Result<RunnerResult, RunError>
where
    F: std::future::Future<Output = Result<RunnerResult, crate::session::SessionError>>,
{
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
