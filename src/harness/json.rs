//! JSON files in the layout the reference writes: keys sorted at every depth, indent 2, trailing
//! newline (reference §3.1, `artifacts.py:write_json`), and a reader that accepts what Python
//! writes.
//!
//! Writes go through [`serde_json::Value`] and are atomic: a temporary file in the target's
//! directory is written, fsynced and renamed over the target, so a crash never leaves a truncated
//! file (design invariant 2).
//!
//! Non-finite numbers: Python writes bare `NaN`, `Infinity` and `-Infinity` tokens (reference §3.1,
//! §14.19), which are not JSON. We never write them: a non-finite float becomes `null` on the way
//! out (that is what `serde_json::to_value` does), and the tolerant reader maps those tokens to
//! `null` on the way in. A non-finite score therefore reads as "no score", which is also how every
//! consumer treats a failed run's `inf` score.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

/// Why JSON could not be produced, parsed or written.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The value could not be represented as JSON (e.g. a map with non-string keys).
    #[error("failed to convert value to json")]
    Serialize {
        /// The serializer's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The text is not JSON, even after mapping Python's non-finite tokens to `null`.
    #[error("malformed json")]
    Syntax {
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The file's content is not JSON.
    #[error("failed to parse json file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse failure ([`JsonError::Syntax`]).
        #[source]
        source: Box<JsonError>,
    },
    /// The target's directory could not be created.
    #[error("failed to create directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The temporary file could not be created, written or synced.
    #[error("failed to write temporary file for {path}")]
    WriteTemp {
        /// The final target (the temporary file sits beside it).
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The temporary file could not be renamed over the target.
    #[error("failed to replace {path}")]
    Replace {
        /// The final target.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
}

/// Serializes `value` with keys sorted at every depth and an indent of 2, without a trailing
/// newline (the form the reference uses inside prompts). Non-finite floats become `null`.
pub fn to_pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    let value = serde_json::to_value(value).map_err(|source| JsonError::Serialize { source })?;
    serde_json::to_string_pretty(&sort_keys(value))
        .map_err(|source| JsonError::Serialize { source })
}

/// Writes `value` to `path` atomically: sorted keys, indent 2, trailing newline, finite numbers
/// only.
///
/// The parent directory is created if missing (as the reference does). An existing file keeps its
/// permissions; a new one is created `0644` (a temporary file would otherwise be `0600`, unreadable
/// to a container user).
pub fn write_json_atomic<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), JsonError> {
    let mut text = to_pretty_json(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Parses JSON text, accepting Python's bare `NaN`, `Infinity` and `-Infinity` tokens (outside
/// strings) as `null`.
pub fn parse_json_tolerant(text: &str) -> Result<Value, JsonError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(strict_error) => {
            if !text.contains("NaN") && !text.contains("Infinity") {
                return Err(JsonError::Syntax {
                    source: strict_error,
                });
            }
            serde_json::from_str(&replace_non_finite_tokens(text))
                .map_err(|source| JsonError::Syntax { source })
        }
    }
}

/// Reads and parses a JSON file with [`parse_json_tolerant`].
pub fn read_json_tolerant(path: &Path) -> Result<Value, JsonError> {
    let text = fs::read_to_string(path).map_err(|source| JsonError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_json_tolerant(&text).map_err(|source| JsonError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// Like [`read_json_tolerant`], but a missing file is `Ok(None)` (the reference reads missing files
/// as empty).
pub fn read_json_if_exists(path: &Path) -> Result<Option<Value>, JsonError> {
    match read_json_tolerant(path) {
        Ok(value) => Ok(Some(value)),
        Err(JsonError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Python truthiness of a JSON value: `null`, `false`, `0`, `""`, `[]` and `{}` are false. The
/// reference tests agent-written fields this way (`if selected:`,
/// `bool(metadata.get("quarantined"))`).
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// The JSON type name of a value, for messages ("array", "string", ...).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Rebuilds every object with its keys inserted in sorted order. Without serde_json's
/// `preserve_order` feature maps are already sorted and this is a cheap copy; with it (enabled by
/// any crate in the build graph, since features unify) insertion order is what gets written, so
/// this keeps the output sorted either way.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(left, _), (right, _)| left.cmp(right));
            let sorted: Map<String, Value> = entries
                .into_iter()
                .map(|(key, item)| (key, sort_keys(item)))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Replaces `NaN`, `Infinity` and `-Infinity` outside string literals with `null`.
fn replace_non_finite_tokens(text: &str) -> String {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    while let Some(ch) = rest.chars().next() {
        if in_string {
            // An escape consumes the next character too, so `\"` never closes the string.
            let consumed = if ch == '\\' {
                rest.chars().take(2).map(char::len_utf8).sum()
            } else {
                ch.len_utf8()
            };
            in_string = ch != '"';
            output.push_str(&rest[..consumed]);
            rest = &rest[consumed..];
            continue;
        }
        if let Some(token) = TOKENS.iter().find(|token| rest.starts_with(**token)) {
            output.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        in_string = ch == '"';
        output.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    output
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path`, then fsyncs
/// the directory (parents created as for [`write_json_atomic`]).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), JsonError> {
    write_atomic(path, bytes)
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path`, then fsyncs
/// the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), JsonError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| JsonError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let write_temp = |source| JsonError::WriteTemp {
        path: path.to_owned(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".harnessgym-tmp-")
        .tempfile_in(&dir)
        .map_err(write_temp)?;
    temp.write_all(bytes).map_err(write_temp)?;
    set_target_permissions(temp.as_file(), path).map_err(write_temp)?;
    temp.as_file().sync_all().map_err(write_temp)?;
    temp.persist(path).map_err(|error| JsonError::Replace {
        path: path.to_owned(),
        source: error.error,
    })?;
    // Makes the rename itself durable. Best effort: some filesystems refuse to fsync a directory,
    // and the data is already complete on disk either way.
    if let Ok(handle) = fs::File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn set_target_permissions(file: &fs::File, target: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = match fs::metadata(target) {
        Ok(metadata) => metadata.permissions(),
        Err(_) => fs::Permissions::from_mode(0o644),
    };
    file.set_permissions(permissions)
}

#[cfg(not(unix))]
fn set_target_permissions(_file: &fs::File, _target: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_json_sorts_keys_at_every_depth() {
        #[derive(Serialize)]
        struct Sample {
            zeta: u32,
            alpha: Vec<Value>,
        }
        let sample = Sample {
            zeta: 1,
            alpha: vec![json!({"b": 1, "a": {"y": 2, "x": 3}})],
        };
        let text = to_pretty_json(&sample).expect("serializes");
        let expected = "{\n  \"alpha\": [\n    {\n      \"a\": {\n        \"x\": 3,\n        \"y\": 2\n      },\n      \
                        \"b\": 1\n    }\n  ],\n  \"zeta\": 1\n}";
        assert_eq!(text, expected);
    }

    #[test]
    fn pretty_json_writes_non_finite_floats_as_null() {
        let text =
            to_pretty_json(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5]).expect("serializes");
        assert_eq!(text, "[\n  null,\n  null,\n  null,\n  1.5\n]");
    }

    #[test]
    fn pretty_json_matches_python_for_empty_containers() {
        let text = to_pretty_json(&json!({"phases": {}, "blockers": []})).expect("serializes");
        assert_eq!(text, "{\n  \"blockers\": [],\n  \"phases\": {}\n}");
    }

    #[test]
    fn serialize_errors_are_reported() {
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1_u8], 1_u8);
        assert!(matches!(
            to_pretty_json(&bad),
            Err(JsonError::Serialize { .. })
        ));
    }

    #[test]
    fn write_is_sorted_with_trailing_newline_and_creates_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/result.json");
        write_json_atomic(&path, &json!({"z": 1, "a": f64::INFINITY})).expect("writes");
        let text = fs::read_to_string(&path).expect("reads");
        assert_eq!(text, "{\n  \"a\": null,\n  \"z\": 1\n}\n");
        let leftovers: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("lists")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name() != "result.json")
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary files left behind: {leftovers:?}"
        );
    }

    #[test]
    fn write_replaces_existing_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        fs::write(&path, "old content that is much longer than the new one").expect("seeds");
        write_json_atomic(&path, &json!({"version": 1})).expect("writes");
        assert_eq!(
            fs::read_to_string(&path).expect("reads"),
            "{\n  \"version\": 1\n}\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn write_uses_0644_for_new_files_and_keeps_existing_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("fresh.json");
        write_json_atomic(&fresh, &json!({})).expect("writes");
        let mode = fs::metadata(&fresh).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);

        let existing = dir.path().join("existing.json");
        fs::write(&existing, "{}").expect("seeds");
        fs::set_permissions(&existing, fs::Permissions::from_mode(0o640)).expect("chmod");
        write_json_atomic(&existing, &json!({})).expect("writes");
        let mode = fs::metadata(&existing).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn write_into_a_file_path_fails_with_the_directory_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, "x").expect("seeds");
        let error = write_json_atomic(&blocker.join("x.json"), &json!({})).expect_err("must fail");
        assert!(matches!(error, JsonError::CreateDir { ref path, .. } if path == &blocker));
    }

    #[test]
    fn tolerant_parse_maps_python_tokens_to_null() {
        let value =
            parse_json_tolerant(r#"{"a": NaN, "b": Infinity, "c": -Infinity, "d": [1, NaN]}"#)
                .expect("parses");
        assert_eq!(
            value,
            json!({"a": null, "b": null, "c": null, "d": [1, null]})
        );
    }

    #[test]
    fn tolerant_parse_leaves_tokens_inside_strings_alone() {
        let text = r#"{"NaN": "Infinity and NaN", "esc": "quote \" NaN \\", "x": -Infinity, "u": "é NaN"}"#;
        let value = parse_json_tolerant(text).expect("parses");
        assert_eq!(
            value,
            json!({"NaN": "Infinity and NaN", "esc": "quote \" NaN \\", "x": null, "u": "é NaN"})
        );
    }

    #[test]
    fn tolerant_parse_accepts_plain_json_and_surrounding_whitespace() {
        assert_eq!(
            parse_json_tolerant("  [1, 2.5]\n").expect("parses"),
            json!([1, 2.5])
        );
    }

    #[test]
    fn tolerant_parse_still_rejects_garbage() {
        assert!(matches!(
            parse_json_tolerant("{"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_json_tolerant("NaNx"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_json_tolerant("log line\n{}"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_json_tolerant(r#""NaN"#),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn read_reports_missing_and_malformed_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.json");
        assert!(matches!(
            read_json_tolerant(&missing),
            Err(JsonError::Read { .. })
        ));
        assert!(
            read_json_if_exists(&missing)
                .expect("missing is fine")
                .is_none()
        );

        let bad = dir.path().join("bad.json");
        fs::write(&bad, "{not json").expect("seeds");
        let error = read_json_if_exists(&bad).expect_err("must fail");
        assert!(matches!(error, JsonError::Parse { ref path, .. } if path == &bad));

        let good = dir.path().join("good.json");
        fs::write(&good, "{\"score\": Infinity}\n").expect("seeds");
        assert_eq!(
            read_json_tolerant(&good).expect("parses"),
            json!({"score": null})
        );
    }

    #[test]
    fn truthiness_follows_python() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_truthy(&falsy), "{falsy} should be falsy");
        }
        for truthy in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("x"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(is_truthy(&truthy), "{truthy} should be truthy");
        }
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name(&json!([])), "array");
        assert_eq!(type_name(&json!("s")), "string");
        assert_eq!(type_name(&json!(null)), "null");
    }
}
