//! Activation (reference §6) runs inside a container, never on the host: the loop execs
//! `harnessgym internal activate` there (skills linked, MCP servers smoke- and self-tested,
//! `.codex/config.toml`, the Claude config and the `mcp_call.py` shim written with container
//! paths) and reads the report it prints.
//!
//! A report that cannot be obtained (the command failed or printed something else) is itself a
//! report: no server active and a failed gate, with the reason as a warning, so the loop goes on
//! and qualification fails honestly.

use std::time::Duration;

use serde_json::{Value, json};

use super::error::RunError;
use crate::harness::json::parse_json_tolerant;
use crate::sandbox::{Container, ExecSpec, WORKSPACE};
use crate::snapshot::HELPER_PATH;

/// Budget for one activation: every server's startup, tool and self-test timeouts fit in it.
const ACTIVATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Output kept from the activation command.
const OUTPUT_CAP: u64 = 16 << 20;

/// Where activation is asked to send MCP telemetry, and for which run and iteration.
#[derive(Debug, Clone)]
pub struct ActivationTarget<'a> {
    /// Run id.
    pub run_id: &'a str,
    /// Iteration.
    pub iteration: u32,
    /// Telemetry file, a container path.
    pub telemetry_path: String,
}

/// Run activation in `container` and return its report.
pub async fn activate(
    container: &Container,
    target: &ActivationTarget<'_>,
) -> Result<Value, RunError> {
    let argv = [
        HELPER_PATH.to_string(),
        "internal".into(),
        "activate".into(),
        "--workspace".into(),
        WORKSPACE.into(),
        "--run-id".into(),
        target.run_id.into(),
        "--iteration".into(),
        target.iteration.to_string(),
        "--telemetry-path".into(),
        target.telemetry_path.clone(),
    ];
    let mut spec = ExecSpec::new(argv, ACTIVATION_TIMEOUT);
    spec.env = vec![format!("{}=1", crate::activation::IN_CONTAINER_ENV)];
    spec.stdout = crate::sandbox::OutputSink::memory(OUTPUT_CAP);
    let out = container.exec(&spec).await?;
    let parsed = parse_json_tolerant(&out.stdout.text());
    if let Some(bytes) = out.disk_exceeded {
        return Ok(failed_report(&format!(
            "activation stopped: the container wrote {bytes} bytes, over the disk limit"
        )));
    }
    Ok(match parsed {
        Ok(report @ Value::Object(_)) if out.success() => report,
        _ => failed_report(&format!(
            "activation did not produce a report (exit {:?}{}): {}",
            out.exit_code,
            if out.timed_out { ", timed out" } else { "" },
            out.stderr.text().trim()
        )),
    })
}

fn failed_report(reason: &str) -> Value {
    tracing::warn!("{reason}");
    json!({
        "skills": [],
        "mcp_servers": [],
        "quarantined_artifacts": [],
        "warnings": [reason],
        "failed_artifacts": [],
        "quality_gate": {
            "status": "failed",
            "active_mcp_count": 0,
            "inactive_mcp_count": 0,
            "active_tool_count": 0,
            "warnings": [reason],
        },
    })
}

/// Take `failed_artifacts` (harnessgym's own addition, read by qualification) out of a report,
/// so the report keeps the reference's shape (§6.1).
pub fn take_failed(report: &mut Value) -> Vec<String> {
    let taken = report
        .as_object_mut()
        .and_then(|r| r.remove("failed_artifacts"));
    taken
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}
