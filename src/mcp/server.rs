//! A wrapped MCP server process: spawned without a shell in its own process group, its stderr
//! drained (forwarded or not) into a bounded tail, and terminated as a group.
//!
//! Termination closes the server's stdin, then [`crate::process::stop_group`]: SIGTERM to the
//! process group, up to the grace period, then SIGKILL to the group — also when the leader
//! already exited, so a grandchild cannot outlive it.
//!
//! [`Connection`] is the client half used by the smoke test and `mcp-call`: send a message, then
//! wait for the response carrying a given id, skipping notifications and other ids.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::framing::{self, ContentLengthReader, FramingError};
use super::jsonrpc;

/// How much of the server's stderr is kept for error reports.
pub const STDERR_TAIL_BYTES: usize = 4000;
/// How long the group gets between SIGTERM and SIGKILL (reference: 1 s).
pub const TERMINATE_GRACE: Duration = Duration::from_secs(1);

/// What failed while starting or talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The working directory is missing or not a directory.
    #[error("working directory {path} does not exist")]
    NoWorkingDir {
        /// The directory.
        path: PathBuf,
    },
    /// The process could not be spawned.
    #[error("failed to start `{program}`")]
    Spawn {
        /// The program.
        program: String,
        /// The spawn failure.
        #[source]
        source: std::io::Error,
    },
    /// A message could not be sent.
    #[error("failed to send a message to the server")]
    Send(#[source] FramingError),
    /// A message could not be read.
    #[error("failed to read the server's output")]
    Receive(#[source] FramingError),
    /// The server closed its output before answering.
    #[error("server closed its output without answering request {id}")]
    Closed {
        /// The request's id.
        id: String,
    },
    /// No answer in time.
    #[error("server did not answer request {id} within {seconds:.1} s")]
    Timeout {
        /// The request's id.
        id: String,
        /// The time waited.
        seconds: f64,
    },
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The program (looked up on `PATH` when it has no slash).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Variables added to the inherited environment.
    pub env: Vec<(String, String)>,
    /// Copy its stderr to ours as it arrives (the proxy and bridge do; the smoke test does not).
    pub forward_stderr: bool,
}

/// The last [`STDERR_TAIL_BYTES`] of a server's stderr, shared with the draining task.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<Vec<u8>>>);

impl StderrTail {
    fn push(&self, chunk: &[u8]) {
        let Ok(mut tail) = self.0.lock() else { return };
        tail.extend_from_slice(chunk);
        if tail.len() > STDERR_TAIL_BYTES {
            let cut = tail.len() - STDERR_TAIL_BYTES;
            tail.drain(..cut);
        }
    }

    /// The tail as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|tail| String::from_utf8_lossy(&tail).into_owned())
            .unwrap_or_default()
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pgid: Option<u32>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    tail: StderrTail,
    stderr_task: JoinHandle<()>,
}

impl ServerProcess {
    /// Starts `spec` with piped stdio, in a process group of its own.
    pub fn spawn(spec: &ServerSpec) -> Result<Self, ServerError> {
        if !spec.cwd.is_dir() {
            return Err(ServerError::NoWorkingDir {
                path: spec.cwd.clone(),
            });
        }
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| ServerError::Spawn {
            program: spec.program.clone(),
            source,
        })?;
        let tail = StderrTail::default();
        let stderr_task = match child.stderr.take() {
            Some(stderr) => tokio::spawn(drain_stderr(stderr, tail.clone(), spec.forward_stderr)),
            None => tokio::spawn(async {}),
        };
        Ok(ServerProcess {
            pgid: child.id(),
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            tail,
            stderr_task,
        })
    }

    /// The server's stdin (once).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// The server's stdout (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    /// A handle on the stderr tail that stays valid after termination.
    pub fn stderr_tail(&self) -> StderrTail {
        self.tail.clone()
    }

    /// Closes stdin, sends SIGTERM to the group, waits up to [`TERMINATE_GRACE`], then SIGKILLs
    /// the group and reaps the leader.
    pub async fn terminate(mut self) {
        drop(self.stdin.take());
        drop(self.stdout.take());
        crate::process::stop_group(&mut self.child, self.pgid, TERMINATE_GRACE).await;
        // A grandchild that escaped the group may still hold stderr open: do not wait for it.
        if tokio::time::timeout(Duration::from_millis(200), &mut self.stderr_task)
            .await
            .is_err()
        {
            self.stderr_task.abort();
        }
    }
}

async fn drain_stderr(mut stderr: tokio::process::ChildStderr, tail: StderrTail, forward: bool) {
    let mut own = if forward {
        super::stdio::stderr().ok()
    } else {
        None
    };
    let mut buffer = vec![0u8; 8192];
    loop {
        match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                tail.push(&buffer[..n]);
                if let Some(own) = own.as_mut() {
                    let _ = own.write_all(&buffer[..n]).await;
                    let _ = own.flush().await;
                }
            }
        }
    }
}

/// Request/response over a server's stdio, Content-Length framed on both sides.
#[derive(Debug)]
pub struct Connection {
    writer: ChildStdin,
    reader: ContentLengthReader<ChildStdout>,
}

impl Connection {
    /// Takes the server's stdin and stdout; `None` if either was taken before.
    pub fn open(server: &mut ServerProcess) -> Option<Self> {
        let writer = server.take_stdin()?;
        let reader = ContentLengthReader::new(server.take_stdout()?);
        Some(Connection { writer, reader })
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &Value) -> Result<(), ServerError> {
        framing::write_content_length(&mut self.writer, &framing::encode(message))
            .await
            .map_err(ServerError::Send)
    }

    /// Sends `request` and waits until `deadline` for the response with its id.
    pub async fn call(&mut self, request: &Value, deadline: Instant) -> Result<Value, ServerError> {
        self.send(request).await?;
        let id = jsonrpc::id(request).cloned().unwrap_or(Value::Null);
        self.wait_for(&id, deadline).await
    }

    /// Waits until `deadline` for the response carrying `id`, skipping notifications,
    /// server-initiated requests, other ids and unreadable messages.
    pub async fn wait_for(&mut self, id: &Value, deadline: Instant) -> Result<Value, ServerError> {
        let started = Instant::now();
        let timeout = || ServerError::Timeout {
            id: id.to_string(),
            seconds: started.elapsed().as_secs_f64(),
        };
        loop {
            let next = tokio::time::timeout_at(deadline, self.reader.read_message()).await;
            match next.map_err(|_| timeout())? {
                Ok(Some(message)) => {
                    if jsonrpc::kind(&message) == jsonrpc::Kind::Response
                        && jsonrpc::id(&message) == Some(id)
                    {
                        return Ok(message);
                    }
                }
                Ok(None) => {
                    return Err(ServerError::Closed { id: id.to_string() });
                }
                Err(err) if err.is_skippable() => {
                    tracing::debug!("skipping an unreadable server message: {err}");
                }
                Err(err) => return Err(ServerError::Receive(err)),
            }
        }
    }
}
