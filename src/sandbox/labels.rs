//! Labels on every Docker object harnessgym creates, and who owns it.
//!
//! Everything carries `dev.harnessgym.run` (which run or command made it), a role, and the owner
//! process (pid, its start time, and the host name), so that a reaper can tell a live owner from a
//! dead one even after a pid is reused, and never touches objects of another machine sharing the
//! engine.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Label: the run id (or command name) that created the object. Every object has it.
pub const RUN: &str = "dev.harnessgym.run";
/// Label: what the object is for ([`Role`]).
pub const ROLE: &str = "dev.harnessgym.role";
/// Label: pid of the harnessgym process that created the object.
pub const OWNER_PID: &str = "dev.harnessgym.owner-pid";
/// Label: start time (clock ticks since boot) of that process, to survive pid reuse.
pub const OWNER_START: &str = "dev.harnessgym.owner-start";
/// Label: host name of the machine that process ran on.
pub const OWNER_HOST: &str = "dev.harnessgym.owner-host";
/// Label: creation time, seconds since the Unix epoch.
pub const CREATED: &str = "dev.harnessgym.created";

/// What a labelled object is for. Containers are always transient; images with a snapshot role
/// outlive their process until `harnessgym gc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A container running one agent session (attempt, reflect, build, repairs).
    Session,
    /// A throwaway container for qualification, scoring or a self-test.
    Scratch,
    /// A committed workspace state.
    Snapshot,
    /// A container used only to build, read or write a snapshot.
    Staging,
    /// A container or image made by the test suite.
    Test,
}

impl Role {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Session => "session",
            Role::Scratch => "scratch",
            Role::Snapshot => "snapshot",
            Role::Staging => "staging",
            Role::Test => "test",
        }
    }
}

/// The process that owns objects: this one, or one read back from labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Process start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start: u64,
    /// Host name.
    pub host: String,
}

impl Owner {
    /// The current process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Owner {
            pid,
            start: process_start(pid).unwrap_or(0),
            host: host_name(),
        }
    }

    /// Read the owner back from an object's labels; `None` when they are missing or malformed.
    pub fn from_labels(labels: &HashMap<String, String>) -> Option<Self> {
        Some(Owner {
            pid: labels.get(OWNER_PID)?.parse().ok()?,
            start: labels.get(OWNER_START)?.parse().ok()?,
            host: labels.get(OWNER_HOST)?.clone(),
        })
    }

    /// The owner labels plus run, role and creation time.
    pub fn labels(&self, run: &str, role: Role) -> HashMap<String, String> {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        HashMap::from([
            (RUN.to_string(), run.to_string()),
            (ROLE.to_string(), role.as_str().to_string()),
            (OWNER_PID.to_string(), self.pid.to_string()),
            (OWNER_START.to_string(), self.start.to_string()),
            (OWNER_HOST.to_string(), self.host.clone()),
            (CREATED.to_string(), created.to_string()),
        ])
    }

    /// Whether this owner is known to be gone. Owners on another host are never "gone": we
    /// cannot see their processes, so their objects are left alone.
    pub fn is_dead(&self, here: &str) -> bool {
        if self.host != here {
            return false;
        }
        match process_start(self.pid) {
            None => true,
            Some(start) => start != self.start,
        }
    }
}

/// Start time of a process in clock ticks since boot, or `None` if it does not exist.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Field 22 of `/proc/<pid>/stat`. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This machine's host name (kernel node name), or `unknown`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// A label filter `key=value` for list calls.
pub fn filter(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_spaces_in_the_name() {
        let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987_654));
    }

    #[test]
    fn the_current_process_is_alive_and_round_trips_through_labels() {
        let me = Owner::current();
        assert!(me.start > 0);
        let labels = me.labels("run-1", Role::Test);
        assert_eq!(labels[RUN], "run-1");
        assert_eq!(labels[ROLE], "test");
        let back = Owner::from_labels(&labels).expect("owner labels parse");
        assert_eq!(back, me);
        assert!(!back.is_dead(&me.host));
    }

    #[test]
    fn a_reused_pid_or_a_missing_process_is_dead_but_another_host_is_not() {
        let me = Owner::current();
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert!(reused.is_dead(&me.host));
        let gone = Owner {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(gone.is_dead(&me.host));
        assert!(!gone.is_dead("some-other-host"));
    }
}
