//! The prompt checklist of reference §11 (`tests/test_prompts.py`, plus the prompt assertions of
//! `test_qualification.py` and §7.4), reworded where our container paths differ, and the port's
//! own guarantees: quarantined artifacts hidden, previews bounded and confined to the workspace,
//! depth guidance, and no host path in any prompt.

use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::harness::registry::{Artifact, ArtifactKind, Registry};
use crate::harness::result::ResultMap;

const RUN_ID: &str = "20260101T000000Z-abcdef12";
const DOCS_TEXT: &str = "Compare every kernel against the float64 reference first.";

fn artifact(kind: &str, path: &str, description: &str) -> Artifact {
    let mut artifact = Artifact::new(kind, path);
    artifact.description = description.to_owned();
    artifact
}

/// A workspace with docs, a test, an MCP suite, a skill and one quarantined MCP server.
fn fixture_workspace() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        (".harnessgym/docs/kernel_notes.md", DOCS_TEXT),
        (
            ".harnessgym/tests/test_kernel_suite.py",
            "def test_kernel_suite_roundtrip():\n    pass\n",
        ),
        (
            ".harnessgym/mcp/kernel-suite/mcp.json",
            "{\"name\": \"kernel-suite\"}\n",
        ),
        (
            ".harnessgym/skills/kernel-debug/SKILL.md",
            "---\nname: kernel-debug\n---\n",
        ),
        (
            ".harnessgym/mcp/broken-ir/mcp.json",
            "BROKEN_MANIFEST_BODY\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    let mut registry = Registry::new();
    registry.artifacts = vec![
        artifact(
            "docs",
            ".harnessgym/docs/kernel_notes.md",
            "Kernel debugging notes",
        ),
        artifact(
            "test",
            ".harnessgym/tests/test_kernel_suite.py",
            "Suite tests",
        ),
        artifact(
            "mcp",
            ".harnessgym/mcp/kernel-suite/mcp.json",
            "Kernel MCP suite",
        ),
        artifact(
            "skill",
            ".harnessgym/skills/kernel-debug/SKILL.md",
            "Kernel debug skill",
        ),
        artifact(
            "mcp",
            ".harnessgym/mcp/broken-ir/mcp.json",
            "Broken IR server",
        ),
    ];
    registry.artifacts[4].quarantine("self-test exited 1", None, Some(1));
    (dir, registry)
}

/// An activation report (reference §6.1) whose paths are absolute host paths under `host`.
fn activation(host: &str) -> Value {
    json!({
        "skills": [{
            "artifact_path": ".harnessgym/skills/kernel-debug/SKILL.md",
            "skill_path": format!("{host}/.harnessgym/skills/kernel-debug/SKILL.md"),
            "activated_path": format!("{host}/.agents/skills/kernel-debug"),
            "codex_activated_path": format!("{host}/.agents/skills/kernel-debug"),
            "claude_activated_path": format!("{host}/.claude/skills/kernel-debug"),
        }],
        "mcp_servers": [{
            "name": "kernel-suite",
            "command": "python3",
            "cwd": host,
            "enabled_tools": ["run_verifier", "inspect_ir"],
            "smoke": {"status": "passed", "tools": ["run_verifier", "inspect_ir"]},
            "self_test": {"status": "passed"},
            "active": true,
        }, {
            "name": "slow-server",
            "smoke": {"status": "failed", "message": "no initialize response"},
            "self_test": {"status": "not_configured"},
            "active": false,
        }],
        "quarantined_artifacts": [{"kind": "mcp", "path": ".harnessgym/mcp/broken-ir/mcp.json"}],
        "warnings": [],
        "quality_gate": {"status": "failed", "active_mcp_count": 1, "active_tool_count": 2},
        "mcp_call_helper": {
            "path": format!("{host}/.harnessgym/runtime/mcp_call.py"),
            "relative_path": ".harnessgym/runtime/mcp_call.py",
        },
    })
}

fn context_for(workspace: &Path, registry: &Registry, activation: &Value) -> String {
    let previews = collect_previews(workspace, registry, PREVIEW_CHARS);
    render_artifact_context(registry, Some(activation), &previews).expect("context renders")
}

fn attempt(session: PromptSession<'_>, context: &str, stop: Option<StopTarget<'_>>) -> String {
    render_attempt_prompt(&AttemptPrompt {
        session,
        task_origin: TaskOrigin::Workspace("task.md".to_owned()),
        task_text: "Fix kernel_ops.py so that `python verifier.py` passes.",
        artifact_context: context,
        timeout: Duration::from_secs(45 * 60),
        stop_target: stop,
    })
    .expect("attempt renders")
}

fn reflection(session: PromptSession<'_>, result: &ResultMap, depth: HarnessDepth) -> String {
    render_reflection_prompt(&ReflectionPrompt {
        session,
        attempt_result: result,
        timeout: Duration::from_secs(20 * 60),
        depth,
    })
    .expect("reflection renders")
}

fn build(session: PromptSession<'_>, depth: HarnessDepth) -> String {
    render_build_prompt(&BuildPrompt {
        session,
        selected_improvement: "{\n  \"kind\": \"mcp\",\n  \"name\": \"kernel-suite\"\n}",
        timeout: Duration::from_secs(20 * 60),
        depth,
    })
    .expect("build renders")
}

fn repair(session: PromptSession<'_>, reasons: &[String], report: Option<&Value>) -> String {
    render_repair_prompt(&RepairPrompt {
        session,
        repair_index: 1,
        failure_reasons: reasons,
        report_path: "/workspace/.harnessgym/runs/r/iterations/2/qualification/attempt_1/qualification.json",
        report,
        timeout: Duration::from_secs(90),
        depth: HarnessDepth::Deep,
    })
    .expect("repair renders")
}

fn attempt_result() -> ResultMap {
    let value = json!({"status": "blocked", "verified": false, "summary": "needs a probe"});
    value.as_object().cloned().expect("object")
}

fn assert_contains_all(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn attempt_prompt_matches_reference_checklist() {
    let (dir, registry) = fixture_workspace();
    let host = dir.path().to_string_lossy().into_owned();
    let context = context_for(dir.path(), &registry, &activation(&host));
    let session = PromptSession::new(Agent::Codex, RUN_ID, 2, dir.path());
    let prompt = attempt(session, &context, None);
    assert_contains_all(
        &prompt,
        &[
            "Work autonomously on the primary task",
            "Do not build new harness tooling",
            ".harnessgym/docs/kernel_notes.md",
            ".harnessgym/tests/test_kernel_suite.py",
            DOCS_TEXT,
            "test_kernel_suite_roundtrip",
            "MCP `kernel-suite` active=true",
            "MCP `slow-server` active=false",
            "run_verifier, inspect_ir",
            "use those tools early",
            "concrete MCP tool calls",
            "Activation alone does not count",
            "`used_harness_tools`",
            "`used_harness_artifacts`",
            "Harness quality gate: failed; active MCP servers=1; active tools=2",
            "python3 .harnessgym/runtime/mcp_call.py --server <server>",
            "Skill active at /workspace/.agents/skills/kernel-debug, /workspace/.claude/skills/kernel-debug",
            "Harness activation for Codex",
        ],
    );
    assert_contains_all(
        &prompt,
        &[
            "The workspace is:\n/workspace\n",
            "Primary task source: task.md",
            "Fix kernel_ops.py so that `python verifier.py` passes.",
            "Time budget for this attempt: 45m.",
            "/workspace/.harnessgym/runs/20260101T000000Z-abcdef12/iterations/2/result.json",
            "\"status\": \"solved | blocked | incomplete | tooling_built | failed\"",
        ],
    );
    assert!(!prompt.contains("Optimization stop target"));
}

#[test]
fn attempt_prompt_states_the_stop_target_in_both_directions() {
    let host = Path::new("/home/u/ws");
    let lower = StopTarget {
        score_key: "best_cycles",
        stop_score: 135000.0,
        higher_is_better: false,
    };
    let prompt = attempt(
        PromptSession::new(Agent::Codex, RUN_ID, 1, host),
        "",
        Some(lower),
    );
    assert_contains_all(
        &prompt,
        &[
            "record `best_cycles`",
            "less than or equal to 135000.0",
            "`metrics.score`",
        ],
    );
    let higher = StopTarget {
        score_key: "score",
        stop_score: 0.95,
        higher_is_better: true,
    };
    let prompt = attempt(
        PromptSession::new(Agent::Codex, RUN_ID, 1, host),
        "",
        Some(higher),
    );
    assert_contains_all(
        &prompt,
        &["record `score`", "greater than or equal to 0.95"],
    );
}

#[test]
fn reflection_prompt_matches_reference_checklist() {
    let session = PromptSession::new(Agent::Codex, RUN_ID, 1, Path::new("/home/u/ws"));
    let prompt = reflection(session, &attempt_result(), HarnessDepth::Deep);
    assert_contains_all(
        &prompt,
        &[
            "same Codex session",
            "`reflection.selected_improvement`",
            "agent-native harness package",
            "Content-Length",
            "deterministic repo-local tests",
            "fixed-seed randomized",
            "cohesive harness suite",
            "extending and hardening the existing harness suite",
            "\"summary\": \"needs a probe\"",
            "Time budget for this reflection: 20m.",
            "/workspace/.harnessgym/runs/20260101T000000Z-abcdef12/iterations/1/result.json",
        ],
    );
}

#[test]
fn build_prompt_matches_reference_checklist() {
    let session = PromptSession::new(Agent::Codex, RUN_ID, 1, Path::new("/home/u/ws"));
    let prompt = build(session, HarnessDepth::Deep);
    assert_contains_all(
        &prompt,
        &[
            "Build only this one improvement",
            "directly useful to a fresh agent session",
            ".harnessgym/registry.json",
            "Content-Length framed stdio JSON-RPC",
            ".harnessgym/tests/",
            "`self_test`",
            "`verification.tooling_tests`",
            "rollback-safe variant evaluator",
            "history/regression comparator",
            "portable to a copied fresh replay workspace",
            "do not assert exact winning variants",
            "\"name\": \"kernel-suite\"",
            "same Codex session",
        ],
    );
    for kind in ArtifactKind::ALL {
        assert!(prompt.contains(&format!(".harnessgym/{}/", kind.dir_name())));
    }
}

#[test]
fn deep_and_standard_guidance_differ() {
    let deep_phrases = [
        "Deep harness mode is enabled",
        "assembly or IR dumps",
        "source variant generation/sweeps",
        "rollback-safe",
        "comprehensive self-tests",
        "at least five",
        "harness maturity",
    ];
    let host = Path::new("/home/u/ws");
    let session = || PromptSession::new(Agent::Codex, RUN_ID, 1, host);
    let standard_line = "Keep the generated artifact focused and small";
    for depth in [HarnessDepth::Deep, HarnessDepth::Standard] {
        let prompts = [
            reflection(session(), &attempt_result(), depth),
            build(session(), depth),
            render_repair_prompt(&RepairPrompt {
                session: session(),
                repair_index: 1,
                failure_reasons: &[],
                report_path: "/workspace/q.json",
                report: None,
                timeout: Duration::from_secs(60),
                depth,
            })
            .expect("repair renders"),
        ];
        for prompt in prompts {
            let deep = depth == HarnessDepth::Deep;
            assert_eq!(prompt.contains("Deep harness mode is enabled"), deep);
            assert_eq!(prompt.contains(standard_line), !deep);
            if deep {
                assert_contains_all(&prompt, &deep_phrases);
            }
        }
    }
    // The attempt prompt carries no depth guidance.
    let prompt = attempt(session(), "", None);
    assert!(!prompt.contains("Deep harness mode") && !prompt.contains(standard_line));
}

#[test]
fn claude_prompts_name_claude_code() {
    let host = Path::new("/home/u/ws");
    let session = || PromptSession::new(Agent::for_runner("claude"), RUN_ID, 1, host);
    let prompt = attempt(session(), "", None);
    assert_contains_all(
        &prompt,
        &[
            "Harness activation for Claude Code",
            ".claude/skills",
            "generated Claude MCP config",
        ],
    );
    let prompt = reflection(session(), &attempt_result(), HarnessDepth::Standard);
    assert!(prompt.contains("same Claude Code session"));
    assert!(build(session(), HarnessDepth::Standard).contains("same Claude Code session"));
}

#[test]
fn quarantined_artifacts_are_hidden_from_the_context() {
    let (dir, registry) = fixture_workspace();
    let context = context_for(dir.path(), &registry, &activation("/home/u/ws"));
    assert!(context.contains("1 quarantined artifact(s) are hidden"));
    for hidden in [
        ".harnessgym/mcp/broken-ir/mcp.json",
        "Broken IR server",
        "BROKEN_MANIFEST_BODY",
    ] {
        assert!(
            !context.contains(hidden),
            "{hidden} leaked into:\n{context}"
        );
    }
    let previews = collect_previews(dir.path(), &registry, PREVIEW_CHARS);
    assert!(!previews.contains_key(".harnessgym/mcp/broken-ir/mcp.json"));
}

#[test]
fn empty_registry_says_so() {
    let context =
        render_artifact_context(&Registry::new(), None, &Previews::new()).expect("context renders");
    assert_eq!(
        context,
        "No generated HarnessGym artifacts are registered yet."
    );
    let unreadable = render_artifact_context(&Registry::new(), Some(&json!([1])), &Previews::new())
        .expect("context renders");
    assert!(unreadable.contains("activation report is unreadable"));
}

#[test]
fn previews_are_truncated_at_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tools = dir.path().join(".harnessgym/tools");
    fs::create_dir_all(&tools).expect("mkdir");
    // Multi-byte characters make sure the limit counts characters, not bytes.
    let long: String = "é".repeat(PREVIEW_CHARS) + "TAIL_MARKER";
    fs::write(tools.join("long.py"), &long).expect("write");
    fs::write(tools.join("exact.py"), "x".repeat(PREVIEW_CHARS)).expect("write");
    let mut registry = Registry::new();
    registry.artifacts = vec![
        artifact("tool", ".harnessgym/tools/long.py", ""),
        artifact("tool", ".harnessgym/tools/exact.py", ""),
    ];
    let previews = collect_previews(dir.path(), &registry, PREVIEW_CHARS);
    let long_preview = &previews[".harnessgym/tools/long.py"];
    assert!(long_preview.truncated);
    assert_eq!(long_preview.text.chars().count(), PREVIEW_CHARS);
    let exact_preview = &previews[".harnessgym/tools/exact.py"];
    assert!(!exact_preview.truncated);
    assert_eq!(exact_preview.text.len(), PREVIEW_CHARS);

    let context = render_artifact_context(&registry, None, &previews).expect("context renders");
    assert!(!context.contains("TAIL_MARKER"));
    assert_eq!(
        context
            .matches("preview truncated after 3000 characters")
            .count(),
        1
    );
    assert!(context.contains("  Preview:\n    éé"));
}

#[test]
fn previews_never_leave_the_workspace() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret.txt");
    fs::write(&secret, "HOST_SECRET").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = dir.path().join(".harnessgym/docs");
    fs::create_dir_all(&docs).expect("mkdir");
    std::os::unix::fs::symlink(&secret, docs.join("link.md")).expect("symlink");
    let escape = format!(
        "../{}/secret.txt",
        outside.path().file_name().expect("name").to_string_lossy()
    );
    let mut registry = Registry::new();
    registry.artifacts = vec![
        artifact("docs", ".harnessgym/docs/link.md", ""),
        artifact("docs", &secret.to_string_lossy(), ""),
        artifact("docs", &escape, ""),
        artifact("docs", ".harnessgym/docs", ""),
    ];
    let previews = collect_previews(dir.path(), &registry, PREVIEW_CHARS);
    assert!(previews.is_empty(), "{previews:?}");
}

#[test]
fn no_host_path_leaks_into_any_prompt() {
    let host = "/home/u/ws";
    let host_path = Path::new(host);
    let (dir, registry) = fixture_workspace();
    let context = context_for(dir.path(), &registry, &activation(host));
    let session = || PromptSession::new(Agent::Codex, RUN_ID, 3, host_path);
    let mut result = attempt_result();
    result.insert("task_path".to_owned(), json!(format!("{host}/task.md")));
    result.insert(
        "phases".to_owned(),
        json!({"attempt": {"stdout_path": format!("{host}/.harnessgym/runs/r/iterations/3/attempt.stdout.txt")}}),
    );
    let report = json!({
        "source_workspace": host,
        "fresh_workspace": format!("{host}/.harnessgym/runs/r/iterations/3/qualification/attempt_1/workspace"),
        "quality_gate": {"status": "failed", "warnings": [format!("self-test failed in {host}/x")]},
    });
    let reasons = vec![format!(
        "mcp self-test failed for kernel-suite: cwd {host}/.harnessgym/mcp"
    )];
    let prompts = [
        attempt(session(), &context, None),
        reflection(session(), &result, HarnessDepth::Deep),
        build(session(), HarnessDepth::Standard),
        repair(session(), &reasons, Some(&report)),
    ];
    for prompt in &prompts {
        assert!(!prompt.contains(host), "host path leaked:\n{prompt}");
        assert!(prompt.contains(
            "/workspace/.harnessgym/runs/20260101T000000Z-abcdef12/iterations/3/result.json"
        ));
        assert!(
            !has_placeholder(prompt),
            "unfilled placeholder in:\n{prompt}"
        );
    }
    assert!(prompts[0].contains("/workspace/.agents/skills/kernel-debug"));
    assert!(prompts[1].contains("\"task_path\": \"/workspace/task.md\""));
    assert!(
        prompts[3]
            .contains("- mcp self-test failed for kernel-suite: cwd /workspace/.harnessgym/mcp")
    );
    assert!(
        prompts[3].contains("\"fresh_workspace\": \"/workspace/.harnessgym/runs/r/iterations/3/")
    );
}

#[test]
fn repair_prompt_lists_reasons_and_report() {
    let session = PromptSession::new(Agent::Codex, RUN_ID, 2, Path::new("/home/u/ws"));
    let reasons = vec!["self-test exited 1".to_owned(), "  ".to_owned()];
    let report = json!({"status": "failed"});
    let prompt = repair(session.clone(), &reasons, Some(&report));
    assert_contains_all(
        &prompt,
        &[
            "Repair attempt: 1",
            "- self-test exited 1\n\nFull qualification report: /workspace/.harnessgym/runs/r/",
            "Report contents:\n{\n  \"status\": \"failed\"\n}",
            "Do not continue solving the original task",
            "`verification.tooling_tests`",
            "Time budget for this repair: 1m30s.",
        ],
    );
    let prompt = repair(session, &[], None);
    assert!(prompt.contains("The report names no specific reason"));
    assert!(!prompt.contains("Report contents"));
}

#[test]
fn container_paths_rewrite_only_whole_prefixes() {
    let host = Path::new("/home/u/ws/");
    let text = "a /home/u/ws b /home/u/ws/x \"/home/u/ws\" /home/u/ws2/y /home/u/ws.bak";
    assert_eq!(
        to_container_paths(text, host),
        "a /workspace b /workspace/x \"/workspace\" /home/u/ws2/y /home/u/ws.bak"
    );
    assert_eq!(to_container_paths("/etc/x", Path::new("/")), "/etc/x");
}

#[test]
fn task_origin_names_only_what_the_container_sees() {
    let host = Path::new("/home/u/ws");
    assert_eq!(TaskOrigin::resolve(None, host), TaskOrigin::Inline);
    assert_eq!(
        TaskOrigin::resolve(Some(Path::new("/home/u/ws/tasks/./t.md")), host),
        TaskOrigin::Workspace("tasks/t.md".to_owned())
    );
    assert_eq!(
        TaskOrigin::resolve(Some(Path::new("/home/u/other/t.md")), host),
        TaskOrigin::External("t.md".to_owned())
    );
    let session = PromptSession::new(Agent::Codex, RUN_ID, 1, host);
    let prompt = render_attempt_prompt(&AttemptPrompt {
        session,
        task_origin: TaskOrigin::resolve(Some(Path::new("/home/u/other/t.md")), host),
        task_text: "  do {x}  ",
        artifact_context: "",
        timeout: Duration::from_secs(10),
        stop_target: None,
    })
    .expect("attempt renders");
    assert!(prompt.contains("Primary task source: t.md, a task file outside the workspace"));
    assert!(prompt.contains("Primary task:\ndo {x}\n"));
    assert!(!prompt.contains("/home/u/other"));
}

#[test]
fn harness_depth_and_agent_round_trip() {
    for depth in [HarnessDepth::Standard, HarnessDepth::Deep] {
        assert_eq!(HarnessDepth::parse(depth.as_str()), Some(depth));
    }
    assert_eq!(HarnessDepth::parse("shallow"), None);
    assert_eq!(HarnessDepth::default(), HarnessDepth::Deep);
    assert_eq!(Agent::for_runner("exec"), Agent::Codex);
    assert_eq!(Agent::for_runner("fake").display_name(), "Codex");
    assert_eq!(Agent::for_runner("claude").display_name(), "Claude Code");
}

/// Whether `text` still holds something shaped like a placeholder.
fn has_placeholder(text: &str) -> bool {
    text.split('{').skip(1).any(|after| {
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        name_len > 0 && after.as_bytes().get(name_len) == Some(&b'}')
    })
}
