//! `harnessgym mcp-proxy | mcp-bridge | mcp-call | mcp-smoke`: the in-container MCP helpers.
//!
//! They never touch the Docker engine; each reports its own failures (the formats are part of
//! their contracts) and returns its exit code.

use super::context::Context;
use super::error::CommandError;
use crate::mcp::{McpCommand, bridge, client, proxy, smoke};

/// Run one MCP helper.
pub async fn run(ctx: &Context, command: McpCommand) -> Result<u8, CommandError> {
    Ok(match command {
        McpCommand::McpProxy(args) => proxy::run(args, ctx.token.clone()).await,
        McpCommand::McpBridge(args) => bridge::run(args, ctx.token.clone()).await,
        McpCommand::McpCall(args) => client::run(args).await,
        McpCommand::McpSmoke(args) => smoke::run_cli(args).await,
    })
}
