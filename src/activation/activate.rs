//! One activation of a workspace's bundle (reference §6, `activation.py:activate_generated_harness`).
//!
//! **Runs inside a container only.** It smoke-tests and self-tests generated MCP servers, i.e. it
//! runs code an agent wrote; the host starts it as `harnessgym internal activate` through
//! `docker exec`, and [`activate`] refuses to do anything unless `HARNESSGYM_IN_CONTAINER=1` is
//! set (the host sets it on every container it creates).
//!
//! Steps: load the registry; list quarantined artifacts (skipped by everything below); link the
//! skills; for each MCP artifact find and normalise its manifest, smoke it
//! ([`crate::mcp::smoke::smoke`]) and run its self-test, both with `HARNESSGYM_WORKSPACE` set;
//! gate each server and the run; then (unless `write_files` is off) write the Codex block, the
//! Claude config, the `mcp_call.py` shim and `.harnessgym/activation.json`.
//!
//! Deduplication: a server whose name is already active is skipped (reference rule); a manifest
//! already tested in this activation is not tested again (ours: the reference re-tested and
//! re-counted inactive duplicates) but an artifact pointing at a failed manifest is still named
//! in `failed_artifacts`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::error::ActivationError;
use super::manifest::{McpServer, normalize_manifest};
use super::paths::{display, join_normalized, normalize};
use super::report::{ActivationReport, McpServerRow};
use super::selftest::run_server_self_test;
use super::skills::activate_skills;
use super::wiring::{self, HelperInvocation};
use crate::harness::json::{self, parse_json_tolerant};
use crate::harness::registry::{Registry, load_registry, registry_path};
use crate::mcp::smoke::{SmokeRequest, smoke};

/// Set to `1` by the host on every container it creates; activation refuses to run without it.
pub const IN_CONTAINER_ENV: &str = "HARNESSGYM_IN_CONTAINER";
/// Given to every smoke-tested server and self-test: the workspace (the MCP helpers' name).
pub use crate::mcp::workspace::ENV_WORKSPACE as WORKSPACE_ENV;
/// The report, relative to the workspace.
pub const ACTIVATION_PATH: &str = ".harnessgym/activation.json";
/// Manifest file names looked for in an MCP artifact's directory, in order (§6.3): the same
/// list the registry sync recognises.
pub use crate::harness::registry::MCP_MANIFEST_NAMES;

/// What to activate and how the helpers are to be wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivateOptions {
    /// The workspace (in containers, `/workspace`); made absolute and normalised.
    pub workspace: PathBuf,
    /// The harnessgym binary in the container, launched by the agents' MCP configurations.
    pub helper_binary: String,
    /// Telemetry file the proxy and bridge append to.
    pub telemetry_path: String,
    /// Run id stamped on telemetry lines.
    pub run_id: String,
    /// Iteration stamped on telemetry lines.
    pub iteration: u32,
    /// Write links and files; when false, only the report is computed (servers still run).
    pub write_files: bool,
}

/// Refuses unless the in-container marker (the value of [`IN_CONTAINER_ENV`]) is exactly `1`.
pub fn ensure_in_container(marker: Option<&OsStr>) -> Result<(), ActivationError> {
    if marker == Some(OsStr::new("1")) {
        Ok(())
    } else {
        Err(ActivationError::NotInContainer)
    }
}

/// Activates the bundle of `options.workspace` and returns the report (§6.1 plus
/// `failed_artifacts`). Bundle problems are in the report; errors mean no report.
pub async fn activate(options: &ActivateOptions) -> Result<Value, ActivationError> {
    ensure_in_container(std::env::var_os(IN_CONTAINER_ENV).as_deref())?;
    let workspace = normalize(&options.workspace);
    let loaded =
        load_registry(&registry_path(&workspace)).map_err(|source| ActivationError::Registry {
            workspace: workspace.clone(),
            source,
        })?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let registry = loaded.registry;
    let mut report = ActivationReport::new(&registry);

    let skills = activate_skills(&workspace, &registry, options.write_files);
    for link in &skills.removed_links {
        tracing::info!("removed stale skill link {}", link.display());
    }
    report.skills = skills.rows;
    report.warnings.extend(skills.warnings);
    report.failed_artifacts.extend(skills.failed_artifacts);

    let active = activate_servers(&workspace, &registry, &mut report).await;
    if !active.is_empty() {
        report.mcp_call_helper = Some(wiring::mcp_call_helper(&workspace));
    }
    report.finalize();

    if options.write_files {
        write_wiring(options, &workspace, &active)?;
    }
    let value = serde_json::to_value(&report).map_err(ActivationError::Serialize)?;
    if options.write_files {
        let path = workspace.join(ACTIVATION_PATH);
        json::write_json_atomic(&path, &value)
            .map_err(|source| ActivationError::WriteJson { path, source })?;
    }
    Ok(value)
}

/// Tests every non-quarantined MCP artifact, adds rows, warnings and failures to `report`, and
/// returns the active servers in order.
async fn activate_servers(
    workspace: &Path,
    registry: &Registry,
    report: &mut ActivationReport,
) -> Vec<McpServer> {
    let env = vec![(WORKSPACE_ENV.to_owned(), display(workspace))];
    let mut active: Vec<McpServer> = Vec::new();
    let mut tested: HashMap<PathBuf, bool> = HashMap::new();
    for artifact in registry.active_artifacts().filter(|a| a.kind == "mcp") {
        let (manifest, server) = match load_server(workspace, &artifact.path) {
            Ok(loaded) => loaded,
            Err(warning) => {
                report.warnings.push(warning);
                report.failed_artifacts.push(artifact.path.clone());
                continue;
            }
        };
        if let Some(&was_active) = tested.get(&manifest) {
            if !was_active {
                report.failed_artifacts.push(artifact.path.clone());
            }
            continue;
        }
        if active.iter().any(|s| s.name == server.name) {
            continue;
        }
        let row = test_server(&artifact.path, &server, &env).await;
        tested.insert(manifest, row.active);
        report.warnings.extend(row.warnings());
        if row.active {
            active.push(server);
        }
        report.mcp_servers.push(row);
    }
    active
}

/// Smoke and self-test of one server, gated.
async fn test_server(
    artifact_path: &str,
    server: &McpServer,
    env: &[(String, String)],
) -> McpServerRow {
    let request = SmokeRequest {
        command: server.command.clone(),
        args: server.args.clone(),
        cwd: server.cwd.clone(),
        env: env.to_vec(),
        startup_timeout: Duration::from_secs(server.startup_timeout_sec),
        tool_timeout: Duration::from_secs(server.tool_timeout_sec),
    };
    let smoke = smoke(&request).await;
    let self_test = run_server_self_test(server, env).await;
    McpServerRow::new(artifact_path, server, smoke, self_test)
}

/// The manifest of an MCP artifact (§6.3): the path itself if it is a `.json` file, else the
/// first of [`MCP_MANIFEST_NAMES`] in the directory, or beside the file.
pub fn manifest_path(workspace: &Path, artifact_path: &str) -> Option<PathBuf> {
    let candidate = join_normalized(workspace, Path::new(artifact_path));
    let is_json = candidate.extension().is_some_and(|ext| ext == "json");
    let dir = if candidate.is_file() {
        if is_json {
            return Some(candidate);
        }
        candidate.parent()?.to_owned()
    } else if candidate.is_dir() {
        candidate
    } else {
        return None;
    };
    MCP_MANIFEST_NAMES
        .iter()
        .map(|name| dir.join(name))
        .find(|manifest| manifest.exists())
}

/// Finds, reads and normalises an artifact's manifest; the error is the report warning.
fn load_server(workspace: &Path, artifact_path: &str) -> Result<(PathBuf, McpServer), String> {
    let Some(manifest) = manifest_path(workspace, artifact_path) else {
        return Err(format!("mcp artifact has no manifest: {artifact_path}"));
    };
    let invalid = |cause: &dyn std::error::Error| {
        format!(
            "invalid mcp manifest {artifact_path}: {}",
            crate::diagnostics::one_line(cause)
        )
    };
    let text = fs::read_to_string(&manifest).map_err(|e| invalid(&e))?;
    let value = parse_json_tolerant(&text).map_err(|e| invalid(&e))?;
    let dir_name = manifest
        .parent()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let exists = |path: &Path| path.exists();
    let server =
        normalize_manifest(&value, &dir_name, workspace, &exists).map_err(|e| invalid(&e))?;
    Ok((manifest, server))
}

/// Writes the Codex block, the Claude config (removed when no server is active) and the
/// `mcp_call.py` shim (when one is).
fn write_wiring(
    options: &ActivateOptions,
    workspace: &Path,
    active: &[McpServer],
) -> Result<(), ActivationError> {
    let helper = HelperInvocation {
        helper_binary: &options.helper_binary,
        workspace,
        telemetry_path: &options.telemetry_path,
        run_id: &options.run_id,
        iteration: options.iteration,
    };
    let codex_path = workspace.join(wiring::CODEX_CONFIG_PATH);
    let existing = match fs::read_to_string(&codex_path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ActivationError::Read {
                path: codex_path,
                source,
            });
        }
    };
    let updated = wiring::codex_config(existing.as_deref(), active, &helper).map_err(|source| {
        ActivationError::RenderToml {
            path: codex_path.clone(),
            source,
        }
    })?;
    if let Some(text) = updated {
        write_text_atomic(&codex_path, &text, 0o644)?;
    }
    let claude_path = workspace.join(wiring::CLAUDE_CONFIG_PATH);
    if active.is_empty() {
        return match fs::remove_file(&claude_path) {
            Err(source) if source.kind() != io::ErrorKind::NotFound => {
                Err(ActivationError::Write {
                    path: claude_path,
                    source,
                })
            }
            _ => Ok(()),
        };
    }
    let exists = |path: &Path| path.exists();
    let claude = wiring::claude_config(active, &helper, &exists);
    json::write_json_atomic(&claude_path, &claude).map_err(|source| {
        ActivationError::WriteJson {
            path: claude_path,
            source,
        }
    })?;
    let shim = wiring::mcp_call_shim(&options.helper_binary, workspace);
    write_text_atomic(&workspace.join(wiring::MCP_CALL_SHIM_PATH), &shim, 0o755)
}

/// Writes `text` to a temporary file beside `path` with `mode` and renames it over `path`.
fn write_text_atomic(path: &Path, text: &str, mode: u32) -> Result<(), ActivationError> {
    let failed = |source: io::Error| ActivationError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(failed)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".harnessgym-tmp-")
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.write_all(text.as_bytes()).map_err(failed)?;
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode)).map_err(failed)?;
    temp.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_marker_allows_activation() {
        assert!(ensure_in_container(Some(OsStr::new("1"))).is_ok());
        for marker in [None, Some(""), Some("0"), Some("true"), Some("1 ")] {
            let error = ensure_in_container(marker.map(OsStr::new)).expect_err("refused");
            assert!(matches!(error, ActivationError::NotInContainer));
        }
        use crate::diagnostics::Diagnose;
        let error = ActivationError::NotInContainer;
        assert_eq!(error.exit_code(), crate::exit::USAGE);
        assert!(error.to_string().contains("HARNESSGYM_IN_CONTAINER"));
        assert!(error.hint().is_some());
    }

    #[tokio::test]
    async fn activate_refuses_without_the_marker() {
        if std::env::var_os(IN_CONTAINER_ENV).is_some() {
            return; // a test run inside a container cannot check the refusal this way
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let options = ActivateOptions {
            workspace: dir.path().to_owned(),
            helper_binary: wiring::DEFAULT_HELPER_BINARY.to_owned(),
            telemetry_path: "t.jsonl".to_owned(),
            run_id: "r".to_owned(),
            iteration: 1,
            write_files: true,
        };
        let error = activate(&options).await.expect_err("refused");
        assert!(matches!(error, ActivationError::NotInContainer));
        assert_eq!(
            fs::read_dir(dir.path()).expect("list").count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn manifests_are_found_like_the_reference() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path();
        let write = |rel: &str| {
            let path = ws.join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "{}").expect("write");
        };
        write(".harnessgym/mcp/a/server.json");
        write(".harnessgym/mcp/a/harnessgym-mcp.json");
        write(".harnessgym/mcp/a/server.py");
        write(".harnessgym/mcp/b/custom.json");
        write(".harnessgym/mcp/c/server.py");
        let found = |rel: &str| manifest_path(ws, rel);
        let a = Some(ws.join(".harnessgym/mcp/a/server.json"));
        assert_eq!(found(".harnessgym/mcp/a"), a, "dir: first name in order");
        assert_eq!(found(".harnessgym/mcp/a/server.py"), a, "beside a file");
        assert_eq!(
            found(".harnessgym/mcp/a/harnessgym-mcp.json"),
            Some(ws.join(".harnessgym/mcp/a/harnessgym-mcp.json"))
        );
        assert_eq!(
            found(".harnessgym/mcp/b/custom.json"),
            Some(ws.join(".harnessgym/mcp/b/custom.json"))
        );
        assert_eq!(found(".harnessgym/mcp/c/server.py"), None);
        assert_eq!(found(".harnessgym/mcp/missing"), None);
    }

    #[test]
    fn manifest_problems_become_one_line_warnings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path();
        let path = ws.join(".harnessgym/mcp/x/mcp.json");
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, "{not json").expect("write");
        let warning = load_server(ws, ".harnessgym/mcp/x").expect_err("invalid");
        assert!(
            warning.starts_with("invalid mcp manifest .harnessgym/mcp/x: malformed json: "),
            "{warning}"
        );
        fs::write(&path, r#"{"args": []}"#).expect("write");
        assert_eq!(
            load_server(ws, ".harnessgym/mcp/x").expect_err("invalid"),
            "invalid mcp manifest .harnessgym/mcp/x: manifest has no `command`"
        );
        fs::write(&path, r#"{"command": "python3", "args": ["mcp.json"]}"#).expect("write");
        let (manifest, server) = load_server(ws, ".harnessgym/mcp/x").expect("valid");
        assert_eq!((manifest, server.name.as_str()), (path, "x"));
        assert_eq!(
            load_server(ws, ".harnessgym/mcp/none").expect_err("missing"),
            "mcp artifact has no manifest: .harnessgym/mcp/none"
        );
    }

    #[test]
    fn wiring_files_follow_the_active_servers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path();
        fs::create_dir_all(ws.join(".codex")).expect("mkdir");
        fs::write(ws.join(".codex/config.toml"), "model = \"o3\"\n").expect("seed");
        let options = ActivateOptions {
            workspace: ws.to_owned(),
            helper_binary: wiring::DEFAULT_HELPER_BINARY.to_owned(),
            telemetry_path: "/workspace/t.jsonl".to_owned(),
            run_id: "r1".to_owned(),
            iteration: 2,
            write_files: true,
        };
        let server = McpServer {
            name: "ir".to_owned(),
            command: "python3".to_owned(),
            args: vec!["server.py".to_owned()],
            cwd: ws.to_owned(),
            startup_timeout_sec: 11,
            tool_timeout_sec: 77,
            self_test_timeout_sec: 33,
            self_test: None,
            enabled_tools: vec!["inspect".to_owned()],
        };
        write_wiring(&options, ws, std::slice::from_ref(&server)).expect("writes");
        let toml = fs::read_to_string(ws.join(".codex/config.toml")).expect("config");
        assert!(toml.starts_with("model = \"o3\"\n\n# BEGIN HARNESSGYM MCP\n"));
        assert!(toml.contains("tool_timeout_sec = 82") && toml.contains("\"77\""));
        let claude =
            json::read_json_tolerant(&ws.join(wiring::CLAUDE_CONFIG_PATH)).expect("claude");
        assert_eq!(claude["mcpServers"]["ir"]["type"], "stdio");
        let shim = ws.join(wiring::MCP_CALL_SHIM_PATH);
        let mode = fs::metadata(&shim).expect("shim").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);

        write_wiring(&options, ws, &[]).expect("writes");
        assert_eq!(
            fs::read_to_string(ws.join(".codex/config.toml")).expect("config"),
            "model = \"o3\"\n"
        );
        assert!(
            !ws.join(wiring::CLAUDE_CONFIG_PATH).exists(),
            "stale config removed"
        );
        assert!(shim.exists(), "the shim stays (harmless without servers)");
    }

    #[test]
    fn text_files_are_written_with_their_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runtime/mcp_call.py");
        write_text_atomic(&path, "#!/usr/bin/env python3\n", 0o755).expect("writes");
        let meta = fs::metadata(&path).expect("exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o755);
        assert_eq!(
            fs::read_to_string(&path).expect("reads"),
            "#!/usr/bin/env python3\n"
        );
    }
}
