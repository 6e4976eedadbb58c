//! Reading the data files of runs and compares, which the agent's side of the world may have
//! shaped: capped in size, never through a link that leaves the directory being read
//! ([`crate::hostfs::read_workspace_file`]), Python's `NaN`/`Infinity` read as `null`
//! ([`crate::harness::json::parse_json_tolerant`]), and lenient per field: a field of the wrong
//! type reads as its default instead of failing the file ([`lenient`], [`lenient_list`]).
//!
//! A file that cannot be used is a [`FileProblem`], shown as a warning; a missing file is simply
//! absent (runs in progress and the reference's runs lack some files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::harness::json::{JsonError, parse_json_tolerant};
use crate::hostfs::{HostReadError, read_workspace_file};

/// The largest JSON file read (a long run's `summary.json` with big post-command outputs stays
/// far below).
pub const JSON_LIMIT: u64 = 32 * 1024 * 1024;

/// Why a data file was left out.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// It could not be read (a link out of the directory, not a regular file, too large, I/O).
    #[error("skipped {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: HostReadError,
    },
    /// It is not JSON.
    #[error("skipped {}: not valid json", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: JsonError,
    },
    /// It is JSON but not an object.
    #[error("skipped {}: not a json object", path.display())]
    NotAnObject {
        /// The file.
        path: PathBuf,
    },
}

impl FileProblem {
    /// The problem and its causes on one line, for a warning.
    pub fn one_line(&self) -> String {
        chain(self)
    }
}

pub use crate::diagnostics::one_line as chain;

/// The JSON file at `rel` under `root`, or `None` when it does not exist.
///
/// # Errors
///
/// [`FileProblem`] when it exists but cannot be read or parsed.
pub fn read_json(root: &Path, rel: &Path) -> Result<Option<Value>, FileProblem> {
    let path = root.join(rel);
    let bytes = match read_workspace_file(root, rel, JSON_LIMIT) {
        Ok(bytes) => bytes,
        Err(HostReadError::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(FileProblem::Read { path, source }),
    };
    let text = String::from_utf8_lossy(&bytes);
    parse_json_tolerant(&text)
        .map(Some)
        .map_err(|source| FileProblem::Parse { path, source })
}

/// The JSON object at `rel` under `root` read as `T`, or `None` when it does not exist.
///
/// # Errors
///
/// [`FileProblem`] when it exists but cannot be read, parsed, or is not an object.
pub fn read_typed<T: DeserializeOwned>(root: &Path, rel: &Path) -> Result<Option<T>, FileProblem> {
    let Some(value) = read_json(root, rel)? else {
        return Ok(None);
    };
    typed(value)
        .map(Some)
        .ok_or_else(|| FileProblem::NotAnObject {
            path: root.join(rel),
        })
}

/// `value` read as `T`, or `None` when it is not an object (every field of our file types is
/// lenient, so an object always reads).
pub fn typed<T: DeserializeOwned>(value: Value) -> Option<T> {
    if !value.is_object() {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// `read_typed` that records a problem in `warnings` instead of returning it.
pub fn read_or_warn<T: DeserializeOwned>(
    root: &Path,
    rel: &Path,
    warnings: &mut Vec<String>,
) -> Option<T> {
    read_typed(root, rel).unwrap_or_else(|problem| {
        warnings.push(problem.one_line());
        None
    })
}

/// A field deserializer that reads a value of the wrong type as the field's default.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).unwrap_or_default())
}

/// A list deserializer that drops the items of the wrong type (and reads a non-list as empty).
pub fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let Value::Array(items) = Value::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| T::deserialize(item).ok())
        .collect())
}

/// A map deserializer that drops the entries of the wrong type (and reads a non-object as empty).
pub fn lenient_map<'de, D, T>(deserializer: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let Value::Object(entries) = Value::deserialize(deserializer)? else {
        return Ok(BTreeMap::new());
    };
    Ok(entries
        .into_iter()
        .filter_map(|(key, item)| T::deserialize(item).ok().map(|t| (key, t)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "lenient")]
        name: Option<String>,
        #[serde(deserialize_with = "lenient")]
        count: u32,
        #[serde(deserialize_with = "lenient_list")]
        tags: Vec<String>,
        #[serde(deserialize_with = "lenient_map")]
        scores: BTreeMap<String, f64>,
    }

    #[test]
    fn wrong_types_read_as_defaults_and_unknown_keys_are_ignored() {
        let value = serde_json::json!({
            "name": 5, "count": "many", "tags": ["a", 1, "b", null],
            "scores": {"x": 1.5, "y": "no"}, "extra": {"deep": true}
        });
        let sample: Sample = typed(value).expect("an object reads");
        assert_eq!(
            sample,
            Sample {
                name: None,
                count: 0,
                tags: vec!["a".into(), "b".into()],
                scores: BTreeMap::from([("x".into(), 1.5)]),
            }
        );
        assert_eq!(typed::<Sample>(serde_json::json!([1])), None);
    }

    #[test]
    fn python_tokens_read_as_null_and_missing_files_are_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.json"), r#"{"count": 2, "name": NaN}"#).expect("write");
        let sample: Sample = read_typed(dir.path(), Path::new("a.json"))
            .expect("reads")
            .expect("exists");
        assert_eq!((sample.count, sample.name), (2, None));
        assert!(matches!(
            read_typed::<Sample>(dir.path(), Path::new("b.json")),
            Ok(None)
        ));
    }

    #[test]
    fn a_link_out_of_the_directory_is_a_problem_not_a_read() {
        let outside = tempfile::tempdir().expect("tempdir");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.json"), "{}").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.json"),
            dir.path().join("summary.json"),
        )
        .expect("symlink");
        let problem = read_json(dir.path(), Path::new("summary.json")).expect_err("refused");
        assert!(
            problem.one_line().contains("outside"),
            "{}",
            problem.one_line()
        );
        std::fs::write(dir.path().join("bad.json"), "{").expect("write");
        let mut warnings = Vec::new();
        assert_eq!(
            read_or_warn::<Sample>(dir.path(), Path::new("bad.json"), &mut warnings),
            None
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("not valid json"), "{warnings:?}");
    }
}
