//! The relay behind `mcp-proxy` and `mcp-bridge`: a client on our stdio, a wrapped server on a
//! child's stdio, responses matched to requests by JSON-RPC id (reference §14.8 fix).
//!
//! ```text
//!  client stdin ──▶ client task ──▶┐                ┌──▶ writer task ──▶ server stdin
//!                                  ├─▶ relay loop ──┤
//!  client stdout ◀── (loop writes) ┘   (one select) └◀── reader task ◀── server stdout
//! ```
//!
//! One `select!` owns all state: the pending requests (id → deadline, `tools/call` timing,
//! requested protocol version). A client request is remembered and forwarded; client
//! notifications and responses are forwarded. A server response is sent to the client only when
//! its id is pending (a late answer to an expired request is dropped); server notifications and
//! server-initiated requests pass straight through. A request unanswered at its deadline gets a
//! synthesized JSON-RPC error carrying the server's stderr tail; once the server has closed its
//! output every pending and later request gets that error at once. Every `tools/call` yields one
//! telemetry line. At the client's end of input the relay waits for the pending requests (answer
//! or timeout), then returns; the caller terminates the server.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::bridge::{requested_protocol_version, rewrite_protocol_version};
use super::cli::RelayArgs;
use super::framing::{self, ContentLengthReader, FramingError, NewlineReader};
use super::jsonrpc::{self, Kind};
use super::report::chain;
use super::report::print_error;
use super::server::{ServerError, ServerProcess, ServerSpec, StderrTail};
use super::stdio;
use super::telemetry::{self, PendingCall, TelemetrySink};
use super::workspace::{RunScope, absolute, process_env, resolve_workspace, server_env};
use crate::exit;

/// How the client side is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFraming {
    /// `Content-Length` headers (Codex, `mcp-proxy`).
    ContentLength,
    /// One JSON document per line (Claude Code, `mcp-bridge`).
    Newline,
}

/// Everything the relay needs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The client side's framing.
    pub framing: ClientFraming,
    /// The server to start.
    pub server: ServerSpec,
    /// How long a request may wait for its response.
    pub response_timeout: Duration,
    /// Rewrite `result.protocolVersion` of the `initialize` response to the client's version
    /// (the bridge does).
    pub rewrite_protocol_version: bool,
    /// Where `tools/call` lines go.
    pub telemetry: TelemetrySink,
}

/// Why the relay stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayOutcome {
    /// The client closed its input (or its output) and every request was settled.
    ClientClosed,
    /// SIGINT/SIGTERM.
    Interrupted,
}

/// Why the relay could not run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The wrapped server could not be started.
    #[error("failed to start the wrapped MCP server")]
    Start(#[source] ServerError),
    /// The server's stdio pipes were missing.
    #[error("the wrapped MCP server has no stdio pipes")]
    NoPipes,
    /// Our own stdin or stdout could not be opened.
    #[error("failed to open standard input or output")]
    Stdio(#[source] std::io::Error),
    /// Nothing to wrap: no command after `--`.
    #[error("missing wrapped server command")]
    NoCommand,
}

/// The body of `mcp-proxy` and `mcp-bridge`: resolve the flags, relay, and return the exit code
/// (0 when the client is done, 2 without a server command, 1 when the server cannot start, 4
/// when interrupted).
pub async fn main(
    label: &str,
    args: &RelayArgs,
    response_timeout: Duration,
    framing: ClientFraming,
    token: CancellationToken,
) -> u8 {
    let Some(config) = configure(args, response_timeout, framing) else {
        let hint = format!("harnessgym {label} --server-name NAME -- python3 server.py");
        print_error(&RelayError::NoCommand, Some(&hint));
        return exit::USAGE;
    };
    match run(&config, token).await {
        Ok(RelayOutcome::ClientClosed) => exit::SUCCESS,
        Ok(RelayOutcome::Interrupted) => exit::INTERRUPTED,
        Err(err) => {
            print_error(&err, None);
            exit::FAILURE
        }
    }
}

/// The relay configuration for `args`; `None` when no server command was given.
pub fn configure(
    args: &RelayArgs,
    response_timeout: Duration,
    framing: ClientFraming,
) -> Option<RelayConfig> {
    let (program, rest) = args.command.split_first()?;
    let env = &process_env;
    let cwd = absolute(args.cwd.as_deref().unwrap_or(Path::new(".")));
    let workspace = absolute(&resolve_workspace(args.workspace.as_deref(), env, &cwd));
    let telemetry = TelemetrySink {
        path: telemetry::resolve_path(args.telemetry.telemetry_path.as_deref(), env, &workspace),
        server: args.server_name.clone(),
        scope: RunScope::resolve(
            args.telemetry.run_id.as_deref(),
            args.telemetry.iteration,
            env,
        ),
    };
    Some(RelayConfig {
        framing,
        server: ServerSpec {
            program: program.clone(),
            args: rest.to_vec(),
            cwd,
            env: server_env(env, &workspace),
            forward_stderr: true,
        },
        response_timeout,
        rewrite_protocol_version: framing == ClientFraming::Newline,
        telemetry,
    })
}

/// Starts the server, relays until the client is done or `token` fires, then terminates the
/// server's process group.
pub async fn run(
    config: &RelayConfig,
    token: CancellationToken,
) -> Result<RelayOutcome, RelayError> {
    let mut server = ServerProcess::spawn(&config.server).map_err(RelayError::Start)?;
    let (Some(server_in), Some(server_out)) = (server.take_stdin(), server.take_stdout()) else {
        server.terminate().await;
        return Err(RelayError::NoPipes);
    };
    let (client_in, client_out) = match (stdio::stdin(), stdio::stdout()) {
        (Ok(input), Ok(output)) => (input, output),
        (Err(source), _) | (_, Err(source)) => {
            server.terminate().await;
            return Err(RelayError::Stdio(source));
        }
    };
    let ends = Ends {
        client_in,
        client_out,
        server_in,
        server_out,
    };
    let outcome = relay(config, ends, server.stderr_tail(), token).await;
    server.terminate().await;
    Ok(outcome)
}

/// The four byte streams the relay connects.
pub(crate) struct Ends<CI, CO, SI, SO> {
    pub(crate) client_in: CI,
    pub(crate) client_out: CO,
    pub(crate) server_in: SI,
    pub(crate) server_out: SO,
}

/// A message and, when it was read Content-Length framed, its exact body.
struct Incoming {
    value: Value,
    body: Option<Vec<u8>>,
}

/// The client went away (its stdout is closed).
struct ClientGone;

/// Relays between the four streams until the client is done or `token` fires.
pub(crate) async fn relay<CI, CO, SI, SO>(
    config: &RelayConfig,
    ends: Ends<CI, CO, SI, SO>,
    tail: StderrTail,
    token: CancellationToken,
) -> RelayOutcome
where
    CI: AsyncRead + Unpin + Send + 'static,
    CO: AsyncWrite + Unpin,
    SI: AsyncWrite + Unpin + Send + 'static,
    SO: AsyncRead + Unpin + Send + 'static,
{
    let (client_tx, mut client_rx) = mpsc::channel(64);
    let (server_tx, mut server_rx) = mpsc::unbounded_channel();
    let (to_server, server_queue) = mpsc::unbounded_channel();
    let client_task = tokio::spawn(read_client(config.framing, ends.client_in, client_tx));
    let reader_task = tokio::spawn(read_server(ends.server_out, server_tx));
    let writer_task = tokio::spawn(write_server(ends.server_in, server_queue));
    let mut state = Relay {
        config,
        client_out: ends.client_out,
        to_server,
        pending: HashMap::new(),
        server_closed: false,
        tail,
    };
    let (mut client_done, mut server_done) = (false, false);
    let outcome = loop {
        if client_done && state.pending.is_empty() {
            break RelayOutcome::ClientClosed;
        }
        let deadline = state.next_deadline();
        let step = tokio::select! {
            biased;
            () = token.cancelled() => break RelayOutcome::Interrupted,
            event = server_rx.recv(), if !server_done => match event {
                Some(message) => state.on_server(message).await,
                None => {
                    server_done = true;
                    state.server_gone().await
                }
            },
            event = client_rx.recv(), if !client_done => match event {
                Some(message) => state.on_client(message).await,
                None => {
                    client_done = true;
                    Ok(())
                }
            },
            () = sleep_until(deadline), if deadline.is_some() => state.expire().await,
        };
        if step.is_err() {
            break RelayOutcome::ClientClosed;
        }
    };
    client_task.abort();
    reader_task.abort();
    writer_task.abort();
    outcome
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One request waiting for its response.
struct Pending {
    id: Value,
    deadline: Instant,
    call: Option<PendingCall>,
    requested_version: Option<String>,
}

struct Relay<'a, W> {
    config: &'a RelayConfig,
    client_out: W,
    to_server: mpsc::UnboundedSender<Vec<u8>>,
    pending: HashMap<String, Pending>,
    server_closed: bool,
    tail: StderrTail,
}

impl<W: AsyncWrite + Unpin> Relay<'_, W> {
    fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    async fn on_client(&mut self, message: Incoming) -> Result<(), ClientGone> {
        if jsonrpc::kind(&message.value) != Kind::Request {
            self.forward(&message);
            return Ok(());
        }
        let id = jsonrpc::id(&message.value).cloned().unwrap_or(Value::Null);
        let pending = Pending {
            deadline: Instant::now() + self.config.response_timeout,
            call: PendingCall::start(&message.value),
            requested_version: self
                .config
                .rewrite_protocol_version
                .then(|| requested_protocol_version(&message.value))
                .flatten(),
            id,
        };
        if self.server_closed {
            return self.settle_unanswered(pending).await;
        }
        self.pending.insert(jsonrpc::id_key(&pending.id), pending);
        self.forward(&message);
        Ok(())
    }

    /// Queues `message` for the server (dropped once the server is gone).
    fn forward(&self, message: &Incoming) {
        if self.server_closed {
            return;
        }
        let body = match &message.body {
            Some(body) => body.clone(),
            None => framing::encode(&message.value),
        };
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        let _ = self.to_server.send(frame);
    }

    async fn on_server(&mut self, message: Incoming) -> Result<(), ClientGone> {
        let Incoming { mut value, body } = message;
        if jsonrpc::kind(&value) != Kind::Response {
            return self.send_client(&value, body.as_deref()).await;
        }
        let key = jsonrpc::id(&value).map(jsonrpc::id_key).unwrap_or_default();
        let Some(pending) = self.pending.remove(&key) else {
            tracing::warn!("dropping a server response to unknown or expired request id {key}");
            return Ok(());
        };
        let mut body = body;
        if let Some(version) = &pending.requested_version
            && rewrite_protocol_version(&mut value, version)
        {
            body = None;
        }
        if let Some(call) = pending.call {
            self.config.telemetry.record(call, &value, false);
        }
        self.send_client(&value, body.as_deref()).await
    }

    /// The server closed its output: nothing pending will be answered.
    async fn server_gone(&mut self) -> Result<(), ClientGone> {
        self.server_closed = true;
        let mut pending: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        pending.sort_by_key(|p| p.deadline);
        for request in pending {
            self.settle_unanswered(request).await?;
        }
        Ok(())
    }

    /// Answers every request whose deadline passed.
    async fn expire(&mut self) -> Result<(), ClientGone> {
        let now = Instant::now();
        let mut due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(key, _)| key.clone())
            .collect();
        due.sort_by_key(|key| self.pending.get(key).map(|p| p.deadline));
        for key in due {
            if let Some(request) = self.pending.remove(&key) {
                self.settle_unanswered(request).await?;
            }
        }
        Ok(())
    }

    async fn settle_unanswered(&mut self, request: Pending) -> Result<(), ClientGone> {
        let error = jsonrpc::no_response_error(&request.id, &self.tail.text());
        if let Some(call) = request.call {
            self.config.telemetry.record(call, &error, true);
        }
        self.send_client(&error, None).await
    }

    async fn send_client(&mut self, value: &Value, body: Option<&[u8]>) -> Result<(), ClientGone> {
        let written = match self.config.framing {
            ClientFraming::ContentLength => {
                let encoded;
                let body = match body {
                    Some(body) => body,
                    None => {
                        encoded = framing::encode(value);
                        &encoded
                    }
                };
                framing::write_content_length(&mut self.client_out, body).await
            }
            ClientFraming::Newline => framing::write_line(&mut self.client_out, value).await,
        };
        written.map_err(|_| ClientGone)
    }
}

/// A Content-Length body as a message, keeping the raw bytes to forward them unchanged.
fn parse_body(body: Option<Vec<u8>>) -> Result<Option<Incoming>, FramingError> {
    let Some(body) = body else {
        return Ok(None);
    };
    let value = serde_json::from_slice(&body).map_err(FramingError::InvalidJson)?;
    Ok(Some(Incoming {
        value,
        body: Some(body),
    }))
}

/// Reads the client's messages until its input ends; unreadable messages are logged and skipped.
async fn read_client<R: AsyncRead + Unpin>(
    framing: ClientFraming,
    input: R,
    tx: mpsc::Sender<Incoming>,
) {
    match framing {
        ClientFraming::ContentLength => {
            let mut reader = ContentLengthReader::new(input);
            loop {
                let next = reader.read_body().await.and_then(parse_body);
                if !deliver(next, "client", &tx).await {
                    return;
                }
            }
        }
        ClientFraming::Newline => {
            let mut reader = NewlineReader::new(input);
            loop {
                let next = reader
                    .read_message()
                    .await
                    .map(|m| m.map(|value| Incoming { value, body: None }));
                if !deliver(next, "client", &tx).await {
                    return;
                }
            }
        }
    }
}

/// Reads the server's Content-Length messages until its output ends.
async fn read_server<R: AsyncRead + Unpin>(output: R, tx: mpsc::UnboundedSender<Incoming>) {
    let mut reader = ContentLengthReader::new(output);
    loop {
        let next = reader.read_body().await.and_then(parse_body);
        match next {
            Ok(Some(message)) => {
                if tx.send(message).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(err) if err.is_skippable() => log_skipped("server", &err),
            Err(err) => {
                log_fatal("server", &err);
                return;
            }
        }
    }
}

/// Sends one read result on; `false` when reading must stop.
async fn deliver(
    next: Result<Option<Incoming>, FramingError>,
    side: &str,
    tx: &mpsc::Sender<Incoming>,
) -> bool {
    match next {
        Ok(Some(message)) => tx.send(message).await.is_ok(),
        Ok(None) => false,
        Err(err) if err.is_skippable() => {
            log_skipped(side, &err);
            true
        }
        Err(err) => {
            log_fatal(side, &err);
            false
        }
    }
}

fn log_skipped(side: &str, err: &FramingError) {
    tracing::warn!(
        "skipping an unreadable message from the {side}: {}",
        chain(err)
    );
}

fn log_fatal(side: &str, err: &FramingError) {
    tracing::warn!("stopped reading from the {side}: {}", chain(err));
}

/// Writes queued frames to the server's stdin until the queue closes or the pipe breaks.
async fn write_server<W: AsyncWrite + Unpin>(
    mut input: W,
    mut queue: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(frame) = queue.recv().await {
        if input.write_all(&frame).await.is_err() || input.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
