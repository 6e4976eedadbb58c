//! STUB (replaced by the real module).
#![allow(missing_docs, dead_code)]
use std::io::Write;
use std::path::Path;
#[derive(Debug, Clone, Default)]
pub struct PackFilter {
    pub reference_exclusions: bool,
}
#[derive(Debug, Clone, Default)]
pub struct PackStats {
    pub files: u64,
    pub bytes: u64,
}
#[derive(Debug, thiserror::Error)]
#[error("pack failed")]
pub struct PackError;
pub fn pack_workspace<W: Write>(_root: &Path, _filter: &PackFilter, _out: W) -> Result<PackStats, PackError> {
    Err(PackError)
}
