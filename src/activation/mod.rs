//! Activation of a workspace's generated harness (reference §6): skill links, MCP manifest
//! normalisation, smoke and self-tests, quality gates, the agents' MCP configurations and the
//! activation report.
//!
//! **Runs inside a container only** — it executes generated code (MCP servers, self-tests). The
//! host starts it as `harnessgym internal activate` through `docker exec`; the entry point and
//! [`activate()`] refuse unless `HARNESSGYM_IN_CONTAINER=1` is set, which the host sets on every
//! container it creates. Everything it writes uses container paths.
//!
//! Files: `manifest` (pure normalisation, §6.3), `skills` (links, §6.2), `selftest` (process-group
//! runs), `report` (rows and gates), `wiring` (pure renderers of `.codex/config.toml`, the
//! Claude config and the `mcp_call.py` shim), `activate` (the sequence), `cli` (the subcommand).

mod activate;
mod cli;
mod error;
pub mod manifest;
mod paths;
pub mod report;
pub mod selftest;
mod shell;
pub mod skills;
pub mod wiring;

pub use activate::{
    ACTIVATION_PATH, ActivateOptions, IN_CONTAINER_ENV, MCP_MANIFEST_NAMES, WORKSPACE_ENV,
    activate, ensure_in_container, manifest_path,
};
pub use cli::{ActivateArgs, run_internal};
pub use error::ActivationError;
pub use manifest::{ManifestError, McpServer, SelfTestSpec, normalize_manifest};
pub use report::{ActivationReport, McpServerRow, RunGate, ServerGate};
pub use selftest::{SelfTestResult, SelfTestStatus};
pub use shell::SplitProblem;
pub use skills::{SkillOutcome, SkillRow, activate_skills};
pub use wiring::{DEFAULT_HELPER_BINARY, HelperInvocation, McpCallHelper};
