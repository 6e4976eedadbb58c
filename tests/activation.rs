//! `harnessgym internal activate` in a real container: the refusal outside a container, self-tests
//! (a hanging one killed with its whole process group at its timeout, one that writes to `/etc`
//! failing), skill links and the names of broken artifacts.
//!
//! The servers of this bundle never pass smoke (their scripts do not exist), so these tests do
//! not depend on the MCP client; activations with working servers are tested with it.

mod common;

use std::time::{Duration, Instant};

use common::TestRun;
use harnessgym::sandbox::{Container, ExecSpec, FileRead, READ_LIMIT, Role, WORKSPACE};
use serde_json::{Value, json};

const HELPER: &str = "/opt/harnessgym/bin/harnessgym";
const ACTIVATE: [&str; 10] = [
    HELPER,
    "internal",
    "activate",
    "--workspace",
    WORKSPACE,
    "--run-id",
    "r1",
    "--iteration",
    "1",
    "--telemetry-path=/workspace/.harnessgym/runs/r1/iterations/1/mcp_calls.jsonl",
];

/// A started container of the base image with the built binary at [`HELPER`].
async fn container(t: &TestRun) -> Container {
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.install_file(
        "/",
        HELPER.trim_start_matches('/'),
        std::path::Path::new(env!("CARGO_BIN_EXE_harnessgym")),
        0o755,
    )
    .await
    .expect("install the binary");
    c.start().await.expect("start");
    c
}

async fn write(c: &Container, rel: &str, value: &Value) {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    c.write_file(WORKSPACE, rel, text.into_bytes(), 0o644)
        .await
        .expect("write a bundle file");
}

async fn sh(c: &Container, script: &str) -> String {
    let out = c
        .exec(&ExecSpec::shell(script, Duration::from_secs(20)))
        .await
        .expect("exec");
    assert_eq!(out.exit_code, Some(0), "{script}: {}", out.stderr.text());
    out.stdout.text()
}

fn artifact(kind: &str, path: &str, quarantined: bool) -> Value {
    let mut metadata = json!({"source": "test"});
    if quarantined {
        metadata = json!({"quarantined": true, "quarantine": {"status": "quarantined"}});
    }
    json!({"id": format!("{kind}:{path}"), "kind": kind, "path": path, "description": "",
           "iteration": 1, "created_at": "2026-05-19T03:57:54+00:00", "metadata": metadata})
}

/// The bundle: five servers whose smoke fails, a good, a broken and a quarantined skill.
async fn write_bundle(c: &Container) {
    let server = |name: &str, self_test: Value| {
        json!({"name": name, "command": "python3", "args": [format!(".harnessgym/mcp/{name}/missing_server.py")],
               "enabled_tools": ["probe"], "self_test": self_test})
    };
    let servers = [
        (
            "hang",
            json!({"command": ["sh", "-c", "echo started; sleep 300 & sleep 300"], "timeout_seconds": 2}),
        ),
        (
            "etc",
            json!("sh -c 'echo pwned > /etc/harnessgym-marker && echo wrote'"),
        ),
        (
            "env",
            json!({"command": "sh -c 'echo $HARNESSGYM_WORKSPACE; pwd'", "cwd": "sub"}),
        ),
        (
            "net",
            json!([
                "python3",
                "-c",
                "import socket; socket.create_connection(('harnessgym.invalid', 80), timeout=3)"
            ]),
        ),
        ("none", json!(false)),
    ];
    let mut artifacts = Vec::new();
    for (name, self_test) in servers {
        let rel = format!(".harnessgym/mcp/{name}/harnessgym-mcp.json");
        write(c, &rel, &server(name, self_test)).await;
        artifacts.push(artifact("mcp", &rel, false));
    }
    write(c, "sub/.keep", &json!("")).await;
    write(c, ".harnessgym/skills/good/SKILL.md", &json!("# good")).await;
    write(c, ".harnessgym/skills/broken/notes.md", &json!("no skill")).await;
    write(c, ".harnessgym/skills/old/SKILL.md", &json!("# old")).await;
    artifacts.push(artifact("skill", ".harnessgym/skills/good/SKILL.md", false));
    artifacts.push(artifact(
        "skill",
        ".harnessgym/skills/broken/notes.md",
        false,
    ));
    artifacts.push(artifact("skill", ".harnessgym/skills/old/SKILL.md", true));
    let registry = json!({"version": 1, "updated_at": "2026-05-19T03:57:54+00:00",
                          "artifacts": artifacts, "metadata": {}});
    write(c, ".harnessgym/registry.json", &registry).await;
    sh(
        c,
        "mkdir -p .agents/skills && ln -s ../../.harnessgym/skills/old .agents/skills/old",
    )
    .await;
}

/// Runs the activation with the in-container marker and returns the report and the duration.
async fn activate(c: &Container, extra: &[&str]) -> (Value, Duration) {
    let mut spec = ExecSpec::new(
        ACTIVATE.iter().chain(extra).copied(),
        Duration::from_secs(60),
    );
    spec.env = vec!["HARNESSGYM_IN_CONTAINER=1".to_owned()];
    let started = Instant::now();
    let out = c.exec(&spec).await.expect("exec");
    let took = started.elapsed();
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    let report = serde_json::from_str(&out.stdout.text()).expect("the report is JSON on stdout");
    (report, took)
}

fn server<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["mcp_servers"]
        .as_array()
        .expect("servers")
        .iter()
        .find(|s| s["name"] == json!(name))
        .unwrap_or_else(|| panic!("server {name} in {report:#}"))
}

#[tokio::test]
async fn activation_refuses_to_run_without_the_container_marker() {
    let t = TestRun::new("activate-refuse").await;
    let c = container(&t).await;
    write_bundle(&c).await;
    let out = c
        .exec(&ExecSpec::new(ACTIVATE, Duration::from_secs(30)))
        .await
        .expect("exec");
    assert_eq!(out.exit_code, Some(2), "usage exit code");
    assert!(out.stdout.text().is_empty());
    assert!(
        out.stderr
            .text()
            .contains("refusing to activate outside a harnessgym container"),
        "{}",
        out.stderr.text()
    );
    let untouched = sh(
        &c,
        "test ! -e .harnessgym/activation.json && test ! -e .agents/skills/good && echo untouched",
    )
    .await;
    assert_eq!(untouched.trim(), "untouched");
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn self_tests_run_bounded_and_broken_artifacts_are_named() {
    let t = TestRun::new("activate-selftest").await;
    let c = container(&t).await;
    write_bundle(&c).await;

    let (dry, _) = activate(&c, &["--no-write"]).await;
    assert_eq!(dry["skills"].as_array().map(Vec::len), Some(1));
    let nothing = sh(&c, "test ! -e .harnessgym/activation.json && test ! -e .agents/skills/good && test -L .agents/skills/old && echo nothing").await;
    assert_eq!(nothing.trim(), "nothing", "--no-write writes nothing");

    let (report, took) = activate(&c, &[]).await;
    assert!(took < Duration::from_secs(15), "activation took {took:?}");
    check_self_tests(&c, &report).await;
    check_gates_and_names(&report);
    check_files(&c, &report).await;
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// The hanging test is killed with its group, the `/etc` writer fails, env and cwd are set.
async fn check_self_tests(c: &Container, report: &Value) {
    let hang = &server(report, "hang")["self_test"];
    assert_eq!(hang["status"], json!("timeout"), "{hang:#}");
    assert_eq!(hang["message"], json!("self-test timed out after 2s"));
    assert_eq!(hang["stdout"], json!("started\n"), "partial output kept");
    let sleeps = sh(c, "ps -eo comm= | grep -c '^sleep$' || true").await;
    assert_eq!(
        sleeps.trim(),
        "1",
        "only the keep-alive sleep is left: the group was killed"
    );

    let etc = &server(report, "etc")["self_test"];
    assert_eq!(etc["status"], json!("failed"), "{etc:#}");
    assert_ne!(etc["return_code"], json!(0));
    assert!(
        etc["stderr"]
            .as_str()
            .is_some_and(|e| e.contains("Permission denied"))
    );
    let marker = c
        .read_file("/etc/harnessgym-marker", READ_LIMIT)
        .await
        .expect("read");
    assert_eq!(marker, FileRead::Missing, "nothing written to /etc");

    // Self-tests have no network: a connection attempt (to a name that can never resolve)
    // fails instead of reaching anything.
    let net = &server(report, "net")["self_test"];
    assert_eq!(net["status"], json!("failed"), "{net:#}");

    let env = &server(report, "env")["self_test"];
    assert_eq!(env["status"], json!("passed"), "{env:#}");
    assert_eq!(env["stdout"], json!("/workspace\n/workspace/sub\n"));
    assert_eq!(
        server(report, "none")["self_test"]["status"],
        json!("not_configured")
    );
}

/// Every server is inactive (smoke fails), the broken skill is named, quarantine is listed.
fn check_gates_and_names(report: &Value) {
    for name in ["hang", "etc", "env", "net", "none"] {
        assert_eq!(server(report, name)["active"], json!(false), "{name}");
    }
    assert_eq!(
        report["failed_artifacts"],
        json!([
            ".harnessgym/mcp/env/harnessgym-mcp.json",
            ".harnessgym/mcp/etc/harnessgym-mcp.json",
            ".harnessgym/mcp/hang/harnessgym-mcp.json",
            ".harnessgym/mcp/net/harnessgym-mcp.json",
            ".harnessgym/mcp/none/harnessgym-mcp.json",
            ".harnessgym/skills/broken/notes.md",
        ])
    );
    let gate = &report["quality_gate"];
    assert_eq!(gate["status"], json!("failed"));
    assert_eq!(gate["inactive_mcp_count"], json!(5));
    assert!(
        report["warnings"]
            .as_array()
            .expect("warnings")
            .contains(&json!(
                "skill artifact has no SKILL.md: .harnessgym/skills/broken/notes.md"
            ))
    );
    assert_eq!(
        report["quarantined_artifacts"],
        json!([{"kind": "skill", "path": ".harnessgym/skills/old/SKILL.md"}])
    );
}

/// Relative skill links, the stale one removed, the report file, no MCP wiring.
async fn check_files(c: &Container, report: &Value) {
    let links = sh(c, "readlink .agents/skills/good .claude/skills/good; cat .claude/skills/good/SKILL.md; echo; test ! -e .agents/skills/old && echo old-removed").await;
    assert_eq!(
        links,
        "../../.harnessgym/skills/good\n../../.harnessgym/skills/good\n# good\nold-removed\n"
    );
    let written = c
        .read_file("/workspace/.harnessgym/activation.json", READ_LIMIT)
        .await
        .expect("read")
        .into_data()
        .expect("activation.json written");
    let written: Value = serde_json::from_slice(&written).expect("json");
    assert_eq!(&written, report, "the file holds the printed report");
    let absent = sh(c, "for f in .codex/config.toml .harnessgym/claude_mcp_config.json .harnessgym/runtime/mcp_call.py; do test -e $f && echo $f; done; true").await;
    assert_eq!(absent, "", "no active server: no MCP wiring");
}
