//! The connection to the Docker engine, and the registry of what this process created.
//!
//! An [`Engine`] is cheap to clone. It remembers every container it creates until that
//! container is removed, so that [`Engine::shutdown`] can remove whatever is still there on any
//! exit path (error, timeout, Ctrl-C) — the explicit async cleanup; `Drop` on a
//! [`super::Container`] is only a logged fallback.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bollard::Docker;
use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::deadline::{self, within};
use super::error::{CallError, SandboxError};
use super::labels::{Owner, Role};

/// The local socket used when neither `--docker-host` nor `DOCKER_HOST` is set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// What the engine says about itself (recorded in run configs and shown by `doctor`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EngineInfo {
    /// The engine's id (stable across restarts; keys what harnessgym remembers per engine).
    pub id: String,
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// Highest API version the engine speaks, e.g. `1.41`.
    pub api_version: String,
    /// cgroup version (`1` or `2`).
    pub cgroup_version: String,
    /// cgroup driver (`cgroupfs`, `systemd`).
    pub cgroup_driver: String,
    /// Storage driver (`overlay2`, `fuse-overlayfs`, ...).
    pub storage_driver: String,
    /// Whether the engine reports it can enforce memory limits.
    pub memory_limit: bool,
    /// Whether the engine reports it can enforce pids limits.
    pub pids_limit: bool,
    /// Whether the engine reports it can enforce CPU limits (CFS quota).
    pub cpu_limit: bool,
    /// The engine's data directory.
    pub root_dir: String,
    /// Kernel version of the engine's host.
    pub kernel: String,
    /// Whether the engine runs rootless.
    pub rootless: bool,
}

/// A connected engine plus the objects this process has created and not yet removed.
#[derive(Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    host: String,
    owner: Owner,
    live: Arc<Mutex<BTreeSet<String>>>,
    pending: Arc<Pending>,
}

/// Engine operations that create objects and are still running.
///
/// Dropping a request does not stop the engine: a commit or create already sent completes after
/// the caller is gone (e.g. on Ctrl-C). Such operations run as tasks of their own, counted here,
/// so that shutdown can wait for them and then remove what they made.
#[derive(Default)]
struct Pending {
    count: std::sync::atomic::AtomicUsize,
    done: tokio::sync::Notify,
}

struct PendingGuard(Arc<Pending>);

impl PendingGuard {
    fn new(pending: Arc<Pending>) -> Self {
        pending
            .count
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        PendingGuard(pending)
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.done.notify_waiters();
    }
}

/// How long shutdown waits for object-creating operations still in flight.
const PENDING_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("host", &self.host).finish()
    }
}

/// Which host to use: the flag, else `DOCKER_HOST`, else the local socket.
pub fn resolve_host(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

impl Engine {
    /// Connect to `host` (see [`resolve_host`]), negotiate the API version and check that the
    /// engine answers.
    pub async fn connect(host: &str) -> Result<Self, SandboxError> {
        let docker = Docker::connect_with_host(host)
            .map_err(|source| match source {
                bollard::errors::Error::UnsupportedURISchemeError { .. } => SandboxError::BadHost {
                    host: host.to_string(),
                    source,
                },
                // A socket file that does not exist is an engine that is not running.
                other => SandboxError::Unreachable {
                    host: host.to_string(),
                    source: other.into(),
                },
            })?
            // Our own per-call deadlines bound every request; bollard's single client-wide
            // timeout would cut long streamed uploads short.
            .with_timeout(deadline::TRANSFER);
        let unreachable = |source| SandboxError::Unreachable {
            host: host.to_string(),
            source,
        };
        within(deadline::QUICK, docker.ping())
            .await
            .map_err(unreachable)?;
        let docker = within(deadline::QUICK, docker.negotiate_version())
            .await
            .map_err(unreachable)?;
        Ok(Engine {
            docker,
            host: host.to_string(),
            owner: Owner::current(),
            live: Arc::new(Mutex::new(BTreeSet::new())),
            pending: Arc::new(Pending::default()),
        })
    }

    /// The same connection, creating objects on behalf of `owner` (used to hand objects to a
    /// supervising process, and by tests to stand in for a process that died).
    pub fn with_owner(&self, owner: Owner) -> Self {
        Engine {
            owner,
            live: Arc::new(Mutex::new(BTreeSet::new())),
            pending: Arc::new(Pending::default()),
            ..self.clone()
        }
    }

    /// The host this engine was reached at.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The owner identity written into labels.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The full label set for an object of `run` with `role`.
    pub fn labels(&self, run: &str, role: Role) -> std::collections::HashMap<String, String> {
        self.owner.labels(run, role)
    }

    /// Version, API version, cgroup and limit support, as the engine reports them.
    pub async fn info(&self) -> Result<EngineInfo, SandboxError> {
        let query = |what| move |source| SandboxError::Query { what, source };
        let version = within(deadline::QUICK, self.docker.version())
            .await
            .map_err(query("version"))?;
        let info = within(deadline::QUICK, self.docker.info())
            .await
            .map_err(query("info"))?;
        let rootless = info
            .security_options
            .iter()
            .flatten()
            .any(|o| o.contains("rootless"));
        Ok(EngineInfo {
            id: info.id.unwrap_or_default(),
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            cgroup_version: info
                .cgroup_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            cgroup_driver: info
                .cgroup_driver
                .map(|d| d.to_string())
                .unwrap_or_default(),
            storage_driver: info.driver.unwrap_or_default(),
            memory_limit: info.memory_limit.unwrap_or(false),
            pids_limit: info.pids_limit.unwrap_or(false),
            cpu_limit: info.cpu_cfs_quota.unwrap_or(false),
            root_dir: info.docker_root_dir.unwrap_or_default(),
            kernel: info.kernel_version.unwrap_or_default(),
            rootless,
        })
    }

    pub(crate) fn track(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(id.to_string());
        }
    }

    pub(crate) fn untrack(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(id);
        }
    }

    /// Ids of containers created by this process and not yet removed.
    pub fn live_containers(&self) -> Vec<String> {
        self.live
            .lock()
            .map(|live| live.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Run an object-creating operation as a task of its own, counted as pending until the
    /// engine answers, even if the caller stops waiting.
    pub(crate) async fn detached<T, F>(&self, operation: F) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, CallError>> + Send + 'static,
    {
        let guard = PendingGuard::new(self.pending.clone());
        let task = tokio::spawn(async move {
            let outcome = operation.await;
            drop(guard);
            outcome
        });
        task.await.unwrap_or_else(|_| Err(CallError::Aborted))
    }

    /// Wait (bounded) until no object-creating operation is in flight.
    pub async fn settle(&self) {
        let wait = async {
            loop {
                let notified = self.pending.done.notified();
                if self.pending.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(PENDING_GRACE, wait).await.is_err() {
            tracing::warn!(
                "engine operations still running after {PENDING_GRACE:?}; not waiting longer"
            );
        }
    }

    /// Remove every container this process created and has not removed yet, all at once,
    /// after the operations still in flight have finished.
    ///
    /// Called on every exit path. Failures are collected, not short-circuited: one container
    /// that cannot be removed must not abandon the others.
    pub async fn shutdown(&self) -> Vec<SandboxError> {
        self.settle().await;
        let ids = self.live_containers();
        let removals = ids.iter().map(|id| self.remove_container_by_id(id));
        futures::future::join_all(removals)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }

    /// Force-remove a container and its anonymous volumes; a container that is already gone is
    /// not an error.
    pub(crate) async fn remove_container_by_id(&self, id: &str) -> Result<(), SandboxError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let result = within(
            deadline::HEAVY,
            self.docker.remove_container(id, Some(options)),
        )
        .await;
        match result {
            Ok(()) => {}
            Err(err) if err.is_not_found() => {}
            Err(source) => {
                return Err(SandboxError::RemoveContainer {
                    id: short_id(id).to_string(),
                    source,
                });
            }
        }
        self.untrack(id);
        Ok(())
    }
}

/// The 12-character form of a container or image id, as Docker prints it.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
