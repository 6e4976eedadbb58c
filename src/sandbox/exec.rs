//! Run a command inside a running container, with capped output and a timeout that kills the
//! whole process tree.
//!
//! `docker exec` does not forward signals, so killing is done in three layers:
//! 1. the command runs under coreutils `timeout -k`, which puts itself and the command in a new
//!    process group and signals the whole group (TERM, then KILL after a grace period) — a
//!    grandchild holding the output pipe dies with it;
//! 2. after a timeout — or when output is still open shortly after it — a second exec SIGKILLs
//!    every process in the container except PID 1 (init) and the keep-alive, which catches
//!    processes that escaped the group with `setsid` (sessions run one command at a time, so
//!    nothing else is running there);
//! 3. if even that does not end the stream, the container is killed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::container::Container;
use super::deadline::{self, within};
use super::error::SandboxError;
use super::output::{Captured, OutputSink, SinkWriter};

/// How long `timeout` waits after TERM before it sends KILL to the process group.
const KILL_AFTER: Duration = Duration::from_secs(2);
/// Extra time the host waits past `timeout + KILL_AFTER` before it sweeps the container.
const HOST_SLACK: Duration = Duration::from_secs(1);
/// How long the host waits for the stream to end after a sweep before killing the container.
const AFTER_SWEEP: Duration = Duration::from_secs(2);

/// One command to run in a container.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    /// The command and its arguments (no shell unless you pass `sh -c`).
    pub argv: Vec<String>,
    /// Extra environment (`KEY=value`); secrets belong here, never in the container spec.
    pub env: Vec<String>,
    /// Working directory; the workspace when `None`.
    pub workdir: Option<String>,
    /// User; the container's workload user ([`super::ContainerSpec::user`]) when `None`.
    pub user: Option<String>,
    /// Wall-clock budget; the whole process tree is killed when it runs out.
    pub timeout: Duration,
    /// Where standard output goes.
    pub stdout: OutputSink,
    /// Where standard error goes.
    pub stderr: OutputSink,
    /// What is written to standard input, which is then closed.
    pub stdin: Option<ExecInput>,
    /// Input sent while the command runs (keystrokes for a TTY program); standard input closes
    /// when every sender is gone. Ignored when `stdin` is set.
    pub stdin_feed: Option<StdinFeed>,
    /// Run under a pseudo-terminal (120×40); its output arrives on the standard output sink.
    pub tty: bool,
    /// Not watched by the disk watchdog (the watchdog's own probe).
    pub(crate) unwatched: bool,
}

/// Standard input of a command.
#[derive(Debug, Clone)]
pub enum ExecInput {
    /// These bytes.
    Bytes(Vec<u8>),
    /// A host file, streamed (e.g. an image layer).
    File(std::path::PathBuf),
}

/// The receiving end of input sent to a running command; see [`StdinFeed::channel`].
#[derive(Debug, Clone)]
pub struct StdinFeed(Arc<Mutex<Option<mpsc::UnboundedReceiver<Vec<u8>>>>>);

impl StdinFeed {
    /// A sender for the caller and the feed to put in an [`ExecSpec`] (used by one exec).
    pub fn channel() -> (mpsc::UnboundedSender<Vec<u8>>, StdinFeed) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, StdinFeed(Arc::new(Mutex::new(Some(rx)))))
    }

    fn take(&self) -> Option<mpsc::UnboundedReceiver<Vec<u8>>> {
        match self.0.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

impl ExecSpec {
    /// `argv` with output kept in memory (up to 1 MiB each) and the given timeout.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>, timeout: Duration) -> Self {
        ExecSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            workdir: None,
            user: None,
            timeout,
            stdout: OutputSink::memory(1 << 20),
            stderr: OutputSink::memory(1 << 20),
            stdin: None,
            stdin_feed: None,
            tty: false,
            unwatched: false,
        }
    }

    /// `sh -c script`.
    pub fn shell(script: &str, timeout: Duration) -> Self {
        Self::new(["sh", "-c", script], timeout)
    }

    fn label(&self) -> String {
        let joined = self.argv.join(" ");
        match joined.char_indices().nth(60) {
            Some((cut, _)) => format!("{}…", &joined[..cut]),
            None => joined,
        }
    }
}

/// What became of a command.
#[derive(Debug, Clone)]
pub struct ExecOutcome {
    /// Exit code, when the command ended by itself or by the timeout's signal.
    pub exit_code: Option<i64>,
    /// Whether the timeout ended it.
    pub timed_out: bool,
    /// Wall-clock time from start to the end of its output.
    pub duration: Duration,
    /// Standard output as captured.
    pub stdout: Captured,
    /// Standard error as captured.
    pub stderr: Captured,
    /// Bytes the container had written when the disk watchdog stopped the command.
    pub disk_exceeded: Option<u64>,
}

impl ExecOutcome {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.exit_code == Some(0)
    }
}

impl Container {
    /// Run `spec` in this (running) container.
    pub async fn exec(&self, spec: &ExecSpec) -> Result<ExecOutcome, SandboxError> {
        let exec_err = |source| SandboxError::Exec {
            id: self.short(),
            command: spec.label(),
            source,
        };
        let mut stdout = SinkWriter::open(&spec.stdout, &spec.label())?;
        let mut stderr = SinkWriter::open(&spec.stderr, &spec.label())?;
        let exec_id = self.create_exec(spec).await.map_err(exec_err)?;
        let started = Instant::now();
        let attached = within(
            deadline::QUICK,
            self.engine().docker.start_exec(&exec_id, None),
        )
        .await
        .map_err(exec_err)?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = attached
        else {
            return Err(exec_err(super::error::CallError::Deadline(deadline::QUICK)));
        };
        let keys = spec.stdin_feed.as_ref().and_then(StdinFeed::take);
        match (spec.stdin.clone(), keys) {
            (Some(source), _) => {
                tokio::spawn(async move {
                    // A command that exits without reading its input is not an error.
                    let _ = feed(&mut input, source).await;
                    let _ = input.shutdown().await;
                });
            }
            (None, Some(mut keys)) => {
                tokio::spawn(async move {
                    while let Some(chunk) = keys.recv().await {
                        if input.write_all(&chunk).await.is_err() || input.flush().await.is_err() {
                            break;
                        }
                    }
                    let _ = input.shutdown().await;
                });
            }
            (None, None) => drop(input),
        }
        if spec.tty {
            self.resize_tty(&exec_id).await;
        }
        let pump = async {
            while let Some(frame) = output.next().await {
                match frame {
                    Ok(bollard::container::LogOutput::StdErr { message }) => {
                        stderr.write(&message)?
                    }
                    Ok(other) => stdout.write(&other.into_bytes())?,
                    // The stream breaking (container killed) ends the output, it is not fatal.
                    Err(err) => {
                        tracing::debug!("exec stream ended with an error: {err}");
                        break;
                    }
                }
            }
            Ok::<(), SandboxError>(())
        };
        tokio::pin!(pump);
        let (forced, disk_exceeded) = self.drive(pump, spec).await?;
        let duration = started.elapsed();
        let exit_code = self.exit_code(&exec_id).await;
        let timed_out =
            forced || (duration >= spec.timeout && matches!(exit_code, Some(124) | Some(137)));
        if timed_out && !forced {
            // The engine ends the stream when `timeout` exits, even if a process that escaped
            // its group (setsid) still runs: sweep so nothing of a timed-out command survives.
            self.sweep_quietly(spec).await;
        }
        Ok(ExecOutcome {
            exit_code: if forced { None } else { exit_code },
            timed_out,
            duration,
            stdout: stdout.finish()?,
            stderr: stderr.finish()?,
            disk_exceeded,
        })
    }

    /// Drive the output pump to its end, racing the host deadline and (in a container with a
    /// watched disk limit) the disk watchdog. Returns whether the deadline forced the end, and
    /// the bytes written when the watchdog stopped the command.
    async fn drive(
        &self,
        mut pump: std::pin::Pin<&mut impl std::future::Future<Output = Result<(), SandboxError>>>,
        spec: &ExecSpec,
    ) -> Result<(bool, Option<u64>), SandboxError> {
        let deadline = tokio::time::sleep(spec.timeout + KILL_AFTER + HOST_SLACK);
        tokio::pin!(deadline);
        let watch = self.watch_disk(spec.unwatched);
        tokio::pin!(watch);
        let (forced, exceeded) = tokio::select! {
            done = &mut pump => {
                done?;
                return Ok((false, None));
            }
            () = &mut deadline => {
                tracing::warn!(command = %spec.label(), "output still open after the timeout; sweeping the container");
                (true, None)
            }
            bytes = &mut watch => {
                tracing::warn!(command = %spec.label(), bytes, "over the disk limit; stopping the command");
                (false, Some(bytes))
            }
        };
        self.sweep_quietly(spec).await;
        if let Ok(done) = tokio::time::timeout(AFTER_SWEEP, &mut pump).await {
            done?;
        } else {
            tracing::warn!("sweep did not end the command; killing the container");
            self.kill().await?;
        }
        Ok((forced, exceeded))
    }

    async fn create_exec(&self, spec: &ExecSpec) -> Result<String, super::error::CallError> {
        let mut cmd = vec![
            "timeout".to_string(),
            "-k".to_string(),
            format!("{}", KILL_AFTER.as_secs()),
            format!("{:.3}", spec.timeout.as_secs_f64()),
        ];
        cmd.extend(spec.argv.iter().cloned());
        let config = CreateExecOptions {
            cmd: Some(cmd),
            env: Some(spec.env.clone()),
            working_dir: spec.workdir.clone(),
            user: Some(spec.user.clone().unwrap_or_else(|| self.user().to_string())),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            attach_stdin: Some(spec.stdin.is_some() || spec.stdin_feed.is_some()),
            tty: Some(spec.tty),
            ..Default::default()
        };
        let created = within(
            deadline::QUICK,
            self.engine().docker.create_exec(self.id(), config),
        )
        .await?;
        Ok(created.id)
    }

    /// Give a TTY exec a usable size (a terminal program may refuse to draw at 0×0).
    async fn resize_tty(&self, exec_id: &str) {
        let options = ResizeExecOptions {
            height: 40,
            width: 120,
        };
        let resized = within(
            deadline::QUICK,
            self.engine().docker.resize_exec(exec_id, options),
        )
        .await;
        if let Err(err) = resized {
            tracing::debug!("cannot size the exec's terminal: {err}");
        }
    }

    async fn exit_code(&self, exec_id: &str) -> Option<i64> {
        match within(deadline::QUICK, self.engine().docker.inspect_exec(exec_id)).await {
            Ok(inspect) if inspect.running != Some(true) => inspect.exit_code,
            Ok(_) => None,
            Err(err) => {
                tracing::warn!("cannot read the exit code of an exec: {err}");
                None
            }
        }
    }

    /// Kill every process of the container but init and the keep-alive, as the phase's user;
    /// a failure is logged (the caller is already on its way to killing the container).
    async fn sweep_quietly(&self, spec: &ExecSpec) {
        if let Err(err) = self.sweep(spec.user.as_deref()).await {
            tracing::warn!("sweep failed: {err}");
        }
    }
}

/// Write `source` into a command's standard input.
async fn feed(
    input: &mut (impl tokio::io::AsyncWrite + Unpin),
    source: ExecInput,
) -> std::io::Result<()> {
    match source {
        ExecInput::Bytes(bytes) => input.write_all(&bytes).await,
        ExecInput::File(path) => {
            let mut file = tokio::fs::File::open(path).await?;
            tokio::io::copy(&mut file, input).await.map(|_| ())
        }
    }
}
