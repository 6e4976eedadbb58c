//! Harness usage accounting (reference §2.9): which generated tools and artifacts a session had,
//! which it declared using, which its outputs show it used, and what MCP telemetry recorded.
//!
//! Inference follows the token rules fixed upstream (d92d114): a bare word only counts near the
//! word "tool", so prose such as "I will run the tests" does not claim a tool named `run`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Characters on each side of a token in which the word `tool` must appear.
const TOOL_CONTEXT: usize = 30;

/// Everything the accounting looks at.
#[derive(Debug)]
pub struct UsageInputs<'a> {
    /// Artifacts in the registry.
    pub registry_artifact_count: usize,
    /// The activation report the session started with (§6.1).
    pub activation: &'a Value,
    /// The iteration's result.json.
    pub result: &'a Map<String, Value>,
    /// Paths of the registry's usable (not quarantined) artifacts.
    pub artifact_paths: &'a [String],
    /// `(name, text)` of the runner's outputs (stdout, stderr, transcript of each phase).
    pub outputs: &'a [(String, String)],
    /// The iteration's MCP telemetry summary (`count`, `successful_count`, `status_counts`,
    /// `called_tools`), or `null`.
    pub telemetry: &'a Value,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => ["path", "name", "id"]
                        .iter()
                        .find_map(|k| o.get(*k).and_then(Value::as_str))
                        .map(str::to_string),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Tools of active MCP servers (`enabled_tools` ∪ smoke tools) and the servers' names.
fn active_tools(activation: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut tools = BTreeSet::new();
    let mut servers = BTreeSet::new();
    for server in activation
        .get("mcp_servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if server.get("active") == Some(&Value::Bool(false)) {
            continue;
        }
        if let Some(name) = server.get("name").and_then(Value::as_str) {
            servers.insert(name.to_string());
        }
        tools.extend(strings(server.get("enabled_tools")));
        tools.extend(strings(server.get("smoke").and_then(|s| s.get("tools"))));
    }
    (tools, servers)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `token` occurs at word boundaries in `text` with `tool` within ±30 characters.
fn near_tool(text: &str, token: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(token).any(|(start, _)| {
        let end = start + token.len();
        let before = start == 0 || !is_word_byte(bytes[start - 1]);
        let after = end == bytes.len() || !is_word_byte(bytes[end]);
        if !(before && after) {
            return false;
        }
        let low = text.floor_char_boundary(start.saturating_sub(TOOL_CONTEXT));
        let high = text.ceil_char_boundary((end + TOOL_CONTEXT).min(text.len()));
        text[low..high].contains("tool")
    })
}

/// Whether lower-cased `haystack` shows `tool` being used (reference `_contains_usage_token`).
pub fn contains_usage_token(haystack: &str, tool: &str) -> bool {
    let tool = tool.to_lowercase();
    if tool.is_empty() {
        return false;
    }
    if haystack.contains(&format!("mcp__{tool}"))
        || (haystack.contains(&format!("__{tool}")) && haystack.contains("mcp__"))
        || (haystack.contains(&format!("\"{tool}\"")) && haystack.contains("tools/call"))
    {
        return true;
    }
    let base = tool.rsplit('/').next().unwrap_or(&tool);
    near_tool(haystack, &tool) || (base != tool && near_tool(haystack, base))
}

/// Whether `haystack` mentions the artifact at `path` (full path or basename, anywhere).
pub fn contains_artifact_reference(haystack: &str, path: &str) -> bool {
    let path = path.to_lowercase();
    let base = path.rsplit('/').next().unwrap_or(&path);
    !path.is_empty() && (haystack.contains(&path) || (!base.is_empty() && haystack.contains(base)))
}

fn sorted(set: &BTreeSet<String>) -> Value {
    json!(set.iter().collect::<Vec<_>>())
}

/// The `harness_usage` block of result.json.
pub fn harness_usage(inputs: &UsageInputs<'_>) -> Value {
    let (active, servers) = active_tools(inputs.activation);
    let skills: BTreeSet<String> = inputs
        .activation
        .get("skills")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.get("artifact_path")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let declared_tools: BTreeSet<String> = ["used_harness_tools", "used_tools"]
        .iter()
        .flat_map(|k| strings(inputs.result.get(*k)))
        .collect();
    let declared_artifacts: BTreeSet<String> = ["used_harness_artifacts", "used_artifacts"]
        .iter()
        .flat_map(|k| strings(inputs.result.get(*k)))
        .collect();
    let mut inferred_tools = BTreeSet::new();
    let mut inferred_artifacts = BTreeSet::new();
    let mut sources = BTreeSet::new();
    for (name, text) in inputs.outputs {
        let text = text.to_lowercase();
        let tools: Vec<&String> = active
            .iter()
            .filter(|t| contains_usage_token(&text, t))
            .collect();
        let artifacts: Vec<&String> = inputs
            .artifact_paths
            .iter()
            .filter(|p| contains_artifact_reference(&text, p))
            .collect();
        if !tools.is_empty() || !artifacts.is_empty() {
            sources.insert(name.clone());
        }
        inferred_tools.extend(tools.into_iter().cloned());
        inferred_artifacts.extend(artifacts.into_iter().cloned());
    }
    let telemetry = inputs.telemetry;
    let called: BTreeSet<String> = strings(telemetry.get("called_tools")).into_iter().collect();
    let used_tools: BTreeSet<String> = declared_tools
        .iter()
        .chain(&inferred_tools)
        .chain(&called)
        .cloned()
        .collect();
    let used_artifacts: BTreeSet<String> = declared_artifacts
        .union(&inferred_artifacts)
        .cloned()
        .collect();
    let used_active: BTreeSet<String> = used_tools.intersection(&active).cloned().collect();
    json!({
        "registry_artifact_count": inputs.registry_artifact_count,
        "active_skill_count": skills.len(),
        "active_mcp_count": servers.len(),
        "active_tool_count": active.len(),
        "active_skills": sorted(&skills),
        "active_mcp_servers": sorted(&servers),
        "active_tools": sorted(&active),
        "used_harness_tools": sorted(&used_tools),
        "used_harness_artifacts": sorted(&used_artifacts),
        "declared_harness_tools": sorted(&declared_tools),
        "declared_harness_artifacts": sorted(&declared_artifacts),
        "inferred_harness_tools": sorted(&inferred_tools),
        "inferred_harness_artifacts": sorted(&inferred_artifacts),
        "inference_sources": sorted(&sources),
        "used_active_tools": sorted(&used_active),
        "mcp_call_count": telemetry.get("count").cloned().unwrap_or(json!(0)),
        "mcp_successful_call_count": telemetry.get("successful_count").cloned().unwrap_or(json!(0)),
        "mcp_called_tools": sorted(&called),
        "mcp_call_status_counts": telemetry.get("status_counts").cloned().unwrap_or(json!({})),
        "declared_tool_use_count": declared_tools.len(),
        "declared_artifact_use_count": declared_artifacts.len(),
        "inferred_tool_use_count": inferred_tools.len(),
        "inferred_artifact_use_count": inferred_artifacts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_does_not_claim_a_tool_but_concrete_calls_do() {
        let prose = "i will run the tests and then test again";
        assert!(!contains_usage_token(prose, "run"));
        assert!(!contains_usage_token(prose, "test"));
        assert!(contains_usage_token(
            "calling mcp__kernel-tools__run_verifier now",
            "run_verifier"
        ));
        assert!(contains_usage_token(
            r#"{"method":"tools/call","name":"run_verifier"}"#,
            "run_verifier"
        ));
        assert!(contains_usage_token(
            "i used the mcp tool run_verifier to check",
            "run_verifier"
        ));
        assert!(!contains_usage_token(
            "i used run_verifier_v2 as a tool",
            "run_verifier"
        ));
        assert!(contains_usage_token(
            "the probe tool at tools/probe.py ran",
            ".harnessgym/tools/probe.py"
        ));
    }

    #[test]
    fn artifacts_match_by_path_or_basename_without_tool_context() {
        assert!(contains_artifact_reference(
            "read .harnessgym/skills/k/skill.md first",
            ".harnessgym/skills/k/SKILL.md"
        ));
        assert!(contains_artifact_reference(
            "opened skill.md",
            ".harnessgym/skills/k/SKILL.md"
        ));
        assert!(!contains_artifact_reference(
            "nothing here",
            ".harnessgym/skills/k/SKILL.md"
        ));
    }

    #[test]
    fn usage_combines_declared_inferred_and_telemetry() {
        let activation = json!({"mcp_servers": [
            {"name": "kernel", "active": true, "enabled_tools": ["run_verifier", "norm"], "smoke": {"tools": ["compare"]}},
            {"name": "off", "active": false, "enabled_tools": ["hidden"]}
        ], "skills": [{"artifact_path": ".harnessgym/skills/k/SKILL.md"}]});
        let mut result = Map::new();
        result.insert(
            "used_harness_tools".into(),
            json!(["norm", {"name": "extra"}]),
        );
        result.insert(
            "used_artifacts".into(),
            json!([{"path": ".harnessgym/tools/p.py"}]),
        );
        let outputs = vec![(
            "attempt.stdout.txt".to_string(),
            "I used the generated MCP tool run_verifier".to_string(),
        )];
        let telemetry = json!({"count": 2, "successful_count": 1, "status_counts": {"completed": 1, "error": 1}, "called_tools": ["compare"]});
        let usage = harness_usage(&UsageInputs {
            registry_artifact_count: 3,
            activation: &activation,
            result: &result,
            artifact_paths: &[".harnessgym/skills/k/SKILL.md".to_string()],
            outputs: &outputs,
            telemetry: &telemetry,
        });
        assert_eq!(
            usage["active_tools"],
            json!(["compare", "norm", "run_verifier"])
        );
        assert_eq!(usage["active_mcp_count"], 1);
        assert_eq!(usage["inferred_harness_tools"], json!(["run_verifier"]));
        assert_eq!(
            usage["used_harness_tools"],
            json!(["compare", "extra", "norm", "run_verifier"])
        );
        assert_eq!(
            usage["used_active_tools"],
            json!(["compare", "norm", "run_verifier"])
        );
        assert_eq!(
            usage["declared_harness_artifacts"],
            json!([".harnessgym/tools/p.py"])
        );
        assert_eq!(usage["inference_sources"], json!(["attempt.stdout.txt"]));
        assert_eq!(usage["mcp_call_count"], 2);
        assert_eq!(usage["active_skill_count"], 1);
    }
}
