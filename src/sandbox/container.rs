//! A supervisor handle for one container: create, start, stop with grace, remove.
//!
//! Modelled on watchexec's job handle: the handle owns the container's lifetime. `remove(self)`
//! consumes it. A handle dropped without being removed stays registered with its engine, whose
//! explicit `shutdown` removes it on every exit path; the startup reaper covers a process that
//! died before that. `Drop` only logs.

use std::collections::HashMap;

use bollard::models::{ChangeType, ContainerConfig};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use super::deadline::{self, within};
use super::engine::{Engine, short_id};
use super::error::SandboxError;
use super::labels::Role;
use super::spec::ContainerSpec;

/// One path a container changed relative to its image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute path inside the container.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// The kind of a [`Change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Content or metadata changed.
    Modified,
    /// Created.
    Added,
    /// Removed.
    Deleted,
}

/// A handle to one container created by this process.
#[derive(Debug)]
pub struct Container {
    engine: Engine,
    id: String,
    image: String,
    /// The user execs run as unless they name another (the spec's workload user).
    user: String,
    removed: bool,
    disk: Option<super::disk::DiskLimit>,
    started_ns: tokio::sync::OnceCell<i128>,
}

impl Engine {
    /// Create (not start) a container from `spec`, labelled as `role` of `run`.
    ///
    /// Files can be uploaded into a created container before it starts, so a workspace is in
    /// place before any process runs.
    pub async fn create_container(
        &self,
        spec: &ContainerSpec,
        run: &str,
        role: Role,
    ) -> Result<Container, SandboxError> {
        let mut spec = spec.clone();
        spec.labels.extend(self.labels(run, role));
        let options = CreateContainerOptionsBuilder::new().build();
        let engine = self.clone();
        let body = spec.to_create_body();
        // Tracked from inside the task: a container created after Ctrl-C is still removed.
        let created = self
            .detached(async move {
                let created = within(
                    deadline::QUICK,
                    engine.docker.create_container(Some(options), body),
                )
                .await?;
                engine.track(&created.id);
                Ok(created)
            })
            .await
            .map_err(|source| {
                if source.is_not_found() {
                    SandboxError::ImageMissing {
                        image: spec.image.clone(),
                    }
                } else {
                    SandboxError::CreateContainer {
                        image: spec.image.clone(),
                        source,
                    }
                }
            })?;
        tracing::debug!(id = short_id(&created.id), image = %spec.image, "created container");
        Ok(Container {
            engine: self.clone(),
            id: created.id,
            image: spec.image,
            user: spec.user,
            removed: false,
            disk: spec.disk,
            started_ns: tokio::sync::OnceCell::new(),
        })
    }
}

impl Container {
    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The user execs run as unless they name another.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The image it was created from, as given.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine it lives in.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Start the container's keep-alive process.
    pub async fn start(&self) -> Result<(), SandboxError> {
        within(
            deadline::QUICK,
            self.engine.docker.start_container(&self.id, None),
        )
        .await
        .map_err(|source| SandboxError::StartContainer {
            id: self.short(),
            source,
        })
    }

    /// Stop with SIGTERM, and SIGKILL after `grace` (the `docker stop -t` contract).
    pub async fn stop(&self, grace: std::time::Duration) -> Result<(), SandboxError> {
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::new().t(seconds).build();
        within(
            deadline::QUICK + grace,
            self.engine.docker.stop_container(&self.id, Some(options)),
        )
        .await
        .map_err(|source| SandboxError::StopContainer {
            id: self.short(),
            source,
        })
    }

    /// SIGKILL every process of the container at once (the last resort of a timed-out phase).
    pub async fn kill(&self) -> Result<(), SandboxError> {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        match within(
            deadline::QUICK,
            self.engine.docker.kill_container(&self.id, Some(options)),
        )
        .await
        {
            Ok(()) => Ok(()),
            // 409: not running — already dead is what we wanted.
            Err(super::error::CallError::Docker(
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                },
            )) => Ok(()),
            Err(source) => Err(SandboxError::StopContainer {
                id: self.short(),
                source,
            }),
        }
    }

    /// Remove the container (force, with its anonymous volumes), consuming the handle.
    pub async fn remove(mut self) -> Result<(), SandboxError> {
        self.removed = true;
        self.engine.remove_container_by_id(&self.id).await
    }

    /// Commit the container's filesystem as an image `repo:tag` carrying `labels`; returns the
    /// image id. The container is paused during the commit so the snapshot is consistent.
    pub async fn commit(
        &self,
        repo: &str,
        tag: &str,
        labels: HashMap<String, String>,
    ) -> Result<String, SandboxError> {
        let options = CommitContainerOptionsBuilder::new()
            .container(&self.id)
            .repo(repo)
            .tag(tag)
            .pause(true)
            .build();
        // The engine takes what the config leaves unset from the container, whose own user is
        // the keep-alive's: the image's user stays the workload's.
        let config = ContainerConfig {
            labels: Some(labels),
            user: Some(self.user.clone()),
            ..Default::default()
        };
        let docker = self.engine.docker.clone();
        let response = self
            .engine
            .detached(async move {
                within(deadline::HEAVY, docker.commit_container(options, config)).await
            })
            .await
            .map_err(|source| SandboxError::Commit {
                id: self.short(),
                source,
            })?;
        Ok(response.id)
    }

    /// Paths the container changed relative to its image (`docker diff`), sorted.
    pub async fn changes(&self) -> Result<Vec<Change>, SandboxError> {
        let raw = within(
            deadline::HEAVY,
            self.engine.docker.container_changes(&self.id),
        )
        .await
        .map_err(|source| SandboxError::Changes {
            id: self.short(),
            source,
        })?;
        let mut changes: Vec<Change> = raw
            .unwrap_or_default()
            .into_iter()
            .map(|c| Change {
                path: c.path,
                kind: match c.kind {
                    ChangeType::_0 => ChangeKind::Modified,
                    ChangeType::_1 => ChangeKind::Added,
                    ChangeType::_2 => ChangeKind::Deleted,
                },
            })
            .collect();
        changes.sort();
        Ok(changes)
    }

    /// Its disk limit, if it has one.
    pub fn disk_limit(&self) -> Option<super::disk::DiskLimit> {
        self.disk
    }

    /// When the container's main process started, in nanoseconds since the Unix epoch (the
    /// engine's clock, which is the container's); asked once.
    pub async fn started_ns(&self) -> Result<i128, SandboxError> {
        self.started_ns
            .get_or_try_init(|| self.started_at_ns())
            .await
            .copied()
    }

    async fn started_at_ns(&self) -> Result<i128, SandboxError> {
        let inspect = within(
            deadline::QUICK,
            self.engine.docker.inspect_container(&self.id, None),
        )
        .await
        .map_err(|source| SandboxError::InspectContainer {
            id: self.short(),
            source,
        })?;
        let text = inspect.state.and_then(|s| s.started_at).unwrap_or_default();
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp_nanos())
            .map_err(|e| SandboxError::HostIo {
                action: "read the start time of",
                path: self.short().into(),
                source: std::io::Error::other(e.to_string()),
            })
    }

    /// Whether the container's main process is running.
    pub async fn is_running(&self) -> Result<bool, SandboxError> {
        let inspect = within(
            deadline::QUICK,
            self.engine.docker.inspect_container(&self.id, None),
        )
        .await
        .map_err(|source| SandboxError::InspectContainer {
            id: self.short(),
            source,
        })?;
        Ok(inspect.state.and_then(|s| s.running).unwrap_or(false))
    }

    pub(crate) fn short(&self) -> String {
        short_id(&self.id).to_string()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.removed {
            // Still tracked by the engine: its shutdown (run on every exit path) removes it, and
            // the next start's reaper does if this process dies first. Removing it here too
            // would race that shutdown (the engine answers 409 to a second removal).
            tracing::debug!(id = %self.short(), "container handle dropped; left to the engine's shutdown");
        }
    }
}
