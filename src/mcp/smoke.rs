//! The activation smoke test of an MCP server (reference §6.3, with the §14.9 fix).
//!
//! Spawn the server (no shell, inherited environment plus the request's), send `initialize`
//! (id 1) and wait up to the startup timeout, send `notifications/initialized` and `tools/list`
//! (id 2) and wait up to the tool timeout; the tools are `result.tools[].name`. A response counts
//! only when it carries the request's id (notifications and other ids are skipped while
//! waiting), and a JSON-RPC `error` in either response fails the smoke with the error's message.
//! The server is always terminated (its whole process group).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::cli::SmokeArgs;
use super::jsonrpc;
use super::report::chain;
use super::server::{Connection, ServerProcess, ServerSpec};
use super::workspace::absolute;
use crate::exit;

/// The protocol version the smoke test asks for.
pub const PROTOCOL_VERSION: &str = "2024-11-05";

/// What to smoke-test.
#[derive(Debug, Clone)]
pub struct SmokeRequest {
    /// The server program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Budget for spawning and answering `initialize`.
    pub startup_timeout: Duration,
    /// Budget for answering `tools/list`.
    pub tool_timeout: Duration,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    /// `passed` or `failed`.
    pub status: String,
    /// The tool names listed (empty when failed).
    pub tools: Vec<String>,
    /// Why it failed; empty when it passed.
    pub message: String,
}

impl SmokeResult {
    fn passed(tools: Vec<String>) -> Self {
        SmokeResult {
            status: "passed".into(),
            tools,
            message: String::new(),
        }
    }

    fn failed(message: impl Into<String>) -> Self {
        SmokeResult {
            status: "failed".into(),
            tools: Vec::new(),
            message: message.into(),
        }
    }

    /// Whether the smoke test passed.
    pub fn is_passed(&self) -> bool {
        self.status == "passed"
    }
}

/// Runs the smoke test; never fails, the outcome says what happened.
pub async fn smoke(request: &SmokeRequest) -> SmokeResult {
    let spec = ServerSpec {
        program: request.command.clone(),
        args: request.args.clone(),
        cwd: request.cwd.clone(),
        env: request.env.clone(),
        forward_stderr: false,
    };
    let mut server = match ServerProcess::spawn(&spec) {
        Ok(server) => server,
        Err(err) => return SmokeResult::failed(format!("could not start server: {}", chain(&err))),
    };
    let result = match Connection::open(&mut server) {
        Some(mut connection) => handshake(&mut connection, request).await,
        None => SmokeResult::failed("could not start server: no stdio pipes"),
    };
    server.terminate().await;
    result
}

async fn handshake(connection: &mut Connection, request: &SmokeRequest) -> SmokeResult {
    let initialize = jsonrpc::request(
        1,
        "initialize",
        json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "harnessgym", "version": env!("CARGO_PKG_VERSION")},
        }),
    );
    let deadline = Instant::now() + request.startup_timeout;
    let Ok(response) = connection.call(&initialize, deadline).await else {
        return SmokeResult::failed("no initialize response");
    };
    if let Some(message) = jsonrpc::error_message(&response) {
        return SmokeResult::failed(format!("initialize failed: {message}"));
    }
    let initialized = jsonrpc::notification("notifications/initialized", json!({}));
    let list = jsonrpc::request(2, "tools/list", json!({}));
    let deadline = Instant::now() + request.tool_timeout;
    let listed = match connection.send(&initialized).await {
        Ok(()) => connection.call(&list, deadline).await,
        Err(err) => Err(err),
    };
    let Ok(response) = listed else {
        return SmokeResult::failed("no tools/list response");
    };
    if let Some(message) = jsonrpc::error_message(&response) {
        return SmokeResult::failed(format!("tools/list failed: {message}"));
    }
    SmokeResult::passed(tool_names(&response))
}

/// Runs `mcp-smoke`: prints the [`SmokeResult`] as one JSON line; exit 0 when it passed, 1
/// when it failed.
pub async fn run_cli(args: SmokeArgs) -> u8 {
    let request = SmokeRequest {
        command: args.command,
        args: args.args,
        cwd: absolute(&args.cwd),
        env: args.env,
        startup_timeout: args.startup_timeout,
        tool_timeout: args.tool_timeout,
    };
    let result = smoke(&request).await;
    crate::output::print_json(&serde_json::to_string(&result).unwrap_or_default());
    if result.is_passed() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }
}

/// `result.tools[].name` (entries without a string name are skipped).
pub fn tool_names(response: &Value) -> Vec<String> {
    response
        .pointer("/result/tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| tool.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_read_from_the_result() {
        let response = json!({"id": 2, "result": {"tools": [
            {"name": "a"}, {"title": "no name"}, {"name": "b", "inputSchema": {}}]}});
        assert_eq!(tool_names(&response), ["a", "b"]);
        assert!(tool_names(&json!({"id": 2, "result": {}})).is_empty());
    }

    #[test]
    fn serializes_status_tools_and_message() {
        let value =
            serde_json::to_value(SmokeResult::failed("no initialize response")).expect("serialize");
        assert_eq!(
            value,
            json!({"status": "failed", "tools": [], "message": "no initialize response"})
        );
        assert!(SmokeResult::passed(vec!["x".into()]).is_passed());
    }

    #[tokio::test]
    async fn a_missing_program_fails_to_start_without_running_anything() {
        let result = smoke(&SmokeRequest {
            command: "/nonexistent/harnessgym-test-server".into(),
            args: Vec::new(),
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            startup_timeout: Duration::from_secs(1),
            tool_timeout: Duration::from_secs(1),
        })
        .await;
        assert_eq!(result.status, "failed");
        assert!(
            result
                .message
                .starts_with("could not start server: failed to start `/nonexistent/"),
            "{}",
            result.message
        );
    }
}
