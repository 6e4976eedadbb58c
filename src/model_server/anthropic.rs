//! Anthropic Messages answers, as Claude Code reads them: a stream of `message_start`,
//! `content_block_start`, `content_block_delta` (`text_delta` or `input_json_delta`),
//! `content_block_stop`, `message_delta` (the stop reason) and `message_stop`; or one JSON
//! message when the request did not ask for a stream.

use serde_json::{Value, json};
use tokio::io::AsyncWrite;

use super::http;

/// What one answer carries: a text or one tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<'a> {
    /// End the turn with this text.
    Text(&'a str),
    /// Call `name` with `input`; the block's id is `id`.
    Tool {
        /// Tool-use id.
        id: &'a str,
        /// Tool name.
        name: &'a str,
        /// The namespace it sits in (OpenAI Responses only).
        namespace: Option<&'a str>,
        /// Tool input (an object).
        input: &'a Value,
    },
}

fn usage() -> Value {
    json!({"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
}

fn stop_reason(reply: &Reply<'_>) -> &'static str {
    match reply {
        Reply::Text(_) => "end_turn",
        Reply::Tool { .. } => "tool_use",
    }
}

/// Stream `reply` as message `message_id` of `model`.
pub async fn stream<W: AsyncWrite + Unpin>(
    writer: &mut W,
    reply: &Reply<'_>,
    model: &str,
    message_id: &str,
) -> std::io::Result<()> {
    http::start_events(writer).await?;
    let start = json!({"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(),
    }});
    http::write_event(writer, "message_start", &start).await?;
    let (block, delta) = match reply {
        Reply::Text(text) => (
            json!({"type": "text", "text": ""}),
            json!({"type": "text_delta", "text": text}),
        ),
        Reply::Tool {
            id, name, input, ..
        } => (
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": input.to_string()}),
        ),
    };
    let events = [
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    for (name, data) in events {
        http::write_event(writer, name, &data).await?;
    }
    Ok(())
}

/// `reply` as one (non-streamed) message.
pub fn message(reply: &Reply<'_>, model: &str, message_id: &str) -> Value {
    let content = match reply {
        Reply::Text(text) => json!([{"type": "text", "text": text}]),
        Reply::Tool {
            id, name, input, ..
        } => {
            json!([{"type": "tool_use", "id": id, "name": name, "input": input}])
        }
    };
    json!({
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": usage(),
    })
}

/// The error body for `status`.
pub fn error(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tool_call_streams_its_input_as_one_json_delta() {
        let input = json!({"command": "ls"});
        let reply = Reply::Tool {
            id: "toolu_1",
            name: "Bash",
            namespace: None,
            input: &input,
        };
        let mut out = Vec::new();
        stream(&mut out, &reply, "m", "msg_1")
            .await
            .expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert!(text.contains(r#""partial_json":"{\"command\":\"ls\"}""#));
        assert!(text.contains(r#""stop_reason":"tool_use""#));
    }

    #[test]
    fn errors_carry_the_api_type() {
        assert_eq!(error(429, "x")["error"]["type"], "rate_limit_error");
        assert_eq!(
            message(&Reply::Text("hi"), "m", "id")["stop_reason"],
            "end_turn"
        );
    }
}
