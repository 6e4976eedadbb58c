//! OpenAI Responses answers, as Codex reads them: `response.created`,
//! `response.output_item.added` and `.done` for one output item (an assistant message or a
//! `function_call`), then `response.completed` with the usage.

use serde_json::{Value, json};
use tokio::io::AsyncWrite;

use super::anthropic::Reply;
use super::http;

fn item(reply: &Reply<'_>, item_id: &str) -> Value {
    match reply {
        Reply::Text(text) => json!({
            "type": "message", "id": item_id, "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }),
        Reply::Tool {
            id,
            name,
            namespace,
            input,
        } => {
            let mut call = json!({
                "type": "function_call", "id": item_id, "call_id": id, "name": name,
                "arguments": input.to_string(), "status": "completed",
            });
            if let Some(namespace) = namespace {
                call["namespace"] = json!(namespace);
            }
            call
        }
    }
}

/// Stream `reply` as response `response_id`.
pub async fn stream<W: AsyncWrite + Unpin>(
    writer: &mut W,
    reply: &Reply<'_>,
    model: &str,
    response_id: &str,
) -> std::io::Result<()> {
    http::start_events(writer).await?;
    let output = item(reply, &format!("{response_id}_item"));
    let usage = json!({
        "input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15,
    });
    let events = [
        (
            "response.created",
            json!({"type": "response.created", "response": {"id": response_id, "model": model, "status": "in_progress"}}),
        ),
        (
            "response.output_item.added",
            json!({"type": "response.output_item.added", "output_index": 0, "item": output}),
        ),
        (
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 0, "item": output}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "response": {"id": response_id, "model": model, "status": "completed", "output": [output], "usage": usage}}),
        ),
    ];
    for (name, data) in events {
        http::write_event(writer, name, &data).await?;
    }
    Ok(())
}

/// The error body for `status`.
pub fn error(status: u16, message: &str) -> Value {
    let kind = match status {
        401 => "authentication_error",
        429 => "rate_limit_exceeded",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    json!({"error": {"type": kind, "message": message, "code": null, "param": null}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_function_call_carries_its_arguments_as_a_string() {
        let input = json!({"cmd": "ls"});
        let reply = Reply::Tool {
            id: "call_1",
            name: "exec_command",
            namespace: None,
            input: &input,
        };
        let mut out = Vec::new();
        stream(&mut out, &reply, "m", "resp_1")
            .await
            .expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains(r#""arguments":"{\"cmd\":\"ls\"}""#));
        assert!(text.contains("event: response.completed"));
    }
}
