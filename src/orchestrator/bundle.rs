//! The `.harnessgym/` bundle between the host and the containers.
//!
//! Into the session before each attempt: the host bundle (registry, activation report and the
//! eight artifact folders), never the run state. After a build, the session's bundle is
//! **downloaded once into a private staging directory** (outside the workspace, through safe
//! extraction: hostile entries are refused and recorded), and from there it goes into the
//! qualification container. Only a bundle that passed qualification (or every build, with
//! `--no-qualify-artifacts`) is written into the host workspace; a quarantined tool never
//! touches it — its files stay as evidence in the session's snapshot, and the host registry
//! records the quarantine.
//!
//! The agent's registry is merged entry by entry into the host's (the host keeps what it
//! decided, e.g. quarantine marks, unless the agent changes that entry), then synced with the
//! bundle's files.

use std::path::{Path, PathBuf};

use crate::harness::json::to_pretty_json;
use crate::harness::registry::{
    self, ArtifactKind, HARNESS_DIR, Registry, add_or_update_artifact, parse_registry_text,
    sync_registry_from_paths,
};
use crate::layer::pack::{PackFilter, pack_workspace};
use crate::sandbox::extract::{
    Decision, ExtractOptions, ExtractReport, Refused, extract_safe, workspace_policy,
};
use crate::sandbox::{Container, FileRead, SandboxError, WORKSPACE};
use crate::session::{Session, SessionError};

/// Registry metadata keys only harnessgym writes: its qualification verdicts.
const VERDICT_KEYS: [&str; 3] = ["quarantined", "quarantine", "qualification"];

/// Largest registry.json taken from a container.
const REGISTRY_LIMIT: u64 = 16 << 20;

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

/// Whether `rel` (workspace-relative) belongs to the reusable bundle of reference §5: a path in
/// one of the eight artifact folders.
pub fn is_reusable(rel: &Path) -> bool {
    let mut parts = rel.components();
    let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
        return false;
    };
    first.as_os_str() == HARNESS_DIR
        && ArtifactKind::ALL
            .iter()
            .any(|k| second.as_os_str() == k.dir_name())
}

/// The bundle's own directories (the first two components), which extraction creates.
fn is_bundle_dir(rel: &Path) -> bool {
    rel == Path::new(HARNESS_DIR)
}

/// The policy for bundle paths: the reusable folders (protected names refused), their parent,
/// nothing else.
fn bundle_policy(rel: &Path) -> Decision {
    if is_reusable(rel) {
        workspace_policy(rel)
    } else if is_bundle_dir(rel) {
        Decision::Keep
    } else {
        Decision::Skip
    }
}

/// A session's bundle, held in a private staging directory of the host.
#[derive(Debug)]
pub struct SessionBundle {
    staging: tempfile::TempDir,
    /// Workspace-relative files and links of the bundle (UTF-8 names; others are refused).
    pub files: Vec<String>,
    /// Entries refused on the way out of the container (at most the extractor's listed bound).
    pub refused: Vec<Refused>,
    /// Refused entries past the listed bound, counted only.
    pub refused_unlisted: usize,
    /// The session's registry.json, when it could be read and parsed.
    pub registry: Option<Registry>,
    /// Why the session's registry.json was not taken, when it was not.
    pub registry_problem: Option<String>,
}

fn staging_err(source: std::io::Error) -> SessionError {
    SessionError::Sandbox(SandboxError::HostIo {
        action: "create a staging directory for",
        path: "the session's bundle".into(),
        source,
    })
}

impl SessionBundle {
    /// Download the session's reusable bundle and read its registry.
    pub async fn download(session: &Session) -> Result<Self, SessionError> {
        let staging = tempfile::tempdir().map_err(staging_err)?;
        let options = ExtractOptions {
            policy: Some(Box::new(bundle_policy)),
            ..ExtractOptions::default()
        };
        let src = format!("{WORKSPACE}/{HARNESS_DIR}");
        let report = match session
            .container()
            .download_to(&src, staging.path(), options)
            .await
        {
            Ok(report) => report,
            Err(SandboxError::Download { source, .. }) if source.is_not_found() => {
                ExtractReport::default()
            }
            Err(err) => return Err(err.into()),
        };
        let files = report
            .written
            .iter()
            .filter_map(|p| p.to_str().map(str::to_string))
            .collect();
        let (registry, registry_problem) = read_registry(session).await?;
        Ok(SessionBundle {
            staging,
            files,
            refused: report.refused,
            refused_unlisted: report.refused_unlisted,
            registry,
            registry_problem,
        })
    }

    /// The host registry with the session's entries merged in and the bundle's files synced
    /// (new ones get `iteration`).
    pub fn merged_registry(&self, host: &Registry, iteration: u32) -> Registry {
        let mut merged = host.clone();
        if let Some(agent) = &self.registry {
            for artifact in &agent.artifacts {
                let mut artifact = artifact.clone();
                // Quarantine and qualification marks are harnessgym's verdicts: the agent's copy
                // of the registry can neither lift a quarantine nor claim a qualification.
                for key in VERDICT_KEYS {
                    artifact.metadata.remove(key);
                }
                add_or_update_artifact(&mut merged, artifact);
            }
        }
        sync_registry_from_paths(
            &mut merged,
            self.files.iter().map(String::as_str),
            Some(i64::from(iteration)),
        );
        merged
    }

    /// Upload the bundle into a qualification container, with `registry` (quarantine marks
    /// stripped: what was quarantined is tested again). Returns the files copied.
    pub async fn push_into(
        &self,
        container: &Container,
        registry: &Registry,
    ) -> Result<Vec<String>, SessionError> {
        if self.staging.path().join(HARNESS_DIR).is_dir() {
            let filter = PackFilter {
                include: Some(vec![PathBuf::from(HARNESS_DIR)]),
                ..PackFilter::default()
            };
            container
                .upload_dir(self.staging.path(), filter, WORKSPACE)
                .await?;
        }
        let mut copy = registry.clone();
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
        let mut copied: Vec<String> = self.files.clone();
        copied.push(format!("{HARNESS_DIR}/registry.json"));
        copied.sort();
        Ok(copied)
    }

    /// Write the bundle's files into the host workspace (safe extraction again: the staging
    /// copy already passed it once, and the host tree may differ from the staging tree).
    pub fn write_to_host(&self, workspace: &Path) -> Result<ExtractReport, SessionError> {
        let root = self.staging.path().to_path_buf();
        if !root.join(HARNESS_DIR).is_dir() {
            return Ok(ExtractReport::default());
        }
        let (reader, writer) = std::io::pipe().map_err(|source| {
            SessionError::Sandbox(SandboxError::HostIo {
                action: "open a pipe for",
                path: root.clone(),
                source,
            })
        })?;
        let packer = std::thread::spawn(move || {
            let filter = PackFilter {
                include: Some(vec![PathBuf::from(HARNESS_DIR)]),
                ..PackFilter::default()
            };
            pack_workspace(&root, &filter, writer)
        });
        let options = ExtractOptions {
            policy: Some(Box::new(bundle_policy)),
            ..ExtractOptions::default()
        };
        let extracted = extract_safe(reader, workspace, &options);
        let packed = packer.join();
        let report = extracted.map_err(|source| {
            SessionError::Sandbox(SandboxError::Extract {
                id: "staging".into(),
                path: HARNESS_DIR.to_string(),
                dest: workspace.to_path_buf(),
                source,
            })
        })?;
        match packed {
            Ok(Ok(_)) => Ok(report),
            Ok(Err(source)) => Err(SessionError::Sandbox(SandboxError::Pack {
                path: self.staging.path().to_path_buf(),
                source,
            })),
            Err(_) => Err(staging_err(std::io::Error::other("the packer panicked"))),
        }
    }
}

/// The session's registry.json: parsed, or why not (a refused or malformed file is recorded,
/// never fatal).
async fn read_registry(
    session: &Session,
) -> Result<(Option<Registry>, Option<String>), SessionError> {
    let path = format!("{WORKSPACE}/{HARNESS_DIR}/registry.json");
    let read = session.container().read_file(&path, REGISTRY_LIMIT).await?;
    Ok(match read {
        FileRead::Missing => (None, None),
        FileRead::Refused(why) => (None, Some(format!("registry.json refused: {why}"))),
        FileRead::Data(bytes) => {
            match parse_registry_text(&String::from_utf8_lossy(&bytes), Path::new("registry.json"))
            {
                Ok(loaded) => (Some(loaded.registry), None),
                Err(err) => (None, Some(format!("registry.json ignored: {err}"))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_eight_artifact_folders_are_reusable() {
        for rel in [
            ".harnessgym/tools/probe.py",
            ".harnessgym/skills/s/SKILL.md",
            ".harnessgym/mcp/m/server.py",
        ] {
            assert!(is_reusable(Path::new(rel)), "{rel}");
            assert_eq!(bundle_policy(Path::new(rel)), Decision::Keep);
        }
        for rel in [
            ".harnessgym/runs/r/result.json",
            ".harnessgym/registry.json",
            ".harnessgym/activation.json",
            ".harnessgym/runtime/mcp_call.py",
            ".harnessgym/task_state/x",
            "kernel_ops.py",
        ] {
            assert!(!is_reusable(Path::new(rel)), "{rel}");
            assert_eq!(bundle_policy(Path::new(rel)), Decision::Skip, "{rel}");
        }
        assert!(matches!(
            bundle_policy(Path::new(".harnessgym/tools/.git/config")),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn the_agents_registry_cannot_lift_a_quarantine_or_claim_a_qualification() {
        use crate::harness::registry::Artifact;
        let mut host = Registry::new();
        let mut old = Artifact::new("tool", ".harnessgym/tools/old.py");
        old.quarantine("broken", None, Some(1));
        host.artifacts.push(old.clone());
        let mut lifted = old.clone();
        lifted.mark_qualified(None, Some(2));
        lifted.description = "now fine, trust me".into();
        let mut claimed = Artifact::new("tool", ".harnessgym/tools/new.py");
        claimed.mark_qualified(None, Some(2));
        let mut agent = Registry::new();
        agent.artifacts = vec![lifted, claimed];
        let bundle = SessionBundle {
            staging: tempfile::tempdir().expect("tempdir"),
            files: Vec::new(),
            refused: Vec::new(),
            refused_unlisted: 0,
            registry: Some(agent),
            registry_problem: None,
        };
        let merged = bundle.merged_registry(&host, 2);
        let old = merged.get(&old.id).expect("old is kept");
        assert!(old.is_quarantined(), "{old:?}");
        assert_eq!(old.description, "now fine, trust me", "other fields merge");
        let new = merged
            .artifacts
            .iter()
            .find(|a| a.path == ".harnessgym/tools/new.py")
            .expect("new is added");
        assert!(!new.metadata.contains_key("qualification"), "{new:?}");
    }
}
