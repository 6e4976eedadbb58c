//! MCP self-tests (reference §6.3, `activation.py:_run_mcp_self_test`).
//!
//! The manifest's `self_test` command runs without a shell, in its working directory, with the
//! inherited environment plus the given variables, stdin closed, and in a process group of its
//! own. When the timeout expires the whole group is killed ([`crate::process::signal_group`]),
//! and it is killed as well after a normal exit so no background process of a test outlives it. Output is kept in bounded memory and truncated to
//! [`OUTPUT_LIMIT_CHARS`] characters plus [`TRUNCATION_MARKER`], as the reference does.
//!
//! This spawns generated code: it runs only inside a container (see [`super::activate`]).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use super::manifest::McpServer;
use crate::process::{Signal, signal_group};

/// Characters of stdout or stderr kept in a result.
pub const OUTPUT_LIMIT_CHARS: usize = 8000;
/// Appended to an output that was cut.
pub const TRUNCATION_MARKER: &str = "\n...[truncated]...";
/// Bytes kept per stream: enough for [`OUTPUT_LIMIT_CHARS`] characters of any width, plus one.
const CAPTURE_LIMIT_BYTES: usize = OUTPUT_LIMIT_CHARS * 4 + 4;
/// How long to wait for the output pipes to close once the test is over.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How a self-test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfTestStatus {
    /// Exit status 0.
    Passed,
    /// Non-zero exit, killed by a signal, or could not be started.
    Failed,
    /// Still running at the timeout; killed.
    Timeout,
    /// The manifest has no self-test (fails the server gate).
    NotConfigured,
}

impl SelfTestStatus {
    /// The report spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::NotConfigured => "not_configured",
        }
    }
}

/// The report's `self_test` entry of a server; absent fields are left out, as in the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfTestResult {
    /// The outcome.
    pub status: SelfTestStatus,
    /// One line for people and warnings.
    pub message: String,
    /// The command run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Exit code, or minus the signal number (Python's `returncode`); absent on timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<i32>,
    /// Standard output, truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// Standard error, truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

impl SelfTestResult {
    /// The result for a manifest without a self-test.
    pub fn not_configured() -> Self {
        Self {
            status: SelfTestStatus::NotConfigured,
            message: "manifest has no self_test command".to_owned(),
            command: None,
            return_code: None,
            stdout: None,
            stderr: None,
        }
    }

    fn could_not_run(command: &[String], message: String) -> Self {
        Self {
            status: SelfTestStatus::Failed,
            message,
            command: Some(command.to_vec()),
            return_code: None,
            stdout: None,
            stderr: None,
        }
    }
}

/// One self-test run.
#[derive(Debug, Clone, Copy)]
pub struct SelfTestRequest<'a> {
    /// Program and arguments (no shell).
    pub command: &'a [String],
    /// Working directory.
    pub cwd: &'a Path,
    /// Kill the test after this long.
    pub timeout: Duration,
    /// Variables added to the inherited environment.
    pub env: &'a [(String, String)],
}

/// Runs `server`'s self-test with its effective timeout, or reports it as not configured.
pub async fn run_server_self_test(server: &McpServer, env: &[(String, String)]) -> SelfTestResult {
    let Some(spec) = &server.self_test else {
        return SelfTestResult::not_configured();
    };
    let request = SelfTestRequest {
        command: &spec.command,
        cwd: &spec.cwd,
        timeout: Duration::from_secs(server.effective_self_test_timeout()),
        env,
    };
    run_self_test(&request).await
}

/// How the wait for a self-test ended.
enum Ended {
    Exited(std::process::ExitStatus),
    TimedOut,
    WaitFailed(std::io::Error),
}

/// Runs one self-test; never fails, every problem is a `failed` result.
pub async fn run_self_test(request: &SelfTestRequest<'_>) -> SelfTestResult {
    let Some((program, args)) = request.command.split_first() else {
        return SelfTestResult::could_not_run(
            request.command,
            "self_test command is empty or invalid".to_owned(),
        );
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(request.cwd)
        .envs(request.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return SelfTestResult::could_not_run(
                request.command,
                format!("could not run self-test: {error}"),
            );
        }
    };
    let (stdout, stderr) = (Captured::default(), Captured::default());
    let mut pumps = Vec::new();
    if let Some(pipe) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(pipe, stdout.clone())));
    }
    if let Some(pipe) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(pipe, stderr.clone())));
    }
    let ended = wait_then_kill_group(&mut child, request.timeout).await;
    drain(pumps).await;
    finish(request, ended, stdout.text(), stderr.text())
}

/// Waits for the test up to `timeout`, then kills its whole process group in every case.
async fn wait_then_kill_group(child: &mut tokio::process::Child, timeout: Duration) -> Ended {
    let pgid = child.id();
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    if let Some(pgid) = pgid
        && let Err(error) = signal_group(pgid, Signal::Kill)
    {
        tracing::warn!("could not kill self-test process group {pgid}: {error}");
    }
    match waited {
        Ok(Ok(status)) => Ended::Exited(status),
        Ok(Err(error)) => Ended::WaitFailed(error),
        Err(_elapsed) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Ended::TimedOut
        }
    }
}

/// The result of a test that was started.
fn finish(
    request: &SelfTestRequest<'_>,
    ended: Ended,
    stdout: String,
    stderr: String,
) -> SelfTestResult {
    let mut result = SelfTestResult {
        status: SelfTestStatus::Failed,
        message: String::new(),
        command: Some(request.command.to_vec()),
        return_code: None,
        stdout: Some(stdout),
        stderr: Some(stderr),
    };
    match ended {
        Ended::Exited(status) => {
            let code = status.code().or_else(|| status.signal().map(|s| -s));
            result.return_code = code;
            result.message = if status.success() {
                result.status = SelfTestStatus::Passed;
                "self-test passed".to_owned()
            } else {
                format!("self-test exited {}", code.unwrap_or(-1))
            };
        }
        Ended::TimedOut => {
            result.status = SelfTestStatus::Timeout;
            result.message = format!(
                "self-test timed out after {}",
                seconds_text(request.timeout)
            );
        }
        Ended::WaitFailed(error) => {
            result.message = format!("could not wait for self-test: {error}");
        }
    }
    result
}

/// `2s`, or `2.5s` for a fractional timeout (Python's `{:g}`).
fn seconds_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

/// Waits a little for the output pipes to close (a process that left the group may hold them)
/// and stops reading after that.
async fn drain(pumps: Vec<JoinHandle<()>>) {
    let deadline = tokio::time::Instant::now() + DRAIN_GRACE;
    for pump in pumps {
        let abort = pump.abort_handle();
        if tokio::time::timeout_at(deadline, pump).await.is_err() {
            abort.abort();
        }
    }
}

/// A stream's bytes, at most [`CAPTURE_LIMIT_BYTES`], shared with the task reading it so a
/// partial output survives when the reader is abandoned.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn append(&self, chunk: &[u8]) {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = CAPTURE_LIMIT_BYTES.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn text(&self) -> String {
        truncate_output(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Reads `pipe` to its end, keeping what fits; the rest is read and dropped so the writer never
/// blocks on a full pipe.
async fn pump(mut pipe: impl AsyncRead + Unpin, sink: Captured) {
    let mut buffer = vec![0_u8; 8192];
    while let Ok(read) = pipe.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        sink.append(&buffer[..read]);
    }
}

/// Decodes output (invalid UTF-8 replaced) and keeps the first [`OUTPUT_LIMIT_CHARS`]
/// characters, adding [`TRUNCATION_MARKER`] when something was cut.
pub fn truncate_output(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(OUTPUT_LIMIT_CHARS) {
        None => text.into_owned(),
        Some((cut, _)) => format!("{}{TRUNCATION_MARKER}", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Runs `script` with `sh -c` in a temporary directory; the script writes the pid of a
    /// background `sleep` to `pid`. Returns the result and whether that sleep is still alive.
    async fn run_script(script: &str, timeout: Duration) -> (SelfTestResult, bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let command = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        let request = SelfTestRequest {
            command: &command,
            cwd: dir.path(),
            timeout,
            env: &[],
        };
        let result = run_self_test(&request).await;
        let pid = std::fs::read_to_string(dir.path().join("pid")).expect("the script wrote pid");
        let stat = format!("/proc/{}/stat", pid.trim());
        let mut alive = true;
        for _ in 0..100 {
            let state = std::fs::read_to_string(&stat).ok().and_then(|text| {
                let rest = text.rsplit_once(") ")?.1.to_owned();
                rest.chars().next()
            });
            alive = state.is_some_and(|s| s != 'Z' && s != 'X');
            if !alive {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (result, alive)
    }

    #[tokio::test]
    async fn the_whole_group_is_killed_after_a_pass_and_at_the_timeout() {
        let (result, alive) = run_script("sleep 60 & echo $! > pid", Duration::from_secs(10)).await;
        assert_eq!(result.status, SelfTestStatus::Passed, "{}", result.message);
        assert!(!alive, "a background process of a passing test is killed");

        let started = std::time::Instant::now();
        let (result, alive) = run_script(
            "sleep 60 & echo $! > pid; sleep 60",
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(result.status, SelfTestStatus::Timeout, "{}", result.message);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!alive, "the timed-out test's group is killed");
    }

    #[test]
    fn truncation_keeps_8000_characters() {
        assert_eq!(truncate_output(b"short"), "short");
        let exact = "é".repeat(OUTPUT_LIMIT_CHARS);
        assert_eq!(truncate_output(exact.as_bytes()), exact);
        let long = format!("{exact}xyz");
        assert_eq!(
            truncate_output(long.as_bytes()),
            format!("{exact}\n...[truncated]...")
        );
        assert_eq!(truncate_output(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn the_capture_is_bounded_but_still_marks_truncation() {
        let captured = Captured::default();
        for _ in 0..10 {
            captured.append(&[b'x'; 10_000]);
        }
        let text = captured.text();
        assert!(text.ends_with(TRUNCATION_MARKER));
        assert_eq!(text.len(), OUTPUT_LIMIT_CHARS + TRUNCATION_MARKER.len());
    }

    #[test]
    fn results_serialize_like_the_reference() {
        assert_eq!(
            serde_json::to_value(SelfTestResult::not_configured()).expect("json"),
            json!({"status": "not_configured", "message": "manifest has no self_test command"})
        );
        assert_eq!(SelfTestStatus::Timeout.as_str(), "timeout");
        assert_eq!(seconds_text(Duration::from_secs(2)), "2s");
        assert_eq!(seconds_text(Duration::from_millis(2500)), "2.5s");
    }

    #[tokio::test]
    async fn an_empty_command_fails_without_spawning() {
        let request = SelfTestRequest {
            command: &[],
            cwd: Path::new("/nonexistent"),
            timeout: Duration::from_secs(1),
            env: &[],
        };
        let result = run_self_test(&request).await;
        assert_eq!(result.status, SelfTestStatus::Failed);
        assert_eq!(result.message, "self_test command is empty or invalid");
        assert_eq!(result.command, Some(Vec::new()));
    }
}
