//! The bootstrap itself: [`bootstrap`] runs the tool into a fresh temporary directory and trims
//! the result; the [`Rootfs`] handle it returns removes that directory on drop (unless something
//! is still mounted inside it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::error::BootstrapError;
use super::mounts::release_mounts;
use super::plan::{BootstrapOptions, Plan, command_line, resolve_plan};
use super::process::run_streaming;
use super::tool::{FoundTool, ensure_tool, is_root};
use super::trim::trim_rootfs;

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
    let mut rootfs = Rootfs::create(options, tool)?;
    rootfs.run_tool(options.timeout, cancelled)?;
    let removed = trim_rootfs(&rootfs.path)?;
    tracing::info!("trimmed the tree ({removed} entries removed)");
    Ok(rootfs)
}

impl Rootfs {
    /// Create the empty target directory under the work dir and resolve the plan into it.
    fn create(options: &BootstrapOptions, tool: FoundTool) -> Result<Self, BootstrapError> {
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
        let plan = resolve_plan(options, tool, path.clone());
        Ok(Self {
            dir: Some(dir),
            path,
            plan,
            tool_elapsed: Duration::ZERO,
        })
    }

    /// Run the plan's tool into the directory, recording how long it ran.
    fn run_tool(
        &mut self,
        timeout: Option<Duration>,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<(), BootstrapError> {
        let argv = command_line(&self.plan);
        tracing::info!(
            "bootstrapping {} from {} with {} into {}",
            self.plan.suite,
            self.plan.mirror,
            self.plan.tool.tool.name(),
            self.path.display()
        );
        tracing::debug!("command: {argv:?}");
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive");
        let started = Instant::now();
        run_streaming(command, timeout, cancelled, Some(self.plan.mirror.clone()))?;
        self.tool_elapsed = started.elapsed();
        tracing::info!(
            "{} finished in {:.1}s",
            self.plan.tool.tool.name(),
            self.tool_elapsed.as_secs_f64()
        );
        Ok(())
    }
}

fn default_work_dir() -> PathBuf {
    let var_tmp = PathBuf::from("/var/tmp");
    if var_tmp.is_dir() {
        var_tmp
    } else {
        std::env::temp_dir()
    }
}
