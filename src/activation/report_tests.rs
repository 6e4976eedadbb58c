//! Gate and report-shape tests (pure).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::harness::registry::Artifact;

fn smoke(status: &str, tools: &[&str]) -> SmokeResult {
    SmokeResult {
        status: status.to_owned(),
        tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        message: if status == "passed" {
            String::new()
        } else {
            "no tools/list response".to_owned()
        },
    }
}

fn self_test(status: SelfTestStatus) -> SelfTestResult {
    if status == SelfTestStatus::NotConfigured {
        return SelfTestResult::not_configured();
    }
    SelfTestResult {
        status,
        message: match status {
            SelfTestStatus::Passed => "self-test passed".to_owned(),
            SelfTestStatus::Timeout => "self-test timed out after 2s".to_owned(),
            _ => "self-test exited 1".to_owned(),
        },
        command: Some(vec!["python3".to_owned(), "t.py".to_owned()]),
        return_code: (status != SelfTestStatus::Timeout).then_some(0),
        stdout: Some(String::new()),
        stderr: Some(String::new()),
    }
}

fn server(name: &str, enabled_tools: &[&str]) -> McpServer {
    McpServer {
        name: name.to_owned(),
        command: "python3".to_owned(),
        args: vec!["server.py".to_owned()],
        cwd: PathBuf::from("/workspace"),
        startup_timeout_sec: 11,
        tool_timeout_sec: 77,
        self_test_timeout_sec: 33,
        self_test: None,
        enabled_tools: enabled_tools.iter().map(|t| (*t).to_owned()).collect(),
    }
}

#[test]
fn a_server_passes_with_smoke_self_test_and_tools() {
    let gate = server_gate(
        &smoke("passed", &["probe", ""]),
        &self_test(SelfTestStatus::Passed),
        &[],
    );
    assert!(gate.passed());
    assert_eq!(
        serde_json::to_value(&gate).expect("json"),
        json!({"status": "passed", "message": "passed",
               "checks": {"smoke": true, "self_test": true, "tool_inventory": true},
               "smoke_status": "passed", "self_test_status": "passed",
               "smoke_tools": ["probe"], "manifest_tools": []})
    );
}

#[test]
fn gate_failures_name_their_checks() {
    let gate = server_gate(
        &smoke("passed", &["probe"]),
        &self_test(SelfTestStatus::NotConfigured),
        &[],
    );
    assert_eq!(
        (gate.status, gate.message.as_str()),
        ("failed", "failed checks: self_test")
    );
    assert_eq!(gate.self_test_status, "not_configured");

    // §14.9: declared tools do not make up for a failed smoke.
    let gate = server_gate(
        &smoke("failed", &[]),
        &self_test(SelfTestStatus::Passed),
        &["inspect".to_owned()],
    );
    assert_eq!(gate.message, "failed checks: smoke, tool_inventory");
    assert_eq!(gate.manifest_tools, ["inspect"]);

    let gate = server_gate(
        &smoke("passed", &[]),
        &self_test(SelfTestStatus::Passed),
        &["inspect".to_owned()],
    );
    assert!(gate.passed(), "declared tools count when smoke passed");

    let gate = server_gate(
        &smoke("passed", &[]),
        &self_test(SelfTestStatus::Timeout),
        &[],
    );
    assert_eq!(gate.message, "failed checks: self_test, tool_inventory");
}

#[test]
fn the_server_row_has_the_reference_shape() {
    let row = McpServerRow::new(
        ".harnessgym/mcp/ir/harnessgym-mcp.json",
        &server("ir", &["inspect"]),
        smoke("passed", &["inspect", "search"]),
        self_test(SelfTestStatus::Passed),
    );
    assert!(row.active);
    assert!(row.warnings().is_empty());
    let value = serde_json::to_value(&row).expect("json");
    let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "active",
            "args",
            "artifact_path",
            "command",
            "cwd",
            "enabled_tools",
            "name",
            "quality_gate",
            "self_test",
            "self_test_timeout_sec",
            "smoke",
            "startup_timeout_sec",
            "tool_timeout_sec"
        ]
    );
    assert_eq!(value["cwd"], json!("/workspace"));
    assert_eq!(
        (
            &value["startup_timeout_sec"],
            &value["tool_timeout_sec"],
            &value["self_test_timeout_sec"]
        ),
        (&json!(11), &json!(77), &json!(33))
    );
    assert_eq!(value["self_test"]["status"], json!("passed"));
    assert_eq!(value["smoke"]["tools"], json!(["inspect", "search"]));
}

#[test]
fn an_inactive_server_adds_warnings_in_order() {
    let row = McpServerRow::new(
        "a.json",
        &server("ir", &[]),
        smoke("failed", &[]),
        self_test(SelfTestStatus::Timeout),
    );
    assert!(!row.active);
    assert_eq!(
        row.warnings(),
        [
            "mcp smoke failed for ir: no tools/list response",
            "mcp self-test failed for ir: self-test timed out after 2s",
            "mcp quality gate failed for ir: failed checks: smoke, self_test, tool_inventory",
        ]
    );
    let row = McpServerRow::new(
        "a.json",
        &server("ir", &[]),
        smoke("passed", &["t"]),
        self_test(SelfTestStatus::NotConfigured),
    );
    assert_eq!(
        row.warnings(),
        ["mcp quality gate failed for ir: failed checks: self_test"]
    );
}

fn registry_with_quarantine() -> Registry {
    let mut registry = Registry::new();
    registry.artifacts.push(Artifact::new("tool", "t.py"));
    let mut bad = Artifact::new("mcp", ".harnessgym/mcp/bad/mcp.json");
    bad.quarantine("broken", None, Some(1));
    registry.artifacts.push(bad);
    registry
}

#[test]
fn an_empty_activation_passes_and_lists_quarantined_artifacts() {
    let mut report = ActivationReport::new(&registry_with_quarantine());
    report.finalize();
    assert!(report.passed());
    let value = serde_json::to_value(&report).expect("json");
    assert_eq!(
        value,
        json!({"skills": [], "mcp_servers": [], "warnings": [], "failed_artifacts": [],
               "quarantined_artifacts": [{"kind": "mcp", "path": ".harnessgym/mcp/bad/mcp.json"}],
               "quality_gate": {"status": "passed", "active_mcp_count": 0, "inactive_mcp_count": 0,
                                "active_tool_count": 0, "warnings": []}})
    );
}

#[test]
fn the_run_gate_counts_servers_tools_and_names_failures() {
    let mut report = ActivationReport::new(&Registry::new());
    for (path, name, tools, declared) in [
        ("b.json", "b", vec!["x", "y"], vec!["y", "z"]),
        ("c.json", "c", vec!["w"], vec![]),
    ] {
        report.mcp_servers.push(McpServerRow::new(
            path,
            &server(name, &declared),
            smoke("passed", &tools),
            self_test(SelfTestStatus::Passed),
        ));
    }
    report.finalize();
    assert!(report.passed());
    assert_eq!(
        (
            report.quality_gate.active_mcp_count,
            report.quality_gate.active_tool_count
        ),
        (2, 4)
    );

    let failing = McpServerRow::new(
        "a.json",
        &server("a", &["q"]),
        smoke("failed", &[]),
        self_test(SelfTestStatus::Failed),
    );
    report.warnings.extend(failing.warnings());
    report.mcp_servers.push(failing);
    report
        .failed_artifacts
        .extend(["z/SKILL.md".to_owned(), "a.json".to_owned()]);
    report.finalize();
    assert!(!report.passed());
    let gate = serde_json::to_value(&report.quality_gate).expect("json");
    assert_eq!(gate["status"], json!("failed"));
    assert_eq!(gate["inactive_mcp_count"], json!(1));
    assert_eq!(
        gate["active_tool_count"],
        json!(4),
        "inactive tools not counted"
    );
    assert_eq!(gate["warnings"].as_array().map(Vec::len), Some(3));
    assert_eq!(report.failed_artifacts, ["a.json", "z/SKILL.md"]);
    let value = serde_json::to_value(&report).expect("json");
    assert_eq!(value.get("mcp_call_helper"), None::<&Value>);
}
