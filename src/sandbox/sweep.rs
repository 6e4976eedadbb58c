//! The end of a phase: kill everything the workload left running, and read the container's
//! limit counters.
//!
//! Nothing a phase started may outlive it (DESIGN invariant 4): a daemon left by an attempt that
//! exited normally would otherwise keep running through reflect, build and qualification. One
//! exec kills every process but PID 1 (init) and its first child (the keep-alive), pass after
//! pass until none is left, then reads the kernel's counters of the container's cgroup: OOM kills (cgroup v1 `memory.oom_control`, v2
//! `memory.events`) and fork refusals at the pids limit (`pids.events`). The counters are
//! cumulative for the container; callers compare them across a phase.

use bollard::exec::{CreateExecOptions, StartExecResults};
use futures::StreamExt;

use super::container::Container;
use super::deadline::{self, within};
use super::error::SandboxError;

/// Kills every process except PID 1, its oldest child and itself, then prints the counters.
///
/// A fork bomb forks while a pass of kills runs, so passes repeat until one finds nothing left
/// to kill (zombies count until init reaps them; at most 1000 passes). Stopping processes first
/// does not hold: the kernel continues a stopped process group once it is orphaned. A process is
/// counted once however many passes saw it. Only shell builtins are used: at the pids limit a
/// command substitution or a pipe cannot fork, and would leave the keep-alive unknown (then
/// killed) or the counters unread.
const SWEEP: &str = r#"keep=
read -r keep rest < /proc/1/task/1/children
n=0
i=0
killed=" "
while [ "$i" -lt 1000 ]; do
  any=0
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case "$p" in 1|"$keep"|"$$") continue ;; esac
    kill -KILL "$p" 2>/dev/null || continue
    any=1
    case "$killed" in *" $p "*) ;; *) killed="$killed$p "; n=$((n+1)) ;; esac
  done
  [ "$any" = 0 ] && break
  i=$((i+1))
done
oom=0
for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do
  [ -r "$f" ] && while read -r k v; do [ "$k" = oom_kill ] && oom=$v; done < "$f"
done
pids=0
for f in /sys/fs/cgroup/pids/pids.events /sys/fs/cgroup/pids.events; do
  [ -r "$f" ] && while read -r k v; do [ "$k" = max ] && pids=$v; done < "$f"
done
echo "killed $n"; echo "oom_kill $oom"; echo "pids_max $pids""#;

/// What a sweep found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Processes killed.
    pub killed: u64,
    /// OOM kills in the container so far.
    pub oom_kills: u64,
    /// Forks refused at the pids limit so far.
    pub pids_refused: u64,
}

impl SweepReport {
    /// Parse the sweep's output (unknown lines are ignored, missing counters are 0). `None`
    /// when the sweep did not run to its end (no `killed` line): an exec into a container at its
    /// pids limit can fail to start, and says so only on a stream the sweep does not read.
    fn parse(text: &str) -> Option<Self> {
        if !text.lines().any(|l| l.starts_with("killed ")) {
            return None;
        }
        let mut report = SweepReport::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let (Some(key), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            let value = value.parse().unwrap_or(0);
            match key {
                "killed" => report.killed = value,
                "oom_kill" => report.oom_kills = value,
                "pids_max" => report.pids_refused = value,
                _ => {}
            }
        }
        Some(report)
    }
}

/// How many times a sweep that did not start is tried again, and the pause between tries.
const TRIES: u32 = 20;
const PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

impl Container {
    /// Kill every process of the container but init and the keep-alive, as `user` (the
    /// workload's user: it can signal its own processes, and nothing else runs), and read the
    /// limit counters.
    ///
    /// At the pids limit the sweep's own exec can fail to start (the engine needs to fork in the
    /// container): it is tried again, and a sweep that never ran is an error, never "nothing
    /// left".
    pub async fn sweep(&self, user: Option<&str>) -> Result<SweepReport, SandboxError> {
        for _ in 0..TRIES {
            if let Some(report) = self.sweep_once(user).await? {
                return Ok(report);
            }
            tokio::time::sleep(PAUSE).await;
        }
        Err(SandboxError::SweepFailed {
            id: self.short(),
            tries: TRIES,
        })
    }

    async fn sweep_once(&self, user: Option<&str>) -> Result<Option<SweepReport>, SandboxError> {
        let config = CreateExecOptions {
            cmd: Some(vec!["sh".to_string(), "-c".to_string(), SWEEP.to_string()]),
            user: Some(user.unwrap_or(self.user()).to_string()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let docker = &self.engine().docker;
        let run = async {
            let created = docker.create_exec(self.id(), config).await?;
            let mut text = Vec::new();
            if let StartExecResults::Attached { mut output, .. } =
                docker.start_exec(&created.id, None).await?
            {
                while let Some(frame) = output.next().await {
                    if let Ok(bollard::container::LogOutput::StdOut { message }) = frame {
                        text.extend_from_slice(&message);
                    }
                }
            }
            Ok::<Vec<u8>, bollard::errors::Error>(text)
        };
        let text = within(deadline::QUICK, run)
            .await
            .map_err(|source| SandboxError::Exec {
                id: self.short(),
                command: "sweep".to_string(),
                source,
            })?;
        Ok(SweepReport::parse(&String::from_utf8_lossy(&text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_parse_from_both_cgroup_versions() {
        let v1 = "killed 3\noom_kill 1\npids_max 7\n";
        assert_eq!(
            SweepReport::parse(v1),
            Some(SweepReport {
                killed: 3,
                oom_kills: 1,
                pids_refused: 7
            })
        );
        assert_eq!(
            SweepReport::parse("killed 0\noom_kill 0\npids_max 0\n"),
            Some(SweepReport::default())
        );
        assert_eq!(SweepReport::parse("killed 2\n").map(|r| r.killed), Some(2));
    }

    #[test]
    fn a_sweep_that_did_not_run_is_not_an_empty_one() {
        assert_eq!(SweepReport::parse(""), None);
        assert_eq!(SweepReport::parse("garbage\n"), None);
    }
}
