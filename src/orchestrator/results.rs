//! result.json between the host and the session container.
//!
//! The host copy is authoritative for harnessgym's own writes; the agent edits the copy in the
//! container at any time. After each phase the container's file is pulled: a JSON object
//! replaces the host state (the agent may rewrite the whole file, as in the reference), a
//! malformed or non-object file is recorded as an error of that phase and the host state is
//! kept (fix of reference §14.2), a missing file keeps the host state. harnessgym's updates are
//! then deep-merged (§4.1) and the result is pushed back before the next phase.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::json::{parse_json_tolerant, to_pretty_json, type_name};
use crate::harness::result::{ResultError, ResultMap, apply_update, write_result};
use crate::session::{Session, SessionError};

/// One iteration's result.json.
#[derive(Debug)]
pub struct ResultFile {
    host: PathBuf,
    rel: String,
    current: ResultMap,
}

impl ResultFile {
    /// Start from `initial`, written to the host at once.
    pub fn create(host: PathBuf, rel: String, initial: ResultMap) -> Result<Self, ResultError> {
        write_result(&host, &initial)?;
        Ok(ResultFile {
            host,
            rel,
            current: initial,
        })
    }

    /// The current content.
    pub fn get(&self) -> &ResultMap {
        &self.current
    }

    /// Host path.
    pub fn host_path(&self) -> &Path {
        &self.host
    }

    /// Merge `update` (a JSON object) and write the host copy.
    pub fn update(&mut self, update: Value) -> Result<(), ResultError> {
        if let Value::Object(map) = update {
            apply_update(&mut self.current, map);
        }
        write_result(&self.host, &self.current)
    }

    /// Put the current content into the container for the agent.
    pub async fn push(&self, session: &Session) -> Result<(), SessionError> {
        let text = to_pretty_json(&self.current).map_err(|e| SessionError::Harness {
            what: "result.json",
            source: Box::new(e),
        })?;
        session
            .write(&self.rel, format!("{text}\n").into_bytes(), 0o644)
            .await
    }

    /// Take in what the agent left in the container after `phase`.
    pub async fn pull(&mut self, session: &Session, phase: &str) -> Result<(), SessionError> {
        let Some(bytes) = session.read(&self.rel).await? else {
            return Ok(());
        };
        match parse_json_tolerant(&String::from_utf8_lossy(&bytes)) {
            Ok(Value::Object(map)) => self.current = map,
            Ok(other) => self.record_error(
                phase,
                &format!("result.json is a JSON {}, not an object", type_name(&other)),
            ),
            Err(err) => self.record_error(phase, &format!("result.json is not valid JSON: {err}")),
        }
        write_result(&self.host, &self.current).map_err(|e| SessionError::Harness {
            what: "result.json",
            source: Box::new(e),
        })
    }

    fn record_error(&mut self, phase: &str, message: &str) {
        tracing::warn!("{phase}: {message}; keeping harnessgym's copy");
        let entry = json!({"phase": phase, "error": message});
        match self.current.get_mut("result_errors") {
            Some(Value::Array(list)) => list.push(entry),
            _ => {
                self.current
                    .insert("result_errors".into(), Value::Array(vec![entry]));
            }
        }
    }
}
