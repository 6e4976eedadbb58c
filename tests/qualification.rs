//! Activation and qualification through `harnessgym run` (issue 4): clean-room qualification in
//! throwaway containers, repair, quarantine, the example bundles, and proof that generated code
//! never runs on the host.

mod common;

use std::path::Path;

use common::{TestRun, copy_dir, run_fake, run_json, write};
use serde_json::Value;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

fn registry(ws: &Path) -> Value {
    let text = std::fs::read_to_string(ws.join(".harnessgym/registry.json")).expect("registry");
    serde_json::from_str(&text).expect("json")
}

fn quarantined(ws: &Path) -> Vec<String> {
    registry(ws)["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter(|a| a["metadata"]["quarantined"] == true)
        .filter_map(|a| a["path"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_example_bundle_activates_three_tools_and_qualifies() {
    let t = TestRun::new("q-bundle").await;
    let ws = copy_dir(&Path::new(EXAMPLES).join("mcp_bundle"));
    run_fake(&t, ws.path(), 1, &[]).await;
    let activation = run_json(ws.path(), &t, "iterations/1/activation.json");
    assert_eq!(
        activation["quality_gate"]["status"], "passed",
        "{activation}"
    );
    assert_eq!(activation["quality_gate"]["active_tool_count"], 3);
    let server = &activation["mcp_servers"][0];
    assert_eq!(server["name"], "kernel-probe");
    assert_eq!(server["smoke"]["tools"].as_array().map(Vec::len), Some(3));
    assert_eq!(server["self_test"]["status"], "passed");
    let result = run_json(ws.path(), &t, "iterations/1/result.json");
    assert_eq!(result["harness_usage"]["active_tool_count"], 3);
    let skill = &activation["skills"][0];
    assert_eq!(
        skill["codex_activated_path"], "/workspace/.agents/skills/kernel-probe",
        "{skill}"
    );
    // Activation's links and agent configs live in the containers: `.agents` and `.codex` on
    // the host would make a host agent CLI start generated servers, so they never come back.
    assert!(!ws.path().join(".agents").exists());
    assert!(!ws.path().join(".codex").exists());
    let write_back = run_json(ws.path(), &t, "write_back.json");
    let refused: Vec<&str> = write_back["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .filter(|r| r["reason"] == "protected")
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(
        refused.iter().any(|p| p.starts_with(".agents"))
            && refused.iter().any(|p| p.starts_with(".codex")),
        "the refusals are recorded: {write_back}"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn the_broken_bundle_is_quarantined_named_and_hidden_but_kept() {
    let t = TestRun::new("q-broken").await;
    let ws = copy_dir(&Path::new(EXAMPLES).join("mcp_bundle_broken"));
    run_fake(&t, ws.path(), 2, &["--artifact-repair-attempts", "0"]).await;
    let report = run_json(
        ws.path(),
        &t,
        "iterations/1/qualification/attempt_1/qualification.json",
    );
    assert_eq!(report["status"], "failed");
    let failed: Vec<&str> = report["failed_artifacts"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        failed.contains(&".harnessgym/mcp/kernel-probe/harnessgym-mcp.json"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&".harnessgym/skills/kernel-probe"),
        "the broken skill is named: {failed:?}"
    );
    assert!(
        !ws.path()
            .join(".harnessgym/runs")
            .join(&t.run)
            .join("iterations/1/repair_1")
            .exists(),
        "no repair budget"
    );
    let hidden = quarantined(ws.path());
    assert!(
        hidden.contains(&".harnessgym/mcp/kernel-probe/harnessgym-mcp.json".to_string()),
        "{hidden:?}"
    );
    assert!(
        ws.path()
            .join(".harnessgym/mcp/kernel-probe/server.py")
            .is_file(),
        "quarantined files stay"
    );
    let prompt = std::fs::read_to_string(
        ws.path()
            .join(".harnessgym/runs")
            .join(&t.run)
            .join("iterations/2/attempt.prompt.txt"),
    )
    .expect("prompt");
    assert!(
        prompt.contains("quarantined artifact(s) are hidden"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("harnessgym-mcp.json"),
        "the quarantined manifest is not listed"
    );
    let activation = run_json(ws.path(), &t, "iterations/2/activation.json");
    assert_eq!(
        activation["mcp_servers"].as_array().map(Vec::len),
        Some(0),
        "not activated"
    );
    t.cleanup().await;
}

/// A build script that makes an MCP server from the example bundle: broken (self-test fails) on
/// its first call, fixed on the next (the repair).
const BUILD_THEN_REPAIR: &str = r#"set -e
dir=.harnessgym/mcp/kernel-probe
mkdir -p "$dir"
cp .fake_runner/harnessgym-mcp.json "$dir/"
if [ -e /tmp/built_once ]; then
  cp .fake_runner/server.py "$dir/server.py"
else
  sed 's/^def self_test():/def self_test():\n    raise SystemExit(1)/' .fake_runner/server.py > "$dir/server.py"
  touch /tmp/built_once
fi
echo '{"status": "tooling_built"}' > "$HARNESSGYM_RESULT"
"#;

#[tokio::test]
async fn a_failing_build_is_repaired_on_the_second_try() {
    let t = TestRun::new("q-repair").await;
    let ws = copy_dir(&Path::new(EXAMPLES).join("numerical_debug_task"));
    let bundle = Path::new(EXAMPLES).join("mcp_bundle/.harnessgym/mcp/kernel-probe");
    std::fs::create_dir_all(ws.path().join(".fake_runner")).expect("mkdir");
    for file in ["server.py", "harnessgym-mcp.json"] {
        std::fs::copy(bundle.join(file), ws.path().join(".fake_runner").join(file)).expect("copy");
    }
    let server = std::fs::read_to_string(ws.path().join(".fake_runner/server.py")).expect("server");
    assert!(
        server.contains("def self_test():"),
        "the example server has a self_test function"
    );
    write(ws.path(), ".fake_runner/build.sh", BUILD_THEN_REPAIR);
    run_fake(&t, ws.path(), 1, &[]).await;
    let dir = ws
        .path()
        .join(".harnessgym/runs")
        .join(&t.run)
        .join("iterations/1");
    assert!(
        dir.join("build.transcript.txt").is_file()
            && dir.join("repair_1/build.transcript.txt").is_file(),
        "two build calls"
    );
    assert_eq!(
        run_json(
            ws.path(),
            &t,
            "iterations/1/qualification/attempt_1/qualification.json"
        )["status"],
        "failed"
    );
    assert_eq!(
        run_json(
            ws.path(),
            &t,
            "iterations/1/qualification/attempt_2/qualification.json"
        )["status"],
        "passed"
    );
    let result = run_json(ws.path(), &t, "iterations/1/result.json");
    assert_eq!(result["artifact_qualification"]["status"], "passed");
    assert!(result["phases"]["repair_1"].is_object());
    assert!(quarantined(ws.path()).is_empty());
    let manifest = registry(ws.path())["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["path"] == ".harnessgym/mcp/kernel-probe/harnessgym-mcp.json")
        .cloned()
        .expect("registered by sync");
    assert_eq!(manifest["metadata"]["qualification"]["status"], "passed");
    assert_eq!(
        run_json(ws.path(), &t, "iterations/1/post_build_activation.json")["quality_gate"]["active_tool_count"],
        3
    );
    t.cleanup().await;
}

#[tokio::test]
async fn a_passing_qualification_lifts_an_old_quarantine() {
    let t = TestRun::new("q-lift").await;
    let ws = copy_dir(&Path::new(EXAMPLES).join("mcp_bundle"));
    let mut reg = registry(ws.path());
    for artifact in reg["artifacts"].as_array_mut().expect("artifacts") {
        artifact["metadata"]["quarantined"] = Value::Bool(true);
        artifact["metadata"]["quarantine"] =
            serde_json::json!({"status": "quarantined", "reason": "old failure"});
    }
    std::fs::write(
        ws.path().join(".harnessgym/registry.json"),
        serde_json::to_string_pretty(&reg).expect("json"),
    )
    .expect("write");
    run_fake(&t, ws.path(), 1, &[]).await;
    assert!(
        quarantined(ws.path()).is_empty(),
        "still quarantined: {:?}",
        quarantined(ws.path())
    );
    let before = run_json(ws.path(), &t, "iterations/1/activation.json");
    assert_eq!(
        before["mcp_servers"].as_array().map(Vec::len),
        Some(0),
        "quarantined artifacts are not activated"
    );
    let after = run_json(ws.path(), &t, "iterations/1/post_build_activation.json");
    assert_eq!(after["quality_gate"]["active_tool_count"], 3);
    t.cleanup().await;
}

#[tokio::test]
async fn generated_code_never_runs_on_the_host() {
    let t = TestRun::new("q-host").await;
    let marker = format!("/tmp/harnessgym-host-marker-{}", std::process::id());
    let _ = std::fs::remove_file(&marker);
    let ws = copy_dir(&Path::new(EXAMPLES).join("mcp_bundle"));
    let manifest_path = ws
        .path()
        .join(".harnessgym/mcp/kernel-probe/harnessgym-mcp.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("read"))
            .expect("json");
    manifest["self_test"] = serde_json::json!([
        "sh",
        "-c",
        format!("echo ran in $(hostname); echo ran > {marker}")
    ]);
    std::fs::write(
        &manifest_path,
        serde_json::to_string(&manifest).expect("json"),
    )
    .expect("write");
    run_fake(&t, ws.path(), 1, &[]).await;
    let activation = run_json(ws.path(), &t, "iterations/1/activation.json");
    assert_eq!(
        activation["mcp_servers"][0]["self_test"]["status"], "passed",
        "the self-test ran (in the container)"
    );
    assert!(
        !Path::new(&marker).exists(),
        "a self-test wrote {marker} on the host"
    );
    let stdout = activation["mcp_servers"][0]["self_test"]["stdout"]
        .as_str()
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    assert!(
        stdout.starts_with("ran in ") && !stdout.contains(host.trim()),
        "it ran in a container, not on this host: {stdout:?}"
    );
    t.cleanup().await;
}
