//! The MCP helpers end to end, inside a container: the freshly built binary is installed at
//! `/opt/harnessgym/bin/harnessgym` and runs against a small Python Content-Length stdio MCP
//! server written into the container. Nothing here runs a server on the host.
//!
//! Covered: the proxy's round trip with a server that sends a notification before every
//! response (ids kept, one telemetry line per `tools/call` with run id and iteration,
//! `HARNESSGYM_WORKSPACE` set for the server); the bridge's newline framing and protocol-version
//! rewrite; a request timeout (synthesized error with the stderr tail, telemetry `timeout`);
//! `mcp-call` through `activation.json` and through a manifest; the smoke test (passing,
//! `tools/list` error, silent server, a server ignoring SIGTERM with a child, slow start); and
//! SIGTERM to the proxy.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestRun;
use harnessgym::mcp::framing::ContentLengthReader;
use harnessgym::sandbox::{Container, ExecOutcome, ExecSpec, READ_LIMIT, Role};
use serde_json::{Value, json};

const BIN: &str = "/opt/harnessgym/bin/harnessgym";
const SERVER_DIR: &str = "/workspace/.harnessgym/mcp/probe";
const TELEMETRY: &str = "/workspace/.harnessgym/mcp_calls.jsonl";

/// A Content-Length stdio MCP server with three tools (`echo`, `add`, `hang`). Modes (argv[1]):
/// `normal`; `notify` sends a notification before each response; `list-error` answers
/// `tools/list` with a JSON-RPC error; `silent` never answers; `slow-start` sleeps 2 s first;
/// `stubborn` ignores SIGTERM, starts a `sleep 300` child and never reads.
const SERVER: &str = r#"
import json, os, sys, time

MODE = sys.argv[1] if len(sys.argv) > 1 else "normal"
TOOLS = [{"name": name, "description": name, "inputSchema": {"type": "object"}}
         for name in ("echo", "add", "hang")]

def read():
    headers = {}
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            if headers:
                break
            continue
        key, _, value = line.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    return json.loads(sys.stdin.buffer.read(int(headers["content-length"])))

def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()

def answer(id, result=None, error=None):
    if MODE == "notify":
        send({"jsonrpc": "2.0", "method": "notifications/message",
              "params": {"level": "info", "data": "answering %r" % (id,)}})
    message = {"jsonrpc": "2.0", "id": id}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = result
    send(message)

if MODE == "slow-start":
    time.sleep(2)
if MODE == "stubborn":
    import signal, subprocess
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen(["sleep", "300"])
    while True:
        time.sleep(1)
print("probe server started in mode " + MODE, file=sys.stderr, flush=True)
while True:
    request = read()
    if request is None:
        break
    if MODE == "silent" or request.get("id") is None:
        continue
    method, id = request.get("method"), request["id"]
    if method == "initialize":
        answer(id, {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "probe", "version": "1"}})
    elif method == "tools/list":
        if MODE == "list-error":
            answer(id, error={"code": -32603, "message": "tool registry is broken"})
        else:
            answer(id, {"tools": TOOLS})
    elif method == "tools/call":
        name = request["params"].get("name")
        args = request["params"].get("arguments") or {}
        if name == "hang":
            continue
        if name == "echo":
            payload = {"echo": args, "cwd": os.getcwd(),
                       "workspace": os.environ.get("HARNESSGYM_WORKSPACE")}
        elif name == "add":
            payload = {"sum": args["a"] + args["b"]}
        else:
            answer(id, error={"code": -32601, "message": "unknown tool %s" % name})
            continue
        answer(id, {"content": [{"type": "text", "text": json.dumps(payload)}], "isError": False})
    else:
        answer(id, error={"code": -32601, "message": "method not found"})
"#;

/// A started container with the binary installed, the server, its manifest and an activation
/// report naming it.
async fn probe_container(t: &TestRun) -> Container {
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    c.install_file(
        "/",
        "opt/harnessgym/bin/harnessgym",
        Path::new(env!("CARGO_BIN_EXE_harnessgym")),
        0o755,
    )
    .await
    .expect("install the binary");
    let files = [
        (".harnessgym/mcp/probe/server.py", SERVER.to_string()),
        (
            ".harnessgym/mcp/probe/harnessgym-mcp.json",
            json!({"name": "probe-manifest", "command": "python3", "args": ["server.py"],
                   "cwd": ".harnessgym/mcp/probe", "timeouts": {"tool_seconds": 5}})
            .to_string(),
        ),
        (
            ".harnessgym/activation.json",
            json!({"mcp_servers": [
                {"name": "probe", "active": false, "command": "false"},
                {"name": "probe", "active": true, "command": "python3",
                 "args": ["server.py", "normal"], "cwd": SERVER_DIR, "tool_timeout_sec": 5}]})
            .to_string(),
        ),
    ];
    for (rel, text) in files {
        c.write_file("/workspace", rel, text.into_bytes(), 0o644)
            .await
            .expect("write file");
    }
    c
}

async fn run(c: &Container, argv: &[&str], env: &[&str], stdin: Vec<u8>) -> ExecOutcome {
    let mut spec = ExecSpec::new(argv.iter().copied(), Duration::from_secs(60));
    spec.env = env.iter().map(|v| v.to_string()).collect();
    spec.stdin = Some(harnessgym::sandbox::ExecInput::Bytes(stdin));
    c.exec(&spec).await.expect("exec")
}

fn framed(messages: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        let body = message.to_string();
        out.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes());
    }
    out
}

async fn unframe(bytes: &[u8]) -> Vec<Value> {
    let mut reader = ContentLengthReader::new(bytes);
    let mut out = Vec::new();
    while let Some(message) = reader.read_message().await.expect("framed output") {
        out.push(message);
    }
    out
}

fn responses(messages: &[Value]) -> Vec<&Value> {
    messages
        .iter()
        .filter(|m| m.get("id").is_some() && m.get("method").is_none())
        .collect()
}

async fn telemetry(c: &Container, path: &str) -> Vec<Value> {
    let bytes = c
        .read_file(path, READ_LIMIT)
        .await
        .expect("read")
        .into_data()
        .unwrap_or_default();
    String::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}

fn tool_names(result: &Value) -> Vec<&str> {
    result["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect()
}

/// Asserts one telemetry line's call and the fields every line carries.
fn assert_line(line: &Value, id: &Value, tool: &str, status: &str) {
    assert_eq!(&line["request_id"], id, "{line}");
    assert_eq!(line["tool_name"], tool, "{line}");
    assert_eq!(line["status"], status, "{line}");
    assert_eq!(line["method"], "tools/call");
    assert!(line["duration_ms"].as_u64().is_some());
    assert!(
        line["created_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z') && s.len() == 27),
        "{line}"
    );
}

fn call(id: Value, tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

fn handshake() -> Vec<Value> {
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    ]
}

#[tokio::test]
async fn proxy_round_trip_keeps_ids_when_the_server_notifies_first() {
    let t = TestRun::new("mcp-proxy").await;
    let c = probe_container(&t).await;
    let mut messages = handshake();
    messages.push(call(json!(3), "echo", json!({"shape": [2, 4]})));
    messages.push(call(json!("four"), "add", json!({"a": 2, "b": 3})));
    messages.push(call(json!(5), "missing", json!({})));
    let argv = [
        BIN,
        "mcp-proxy",
        "--server-name",
        "probe",
        "--response-timeout",
        "10",
        "--cwd",
        SERVER_DIR,
        "--",
        "python3",
        "server.py",
        "notify",
    ];
    let env = ["HARNESSGYM_RUN_ID=run-7", "HARNESSGYM_ITERATION=2"];
    let out = run(&c, &argv, &env, framed(&messages)).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    assert!(
        out.stderr
            .text()
            .contains("probe server started in mode notify")
    );

    let received = unframe(&out.stdout.bytes[..]).await;
    let notes = received
        .iter()
        .filter(|m| m.get("method").is_some())
        .count();
    assert_eq!(
        notes, 5,
        "a notification before each response: {received:?}"
    );
    let answered = responses(&received);
    let ids: Vec<&Value> = answered.iter().map(|m| &m["id"]).collect();
    assert_eq!(
        ids,
        [&json!(1), &json!(2), &json!(3), &json!("four"), &json!(5)]
    );
    assert_eq!(answered[0]["result"]["protocolVersion"], "2024-11-05");
    assert_eq!(tool_names(&answered[1]["result"]), ["echo", "add", "hang"]);
    let echoed: Value = serde_json::from_str(
        answered[2]["result"]["content"][0]["text"]
            .as_str()
            .expect("text"),
    )
    .expect("echo payload");
    assert_eq!(echoed["echo"], json!({"shape": [2, 4]}));
    assert_eq!(echoed["cwd"], SERVER_DIR);
    assert_eq!(
        echoed["workspace"], "/workspace",
        "HARNESSGYM_WORKSPACE is the workspace, not the server's directory"
    );
    assert_eq!(answered[4]["error"]["message"], "unknown tool missing");

    let lines = telemetry(&c, TELEMETRY).await;
    assert_eq!(lines.len(), 3, "one line per tools/call: {lines:?}");
    let expect = [
        (json!(3), "echo", "completed"),
        (json!("four"), "add", "completed"),
        (json!(5), "missing", "error"),
    ];
    for (line, (id, tool, status)) in lines.iter().zip(expect) {
        assert_line(line, &id, tool, status);
        assert_eq!(line["server"], "probe");
        assert_eq!(line["run_id"], "run-7");
        assert_eq!(line["iteration"], 2);
    }
    assert_eq!(lines[0]["argument_keys"], json!(["shape"]));
    assert_eq!(lines[2]["error_message"], "unknown tool missing");
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn bridge_speaks_newline_json_and_rewrites_the_protocol_version() {
    let t = TestRun::new("mcp-bridge").await;
    let c = probe_container(&t).await;
    let lines = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
               "params": {"protocolVersion": "2025-11-25", "capabilities": {}}})
        .to_string(),
        String::new(),
        "this line is not json".to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
        call(json!(2), "add", json!({"a": 40, "b": 2})).to_string(),
    ];
    let stdin = (lines.join("\n") + "\n").into_bytes();
    let argv = [
        BIN,
        "mcp-bridge",
        "--server-name",
        "probe",
        "--cwd",
        SERVER_DIR,
        "--telemetry-path",
        "/tmp/bridge.jsonl",
        "--run-id",
        "run-b",
        "--iteration",
        "1",
        "--",
        "python3",
        "server.py",
        "notify",
    ];
    let out = run(&c, &argv, &[], stdin).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    let text = out.stdout.text();
    let received: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect();
    let answered = responses(&received);
    assert_eq!(answered.len(), 3, "{text}");
    assert_eq!(answered[0]["id"], 0);
    assert_eq!(answered[0]["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(
        answered[1]["result"]["tools"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        answered[2]["result"]["content"][0]["text"],
        r#"{"sum": 42}"#
    );
    assert_eq!(received.len(), 6, "notifications pass through: {text}");

    let lines = telemetry(&c, "/tmp/bridge.jsonl").await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "completed");
    assert_eq!(lines[0]["tool_name"], "add");
    assert_eq!(lines[0]["argument_keys"], json!(["a", "b"]));
    assert_eq!(lines[0]["run_id"], "run-b");
    assert_eq!(lines[0]["iteration"], 1);
    assert!(
        telemetry(&c, TELEMETRY).await.is_empty(),
        "--telemetry-path wins"
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn a_request_without_response_gets_a_json_rpc_error_and_a_timeout_line() {
    let t = TestRun::new("mcp-timeout").await;
    let c = probe_container(&t).await;
    let mut messages = handshake();
    messages.push(call(json!(3), "hang", json!({})));
    messages.push(call(json!(4), "echo", json!({"after": "hang"})));
    let argv = [
        BIN,
        "mcp-proxy",
        "--server-name",
        "probe",
        "--response-timeout",
        "2",
        "--cwd",
        SERVER_DIR,
        "--",
        "python3",
        "server.py",
    ];
    let started = Instant::now();
    let out = run(&c, &argv, &[], framed(&messages)).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    assert!(started.elapsed() < Duration::from_secs(20));
    let received = unframe(&out.stdout.bytes[..]).await;
    let answered = responses(&received);
    let ids: Vec<&Value> = answered.iter().map(|m| &m["id"]).collect();
    assert_eq!(
        ids,
        [&json!(1), &json!(2), &json!(4), &json!(3)],
        "the later call is answered while the hung one waits"
    );
    let error = &answered[3]["error"];
    assert_eq!(error["code"], -32000);
    assert_eq!(
        error["message"],
        "wrapped MCP server did not produce a response"
    );
    assert!(
        error["data"]
            .as_str()
            .is_some_and(|d| d.contains("probe server started")),
        "data carries the stderr tail: {error}"
    );
    let lines = telemetry(&c, TELEMETRY).await;
    let statuses: Vec<(&Value, &Value)> = lines
        .iter()
        .map(|l| (&l["request_id"], &l["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!(4), &json!("completed")),
            (&json!(3), &json!("timeout"))
        ]
    );
    assert_eq!(lines[1]["run_id"], Value::Null);
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn mcp_call_calls_tools_and_lists_them() {
    let t = TestRun::new("mcp-call").await;
    let c = probe_container(&t).await;
    let call_argv = |extra: &[&'static str]| {
        let mut argv = vec![BIN, "mcp-call", "--workspace", "/workspace"];
        argv.extend_from_slice(extra);
        argv
    };

    let add = call_argv(&[
        "--server",
        "probe",
        "--tool",
        "add",
        "--arguments",
        r#"{"a": 2, "b": 3}"#,
    ]);
    let out = run(&c, &add, &["HARNESSGYM_RUN_ID=run-c"], Vec::new()).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    assert_eq!(out.stdout.text(), "{\n  \"sum\": 5\n}\n");

    let list = call_argv(&["--server", "probe", "--list-tools"]);
    let out = run(&c, &list, &[], Vec::new()).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    let listed: Value = serde_json::from_str(&out.stdout.text()).expect("json");
    assert_eq!(tool_names(&listed), ["echo", "add", "hang"]);

    // Through the manifest (no activation entry has this name); the file wins over --arguments.
    c.write_file("/workspace", "args.json", br#"{"x": 1}"#.to_vec(), 0o644)
        .await
        .expect("args file");
    let echo = call_argv(&[
        "--server",
        "probe-manifest",
        "--tool",
        "echo",
        "--arguments",
        "{}",
        "--arguments-file",
        "args.json",
    ]);
    let out = run(&c, &echo, &[], Vec::new()).await;
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr.text());
    let echoed: Value = serde_json::from_str(&out.stdout.text()).expect("json");
    assert_eq!(echoed["echo"], json!({"x": 1}));
    assert_eq!(echoed["workspace"], "/workspace");

    let missing = call_argv(&["--server", "probe", "--tool", "nope", "--raw"]);
    let out = run(&c, &missing, &[], Vec::new()).await;
    assert_eq!(out.exit_code, Some(1));
    let raw: Value = serde_json::from_str(&out.stdout.text()).expect("json");
    assert_eq!(raw["error"]["message"], "unknown tool nope");

    let unknown = call_argv(&["--server", "ghost", "--tool", "x"]);
    let out = run(&c, &unknown, &[], Vec::new()).await;
    assert_eq!(out.exit_code, Some(1));
    let report: Value = serde_json::from_str(&out.stderr.text()).expect("json on stderr");
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"], "could not find active MCP server `ghost`");

    let usage = run(&c, &call_argv(&["--server", "probe"]), &[], Vec::new()).await;
    assert_eq!(
        usage.exit_code,
        Some(2),
        "--tool is required without --list-tools"
    );

    let lines = telemetry(&c, TELEMETRY).await;
    let servers: Vec<&Value> = lines.iter().map(|l| &l["server"]).collect();
    assert_eq!(servers, ["probe", "probe-manifest", "probe"]);
    assert_line(&lines[0], &json!(2), "add", "completed");
    assert_line(&lines[1], &json!(2), "echo", "completed");
    assert_line(&lines[2], &json!(2), "nope", "error");
    assert_eq!(lines[0]["run_id"], "run-c");
    c.remove().await.expect("remove");
    t.cleanup().await;
}

async fn smoke(c: &Container, mode: &str, startup: &str, tool: &str) -> (Value, ExecOutcome) {
    let argv = [
        BIN,
        "mcp-smoke",
        "--command",
        "python3",
        "--arg",
        "server.py",
        "--arg",
        mode,
        "--cwd",
        SERVER_DIR,
        "--startup-timeout",
        startup,
        "--tool-timeout",
        tool,
    ];
    let out = run(c, &argv, &[], Vec::new()).await;
    let result = serde_json::from_str(&out.stdout.text()).expect("smoke prints JSON");
    (result, out)
}

#[tokio::test]
async fn smoke_checks_ids_errors_and_timeouts() {
    let t = TestRun::new("mcp-smoke").await;
    let c = probe_container(&t).await;

    let (passed, out) = smoke(&c, "notify", "10", "10").await;
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(
        passed,
        json!({"status": "passed", "tools": ["echo", "add", "hang"], "message": ""})
    );

    let (failed, out) = smoke(&c, "list-error", "10", "10").await;
    assert_eq!(out.exit_code, Some(1));
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["message"],
        "tools/list failed: tool registry is broken"
    );

    let (silent, out) = smoke(&c, "silent", "2", "10").await;
    assert_eq!(silent["status"], "failed");
    assert_eq!(silent["message"], "no initialize response");
    assert!(
        out.duration < Duration::from_secs(8),
        "fails at its startup timeout, took {:?}",
        out.duration
    );
    let left = c
        .exec(&ExecSpec::shell(
            "pgrep -f '^python3 server.py' || true",
            Duration::from_secs(10),
        ))
        .await
        .expect("pgrep");
    assert_eq!(left.stdout.text(), "", "the server's group was terminated");

    // SIGTERM ignored and a child in the group: the group is killed after the grace period.
    let (stubborn, out) = smoke(&c, "stubborn", "1", "10").await;
    assert_eq!(stubborn["message"], "no initialize response");
    assert!(out.duration < Duration::from_secs(6), "{:?}", out.duration);
    let left = c
        .exec(&ExecSpec::shell(
            "pgrep -f '^(python3 server.py|sleep 300)' || true",
            Duration::from_secs(10),
        ))
        .await
        .expect("pgrep");
    assert_eq!(
        left.stdout.text(),
        "",
        "nothing of the server's group survives"
    );

    let (slow, _) = smoke(&c, "slow-start", "10", "10").await;
    assert_eq!(slow["status"], "passed", "{slow}");
    assert_eq!(slow["tools"].as_array().map(Vec::len), Some(3));

    let (too_slow, _) = smoke(&c, "slow-start", "1", "10").await;
    assert_eq!(too_slow["message"], "no initialize response");

    let argv = [
        BIN,
        "mcp-smoke",
        "--command",
        "no-such-server",
        "--cwd",
        "/workspace",
    ];
    let out = run(&c, &argv, &[], Vec::new()).await;
    let missing: Value = serde_json::from_str(&out.stdout.text()).expect("json");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("could not start server: ")),
        "{missing}"
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn proxy_without_a_server_command_is_a_usage_error() {
    let t = TestRun::new("mcp-usage").await;
    let c = probe_container(&t).await;
    let out = run(
        &c,
        &[BIN, "mcp-proxy", "--server-name", "x"],
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(out.exit_code, Some(2));
    assert!(
        out.stderr.text().contains("missing wrapped server command"),
        "{}",
        out.stderr.text()
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// Codex stops an MCP server with SIGTERM: the proxy terminates the wrapped server and exits
/// with the interrupted code.
#[tokio::test]
async fn sigterm_stops_the_proxy_and_its_server() {
    let t = TestRun::new("mcp-sigterm").await;
    let c = probe_container(&t).await;
    let script = format!(
        "cd {SERVER_DIR}; mkfifo /tmp/in; sleep 30 > /tmp/in 2>/dev/null & feeder=$!; \
         {BIN} mcp-proxy -- python3 server.py < /tmp/in & pid=$!; sleep 1; \
         pgrep -f '^python3 server.py' >/dev/null && echo running; kill -TERM $pid; wait $pid; \
         echo rc=$?; kill $feeder; sleep 0.2; pgrep -f '^python3 server.py' || echo gone"
    );
    let out = c
        .exec(&ExecSpec::shell(&script, Duration::from_secs(30)))
        .await
        .expect("exec");
    assert_eq!(
        out.stdout.text(),
        "running\nrc=4\ngone\n",
        "stderr: {}",
        out.stderr.text()
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}
