//! The bootstrap tool: find `debootstrap` or `mmdebstrap` on this host, install `debootstrap`
//! with apt-get when neither exists and we are root, and tell whether this process is root.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::BootstrapError;
use super::process::run_streaming;

/// Directories searched after `PATH` (root's tools live in sbin, often not on a user's `PATH`).
pub const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];
/// Packages apt-get installs when no bootstrap tool exists.
pub const INSTALL_PACKAGES: &[&str] = &["debootstrap", "debian-archive-keyring"];

/// The command a user runs to install the tool by hand.
pub fn install_hint() -> String {
    format!(
        "sudo apt-get update && sudo apt-get install -y {}",
        INSTALL_PACKAGES.join(" ")
    )
}

/// The bootstrap tools we can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `debootstrap` (preferred: it is what our CI machines have and what is tested).
    Debootstrap,
    /// `mmdebstrap`, run in `--mode=root`.
    Mmdebstrap,
}

impl Tool {
    /// The executable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Debootstrap => "debootstrap",
            Self::Mmdebstrap => "mmdebstrap",
        }
    }
}

/// A bootstrap tool found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTool {
    /// Which tool.
    pub tool: Tool,
    /// Its absolute path.
    pub path: PathBuf,
}

/// Find `debootstrap`, else `mmdebstrap`, in `path_var` (the value of `PATH`) and then in
/// [`SBIN_DIRS`].
pub fn find_tool(path_var: Option<&OsStr>) -> Option<FoundTool> {
    let mut dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    dirs.extend(SBIN_DIRS.iter().map(PathBuf::from));
    [Tool::Debootstrap, Tool::Mmdebstrap]
        .into_iter()
        .find_map(|tool| {
            dirs.iter()
                .filter(|dir| dir.is_absolute())
                .map(|dir| dir.join(tool.name()))
                .find(|path| is_executable(path))
                .map(|path| FoundTool { tool, path })
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Parse the effective uid from the text of `/proc/self/status` (`Uid: real effective saved fs`).
pub fn euid_from_status(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| euid_from_status(&s))
        == Some(0)
}

/// The argv lists that install the tool: `apt-get update`, then `apt-get install`.
pub fn install_command_lines() -> Vec<Vec<String>> {
    let mut install: Vec<String> = ["apt-get", "install", "-y", "--no-install-recommends"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    install.extend(INSTALL_PACKAGES.iter().map(|p| (*p).to_owned()));
    vec![vec!["apt-get".to_owned(), "update".to_owned()], install]
}

/// Find a tool, installing `debootstrap` with apt-get if none exists, we are root, and
/// `allow_install` is set.
pub fn ensure_tool(
    allow_install: bool,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<FoundTool, BootstrapError> {
    let path_var = std::env::var_os("PATH");
    if let Some(found) = find_tool(path_var.as_deref()) {
        return Ok(found);
    }
    let reason = if !allow_install {
        Some("automatic installation is off")
    } else if !is_root() {
        Some("installing it needs root")
    } else if find_in_path(path_var.as_deref(), "apt-get").is_none() {
        Some("apt-get is not available on this host")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(BootstrapError::ToolMissing { reason });
    }
    tracing::info!("installing {} with apt-get", INSTALL_PACKAGES.join(" "));
    for argv in install_command_lines() {
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_streaming(command, None, cancelled, None).map_err(|err| match err {
            BootstrapError::Cancelled => BootstrapError::Cancelled,
            other => BootstrapError::InstallTool {
                source: Box::new(other),
            },
        })?;
    }
    find_tool(path_var.as_deref()).ok_or(BootstrapError::ToolMissing {
        reason: "apt-get finished but no tool was found",
    })
}

fn find_in_path(path_var: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/bin", "/bin"].iter().map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands() {
        assert_eq!(
            install_command_lines(),
            [
                vec!["apt-get", "update"],
                vec![
                    "apt-get",
                    "install",
                    "-y",
                    "--no-install-recommends",
                    "debootstrap",
                    "debian-archive-keyring"
                ],
            ]
        );
        assert!(install_hint().contains("apt-get install -y debootstrap debian-archive-keyring"));
    }

    #[test]
    fn finds_tools_in_path_preferring_debootstrap() {
        use std::os::unix::fs::PermissionsExt as _;
        let bin = tempfile::tempdir().expect("tempdir");
        let make = |name: &str, mode: u32| {
            let path = bin.path().join(name);
            fs::write(&path, "#!/bin/sh\n").expect("write");
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let path_var = std::env::join_paths([bin.path()]).expect("join");
        // Not executable: ignored (unless the host's sbin has one).
        make("mmdebstrap", 0o644);
        if let Some(found) = find_tool(Some(&path_var)) {
            assert!(found.path.starts_with("/usr") || found.path.starts_with("/sbin"));
        }
        let mm = make("mmdebstrap", 0o755);
        let found = find_tool(Some(&path_var)).expect("found");
        if found.tool == Tool::Mmdebstrap {
            assert_eq!(found.path, mm);
        }
        let deb = make("debootstrap", 0o755);
        let found = find_tool(Some(&path_var)).expect("found");
        assert_eq!(
            found,
            FoundTool {
                tool: Tool::Debootstrap,
                path: deb
            }
        );
    }

    #[test]
    fn euid_parsing() {
        let status =
            "Name:\tcat\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(euid_from_status(status), Some(0));
        assert_eq!(
            euid_from_status("Uid:\t1000\t1000\t1000\t1000\n"),
            Some(1000)
        );
        assert_eq!(euid_from_status("Name: x\n"), None);
    }
}
