//! The MCP servers an agent gets: the ones the in-container activation report
//! (`/workspace/.harnessgym/activation.json`, read through the session) lists as usable, and how
//! each CLI is told about them.
//!
//! A server is usable when it is not `active: false`, its smoke test and self-test each passed
//! or did not run, and it has a name and a command (reference §7.2). Codex gets `-c
//! mcp_servers.<name>.*` overrides (it loads the user's config by default; harnessgym never edits
//! that); Claude Code gets the configuration activation wrote, and one `mcp__<server>` allow
//! token per server (§7.3).
//!
//! Both CLIs reach a server through `harnessgym mcp-bridge` inside the container: Codex 0.147,
//! like Claude Code, speaks newline-delimited JSON on an MCP server's stdio (the reference's
//! Content-Length `mcp-proxy` is for tools and clients that use the servers' own framing).
//! Codex starts servers with a cleared environment, so the bridge gets the telemetry file, run
//! and iteration as arguments and `HARNESSGYM_WORKSPACE` through the `env` table.

use serde_json::Value;

use crate::activation::ACTIVATION_PATH;
use crate::activation::DEFAULT_HELPER_BINARY as HELPER_PATH;
use crate::sandbox::WORKSPACE;
use crate::session::{PhaseContext, Session, SessionError, workspace_path};

/// A server an agent may use, as the activation report describes it (container paths).
#[derive(Debug, Clone, PartialEq)]
pub struct UsableServer {
    /// Sanitised server name.
    pub name: String,
    /// The server's own command.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: String,
    /// Seconds to start.
    pub startup_timeout_sec: u64,
    /// Seconds per tool call.
    pub tool_timeout_sec: u64,
    /// Tools to expose (empty: all).
    pub enabled_tools: Vec<String>,
}

fn passed_or_absent(row: &Value, key: &str) -> bool {
    match row.get(key).and_then(|v| v.get("status")) {
        None | Some(Value::Null) => true,
        Some(status) => status == "passed",
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `name` can stand in a dotted `-c` key without quotes.
fn bare_key(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The usable servers of an activation report.
pub fn usable_servers(report: &Value) -> Vec<UsableServer> {
    let rows = report
        .get("mcp_servers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut servers: Vec<UsableServer> = Vec::new();
    for row in &rows {
        let text = |key: &str| row.get(key).and_then(Value::as_str).unwrap_or_default();
        let seconds =
            |key: &str, default: u64| row.get(key).and_then(Value::as_u64).unwrap_or(default);
        let usable = row.get("active") != Some(&Value::Bool(false))
            && passed_or_absent(row, "smoke")
            && passed_or_absent(row, "self_test")
            && !text("command").is_empty();
        let name = text("name");
        if !usable || !bare_key(name) || servers.iter().any(|s| s.name == name) {
            continue;
        }
        servers.push(UsableServer {
            name: name.to_string(),
            command: text("command").to_string(),
            args: strings(row.get("args")),
            cwd: match text("cwd") {
                "" => WORKSPACE.to_string(),
                cwd => cwd.to_string(),
            },
            startup_timeout_sec: seconds("startup_timeout_sec", 10),
            tool_timeout_sec: seconds("tool_timeout_sec", 60),
            enabled_tools: strings(row.get("enabled_tools")),
        });
    }
    servers
}

/// The usable servers of the session's current activation (none when there is no report or it
/// is unreadable).
pub async fn session_servers(session: &Session) -> Result<Vec<UsableServer>, SessionError> {
    let Some(bytes) = session.read(ACTIVATION_PATH).await? else {
        return Ok(Vec::new());
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(report) => Ok(usable_servers(&report)),
        Err(err) => {
            tracing::warn!(
                "{ACTIVATION_PATH} is not valid JSON ({err}); no MCP servers for the agent"
            );
            Ok(Vec::new())
        }
    }
}

/// Where the bridge sends telemetry and which run it reports (container paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeScope {
    /// The telemetry file.
    pub telemetry_path: String,
    /// The run id.
    pub run_id: String,
    /// The iteration.
    pub iteration: u32,
}

impl BridgeScope {
    /// The scope of `ctx`'s phase.
    pub fn of(ctx: &PhaseContext<'_>) -> Self {
        BridgeScope {
            telemetry_path: workspace_path(&ctx.telemetry_rel),
            run_id: ctx.run_id.to_string(),
            iteration: ctx.iteration,
        }
    }
}

/// `harnessgym mcp-bridge ... -- <command> <args>` as arguments (without the binary).
fn bridge_args(server: &UsableServer, scope: &BridgeScope) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "mcp-bridge".into(),
        "--server-name".into(),
        server.name.clone(),
        "--response-timeout".into(),
        server.tool_timeout_sec.to_string(),
        "--cwd".into(),
        server.cwd.clone(),
        "--telemetry-path".into(),
        scope.telemetry_path.clone(),
        "--run-id".into(),
        scope.run_id.clone(),
        "--iteration".into(),
        scope.iteration.to_string(),
        "--".into(),
        server.command.clone(),
    ];
    args.extend(server.args.iter().cloned());
    args
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn toml_strings(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// `-c mcp_servers.<name>.<key>=<toml>` pairs for Codex (reference §7.2, through the bridge).
pub fn codex_overrides(servers: &[UsableServer], scope: &BridgeScope) -> Vec<String> {
    let mut argv = Vec::new();
    for server in servers {
        let mut set = |key: &str, value: String| {
            argv.push("-c".to_string());
            argv.push(format!("mcp_servers.{}.{key}={value}", server.name));
        };
        set("command", toml_string(HELPER_PATH));
        set("args", toml_strings(&bridge_args(server, scope)));
        set("cwd", toml_string(&server.cwd));
        set(
            "startup_timeout_sec",
            server.startup_timeout_sec.to_string(),
        );
        set(
            "tool_timeout_sec",
            server.tool_timeout_sec.saturating_add(5).to_string(),
        );
        set("enabled", "true".into());
        if !server.enabled_tools.is_empty() {
            set("enabled_tools", toml_strings(&server.enabled_tools));
        }
        set(
            "env",
            format!("{{ HARNESSGYM_WORKSPACE = {} }}", toml_string(WORKSPACE)),
        );
    }
    argv
}

/// `--allowedTools=mcp__a,mcp__b` for Claude Code.
pub fn claude_allowed_tools(servers: &[UsableServer]) -> String {
    let tokens: Vec<String> = servers.iter().map(|s| format!("mcp__{}", s.name)).collect();
    format!("--allowedTools={}", tokens.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({"mcp_servers": [
            {"name": "tensor-plan", "command": "python3", "args": ["server.py"],
             "cwd": "/workspace/.harnessgym/mcp/tensor-plan", "startup_timeout_sec": 11,
             "tool_timeout_sec": 120, "enabled_tools": ["inspect", "search"],
             "smoke": {"status": "passed"}, "self_test": {"status": "passed"}, "active": true},
            {"name": "broken", "command": "python3", "self_test": {"status": "failed"}, "active": false},
            {"name": "untested", "command": "python3", "smoke": {"status": "failed"}},
            {"name": "", "command": "python3"},
            {"name": "no-command"},
            {"name": "tensor-plan", "command": "other"},
        ]})
    }

    #[test]
    fn only_servers_that_passed_or_skipped_their_tests_are_usable() {
        let servers = usable_servers(&report());
        assert_eq!(servers.len(), 1, "{servers:?}");
        assert_eq!(servers[0].name, "tensor-plan");
        assert_eq!(servers[0].startup_timeout_sec, 11);
        assert!(usable_servers(&json!({})).is_empty());
    }

    #[test]
    fn codex_overrides_route_through_the_bridge_with_toml_values() {
        let servers = usable_servers(&report());
        let scope = BridgeScope {
            telemetry_path: "/workspace/.harnessgym/runs/r/iterations/2/mcp_calls.jsonl".into(),
            run_id: "r".into(),
            iteration: 2,
        };
        let argv = codex_overrides(&servers, &scope);
        let values: Vec<&str> = argv.iter().skip(1).step_by(2).map(String::as_str).collect();
        assert!(argv.iter().step_by(2).all(|flag| flag == "-c"));
        assert_eq!(
            values[0],
            r#"mcp_servers.tensor-plan.command="/opt/harnessgym/bin/harnessgym""#
        );
        assert!(values[1].starts_with(r#"mcp_servers.tensor-plan.args=["mcp-bridge", "--server-name", "tensor-plan", "--response-timeout", "120", "--cwd", "/workspace/.harnessgym/mcp/tensor-plan", "--telemetry-path", "/workspace/.harnessgym/runs/r/iterations/2/mcp_calls.jsonl", "--run-id", "r", "--iteration", "2", "--", "python3", "server.py"]"#), "{}", values[1]);
        assert!(values.contains(&"mcp_servers.tensor-plan.tool_timeout_sec=125"));
        assert!(values.contains(&"mcp_servers.tensor-plan.startup_timeout_sec=11"));
        assert!(values.contains(&"mcp_servers.tensor-plan.enabled=true"));
        assert!(values.contains(&r#"mcp_servers.tensor-plan.enabled_tools=["inspect", "search"]"#));
        assert!(
            values.contains(
                &r#"mcp_servers.tensor-plan.env={ HARNESSGYM_WORKSPACE = "/workspace" }"#
            )
        );
        for value in values {
            let (_, toml_value) = value.split_once('=').expect("key=value");
            toml::from_str::<toml::Table>(&format!("v = {toml_value}"))
                .unwrap_or_else(|e| panic!("{toml_value} is not TOML: {e}"));
        }
    }

    #[test]
    fn claude_gets_one_allow_token_per_server() {
        let servers = usable_servers(&report());
        assert_eq!(
            claude_allowed_tools(&servers),
            "--allowedTools=mcp__tensor-plan"
        );
    }
}
