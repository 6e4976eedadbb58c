//! STUB (replaced by the real module).
#![allow(missing_docs, dead_code)]
use std::io::Read;
use std::path::{Path, PathBuf};
#[derive(Default)]
pub struct ExtractOptions {
    pub strip_components: usize,
    pub prefix: Option<PathBuf>,
    pub filter: Option<Box<dyn Fn(&Path) -> bool + Send>>,
}
#[derive(Debug, Default)]
pub struct ExtractReport {
    pub written: Vec<PathBuf>,
}
#[derive(Debug, thiserror::Error)]
#[error("extract failed")]
pub struct ExtractError;
pub fn extract_safe<R: Read>(_archive: R, _dest: &Path, _opts: &ExtractOptions) -> Result<ExtractReport, ExtractError> {
    Err(ExtractError)
}
pub fn remove_paths_safe(_dest: &Path, _rels: &[PathBuf]) -> Result<Vec<PathBuf>, ExtractError> {
    Err(ExtractError)
}
