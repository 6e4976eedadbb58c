//! `harnessgym mcp-bridge`: newline-delimited JSON to the client (Claude Code speaks it over
//! stdio), Content-Length to the wrapped server (reference §6.7 `claude_mcp_bridge.py`, with
//! responses matched by id).
//!
//! ```text
//! harnessgym mcp-bridge [--server-name N] [--response-timeout SECS (30)] [--cwd DIR]
//!     [--workspace DIR] [--telemetry-path P] [--run-id R] [--iteration I] -- <server cmd...>
//! ```
//!
//! Generated servers often answer `initialize` with whatever protocol version they were written
//! against; Claude Code rejects a version it did not ask for, so the bridge rewrites
//! `result.protocolVersion` of the `initialize` response to the version the client requested.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::cli::BridgeArgs;
use super::jsonrpc;
use super::relay::{self, ClientFraming};

/// Runs the bridge; returns the exit code.
pub async fn run(args: BridgeArgs, token: CancellationToken) -> u8 {
    relay::main(
        "mcp-bridge",
        &args.relay,
        args.response_timeout,
        ClientFraming::Newline,
        token,
    )
    .await
}

/// The protocol version an `initialize` request asks for; `None` for other messages or when it
/// names none.
pub fn requested_protocol_version(request: &Value) -> Option<String> {
    if jsonrpc::method(request) != Some("initialize") {
        return None;
    }
    match request.pointer("/params/protocolVersion")? {
        Value::String(version) if !version.is_empty() => Some(version.clone()),
        Value::Null | Value::Bool(false) | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// Sets `result.protocolVersion` of `response` to `version`; `true` when the response changed.
pub fn rewrite_protocol_version(response: &mut Value, version: &str) -> bool {
    let Some(result) = response.get_mut("result").and_then(Value::as_object_mut) else {
        return false;
    };
    let new = Value::String(version.to_string());
    if result.get("protocolVersion") == Some(&new) {
        return false;
    }
    result.insert("protocolVersion".to_string(), new);
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_requested_version_of_initialize_only() {
        let init =
            json!({"id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}});
        assert_eq!(requested_protocol_version(&init), Some("2025-11-25".into()));
        let other = json!({"id": 1, "method": "tools/list", "params": {"protocolVersion": "x"}});
        assert_eq!(requested_protocol_version(&other), None);
        let none = json!({"id": 0, "method": "initialize", "params": {}});
        assert_eq!(requested_protocol_version(&none), None);
    }

    #[test]
    fn rewrites_the_result_version() {
        let mut response =
            json!({"id": 0, "result": {"protocolVersion": "2024-11-05", "capabilities": {}}});
        assert!(rewrite_protocol_version(&mut response, "2025-11-25"));
        assert_eq!(response["result"]["protocolVersion"], "2025-11-25");
        assert!(!rewrite_protocol_version(&mut response, "2025-11-25"));
        let mut error = json!({"id": 0, "error": {"code": 1, "message": "no"}});
        assert!(!rewrite_protocol_version(&mut error, "2025-11-25"));
        assert!(error.get("result").is_none());
    }
}
