//! The relay against an in-process fake server (Rust, over in-memory pipes): id matching,
//! pass-through, timeouts, the bridge's framing and rewrite, telemetry. The real-process tests
//! run in a container (`tests/mcp.rs`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};

use super::*;
use crate::mcp::server::ServerSpec;
use crate::mcp::telemetry::{TelemetrySink, read_events};
use crate::mcp::workspace::RunScope;

/// A fake MCP server: sends a progress notification before each response; `slow` is answered
/// only after the next request (so responses arrive out of order); `hang` is never answered;
/// `late` is answered after 600 ms; `crash` closes the server's output.
async fn fake_server<R, W>(input: R, mut output: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = ContentLengthReader::new(input);
    let mut held: Option<Value> = None;
    while let Ok(Some(request)) = reader.read_message().await {
        let Some(id) = request.get("id").cloned() else {
            continue;
        };
        let tool = request
            .pointer("/params/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let response = match (jsonrpc::method(&request), tool) {
            (Some("initialize"), _) => json!({"jsonrpc": "2.0", "id": id,
                "result": {"protocolVersion": "2024-11-05", "capabilities": {}}}),
            (Some("tools/call"), "hang") => continue,
            (Some("tools/call"), "crash") => return,
            (Some("tools/call"), "slow") => {
                held = Some(json!({"jsonrpc": "2.0", "id": id, "result": {"slow": true}}));
                continue;
            }
            (Some("tools/call"), "late") => {
                tokio::time::sleep(Duration::from_millis(600)).await;
                json!({"jsonrpc": "2.0", "id": id, "result": {"late": true}})
            }
            (Some("tools/call"), "echo") => json!({"jsonrpc": "2.0", "id": id,
                "result": {"content": [{"type": "text", "text": request["params"]["arguments"].to_string()}]}}),
            (Some("tools/call"), _) => json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": "unknown tool"}}),
            _ => json!({"jsonrpc": "2.0", "id": id, "result": {}}),
        };
        let note =
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"for": id}});
        let mut out = vec![note, response];
        out.extend(held.take());
        for message in out {
            if framing::write_content_length(&mut output, &framing::encode(&message))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

struct Run {
    output: Vec<u8>,
    events: Vec<Value>,
}

async fn run_relay(framing: ClientFraming, input: Vec<u8>, timeout: Duration) -> Run {
    run_relay_from(framing, std::io::Cursor::new(input), timeout).await
}

async fn run_relay_from<I>(framing: ClientFraming, input: I, timeout: Duration) -> Run
where
    I: AsyncRead + Unpin + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let telemetry_path = dir.path().join("calls.jsonl");
    let config = RelayConfig {
        framing,
        server: ServerSpec {
            program: "unused".into(),
            args: Vec::new(),
            cwd: PathBuf::from("/"),
            env: Vec::new(),
            forward_stderr: false,
        },
        response_timeout: timeout,
        rewrite_protocol_version: framing == ClientFraming::Newline,
        telemetry: TelemetrySink {
            path: telemetry_path.clone(),
            server: "fake".into(),
            scope: RunScope {
                run_id: Some("r".into()),
                iteration: Some(1),
            },
        },
    };
    let (relay_side, server_side) = tokio::io::duplex(1 << 16);
    let (server_out, server_in) = tokio::io::split(relay_side);
    let (fake_in, fake_out) = tokio::io::split(server_side);
    let fake = tokio::spawn(fake_server(fake_in, fake_out));
    let mut output = Vec::new();
    let ends = Ends {
        client_in: input,
        client_out: &mut output,
        server_in,
        server_out,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        relay(
            &config,
            ends,
            StderrTail::default(),
            CancellationToken::new(),
        ),
    )
    .await
    .expect("relay finishes");
    assert_eq!(outcome, RelayOutcome::ClientClosed);
    fake.abort();
    Run {
        output,
        events: read_events(&telemetry_path).expect("telemetry"),
    }
}

fn framed(messages: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        let body = framing::encode(message);
        out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes());
        out.extend(body);
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

fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {"k": id}}})
}

fn responses(messages: &[Value]) -> Vec<&Value> {
    messages
        .iter()
        .filter(|m| jsonrpc::kind(m) == Kind::Response)
        .collect()
}

#[tokio::test]
async fn notifications_pass_through_and_responses_keep_their_ids() {
    let input = framed(&[
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        call(3, "echo"),
        call(4, "echo"),
    ]);
    let run = run_relay(ClientFraming::ContentLength, input, Duration::from_secs(5)).await;
    let out = unframe(&run.output).await;
    let notes = out
        .iter()
        .filter(|m| jsonrpc::kind(m) == Kind::Notification)
        .count();
    assert_eq!(notes, 4, "one notification before each response: {out:?}");
    let ids: Vec<&Value> = responses(&out).iter().map(|m| &m["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(2), &json!(3), &json!(4)]);
    assert_eq!(
        responses(&out)[0]["result"]["protocolVersion"],
        "2024-11-05",
        "the proxy does not rewrite"
    );
    assert_eq!(run.events.len(), 2, "{:?}", run.events);
    for (event, id) in run.events.iter().zip([3, 4]) {
        assert_eq!(event["request_id"], id);
        assert_eq!(event["status"], "completed");
        assert_eq!(event["tool_name"], "echo");
        assert_eq!(event["server"], "fake");
        assert_eq!(event["run_id"], "r");
        assert_eq!(event["iteration"], 1);
    }
}

#[tokio::test]
async fn out_of_order_responses_are_matched_by_id() {
    let input = framed(&[call(10, "slow"), call(11, "echo")]);
    let run = run_relay(ClientFraming::ContentLength, input, Duration::from_secs(5)).await;
    let out = unframe(&run.output).await;
    let answered = responses(&out);
    assert_eq!(answered.len(), 2);
    assert_eq!(answered[0]["id"], 11);
    assert_eq!(answered[0]["result"]["content"][0]["text"], r#"{"k":11}"#);
    assert_eq!(answered[1]["id"], 10);
    assert_eq!(answered[1]["result"]["slow"], true);
    let by_id: Vec<(Value, Value)> = run
        .events
        .iter()
        .map(|e| (e["request_id"].clone(), e["tool_name"].clone()))
        .collect();
    assert!(by_id.contains(&(json!(10), json!("slow"))));
    assert!(by_id.contains(&(json!(11), json!("echo"))));
}

#[tokio::test]
async fn unanswered_requests_time_out_and_late_answers_are_dropped() {
    // The client stays open past the late answer (600 ms), then sends one more request.
    let (mut client, input) = tokio::io::duplex(1 << 16);
    let feeder = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let first = framed(&[
            call(1, "hang"),
            call(2, "echo"),
            call(4, "nope"),
            call(3, "late"),
        ]);
        client.write_all(&first).await.expect("write");
        tokio::time::sleep(Duration::from_millis(900)).await;
        client
            .write_all(&framed(&[call(5, "echo")]))
            .await
            .expect("write");
    });
    let run = run_relay_from(
        ClientFraming::ContentLength,
        input,
        Duration::from_millis(300),
    )
    .await;
    feeder.await.expect("feeder");
    let out = unframe(&run.output).await;
    let answered = responses(&out);
    let find = |id: u64| {
        let matching: Vec<&&Value> = answered.iter().filter(|m| m["id"] == id).collect();
        assert_eq!(matching.len(), 1, "exactly one answer for {id}: {out:?}");
        (*matching[0]).clone()
    };
    assert_eq!(find(1)["error"]["code"], jsonrpc::NO_RESPONSE_CODE);
    assert_eq!(find(1)["error"]["message"], jsonrpc::NO_RESPONSE_MESSAGE);
    assert!(find(2).get("result").is_some());
    assert_eq!(
        find(3)["error"]["message"],
        jsonrpc::NO_RESPONSE_MESSAGE,
        "the late answer is not forwarded"
    );
    assert_eq!(find(4)["error"]["message"], "unknown tool");
    let status = |id: u64| {
        run.events
            .iter()
            .find(|e| e["request_id"] == id)
            .map(|e| e["status"].clone())
    };
    assert_eq!(status(1), Some(json!("timeout")));
    assert_eq!(status(2), Some(json!("completed")));
    assert_eq!(status(3), Some(json!("timeout")));
    assert_eq!(status(4), Some(json!("error")));
    assert_eq!(status(5), Some(json!("completed")));
    assert_eq!(run.events.len(), 5);
    assert!(
        !out.iter().any(|m| m.pointer("/result/late").is_some()),
        "the late answer to an expired request is dropped"
    );
}

#[tokio::test]
async fn a_closed_server_answers_pending_and_later_requests_at_once() {
    let input = framed(&[call(1, "crash"), call(2, "echo")]);
    let started = Instant::now();
    let run = run_relay(ClientFraming::ContentLength, input, Duration::from_secs(30)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "no waiting");
    let out = unframe(&run.output).await;
    let answered = responses(&out);
    assert_eq!(answered.len(), 2, "{out:?}");
    for message in answered {
        assert_eq!(message["error"]["message"], jsonrpc::NO_RESPONSE_MESSAGE);
    }
    assert_eq!(run.events.len(), 2);
}

#[tokio::test]
async fn bridge_speaks_lines_and_rewrites_the_protocol_version() {
    let input = [
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#,
        "",
        "not json at all",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"shape":[2,4]}}}"#,
    ]
    .join("\n")
        + "\n";
    let run = run_relay(
        ClientFraming::Newline,
        input.into_bytes(),
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8(run.output).expect("utf-8");
    let out: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect();
    let answered = responses(&out);
    assert_eq!(answered.len(), 3, "{text}");
    assert_eq!(answered[0]["id"], 0);
    assert_eq!(answered[0]["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(
        answered[2]["result"]["content"][0]["text"],
        r#"{"shape":[2,4]}"#
    );
    assert_eq!(run.events.len(), 1);
    assert_eq!(run.events[0]["argument_keys"], json!(["shape"]));
    assert_eq!(run.events[0]["status"], "completed");
}
