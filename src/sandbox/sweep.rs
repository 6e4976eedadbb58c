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
    /// Parse the sweep's output (unknown lines are ignored, missing counters are 0).
    fn parse(text: &str) -> Self {
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
        report
    }
}

impl Container {
    /// Kill every process of the container but init and the keep-alive, as `user` (the
    /// workload's user: it can signal its own processes, and nothing else runs), and read the
    /// limit counters.
    pub async fn sweep(&self, user: Option<&str>) -> Result<SweepReport, SandboxError> {
        let config = CreateExecOptions {
            cmd: Some(vec!["sh".to_string(), "-c".to_string(), SWEEP.to_string()]),
            user: user.map(str::to_string),
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
            SweepReport {
                killed: 3,
                oom_kills: 1,
                pids_refused: 7
            }
        );
        assert_eq!(
            SweepReport::parse("killed 0\noom_kill 0\npids_max 0\n"),
            SweepReport::default()
        );
        assert_eq!(SweepReport::parse("garbage\n"), SweepReport::default());
    }
}
