//! The offline base: build a Debian root filesystem on the host from Debian packages, for when no
//! registry is reachable and `debian:bookworm-slim` cannot be pulled.
//!
//! [`bootstrap`] finds `debootstrap` or `mmdebstrap` (installing `debootstrap` with apt-get when
//! neither exists and we are root), detects the host's Debian mirror, runs the tool into a fresh
//! temporary directory with [`BASE_PACKAGES`], streams its progress to `tracing`, then trims the
//! tree ([`trim_rootfs`]). It returns a [`Rootfs`] handle; the caller packs it with
//! [`write_rootfs_tar`] and imports the stream through the Docker API (`POST /images/create?fromSrc=-`
//! with [`import_changes`]), then drops the handle, which removes the directory.
//!
//! The tree holds every package the `base` Dockerfile needs, so building `base` on top of it needs
//! no network. Keep [`BASE_PACKAGES`] and the list in `images/base/Dockerfile` the same.
//!
//! Safety: the tool may leave `proc`/`sys`/`dev` mounted inside the target when it is killed.
//! Nothing here deletes under a mount point: mounts are detached first and, if any remain, the
//! directory is left on disk (and logged) rather than deleted through it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Mirror used when the host's apt sources name no Debian archive.
pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
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
/// Directories searched after `PATH` (root's tools live in sbin, often not on a user's `PATH`).
pub const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];
/// Packages apt-get installs when no bootstrap tool exists.
pub const INSTALL_PACKAGES: &[&str] = &["debootstrap", "debian-archive-keyring"];
/// dpkg configuration written into the tree so later `apt-get install`s stay slim too.
pub const DPKG_SLIM_CONFIG: &str = "etc/dpkg/dpkg.cfg.d/harnessgym-slim";

const DPKG_SLIM_RULES: &str = "\
# harnessgym: keep the image small and its file count low (on storage drivers without native
# diff, e.g. fuse-overlayfs, every commit walks every file of the image)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
";

/// How long a cancelled or timed-out tool gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// Errors of the bootstrap. Causes are in `source()`, never repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The process is not root; debootstrap and mmdebstrap's root mode need it.
    #[error("creating a root filesystem with {tool} needs root")]
    NotRoot {
        /// The tool that would run.
        tool: &'static str,
    },
    /// Neither tool is installed and it could not be installed.
    #[error("neither debootstrap nor mmdebstrap is installed")]
    ToolMissing {
        /// Why it was not installed automatically.
        reason: &'static str,
    },
    /// `apt-get install debootstrap` failed (to start, or with a non-zero status).
    #[error("failed to install debootstrap with apt-get")]
    InstallTool {
        /// The cause.
        #[source]
        source: Box<BootstrapError>,
    },
    /// The temporary directory for the tree could not be created.
    #[error("failed to create a temporary directory under {}", parent.display())]
    TempDir {
        /// Where it was to be created.
        parent: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A program could not be started.
    #[error("failed to start {}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Waiting for a program failed.
    #[error("failed to wait for {}", program.display())]
    Wait {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A program exited unsuccessfully.
    #[error("{} exited with {status} (last output: {last_line:?})", program.display())]
    Failed {
        /// The program.
        program: PathBuf,
        /// Its exit status.
        status: ExitStatus,
        /// Its last non-empty output line (usually the `E:` line).
        last_line: String,
        /// The mirror it used, for the hint (None when not a bootstrap run).
        mirror: Option<String>,
    },
    /// A program ran past its deadline and was killed.
    #[error("{} took longer than {}s and was killed", program.display(), after.as_secs())]
    TimedOut {
        /// The program.
        program: PathBuf,
        /// The deadline.
        after: Duration,
    },
    /// The caller cancelled (Ctrl-C / SIGTERM); the tool was killed.
    #[error("bootstrap cancelled")]
    Cancelled,
    /// Something is mounted inside the tree, so it is not modified or deleted.
    #[error("{} is a mount point inside the root filesystem; refusing to modify the tree", path.display())]
    Mounted {
        /// The mount point.
        path: PathBuf,
    },
    /// A trim step failed.
    #[error("failed to trim {}", path.display())]
    Trim {
        /// The path being removed or written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Packing the tree as tar failed.
    #[error("failed to pack the root filesystem at {}", path.display())]
    Pack {
        /// The tree.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl BootstrapError {
    /// A sentence telling the user how to fix it, for the errors they can fix.
    pub fn hint(&self) -> Option<String> {
        let install = install_hint();
        match self {
            Self::NotRoot { .. } => Some(
                "run `sudo harnessgym image bootstrap` (or `sudo make base-image`) once; \
                 building images on top of it needs no root"
                    .to_owned(),
            ),
            Self::ToolMissing { reason } => Some(format!("{reason}; install it with `{install}`")),
            Self::InstallTool { .. } => Some(format!("install it by hand with `{install}`")),
            Self::Failed {
                mirror: Some(mirror),
                ..
            } => {
                let keyring = if Path::new(DEBIAN_KEYRING).exists() {
                    String::new()
                } else {
                    format!(" and that {DEBIAN_KEYRING} exists (package debian-archive-keyring)")
                };
                Some(format!(
                    "check that the Debian mirror {mirror} is reachable from this host{keyring}"
                ))
            }
            _ => None,
        }
    }
}

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

/// The Debian suites a bootstrap mirror must serve (an Ubuntu archive serves none of them).
const DEBIAN_SUITES: &[&str] = &[
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
];

/// Whether one apt source (type, URIs, suites) names a Debian archive we can bootstrap from.
fn usable_source(types: &[&str], uri: &str, suites: &[&str]) -> bool {
    types.contains(&"deb")
        && (uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:/"))
        && suites.iter().any(|s| DEBIAN_SUITES.contains(s))
}

/// The first usable Debian mirror URI in deb822 `.sources` text (`Types: deb`, `URIs:`,
/// `Suites:` with a plain Debian suite, not `Enabled: no`).
pub fn mirror_from_deb822(text: &str) -> Option<String> {
    for stanza in deb822_stanzas(text) {
        let get = |key: &str| {
            stanza
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        if get("Enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("no")) {
            continue;
        }
        let types: Vec<&str> = get("Types").unwrap_or("").split_whitespace().collect();
        let suites: Vec<&str> = get("Suites").unwrap_or("").split_whitespace().collect();
        let Some(uri) = get("URIs").and_then(|v| v.split_whitespace().next()) else {
            continue;
        };
        if usable_source(&types, uri, &suites) {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

/// Stanzas of a deb822 file as (field, value) pairs; comments dropped, folded lines joined.
fn deb822_stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stanzas = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !current.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !current.is_empty() {
        stanzas.push(current);
    }
    stanzas
}

/// The first usable Debian mirror URI in one-line `sources.list` text
/// (`deb [options] URI suite components...`).
pub fn mirror_from_one_line(text: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb")
            .filter(|r| r.starts_with([' ', '\t']))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        if let Some(options) = rest.strip_prefix('[') {
            let Some((_, after)) = options.split_once(']') else {
                continue;
            };
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        if usable_source(&["deb"], uri, &[suite]) {
            return Some(uri.trim_end_matches('/').to_owned());
        }
    }
    None
}

/// Detect the Debian mirror from the apt configuration under `apt_dir` (normally `/etc/apt`):
/// `sources.list`, then `sources.list.d/*.list` and `*.sources` by name; [`DEFAULT_MIRROR`] when
/// none names a Debian archive.
pub fn detect_mirror(apt_dir: &Path) -> String {
    let mut files = vec![apt_dir.join("sources.list")];
    if let Ok(entries) = fs::read_dir(apt_dir.join("sources.list.d")) {
        let mut more: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources"))
            .collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let found = if file.extension().is_some_and(|e| e == "sources") {
            mirror_from_deb822(&text)
        } else {
            mirror_from_one_line(&text)
        };
        if let Some(mirror) = found {
            tracing::debug!("debian mirror {mirror} (from {})", file.display());
            return mirror;
        }
    }
    DEFAULT_MIRROR.to_owned()
}

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

/// A bootstrapped root filesystem in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Rootfs {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    /// The plan it was made with.
    pub plan: Plan,
    /// How long the tool ran.
    pub tool_elapsed: Duration,
}

impl Rootfs {
    /// The root of the tree (the tool's target directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory on disk (e.g. for debugging) and return its path.
    pub fn keep(mut self) -> PathBuf {
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.path.clone()
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        if release_mounts(&self.path) {
            if let Err(err) = dir.close() {
                tracing::warn!("failed to remove {}: {err}", self.path.display());
            }
        } else {
            let path = dir.keep();
            tracing::error!(
                "{} still has mounts inside; left on disk instead of deleting through them",
                path.display()
            );
        }
    }
}

/// Create the root filesystem: find or install the tool, check root, run it into a fresh temp
/// dir, trim the tree. `cancelled` is polled while the tool runs (pass the process's
/// cancellation token); the tool runs in its own process group, which is killed on cancel or
/// timeout. Blocking: call it from `spawn_blocking`.
pub fn bootstrap(
    options: &BootstrapOptions,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Rootfs, BootstrapError> {
    let tool = ensure_tool(options.allow_install, cancelled)?;
    if !is_root() {
        return Err(BootstrapError::NotRoot {
            tool: tool.tool.name(),
        });
    }
    let parent = options.work_dir.clone().unwrap_or_else(default_work_dir);
    let dir = tempfile::Builder::new()
        .prefix("harnessgym-rootfs-")
        .tempdir_in(&parent)
        .map_err(|source| BootstrapError::TempDir {
            parent: parent.clone(),
            source,
        })?;
    // Mount points in /proc/self/mountinfo are canonical paths.
    let path = fs::canonicalize(dir.path()).unwrap_or_else(|_| dir.path().to_path_buf());
    let mirror = options
        .mirror
        .clone()
        .unwrap_or_else(|| detect_mirror(Path::new("/etc/apt")));
    let keyring = options
        .keyring
        .clone()
        .or_else(|| Some(PathBuf::from(DEBIAN_KEYRING)).filter(|k| k.exists()));
    let plan = Plan {
        tool,
        suite: options.suite.clone(),
        mirror,
        packages: options.packages.clone(),
        keyring,
        target: path.clone(),
    };
    let mut rootfs = Rootfs {
        dir: Some(dir),
        path,
        plan,
        tool_elapsed: Duration::ZERO,
    };
    let argv = command_line(&rootfs.plan);
    tracing::info!(
        "bootstrapping {} from {} with {} into {}",
        rootfs.plan.suite,
        rootfs.plan.mirror,
        rootfs.plan.tool.tool.name(),
        rootfs.path.display()
    );
    tracing::debug!("command: {argv:?}");
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive");
    let started = Instant::now();
    run_streaming(
        command,
        options.timeout,
        cancelled,
        Some(rootfs.plan.mirror.clone()),
    )?;
    rootfs.tool_elapsed = started.elapsed();
    tracing::info!(
        "{} finished in {:.1}s",
        rootfs.plan.tool.tool.name(),
        rootfs.tool_elapsed.as_secs_f64()
    );
    let removed = trim_rootfs(&rootfs.path)?;
    tracing::info!("trimmed the tree ({removed} entries removed)");
    Ok(rootfs)
}

fn default_work_dir() -> PathBuf {
    let var_tmp = PathBuf::from("/var/tmp");
    if var_tmp.is_dir() {
        var_tmp
    } else {
        std::env::temp_dir()
    }
}

/// Run a command in its own process group, logging each output line (`E:` lines at error,
/// `W:` at warn, the rest at info), until it exits, the deadline passes or `cancelled()`.
fn run_streaming(
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
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<std::thread::JoinHandle<()>> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
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
        })
    })
    .collect();
    drop(tx);
    let started = Instant::now();
    let mut last_line = String::new();
    // Once the child has exited, wait at most this long for the pipes to drain: a daemon started
    // by a maintainer script could hold them open forever.
    let mut drain_until: Option<Instant> = None;
    let outcome = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let line = line.trim_end().to_owned();
                if line.is_empty() {
                    continue;
                }
                if line.starts_with("E:") {
                    tracing::error!("{line}");
                } else if line.starts_with("W:") {
                    tracing::warn!("{line}");
                } else {
                    tracing::info!("{line}");
                }
                last_line = line;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        match drain_until {
            Some(until) if Instant::now() > until => break None,
            Some(_) => {}
            None => {
                if let Ok(Some(_)) = child.try_wait() {
                    drain_until = Some(Instant::now() + Duration::from_secs(2));
                }
            }
        }
        if cancelled() {
            break Some(BootstrapError::Cancelled);
        }
        if let Some(limit) = timeout.filter(|limit| started.elapsed() > *limit) {
            break Some(BootstrapError::TimedOut {
                program: program.clone(),
                after: limit,
            });
        }
    };
    // Reader threads end when the last holder of the pipes exits; they are not joined, so a
    // straggler outside the process group cannot block us.
    drop(readers);
    drop(rx);
    if let Some(err) = outcome {
        kill_group(&mut child);
        return Err(err);
    }
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

/// SIGTERM the child's process group (debootstrap unmounts what it mounted on exit), then
/// SIGKILL it after [`KILL_GRACE`].
fn kill_group(child: &mut Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        let _ = child.kill();
        return;
    };
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Children of the leader may outlive it: kill the whole group either way.
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

#[expect(
    unsafe_code,
    reason = "kill(2) on a process group has no safe std wrapper"
)]
fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative pid names
    // the process group we created with `process_group(0)` (pgid == the leader's pid).
    let _ = unsafe { libc::kill(-pgid, signal) };
}

/// The mount points at or under `root` in `/proc/self/mountinfo` text, deepest first.
pub fn mounts_under(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape_mountinfo(field)))
        .filter(|point| point.starts_with(root))
        .collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts.dedup();
    mounts
}

/// Undo mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn current_mounts_under(root: &Path) -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .map(|text| mounts_under(&text, root))
        .unwrap_or_default()
}

/// Detach every mount under `root`; true when none remain.
fn release_mounts(root: &Path) -> bool {
    for point in current_mounts_under(root) {
        tracing::warn!("detaching leftover mount {}", point.display());
        lazy_unmount(&point);
    }
    current_mounts_under(root).is_empty()
}

#[expect(unsafe_code, reason = "umount2(2) has no safe std wrapper")]
fn lazy_unmount(point: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c_path) = std::ffi::CString::new(point.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) };
    if rc != 0 {
        tracing::warn!(
            "failed to detach {}: {}",
            point.display(),
            io::Error::last_os_error()
        );
    }
}

/// Trim a freshly bootstrapped tree in place; returns the number of entries removed.
///
/// Removes device nodes under `/dev` (the engine provides `/dev`), apt's package cache and lists,
/// log files, `/tmp` and `/var/tmp` contents, docs (except copyright files), man/info pages and
/// locales (as `debian:*-slim` does, which also cuts the file count every commit walks), empties
/// `/etc/resolv.conf` and `/etc/hostname` (they carry the host's values; the engine mounts its
/// own), and writes [`DPKG_SLIM_CONFIG`] so later package installs stay slim. Never follows a
/// symlink, and refuses to touch a tree with anything mounted inside.
pub fn trim_rootfs(root: &Path) -> Result<u64, BootstrapError> {
    let canonical = fs::canonicalize(root).map_err(|source| BootstrapError::Trim {
        path: root.to_path_buf(),
        source,
    })?;
    if let Some(path) = current_mounts_under(&canonical).into_iter().next() {
        return Err(BootstrapError::Mounted { path });
    }
    let mut removed = 0;
    let keep_nothing: &[&str] = &[];
    removed += clear(root, "dev", keep_nothing)?;
    removed += clear(root, "var/cache/apt", &["archives"])?;
    removed += clear(root, "var/cache/apt/archives", &["partial"])?;
    removed += clear(root, "var/cache/apt/archives/partial", keep_nothing)?;
    removed += clear(root, "var/lib/apt/lists", &["partial"])?;
    removed += clear(root, "var/lib/apt/lists/partial", keep_nothing)?;
    removed += remove_files_keeping(root, "var/log", false, |_| false)?;
    removed += clear(root, "tmp", keep_nothing)?;
    removed += clear(root, "var/tmp", keep_nothing)?;
    removed += remove_files_keeping(root, "usr/share/doc", true, |name| name == "copyright")?;
    for dir in [
        "usr/share/man",
        "usr/share/info",
        "usr/share/groff",
        "usr/share/linda",
        "usr/share/lintian/overrides",
    ] {
        removed += clear(root, dir, keep_nothing)?;
    }
    removed += clear(root, "usr/share/locale", &["locale.alias"])?;
    for file in ["etc/resolv.conf", "etc/hostname"] {
        truncate_regular(&root.join(file))?;
    }
    let config = root.join(DPKG_SLIM_CONFIG);
    let trim_err = |source| BootstrapError::Trim {
        path: config.clone(),
        source,
    };
    if let Some(parent) = config.parent() {
        fs::create_dir_all(parent).map_err(trim_err)?;
    }
    fs::write(&config, DPKG_SLIM_RULES).map_err(trim_err)?;
    Ok(removed)
}

/// Join a relative path under `root`, refusing components that could climb out of it.
fn inside(root: &Path, rel: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    for component in Path::new(rel).components() {
        if let Component::Normal(part) = component {
            path.push(part);
        }
    }
    path
}

/// Remove every child of `root/rel` except the names in `keep`. A missing directory, or one
/// that is a symlink, is left alone.
fn clear(root: &Path, rel: &str, keep: &[&str]) -> Result<u64, BootstrapError> {
    let dir = inside(root, rel);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
    let trim_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BootstrapError::Trim { path, source }
    };
    let mut removed = 0;
    for entry in fs::read_dir(&dir).map_err(trim_err(&dir))? {
        let entry = entry.map_err(trim_err(&dir))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| keep.contains(&n))
        {
            continue;
        }
        remove_entry(&entry.path()).map_err(trim_err(&entry.path()))?;
        removed += 1;
    }
    Ok(removed)
}

/// Remove every non-directory under `root/rel` whose name fails `keep`; with `prune`, also the
/// directories left empty (the top directory itself stays).
fn remove_files_keeping(
    root: &Path,
    rel: &str,
    prune: bool,
    keep: fn(&str) -> bool,
) -> Result<u64, BootstrapError> {
    fn walk(
        dir: &Path,
        prune: bool,
        keep: fn(&str) -> bool,
        removed: &mut u64,
    ) -> Result<bool, BootstrapError> {
        let trim_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BootstrapError::Trim { path, source }
        };
        let mut empty = true;
        for entry in fs::read_dir(dir).map_err(trim_err(dir))? {
            let entry = entry.map_err(trim_err(dir))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(trim_err(&path))?;
            if file_type.is_dir() {
                if walk(&path, prune, keep, removed)? && prune {
                    fs::remove_dir(&path).map_err(trim_err(&path))?;
                    *removed += 1;
                } else {
                    empty = false;
                }
            } else if entry.file_name().to_str().is_some_and(keep) {
                empty = false;
            } else {
                fs::remove_file(&path).map_err(trim_err(&path))?;
                *removed += 1;
            }
        }
        Ok(empty)
    }
    let dir = inside(root, rel);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
        return Ok(0);
    }
    let mut removed = 0;
    walk(&dir, prune, keep, &mut removed)?;
    Ok(removed)
}

/// Remove a file, symlink, device node or directory tree, never following a symlink.
fn remove_entry(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

fn truncate_regular(path: &Path) -> Result<(), BootstrapError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        fs::write(path, b"").map_err(|source| BootstrapError::Trim {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// The image reference of the bootstrapped root filesystem for `suite`.
pub fn rootfs_image(suite: &str) -> String {
    format!("harnessgym/rootfs:{suite}")
}

/// The `changes` of the import (`POST /images/create?fromSrc=-&changes=…`): the rootfs role
/// label, a `PATH`, and `bash` as the default command. Do not add an owner-pid label: the
/// rootfs is a cache that outlives the process that made it.
pub fn import_changes(plan: &Plan) -> Vec<String> {
    vec![
        "LABEL dev.harnessgym.role=rootfs".to_owned(),
        format!("LABEL dev.harnessgym.rootfs.suite={}", plan.suite),
        format!("LABEL dev.harnessgym.rootfs.tool={}", plan.tool.tool.name()),
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        "CMD [\"/bin/bash\"]".to_owned(),
    ]
}

/// Pack the tree at `root` as a tar stream into `out`, for `docker import`: numeric ownership,
/// modes (setuid bits included) and mtimes preserved, symlinks stored as links (never followed:
/// `/etc/mtab -> ../proc/self/mounts` must not be resolved on the host). Hard links are stored
/// as separate files. Returns the writer.
pub fn write_rootfs_tar<W: Write>(root: &Path, out: W) -> Result<W, BootstrapError> {
    let pack_err = |source| BootstrapError::Pack {
        path: root.to_path_buf(),
        source,
    };
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Complete);
    builder.append_dir_all("", root).map_err(pack_err)?;
    builder.into_inner().map_err(pack_err)
}

#[cfg(test)]
mod tests;
