//! Harness usage per iteration (reference §2.9): what the session had active, what it declared,
//! what its outputs show, and what the iteration's own MCP telemetry file recorded (one file per
//! iteration, lines filtered to this run and iteration: fix of §14.6).

use std::path::Path;

use serde_json::{Value, json};

use super::Loop;
use super::error::RunError;
use super::results::ResultFile;
use crate::harness::registry;
use crate::harness::usage::{UsageInputs, harness_usage};
use crate::mcp::telemetry::summarize_contents;
use crate::session::Session;

impl Loop<'_> {
    /// Compute `harness_usage` for iteration `i` against the activation the session started
    /// with, store it in result.json and in the run's per-iteration list.
    pub(super) async fn record_usage(
        &mut self,
        session: &Session,
        result: &mut ResultFile,
        i: u32,
        activation: &Value,
    ) -> Result<(), RunError> {
        let registry = registry::load_registry(&registry::registry_path(&self.config.workspace))
            .map_err(RunError::Registry)?
            .registry;
        let artifact_paths: Vec<String> = registry
            .active_artifacts()
            .map(|a| a.path.clone())
            .collect();
        let outputs = phase_outputs(result.get());
        let rel = format!("{}/mcp_calls.jsonl", self.layout.iteration_rel(i));
        let bytes = session.read(&rel).await?.unwrap_or_default();
        let summary =
            summarize_contents(Path::new(&rel), &bytes, Some(&self.config.run_id), Some(i));
        let telemetry = serde_json::to_value(&summary).unwrap_or(Value::Null);
        let usage = harness_usage(&UsageInputs {
            registry_artifact_count: registry.artifacts.len(),
            activation,
            result: result.get(),
            artifact_paths: &artifact_paths,
            outputs: &outputs,
            telemetry: &telemetry,
        });
        let line = json!({
            "iteration": i,
            "active_skill_count": usage["active_skill_count"],
            "active_mcp_count": usage["active_mcp_count"],
            "active_tool_count": usage["active_tool_count"],
            "declared_tool_use_count": usage["declared_tool_use_count"],
            "inferred_tool_use_count": usage["inferred_tool_use_count"],
            "used_active_tools": usage["used_active_tools"],
        });
        self.usage_lines.retain(|l| l["iteration"] != json!(i));
        self.usage_lines.push(line);
        result
            .update(json!({"harness_usage": usage}))
            .map_err(|e| RunError::write("result.json", e))
    }

    /// Remember iteration `i`'s quality gate (the latest activation's) for summary.json.
    pub(super) fn record_gate(&mut self, i: u32, activation: &Value) {
        let gate = &activation["quality_gate"];
        self.gate_lines.retain(|l| l["iteration"] != json!(i));
        self.gate_lines.push(json!({
            "iteration": i,
            "status": gate["status"],
            "active_mcp_count": gate["active_mcp_count"],
            "inactive_mcp_count": gate["inactive_mcp_count"],
            "active_tool_count": gate["active_tool_count"],
        }));
    }
}

/// `(file name, text)` of every recorded phase's stdout, stderr and transcript.
fn phase_outputs(result: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    let mut outputs = Vec::new();
    for phase in result
        .get("phases")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
    {
        for key in ["stdout_path", "stderr_path", "transcript_path"] {
            let Some(path) = phase.get(key).and_then(Value::as_str) else {
                continue;
            };
            let name = Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(text) = std::fs::read_to_string(path) {
                outputs.push((name, text));
            }
        }
    }
    outputs
}
