//! A disk limit per container: the engine's storage quota where its storage driver has one,
//! else a watchdog.
//!
//! Quotas (`--storage-opt size=`) exist only on some drivers (overlay2 on xfs with `pquota`,
//! btrfs, zfs, devicemapper); [`Engine::probe_storage_quota`] finds out once per engine. Without
//! one, every command run in a limited container is watched: every few seconds the in-container
//! helper measures what the container has written since it started (`harnessgym internal
//! usage`), and a command that takes it past the limit is stopped (all its processes killed) and
//! reported ([`super::ExecOutcome::disk_exceeded`]).

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::container::Container;
use super::deadline::{self, within};
use super::engine::Engine;
use super::error::{CallError, SandboxError};
use super::exec::ExecSpec;
use super::spec::ContainerSpec;

/// How often the watchdog measures.
const POLL: Duration = Duration::from_secs(5);
/// Budget of one measurement.
const MEASURE_TIMEOUT: Duration = Duration::from_secs(60);
/// The in-container helper (installed in every snapshot image).
const HELPER: &str = "/opt/harnessgym/bin/harnessgym";

/// How a container's disk limit is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// The engine's storage quota: writes past it fail inside the container.
    Quota,
    /// The watchdog: commands that write past it are stopped.
    Watchdog,
}

/// The most a container may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskLimit {
    /// Bytes.
    pub bytes: u64,
    /// How it is enforced.
    pub enforcement: Enforcement,
}

impl Engine {
    /// How a disk limit is enforced on this engine: the answer remembered for its id, else a
    /// probe with `image` (remembered). The flag says whether it was probed now.
    pub async fn disk_enforcement(
        &self,
        info: &super::EngineInfo,
        image: &str,
    ) -> Result<(Enforcement, bool), SandboxError> {
        let mut facts = super::facts::load(&info.id);
        let (quota, probed) = match facts.storage_quota {
            Some(known) => (known, false),
            None => {
                let quota = self.probe_storage_quota(image).await?;
                facts.storage_quota = Some(quota);
                super::facts::save(&info.id, &facts);
                (quota, true)
            }
        };
        let enforcement = if quota {
            Enforcement::Quota
        } else {
            Enforcement::Watchdog
        };
        Ok((enforcement, probed))
    }

    /// Whether containers of `image` can get a storage quota: creates (never starts) a
    /// container with one and removes it again.
    pub async fn probe_storage_quota(&self, image: &str) -> Result<bool, SandboxError> {
        let mut body: ContainerCreateBody = ContainerSpec::new(image).to_create_body();
        if let Some(host) = body.host_config.as_mut() {
            host.storage_opt = Some(HashMap::from([("size".to_string(), "1G".to_string())]));
        }
        let mut labels = body.labels.take().unwrap_or_default();
        labels.extend(self.labels("harnessgym-probe", super::labels::Role::Staging));
        body.labels = Some(labels);
        let options = CreateContainerOptionsBuilder::new().build();
        let engine = self.clone();
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
            .await;
        match created {
            Ok(created) => {
                self.remove_container_by_id(&created.id).await?;
                Ok(true)
            }
            // The engine refused the option: no quota on this driver.
            Err(CallError::Docker(bollard::errors::Error::DockerResponseServerError {
                ..
            })) => Ok(false),
            Err(source) => Err(SandboxError::CreateContainer {
                image: image.to_string(),
                source,
            }),
        }
    }
}

impl Container {
    /// Resolves with the bytes written once the container passes its watched disk limit;
    /// never resolves when it has none (or `unwatched`).
    pub(crate) async fn watch_disk(&self, unwatched: bool) -> u64 {
        let limit = match self.disk_limit() {
            Some(DiskLimit {
                bytes,
                enforcement: Enforcement::Watchdog,
            }) if !unwatched => bytes,
            _ => return std::future::pending().await,
        };
        loop {
            tokio::time::sleep(POLL).await;
            match self.written_bytes().await {
                Ok(bytes) if bytes > limit => return bytes,
                Ok(_) => {}
                // A container too busy to measure (at its pids limit) is measured next time.
                Err(err) => tracing::debug!("disk watchdog: {err}"),
            }
        }
    }

    /// Bytes the container has written since it started (the watchdog's measure).
    pub async fn written_bytes(&self) -> Result<u64, SandboxError> {
        let since = self.started_ns().await?;
        let argv = [
            HELPER.to_string(),
            "internal".into(),
            "usage".into(),
            "--since-ns".into(),
            since.to_string(),
        ];
        let mut spec = ExecSpec::new(argv, MEASURE_TIMEOUT);
        spec.env = vec!["HARNESSGYM_IN_CONTAINER=1".into()];
        spec.unwatched = true;
        let out = Box::pin(self.exec(&spec)).await?;
        let text = out.stdout.text();
        let usage: serde_json::Value =
            serde_json::from_str(text.trim()).map_err(|e| SandboxError::HostIo {
                action: "read the disk usage of",
                path: self.short().into(),
                source: std::io::Error::other(format!("{e}: {}", out.stderr.text().trim())),
            })?;
        Ok(usage["bytes"].as_u64().unwrap_or(0))
    }
}
