//! Harness usage per iteration (reference §2.9): what the session had active, what it declared,
//! what its outputs show, and what the iteration's own MCP telemetry file recorded (one file per
//! iteration, lines filtered to this run and iteration: fix of §14.6).

use std::path::Path;

use serde_json::{Value, json};

use super::Loop;
use super::error::RunError;
use super::results::ResultFile;
use crate::harness::registry;
use crate::harness::reports::{Gate, GateLine, UsageLine};
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
        if !bytes.is_empty() {
            // The run folder on the host holds the iteration's calls too (the session's copy
            // stays in its snapshot); run state is never written back, so this is the only copy.
            let host = self.layout.iteration_dir(i).join("mcp_calls.jsonl");
            crate::harness::json::write_bytes_atomic(&host, &bytes)
                .map_err(|e| RunError::write("mcp_calls.jsonl", e))?;
        }
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
        let count = |key: &str| {
            usage[key]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
        };
        let line = UsageLine {
            iteration: i,
            active_skill_count: count("active_skill_count"),
            active_mcp_count: count("active_mcp_count"),
            active_tool_count: count("active_tool_count"),
            declared_tool_use_count: count("declared_tool_use_count"),
            inferred_tool_use_count: count("inferred_tool_use_count"),
            used_active_tools: usage["used_active_tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        };
        self.usage_lines.retain(|l| l.iteration != i);
        self.usage_lines.push(line);
        result
            .update(json!({"harness_usage": usage}))
            .map_err(|e| RunError::write("result.json", e))
    }

    /// Remember iteration `i`'s quality gate (the latest activation's) for summary.json.
    pub(super) fn record_gate(&mut self, i: u32, activation: &Value) {
        let gate = Gate::of(activation);
        self.gate_lines.retain(|l| l.iteration != i);
        self.gate_lines.push(GateLine {
            iteration: i,
            status: gate.status,
            active_mcp_count: gate.active_mcp_count,
            inactive_mcp_count: gate.inactive_mcp_count,
            active_tool_count: gate.active_tool_count,
        });
    }
}

/// Largest phase output read for inference.
const OUTPUT_LIMIT: u64 = 8 << 20;

/// `(path, text)` of the attempt's stdout, stderr and transcript, the non-empty ones: usage is
/// what the attempt did with the harness (reference §2.9) — a build that writes a tool's name
/// does not count as using it.
fn phase_outputs(result: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    let mut outputs = Vec::new();
    let Some(attempt) = result
        .get("phases")
        .and_then(|p| p.get("attempt"))
        .and_then(Value::as_object)
    else {
        return outputs;
    };
    for key in ["stdout_path", "stderr_path", "transcript_path"] {
        let Some(path) = attempt.get(key).and_then(Value::as_str) else {
            continue;
        };
        let mut bytes = Vec::new();
        if let Ok(file) = std::fs::File::open(path) {
            // Unreadable or cut output only means less to infer from.
            let _ = std::io::Read::read_to_end(
                &mut std::io::Read::take(file, OUTPUT_LIMIT),
                &mut bytes,
            );
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !text.is_empty() {
            outputs.push((path.to_string(), text));
        }
    }
    outputs
}
