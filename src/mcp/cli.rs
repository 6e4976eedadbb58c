//! The MCP helper subcommands as typed: clap definitions only.
//!
//! Flattened into the top-level command enum, so they are `harnessgym mcp-proxy`,
//! `harnessgym mcp-bridge`, `harnessgym mcp-call` and the hidden `harnessgym mcp-smoke` — the
//! binary is copied into every container at a fixed path and these are what the agent's tools,
//! the generated Codex/Claude configurations and the activation code run there.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

/// The MCP helper subcommands.
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Wrap a Content-Length stdio MCP server for a Content-Length client (Codex): match
    /// responses by id, time out requests, log one telemetry line per tool call.
    McpProxy(ProxyArgs),
    /// Wrap a Content-Length stdio MCP server for a newline-JSON client (Claude Code), like
    /// `mcp-proxy`, rewriting the `initialize` response's protocol version to the client's.
    McpBridge(BridgeArgs),
    /// Call one tool of a workspace's MCP server (or list its tools) and print the result.
    McpCall(CallArgs),
    /// Smoke-test an MCP server (initialize, tools/list) and print the outcome as JSON.
    #[command(hide = true)]
    McpSmoke(SmokeArgs),
}

/// `harnessgym mcp-proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Seconds a request may wait for the server's response.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub response_timeout: Duration,
    /// What to run and where.
    #[command(flatten)]
    pub relay: RelayArgs,
}

/// `harnessgym mcp-bridge`.
#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// Seconds a request may wait for the server's response.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub response_timeout: Duration,
    /// What to run and where.
    #[command(flatten)]
    pub relay: RelayArgs,
}

/// The options `mcp-proxy` and `mcp-bridge` share.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The server's name in telemetry lines.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub server_name: String,
    /// The server's working directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// The workspace (default: `$HARNESSGYM_WORKSPACE`, else the nearest ancestor of the
    /// server's directory holding `.harnessgym/`, else that directory).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Where the telemetry goes and which run it belongs to.
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// The server command and its arguments, after `--`.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// Telemetry destination and scope.
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// The telemetry file (default: `$HARNESSGYM_MCP_TELEMETRY_PATH`, else
    /// `<workspace>/.harnessgym/mcp_calls.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub telemetry_path: Option<PathBuf>,
    /// The run id written on each line (default: `$HARNESSGYM_RUN_ID`).
    #[arg(long, value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// The iteration written on each line (default: `$HARNESSGYM_ITERATION`).
    #[arg(long, value_name = "N")]
    pub iteration: Option<u32>,
}

/// `harnessgym mcp-call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The workspace holding `.harnessgym/`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,
    /// The server's name (from `.harnessgym/activation.json`, else a manifest under
    /// `.harnessgym/mcp/`).
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// The tool to call.
    #[arg(long, value_name = "NAME", required_unless_present = "list_tools")]
    pub tool: Option<String>,
    /// The tool's arguments: a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub arguments: String,
    /// A file holding the arguments (wins over `--arguments`).
    #[arg(long, value_name = "FILE")]
    pub arguments_file: Option<PathBuf>,
    /// List the server's tools instead of calling one.
    #[arg(long)]
    pub list_tools: bool,
    /// Print the whole JSON-RPC response.
    #[arg(long)]
    pub raw: bool,
    /// Seconds to wait for the call (default: the server's tool timeout).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Where the telemetry goes and which run it belongs to.
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// `harnessgym mcp-smoke` (used by activation inside containers).
#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The server program (run without a shell).
    #[arg(long, value_name = "PROGRAM")]
    pub command: String,
    /// One argument of the server (repeat for more).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// The server's working directory.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub cwd: PathBuf,
    /// An extra environment variable for the server (repeat for more).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Seconds for starting and answering `initialize`.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub startup_timeout: Duration,
    /// Seconds for answering `tools/list`.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub tool_timeout: Duration,
}

/// A positive, finite number of seconds (fractions allowed, as in the reference's `float`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("`{text}` must be a positive number of seconds"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        command: McpCommand,
    }

    fn parse(args: &[&str]) -> Result<McpCommand, clap::Error> {
        Top::try_parse_from(std::iter::once("harnessgym").chain(args.iter().copied()))
            .map(|top| top.command)
    }

    #[test]
    fn proxy_takes_the_server_command_after_the_separator() {
        let Ok(McpCommand::McpProxy(args)) = parse(&[
            "mcp-proxy",
            "--server-name",
            "probe",
            "--response-timeout",
            "2.5",
            "--cwd",
            "/ws",
            "--",
            "python3",
            "server.py",
            "--self-test",
        ]) else {
            panic!("expected mcp-proxy");
        };
        assert_eq!(args.response_timeout, Duration::from_millis(2500));
        assert_eq!(args.relay.server_name, "probe");
        assert_eq!(args.relay.command, ["python3", "server.py", "--self-test"]);
    }

    #[test]
    fn defaults_follow_the_reference() {
        let Ok(McpCommand::McpProxy(proxy)) = parse(&["mcp-proxy"]) else {
            panic!("proxy");
        };
        assert_eq!(proxy.response_timeout, Duration::from_secs(60));
        assert!(proxy.relay.command.is_empty());
        let Ok(McpCommand::McpBridge(bridge)) = parse(&["mcp-bridge", "--", "srv"]) else {
            panic!("bridge");
        };
        assert_eq!(bridge.response_timeout, Duration::from_secs(30));
        let Ok(McpCommand::McpCall(call)) = parse(&["mcp-call", "--server", "s", "--list-tools"])
        else {
            panic!("call");
        };
        assert_eq!(call.arguments, "{}");
        assert_eq!(call.workspace, PathBuf::from("."));
        assert!(call.tool.is_none());
    }

    #[test]
    fn call_needs_a_tool_unless_listing() {
        let err = parse(&["mcp-call", "--server", "s"]).expect_err("no tool");
        assert_eq!(err.exit_code(), 2);
        assert!(parse(&["mcp-call", "--server", "s", "--tool", "t", "--timeout", "0"]).is_err());
    }

    #[test]
    fn smoke_takes_hyphenated_args_and_env_pairs() {
        let Ok(McpCommand::McpSmoke(args)) = parse(&[
            "mcp-smoke",
            "--command",
            "python3",
            "--arg",
            "server.py",
            "--arg",
            "--verbose",
            "--env",
            "A=b=c",
            "--startup-timeout",
            "2",
        ]) else {
            panic!("smoke");
        };
        assert_eq!(args.args, ["server.py", "--verbose"]);
        assert_eq!(args.env, [("A".to_string(), "b=c".to_string())]);
        assert_eq!(args.startup_timeout, Duration::from_secs(2));
        assert_eq!(args.tool_timeout, Duration::from_secs(60));
    }

    #[test]
    fn seconds_must_be_positive_and_finite() {
        assert_eq!(parse_seconds("77"), Ok(Duration::from_secs(77)));
        for bad in ["0", "-1", "inf", "NaN", "abc", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
