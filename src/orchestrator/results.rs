//! result.json between the host and the session container.
//!
//! The host copy is authoritative for harnessgym's own writes; the agent edits the copy in the
//! container at any time. After each phase the container's file is pulled: a JSON object
//! replaces the host state (the agent may rewrite the whole file, as in the reference), a
//! malformed or non-object file is recorded as an error of that phase and the host state is
//! kept (fix of reference §14.2), a missing file keeps the host state. harnessgym's updates are
//! then deep-merged (§4.1) and the result is pushed back before the next phase.
//!
//! What harnessgym itself recorded (phases, limits, scoring, qualification, usage — every
//! [`ResultFile::update`]) is kept aside and merged again over whatever the agent writes, so an
//! agent can add to result.json but cannot erase or forge harnessgym's own records. `status` and
//! `verified` are shared: the agent reports them and a later write of its own wins, as in the
//! reference (a build that writes `tooling_built` overrides a post-attempt `verified`); what
//! must not be forged (a disqualified attempt) is decided from the overlaid records.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::json::{parse_json_tolerant, to_pretty_json, type_name};
use crate::harness::result::{ResultError, ResultMap, apply_update, write_result};
use crate::sandbox::FileRead;
use crate::session::{Session, SessionError};

/// Keys the agent and harnessgym both write, where the latest write wins.
const SHARED_KEYS: [&str; 2] = ["status", "verified"];

/// Largest result.json taken from a container.
const RESULT_LIMIT: u64 = 16 << 20;

/// One iteration's result.json.
#[derive(Debug)]
pub struct ResultFile {
    host: PathBuf,
    rel: String,
    current: ResultMap,
    /// Everything harnessgym wrote after the initial content, re-applied after each pull.
    owned: ResultMap,
}

impl ResultFile {
    /// Start from `initial`, written to the host at once.
    pub fn create(host: PathBuf, rel: String, initial: ResultMap) -> Result<Self, ResultError> {
        write_result(&host, &initial)?;
        Ok(ResultFile {
            host,
            rel,
            current: initial,
            owned: ResultMap::new(),
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
            let mut owned = map.clone();
            for shared in SHARED_KEYS {
                owned.remove(shared);
            }
            apply_update(&mut self.owned, owned);
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
        let bytes = match session.read_checked(&self.rel, RESULT_LIMIT).await? {
            FileRead::Data(bytes) => bytes,
            FileRead::Missing => return Ok(()),
            FileRead::Refused(why) => {
                // Content refused at the boundary: an error of the phase, and a limit hit
                // (which summary.json gathers with the others).
                let message = format!("result.json refused: it is {why}");
                self.record_error(phase, &message);
                return self.record_limit(phase, "refused", &message).map_err(|e| {
                    SessionError::Harness {
                        what: "result.json",
                        source: Box::new(e),
                    }
                });
            }
        };
        match parse_json_tolerant(&String::from_utf8_lossy(&bytes)) {
            Ok(Value::Object(map)) => {
                self.current = map;
                apply_update(&mut self.current, self.owned.clone());
            }
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

    /// Record a limit the iteration hit (memory, pids, disk, output, a refused file) in its
    /// `limits` list, and write the host copy.
    pub fn record_limit(
        &mut self,
        phase: &str,
        limit: &str,
        detail: &str,
    ) -> Result<(), ResultError> {
        self.record_limits(phase, limit, std::iter::once(detail.to_string()))
    }

    /// Record several hits of one limit at once (one write of the host copy, however many: a
    /// flood of refusals must not cost a rewrite each).
    pub fn record_limits(
        &mut self,
        phase: &str,
        limit: &str,
        details: impl IntoIterator<Item = String>,
    ) -> Result<(), ResultError> {
        let mut limits = self.limits();
        let before = limits.len();
        for detail in details {
            tracing::warn!("{phase}: {limit} limit: {detail}");
            limits.push(json!({"phase": phase, "limit": limit, "detail": detail}));
        }
        if limits.len() == before {
            return Ok(());
        }
        self.update(json!({ "limits": limits }))
    }

    /// The limits recorded so far.
    pub fn limits(&self) -> Vec<Value> {
        match self.owned.get("limits") {
            Some(Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        }
    }

    fn record_error(&mut self, phase: &str, message: &str) {
        tracing::warn!("{phase}: {message}; keeping harnessgym's copy");
        let entry = json!({"phase": phase, "error": message});
        let mut errors = match self.owned.get("result_errors") {
            Some(Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        };
        errors.push(entry);
        let update = json!({ "result_errors": errors });
        if let Value::Object(map) = update {
            apply_update(&mut self.owned, map.clone());
            apply_update(&mut self.current, map);
        }
    }
}
