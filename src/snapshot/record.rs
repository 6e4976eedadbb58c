//! A snapshot's record on disk: `runs/<id>/snapshots/<name>.json`.
//!
//! Write-back, checkpoint manifests, `snapshot list|export` and `gc` read these instead of asking
//! the engine for a diff. Each record holds its own layer's changes (relative to its parent
//! state), the image it is, and how it was made; the changes since the baseline are the chain's
//! changes in order. Our own file, so it carries a `format_version`; written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::changes::{ChangeRecord, ChangeSet};
use crate::harness::json::{JsonError, write_json_atomic};

/// Version of the record format.
pub const FORMAT_VERSION: u32 = 1;

/// One snapshot as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// The record format version (1).
    pub format_version: u32,
    /// The run.
    pub run_id: String,
    /// The name within the run (`baseline`, `iteration-2`, `best`, ...).
    pub name: String,
    /// The state this one was taken from (`None` for the baseline).
    pub parent: Option<String>,
    /// The image id.
    pub image_id: String,
    /// The `repo:tag` it is tagged as.
    pub reference: String,
    /// The image the layer sits on (differs from the parent's after a squash onto the baseline).
    pub layer_parent: Option<String>,
    /// The diff id of its own layer (`None`: no layer of its own — unchanged, or another name).
    pub diff_id: Option<String>,
    /// Bytes of its own layer.
    pub layer_bytes: u64,
    /// Layers above the baseline in the engine's chain.
    pub depth: u32,
    /// `load` or `commit`.
    pub strategy: String,
    /// When it was taken.
    pub created_at: String,
    /// Its own layer's changes, relative to `parent`.
    pub changes: Vec<ChangeRecord>,
}

impl SnapshotRecord {
    /// The record's changes as a set.
    pub fn change_set(&self) -> ChangeSet {
        ChangeSet::from_records(&self.changes)
    }
}

/// Where the records of a run live.
pub fn records_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("snapshots")
}

/// Write `record` into `dir`.
pub fn save(dir: &Path, record: &SnapshotRecord) -> Result<(), JsonError> {
    write_json_atomic(&dir.join(format!("{}.json", record.name)), record)
}

/// Every readable record in `dir`, oldest first; unreadable files are skipped with a warning.
pub fn load_all(dir: &Path) -> Vec<SnapshotRecord> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut records: Vec<SnapshotRecord> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            match serde_json::from_slice::<SnapshotRecord>(&bytes) {
                Ok(r) if r.format_version == FORMAT_VERSION => Some(r),
                Ok(_) | Err(_) => {
                    tracing::warn!("ignoring unreadable snapshot record {}", path.display());
                    None
                }
            }
        })
        .collect();
    records.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    records
}

/// Bytes of the layers the snapshots `names` stand on (each layer once, the baseline's
/// included, the base image's and the shared helper's not).
pub fn chain_bytes(records: &[SnapshotRecord], names: &[&str]) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0;
    for name in names {
        let mut next = Some(name.to_string());
        let mut steps = 0;
        while let Some(current) = next.take() {
            let Some(record) = records.iter().find(|r| r.name == current) else {
                break;
            };
            steps += 1;
            if steps > records.len() {
                break;
            }
            if let Some(diff) = &record.diff_id
                && seen.insert(diff.clone())
            {
                total += record.layer_bytes;
            }
            next = record.parent.clone();
        }
    }
    total
}

/// The changes of `name` since the baseline, following the chain of records.
pub fn changes_since_baseline(records: &[SnapshotRecord], name: &str) -> ChangeSet {
    let mut chain = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(current) = next.take() {
        let Some(record) = records.iter().find(|r| r.name == current) else {
            break;
        };
        if chain.len() > records.len() {
            break; // a cycle in hand-edited records; never loop forever
        }
        chain.push(record);
        next = record.parent.clone();
    }
    chain
        .iter()
        .rev()
        .fold(ChangeSet::default(), |acc, r| acc.then(&r.change_set()))
}
