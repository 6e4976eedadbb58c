//! The "generated harness context" block of the attempt prompt (reference §8,
//! `prompts.py:render_artifact_context`): what is registered, what is hidden by quarantine, what
//! the last activation switched on, and a preview of each artifact file.
//!
//! Reading the previews is the only I/O and is kept apart ([`collect_previews`]) so that
//! [`render_artifact_context`] is a pure function of the registry, the activation report and the
//! previews. Artifact paths come from `registry.json`, which the agent writes, so a preview is read
//! only for a relative path that stays inside the workspace after symlinks are resolved: an agent
//! must not be able to pull a host file (`../../.ssh/id_rsa`, or a link to it) into a prompt that
//! is sent to a model API.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path};

use serde_json::{Map, Value};

use super::PromptError;
use super::template;
use crate::harness::json;
use crate::harness::registry::{ArtifactKind, Registry};

/// How many characters of an artifact file the context shows (the reference's `preview_chars`).
pub const PREVIEW_CHARS: usize = 3000;

/// The first characters of one artifact file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// At most the collection limit's worth of characters (invalid UTF-8 replaced).
    pub text: String,
    /// Whether the file holds more than `text`.
    pub truncated: bool,
}

/// Previews keyed by the artifact's registry path.
pub type Previews = BTreeMap<String, Preview>;

/// Reads a preview of at most `limit` characters for every artifact that is not quarantined,
/// has a known kind, and whose path is a regular file inside `host_workspace`.
///
/// Files that cannot be read, directories, and paths that leave the workspace (absolute, `..`, or
/// a symlink pointing outside) get no preview; the artifact is still listed.
pub fn collect_previews(host_workspace: &Path, registry: &Registry, limit: usize) -> Previews {
    let Ok(root) = host_workspace.canonicalize() else {
        return Previews::new();
    };
    registry
        .active_artifacts()
        .filter(|artifact| ArtifactKind::from_kind(&artifact.kind).is_some())
        .filter_map(|artifact| {
            read_preview(&root, &artifact.path, limit)
                .map(|preview| (artifact.path.clone(), preview))
        })
        .collect()
}

/// The preview of `relative` under the canonical `root`, if it is a regular file inside it.
fn read_preview(root: &Path, relative: &str, limit: usize) -> Option<Preview> {
    let relative = Path::new(relative);
    let stays_inside = relative
        .components()
        .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
    if !stays_inside {
        return None;
    }
    let resolved = root.join(relative).canonicalize().ok()?;
    if !resolved.starts_with(root) || !resolved.metadata().ok()?.is_file() {
        return None;
    }
    // A character is at most four bytes, so one byte more than four per character is enough to
    // know whether the file goes on; large files are never read whole.
    let cap = u64::try_from(limit.saturating_mul(4).saturating_add(1)).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    File::open(&resolved)
        .ok()?
        .take(cap)
        .read_to_end(&mut bytes)
        .ok()?;
    let decoded = String::from_utf8_lossy(&bytes);
    let mut chars = decoded.chars();
    let text: String = chars.by_ref().take(limit).collect();
    let truncated = chars.next().is_some();
    Some(Preview { text, truncated })
}

/// Renders the artifact context shown to a fresh attempt.
///
/// Quarantined artifacts are left out entirely (only their count is given); `activation` is the
/// report of the activation that ran before this attempt (reference §6.1), if any. Paths are the
/// registry's workspace-relative paths; absolute paths inside the activation report are mapped to
/// the container by the prompt renderer.
pub fn render_artifact_context(
    registry: &Registry,
    activation: Option<&Value>,
    previews: &Previews,
) -> Result<String, PromptError> {
    let visible: Vec<_> = registry.active_artifacts().collect();
    let hidden = registry.artifacts.len() - visible.len();
    let mut lines = Vec::new();
    let header = if visible.is_empty() {
        template::CONTEXT_EMPTY
    } else {
        template::CONTEXT_HEADER
    };
    lines.push(header.fill(&[])?);
    if hidden > 0 {
        let count = hidden.to_string();
        lines.push(template::CONTEXT_QUARANTINED.fill(&[("count", &count)])?);
    }
    if let Some(activation) = activation {
        lines.extend(activation_lines(activation)?);
    }
    for artifact in visible {
        let description = match artifact.description.trim() {
            "" => String::new(),
            text => template::CONTEXT_DESCRIPTION.fill(&[("description", text)])?,
        };
        lines.push(template::CONTEXT_ARTIFACT.fill(&[
            ("kind", &artifact.kind),
            ("path", &artifact.path),
            ("description", &description),
        ])?);
        if let Some(preview) = previews.get(&artifact.path) {
            lines.push(render_preview(preview)?);
        }
    }
    Ok(lines.join("\n"))
}

/// The preview label and the indented preview, with the truncation marker when cut.
fn render_preview(preview: &Preview) -> Result<String, PromptError> {
    let mut body = preview.text.clone();
    if preview.truncated {
        let limit = preview.text.chars().count().to_string();
        body.push('\n');
        body.push_str(&template::CONTEXT_TRUNCATED.fill(&[("limit", &limit)])?);
    }
    let indented: Vec<String> = body
        .lines()
        .map(|line| match line {
            "" => String::new(),
            line => format!("    {line}"),
        })
        .collect();
    Ok(format!(
        "{}\n{}",
        template::CONTEXT_PREVIEW.fill(&[])?,
        indented.join("\n")
    ))
}

/// The activation lines: warnings, gate, each MCP server (inactive ones too), the call helper and
/// each active skill.
fn activation_lines(activation: &Value) -> Result<Vec<String>, PromptError> {
    let Some(report) = activation.as_object() else {
        return Ok(vec![template::CONTEXT_ACTIVATION_UNREADABLE.fill(&[])?]);
    };
    let mut lines = vec![template::CONTEXT_ACTIVATION.fill(&[])?];
    if let Some(warnings) = report
        .get("warnings")
        .filter(|value| json::is_truthy(value))
    {
        let warnings = match warnings {
            Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join("; "),
            other => scalar_text(other),
        };
        lines.push(template::CONTEXT_WARNINGS.fill(&[("warnings", &warnings)])?);
    }
    if let Some(gate) = report.get("quality_gate").and_then(Value::as_object) {
        let field = |key: &str, default: &str| {
            gate.get(key)
                .map_or_else(|| default.to_owned(), scalar_text)
        };
        lines.push(template::CONTEXT_GATE.fill(&[
            ("status", &field("status", "unknown")),
            ("mcp_count", &field("active_mcp_count", "0")),
            ("tool_count", &field("active_tool_count", "0")),
        ])?);
    }
    for server in array_of(report.get("mcp_servers")).filter_map(Value::as_object) {
        lines.push(mcp_server_line(server)?);
    }
    let helper = report
        .get("mcp_call_helper")
        .and_then(|helper| helper.get("relative_path"))
        .filter(|path| json::is_truthy(path));
    if let Some(path) = helper {
        lines.push(template::CONTEXT_HELPER.fill(&[("helper_path", &scalar_text(path))])?);
    }
    for skill in array_of(report.get("skills")).filter_map(Value::as_object) {
        lines.push(skill_line(skill)?);
    }
    Ok(lines)
}

/// One MCP server row: name, active flag, smoke and self-test status, tools.
fn mcp_server_line(server: &Map<String, Value>) -> Result<String, PromptError> {
    let status_of = |key: &str| {
        server
            .get(key)
            .and_then(Value::as_object)
            .and_then(|check| check.get("status"))
            .map_or_else(|| "unknown".to_owned(), scalar_text)
    };
    // Manifest tools win over the smoke inventory, as in the reference.
    let tools = server
        .get("enabled_tools")
        .filter(|tools| json::is_truthy(tools))
        .or_else(|| server.get("smoke").and_then(|smoke| smoke.get("tools")));
    let tools: Vec<String> = array_of(tools).map(scalar_text).collect();
    let active = server.get("active").is_none_or(json::is_truthy);
    let name = server
        .get("name")
        .map_or_else(|| "unknown".to_owned(), scalar_text);
    template::CONTEXT_MCP_SERVER.fill(&[
        ("name", &name),
        ("active", if active { "true" } else { "false" }),
        ("smoke", &status_of("smoke")),
        ("self_test", &status_of("self_test")),
        ("tools", &tools.join(", ")),
    ])
}

/// One activated skill row: where the agent finds it, and its registry path.
fn skill_line(skill: &Map<String, Value>) -> Result<String, PromptError> {
    let text_of = |key: &str| {
        skill
            .get(key)
            .filter(|value| json::is_truthy(value))
            .map(scalar_text)
    };
    let mut active_paths: Vec<String> = ["codex_activated_path", "claude_activated_path"]
        .into_iter()
        .filter_map(text_of)
        .collect();
    if active_paths.is_empty() {
        active_paths.extend(text_of("activated_path"));
    }
    let artifact_path = text_of("artifact_path").unwrap_or_default();
    template::CONTEXT_SKILL.fill(&[
        ("active_paths", &active_paths.join(", ")),
        ("artifact_path", &artifact_path),
    ])
}

/// The items of a JSON array, or nothing when the value is absent or not an array.
fn array_of(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// A JSON value as prompt text: strings unquoted, everything else as compact JSON.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
