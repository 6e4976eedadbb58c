//! What harnessgym has learnt about an engine by trying, remembered per engine id.
//!
//! Some capabilities are only known by attempting them: whether `POST /images/load` accepts an
//! archive without its parent layers, whether containers can get a storage quota. Each probe costs
//! an engine round trip or two, so its answer is kept in `$XDG_CACHE_HOME/harnessgym/engines.json`
//! (else `~/.cache/...`), keyed by the engine's id. A missing or unreadable cache only means
//! probing again; it is never an error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Answers known about one engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineFacts {
    /// Whether partial image archives load (see [`super::Engine::probe_partial_load`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_load: Option<bool>,
    /// Whether containers accept `--storage-opt size=` (a per-container disk quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_quota: Option<bool>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FactsFile {
    format_version: u32,
    engines: BTreeMap<String, EngineFacts>,
}

const FORMAT_VERSION: u32 = 1;

fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("harnessgym").join("engines.json"))
}

fn read_all() -> FactsFile {
    cache_path()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<FactsFile>(&bytes).ok())
        .filter(|f| f.format_version == FORMAT_VERSION)
        .unwrap_or_default()
}

/// What is known about engine `id` (nothing when it was never probed or has no id).
pub fn load(id: &str) -> EngineFacts {
    if id.is_empty() {
        return EngineFacts::default();
    }
    read_all().engines.remove(id).unwrap_or_default()
}

/// Remember `facts` for engine `id`; failures are logged, never fatal (the next run probes
/// again).
pub fn save(id: &str, facts: &EngineFacts) {
    let Some(path) = cache_path().filter(|_| !id.is_empty()) else {
        return;
    };
    let mut all = read_all();
    all.format_version = FORMAT_VERSION;
    all.engines.insert(id.to_string(), facts.clone());
    let write = || -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir)?;
        let temp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(temp.as_file(), &all)?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(err) = write() {
        tracing::debug!("cannot remember engine facts in {}: {err}", path.display());
    }
}
