//! Just enough HTTP/1.1 for the agent CLIs: read one request (Content-Length or chunked body,
//! with size caps), answer with JSON or a server-sent event stream, then close the connection.
//!
//! Every response says `connection: close` and ends by closing the socket, so a streamed body
//! needs neither a length nor chunking, and each request gets its own connection.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most header bytes accepted.
const MAX_HEAD: usize = 64 << 10;
/// The largest body accepted (a long session's history).
const MAX_BODY: usize = 64 << 20;

/// A request as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The target, query included (`/v1/messages?beta=true`).
    pub target: String,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// A header's value (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection failed.
    #[error("failed to read the request")]
    Io(#[from] std::io::Error),
    /// The request is not HTTP/1.x as we read it.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// Headers or body over the caps.
    #[error("request too large")]
    TooLarge,
}

/// Read one request; `None` when the client closed before sending one.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<Request>, HttpError> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(HttpError::Malformed("connection closed inside the headers"))
            };
        }
        if head.len() + line.len() > MAX_HEAD {
            return Err(HttpError::TooLarge);
        }
        let blank = line == b"\r\n" || line == b"\n";
        head.extend_from_slice(&line);
        if blank {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(HttpError::Malformed("bad request line"));
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
    };
    request.body = read_body(reader, &request).await?;
    Ok(Some(request))
}

async fn read_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    request: &Request,
) -> Result<Vec<u8>, HttpError> {
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader).await;
    }
    let length: usize = match request.header("content-length") {
        Some(v) => v
            .parse()
            .map_err(|_| HttpError::Malformed("bad content-length"))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(HttpError::TooLarge);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

async fn read_chunked<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let size_text = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(HttpError::TooLarge);
        }
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut trailer = String::new();
                let n = reader.read_line(&mut trailer).await?;
                if n == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf).await?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// Write a complete JSON response.
pub async fn write_json<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    body: &serde_json::Value,
) -> std::io::Result<()> {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    writer.write_all(head.as_bytes()).await?;
    writer.write_all(body.as_bytes()).await?;
    writer.flush().await
}

/// Start a server-sent event stream (status 200); the body ends when the connection closes.
pub async fn start_events<W: AsyncWrite + Unpin>(writer: &mut W) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    writer.write_all(head.as_bytes()).await?;
    writer.flush().await
}

/// Send one event (`event: <name>`, `data: <json>`).
pub async fn write_event<W: AsyncWrite + Unpin>(
    writer: &mut W,
    name: &str,
    data: &serde_json::Value,
) -> std::io::Result<()> {
    let event = format!("event: {name}\ndata: {data}\n\n");
    writer.write_all(event.as_bytes()).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> Result<Option<Request>, HttpError> {
        let mut reader = tokio::io::BufReader::new(raw);
        read_request(&mut reader).await
    }

    #[tokio::test]
    async fn reads_a_content_length_body() {
        let raw = b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-Api-Key: k\r\n\r\nabcdEXTRA";
        let request = parse(raw).await.expect("parses").expect("a request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), "/v1/messages");
        assert_eq!(request.header("x-api-key"), Some("k"));
        assert_eq!(request.body, b"abcd");
    }

    #[tokio::test]
    async fn reads_a_chunked_body() {
        let raw = b"POST /v1/responses HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let request = parse(raw).await.expect("parses").expect("a request");
        assert_eq!(request.body, b"abcde");
    }

    #[tokio::test]
    async fn an_empty_connection_is_no_request_and_garbage_is_an_error() {
        assert!(parse(b"").await.expect("clean close").is_none());
        assert!(parse(b"\r\n\r\n").await.is_err());
        assert!(
            parse(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
                .await
                .is_err()
        );
    }
}
