//! The artifact registry, `.harnessgym/registry.json` (reference §3.2; `models.py:Registry`,
//! `models.py:Artifact`, `registry.py`, `artifacts.py:sync_registry_from_files`).
//!
//! The file is shared with agents, which edit it freely, so loading is tolerant: unknown artifact
//! keys (Codex writes `name`) are folded into `metadata`, a missing `id` becomes `<kind>:<path>`,
//! and `iteration` is kept as whatever JSON the agent wrote. Unlike the reference, which crashes on
//! an entry without `kind` or `path`, such an entry is skipped and reported as a [`LoadWarning`];
//! the loop should log the warnings. Note that the next save drops the skipped entries from the
//! file.
//!
//! Loading lives in the `load` submodule, the kind/directory table and the filesystem sync in
//! `sync`; both are re-exported here. Saves are atomic ([`super::json::write_json_atomic`]).

mod load;
mod sync;

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::json::{self, JsonError};
use super::time::utc_now;

pub use load::{LoadWarning, LoadedRegistry, SkipReason, load_registry, parse_registry_text};
pub use sync::{
    ArtifactKind, HARNESS_DIR, MCP_MANIFEST_NAMES, RUNS_DIR, ensure_harness_dirs,
    sync_registry_from_files, sync_registry_from_paths,
};

/// The registry format version the reference writes.
pub const REGISTRY_VERSION: i64 = 1;

/// Why the registry could not be loaded, saved or synced.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry file exists but could not be read (including non-UTF-8 content).
    #[error("failed to read registry {path}")]
    Read {
        /// The registry file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The registry file is not JSON.
    #[error("failed to parse registry {path}")]
    Malformed {
        /// The registry file.
        path: PathBuf,
        /// The parse failure.
        #[source]
        source: JsonError,
    },
    /// The registry file holds JSON that is not an object.
    #[error("registry {path} holds a json {found}, not an object")]
    NotAnObject {
        /// The registry file.
        path: PathBuf,
        /// The JSON type found.
        found: &'static str,
    },
    /// The `artifacts` field is present but not a list; loading it as empty would erase it on the
    /// next save.
    #[error("registry {path} has an `artifacts` field that is a json {found}, not a list")]
    ArtifactsNotAList {
        /// The registry file.
        path: PathBuf,
        /// The JSON type found.
        found: &'static str,
    },
    /// The registry could not be written.
    #[error("failed to save registry {path}")]
    Save {
        /// The registry file.
        path: PathBuf,
        /// The write failure.
        #[source]
        source: JsonError,
    },
    /// A `.harnessgym` directory could not be created.
    #[error("failed to create harness directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// An artifact directory or entry could not be listed or inspected during the filesystem sync.
    #[error("failed to scan artifact path {path}")]
    Scan {
        /// The directory or entry.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
}

/// The whole `registry.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Registry {
    /// Format version, 1.
    pub version: i64,
    /// When the registry was last saved (refreshed by [`save_registry`]).
    pub updated_at: String,
    /// Every registered artifact, quarantined ones included, in registration order.
    pub artifacts: Vec<Artifact>,
    /// Free-form registry metadata.
    pub metadata: Map<String, Value>,
}

/// One registered artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    /// `<kind>:<path>` unless the writer chose another id.
    pub id: String,
    /// `skill`, `mcp`, `tool`, ... (kept as written: agents may use other words).
    pub kind: String,
    /// Workspace-relative POSIX path.
    pub path: String,
    /// Human description.
    pub description: String,
    /// The iteration that produced it, kept raw: usually an integer or `null`, but agents write
    /// other things.
    pub iteration: Value,
    /// Registration time.
    pub created_at: String,
    /// Free-form metadata (`source`, `quarantined`, `quarantine`, `qualification`, folded unknown
    /// keys...).
    pub metadata: Map<String, Value>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry stamped now.
    pub fn new() -> Self {
        Self {
            version: REGISTRY_VERSION,
            updated_at: utc_now(),
            artifacts: Vec::new(),
            metadata: Map::new(),
        }
    }

    /// The artifact with this id.
    pub fn get(&self, id: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|artifact| artifact.id == id)
    }

    /// The artifact with this id, mutably.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Artifact> {
        self.artifacts.iter_mut().find(|artifact| artifact.id == id)
    }

    /// Artifacts that are not quarantined (what attempts see).
    pub fn active_artifacts(&self) -> impl Iterator<Item = &Artifact> {
        self.artifacts
            .iter()
            .filter(|artifact| !artifact.is_quarantined())
    }
}

impl Artifact {
    /// A new artifact with id `<kind>:<path>`, no description, no iteration, created now.
    pub fn new(kind: &str, path: &str) -> Self {
        Self {
            id: format!("{kind}:{path}"),
            kind: kind.to_owned(),
            path: path.to_owned(),
            description: String::new(),
            iteration: Value::Null,
            created_at: utc_now(),
            metadata: Map::new(),
        }
    }

    /// The iteration as an integer, if it is one (`1.0` counts, as it does for Python's `==`).
    pub fn iteration_number(&self) -> Option<i64> {
        match &self.iteration {
            Value::Number(number) => number.as_i64().or_else(|| {
                number
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
                    .map(|n| n as i64)
            }),
            _ => None,
        }
    }

    /// Quarantine predicate (`registry.py:artifact_is_quarantined`): `metadata.quarantine.status ==
    /// "quarantined"` or a truthy `metadata.quarantined`.
    pub fn is_quarantined(&self) -> bool {
        let by_status = self
            .metadata
            .get("quarantine")
            .and_then(|quarantine| quarantine.get("status"))
            .is_some_and(|status| status == "quarantined");
        by_status
            || self
                .metadata
                .get("quarantined")
                .is_some_and(json::is_truthy)
    }

    /// Marks the artifact quarantined: `metadata.quarantined = true` and `metadata.quarantine =
    /// {status: "quarantined", reason, report_path, iteration, updated_at}`.
    pub fn quarantine(&mut self, reason: &str, report_path: Option<&str>, iteration: Option<i64>) {
        let record = serde_json::json!({
            "status": "quarantined",
            "reason": reason,
            "report_path": report_path,
            "iteration": iteration,
            "updated_at": utc_now(),
        });
        self.metadata
            .insert("quarantined".to_owned(), Value::Bool(true));
        self.metadata.insert("quarantine".to_owned(), record);
    }

    /// Marks the artifact qualified: removes `quarantined` and `quarantine` and sets
    /// `metadata.qualification = {status: "passed", report_path, iteration, updated_at}`.
    pub fn mark_qualified(&mut self, report_path: Option<&str>, iteration: Option<i64>) {
        let record = serde_json::json!({
            "status": "passed",
            "report_path": report_path,
            "iteration": iteration,
            "updated_at": utc_now(),
        });
        self.metadata.remove("quarantined");
        self.metadata.remove("quarantine");
        self.metadata.insert("qualification".to_owned(), record);
    }
}

/// `<workspace>/.harnessgym/registry.json`.
pub fn registry_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(HARNESS_DIR).join("registry.json")
}

/// Saves the registry atomically to `path`, refreshing `updated_at` first (as
/// `registry.py:save_registry` does).
pub fn save_registry(path: &Path, registry: &mut Registry) -> Result<(), RegistryError> {
    registry.updated_at = utc_now();
    json::write_json_atomic(path, registry).map_err(|source| RegistryError::Save {
        path: path.to_owned(),
        source,
    })
}

/// Adds `artifact`, or updates the one with the same id (`registry.py:add_or_update_artifact`):
/// kind and path are replaced, the description only if the new one is non-empty, the iteration only
/// if the new one is not `null`, and metadata is merged key by key (new keys win); `created_at` is
/// kept. Returns `true` when the artifact was new.
pub fn add_or_update_artifact(registry: &mut Registry, artifact: Artifact) -> bool {
    let Some(existing) = registry.get_mut(&artifact.id) else {
        registry.artifacts.push(artifact);
        return true;
    };
    existing.kind = artifact.kind;
    existing.path = artifact.path;
    if !artifact.description.is_empty() {
        existing.description = artifact.description;
    }
    if !artifact.iteration.is_null() {
        existing.iteration = artifact.iteration;
    }
    existing.metadata.extend(artifact.metadata);
    false
}

/// Quarantines every artifact whose path is in `paths` (`registry.py:quarantine_artifacts`) and
/// returns the affected paths, sorted and deduplicated.
pub fn quarantine_artifacts(
    registry: &mut Registry,
    paths: &[String],
    reason: &str,
    report_path: Option<&str>,
    iteration: Option<i64>,
) -> Vec<String> {
    let mut touched = Vec::new();
    for artifact in registry
        .artifacts
        .iter_mut()
        .filter(|a| paths.contains(&a.path))
    {
        artifact.quarantine(reason, report_path, iteration);
        touched.push(artifact.path.clone());
    }
    touched.sort();
    touched.dedup();
    touched
}

/// Marks every artifact whose path is in `paths` qualified (`registry.py:mark_artifacts_qualified`)
/// and returns the affected paths, sorted and deduplicated.
pub fn mark_artifacts_qualified(
    registry: &mut Registry,
    paths: &[String],
    report_path: Option<&str>,
    iteration: Option<i64>,
) -> Vec<String> {
    let mut touched = Vec::new();
    for artifact in registry
        .artifacts
        .iter_mut()
        .filter(|a| paths.contains(&a.path))
    {
        artifact.mark_qualified(report_path, iteration);
        touched.push(artifact.path.clone());
    }
    touched.sort();
    touched.dedup();
    touched
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample_registry() -> Registry {
        let mut registry = Registry::new();
        let mut skill = Artifact::new("skill", ".harnessgym/skills/demo/SKILL.md");
        skill.description = "Demo skill".to_owned();
        skill.iteration = Value::from(1);
        add_or_update_artifact(&mut registry, skill);
        registry
    }

    #[test]
    fn new_registry_is_empty_version_one() {
        let registry = Registry::new();
        assert_eq!(registry.version, 1);
        assert!(registry.artifacts.is_empty());
        assert!(registry.metadata.is_empty());
        assert!(registry.updated_at.ends_with("+00:00"));
    }

    #[test]
    fn save_writes_the_reference_shape_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = registry_path(dir.path());
        assert_eq!(path, dir.path().join(".harnessgym/registry.json"));
        let mut registry = sample_registry();
        registry.updated_at = "stale".to_owned();
        save_registry(&path, &mut registry).expect("saves");
        assert_ne!(registry.updated_at, "stale");

        let on_disk = json::read_json_tolerant(&path).expect("reads");
        let artifact = &on_disk["artifacts"][0];
        assert_eq!(on_disk["version"], json!(1));
        assert_eq!(on_disk["metadata"], json!({}));
        assert_eq!(
            artifact["id"],
            json!("skill:.harnessgym/skills/demo/SKILL.md")
        );
        assert_eq!(artifact["iteration"], json!(1));
        assert_eq!(artifact["metadata"], json!({}));
        let keys: Vec<&String> = artifact.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "description",
                "id",
                "iteration",
                "kind",
                "metadata",
                "path"
            ]
        );

        let loaded = load_registry(&path).expect("loads");
        assert!(loaded.warnings.is_empty());
        assert_eq!(loaded.registry, registry);
        assert_eq!(loaded.registry.artifacts[0].description, "Demo skill");
    }

    #[test]
    fn add_or_update_follows_the_reference_rules() {
        let mut registry = sample_registry();
        let id = "skill:.harnessgym/skills/demo/SKILL.md";
        let created_at = registry.artifacts[0].created_at.clone();
        registry.artifacts[0]
            .metadata
            .insert("keep".to_owned(), json!(1));
        registry.artifacts[0]
            .metadata
            .insert("replace".to_owned(), json!("old"));

        let mut update = Artifact::new("skill", ".harnessgym/skills/demo/SKILL.md");
        update.created_at = "ignored".to_owned();
        update.metadata.insert("replace".to_owned(), json!("new"));
        assert!(!add_or_update_artifact(&mut registry, update));
        let artifact = registry.get(id).expect("present");
        assert_eq!(
            artifact.description, "Demo skill",
            "empty description keeps the old one"
        );
        assert_eq!(
            artifact.iteration,
            json!(1),
            "null iteration keeps the old one"
        );
        assert_eq!(artifact.created_at, created_at);
        assert_eq!(
            Value::Object(artifact.metadata.clone()),
            json!({"keep": 1, "replace": "new"})
        );

        let mut update = Artifact::new("skill", ".harnessgym/skills/demo/SKILL.md");
        update.description = "Better".to_owned();
        update.iteration = json!(4);
        update.kind = "docs".to_owned();
        assert!(!add_or_update_artifact(&mut registry, update));
        let artifact = registry.get(id).expect("present");
        assert_eq!(
            (artifact.description.as_str(), artifact.kind.as_str()),
            ("Better", "docs")
        );
        assert_eq!(artifact.iteration, json!(4));

        assert!(add_or_update_artifact(
            &mut registry,
            Artifact::new("tool", "t.py")
        ));
        assert_eq!(registry.artifacts.len(), 2);
    }

    #[test]
    fn quarantine_and_qualification_round_trip() {
        let mut artifact = Artifact::new("mcp", ".harnessgym/mcp/ir/harnessgym-mcp.json");
        assert!(!artifact.is_quarantined());
        artifact.quarantine(
            "['self-test exited 1']",
            Some("/r/qualification.json"),
            Some(1),
        );
        assert!(artifact.is_quarantined());
        assert_eq!(artifact.metadata["quarantined"], json!(true));
        let record = &artifact.metadata["quarantine"];
        assert_eq!(record["status"], json!("quarantined"));
        assert_eq!(record["reason"], json!("['self-test exited 1']"));
        assert_eq!(record["report_path"], json!("/r/qualification.json"));
        assert_eq!(record["iteration"], json!(1));
        assert!(
            record["updated_at"]
                .as_str()
                .is_some_and(|t| t.ends_with("+00:00"))
        );

        artifact.mark_qualified(None, Some(2));
        assert!(!artifact.is_quarantined());
        assert!(!artifact.metadata.contains_key("quarantined"));
        assert!(!artifact.metadata.contains_key("quarantine"));
        let record = &artifact.metadata["qualification"];
        assert_eq!(record["status"], json!("passed"));
        assert_eq!(record["report_path"], json!(null));
        assert_eq!(record["iteration"], json!(2));
    }

    #[test]
    fn quarantine_predicate_accepts_either_marker() {
        let mut artifact = Artifact::new("tool", "t.py");
        artifact
            .metadata
            .insert("quarantine".to_owned(), json!({"status": "quarantined"}));
        assert!(artifact.is_quarantined());
        artifact
            .metadata
            .insert("quarantine".to_owned(), json!({"status": "released"}));
        assert!(!artifact.is_quarantined());
        artifact
            .metadata
            .insert("quarantine".to_owned(), json!("quarantined"));
        assert!(!artifact.is_quarantined(), "only an object status counts");
        for (value, expected) in [
            (json!(1), true),
            (json!("yes"), true),
            (json!(0), false),
            (json!(""), false),
        ] {
            artifact.metadata.insert("quarantined".to_owned(), value);
            assert_eq!(artifact.is_quarantined(), expected);
        }
    }

    #[test]
    fn bulk_helpers_match_by_path_and_return_sorted_paths() {
        let mut registry = Registry::new();
        for (kind, path) in [
            ("skill", "b/SKILL.md"),
            ("docs", "a.md"),
            ("docs", "b/SKILL.md"),
            ("tool", "c.py"),
        ] {
            let mut artifact = Artifact::new(kind, path);
            artifact.id = format!("{kind}:{path}");
            registry.artifacts.push(artifact);
        }
        let paths = vec![
            "b/SKILL.md".to_owned(),
            "a.md".to_owned(),
            "gone".to_owned(),
        ];
        let touched =
            quarantine_artifacts(&mut registry, &paths, "broken", Some("r.json"), Some(3));
        assert_eq!(touched, ["a.md", "b/SKILL.md"]);
        assert_eq!(
            registry
                .active_artifacts()
                .map(|a| a.path.as_str())
                .collect::<Vec<_>>(),
            ["c.py"]
        );

        let touched =
            mark_artifacts_qualified(&mut registry, &paths[..1], Some("r2.json"), Some(4));
        assert_eq!(touched, ["b/SKILL.md"]);
        assert_eq!(registry.active_artifacts().count(), 3);
    }

    #[test]
    fn iteration_number_reads_integers_only() {
        let mut artifact = Artifact::new("tool", "t.py");
        assert_eq!(artifact.iteration_number(), None);
        for (value, expected) in [
            (json!(3), Some(3)),
            (json!(2.0), Some(2)),
            (json!(2.5), None),
            (json!("3"), None),
            (json!(true), None),
        ] {
            artifact.iteration = value;
            assert_eq!(artifact.iteration_number(), expected);
        }
    }

    #[test]
    fn save_failure_names_the_registry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join(".harnessgym");
        std::fs::write(&blocker, "file, not dir").expect("seeds");
        let path = registry_path(dir.path());
        let error = save_registry(&path, &mut Registry::new()).expect_err("must fail");
        assert!(matches!(error, RegistryError::Save { path: ref p, .. } if p == &path));
        assert_eq!(
            error.to_string(),
            format!("failed to save registry {}", path.display())
        );
    }
}
