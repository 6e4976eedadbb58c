//! Unit tests of manifest normalisation: every key variant and unit of §6.3 and the
//! `test_activation.py` cases of §11.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

const WS: &str = "/workspace";

/// Normalises with a workspace in which exactly `existing` (workspace-relative) exist.
fn norm_with(manifest: Value, existing: &[&str]) -> Result<McpServer, ManifestError> {
    let existing: Vec<PathBuf> = existing.iter().map(|p| Path::new(WS).join(p)).collect();
    let exists = move |path: &Path| existing.iter().any(|e| e == path);
    normalize_manifest(&manifest, "ir-tools", Path::new(WS), &exists)
}

fn norm(manifest: Value) -> McpServer {
    norm_with(manifest, &[]).expect("normalises")
}

fn timeouts(server: &McpServer) -> (u64, u64, u64) {
    (
        server.startup_timeout_sec,
        server.tool_timeout_sec,
        server.self_test_timeout_sec,
    )
}

#[test]
fn the_reference_example_normalises() {
    let server = norm_with(
        json!({"name": "ir-tools", "command": "python3", "args": [".harnessgym/mcp/ir-tools/server.py"],
               "cwd": ".", "enabled_tools": ["inspect_ir"], "description": "ignored", "transport": "stdio",
               "timeouts": {"startup_seconds": 10, "tool_seconds": 120, "self_test_seconds": 60},
               "self_test": true}),
        &[".harnessgym/mcp/ir-tools/server.py"],
    )
    .expect("normalises");
    assert_eq!(server.name, "ir-tools");
    assert_eq!(server.command, "python3");
    assert_eq!(server.args, [".harnessgym/mcp/ir-tools/server.py"]);
    assert_eq!(server.cwd, PathBuf::from(WS));
    assert_eq!(timeouts(&server), (10, 120, 60));
    assert_eq!(server.enabled_tools, ["inspect_ir"]);
    let spec = server.self_test.expect("self-test");
    assert_eq!(
        spec.command,
        [
            "python3",
            ".harnessgym/mcp/ir-tools/server.py",
            "--self-test"
        ]
    );
    assert_eq!(spec.cwd, PathBuf::from(WS));
    assert_eq!(spec.timeout_sec, None);
}

#[test]
fn defaults_apply_without_timeouts_cwd_or_name() {
    let server = norm(json!({"command": "srv"}));
    assert_eq!(server.name, "ir-tools", "directory name");
    assert_eq!(timeouts(&server), (10, 60, 20));
    assert_eq!(server.cwd, PathBuf::from(WS));
    assert!(server.args.is_empty() && server.enabled_tools.is_empty());
    assert_eq!(server.self_test, None);
    let server = norm(json!({"command": "srv", "timeouts": "not an object", "args": null}));
    assert_eq!(timeouts(&server), (10, 60, 20));
}

#[test]
fn names_are_sanitised() {
    for (name, expected) in [
        (json!("my server!!v2"), "my_server_v2"),
        (json!("  spaced  "), "spaced"),
        (json!("ok_name-1"), "ok_name-1"),
        (json!("é-ü"), "_-_"),
        (json!("!!!"), "_"),
        (json!("   "), DEFAULT_SERVER_NAME),
        (json!(""), "dir"),
        (json!(null), "dir"),
        (json!(7), "7"),
    ] {
        assert_eq!(server_name(Some(&name), "dir"), expected, "{name}");
    }
    assert_eq!(server_name(None, "a.b c"), "a_b_c");
    assert_eq!(server_name(None, ""), DEFAULT_SERVER_NAME);
}

#[test]
fn top_level_seconds_keys_win() {
    let server = norm(
        json!({"command": "s", "startup_timeout_sec": 3, "tool_timeout_sec": "45",
        "self_test_timeout_sec": 7.9, "timeouts": {"startup_seconds": 99, "tool_seconds": 99, "self_test_seconds": 99}}),
    );
    assert_eq!(timeouts(&server), (3, 45, 7));
    let server = norm(json!({"command": "s", "test_timeout_sec": 8}));
    assert_eq!(server.self_test_timeout_sec, 8);
    let server =
        norm(json!({"command": "s", "self_test_timeout_sec": null, "test_timeout_sec": 9}));
    assert_eq!(server.self_test_timeout_sec, 9, "null counts as absent");
}

#[test]
fn nested_seconds_keys_in_order() {
    // §11 test_activation: 11/77/33 from nested seconds keys.
    let server = norm(json!({"command": "s",
        "timeouts": {"startup_seconds": 11, "tool_seconds": 77, "self_test_seconds": 33}}));
    assert_eq!(timeouts(&server), (11, 77, 33));
    let server = norm(json!({"command": "s",
        "timeouts": {"startup_timeout_sec": 12, "tool_timeout_sec": 78, "self_test_timeout_sec": 34}}));
    assert_eq!(timeouts(&server), (12, 78, 34));
    let server = norm(json!({"command": "s", "timeouts": {
        "startup_seconds": 1, "startup_timeout_sec": 2, "tool_seconds": 3, "tool_timeout_sec": 4,
        "self_test_seconds": 5, "self_test_timeout_sec": 6, "startup_ms": 9000}}));
    assert_eq!(
        timeouts(&server),
        (1, 3, 5),
        "first nested key wins, seconds before ms"
    );
}

#[test]
fn nested_millisecond_keys_round_down_to_at_least_one_second() {
    // §11 test_activation: ms 5000/120000/45000 → 5/120/45.
    let server = norm(json!({"command": "s",
        "timeouts": {"initialize_ms": 5000, "tool_call_ms": 120000, "self_test_ms": 45000}}));
    assert_eq!(timeouts(&server), (5, 120, 45));
    let server = norm(json!({"command": "s",
        "timeouts": {"startup_ms": 1999, "tool_ms": "2500", "test_ms": 250}}));
    assert_eq!(timeouts(&server), (1, 2, 1));
    let server = norm(json!({"command": "s",
        "timeouts": {"initialize_ms": 3000, "startup_ms": 9000, "tool_call_ms": 0, "tool_ms": 9000,
                     "self_test_ms": -5, "test_ms": 9000}}));
    assert_eq!(
        timeouts(&server),
        (3, 1, 1),
        "first ms key wins; max(1, ms/1000)"
    );
}

#[test]
fn bad_timeouts_are_errors() {
    for manifest in [
        json!({"command": "s", "tool_timeout_sec": 0}),
        json!({"command": "s", "tool_timeout_sec": "3.5"}),
        json!({"command": "s", "startup_timeout_sec": true}),
        json!({"command": "s", "timeouts": {"tool_ms": "soon"}}),
        json!({"command": "s", "timeouts": {"self_test_seconds": -1}}),
    ] {
        let error = norm_with(manifest.clone(), &[]).expect_err("rejected");
        assert!(
            matches!(error, ManifestError::BadTimeout { .. }),
            "{manifest}: {error}"
        );
    }
    let error = norm_with(json!({"command": "s", "timeouts": {"tool_ms": "x"}}), &[])
        .expect_err("rejected");
    assert_eq!(
        error.to_string(),
        "`timeouts.tool_ms` is not a valid timeout: \"x\""
    );
}

#[test]
fn cwd_rules() {
    let server = norm(json!({"command": "s", "cwd": "tools/../srv"}));
    assert_eq!(server.cwd, PathBuf::from("/workspace/srv"), "relative");
    let server = norm(json!({"command": "s", "cwd": "/opt/server"}));
    assert_eq!(
        server.cwd,
        PathBuf::from("/opt/server"),
        "absolute foreign, no repo-local arg"
    );
    let foreign = json!({"command": "python3", "args": ["-u", "srv/server.py"], "cwd": "/home/someone/checkout"});
    let server = norm_with(foreign.clone(), &["srv/server.py"]).expect("normalises");
    assert_eq!(
        server.cwd,
        PathBuf::from(WS),
        "§11: absolute foreign + repo-local arg"
    );
    let server = norm_with(foreign, &[]).expect("normalises");
    assert_eq!(server.cwd, PathBuf::from("/home/someone/checkout"));
    let server = norm_with(
        json!({"command": "s", "args": ["x.py"], "cwd": "/workspace/"}),
        &["x.py"],
    )
    .expect("normalises");
    assert_eq!(server.cwd, PathBuf::from(WS));
    let error = norm_with(json!({"command": "s", "cwd": 3}), &[]).expect_err("rejected");
    assert_eq!(
        error.to_string(),
        "`cwd` must be a string, not a json number"
    );
}

#[test]
fn self_test_absent_or_falsy_is_none() {
    for value in [
        json!(false),
        json!(null),
        json!(0),
        json!(""),
        json!([]),
        json!({}),
    ] {
        let server = norm(json!({"command": "s", "self_test": value}));
        assert_eq!(server.self_test, None, "{value}");
    }
}

#[test]
fn self_test_list_and_string_forms() {
    let server = norm(
        json!({"command": "s", "cwd": "sub", "self_test": ["python3", "server.py", "--self-test", 2]}),
    );
    let spec = server.self_test.expect("configured");
    assert_eq!(spec.command, ["python3", "server.py", "--self-test", "2"]);
    assert_eq!(
        spec.cwd,
        PathBuf::from("/workspace/sub"),
        "defaults to server cwd"
    );
    let server = norm(json!({"command": "s", "self_test": "python3 'my test.py' -k \"a b\""}));
    assert_eq!(
        server.self_test.expect("configured").command,
        ["python3", "my test.py", "-k", "a b"]
    );
    let error = norm_with(json!({"command": "s", "self_test": "python3 'oops"}), &[])
        .expect_err("rejected");
    assert_eq!(
        error.to_string(),
        "`self_test` cannot be split into words: no closing quotation"
    );
}

#[test]
fn self_test_object_forms() {
    let spec = |manifest: Value| norm(manifest).self_test.expect("configured");
    let s = spec(
        json!({"command": "s", "self_test": {"command": ["python3", "t.py"], "timeout_seconds": 30}}),
    );
    assert_eq!(
        (s.command, s.timeout_sec),
        (vec!["python3".into(), "t.py".into()], Some(30))
    );
    let s = spec(
        json!({"command": "s", "self_test": {"command": "python3", "args": ["t.py"], "cwd": ".", "timeout_sec": 5}}),
    );
    assert_eq!(s.command, ["python3", "t.py"]);
    assert_eq!((s.cwd, s.timeout_sec), (PathBuf::from(WS), Some(5)));
    let s = spec(
        json!({"command": "s", "self_test": {"command": "python3 -m pytest -q", "timeout_ms": 2500}}),
    );
    assert_eq!(s.command, ["python3", "-m", "pytest", "-q"]);
    assert_eq!(s.timeout_sec, Some(2));
    let s = spec(json!({"command": "s", "self_test": {"command": "make test", "args": []}}));
    assert_eq!(s.command, ["make", "test"], "empty args: shell-split");
    let s = spec(
        json!({"command": "s", "self_test": {"command": ["x"], "timeout_seconds": null, "timeout_sec": 4, "timeout_ms": 9000}}),
    );
    assert_eq!(s.timeout_sec, Some(4));
    let server = norm(json!({"command": "s", "self_test": {"command": ["x"], "timeout_sec": 4}}));
    assert_eq!(server.effective_self_test_timeout(), 4);
    let server = norm(json!({"command": "s", "self_test_timeout_sec": 9, "self_test": ["x"]}));
    assert_eq!(server.effective_self_test_timeout(), 9);
}

#[test]
fn self_test_cwd_is_rewritten_like_the_server_cwd() {
    // §11 test_activation: self_test cwd rewritten; config cwd = workspace.
    let manifest = json!({"command": "python3", "args": ["srv/server.py"], "cwd": "/old/checkout",
        "timeouts": {"initialize_ms": 5000, "tool_call_ms": 120000, "self_test_ms": 45000},
        "self_test": {"command": ["python3", "srv/test_server.py"], "cwd": "/old/checkout"}});
    let server = norm_with(manifest, &["srv/server.py", "srv/test_server.py"]).expect("normalises");
    assert_eq!(timeouts(&server), (5, 120, 45));
    assert_eq!(server.cwd, PathBuf::from(WS));
    assert_eq!(server.self_test.expect("configured").cwd, PathBuf::from(WS));
    let manifest =
        json!({"command": "s", "self_test": {"command": ["python3", "gone.py"], "cwd": "/old"}});
    assert_eq!(
        norm(manifest).self_test.expect("configured").cwd,
        PathBuf::from("/old"),
        "no repo-local part: kept"
    );
    let manifest = json!({"command": "s", "self_test": {"command": ["t"], "cwd": "tests"}});
    assert_eq!(
        norm(manifest).self_test.expect("configured").cwd,
        PathBuf::from("/workspace/tests")
    );
}

#[test]
fn invalid_manifests_are_errors() {
    let cases = [
        (json!([1]), "manifest is a json array, not an object"),
        (json!({"args": []}), "manifest has no `command`"),
        (json!({"command": " "}), "manifest has no `command`"),
        (
            json!({"command": ["python3"]}),
            "`command` must be a string, not a json array",
        ),
        (
            json!({"command": "s", "args": "server.py"}),
            "`args` must be a list of strings, not a json string",
        ),
        (
            json!({"command": "s", "enabled_tools": [{"name": "x"}]}),
            "`enabled_tools` must be a list of strings, not a json object",
        ),
        (
            json!({"command": "s", "self_test": 1}),
            "`self_test` must be true, false, a command string or list, or an object with command/args, not a json number",
        ),
        (
            json!({"command": "s", "self_test": {"cwd": "."}}),
            "`self_test.command` must be a string or list, not a json null",
        ),
        (
            json!({"command": "s", "self_test": {"command": "x", "args": "y"}}),
            "`self_test.args` must be a list of strings, not a json string",
        ),
    ];
    for (manifest, message) in cases {
        let error = norm_with(manifest.clone(), &[]).expect_err("rejected");
        assert_eq!(error.to_string(), message, "{manifest}");
    }
}
