//! The `.harnessgym/` bundle between the host and a session container.
//!
//! Into the container before each attempt: the host bundle (registry, activation report and the
//! eight artifact folders), never the run state. Back to the host after each build: the artifact
//! files, and the agent's registry merged entry by entry into the host's (the host keeps what it
//! decided, e.g. quarantine marks, unless the agent changes that entry), then a filesystem sync.

use std::path::{Path, PathBuf};

use crate::harness::json::to_pretty_json;
use crate::harness::registry::{
    self, ArtifactKind, HARNESS_DIR, Registry, add_or_update_artifact, parse_registry_text,
    sync_registry_from_files,
};
use crate::layer::pack::PackFilter;
use crate::sandbox::Container;
use crate::sandbox::WORKSPACE;
use crate::sandbox::extract::ExtractOptions;
use crate::session::{Session, SessionError};

/// Host-owned files and run state that never come back from a container.
const HOST_OWNED: &[&str] = &[
    "runs",
    "task_state",
    "run.lock",
    "registry.json",
    "activation.json",
];

/// Upload the host's `.harnessgym/` into the session's workspace.
pub async fn push(session: &Session, workspace: &Path) -> Result<(), SessionError> {
    if !workspace.join(HARNESS_DIR).is_dir() {
        return Ok(());
    }
    let filter = PackFilter {
        include: Some(vec![PathBuf::from(HARNESS_DIR)]),
        ..PackFilter::default()
    };
    session
        .container()
        .upload_dir(workspace, filter, WORKSPACE)
        .await?;
    Ok(())
}

/// The reusable bundle of §5: the eight artifact folders and `registry.json`, nothing else.
fn reusable_paths(workspace: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = ArtifactKind::ALL
        .iter()
        .map(|kind| Path::new(HARNESS_DIR).join(kind.dir_name()))
        .filter(|rel| workspace.join(rel).is_dir())
        .collect();
    paths.push(Path::new(HARNESS_DIR).join("registry.json"));
    paths
}

/// Upload the reusable bundle into a qualification container, with every quarantine mark
/// stripped from its registry (previously quarantined artifacts are tested again). Returns the
/// copied folders.
pub async fn push_reusable(
    container: &Container,
    workspace: &Path,
) -> Result<Vec<String>, SessionError> {
    let include = reusable_paths(workspace);
    let filter = PackFilter {
        include: Some(include.clone()),
        ..PackFilter::default()
    };
    container.upload_dir(workspace, filter, WORKSPACE).await?;
    let path = registry::registry_path(workspace);
    let mut copy = registry::load_registry(&path)
        .map_err(harness_err)?
        .registry;
    for artifact in &mut copy.artifacts {
        artifact.metadata.remove("quarantined");
        artifact.metadata.remove("quarantine");
    }
    let text = to_pretty_json(&copy).map_err(|e| SessionError::Harness {
        what: "registry.json",
        source: Box::new(e),
    })?;
    container
        .write_file(
            WORKSPACE,
            ".harnessgym/registry.json",
            format!("{text}\n").into_bytes(),
            0o644,
        )
        .await?;
    Ok(include.iter().map(|p| p.display().to_string()).collect())
}

/// Put the host's registry (the loop's decisions: quarantine, qualification) into the session.
pub async fn push_registry(session: &Session, workspace: &Path) -> Result<(), SessionError> {
    let bytes = std::fs::read(registry::registry_path(workspace)).map_err(|source| {
        SessionError::HostFile {
            path: registry::registry_path(workspace),
            source,
        }
    })?;
    session
        .write(".harnessgym/registry.json", bytes, 0o644)
        .await
}

/// Whether a path the container sent back may be written into the host bundle.
fn comes_back(rel: &Path) -> bool {
    let mut parts = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match (parts.next().as_deref(), parts.next()) {
        (Some(HARNESS_DIR), Some(second)) => !HOST_OWNED.contains(&second.as_str()),
        (Some(HARNESS_DIR), None) => true,
        _ => false,
    }
}

/// Copy the session's artifact files back to the host and merge its registry into the host's
/// registry (synced from the files with `iteration`). Returns the updated host registry.
pub async fn pull(
    session: &Session,
    workspace: &Path,
    iteration: u32,
) -> Result<Registry, SessionError> {
    let options = ExtractOptions {
        filter: Some(Box::new(comes_back)),
        ..ExtractOptions::default()
    };
    let src = format!("{WORKSPACE}/{HARNESS_DIR}");
    session
        .container()
        .download_to(&src, workspace, options)
        .await?;
    let path = registry::registry_path(workspace);
    let mut host = registry::load_registry(&path)
        .map_err(harness_err)?
        .registry;
    if let Some(bytes) = session.read(".harnessgym/registry.json").await? {
        match parse_registry_text(&String::from_utf8_lossy(&bytes), Path::new("registry.json")) {
            Ok(agent) => {
                for artifact in agent.registry.artifacts {
                    add_or_update_artifact(&mut host, artifact);
                }
            }
            Err(err) => tracing::warn!("ignoring the session's registry.json: {err}"),
        }
    }
    sync_registry_from_files(&mut host, workspace, Some(i64::from(iteration)))
        .map_err(harness_err)?;
    registry::save_registry(&path, &mut host).map_err(harness_err)?;
    Ok(host)
}

fn harness_err(err: registry::RegistryError) -> SessionError {
    SessionError::Harness {
        what: "registry.json",
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_artifacts_come_back() {
        for rel in [
            ".harnessgym",
            ".harnessgym/tools/probe.py",
            ".harnessgym/skills/s/SKILL.md",
        ] {
            assert!(comes_back(Path::new(rel)), "{rel}");
        }
        for rel in [
            ".harnessgym/runs/r/result.json",
            ".harnessgym/registry.json",
            ".harnessgym/activation.json",
            ".harnessgym/run.lock",
            ".harnessgym/task_state/x",
            "kernel_ops.py",
        ] {
            assert!(!comes_back(Path::new(rel)), "{rel}");
        }
    }
}
