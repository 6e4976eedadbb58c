//! What a container is made from: image, limits, network, environment — hardened by default.
//!
//! The defaults follow DESIGN "Hardened by default, loosened on purpose": non-root user, every
//! capability dropped, `no-new-privileges`, an init process to reap zombies, pids/memory/CPU
//! limits (memory without swap), and no network unless a caller asks for one.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};

/// The user every workload runs as (created in `images/base/Dockerfile`).
pub const AGENT_USER: &str = "1000:1000";

/// The user of the container's main process (the keep-alive): root, with every capability
/// dropped and `no-new-privileges` like everything else, so it holds no privilege; a workload
/// user without `CAP_KILL` cannot signal it.
pub const KEEP_ALIVE_USER: &str = "0:0";

/// The workspace inside every container, whatever its host path.
pub const WORKSPACE: &str = "/workspace";

/// Resource limits of one container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// CPUs (fractional), e.g. `2.0`.
    pub cpus: f64,
    /// Memory in bytes; swap is disabled by setting the swap limit to the same value.
    pub memory_bytes: i64,
    /// Maximum number of processes.
    pub pids: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpus: 2.0,
            memory_bytes: 4 * 1024 * 1024 * 1024,
            pids: 1024,
        }
    }
}

/// A host file mounted into a container (a credentials file for an agent session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Absolute host path.
    pub host: std::path::PathBuf,
    /// Absolute container path.
    pub container: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Everything needed to create one container.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// Image reference or id.
    pub image: String,
    /// Resource limits.
    pub limits: Limits,
    /// Docker network mode; `none` unless the workload needs a model API.
    pub network: String,
    /// Environment variables baked into the container (never secrets: pass those per exec).
    pub env: Vec<String>,
    /// Labels (the owner labels are added by the engine).
    pub labels: HashMap<String, String>,
    /// The user every exec runs as unless it names another (the workload's user). The main
    /// process, the keep-alive, runs as `KEEP_ALIVE_USER` (root) instead.
    pub user: String,
    /// The most the container may write, and how that is enforced.
    pub disk: Option<super::disk::DiskLimit>,
    /// The OCI runtime (`runsc` for gVisor); the engine's default when `None`.
    pub runtime: Option<String>,
    /// Host files mounted in (never part of a commit: a mount is not in the container's layer).
    pub binds: Vec<Bind>,
}

impl ContainerSpec {
    /// A hardened spec for `image` with default limits and no network.
    pub fn new(image: impl Into<String>) -> Self {
        ContainerSpec {
            image: image.into(),
            limits: Limits::default(),
            network: "none".to_string(),
            env: Vec::new(),
            labels: HashMap::new(),
            user: AGENT_USER.to_string(),
            disk: None,
            runtime: None,
            binds: Vec::new(),
        }
    }

    /// The body of `POST /containers/create`.
    ///
    /// The main process only keeps the container alive (`sleep infinity` under `init`); all work
    /// arrives through execs, so a timed-out phase can be killed without killing the session.
    /// It runs as `KEEP_ALIVE_USER` (root), never as the workload's user: a workload may signal every
    /// process of its own user (`kill -9 -1`), and a dead keep-alive stops the container.
    pub fn to_create_body(&self) -> ContainerCreateBody {
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(vec!["sleep".into(), "infinity".into()]),
            user: Some(KEEP_ALIVE_USER.to_string()),
            working_dir: Some(WORKSPACE.to_string()),
            env: Some(self.env.clone()),
            labels: Some(self.labels.clone()),
            network_disabled: Some(self.network == "none"),
            host_config: Some(self.host_config()),
            ..Default::default()
        }
    }

    fn host_config(&self) -> HostConfig {
        HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            init: Some(true),
            pids_limit: Some(self.limits.pids),
            memory: Some(self.limits.memory_bytes),
            memory_swap: Some(self.limits.memory_bytes),
            nano_cpus: Some((self.limits.cpus * 1e9) as i64),
            network_mode: Some(self.network.clone()),
            runtime: self.runtime.clone(),
            storage_opt: self
                .disk
                .filter(|d| d.enforcement == super::disk::Enforcement::Quota)
                .map(|d| HashMap::from([("size".to_string(), d.bytes.to_string())])),
            mounts: (!self.binds.is_empty()).then(|| self.mounts()),
            ..Default::default()
        }
    }

    fn mounts(&self) -> Vec<Mount> {
        self.binds
            .iter()
            .map(|bind| Mount {
                target: Some(bind.container.clone()),
                source: Some(bind.host.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(bind.read_only),
                ..Default::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_spec_is_hardened() {
        let body = ContainerSpec::new("harnessgym/base:latest").to_create_body();
        assert_eq!(body.user.as_deref(), Some(KEEP_ALIVE_USER));
        assert_eq!(body.network_disabled, Some(true));
        let host = body.host_config.expect("host config is set");
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(host.init, Some(true));
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.memory, host.memory_swap, "swap must be disabled");
        assert_eq!(host.nano_cpus, Some(2_000_000_000));
        assert_eq!(host.pids_limit, Some(1024));
    }

    #[test]
    fn binds_are_read_only_mounts_only_when_asked_for() {
        let mut spec = ContainerSpec::new("img");
        let host = spec
            .clone()
            .to_create_body()
            .host_config
            .expect("host config");
        assert_eq!(host.mounts, None);
        spec.binds.push(Bind {
            host: "/home/me/.codex/auth.json".into(),
            container: "/home/agent/.codex/auth.json".into(),
            read_only: true,
        });
        let mounts = spec
            .to_create_body()
            .host_config
            .and_then(|h| h.mounts)
            .expect("mounts");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].typ, Some(MountType::BIND));
        assert_eq!(mounts[0].read_only, Some(true));
        assert_eq!(
            mounts[0].target.as_deref(),
            Some("/home/agent/.codex/auth.json")
        );
    }

    #[test]
    fn a_network_is_only_there_when_asked_for() {
        let mut spec = ContainerSpec::new("img");
        spec.network = "bridge".into();
        let body = spec.to_create_body();
        assert_eq!(body.network_disabled, Some(false));
        assert_eq!(
            body.host_config.and_then(|h| h.network_mode).as_deref(),
            Some("bridge")
        );
    }
}
