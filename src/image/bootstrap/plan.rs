//! What to bootstrap: the caller's [`BootstrapOptions`], the fully resolved [`Plan`] (tool,
//! suite, mirror, packages, keyring, target) and the tool's command line for it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::mirror::detect_mirror;
use super::tool::{FoundTool, Tool};

/// The Debian release the base image is built from.
pub const DEFAULT_SUITE: &str = "bookworm";
/// The bootstrap variant: Essential + apt + Priority: required, nothing else.
pub const VARIANT: &str = "minbase";
/// Packages added to the variant; the same list as `images/base/Dockerfile`.
pub const BASE_PACKAGES: &[&str] = &[
    "python3",
    "gcc",
    "g++",
    "make",
    "git",
    "procps",
    "coreutils",
    "ca-certificates",
    "passwd",
];
/// The Debian archive keyring, passed to the tool when the host has it.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// What to bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapOptions {
    /// The suite (release), e.g. `bookworm`.
    pub suite: String,
    /// The mirror; `None` detects it from `/etc/apt`.
    pub mirror: Option<String>,
    /// Packages added to the variant.
    pub packages: Vec<String>,
    /// Where the temporary tree goes; `None` uses `/var/tmp` (disk-backed and rarely
    /// `noexec`/`nodev`, unlike a tmpfs `/tmp`), else the system temp dir.
    pub work_dir: Option<PathBuf>,
    /// The keyring; `None` uses [`DEBIAN_KEYRING`] when it exists.
    pub keyring: Option<PathBuf>,
    /// Kill the tool after this long; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Install `debootstrap` with apt-get when no tool exists (and we are root).
    pub allow_install: bool,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            suite: DEFAULT_SUITE.to_owned(),
            mirror: None,
            packages: BASE_PACKAGES.iter().map(|p| (*p).to_owned()).collect(),
            work_dir: None,
            keyring: None,
            timeout: Some(Duration::from_secs(30 * 60)),
            allow_install: true,
        }
    }
}

/// A fully resolved bootstrap invocation (what [`command_line`] turns into argv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The tool to run.
    pub tool: FoundTool,
    /// The suite.
    pub suite: String,
    /// The mirror URI.
    pub mirror: String,
    /// Packages added to the variant.
    pub packages: Vec<String>,
    /// The keyring, if any.
    pub keyring: Option<PathBuf>,
    /// The target directory (exists and is empty).
    pub target: PathBuf,
}

/// The plan for `options` with `tool` into the empty directory `target`: the mirror defaults to
/// the one in `/etc/apt`, the keyring to [`DEBIAN_KEYRING`] when it exists.
pub(super) fn resolve_plan(options: &BootstrapOptions, tool: FoundTool, target: PathBuf) -> Plan {
    let mirror = options
        .mirror
        .clone()
        .unwrap_or_else(|| detect_mirror(Path::new("/etc/apt")));
    let keyring = options
        .keyring
        .clone()
        .or_else(|| Some(PathBuf::from(DEBIAN_KEYRING)).filter(|k| k.exists()));
    Plan {
        tool,
        suite: options.suite.clone(),
        mirror,
        packages: options.packages.clone(),
        keyring,
        target,
    }
}

/// The argv for a plan, program first.
///
/// debootstrap: `debootstrap --variant=minbase --include=a,b [--keyring=K] SUITE TARGET MIRROR`;
/// mmdebstrap: `mmdebstrap --mode=root --format=directory --variant=minbase --include=a,b
/// [--keyring=K] SUITE TARGET MIRROR`.
pub fn command_line(plan: &Plan) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![plan.tool.path.clone().into_os_string()];
    if plan.tool.tool == Tool::Mmdebstrap {
        argv.push("--mode=root".into());
        argv.push("--format=directory".into());
    }
    argv.push(format!("--variant={VARIANT}").into());
    if !plan.packages.is_empty() {
        argv.push(format!("--include={}", plan.packages.join(",")).into());
    }
    if let Some(keyring) = &plan.keyring {
        let mut arg = OsString::from("--keyring=");
        arg.push(keyring);
        argv.push(arg);
    }
    argv.push(plan.suite.clone().into());
    argv.push(plan.target.clone().into_os_string());
    argv.push(plan.mirror.clone().into());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bootstrap::test_support::plan;

    fn strings(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn debootstrap_command_line() {
        let argv = command_line(&plan(Tool::Debootstrap, Some(DEBIAN_KEYRING)));
        assert_eq!(
            strings(&argv),
            [
                "/usr/sbin/debootstrap",
                "--variant=minbase",
                "--include=python3,g++",
                "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
                "bookworm",
                "/var/tmp/harnessgym-rootfs-x",
                "http://mirror.example/debian",
            ]
        );
    }

    #[test]
    fn mmdebstrap_command_line_without_keyring() {
        let argv = command_line(&plan(Tool::Mmdebstrap, None));
        assert_eq!(
            strings(&argv),
            [
                "/usr/sbin/mmdebstrap",
                "--mode=root",
                "--format=directory",
                "--variant=minbase",
                "--include=python3,g++",
                "bookworm",
                "/var/tmp/harnessgym-rootfs-x",
                "http://mirror.example/debian",
            ]
        );
    }

    #[test]
    fn default_options_use_the_base_packages() {
        let options = BootstrapOptions::default();
        assert_eq!(options.suite, "bookworm");
        assert_eq!(options.packages, BASE_PACKAGES);
        assert!(options.packages.iter().any(|p| p == "passwd"), "useradd");
    }
}
