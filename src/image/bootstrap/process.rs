//! Running a tool: start it in its own process group, stream its output lines to `tracing`, and
//! stop it on cancel or timeout by killing the whole group.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::error::BootstrapError;

/// How long a cancelled or timed-out tool gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Run a command in its own process group, logging each output line (`E:` lines at error,
/// `W:` at warn, the rest at info), until it exits, the deadline passes or `cancelled()`.
pub(super) fn run_streaming(
    mut command: Command,
    timeout: Option<Duration>,
    cancelled: &(dyn Fn() -> bool + Sync),
    mirror: Option<String>,
) -> Result<(), BootstrapError> {
    let program = PathBuf::from(command.get_program());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(|source| BootstrapError::Spawn {
        program: program.clone(),
        source,
    })?;
    let rx = read_lines(&mut child);
    let watched = watch(&mut child, &rx, &program, timeout, cancelled);
    drop(rx);
    let last_line = match watched {
        Ok(last_line) => last_line,
        Err(err) => {
            kill_group(&mut child);
            return Err(err);
        }
    };
    let status = child.wait().map_err(|source| BootstrapError::Wait {
        program: program.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BootstrapError::Failed {
            program,
            status,
            last_line,
            mirror,
        })
    }
}

/// Take the child's stdout and stderr and forward their lines, from one thread each, to the
/// returned channel, which disconnects once both pipes are closed.
///
/// The reader threads end when the last holder of the pipes exits; they are not joined, so a
/// straggler outside the process group cannot block us.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    let streams = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for stream in streams.into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                if tx
                    .send(String::from_utf8_lossy(&line).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
    }
    rx
}

/// Log the lines arriving on `rx` until the output ends (or stops draining after the child
/// exited): returns the last non-empty line, or the error when `cancelled()` or the deadline
/// passes first.
fn watch(
    child: &mut Child,
    rx: &mpsc::Receiver<String>,
    program: &Path,
    timeout: Option<Duration>,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<String, BootstrapError> {
    let started = Instant::now();
    let mut last_line = String::new();
    // Once the child has exited, wait at most this long for the pipes to drain: a daemon started
    // by a maintainer script could hold them open forever.
    let mut drain_until: Option<Instant> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let line = line.trim_end().to_owned();
                if line.is_empty() {
                    continue;
                }
                log_line(&line);
                last_line = line;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(last_line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        match drain_until {
            Some(until) if Instant::now() > until => return Ok(last_line),
            Some(_) => {}
            None => {
                if let Ok(Some(_)) = child.try_wait() {
                    drain_until = Some(Instant::now() + Duration::from_secs(2));
                }
            }
        }
        if cancelled() {
            return Err(BootstrapError::Cancelled);
        }
        if let Some(limit) = timeout.filter(|limit| started.elapsed() > *limit) {
            return Err(BootstrapError::TimedOut {
                program: program.to_path_buf(),
                after: limit,
            });
        }
    }
}

/// Log one output line of the tool: `E:` lines at error, `W:` at warn, the rest at info.
fn log_line(line: &str) {
    if line.starts_with("E:") {
        tracing::error!("{line}");
    } else if line.starts_with("W:") {
        tracing::warn!("{line}");
    } else {
        tracing::info!("{line}");
    }
}

/// SIGTERM the child's process group (debootstrap unmounts what it mounted on exit), then
/// SIGKILL it after [`KILL_GRACE`].
fn kill_group(child: &mut Child) {
    crate::process::stop_group_blocking(child, KILL_GRACE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_streaming_reports_status_and_last_line() {
        let mut command = Command::new("sh");
        // The pause orders the lines: stdout and stderr are read by separate threads.
        command.args([
            "-c",
            "echo 'I: one'; sleep 0.2; echo 'E: broken' >&2; exit 3",
        ]);
        let err = run_streaming(command, None, &|| false, Some("http://m/debian".into()))
            .expect_err("fails");
        match &err {
            BootstrapError::Failed { last_line, .. } => assert_eq!(last_line, "E: broken"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.hint().expect("hint").contains("http://m/debian"));
    }

    #[test]
    fn run_streaming_kills_the_group_on_timeout_and_cancel() {
        let started = Instant::now();
        let mut command = Command::new("sh");
        // The grandchild holds the pipes; the group kill must end it too.
        command.args(["-c", "sleep 60 & sleep 60; wait"]);
        let err = run_streaming(command, Some(Duration::from_millis(300)), &|| false, None)
            .expect_err("times out");
        assert!(matches!(err, BootstrapError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let started = Instant::now();
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 60"]);
        let err = run_streaming(
            command,
            None,
            &|| started.elapsed() > Duration::from_millis(300),
            None,
        )
        .expect_err("cancelled");
        assert!(matches!(err, BootstrapError::Cancelled), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
