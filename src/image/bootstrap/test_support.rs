//! Fixtures shared by the bootstrap's unit tests.

use std::path::PathBuf;

use super::{FoundTool, Plan, Tool};

/// A plan for `tool` with fixed paths, mirror and packages.
pub(super) fn plan(tool: Tool, keyring: Option<&str>) -> Plan {
    Plan {
        tool: FoundTool {
            tool,
            path: PathBuf::from(format!("/usr/sbin/{}", tool.name())),
        },
        suite: "bookworm".into(),
        mirror: "http://mirror.example/debian".into(),
        packages: vec!["python3".into(), "g++".into()],
        keyring: keyring.map(PathBuf::from),
        target: PathBuf::from("/var/tmp/harnessgym-rootfs-x"),
    }
}
