use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};

use super::*;

/// Hands out its bytes `step` at a time, so every split of a message is exercised.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Trickle {
    fn new(data: impl Into<Vec<u8>>, step: usize) -> Self {
        Trickle {
            data: data.into(),
            at: 0,
            step,
        }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let end = (self.at + self.step)
            .min(self.data.len())
            .min(self.at + buf.remaining());
        let chunk = self.data[self.at..end].to_vec();
        buf.put_slice(&chunk);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

async fn read_all(data: &[u8], step: usize) -> Vec<Value> {
    let mut reader = ContentLengthReader::new(Trickle::new(data, step));
    let mut out = Vec::new();
    while let Some(message) = reader.read_message().await.expect("read") {
        out.push(message);
    }
    out
}

fn frame(body: &str, terminator: &str) -> String {
    format!("Content-Length: {}{terminator}{body}", body.len())
}

#[tokio::test]
async fn reads_split_reads_byte_by_byte() {
    let data = frame(r#"{"id":1,"result":{}}"#, "\r\n\r\n") + &frame(r#"{"id":2}"#, "\r\n\r\n");
    for step in [1, 2, 3, 7, 1000] {
        let messages = read_all(data.as_bytes(), step).await;
        assert_eq!(
            messages,
            vec![json!({"id": 1, "result": {}}), json!({"id": 2})]
        );
    }
}

#[tokio::test]
async fn accepts_both_terminators_in_one_stream() {
    let data = frame(r#"{"a":1}"#, "\n\n") + &frame(r#"{"b":2}"#, "\r\n\r\n");
    let messages = read_all(data.as_bytes(), 1).await;
    assert_eq!(messages, vec![json!({"a": 1}), json!({"b": 2})]);
}

#[tokio::test]
async fn header_name_is_case_insensitive_and_other_headers_are_ignored() {
    let body = r#"{"ok":true}"#;
    let data = format!(
        "content-type: application/json\r\nCONTENT-LENGTH:{}\r\nX-Other: y\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(
        read_all(data.as_bytes(), 4).await,
        vec![json!({"ok": true})]
    );
    let lower = format!("content-length: {}\n\n{body}", body.len());
    assert_eq!(
        read_all(lower.as_bytes(), 1).await,
        vec![json!({"ok": true})]
    );
}

#[tokio::test]
async fn two_messages_in_one_read_and_stray_blank_lines() {
    let data = format!(
        "\r\n{}\n{}",
        frame(r#"{"x":1}"#, "\r\n\r\n"),
        frame(r#"{"y":2}"#, "\r\n\r\n")
    );
    let messages = read_all(data.as_bytes(), 10_000).await;
    assert_eq!(messages, vec![json!({"x": 1}), json!({"y": 2})]);
}

#[tokio::test]
async fn bad_length_is_an_error() {
    for value in ["abc", "-3", "1.5", ""] {
        let data = format!("Content-Length: {value}\r\n\r\n{{}}");
        let mut reader = ContentLengthReader::new(Trickle::new(data, 1));
        let err = reader.read_body().await.expect_err("bad length");
        assert!(
            matches!(err, FramingError::BadLength { .. }),
            "{value}: {err:?}"
        );
        assert!(!err.is_skippable());
    }
}

#[tokio::test]
async fn end_of_stream_cases() {
    let mut empty = ContentLengthReader::new(Trickle::new(Vec::new(), 1));
    assert!(empty.read_body().await.expect("clean end").is_none());

    let mut short_body = ContentLengthReader::new(Trickle::new("Content-Length: 10\r\n\r\n{}", 1));
    assert!(matches!(
        short_body.read_body().await,
        Err(FramingError::Truncated)
    ));

    let mut in_header = ContentLengthReader::new(Trickle::new("Content-Length: 10\r\n", 1));
    assert!(matches!(
        in_header.read_body().await,
        Err(FramingError::Truncated)
    ));
}

#[tokio::test]
async fn oversized_and_headerless_messages_are_skippable() {
    let data = frame(r#"{"big":"xxxxxxxxxxxx"}"#, "\r\n\r\n")
        + "X-Only: header\r\n\r\n"
        + &frame(r#"{"n":1}"#, "\r\n\r\n");
    let mut reader = ContentLengthReader::with_limit(Trickle::new(data, 3), 10);
    let big = reader.read_body().await.expect_err("too large");
    assert!(matches!(big, FramingError::TooLarge { limit: 10, .. }));
    assert!(big.is_skippable());
    let missing = reader.read_body().await.expect_err("no length");
    assert!(matches!(missing, FramingError::MissingLength));
    assert!(missing.is_skippable());
    assert_eq!(
        reader.read_message().await.expect("next"),
        Some(json!({"n": 1}))
    );
}

#[tokio::test]
async fn invalid_body_is_skippable() {
    let data = frame("not json", "\r\n\r\n") + &frame(r#"{"n":2}"#, "\n\n");
    let mut reader = ContentLengthReader::new(Trickle::new(data, 5));
    let err = reader.read_message().await.expect_err("invalid");
    assert!(err.is_skippable());
    assert_eq!(
        reader.read_message().await.expect("next"),
        Some(json!({"n": 2}))
    );
}

#[tokio::test]
async fn newline_reader_skips_blank_lines_and_reports_invalid_ones() {
    let data = "\n{\"id\":1}\n   \r\nnot json\n{\"id\":2}\r\n{\"id\":3}";
    let mut reader = NewlineReader::new(Trickle::new(data, 2));
    assert_eq!(
        reader.read_message().await.expect("first"),
        Some(json!({"id": 1}))
    );
    let err = reader.read_message().await.expect_err("invalid line");
    assert!(err.is_skippable());
    assert_eq!(
        reader.read_message().await.expect("second"),
        Some(json!({"id": 2}))
    );
    assert_eq!(
        reader.read_message().await.expect("unterminated last line"),
        Some(json!({"id": 3}))
    );
    assert_eq!(reader.read_message().await.expect("end"), None);
}

#[tokio::test]
async fn newline_reader_skips_an_overlong_line() {
    let data = format!("{{\"pad\":\"{}\"}}\n{{\"ok\":1}}\n", "x".repeat(100));
    let mut reader = NewlineReader::with_limit(Trickle::new(data, 7), 20);
    let err = reader.read_message().await.expect_err("too long");
    assert!(matches!(err, FramingError::TooLarge { .. }));
    assert_eq!(
        reader.read_message().await.expect("next"),
        Some(json!({"ok": 1}))
    );
}

#[tokio::test]
async fn writers_round_trip_through_the_readers() {
    let message = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}});
    let mut framed = Vec::new();
    write_content_length(&mut framed, &encode(&message))
        .await
        .expect("write");
    assert!(framed.starts_with(b"Content-Length: "));
    assert_eq!(read_all(&framed, 1).await, vec![message.clone()]);

    let mut lines = Vec::new();
    write_line(&mut lines, &message).await.expect("write line");
    assert_eq!(lines.iter().filter(|b| **b == b'\n').count(), 1);
    let mut reader = NewlineReader::new(Trickle::new(lines, 3));
    assert_eq!(reader.read_message().await.expect("read"), Some(message));
}

#[test]
fn encode_sorts_keys_and_is_compact() {
    let value = json!({"b": 1, "a": {"d": [1, 2], "c": null}});
    assert_eq!(
        encode(&value),
        br#"{"a":{"c":null,"d":[1,2]},"b":1}"#.to_vec()
    );
}
