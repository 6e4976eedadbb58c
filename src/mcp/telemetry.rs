//! The MCP call log: one JSON line per `tools/call`, and its summary (reference §6.7).
//!
//! Each line has the reference's keys (`argument_json_bytes`, `argument_keys`, `created_at`,
//! `duration_ms`, `error_message`, `method`, `request_id`, `result_json_bytes`, `server`,
//! `status`, `tool_name`) plus `iteration` and `run_id` (fix of §14.6: the log may span runs and
//! iterations, so every line says which one it belongs to and [`summarize`] can count one
//! iteration). Lines are compact with sorted keys; `created_at` is the call's start in UTC with
//! microseconds and a `Z`.
//!
//! Where the log goes ([`resolve_path`]): `--telemetry-path`, else
//! `$HARNESSGYM_MCP_TELEMETRY_PATH`, else `$HARNESSGYM_WORKSPACE/.harnessgym/mcp_calls.jsonl`,
//! else `<workspace>/.harnessgym/mcp_calls.jsonl`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::jsonrpc;
use super::workspace::{ENV_TELEMETRY_PATH, ENV_WORKSPACE, Env, HARNESS_DIR, RunScope};

/// The log's file name under `.harnessgym/`.
pub const LOG_NAME: &str = "mcp_calls.jsonl";
/// How many events a summary carries as samples.
pub const SAMPLE_LIMIT: usize = 20;

/// Why the log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log's directory could not be created.
    #[error("failed to create directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A line could not be appended.
    #[error("failed to append to {path}")]
    Append {
        /// The log file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The log could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The log file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// A response without a JSON-RPC error (even when `result.isError` is true).
    Completed,
    /// A response with a JSON-RPC error object.
    Error,
    /// No response: the error was synthesized.
    Timeout,
}

/// One line of the log. Fields are declared in sorted order, which is the order serde writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvent {
    /// Size of the compact, key-sorted JSON of the arguments.
    pub argument_json_bytes: usize,
    /// The argument names, sorted.
    pub argument_keys: Vec<String>,
    /// When the call started: `2026-05-19T04:00:00.123456Z`.
    pub created_at: String,
    /// From the request to the response (or the timeout), in milliseconds.
    pub duration_ms: u64,
    /// The JSON-RPC error's message, or empty.
    pub error_message: String,
    /// The iteration, when known.
    pub iteration: Option<u32>,
    /// Always `tools/call`.
    pub method: String,
    /// The request's id as sent.
    pub request_id: Value,
    /// Size of the compact, key-sorted JSON of the result (or of the error).
    pub result_json_bytes: usize,
    /// The run id, when known.
    pub run_id: Option<String>,
    /// The server's name.
    pub server: String,
    /// How the call ended.
    pub status: CallStatus,
    /// The tool's name.
    pub tool_name: String,
}

/// A `tools/call` on its way: what is known when the request passes.
#[derive(Debug, Clone)]
pub struct PendingCall {
    started: Instant,
    created_at: String,
    request_id: Value,
    tool_name: String,
    argument_keys: Vec<String>,
    argument_json_bytes: usize,
}

impl PendingCall {
    /// Starts timing `request` if it is a `tools/call`; `None` for anything else.
    pub fn start(request: &Value) -> Option<Self> {
        if jsonrpc::method(request) != Some("tools/call") {
            return None;
        }
        let params = request.get("params").filter(|p| p.is_object());
        let arguments = params
            .and_then(|p| p.get("arguments"))
            .filter(|a| a.is_object())
            .cloned()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        let mut argument_keys: Vec<String> = arguments
            .as_object()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default();
        argument_keys.sort();
        Some(PendingCall {
            started: Instant::now(),
            created_at: format_created_at(OffsetDateTime::now_utc()),
            request_id: request.get("id").cloned().unwrap_or(Value::Null),
            tool_name: params
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            argument_keys,
            argument_json_bytes: json_size(&arguments),
        })
    }

    /// The log line for this call answered by `response`; `timed_out` when the response was
    /// synthesized.
    pub fn finish(
        self,
        response: &Value,
        timed_out: bool,
        server: &str,
        scope: &RunScope,
    ) -> CallEvent {
        let error = jsonrpc::error_object(response);
        let status = match (timed_out, error) {
            (true, _) => CallStatus::Timeout,
            (false, Some(_)) => CallStatus::Error,
            (false, None) => CallStatus::Completed,
        };
        let result_json_bytes = match error {
            Some(error) => json_size(error),
            None => json_size(response.get("result").unwrap_or(&Value::Null)),
        };
        CallEvent {
            argument_json_bytes: self.argument_json_bytes,
            argument_keys: self.argument_keys,
            created_at: self.created_at,
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error_message: jsonrpc::error_message(response).unwrap_or_default(),
            iteration: scope.iteration,
            method: "tools/call".to_string(),
            request_id: self.request_id,
            result_json_bytes,
            run_id: scope.run_id.clone(),
            server: server.to_string(),
            status,
            tool_name: self.tool_name,
        }
    }
}

/// Where one helper writes its lines, and which server and run they are about.
#[derive(Debug, Clone)]
pub struct TelemetrySink {
    /// The log file.
    pub path: PathBuf,
    /// The server name written on each line.
    pub server: String,
    /// The run and iteration written on each line.
    pub scope: RunScope,
}

impl TelemetrySink {
    /// Appends the line for `call`; a failure is logged, never fatal (the reference prints it and
    /// carries on).
    pub fn record(&self, call: PendingCall, response: &Value, timed_out: bool) {
        let event = call.finish(response, timed_out, &self.server, &self.scope);
        if let Err(err) = append(&self.path, &event) {
            tracing::warn!(
                "{}",
                crate::diagnostics::render(&err, None).trim_end_matches('\n')
            );
        }
    }
}

/// The log file: `explicit`, else `$HARNESSGYM_MCP_TELEMETRY_PATH`, else
/// `$HARNESSGYM_WORKSPACE/.harnessgym/mcp_calls.jsonl`, else
/// `<workspace>/.harnessgym/mcp_calls.jsonl`.
pub fn resolve_path(explicit: Option<&Path>, env: Env<'_>, workspace: &Path) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    if let Some(path) = env(ENV_TELEMETRY_PATH) {
        return PathBuf::from(path);
    }
    let root = env(ENV_WORKSPACE).map_or_else(|| workspace.to_path_buf(), PathBuf::from);
    log_path(&root)
}

/// `<workspace>/.harnessgym/mcp_calls.jsonl`.
pub fn log_path(workspace: &Path) -> PathBuf {
    workspace.join(HARNESS_DIR).join(LOG_NAME)
}

/// Appends `event` as one compact line, creating the directory if needed.
pub fn append(path: &Path, event: &CallEvent) -> Result<(), TelemetryError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| TelemetryError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut line = serde_json::to_vec(event).map_err(|source| TelemetryError::Append {
        path: path.to_path_buf(),
        source: source.into(),
    })?;
    line.push(b'\n');
    let append_err = |source| TelemetryError::Append {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(append_err)?;
    // One write of the whole line: concurrent helpers appending to the same log do not interleave.
    file.write_all(&line).map_err(append_err)
}

/// Every JSON object line of the log (blank and invalid lines skipped); none when it is missing.
pub fn read_events(path: &Path) -> Result<Vec<Value>, TelemetryError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse_events(&bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(TelemetryError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The JSON object lines of a log's contents (blank and invalid lines skipped).
pub fn parse_events(contents: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(contents)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(Value::is_object)
        .collect()
}

/// The reference's telemetry summary (`mcp_telemetry.py:summarize_mcp_call_events`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetrySummary {
    /// The log file.
    pub path: String,
    /// Calls counted.
    pub count: usize,
    /// Calls with status `completed`.
    pub successful_count: usize,
    /// Calls with status `error`, `failed` or `timeout`.
    pub failed_count: usize,
    /// Calls per status (`unknown` when missing).
    pub status_counts: BTreeMap<String, usize>,
    /// Tool names called, sorted and unique.
    pub called_tools: Vec<String>,
    /// Server names, sorted and unique.
    pub servers: Vec<String>,
    /// The first [`SAMPLE_LIMIT`] events as logged.
    pub samples: Vec<Value>,
}

/// Summarizes the log at `path`, counting only lines of `run_id` and `iteration` when given.
pub fn summarize(
    path: &Path,
    run_id: Option<&str>,
    iteration: Option<u32>,
) -> Result<TelemetrySummary, TelemetryError> {
    let events = read_events(path)?;
    Ok(summarize_events(
        path,
        filter_scope(events, run_id, iteration),
    ))
}

/// Like [`summarize`] for a log's contents read elsewhere (e.g. from a container); `path` is
/// only reported.
pub fn summarize_contents(
    path: &Path,
    contents: &[u8],
    run_id: Option<&str>,
    iteration: Option<u32>,
) -> TelemetrySummary {
    summarize_events(
        path,
        filter_scope(parse_events(contents), run_id, iteration),
    )
}

fn filter_scope(events: Vec<Value>, run_id: Option<&str>, iteration: Option<u32>) -> Vec<Value> {
    events
        .into_iter()
        .filter(|event| {
            run_id.is_none_or(|id| event.get("run_id").and_then(Value::as_str) == Some(id))
                && iteration.is_none_or(|n| {
                    event.get("iteration").and_then(Value::as_u64) == Some(u64::from(n))
                })
        })
        .collect()
}

fn summarize_events(path: &Path, events: Vec<Value>) -> TelemetrySummary {
    let mut status_counts = BTreeMap::new();
    let mut called_tools = BTreeSet::new();
    let mut servers = BTreeSet::new();
    let (mut successful_count, mut failed_count) = (0, 0);
    for event in &events {
        let status = match event.get("status") {
            Some(Value::String(text)) if !text.is_empty() => text.clone(),
            _ => "unknown".to_string(),
        };
        match status.as_str() {
            "completed" => successful_count += 1,
            "error" | "failed" | "timeout" => failed_count += 1,
            _ => {}
        }
        *status_counts.entry(status).or_insert(0) += 1;
        if let Some(tool) = non_empty_string(event.get("tool_name")) {
            called_tools.insert(tool);
        }
        if let Some(server) = non_empty_string(event.get("server")) {
            servers.insert(server);
        }
    }
    TelemetrySummary {
        path: path.to_string_lossy().into_owned(),
        count: events.len(),
        successful_count,
        failed_count,
        status_counts,
        called_tools: called_tools.into_iter().collect(),
        servers: servers.into_iter().collect(),
        samples: events.into_iter().take(SAMPLE_LIMIT).collect(),
    }
}

fn non_empty_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Null | Value::Bool(false) | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// `2026-05-19T04:00:00.123456Z`: UTC, microseconds, `Z`.
pub fn format_created_at(moment: OffsetDateTime) -> String {
    crate::harness::time::format_utc_micros(moment)
}

/// Bytes of the compact JSON with sorted keys (`serde_json` maps are sorted in this build).
fn json_size(value: &Value) -> usize {
    value.to_string().len()
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
