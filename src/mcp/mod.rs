//! The MCP machinery that runs inside containers: framing, the proxy and the bridge that wrap
//! generated stdio servers for Codex and Claude Code, the `mcp-call` helper, the activation smoke
//! test, and the telemetry log with its summary (reference §1.3, §6.3, §6.6, §6.7).
//!
//! Everything here runs in a container as a subcommand of the one binary (copied to a fixed
//! path); nothing in this module starts a container. Fixes of the reference kept here: responses
//! are matched to requests by id (§14.8), the smoke test checks ids and JSON-RPC errors (§14.9),
//! telemetry lines carry a run id and iteration (§14.6), and wrapped servers always get
//! `HARNESSGYM_WORKSPACE` (§14.7).

pub mod bridge;
pub mod cli;
pub mod client;
pub mod framing;
pub mod jsonrpc;
pub mod proxy;
pub mod relay;
pub mod report;
pub mod resolve;
pub mod server;
pub mod smoke;
pub mod stdio;
pub mod telemetry;
pub mod workspace;

pub use cli::McpCommand;
pub use smoke::{SmokeRequest, SmokeResult, smoke};
pub use telemetry::{TelemetrySummary, summarize, summarize_contents};
