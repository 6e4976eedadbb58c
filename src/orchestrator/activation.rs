//! The activation report (reference §6.1) as the loop writes it before each attempt and after
//! each build.
//!
//! This is the report's skeleton: quarantined artifacts are listed and no skill or MCP server is
//! activated yet (activation itself — skill links, MCP smoke and self-tests in the container —
//! replaces it with its own issue). With no servers and no warnings the gate passes, as the
//! reference's does for an empty registry.

use serde_json::{Value, json};

use crate::harness::registry::Registry;

/// The report for `registry`.
pub fn report(registry: &Registry) -> Value {
    let quarantined: Vec<Value> = registry
        .artifacts
        .iter()
        .filter(|a| a.is_quarantined())
        .map(|a| json!({"kind": a.kind, "path": a.path}))
        .collect();
    json!({
        "skills": [],
        "mcp_servers": [],
        "quarantined_artifacts": quarantined,
        "warnings": [],
        "quality_gate": {
            "status": "passed",
            "active_mcp_count": 0,
            "inactive_mcp_count": 0,
            "active_tool_count": 0,
            "warnings": [],
        },
    })
}
