//! The activation report and its quality gates (reference §6.1, §6.3;
//! `activation.py:_mcp_quality_gate`, `_finalize_quality_gate`).
//!
//! Shape: `{skills, mcp_servers, quarantined_artifacts, warnings, quality_gate, mcp_call_helper?,
//! failed_artifacts}`. `failed_artifacts` is ours: the registry paths qualification should
//! quarantine — inactive servers, broken or unlinkable skills, MCP artifacts without a usable
//! manifest (fix of §14.16: the reference named inactive servers only, so a broken skill failed
//! the gate without being named).
//!
//! Server gate: `smoke` passed, `self_test` passed (`not_configured` fails), and a tool
//! inventory: smoke listed tools, or the manifest declares `enabled_tools` **and** smoke passed
//! (fix of §14.9: declared tools alone no longer count for a server that did not answer).
//! Run gate: `passed` iff no server is inactive and there is no warning.

use std::collections::BTreeSet;

use serde::Serialize;

use super::manifest::McpServer;
use super::paths::display;
use super::selftest::{SelfTestResult, SelfTestStatus};
use super::skills::SkillRow;
use super::wiring::McpCallHelper;
use crate::harness::registry::Registry;
use crate::mcp::smoke::SmokeResult;

const PASSED: &str = "passed";
const FAILED: &str = "failed";

/// The three checks of a server gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateChecks {
    /// Smoke passed.
    pub smoke: bool,
    /// The self-test passed.
    pub self_test: bool,
    /// The server has tools to offer.
    pub tool_inventory: bool,
}

/// A server's quality gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerGate {
    /// `passed` or `failed`.
    pub status: &'static str,
    /// Each check.
    pub checks: GateChecks,
    /// `passed` or `failed checks: a, b`.
    pub message: String,
    /// The smoke status.
    pub smoke_status: String,
    /// The self-test status.
    pub self_test_status: &'static str,
    /// Non-empty tool names from smoke.
    pub smoke_tools: Vec<String>,
    /// Non-empty tool names from the manifest's `enabled_tools`.
    pub manifest_tools: Vec<String>,
}

impl ServerGate {
    /// Whether the server may be used.
    pub fn passed(&self) -> bool {
        self.status == PASSED
    }
}

/// Computes a server's gate from its smoke and self-test results.
pub fn server_gate(
    smoke: &SmokeResult,
    self_test: &SelfTestResult,
    enabled_tools: &[String],
) -> ServerGate {
    let non_empty = |tools: &[String]| -> Vec<String> {
        tools.iter().filter(|t| !t.is_empty()).cloned().collect()
    };
    let smoke_tools = non_empty(&smoke.tools);
    let manifest_tools = non_empty(enabled_tools);
    let smoke_passed = smoke.status == PASSED;
    let checks = GateChecks {
        smoke: smoke_passed,
        self_test: self_test.status == SelfTestStatus::Passed,
        tool_inventory: !smoke_tools.is_empty() || (smoke_passed && !manifest_tools.is_empty()),
    };
    let failed: Vec<&str> = [
        ("smoke", checks.smoke),
        ("self_test", checks.self_test),
        ("tool_inventory", checks.tool_inventory),
    ]
    .into_iter()
    .filter_map(|(name, ok)| (!ok).then_some(name))
    .collect();
    ServerGate {
        status: if failed.is_empty() { PASSED } else { FAILED },
        message: if failed.is_empty() {
            PASSED.to_owned()
        } else {
            format!("failed checks: {}", failed.join(", "))
        },
        checks,
        smoke_status: smoke.status.clone(),
        self_test_status: self_test.status.as_str(),
        smoke_tools,
        manifest_tools,
    }
}

/// One tested MCP server as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct McpServerRow {
    /// The registry path of the artifact.
    pub artifact_path: String,
    /// Sanitised server name.
    pub name: String,
    /// Program.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Absolute container working directory.
    pub cwd: String,
    /// Seconds to wait for `initialize`.
    pub startup_timeout_sec: u64,
    /// Seconds to wait for tool responses.
    pub tool_timeout_sec: u64,
    /// Self-test timeout of the manifest (a self-test spec may override it).
    pub self_test_timeout_sec: u64,
    /// The self-test result (it replaces the spec, as in the reference).
    pub self_test: SelfTestResult,
    /// Declared tools.
    pub enabled_tools: Vec<String>,
    /// The smoke result.
    pub smoke: SmokeResult,
    /// The server gate.
    pub quality_gate: ServerGate,
    /// Gate passed: the server is wired into the agents' configurations.
    pub active: bool,
}

impl McpServerRow {
    /// The row of `server` (from the artifact at `artifact_path`) with its gate.
    pub fn new(
        artifact_path: &str,
        server: &McpServer,
        smoke: SmokeResult,
        self_test: SelfTestResult,
    ) -> Self {
        let quality_gate = server_gate(&smoke, &self_test, &server.enabled_tools);
        Self {
            artifact_path: artifact_path.to_owned(),
            name: server.name.clone(),
            command: server.command.clone(),
            args: server.args.clone(),
            cwd: display(&server.cwd),
            startup_timeout_sec: server.startup_timeout_sec,
            tool_timeout_sec: server.tool_timeout_sec,
            self_test_timeout_sec: server.self_test_timeout_sec,
            self_test,
            enabled_tools: server.enabled_tools.clone(),
            smoke,
            active: quality_gate.passed(),
            quality_gate,
        }
    }

    /// The report warnings this server adds, in the reference's order.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.smoke.status != PASSED {
            warnings.push(format!(
                "mcp smoke failed for {}: {}",
                self.name, self.smoke.message
            ));
        }
        if matches!(
            self.self_test.status,
            SelfTestStatus::Failed | SelfTestStatus::Timeout
        ) {
            warnings.push(format!(
                "mcp self-test failed for {}: {}",
                self.name, self.self_test.message
            ));
        }
        if !self.active {
            warnings.push(format!(
                "mcp quality gate failed for {}: {}",
                self.name, self.quality_gate.message
            ));
        }
        warnings
    }
}

/// A quarantined artifact, listed and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedArtifact {
    /// Its kind.
    pub kind: String,
    /// Its registry path.
    pub path: String,
}

/// The run's gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunGate {
    /// `passed` iff no inactive server and no warning.
    pub status: &'static str,
    /// Servers that passed their gate.
    pub active_mcp_count: usize,
    /// Servers that did not.
    pub inactive_mcp_count: usize,
    /// Distinct tools of active servers (declared and listed).
    pub active_tool_count: usize,
    /// The report's warnings.
    pub warnings: Vec<String>,
}

/// The whole report, written to `.harnessgym/activation.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ActivationReport {
    /// Activated skills.
    pub skills: Vec<SkillRow>,
    /// Tested servers, active or not.
    pub mcp_servers: Vec<McpServerRow>,
    /// Artifacts skipped because they are quarantined.
    pub quarantined_artifacts: Vec<QuarantinedArtifact>,
    /// Everything that went wrong; any warning fails the run gate.
    pub warnings: Vec<String>,
    /// The run gate.
    pub quality_gate: RunGate,
    /// The `mcp_call.py` helper, when at least one server is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_call_helper: Option<McpCallHelper>,
    /// Registry paths that failed, sorted and deduplicated.
    pub failed_artifacts: Vec<String>,
}

impl ActivationReport {
    /// The skeleton for `registry`: quarantined artifacts listed, nothing activated, gate passed.
    pub fn new(registry: &Registry) -> Self {
        let quarantined_artifacts = registry
            .artifacts
            .iter()
            .filter(|artifact| artifact.is_quarantined())
            .map(|artifact| QuarantinedArtifact {
                kind: artifact.kind.clone(),
                path: artifact.path.clone(),
            })
            .collect();
        Self {
            skills: Vec::new(),
            mcp_servers: Vec::new(),
            quarantined_artifacts,
            warnings: Vec::new(),
            quality_gate: RunGate {
                status: PASSED,
                active_mcp_count: 0,
                inactive_mcp_count: 0,
                active_tool_count: 0,
                warnings: Vec::new(),
            },
            mcp_call_helper: None,
            failed_artifacts: Vec::new(),
        }
    }

    /// Computes the run gate and completes `failed_artifacts` with the inactive servers.
    pub fn finalize(&mut self) {
        let (active, inactive): (Vec<&McpServerRow>, Vec<&McpServerRow>) =
            self.mcp_servers.iter().partition(|server| server.active);
        let tools: BTreeSet<&String> = active
            .iter()
            .flat_map(|server| server.enabled_tools.iter().chain(&server.smoke.tools))
            .filter(|tool| !tool.is_empty())
            .collect();
        let passed = inactive.is_empty() && self.warnings.is_empty();
        self.quality_gate = RunGate {
            status: if passed { PASSED } else { FAILED },
            active_mcp_count: active.len(),
            inactive_mcp_count: inactive.len(),
            active_tool_count: tools.len(),
            warnings: self.warnings.clone(),
        };
        let inactive_paths: Vec<String> =
            inactive.iter().map(|s| s.artifact_path.clone()).collect();
        self.failed_artifacts.extend(inactive_paths);
        self.failed_artifacts.sort();
        self.failed_artifacts.dedup();
    }

    /// Whether the run gate passed (after [`Self::finalize`]).
    pub fn passed(&self) -> bool {
        self.quality_gate.status == PASSED
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
