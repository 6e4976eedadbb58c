//! Tolerant loading of `registry.json` (reference §3.2, `models.py:Registry.from_dict`,
//! `Artifact.from_dict`).
//!
//! The reference crashes on an artifact without `kind` or `path` (a `KeyError`); here such an entry
//! is skipped and reported as a [`LoadWarning`], and so is any field of the wrong JSON type (its
//! default is used). A registry that is not an object, or whose `artifacts` is not a list, is an
//! error rather than an empty registry, because the run saves the registry right after loading it
//! and would erase the file.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use serde_json::{Map, Value};

use super::{Artifact, REGISTRY_VERSION, Registry, RegistryError};
use crate::harness::json;
use crate::harness::time::utc_now;

/// A registry read from disk, with what had to be dropped or defaulted on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRegistry {
    /// The usable registry.
    pub registry: Registry,
    /// Problems found while loading; empty for a well-formed file.
    pub warnings: Vec<LoadWarning>,
}

/// Something in `registry.json` that could not be used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadWarning {
    /// An artifact entry was left out.
    SkippedArtifact {
        /// Its position in the `artifacts` list.
        index: usize,
        /// Why it was left out.
        reason: SkipReason,
    },
    /// A field had the wrong JSON type and its default was used instead.
    IgnoredField {
        /// The artifact's position, or `None` for a top-level field.
        artifact_index: Option<usize>,
        /// The field name.
        field: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
}

/// Why an artifact entry was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The entry is not a JSON object.
    NotAnObject,
    /// `kind` is missing or not a string.
    NoKind,
    /// `path` is missing or not a string.
    NoPath,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SkippedArtifact { index, reason } => {
                let why = match reason {
                    SkipReason::NotAnObject => "it is not an object",
                    SkipReason::NoKind => "it has no string `kind`",
                    SkipReason::NoPath => "it has no string `path`",
                };
                write!(f, "registry artifact #{index} skipped: {why}")
            }
            Self::IgnoredField {
                artifact_index: Some(index),
                field,
                found,
            } => write!(
                f,
                "registry artifact #{index}: `{field}` is a json {found}; default used"
            ),
            Self::IgnoredField {
                artifact_index: None,
                field,
                found,
            } => write!(
                f,
                "registry field `{field}` is a json {found}; default used"
            ),
        }
    }
}

/// Largest registry.json read (the reference's are kilobytes).
pub const REGISTRY_LIMIT: u64 = 16 << 20;

/// Reads a registry file without following a symlink, refusing anything but a regular file of at
/// most [`REGISTRY_LIMIT`] bytes.
fn read_capped(path: &Path) -> io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if meta.len() > REGISTRY_LIMIT {
        return Err(io::Error::other(format!(
            "{} bytes, more than the {REGISTRY_LIMIT}-byte limit",
            meta.len()
        )));
    }
    let mut text = String::new();
    file.take(REGISTRY_LIMIT).read_to_string(&mut text)?;
    Ok(text)
}

/// Loads `registry.json` at `path` (reference §3.2). A missing file is an empty registry. Python's
/// `NaN`/`Infinity` tokens are accepted (read as `null`). Bad entries are skipped with a warning
/// instead of failing the load. The file is never read through a symlink, and must be a regular
/// file of at most `REGISTRY_LIMIT` (16 MiB) bytes.
pub fn load_registry(path: &Path) -> Result<LoadedRegistry, RegistryError> {
    let text = match read_capped(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(LoadedRegistry {
                registry: Registry::new(),
                warnings: Vec::new(),
            });
        }
        Err(source) => {
            return Err(RegistryError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse_registry_text(&text, path)
}

/// Loads a registry from its text (e.g. read out of a container); `origin` only names it in
/// errors. Same rules as [`load_registry`].
pub fn parse_registry_text(text: &str, origin: &Path) -> Result<LoadedRegistry, RegistryError> {
    let value = json::parse_json_tolerant(text).map_err(|source| RegistryError::Malformed {
        path: origin.to_owned(),
        source,
    })?;
    parse_registry(value, origin)
}

/// Builds a registry from parsed JSON; `path` only names the file in errors.
fn parse_registry(value: Value, path: &Path) -> Result<LoadedRegistry, RegistryError> {
    let Value::Object(mut top) = value else {
        return Err(RegistryError::NotAnObject {
            path: path.to_owned(),
            found: json::type_name(&value),
        });
    };
    let mut warnings = Vec::new();
    let entries = match top.remove("artifacts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(RegistryError::ArtifactsNotAList {
                path: path.to_owned(),
                found: json::type_name(&other),
            });
        }
    };
    let version = match top.get("version") {
        None => REGISTRY_VERSION,
        Some(value) => value.as_i64().unwrap_or_else(|| {
            warnings.push(ignored(None, "version", value));
            REGISTRY_VERSION
        }),
    };
    let updated_at = non_empty_text(top.get("updated_at")).unwrap_or_else(utc_now);
    let metadata = match top.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            warnings.push(ignored(None, "metadata", &other));
            Map::new()
        }
    };
    let mut artifacts = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        match parse_artifact(entry, index, &mut warnings) {
            Ok(artifact) => artifacts.push(artifact),
            Err(reason) => warnings.push(LoadWarning::SkippedArtifact { index, reason }),
        }
    }
    let registry = Registry {
        version,
        updated_at,
        artifacts,
        metadata,
    };
    Ok(LoadedRegistry { registry, warnings })
}

/// `Artifact.from_dict`, tolerant: unknown keys go into metadata (explicit metadata wins on a
/// clash).
fn parse_artifact(
    entry: Value,
    index: usize,
    warnings: &mut Vec<LoadWarning>,
) -> Result<Artifact, SkipReason> {
    let Value::Object(mut fields) = entry else {
        return Err(SkipReason::NotAnObject);
    };
    let Some(Value::String(kind)) = fields.remove("kind") else {
        return Err(SkipReason::NoKind);
    };
    let Some(Value::String(path)) = fields.remove("path") else {
        return Err(SkipReason::NoPath);
    };
    let id =
        non_empty_text(fields.remove("id").as_ref()).unwrap_or_else(|| format!("{kind}:{path}"));
    let description = scalar_text(fields.remove("description").as_ref()).unwrap_or_default();
    let iteration = fields.remove("iteration").unwrap_or(Value::Null);
    let created_at = non_empty_text(fields.remove("created_at").as_ref()).unwrap_or_else(utc_now);
    let explicit = match fields.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            warnings.push(ignored(Some(index), "metadata", &other));
            Map::new()
        }
    };
    // What is left are the unknown keys.
    let mut metadata = fields;
    metadata.extend(explicit);
    Ok(Artifact {
        id,
        kind,
        path,
        description,
        iteration,
        created_at,
        metadata,
    })
}

fn ignored(artifact_index: Option<usize>, field: &'static str, value: &Value) -> LoadWarning {
    LoadWarning::IgnoredField {
        artifact_index,
        field,
        found: json::type_name(value),
    }
}

/// A string, or a number written as text (the reference applies `str()`); `null` and containers
/// give `None`.
fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// [`scalar_text`], treating the empty string as absent (the reference's `x or default`).
fn non_empty_text(value: Option<&Value>) -> Option<String> {
    scalar_text(value).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load_text(text: &str) -> Result<LoadedRegistry, RegistryError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        fs::write(&path, text).expect("seeds");
        load_registry(&path)
    }

    #[test]
    fn a_registry_that_is_a_symlink_a_fifo_or_too_large_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside.json");
        std::fs::write(&outside, r#"{"artifacts": []}"#).expect("write");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&outside, &link).expect("symlink");
        assert!(load_registry(&link).is_err(), "a symlink is not followed");
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        assert!(
            load_registry(&fifo).is_err(),
            "a FIFO is refused without blocking"
        );
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(REGISTRY_LIMIT + 1).expect("sparse");
        assert!(load_registry(&big).is_err(), "an oversized file is refused");
        assert!(load_registry(&outside).is_ok());
    }

    #[test]
    fn missing_file_is_an_empty_registry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = load_registry(&dir.path().join("registry.json")).expect("loads");
        assert!(loaded.registry.artifacts.is_empty());
        assert_eq!(loaded.registry.version, 1);
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn codex_style_entry_without_id_gets_default_id_and_folded_metadata() {
        let loaded = load_text(
            r#"{"version": 1, "updated_at": "2026-05-17T00:00:00+00:00", "metadata": {"note": "x"},
                "artifacts": [{"kind": "docs", "name": "brief", "path": ".harnessgym/docs/brief.md",
                               "description": "Verifier brief"}]}"#,
        )
        .expect("loads");
        assert!(loaded.warnings.is_empty());
        let registry = loaded.registry;
        assert_eq!(registry.updated_at, "2026-05-17T00:00:00+00:00");
        assert_eq!(
            Value::Object(registry.metadata.clone()),
            json!({"note": "x"})
        );
        let artifact = registry
            .get("docs:.harnessgym/docs/brief.md")
            .expect("present");
        assert_eq!(artifact.metadata["name"], json!("brief"));
        assert_eq!(artifact.description, "Verifier brief");
        assert!(artifact.iteration.is_null());
        assert!(
            artifact.created_at.ends_with("+00:00"),
            "missing created_at defaults to now"
        );
    }

    #[test]
    fn explicit_metadata_wins_over_folded_keys() {
        let loaded = load_text(
            r#"{"artifacts": [{"id": "custom", "kind": "tool", "path": "t.py", "name": "top",
                               "extra": [1], "metadata": {"name": "inner"}}]}"#,
        )
        .expect("loads");
        let artifact = &loaded.registry.artifacts[0];
        assert_eq!(artifact.id, "custom");
        assert_eq!(
            Value::Object(artifact.metadata.clone()),
            json!({"name": "inner", "extra": [1]})
        );
    }

    #[test]
    fn iteration_and_python_tokens_are_kept_raw() {
        let loaded = load_text(
            r#"{"artifacts": [{"kind": "tool", "path": "a", "iteration": "2"},
                              {"kind": "tool", "path": "b", "iteration": {"n": 2}},
                              {"kind": "tool", "path": "c", "iteration": 3, "metadata": {"score": Infinity}}]}"#,
        )
        .expect("loads");
        let artifacts = &loaded.registry.artifacts;
        assert_eq!(artifacts[0].iteration, json!("2"));
        assert_eq!(artifacts[1].iteration, json!({"n": 2}));
        assert_eq!(artifacts[2].iteration, json!(3));
        assert_eq!(artifacts[2].metadata["score"], json!(null));
    }

    #[test]
    fn entries_without_kind_or_path_are_skipped_with_warnings() {
        let loaded = load_text(
            r#"{"artifacts": [{"path": "no-kind"}, {"kind": "tool"}, "text", {"kind": 5, "path": "x"},
                              {"kind": "tool", "path": "ok.py"}]}"#,
        )
        .expect("loads");
        assert_eq!(loaded.registry.artifacts.len(), 1);
        assert_eq!(loaded.registry.artifacts[0].id, "tool:ok.py");
        let skipped = |index, reason| LoadWarning::SkippedArtifact { index, reason };
        assert_eq!(
            loaded.warnings,
            [
                skipped(0, SkipReason::NoKind),
                skipped(1, SkipReason::NoPath),
                skipped(2, SkipReason::NotAnObject),
                skipped(3, SkipReason::NoKind),
            ]
        );
        assert_eq!(
            loaded.warnings[1].to_string(),
            "registry artifact #1 skipped: it has no string `path`"
        );
    }

    #[test]
    fn wrong_field_types_fall_back_to_defaults_with_warnings() {
        let loaded = load_text(
            r#"{"version": "one", "metadata": [1], "updated_at": 7,
                "artifacts": [{"kind": "tool", "path": "t", "metadata": "bad", "description": null,
                               "id": "", "created_at": ""}]}"#,
        )
        .expect("loads");
        let registry = &loaded.registry;
        assert_eq!(registry.version, 1);
        assert_eq!(registry.updated_at, "7");
        assert!(registry.metadata.is_empty());
        let artifact = &registry.artifacts[0];
        assert_eq!(artifact.id, "tool:t");
        assert_eq!(artifact.description, "");
        assert!(!artifact.created_at.is_empty());
        assert_eq!(
            loaded.warnings,
            [
                LoadWarning::IgnoredField {
                    artifact_index: None,
                    field: "version",
                    found: "string"
                },
                LoadWarning::IgnoredField {
                    artifact_index: None,
                    field: "metadata",
                    found: "array"
                },
                LoadWarning::IgnoredField {
                    artifact_index: Some(0),
                    field: "metadata",
                    found: "string"
                },
            ]
        );
        assert_eq!(
            loaded.warnings[2].to_string(),
            "registry artifact #0: `metadata` is a json string; default used"
        );
    }

    #[test]
    fn numeric_descriptions_become_text() {
        let loaded =
            load_text(r#"{"artifacts": [{"kind": "tool", "path": "t", "description": 42}]}"#)
                .expect("loads");
        assert_eq!(loaded.registry.artifacts[0].description, "42");
    }

    #[test]
    fn unreadable_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        fs::write(&path, [0xff_u8, 0xfe]).expect("seeds");
        let error = load_registry(&path).expect_err("non-UTF-8");
        assert!(matches!(error, RegistryError::Read { .. }));
        assert_eq!(
            error.to_string(),
            format!("failed to read registry {}", path.display())
        );
    }

    #[test]
    fn unusable_files_are_errors_not_empty_registries() {
        assert!(matches!(
            load_text("{oops"),
            Err(RegistryError::Malformed { .. })
        ));
        assert!(matches!(
            load_text("[]"),
            Err(RegistryError::NotAnObject { found: "array", .. })
        ));
        assert!(matches!(
            load_text(r#"{"artifacts": {"a": 1}}"#),
            Err(RegistryError::ArtifactsNotAList {
                found: "object",
                ..
            })
        ));
        let loaded = load_text(r#"{"artifacts": null}"#).expect("null artifacts is empty");
        assert!(loaded.registry.artifacts.is_empty());
    }

    #[test]
    fn loads_the_reference_sample() {
        let loaded = load_text(
            r#"{
  "artifacts": [
    {"created_at": "2026-05-19T03:57:54+00:00", "description": "Hardened tensor-plan MCP",
     "id": "mcp:.harnessgym/mcp/tensor-plan-server/harnessgym-mcp.json", "iteration": 3, "kind": "mcp",
     "metadata": {"qualification": {"status": "passed", "updated_at": "2026-05-19T04:19:24+00:00"},
                  "source": "verified-tensor-layout-experiment"},
     "path": ".harnessgym/mcp/tensor-plan-server/harnessgym-mcp.json"}
  ],
  "metadata": {"source_experiment": "tmp/x"},
  "updated_at": "2026-05-19T04:19:24+00:00",
  "version": 1
}"#,
        )
        .expect("loads");
        assert!(loaded.warnings.is_empty());
        let artifact = &loaded.registry.artifacts[0];
        assert_eq!(artifact.iteration_number(), Some(3));
        assert!(!artifact.is_quarantined());
        assert_eq!(
            artifact.metadata["qualification"]["status"],
            json!("passed")
        );
    }
}
