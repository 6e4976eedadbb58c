//! What activation writes for the agents (reference §6.4–§6.6, §7.3), as pure renderers.
//!
//! - `.codex/config.toml`: the block between [`BEGIN_MARKER`] and [`END_MARKER`] is replaced
//!   (other content kept; the block is removed when no server is active). Each active server is
//!   launched through the in-container helper, `harnessgym mcp-bridge ... -- <command> <args>`
//!   (the reference's proxy spoke Content-Length; Codex speaks newline-delimited JSON to MCP
//!   servers, and through a Content-Length proxy its tools never work),
//!   with `tool_timeout_sec = tool + 5` and `HARNESSGYM_WORKSPACE` in its environment (fix of
//!   §14.7). The tables are written by the `toml` crate, keys in the reference's order; the
//!   reference JSON-quoted its strings, which is not valid TOML for every string (`DEL`, an
//!   emoji as a surrogate pair), while the crate picks a valid form for each.
//! - `.harnessgym/claude_mcp_config.json`: the §7.3 shape with `harnessgym mcp-bridge` in place
//!   of the Python bridge; workspace-relative commands and arguments made absolute.
//! - `.harnessgym/runtime/mcp_call.py`: a thin Python shim that `exec`s `harnessgym mcp-call`,
//!   kept because prompts and committed skills reference it.
//!
//! Every path is a container path. Both helpers get the run's telemetry file, run id and
//! iteration so each `tools/call` is logged per run and iteration (fix of §14.6).

use std::path::Path;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::manifest::McpServer;
use super::paths::{display, join_normalized};

/// First line of the generated block in `.codex/config.toml`.
pub const BEGIN_MARKER: &str = "# BEGIN HARNESSGYM MCP";
/// Last line of the generated block in `.codex/config.toml`.
pub const END_MARKER: &str = "# END HARNESSGYM MCP";
/// The Codex project configuration, relative to the workspace.
pub const CODEX_CONFIG_PATH: &str = ".codex/config.toml";
/// The Claude Code MCP configuration, relative to the workspace.
pub const CLAUDE_CONFIG_PATH: &str = ".harnessgym/claude_mcp_config.json";
/// The `mcp_call.py` shim, relative to the workspace.
pub const MCP_CALL_SHIM_PATH: &str = ".harnessgym/runtime/mcp_call.py";
/// How agents are told to call a tool.
pub const MCP_CALL_USAGE: &str = "python3 .harnessgym/runtime/mcp_call.py --server <name> --tool <tool> --arguments '<json-object>'";
/// Where the harnessgym binary lives in every container.
pub const DEFAULT_HELPER_BINARY: &str = crate::snapshot::HELPER_PATH;

/// How the in-container helper is invoked for this activation.
#[derive(Debug, Clone, Copy)]
pub struct HelperInvocation<'a> {
    /// The harnessgym binary in the container.
    pub helper_binary: &'a str,
    /// The workspace in the container.
    pub workspace: &'a Path,
    /// Where the helpers append telemetry.
    pub telemetry_path: &'a str,
    /// The run id stamped on each telemetry line.
    pub run_id: &'a str,
    /// The iteration stamped on each telemetry line.
    pub iteration: u32,
}

/// The report's `mcp_call_helper` entry (§6.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpCallHelper {
    /// Absolute container path of the shim.
    pub path: String,
    /// `.harnessgym/runtime/mcp_call.py`.
    pub relative_path: &'static str,
    /// The usage line.
    pub usage: &'static str,
}

/// The `mcp_call_helper` entry for `workspace`.
pub fn mcp_call_helper(workspace: &Path) -> McpCallHelper {
    McpCallHelper {
        path: display(&workspace.join(MCP_CALL_SHIM_PATH)),
        relative_path: MCP_CALL_SHIM_PATH,
        usage: MCP_CALL_USAGE,
    }
}

/// `helper <subcommand> --server-name N --response-timeout T --cwd C --telemetry-path P
/// --run-id R --iteration I -- <command> <args...>` as an argument list (without the binary).
fn helper_args(
    subcommand: &str,
    server: &McpServer,
    helper: &HelperInvocation<'_>,
    command: String,
    args: Vec<String>,
) -> Vec<String> {
    let mut all = vec![
        subcommand.to_owned(),
        "--server-name".to_owned(),
        server.name.clone(),
        "--response-timeout".to_owned(),
        server.tool_timeout_sec.to_string(),
        "--cwd".to_owned(),
        display(&server.cwd),
        "--telemetry-path".to_owned(),
        helper.telemetry_path.to_owned(),
        "--run-id".to_owned(),
        helper.run_id.to_owned(),
        "--iteration".to_owned(),
        helper.iteration.to_string(),
        "--".to_owned(),
        command,
    ];
    all.extend(args);
    all
}

/// One `[mcp_servers.<name>]` table: the reference's keys in its order (§6.4), then `env`.
#[derive(Debug, Serialize)]
struct CodexServer<'a> {
    command: &'a str,
    args: Vec<String>,
    cwd: String,
    startup_timeout_sec: i64,
    tool_timeout_sec: i64,
    enabled: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    enabled_tools: &'a [String],
    env: CodexEnv,
}

/// The environment Codex gives the bridge.
#[derive(Debug, Serialize)]
struct CodexEnv {
    #[serde(rename = "HARNESSGYM_WORKSPACE")]
    workspace: String,
}

/// `mcp_servers`, one table per server in activation order.
#[derive(Debug)]
struct CodexServers<'a>(Vec<(&'a str, CodexServer<'a>)>);

impl Serialize for CodexServers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, server)| (name, server)))
    }
}

/// The generated part of `.codex/config.toml`.
#[derive(Debug, Serialize)]
struct CodexDocument<'a> {
    mcp_servers: CodexServers<'a>,
}

/// A timeout as a TOML integer (TOML has no integer above `i64::MAX`).
fn toml_seconds(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// The marked block for `servers` (markers included, trailing newline). Fails only if the `toml`
/// crate cannot write the tables, which plain strings, integers and booleans do not cause.
pub fn codex_block(
    servers: &[McpServer],
    helper: &HelperInvocation<'_>,
) -> Result<String, toml::ser::Error> {
    let tables = servers
        .iter()
        .map(|server| {
            let table = CodexServer {
                command: helper.helper_binary,
                args: helper_args(
                    "mcp-bridge",
                    server,
                    helper,
                    server.command.clone(),
                    server.args.clone(),
                ),
                cwd: display(&server.cwd),
                startup_timeout_sec: toml_seconds(server.startup_timeout_sec),
                tool_timeout_sec: toml_seconds(server.tool_timeout_sec.saturating_add(5)),
                enabled: true,
                enabled_tools: &server.enabled_tools,
                env: CodexEnv {
                    workspace: display(helper.workspace),
                },
            };
            (server.name.as_str(), table)
        })
        .collect();
    let document = toml::to_string(&CodexDocument {
        mcp_servers: CodexServers(tables),
    })?;
    Ok(format!(
        "{BEGIN_MARKER}\n# Generated by HarnessGym. Edit .harnessgym/mcp manifests instead.\n\n{}\n{END_MARKER}\n",
        document.trim_end()
    ))
}

/// `existing` with every complete marked block removed and `block` appended after a blank line
/// (`activation.py:_replace_marked_block`). An empty `block` only removes.
pub fn replace_marked_block(existing: &str, block: &str) -> String {
    let mut kept = String::with_capacity(existing.len());
    let mut rest = existing;
    while let Some(begin) = rest.find(BEGIN_MARKER) {
        let after_begin = begin + BEGIN_MARKER.len();
        let Some(end) = rest[after_begin..].find(END_MARKER) else {
            break;
        };
        let mut cut = after_begin + end + END_MARKER.len();
        if rest[cut..].starts_with('\n') {
            cut += 1;
        }
        kept.push_str(&rest[..begin]);
        rest = &rest[cut..];
    }
    kept.push_str(rest);
    let pieces: Vec<&str> = [kept.trim_end(), block.trim_end()]
        .into_iter()
        .filter(|piece| !piece.is_empty())
        .collect();
    if pieces.is_empty() {
        String::new()
    } else {
        pieces.join("\n\n") + "\n"
    }
}

/// The new `.codex/config.toml`, or `None` when nothing needs writing: no active server and no
/// generated block to remove (the reference rewrote such a file anyway), or no change at all.
pub fn codex_config(
    existing: Option<&str>,
    servers: &[McpServer],
    helper: &HelperInvocation<'_>,
) -> Result<Option<String>, toml::ser::Error> {
    let updated = match (existing, servers.is_empty()) {
        (None, true) => return Ok(None),
        (Some(text), true) if !text.contains(BEGIN_MARKER) => return Ok(None),
        (Some(text), true) => replace_marked_block(text, ""),
        (text, false) => replace_marked_block(text.unwrap_or(""), &codex_block(servers, helper)?),
    };
    Ok((existing != Some(updated.as_str())).then_some(updated))
}

/// `value` made absolute when it is a relative path naming something in the workspace.
fn absolutize(value: &str, workspace: &Path, exists: &dyn Fn(&Path) -> bool) -> String {
    let path = Path::new(value);
    if value.is_empty() || path.is_absolute() {
        return value.to_owned();
    }
    let absolute = join_normalized(workspace, path);
    if exists(&absolute) {
        display(&absolute)
    } else {
        value.to_owned()
    }
}

/// `.harnessgym/claude_mcp_config.json` for `servers` (§7.3): one stdio entry per server that
/// runs `harnessgym mcp-bridge`, with `HARNESSGYM_WORKSPACE` and `CLAUDE_PROJECT_DIR` set.
pub fn claude_config(
    servers: &[McpServer],
    helper: &HelperInvocation<'_>,
    exists: &dyn Fn(&Path) -> bool,
) -> Value {
    let workspace = display(helper.workspace);
    let mut entries = Map::new();
    for server in servers {
        let command = absolutize(&server.command, helper.workspace, exists);
        let args = server
            .args
            .iter()
            .map(|arg| absolutize(arg, helper.workspace, exists))
            .collect();
        let entry = json!({
            "type": "stdio",
            "command": helper.helper_binary,
            "args": helper_args("mcp-bridge", server, helper, command, args),
            "env": {"HARNESSGYM_WORKSPACE": workspace, "CLAUDE_PROJECT_DIR": workspace},
        });
        entries.insert(server.name.clone(), entry);
    }
    json!({ "mcpServers": entries })
}

/// A Python string literal: a JSON string is one (the same escapes, `\\uXXXX` included).
fn python_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

/// The `mcp_call.py` shim: `exec`s `<helper> mcp-call --workspace <workspace> <argv...>`.
pub fn mcp_call_shim(helper_binary: &str, workspace: &Path) -> String {
    let helper = python_string(helper_binary);
    let workspace = python_string(&display(workspace));
    format!(
        r#"#!/usr/bin/env python3
"""Generated by HarnessGym: call a tool of an active MCP server of this workspace.

Usage: {MCP_CALL_USAGE}
Runs `harnessgym mcp-call`; the active servers are listed in .harnessgym/activation.json.
"""
import os
import sys

HELPER = {helper}
WORKSPACE = {workspace}

try:
    os.execv(HELPER, [HELPER, "mcp-call", "--workspace", WORKSPACE, *sys.argv[1:]])
except OSError as error:
    sys.stderr.write("mcp_call.py: cannot run %s: %s\n" % (HELPER, error))
    sys.exit(127)
"#
    )
}

#[cfg(test)]
#[path = "wiring_tests.rs"]
mod tests;
