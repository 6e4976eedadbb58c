use std::collections::HashMap;

use serde_json::json;
use time::macros::datetime;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn call(id: Value, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

fn scope() -> RunScope {
    RunScope {
        run_id: Some("run-1".into()),
        iteration: Some(2),
    }
}

#[test]
fn created_at_has_microseconds_and_z() {
    assert_eq!(
        format_created_at(datetime!(2026-05-19 04:00:00.123456789 UTC)),
        "2026-05-19T04:00:00.123456Z"
    );
    assert_eq!(
        format_created_at(datetime!(2026-05-19 06:00:00 +02:00)),
        "2026-05-19T04:00:00.000000Z"
    );
}

#[test]
fn only_tools_call_is_timed() {
    assert!(PendingCall::start(&json!({"id": 1, "method": "tools/list"})).is_none());
    assert!(PendingCall::start(&call(json!(1), "probe", json!({}))).is_some());
}

#[test]
fn completed_line_has_exactly_the_reference_keys_plus_run_and_iteration() {
    let pending = PendingCall::start(&call(json!(3), "probe", json!({"shape": [2, 4], "b": 1})))
        .expect("tools/call");
    let response = json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [], "isError": true}});
    let event = pending.finish(&response, false, "fake-server", &scope());
    let line = serde_json::to_string(&event).expect("serialize");
    let value: Value = serde_json::from_str(&line).expect("parse");
    let keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "argument_json_bytes",
            "argument_keys",
            "created_at",
            "duration_ms",
            "error_message",
            "iteration",
            "method",
            "request_id",
            "result_json_bytes",
            "run_id",
            "server",
            "status",
            "tool_name"
        ]
    );
    // The serialized text itself is in sorted key order.
    assert!(line.starts_with(r#"{"argument_json_bytes":"#));
    assert_eq!(value["argument_keys"], json!(["b", "shape"]));
    assert_eq!(
        value["argument_json_bytes"],
        json!(r#"{"b":1,"shape":[2,4]}"#.len())
    );
    assert_eq!(value["status"], "completed", "isError is still completed");
    assert_eq!(value["request_id"], 3);
    assert_eq!(value["method"], "tools/call");
    assert_eq!(value["tool_name"], "probe");
    assert_eq!(value["server"], "fake-server");
    assert_eq!(value["run_id"], "run-1");
    assert_eq!(value["iteration"], 2);
    assert_eq!(value["error_message"], "");
    assert_eq!(
        value["result_json_bytes"],
        json!(r#"{"content":[],"isError":true}"#.len())
    );
}

#[test]
fn error_and_timeout_statuses() {
    let error = json!({"id": "a", "error": {"code": -32601, "message": "no such tool"}});
    let pending = PendingCall::start(&call(json!("a"), "x", json!(null))).expect("call");
    let event = pending.finish(&error, false, "s", &RunScope::default());
    assert_eq!(event.status, CallStatus::Error);
    assert_eq!(event.error_message, "no such tool");
    assert_eq!(event.argument_keys, Vec::<String>::new());
    assert_eq!(
        event.argument_json_bytes, 2,
        "missing arguments count as {{}}"
    );
    assert_eq!(event.run_id, None);

    let synthesized = jsonrpc::no_response_error(&json!(9), "stderr tail");
    let pending = PendingCall::start(&call(json!(9), "hang", json!({}))).expect("call");
    let event = pending.finish(&synthesized, true, "s", &scope());
    assert_eq!(event.status, CallStatus::Timeout);
    assert_eq!(event.error_message, jsonrpc::NO_RESPONSE_MESSAGE);
}

#[test]
fn path_resolution_order() {
    let ws = Path::new("/ws");
    let none = env_of(&[]);
    assert_eq!(
        resolve_path(Some(Path::new("/x.jsonl")), &none, ws),
        PathBuf::from("/x.jsonl")
    );
    assert_eq!(
        resolve_path(None, &none, ws),
        PathBuf::from("/ws/.harnessgym/mcp_calls.jsonl")
    );
    let env = env_of(&[(ENV_WORKSPACE, "/env-ws")]);
    assert_eq!(
        resolve_path(None, &env, ws),
        PathBuf::from("/env-ws/.harnessgym/mcp_calls.jsonl")
    );
    let env = env_of(&[(ENV_WORKSPACE, "/env-ws"), (ENV_TELEMETRY_PATH, "/t.jsonl")]);
    assert_eq!(resolve_path(None, &env, ws), PathBuf::from("/t.jsonl"));
    assert_eq!(
        resolve_path(Some(Path::new("/flag.jsonl")), &env, ws),
        PathBuf::from("/flag.jsonl")
    );
}

#[test]
fn append_then_summarize_filters_by_run_and_iteration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/.harnessgym/mcp_calls.jsonl");
    let record = |tool: &str, run: &str, iteration: u32, response: Value| {
        let pending = PendingCall::start(&call(json!(1), tool, json!({}))).expect("call");
        let scope = RunScope {
            run_id: Some(run.into()),
            iteration: Some(iteration),
        };
        append(&path, &pending.finish(&response, false, "srv", &scope)).expect("append");
    };
    let ok = json!({"id": 1, "result": {}});
    let err = json!({"id": 1, "error": {"code": 1, "message": "bad"}});
    record("a", "r1", 1, ok.clone());
    record("b", "r1", 2, err);
    record("c", "r1", 2, ok.clone());
    record("d", "r2", 1, ok);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"\nnot json\n[1]\n"))
        .expect("garbage");

    let all = summarize(&path, None, None).expect("summary");
    assert_eq!(all.count, 4);
    assert_eq!(all.successful_count, 3);
    assert_eq!(all.failed_count, 1);
    assert_eq!(all.called_tools, ["a", "b", "c", "d"]);
    assert_eq!(all.servers, ["srv"]);
    assert_eq!(all.samples.len(), 4);

    let one = summarize(&path, Some("r1"), Some(2)).expect("summary");
    assert_eq!(one.count, 2);
    assert_eq!(one.called_tools, ["b", "c"]);
    assert_eq!(
        one.status_counts,
        BTreeMap::from([("completed".to_string(), 1), ("error".to_string(), 1)])
    );
    let run = summarize(&path, Some("r2"), None).expect("summary");
    assert_eq!(run.count, 1);
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(summarize_contents(&path, &bytes, Some("r1"), Some(2)), one);

    let summary_json = serde_json::to_value(&one).expect("json");
    for key in [
        "path",
        "count",
        "successful_count",
        "failed_count",
        "status_counts",
        "called_tools",
        "servers",
        "samples",
    ] {
        assert!(summary_json.get(key).is_some(), "{key}");
    }
}

#[test]
fn missing_log_summarizes_to_zero() {
    let summary = summarize(Path::new("/nonexistent/mcp_calls.jsonl"), None, None).expect("ok");
    assert_eq!(summary.count, 0);
    assert!(summary.samples.is_empty());
    assert!(summary.status_counts.is_empty());
}
