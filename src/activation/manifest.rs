//! MCP manifest normalisation (reference §6.3, `activation.py:_normalize_mcp_manifest`).
//!
//! Pure: the only question asked of the filesystem — does a relative argument name something in
//! the workspace — goes through the `exists` callback, so tests can answer it from a list. The
//! workspace is a parameter (`/workspace` in containers); every path produced is absolute and
//! lexically normalised, never canonicalised.
//!
//! Differences from the reference, all stricter: `command` must be a non-empty string, `args`,
//! `enabled_tools` and `self_test` lists must hold strings or numbers (Python would iterate the
//! characters of a string `args`), `cwd` must be a string, and a timeout must be a positive
//! whole number of seconds (milliseconds still round down to at least 1 s).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::paths::{join_normalized, normalize};
use super::shell::{self, SplitProblem};
use crate::harness::json::{is_truthy, type_name};

/// The server name used when neither `name` nor the manifest's directory gives one.
pub const DEFAULT_SERVER_NAME: &str = "harnessgym_mcp";
/// Seconds to wait for the `initialize` response when the manifest names no startup timeout.
pub const DEFAULT_STARTUP_TIMEOUT_SEC: u64 = 10;
/// Seconds to wait for a tool response when the manifest names no tool timeout.
pub const DEFAULT_TOOL_TIMEOUT_SEC: u64 = 60;
/// Seconds a self-test may run when the manifest names no self-test timeout.
pub const DEFAULT_SELF_TEST_TIMEOUT_SEC: u64 = 20;

/// Why a manifest could not be normalised; reported as `invalid mcp manifest <path>: <this>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The manifest is valid JSON but not an object.
    #[error("manifest is a json {found}, not an object")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// `command` is missing, `null` or empty.
    #[error("manifest has no `command`")]
    MissingCommand,
    /// A field has the wrong JSON type.
    #[error("`{field}` must be {expected}, not a json {found}")]
    WrongType {
        /// The field, dotted for nested ones (`self_test.command`).
        field: String,
        /// What it must be.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A timeout is not a positive whole number of seconds (or a number of milliseconds).
    #[error("`{field}` is not a valid timeout: {value}")]
    BadTimeout {
        /// The field, dotted for nested ones (`timeouts.tool_ms`).
        field: String,
        /// The value as written.
        value: String,
    },
    /// A command string could not be shell-split.
    #[error("`{field}` cannot be split into words: {problem}")]
    Split {
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: SplitProblem,
    },
}

/// A normalised MCP server: what smoke, self-test and the runner configurations use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpServer {
    /// Sanitised name (`[A-Za-z0-9_-]+`).
    pub name: String,
    /// The program to start.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Absolute working directory.
    pub cwd: PathBuf,
    /// Seconds to wait for `initialize`.
    pub startup_timeout_sec: u64,
    /// Seconds to wait for `tools/list` and for each tool call.
    pub tool_timeout_sec: u64,
    /// Seconds the self-test may run unless its own spec says otherwise.
    pub self_test_timeout_sec: u64,
    /// The self-test to run, if the manifest configures one.
    pub self_test: Option<SelfTestSpec>,
    /// Tools the manifest declares (`enabled_tools`), as written.
    pub enabled_tools: Vec<String>,
}

/// A self-test command: run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfTestSpec {
    /// Program and arguments; may be empty (the run then fails).
    pub command: Vec<String>,
    /// Absolute working directory (the server's unless the spec names one).
    pub cwd: PathBuf,
    /// Timeout of this spec, overriding the server's `self_test_timeout_sec`.
    pub timeout_sec: Option<u64>,
}

impl McpServer {
    /// The self-test's effective timeout in seconds.
    pub fn effective_self_test_timeout(&self) -> u64 {
        self.self_test
            .as_ref()
            .and_then(|spec| spec.timeout_sec)
            .unwrap_or(self.self_test_timeout_sec)
    }
}

/// Where one timeout may be written, in order of precedence, and its default.
struct TimeoutKeys {
    seconds: &'static [&'static str],
    nested_seconds: &'static [&'static str],
    nested_ms: &'static [&'static str],
    default: u64,
}

const STARTUP: TimeoutKeys = TimeoutKeys {
    seconds: &["startup_timeout_sec"],
    nested_seconds: &["startup_seconds", "startup_timeout_sec"],
    nested_ms: &["initialize_ms", "startup_ms"],
    default: DEFAULT_STARTUP_TIMEOUT_SEC,
};
const TOOL: TimeoutKeys = TimeoutKeys {
    seconds: &["tool_timeout_sec"],
    nested_seconds: &["tool_seconds", "tool_timeout_sec"],
    nested_ms: &["tool_call_ms", "tool_ms"],
    default: DEFAULT_TOOL_TIMEOUT_SEC,
};
const SELF_TEST: TimeoutKeys = TimeoutKeys {
    seconds: &["self_test_timeout_sec", "test_timeout_sec"],
    nested_seconds: &["self_test_seconds", "self_test_timeout_sec"],
    nested_ms: &["self_test_ms", "test_ms"],
    default: DEFAULT_SELF_TEST_TIMEOUT_SEC,
};

/// Normalises a parsed manifest. `dir_name` is the name of the directory holding the manifest
/// (the fallback server name); `exists` tells whether an absolute path exists.
pub fn normalize_manifest(
    manifest: &Value,
    dir_name: &str,
    workspace: &Path,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<McpServer, ManifestError> {
    let Value::Object(fields) = manifest else {
        return Err(ManifestError::NotAnObject {
            found: type_name(manifest),
        });
    };
    let command = match fields.get("command") {
        None | Some(Value::Null) => return Err(ManifestError::MissingCommand),
        Some(Value::String(command)) if command.trim().is_empty() => {
            return Err(ManifestError::MissingCommand);
        }
        Some(Value::String(command)) => command.clone(),
        Some(other) => return Err(wrong_type("command", "a string", other)),
    };
    let args = string_list(fields.get("args"), "args")?;
    let timeouts = match fields.get("timeouts") {
        Some(Value::Object(timeouts)) => Some(timeouts),
        _ => None,
    };
    let workspace = normalize(workspace);
    let cwd = match fields.get("cwd") {
        None | Some(Value::Null) => workspace.clone(),
        Some(Value::String(cwd)) => {
            let repo_local = points_into_workspace(&args, &workspace, exists);
            resolve_cwd(cwd, &workspace, repo_local)
        }
        Some(other) => return Err(wrong_type("cwd", "a string", other)),
    };
    let self_test = normalize_self_test(fields, &command, &args, &cwd, &workspace, exists)?;
    Ok(McpServer {
        name: server_name(fields.get("name"), dir_name),
        startup_timeout_sec: timeout_value(fields, timeouts, &STARTUP)?,
        tool_timeout_sec: timeout_value(fields, timeouts, &TOOL)?,
        self_test_timeout_sec: timeout_value(fields, timeouts, &SELF_TEST)?,
        enabled_tools: string_list(fields.get("enabled_tools"), "enabled_tools")?,
        command,
        args,
        cwd,
        self_test,
    })
}

/// `name` (when truthy) or `dir_name`, with every run of characters outside `[A-Za-z0-9_-]`
/// replaced by `_`; [`DEFAULT_SERVER_NAME`] when nothing is left.
pub fn server_name(name: Option<&Value>, dir_name: &str) -> String {
    let raw = match name {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(value) if is_truthy(value) && !value.is_string() => value.to_string(),
        _ => dir_name.to_owned(),
    };
    let mut safe = String::with_capacity(raw.len());
    let mut in_run = false;
    for ch in raw.trim().chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
            safe.push(ch);
            in_run = false;
        } else if !in_run {
            safe.push('_');
            in_run = true;
        }
    }
    if safe.is_empty() {
        DEFAULT_SERVER_NAME.to_owned()
    } else {
        safe
    }
}

/// The reference's cwd rule: relative → workspace-relative; absolute and not the workspace while
/// the command points at something in the workspace → the workspace (the manifest was written
/// for another checkout); otherwise as written.
fn resolve_cwd(raw: &str, workspace: &Path, repo_local: bool) -> PathBuf {
    let path = Path::new(raw);
    if path.is_relative() {
        return join_normalized(workspace, path);
    }
    let path = normalize(path);
    if path != workspace && repo_local {
        workspace.to_owned()
    } else {
        path
    }
}

/// Whether any of `parts` is a non-empty relative path that exists in the workspace.
fn points_into_workspace(
    parts: &[String],
    workspace: &Path,
    exists: &dyn Fn(&Path) -> bool,
) -> bool {
    parts.iter().any(|part| {
        let path = Path::new(part);
        !part.is_empty() && path.is_relative() && exists(&join_normalized(workspace, path))
    })
}

/// The value under `key`, unless it is absent or `null` (Python's `is not None`).
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|value| !value.is_null())
}

fn timeout_value(
    fields: &Map<String, Value>,
    timeouts: Option<&Map<String, Value>>,
    keys: &TimeoutKeys,
) -> Result<u64, ManifestError> {
    for key in keys.seconds {
        if let Some(value) = present(fields, key) {
            return seconds(value, key);
        }
    }
    let Some(timeouts) = timeouts else {
        return Ok(keys.default);
    };
    for key in keys.nested_seconds {
        if let Some(value) = present(timeouts, key) {
            return seconds(value, &format!("timeouts.{key}"));
        }
    }
    for key in keys.nested_ms {
        if let Some(value) = present(timeouts, key) {
            return milliseconds(value, &format!("timeouts.{key}"));
        }
    }
    Ok(keys.default)
}

/// A whole number of seconds, at least 1: a number (fractions truncated, as Python's `int`) or a
/// string holding an integer.
fn seconds(value: &Value, field: &str) -> Result<u64, ManifestError> {
    let parsed = match value {
        Value::Number(number) => number.as_f64().map(f64::trunc),
        Value::String(text) => text.trim().parse::<i64>().ok().map(|n| n as f64),
        _ => None,
    };
    match parsed {
        Some(secs) if secs.is_finite() && secs >= 1.0 => Ok(secs as u64),
        _ => Err(bad_timeout(field, value)),
    }
}

/// Milliseconds (a number or numeric string) as whole seconds, at least 1: `max(1, ms / 1000)`.
fn milliseconds(value: &Value, field: &str) -> Result<u64, ManifestError> {
    let parsed = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(ms) if ms.is_finite() => Ok((ms / 1000.0).trunc().max(1.0) as u64),
        _ => Err(bad_timeout(field, value)),
    }
}

fn bad_timeout(field: &str, value: &Value) -> ManifestError {
    ManifestError::BadTimeout {
        field: field.to_owned(),
        value: value.to_string(),
    }
}

fn wrong_type(field: &str, expected: &'static str, found: &Value) -> ManifestError {
    ManifestError::WrongType {
        field: field.to_owned(),
        expected,
        found: type_name(found),
    }
}

/// A list of strings or numbers (numbers as written); absent or `null` is empty.
fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, ManifestError> {
    const EXPECTED: &str = "a list of strings";
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type(field, EXPECTED, other)),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            other => Err(wrong_type(field, EXPECTED, other)),
        })
        .collect()
}

fn split_words(text: &str, field: &str) -> Result<Vec<String>, ManifestError> {
    shell::split(text).map_err(|problem| ManifestError::Split {
        field: field.to_owned(),
        problem,
    })
}

/// The `self_test` forms of §6.3: absent or falsy → none; `true` → the server command plus
/// `--self-test`; a list; a shell-split string; an object with `command` (list, or string with
/// `args`, or shell-split string), optional `cwd` and `timeout_seconds|timeout_sec|timeout_ms`.
fn normalize_self_test(
    fields: &Map<String, Value>,
    command: &str,
    args: &[String],
    server_cwd: &Path,
    workspace: &Path,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Option<SelfTestSpec>, ManifestError> {
    let spec = |command: Vec<String>| SelfTestSpec {
        command,
        cwd: server_cwd.to_owned(),
        timeout_sec: None,
    };
    match fields.get("self_test") {
        None => Ok(None),
        Some(Value::Bool(true)) => {
            let mut parts = vec![command.to_owned()];
            parts.extend(args.iter().cloned());
            parts.push("--self-test".to_owned());
            Ok(Some(spec(parts)))
        }
        Some(value) if !is_truthy(value) => Ok(None),
        Some(list @ Value::Array(_)) => Ok(Some(spec(string_list(Some(list), "self_test")?))),
        Some(Value::String(text)) => Ok(Some(spec(split_words(text, "self_test")?))),
        Some(Value::Object(object)) => {
            self_test_object(object, server_cwd, workspace, exists).map(Some)
        }
        Some(other) => Err(wrong_type(
            "self_test",
            "true, false, a command string or list, or an object with command/args",
            other,
        )),
    }
}

fn self_test_object(
    object: &Map<String, Value>,
    server_cwd: &Path,
    workspace: &Path,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<SelfTestSpec, ManifestError> {
    let command = match object.get("command") {
        Some(list @ Value::Array(_)) => string_list(Some(list), "self_test.command")?,
        Some(Value::String(text)) => match object.get("args") {
            Some(args) if is_truthy(args) => {
                let mut parts = vec![text.clone()];
                parts.extend(string_list(Some(args), "self_test.args")?);
                parts
            }
            _ => split_words(text, "self_test.command")?,
        },
        other => {
            return Err(wrong_type(
                "self_test.command",
                "a string or list",
                other.unwrap_or(&Value::Null),
            ));
        }
    };
    let cwd = match object.get("cwd") {
        None | Some(Value::Null) => server_cwd.to_owned(),
        Some(Value::String(cwd)) => {
            let repo_local =
                points_into_workspace(command.get(1..).unwrap_or(&[]), workspace, exists);
            resolve_cwd(cwd, workspace, repo_local)
        }
        Some(other) => return Err(wrong_type("self_test.cwd", "a string", other)),
    };
    let timeout_sec = if let Some(value) = present(object, "timeout_seconds") {
        Some(seconds(value, "self_test.timeout_seconds")?)
    } else if let Some(value) = present(object, "timeout_sec") {
        Some(seconds(value, "self_test.timeout_sec")?)
    } else if let Some(value) = present(object, "timeout_ms") {
        Some(milliseconds(value, "self_test.timeout_ms")?)
    } else {
        None
    };
    Ok(SelfTestSpec {
        command,
        cwd,
        timeout_sec,
    })
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
