//! The three operations behind `runs`, `show` and `report`, from paths to results; the
//! commands only print them.

use std::io::Write as _;
use std::path::Path;

use super::ReportError;
use super::compare::load_compare;
use super::compare_page::compare_page;
use super::run_page::{load_qualifications, run_page};
use super::runs::{
    RunData, Target, find_compares, find_runs, load_registry, load_run, resolve_run,
};
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

/// A rendered report.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole HTML page.
    pub html: String,
    /// Files that could not be used (also listed at the end of the page).
    pub warnings: Vec<String>,
}

/// The report of a run or a compare.
pub fn render(target: &Target) -> Rendered {
    match target {
        Target::Run(dir) => render_run(load_run(dir.clone())),
        Target::Compare(dir) => render_compare(dir),
    }
}

/// The report of a run already read.
pub fn render_run(run: RunData) -> Rendered {
    let mut warnings = run.warnings.clone();
    let registry = registry_of(&run, &mut warnings);
    let qualifications = load_qualifications(&run, &mut warnings);
    let mut view = run_view(&run, registry.as_ref());
    view.warnings.clone_from(&warnings);
    let html = run_page(&run, &view, registry.as_ref(), &qualifications, &warnings);
    Rendered { html, warnings }
}

/// The report of the compare in `dir`.
pub fn render_compare(dir: &Path) -> Rendered {
    let compare = load_compare(dir);
    let html = compare_page(&compare, &compare.warnings);
    Rendered {
        html,
        warnings: compare.warnings,
    }
}

/// Write `html` to `path` atomically (a temporary file beside it, then a rename).
///
/// # Errors
///
/// [`ReportError::Write`] naming `path`.
pub fn write_html(path: &Path, html: &str) -> Result<(), ReportError> {
    let error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".harnessgym-report-")
        .tempfile_in(dir)
        .map_err(error)?;
    temp.write_all(html.as_bytes()).map_err(error)?;
    temp.as_file().sync_all().map_err(error)?;
    // A report is for reading: 0644 like any file a user writes, not the temp file's 0600.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let perms = std::fs::Permissions::from_mode(0o644);
        temp.as_file().set_permissions(perms).map_err(error)?;
    }
    temp.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}
