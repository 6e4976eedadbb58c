//! Process groups of the host-side children harnessgym starts in a group of their own
//! (`process_group(0)`): MCP servers, self-tests, image bootstrap tools. One way to signal a group,
//! and one way to stop it: SIGTERM the group, give the leader a grace period, then SIGKILL the
//! group — also when the leader is gone already, so a grandchild cannot outlive it — and reap the
//! leader.
//!
//! This is the crate's only `kill(2)`: std has no safe call for a process group.

use std::io;
use std::time::{Duration, Instant};

/// A signal harnessgym sends to a process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: ask the processes to exit (a tool unmounts, a server flushes).
    Terminate,
    /// SIGKILL: end them now.
    Kill,
}

impl Signal {
    fn number(self) -> libc::c_int {
        match self {
            Signal::Terminate => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

/// Sends `signal` to every process of the group `pgid`. A group that is gone already is not an
/// error. `pgid` 0 and 1 are refused (`kill(0)` is our own group, `kill(-1)` every process we
/// may signal), as is a value that is not a pid.
pub fn signal_group(pgid: u32, signal: Signal) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid)
        .ok()
        .filter(|pgid| *pgid > 1)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{pgid} is not a child's process group"),
            )
        })?;
    match kill(-pgid, signal.number()) {
        Err(err) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        other => other,
    }
}

#[expect(
    unsafe_code,
    reason = "kill(2) on a process group has no safe std wrapper"
)]
fn kill(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Signals the group `pgid`, or only the leader when there is no group to signal (`pgid` unknown,
/// or the call failed) — with SIGKILL, the only signal std can send.
fn signal_or_kill_leader(pgid: Option<u32>, signal: Signal, kill_leader: impl FnOnce()) {
    let sent = pgid.map(|pgid| signal_group(pgid, signal));
    match sent {
        Some(Ok(())) => {}
        Some(Err(err)) => {
            tracing::warn!("could not signal process group: {err}");
            kill_leader();
        }
        None => kill_leader(),
    }
}

/// Stops the group of `child` (led by it, `pgid` = its pid as recorded at spawn): SIGTERM unless
/// the leader has exited, up to `grace` for it to exit, then SIGKILL to the group, and the leader
/// reaped (waiting at most `grace` more).
pub async fn stop_group(child: &mut tokio::process::Child, pgid: Option<u32>, grace: Duration) {
    if matches!(child.try_wait(), Ok(None)) {
        signal_or_kill_leader(pgid, Signal::Terminate, || {
            let _ = child.start_kill();
        });
        let _ = tokio::time::timeout(grace, child.wait()).await;
    }
    signal_or_kill_leader(pgid, Signal::Kill, || {});
    let _ = child.start_kill();
    let _ = tokio::time::timeout(grace, child.wait()).await;
}

/// [`stop_group`] for a std child, blocking: polls the leader every 100 ms during the grace
/// period, then SIGKILLs the group and reaps the leader.
pub fn stop_group_blocking(child: &mut std::process::Child, grace: Duration) {
    let pgid = Some(child.id());
    if matches!(child.try_wait(), Ok(None)) {
        signal_or_kill_leader(pgid, Signal::Terminate, || {
            let _ = child.kill();
        });
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100).min(grace));
        }
    }
    signal_or_kill_leader(pgid, Signal::Kill, || {});
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;

    use super::*;

    /// Whether `pid` is still a live process (a zombie waiting for its parent counts as gone).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat.rsplit_once(") ")?.1.chars().next()?;
                Some(state != 'Z' && state != 'X')
            })
            .unwrap_or(false)
    }

    fn gone_within(pid: u32, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        !alive(pid)
    }

    /// `sh` in its own group that starts a grandchild `sleep`, prints the grandchild's pid, and
    /// waits.
    fn family() -> (std::process::Child, u32) {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & echo $!; wait"])
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the grandchild's pid");
        let grandchild = line.trim().parse().expect("a pid");
        (child, grandchild)
    }

    #[test]
    fn refuses_groups_that_are_not_a_childs() {
        for pgid in [0, 1, u32::MAX] {
            let err = signal_group(pgid, Signal::Terminate).expect_err("refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{pgid}");
        }
    }

    #[test]
    fn a_group_that_is_gone_is_not_an_error() {
        let mut child = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .expect("true starts");
        let pgid = child.id();
        child.wait().expect("wait");
        assert!(signal_group(pgid, Signal::Kill).is_ok());
    }

    #[test]
    fn the_blocking_stop_ends_the_grandchild_too() {
        let (mut child, grandchild) = family();
        let started = Instant::now();
        stop_group_blocking(&mut child, Duration::from_secs(5));
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "SIGTERM was enough"
        );
        assert!(matches!(child.try_wait(), Ok(Some(_))), "leader reaped");
        assert!(gone_within(grandchild, Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "trap '' TERM; sleep 60 & echo $!; wait"])
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let mut line = String::new();
        tokio::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .await
            .expect("the grandchild's pid");
        let grandchild: u32 = line.trim().parse().expect("a pid");
        let pgid = child.id();
        let grace = Duration::from_millis(300);
        let started = Instant::now();
        stop_group(&mut child, pgid, grace).await;
        let took = started.elapsed();
        assert!(took >= grace && took < Duration::from_secs(3), "{took:?}");
        assert!(matches!(child.try_wait(), Ok(Some(_))), "leader reaped");
        assert!(gone_within(grandchild, Duration::from_secs(5)));
    }
}
