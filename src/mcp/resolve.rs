//! Which server `mcp-call --server NAME` means (reference §6.6, `mcp_client.py:_load_server`).
//!
//! First `<ws>/.harnessgym/activation.json`: the first `mcp_servers[]` entry with that `name`
//! whose `active` is not `false`. Else the manifests under `<ws>/.harnessgym/mcp/` (any depth,
//! in sorted order) named `mcp.json`, `server.json` or `harnessgym-mcp.json` whose `name` — or,
//! failing that, parent directory name — matches. Only what a call needs is read: `command`,
//! `args`, `cwd` (absent → the workspace, relative → against the workspace) and the tool timeout
//! (`tool_timeout_sec`, `timeouts.tool_seconds`, `timeouts.tool_timeout_sec`; default 60 s).
//! Activation's full normalisation lives with activation.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::workspace::HARNESS_DIR;
use crate::harness::json::{JsonError, read_json_if_exists, read_json_tolerant};

/// Manifest file names, as activation accepts them.
pub const MANIFEST_NAMES: [&str; 3] = ["mcp.json", "server.json", "harnessgym-mcp.json"];
/// The tool timeout when nothing sets one.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// How deep below `.harnessgym/mcp/` manifests are searched.
const MAX_DEPTH: usize = 8;

/// Why no server could be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// `activation.json` exists but cannot be read.
    #[error("failed to load the activation report")]
    Activation(#[source] JsonError),
    /// Neither the activation report nor a manifest names the server.
    #[error("could not find active MCP server `{name}`")]
    NotFound {
        /// The requested name.
        name: String,
    },
    /// The matching entry has no `command` string.
    #[error("MCP server `{name}` in {path} has no command")]
    NoCommand {
        /// The server name.
        name: String,
        /// The activation report or manifest.
        path: PathBuf,
    },
}

/// A server to launch.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedServer {
    /// Its name (for telemetry).
    pub name: String,
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory (absolute when the workspace is).
    pub cwd: PathBuf,
    /// How long a tool call may take.
    pub tool_timeout: Duration,
}

/// Finds server `name` of `workspace`.
pub fn find_server(workspace: &Path, name: &str) -> Result<ResolvedServer, ResolveError> {
    if let Some(server) = from_activation(workspace, name)? {
        return Ok(server);
    }
    let root = workspace.join(HARNESS_DIR).join("mcp");
    let mut manifests = Vec::new();
    collect_manifests(&root, 0, &mut manifests);
    manifests.sort();
    for path in manifests {
        let Ok(manifest) = read_json_tolerant(&path) else {
            continue;
        };
        let dir_name = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        let declared = manifest.get("name").and_then(Value::as_str);
        if declared == Some(name) || dir_name.as_deref() == Some(name) {
            let display = declared
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .or(dir_name)
                .unwrap_or_else(|| name.to_string());
            return server_from(&manifest, display, workspace, &path);
        }
    }
    Err(ResolveError::NotFound {
        name: name.to_string(),
    })
}

fn from_activation(workspace: &Path, name: &str) -> Result<Option<ResolvedServer>, ResolveError> {
    let path = workspace.join(HARNESS_DIR).join("activation.json");
    let Some(report) = read_json_if_exists(&path).map_err(ResolveError::Activation)? else {
        return Ok(None);
    };
    let servers = report.get("mcp_servers").and_then(Value::as_array);
    let Some(entry) = servers.into_iter().flatten().find(|server| {
        server.get("name").and_then(Value::as_str) == Some(name)
            && server.get("active") != Some(&Value::Bool(false))
    }) else {
        return Ok(None);
    };
    server_from(entry, name.to_string(), workspace, &path).map(Some)
}

/// A server from an activation entry or a manifest (they share these keys).
fn server_from(
    entry: &Value,
    name: String,
    workspace: &Path,
    path: &Path,
) -> Result<ResolvedServer, ResolveError> {
    let Some(command) = entry.get("command").and_then(Value::as_str) else {
        return Err(ResolveError::NoCommand {
            name,
            path: path.to_path_buf(),
        });
    };
    let args = entry
        .get("args")
        .and_then(Value::as_array)
        .map(|args| args.iter().map(arg_text).collect())
        .unwrap_or_default();
    let cwd = match entry.get("cwd").and_then(Value::as_str) {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.to_path_buf(),
    };
    Ok(ResolvedServer {
        name,
        command: command.to_string(),
        args,
        cwd: normalize(&cwd),
        tool_timeout: tool_timeout(entry),
    })
}

fn arg_text(arg: &Value) -> String {
    match arg {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The first positive of `tool_timeout_sec`, `timeouts.tool_seconds`,
/// `timeouts.tool_timeout_sec`; else [`DEFAULT_TOOL_TIMEOUT`].
fn tool_timeout(entry: &Value) -> Duration {
    [
        "/tool_timeout_sec",
        "/timeouts/tool_seconds",
        "/timeouts/tool_timeout_sec",
    ]
    .iter()
    .filter_map(|pointer| entry.pointer(pointer))
    .filter_map(seconds_of)
    .next()
    .unwrap_or(DEFAULT_TOOL_TIMEOUT)
}

fn seconds_of(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}

/// Manifest files below `dir` (symlinked directories are not followed).
fn collect_manifests(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let file_name = entry.file_name();
        if kind.is_dir() && file_name != "__pycache__" {
            collect_manifests(&path, depth + 1, out);
        } else if !kind.is_dir() && MANIFEST_NAMES.iter().any(|name| file_name == *name) {
            out.push(path);
        }
    }
}

/// Removes `.` components and folds `..` lexically (`Path::resolve` without touching links).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn write(root: &Path, rel: &str, value: &Value) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, value.to_string()).expect("write");
    }

    #[test]
    fn activation_entries_win_and_inactive_ones_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path();
        write(
            ws,
            ".harnessgym/activation.json",
            &json!({"mcp_servers": [
                {"name": "probe", "active": false, "command": "old"},
                {"name": "probe", "command": "python3", "args": ["s.py", 3],
                 "cwd": ".harnessgym/mcp/probe/../probe", "tool_timeout_sec": 77}
            ]}),
        );
        write(
            ws,
            ".harnessgym/mcp/probe/mcp.json",
            &json!({"name": "probe", "command": "manifest"}),
        );
        let server = find_server(ws, "probe").expect("found");
        assert_eq!(server.command, "python3");
        assert_eq!(server.args, ["s.py", "3"]);
        assert_eq!(server.cwd, ws.join(".harnessgym/mcp/probe"));
        assert_eq!(server.tool_timeout, Duration::from_secs(77));
    }

    #[test]
    fn manifests_match_by_name_or_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path();
        write(
            ws,
            ".harnessgym/mcp/a/harnessgym-mcp.json",
            &json!({"name": "alpha", "command": "python3", "args": ["a.py"],
                    "timeouts": {"tool_seconds": 12}}),
        );
        write(
            ws,
            ".harnessgym/mcp/nested/beta/server.json",
            &json!({"command": "python3", "cwd": ".harnessgym/mcp/nested/beta"}),
        );
        write(
            ws,
            ".harnessgym/mcp/a/notes.json",
            &json!({"name": "gamma"}),
        );
        let alpha = find_server(ws, "alpha").expect("alpha");
        assert_eq!(alpha.cwd, ws);
        assert_eq!(alpha.tool_timeout, Duration::from_secs(12));
        let beta = find_server(ws, "beta").expect("beta");
        assert_eq!(beta.name, "beta");
        assert_eq!(beta.cwd, ws.join(".harnessgym/mcp/nested/beta"));
        assert_eq!(beta.tool_timeout, DEFAULT_TOOL_TIMEOUT);
        assert!(matches!(
            find_server(ws, "gamma"),
            Err(ResolveError::NotFound { .. })
        ));
    }

    #[test]
    fn a_manifest_without_command_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            ".harnessgym/mcp/x/mcp.json",
            &json!({"name": "x"}),
        );
        assert!(matches!(
            find_server(dir.path(), "x"),
            Err(ResolveError::NoCommand { .. })
        ));
    }

    #[test]
    fn timeouts_ignore_non_positive_values() {
        assert_eq!(
            tool_timeout(&json!({"tool_timeout_sec": 0, "timeouts": {"tool_timeout_sec": "5"}})),
            Duration::from_secs(5)
        );
    }
}
