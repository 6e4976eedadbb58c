//! The operations behind `runs` and `show`, from paths to results; the commands only print
//! them.

use std::path::Path;

use super::ReportError;
use super::compare::load_compare;
use super::runs::{RunData, find_compares, find_runs, load_registry, load_run, resolve_run};
use super::show::{RunView, run_view};
use super::view::{ListEntry, compare_entry, run_entry};

/// Every run and compare of `workspace` (runs first, by id; then compares, by path), and the
/// warnings met reading them.
///
/// # Errors
///
/// [`ReportError::List`] when the workspace or its runs folder cannot be listed.
pub fn list(workspace: &Path) -> Result<(Vec<ListEntry>, Vec<String>), ReportError> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for dir in find_runs(workspace)? {
        let run = load_run(dir);
        warnings.extend(run.warnings.iter().cloned());
        entries.push(run_entry(&run));
    }
    for dir in find_compares(workspace)? {
        let compare = load_compare(&dir);
        warnings.extend(compare.warnings.iter().cloned());
        entries.push(compare_entry(&compare));
    }
    Ok((entries, warnings))
}

/// The run `arg` names (an id of `workspace`, or a run directory), read for `show`.
///
/// # Errors
///
/// [`ReportError::NoRun`] when there is no such run.
pub fn show(arg: &str, workspace: &Path) -> Result<RunView, ReportError> {
    let run = load_run(resolve_run(arg, workspace)?);
    let mut warnings = Vec::new();
    let registry = registry_of(&run, &mut warnings);
    let mut view = run_view(&run, registry.as_ref());
    view.warnings.extend(warnings);
    Ok(view)
}

fn registry_of(
    run: &RunData,
    warnings: &mut Vec<String>,
) -> Option<crate::harness::registry::Registry> {
    let workspace = run.dir.as_ref()?.workspace.as_ref()?;
    load_registry(workspace, warnings)
}
