//! `harnessgym mcp-proxy`: Content-Length on both sides, for Codex and for tools that speak the
//! servers' own framing (reference §6.7 `mcp_telemetry_proxy.py`, with responses matched by id).
//!
//! ```text
//! harnessgym mcp-proxy [--server-name N] [--response-timeout SECS (60)] [--cwd DIR]
//!     [--workspace DIR] [--telemetry-path P] [--run-id R] [--iteration I] -- <server cmd...>
//! ```
//!
//! The relay itself is [`super::relay`]; this file only fixes the client framing and the default
//! timeout.

use tokio_util::sync::CancellationToken;

use super::cli::ProxyArgs;
use super::relay::{self, ClientFraming};

/// Runs the proxy; returns the exit code.
pub async fn run(args: ProxyArgs, token: CancellationToken) -> u8 {
    relay::main(
        "mcp-proxy",
        &args.relay,
        args.response_timeout,
        ClientFraming::ContentLength,
        token,
    )
    .await
}
