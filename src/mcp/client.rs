//! `harnessgym mcp-call`: call one tool of a workspace's MCP server, or list its tools
//! (reference §1.3, `mcp_client.py`).
//!
//! The server is resolved by [`super::resolve`], started in its working directory with
//! `HARNESSGYM_WORKSPACE` defaulted to the workspace, and spoken to directly (Content-Length):
//! `initialize` and `tools/list` wait `min(max(tool timeout, 1 s), 30 s)`, `tools/call` waits the
//! tool timeout (`--timeout` overrides it). Every `tools/call` writes one telemetry line, also
//! when it times out.
//!
//! Output: `--raw` prints the whole JSON-RPC response; otherwise `result.content[0].text` parsed
//! as JSON, else `{"text": ..., "isError": ...}`, else `result` (the response itself when it
//! carries an error). JSON is printed with sorted keys and an indent of 2. Exit 0 on success,
//! 1 when the response has an `error` or `result.isError` is true, 1 with
//! `{"error": ..., "ok": false}` on stderr when anything fails before a response.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::cli::CallArgs;
use super::jsonrpc;
use super::report::chain;
use super::resolve::{ResolveError, ResolvedServer, find_server};
use super::server::{Connection, ServerError, ServerProcess, ServerSpec};
use super::smoke::PROTOCOL_VERSION;
use super::telemetry::{self, PendingCall, TelemetrySink};
use super::workspace::{RunScope, absolute, process_env, server_env};
use crate::exit;
use crate::harness::json::{is_truthy, to_pretty_json};

/// The longest `initialize` and `tools/list` may take.
const HANDSHAKE_CAP: Duration = Duration::from_secs(30);

/// Why a call failed before the server answered it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// `--arguments-file` could not be read.
    #[error("failed to read arguments file {path}")]
    ArgumentsFile {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The arguments are not JSON.
    #[error("MCP tool arguments are not valid JSON")]
    ArgumentsSyntax(#[source] serde_json::Error),
    /// The arguments are JSON but not an object.
    #[error("MCP tool arguments must be a JSON object")]
    ArgumentsNotObject,
    /// No such server.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The server could not be started.
    #[error("failed to start MCP server `{name}`")]
    Start {
        /// The server name.
        name: String,
        /// The failure.
        #[source]
        source: ServerError,
    },
    /// The server's stdio pipes were missing.
    #[error("MCP server `{name}` has no stdio pipes")]
    NoPipes {
        /// The server name.
        name: String,
    },
    /// `initialize` failed or got no answer.
    #[error("MCP initialize failed; stderr={stderr:?}")]
    Initialize {
        /// The server's stderr tail.
        stderr: String,
        /// The failure.
        #[source]
        source: ServerError,
    },
    /// `initialize` was answered with a JSON-RPC error.
    #[error("MCP initialize failed: {message}; stderr={stderr:?}")]
    InitializeRejected {
        /// The error's message.
        message: String,
        /// The server's stderr tail.
        stderr: String,
    },
    /// The call (or listing) got no answer.
    #[error("MCP call timed out; stderr={stderr:?}")]
    NoResponse {
        /// The server's stderr tail.
        stderr: String,
        /// The failure.
        #[source]
        source: ServerError,
    },
}

/// What to ask the server.
#[derive(Debug, Clone)]
enum Ask {
    ListTools,
    Call { tool: String, arguments: Value },
}

/// Runs `mcp-call`; returns the exit code.
pub async fn run(args: CallArgs) -> u8 {
    let response = match execute(&args).await {
        Ok(response) => response,
        Err(err) => {
            let report = json!({"ok": false, "error": chain(&err)});
            crate::output::eprint_json(&to_pretty_json(&report).unwrap_or_default());
            return exit::FAILURE;
        }
    };
    let shown = if args.raw {
        response.clone()
    } else {
        payload(&response)
    };
    crate::output::print_json(&to_pretty_json(&shown).unwrap_or_default());
    let is_error = response.pointer("/result/isError").is_some_and(is_truthy);
    if response.get("error").is_some() || (!args.raw && is_error) {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }
}

async fn execute(args: &CallArgs) -> Result<Value, CallError> {
    let workspace = absolute(&args.workspace);
    let ask = if args.list_tools {
        Ask::ListTools
    } else {
        Ask::Call {
            tool: args.tool.clone().unwrap_or_default(),
            arguments: load_arguments(&args.arguments, args.arguments_file.as_deref())?,
        }
    };
    let server = find_server(&workspace, &args.server)?;
    let env = &process_env;
    let telemetry = TelemetrySink {
        path: telemetry::resolve_path(args.telemetry.telemetry_path.as_deref(), env, &workspace),
        server: server.name.clone(),
        scope: RunScope::resolve(
            args.telemetry.run_id.as_deref(),
            args.telemetry.iteration,
            env,
        ),
    };
    let tool_timeout = args.timeout.unwrap_or(server.tool_timeout);
    let spec = ServerSpec {
        program: server.command.clone(),
        args: server.args.clone(),
        cwd: server.cwd.clone(),
        env: server_env(env, &workspace),
        forward_stderr: false,
    };
    talk(&server, &spec, &ask, tool_timeout, &telemetry).await
}

/// Starts the server, asks, and always terminates it.
async fn talk(
    server: &ResolvedServer,
    spec: &ServerSpec,
    ask: &Ask,
    tool_timeout: Duration,
    telemetry: &TelemetrySink,
) -> Result<Value, CallError> {
    let start = |source| CallError::Start {
        name: server.name.clone(),
        source,
    };
    let mut process = ServerProcess::spawn(spec).map_err(start)?;
    let tail = process.stderr_tail();
    let result = match Connection::open(&mut process) {
        Some(mut connection) => {
            converse(&mut connection, ask, tool_timeout, telemetry, &|| {
                tail.text()
            })
            .await
        }
        None => Err(CallError::NoPipes {
            name: server.name.clone(),
        }),
    };
    process.terminate().await;
    result
}

async fn converse(
    connection: &mut Connection,
    ask: &Ask,
    tool_timeout: Duration,
    telemetry: &TelemetrySink,
    stderr: &dyn Fn() -> String,
) -> Result<Value, CallError> {
    let handshake = tool_timeout.max(Duration::from_secs(1)).min(HANDSHAKE_CAP);
    let initialize = jsonrpc::request(
        1,
        "initialize",
        json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "harnessgym-mcp-call", "version": env!("CARGO_PKG_VERSION")},
        }),
    );
    let response = connection
        .call(&initialize, Instant::now() + handshake)
        .await
        .map_err(|source| CallError::Initialize {
            stderr: stderr(),
            source,
        })?;
    if let Some(message) = jsonrpc::error_message(&response) {
        return Err(CallError::InitializeRejected {
            message,
            stderr: stderr(),
        });
    }
    let initialized = jsonrpc::notification("notifications/initialized", json!({}));
    let no_response = |source| CallError::NoResponse {
        stderr: stderr(),
        source,
    };
    connection.send(&initialized).await.map_err(no_response)?;
    match ask {
        Ask::ListTools => {
            let list = jsonrpc::request(2, "tools/list", json!({}));
            connection
                .call(&list, Instant::now() + handshake)
                .await
                .map_err(no_response)
        }
        Ask::Call { tool, arguments } => {
            let request = jsonrpc::request(
                2,
                "tools/call",
                json!({"name": tool, "arguments": arguments}),
            );
            let pending = PendingCall::start(&request);
            let answer = connection
                .call(&request, Instant::now() + tool_timeout)
                .await;
            if let Some(call) = pending {
                let (response, timed_out) = match &answer {
                    Ok(response) => (response.clone(), false),
                    Err(_) => (jsonrpc::no_response_error(&json!(2), &stderr()), true),
                };
                telemetry.record(call, &response, timed_out);
            }
            answer.map_err(no_response)
        }
    }
}

/// The tool arguments: the file's content when given, else the `--arguments` text; must be a
/// JSON object.
fn load_arguments(text: &str, file: Option<&Path>) -> Result<Value, CallError> {
    let owned;
    let text = match file {
        Some(path) => {
            owned = std::fs::read_to_string(path).map_err(|source| CallError::ArgumentsFile {
                path: path.to_path_buf(),
                source,
            })?;
            owned.as_str()
        }
        None => text,
    };
    let value: Value = serde_json::from_str(text).map_err(CallError::ArgumentsSyntax)?;
    if !value.is_object() {
        return Err(CallError::ArgumentsNotObject);
    }
    Ok(value)
}

/// What `mcp-call` prints without `--raw` (`mcp_client.py:_payload_from_response`).
pub fn payload(response: &Value) -> Value {
    if response.get("error").is_some() {
        return response.clone();
    }
    let Some(result) = response.get("result").filter(|r| r.is_object()) else {
        return response.clone();
    };
    if let Some(text) = result
        .pointer("/content/0/text")
        .filter(|_| result.pointer("/content/0").is_some_and(Value::is_object))
        .and_then(Value::as_str)
    {
        return serde_json::from_str(text).unwrap_or_else(
            |_| json!({"text": text, "isError": result.get("isError").is_some_and(is_truthy)}),
        );
    }
    result.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_prefers_parsed_text_then_text_then_result() {
        let parsed = json!({"id": 2, "result": {"content": [{"type": "text", "text": "{\"shape\": [2, 4]}"}]}});
        assert_eq!(payload(&parsed), json!({"shape": [2, 4]}));
        let text = json!({"id": 2, "result": {"content": [{"type": "text", "text": "plain"}], "isError": true}});
        assert_eq!(payload(&text), json!({"text": "plain", "isError": true}));
        let listing = json!({"id": 2, "result": {"tools": [{"name": "a"}]}});
        assert_eq!(payload(&listing), json!({"tools": [{"name": "a"}]}));
        let error = json!({"id": 2, "error": {"code": 1, "message": "x"}});
        assert_eq!(payload(&error), error);
        let odd = json!({"id": 2, "result": 5});
        assert_eq!(payload(&odd), odd);
    }

    #[test]
    fn arguments_must_be_an_object_and_the_file_wins() {
        assert_eq!(
            load_arguments("{\"a\": 1}", None).expect("object"),
            json!({"a": 1})
        );
        assert!(matches!(
            load_arguments("[1]", None),
            Err(CallError::ArgumentsNotObject)
        ));
        assert!(matches!(
            load_arguments("{", None),
            Err(CallError::ArgumentsSyntax(_))
        ));
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("args.json");
        std::fs::write(&file, "{\"from\": \"file\"}").expect("write");
        assert_eq!(
            load_arguments("{\"from\": \"flag\"}", Some(&file)).expect("file"),
            json!({"from": "file"})
        );
        assert!(matches!(
            load_arguments("{}", Some(&dir.path().join("missing.json"))),
            Err(CallError::ArgumentsFile { .. })
        ));
    }
}
