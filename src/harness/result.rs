//! The per-iteration `result.json` contract (reference §4, §3.4;
//! `artifacts.py:create_initial_result`, `update_result`, `deep_merge`,
//! `orchestrator.py:_record_phase`, `is_solved_and_verified`,
//! `prompts.py:extract_selected_improvement`).
//!
//! The result is open-ended JSON that HarnessGym and the agent both write, so it is handled as a
//! [`serde_json::Map`] with typed helpers rather than a struct: unknown agent keys survive every
//! rewrite. Every HarnessGym write is read → deep-merge → write, refreshing `updated_at`.
//!
//! Fixes over the reference: a malformed or non-object `result.json` is an error value from
//! [`load_agent_result`] for the loop to record, not an exception that aborts the run (§14.2);
//! `used_harness_tools` and `used_harness_artifacts` are union-merged rather than replaced (§13
//! d92d114, §14); an agent that rewrote the file without a `status` gets the attempt fallback
//! status like one that left `running`. Statuses and the decisions read from them live in the
//! `outcome` submodule, scores and post-command pass rules in `score`; both are re-exported here.

mod outcome;
mod score;

use std::cmp::Ordering;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::json::{self, JsonError};
use super::time::utc_now;

pub use outcome::{
    NO_SELECTION_FALLBACK, ResultStatus, apply_attempt_fallback, attempt_fallback_status,
    is_checkpointable, is_solved_and_verified, selected_improvement, should_mark_tooling_built,
    status_of,
};
pub use score::{
    PASSING_POST_STATUSES, extract_score, is_better_score, parse_json_object, post_command_passed,
    post_result_passed, reached_stop_score,
};

/// A `result.json` document.
pub type ResultMap = Map<String, Value>;

/// Keys whose lists are unioned (sorted, deduplicated) by [`deep_merge`] at any depth, so
/// HarnessGym's writes never drop what the agent declared.
pub const UNION_LIST_KEYS: [&str; 2] = ["used_harness_tools", "used_harness_artifacts"];

/// Why a result file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// The file exists but could not be read (including non-UTF-8 content).
    #[error("failed to read result file {path}")]
    Read {
        /// The result file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The file is not JSON.
    #[error("failed to parse result file {path}")]
    Malformed {
        /// The result file.
        path: PathBuf,
        /// The parse failure.
        #[source]
        source: JsonError,
    },
    /// The file is JSON but not an object.
    #[error("result file {path} holds a json {found}, not an object")]
    NotAnObject {
        /// The result file.
        path: PathBuf,
        /// The JSON type found.
        found: &'static str,
    },
    /// The file could not be written.
    #[error("failed to write result file {path}")]
    Write {
        /// The result file.
        path: PathBuf,
        /// The write failure.
        #[source]
        source: JsonError,
    },
}

/// The result written at the start of an iteration (reference §4.1): `run_id`, `iteration`,
/// `status: "running"`, `verified: false`, `task_path` (`null` for inline task text),
/// `registry_artifact_count` (every registered artifact, quarantined ones included), `phases: {}`,
/// and `created_at` = `updated_at` = now.
pub fn create_initial_result(
    run_id: &str,
    iteration: u32,
    task_path: Option<&Path>,
    registry_artifact_count: usize,
) -> ResultMap {
    let now = utc_now();
    let task_path = task_path.map_or(Value::Null, |path| Value::from(path.to_string_lossy()));
    let mut result = ResultMap::new();
    result.insert("run_id".to_owned(), Value::from(run_id));
    result.insert("iteration".to_owned(), Value::from(iteration));
    result.insert(
        "status".to_owned(),
        Value::from(ResultStatus::Running.as_str()),
    );
    result.insert("verified".to_owned(), Value::Bool(false));
    result.insert("task_path".to_owned(), task_path);
    result.insert(
        "registry_artifact_count".to_owned(),
        Value::from(registry_artifact_count),
    );
    result.insert("phases".to_owned(), Value::Object(Map::new()));
    result.insert("created_at".to_owned(), Value::from(now.clone()));
    result.insert("updated_at".to_owned(), Value::from(now));
    result
}

/// Merges `updates` into `base` (reference §4.1): objects merge recursively; the
/// [`UNION_LIST_KEYS`] lists become the sorted, deduplicated union when both sides are lists;
/// everything else is replaced.
///
/// Union order: strings first, sorted; other items (agents sometimes write objects) after them,
/// sorted by their JSON text. The reference's `sorted(set(...))` would crash on such items.
pub fn deep_merge(base: &mut ResultMap, updates: ResultMap) {
    for (key, incoming) in updates {
        let replacement = match (base.get_mut(&key), incoming) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                deep_merge(existing, incoming);
                None
            }
            (Some(Value::Array(existing)), Value::Array(incoming))
                if UNION_LIST_KEYS.contains(&key.as_str()) =>
            {
                union_lists(existing, incoming);
                None
            }
            (_, incoming) => Some(incoming),
        };
        if let Some(value) = replacement {
            base.insert(key, value);
        }
    }
}

/// [`deep_merge`] followed by refreshing `updated_at`: the in-memory half of [`update_result`].
pub fn apply_update(result: &mut ResultMap, updates: ResultMap) {
    deep_merge(result, updates);
    result.insert("updated_at".to_owned(), Value::from(utc_now()));
}

/// Reads a `result.json` that the agent may have rewritten. A missing file is an empty object (as
/// in the reference); unreadable, malformed and non-object files are errors for the loop to record
/// (reference §14.2).
pub fn load_agent_result(path: &Path) -> Result<ResultMap, ResultError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(ResultMap::new()),
        Err(source) => {
            return Err(ResultError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    match json::parse_json_tolerant(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ResultError::NotAnObject {
            path: path.to_owned(),
            found: json::type_name(&other),
        }),
        Err(source) => Err(ResultError::Malformed {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a result atomically (sorted keys, indent 2, trailing newline, finite numbers only).
pub fn write_result(path: &Path, result: &ResultMap) -> Result<(), ResultError> {
    json::write_json_atomic(path, result).map_err(|source| ResultError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Read → deep-merge → write (`artifacts.py:update_result`), returning the merged result. Fails
/// without writing if the current file is unusable; the loop then records the error and rewrites
/// from its own copy.
pub fn update_result(path: &Path, updates: ResultMap) -> Result<ResultMap, ResultError> {
    let mut result = load_agent_result(path)?;
    apply_update(&mut result, updates);
    write_result(path, &result)?;
    Ok(result)
}

/// Sorted, deduplicated union of two lists (see [`deep_merge`] for the order).
fn union_lists(existing: &mut Vec<Value>, incoming: Vec<Value>) {
    let mut items = std::mem::take(existing);
    items.extend(incoming);
    items.sort_by(compare_list_items);
    items.dedup();
    *existing = items;
}

fn compare_list_items(left: &Value, right: &Value) -> Ordering {
    match (left, right) {
        (Value::String(left), Value::String(right)) => left.cmp(right),
        (Value::String(_), _) => Ordering::Less,
        (_, Value::String(_)) => Ordering::Greater,
        (left, right) => left.to_string().cmp(&right.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> ResultMap {
        match value {
            Value::Object(map) => map,
            _ => panic!("test value must be an object"),
        }
    }

    fn merged(base: Value, updates: Value) -> Value {
        let mut base = map(base);
        deep_merge(&mut base, map(updates));
        Value::Object(base)
    }

    #[test]
    fn initial_result_has_the_reference_keys() {
        let result = create_initial_result("run-1", 2, Some(Path::new("/ws/task.md")), 4);
        let keys: Vec<&String> = result.keys().collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "iteration",
                "phases",
                "registry_artifact_count",
                "run_id",
                "status",
                "task_path",
                "updated_at",
                "verified"
            ]
        );
        assert_eq!(result["run_id"], json!("run-1"));
        assert_eq!(result["iteration"], json!(2));
        assert_eq!(result["status"], json!("running"));
        assert_eq!(result["verified"], json!(false));
        assert_eq!(result["task_path"], json!("/ws/task.md"));
        assert_eq!(result["registry_artifact_count"], json!(4));
        assert_eq!(result["phases"], json!({}));
        assert_eq!(result["created_at"], result["updated_at"]);

        let inline = create_initial_result("run-1", 1, None, 0);
        assert_eq!(inline["task_path"], json!(null));
    }

    #[test]
    fn dicts_merge_recursively() {
        assert_eq!(
            merged(json!({"a": {"b": 1}}), json!({"a": {"c": 2}})),
            json!({"a": {"b": 1, "c": 2}})
        );
        assert_eq!(
            merged(
                json!({"phases": {"attempt": {"status": "x"}}}),
                json!({"phases": {"build": {}}})
            ),
            json!({"phases": {"attempt": {"status": "x"}, "build": {}}})
        );
    }

    #[test]
    fn ordinary_lists_and_scalars_are_replaced() {
        assert_eq!(
            merged(json!({"tags": ["a", "b"]}), json!({"tags": ["c"]})),
            json!({"tags": ["c"]})
        );
        assert_eq!(
            merged(json!({"a": {"b": 1}}), json!({"a": 5})),
            json!({"a": 5})
        );
        assert_eq!(
            merged(json!({"a": 5}), json!({"a": {"b": 1}})),
            json!({"a": {"b": 1}})
        );
        assert_eq!(
            merged(json!({"a": 1}), json!({"a": null})),
            json!({"a": null})
        );
    }

    #[test]
    fn used_harness_lists_are_unioned_sorted_and_deduplicated() {
        assert_eq!(
            merged(
                json!({"used_harness_tools": ["probe", "inspect"]}),
                json!({"used_harness_tools": ["other_tool"]})
            ),
            json!({"used_harness_tools": ["inspect", "other_tool", "probe"]})
        );
        assert_eq!(
            merged(
                json!({"used_harness_artifacts": ["a.py", "b.py"]}),
                json!({"used_harness_artifacts": ["c.py"]})
            ),
            json!({"used_harness_artifacts": ["a.py", "b.py", "c.py"]})
        );
        assert_eq!(
            merged(
                json!({"used_harness_tools": ["probe", "inspect"]}),
                json!({"used_harness_tools": ["probe", "other"]})
            ),
            json!({"used_harness_tools": ["inspect", "other", "probe"]})
        );
        assert_eq!(
            merged(
                json!({"used_harness_tools": []}),
                json!({"used_harness_tools": ["probe"]})
            ),
            json!({"used_harness_tools": ["probe"]})
        );
    }

    #[test]
    fn union_applies_at_any_depth_and_only_between_lists() {
        assert_eq!(
            merged(
                json!({"harness_usage": {"used_harness_tools": ["b"]}}),
                json!({"harness_usage": {"used_harness_tools": ["a", "b"]}})
            ),
            json!({"harness_usage": {"used_harness_tools": ["a", "b"]}})
        );
        assert_eq!(
            merged(
                json!({"used_harness_tools": ["probe"]}),
                json!({"used_harness_tools": "all"})
            ),
            json!({"used_harness_tools": "all"})
        );
        assert_eq!(
            merged(
                json!({"used_harness_tools": "all"}),
                json!({"used_harness_tools": ["z", "a"]})
            ),
            json!({"used_harness_tools": ["z", "a"]}),
            "a list replacing a non-list is taken as written"
        );
    }

    #[test]
    fn union_handles_object_items_without_crashing() {
        let result = merged(
            json!({"used_harness_artifacts": [{"path": "b"}, "z"]}),
            json!({"used_harness_artifacts": ["a", {"path": "b"}, 3]}),
        );
        assert_eq!(
            result,
            json!({"used_harness_artifacts": ["a", "z", 3, {"path": "b"}]})
        );
    }

    #[test]
    fn apply_update_refreshes_updated_at() {
        let mut result = map(json!({"updated_at": "old", "status": "running"}));
        apply_update(&mut result, map(json!({"status": "solved"})));
        assert_eq!(result["status"], json!("solved"));
        assert_ne!(result["updated_at"], json!("old"));
    }

    #[test]
    fn load_treats_a_missing_file_as_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = load_agent_result(&dir.path().join("result.json")).expect("loads");
        assert!(loaded.is_empty());
    }

    #[test]
    fn load_reports_malformed_and_non_object_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("result.json");
        std::fs::write(&path, "{\"status\": \"solved\",").expect("seeds");
        let error = load_agent_result(&path).expect_err("malformed");
        assert!(matches!(error, ResultError::Malformed { .. }));
        assert_eq!(
            error.to_string(),
            format!("failed to parse result file {}", path.display())
        );

        std::fs::write(&path, "[\"solved\"]").expect("seeds");
        let error = load_agent_result(&path).expect_err("array");
        assert!(matches!(
            error,
            ResultError::NotAnObject { found: "array", .. }
        ));

        std::fs::write(&path, [0xff_u8, 0xfe]).expect("seeds");
        assert!(matches!(
            load_agent_result(&path),
            Err(ResultError::Read { .. })
        ));
    }

    #[test]
    fn load_accepts_python_non_finite_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("result.json");
        std::fs::write(
            &path,
            "{\"metrics\": {\"score\": Infinity}, \"status\": \"failed\"}",
        )
        .expect("seeds");
        let loaded = load_agent_result(&path).expect("loads");
        assert_eq!(loaded["metrics"]["score"], json!(null));
    }

    #[test]
    fn update_result_reads_merges_and_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("iterations/1/result.json");
        let initial = create_initial_result("r", 1, None, 0);
        write_result(&path, &initial).expect("writes");
        let updates =
            map(json!({"phases": {"attempt": {"status": "timeout"}}, "used_harness_tools": ["x"]}));
        let merged = update_result(&path, updates).expect("updates");
        assert_eq!(merged["phases"], json!({"attempt": {"status": "timeout"}}));
        assert_eq!(merged["run_id"], json!("r"));
        assert_eq!(load_agent_result(&path).expect("reads"), merged);
        let text = std::fs::read_to_string(&path).expect("reads");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn update_result_on_a_missing_file_writes_only_the_update() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("result.json");
        let merged = update_result(&path, map(json!({"status": "blocked"}))).expect("updates");
        let keys: Vec<&String> = merged.keys().collect();
        assert_eq!(keys, ["status", "updated_at"]);
    }

    #[test]
    fn update_result_refuses_to_overwrite_a_malformed_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("result.json");
        std::fs::write(&path, "not json").expect("seeds");
        assert!(update_result(&path, map(json!({"status": "x"}))).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("reads"), "not json");
    }
}
