//! Finding runs and compares, and reading a run's files into one [`RunData`].
//!
//! A **run** is a directory `<workspace>/.harnessgym/runs/<id>/` holding `run_config.json`
//! (reference §3.1). A **compare** is a directory holding `compare_report.json` (§3.7); `runs`
//! looks for compares in the workspace itself and in its direct subdirectories (a compare's
//! `--output-dir` can be anywhere; keep it next to the workspace to have it listed).
//!
//! Nothing here follows a link: a runs folder entry that is a symlink is not a run, and every file
//! is read with the run directory as the boundary ([`super::read`]), so a link inside a run cannot
//! make a report show a file from elsewhere.

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::ReportError;
use super::files::{BestManifest, ResultFile, RunConfigFile, SummaryFile, SummaryIteration};
use super::read::{self, read_json, read_or_warn};
use crate::harness::registry::{Registry, parse_registry_text};
use crate::harness::result::extract_score;

/// Where runs live under a workspace.
pub const RUNS_DIR: &str = ".harnessgym/runs";
/// The file that makes a directory a run.
pub const RUN_CONFIG: &str = "run_config.json";
/// The file that makes a directory a compare.
pub const COMPARE_REPORT: &str = "compare_report.json";

/// A run directory found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory's name (the run id).
    pub id: String,
    /// The directory.
    pub path: PathBuf,
    /// The workspace it belongs to, when the path has the `<ws>/.harnessgym/runs/<id>` shape.
    pub workspace: Option<PathBuf>,
}

/// What a `RUN|COMPARE_DIR` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A run.
    Run(RunDir),
    /// A compare output directory.
    Compare(PathBuf),
}

/// Whether `path` is a real directory (not a link to one).
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Whether `dir/name` is a regular file or a link (read later without leaving `dir`).
fn has_file(dir: &Path, name: &str) -> bool {
    fs::symlink_metadata(dir.join(name)).is_ok_and(|m| !m.is_dir())
}

/// Sorted names of the real subdirectories of `dir` (none when it does not exist).
fn subdirectories(dir: &Path) -> Result<Vec<String>, ReportError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ReportError::List {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReportError::List {
            path: dir.to_path_buf(),
            source,
        })?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Sorted names of the real subdirectories of `dir`; none when it cannot be listed.
pub fn subdirectories_of(dir: &Path) -> Vec<String> {
    subdirectories(dir).unwrap_or_default()
}

/// The runs of `workspace`, sorted by id (auto ids start with their UTC start time).
///
/// # Errors
///
/// [`ReportError::List`] when the runs folder exists but cannot be listed.
pub fn find_runs(workspace: &Path) -> Result<Vec<RunDir>, ReportError> {
    let runs = workspace.join(RUNS_DIR);
    Ok(subdirectories(&runs)?
        .into_iter()
        .filter(|id| has_file(&runs.join(id), RUN_CONFIG))
        .map(|id| RunDir {
            path: runs.join(&id),
            id,
            workspace: Some(workspace.to_path_buf()),
        })
        .collect())
}

/// The compares in `workspace` itself and its direct subdirectories, sorted by path.
///
/// # Errors
///
/// [`ReportError::List`] when `workspace` cannot be listed.
pub fn find_compares(workspace: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut found = Vec::new();
    if has_file(workspace, COMPARE_REPORT) {
        found.push(workspace.to_path_buf());
    }
    for name in subdirectories(workspace)? {
        let dir = workspace.join(name);
        if has_file(&dir, COMPARE_REPORT) {
            found.push(dir);
        }
    }
    Ok(found)
}

/// A run id that can only name a directory directly under the runs folder.
fn is_plain_id(id: &str) -> bool {
    let mut parts = Path::new(id).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(_)), None)
    )
}

/// The run `arg` names: a run id of `workspace` first, else a path to a run directory.
///
/// # Errors
///
/// [`ReportError::NoRun`] when neither exists.
pub fn resolve_run(arg: &str, workspace: &Path) -> Result<RunDir, ReportError> {
    match resolve_target(arg, workspace)? {
        Target::Run(run) => Ok(run),
        Target::Compare(_) => Err(ReportError::NoRun {
            id: arg.to_string(),
            workspace: workspace.to_path_buf(),
        }),
    }
}

/// What `arg` names: a run id of `workspace`, else a path to a run directory or a compare
/// directory.
///
/// # Errors
///
/// [`ReportError::NoRun`] for a name that is neither, [`ReportError::NotARunOrCompare`] for an
/// existing directory that holds neither.
pub fn resolve_target(arg: &str, workspace: &Path) -> Result<Target, ReportError> {
    if is_plain_id(arg) {
        let dir = workspace.join(RUNS_DIR).join(arg);
        if is_real_dir(&dir) && has_file(&dir, RUN_CONFIG) {
            return Ok(Target::Run(RunDir {
                id: arg.to_string(),
                path: dir,
                workspace: Some(workspace.to_path_buf()),
            }));
        }
    }
    let path = PathBuf::from(arg);
    if !path.is_dir() {
        return Err(ReportError::NoRun {
            id: arg.to_string(),
            workspace: workspace.to_path_buf(),
        });
    }
    let path = fs::canonicalize(&path).map_err(|source| ReportError::Inspect {
        path: path.clone(),
        source,
    })?;
    if has_file(&path, COMPARE_REPORT) {
        return Ok(Target::Compare(path));
    }
    if !has_file(&path, RUN_CONFIG) {
        return Err(ReportError::NotARunOrCompare { path });
    }
    Ok(Target::Run(run_dir_at(path)))
}

/// A run directory given by path; its workspace when it sits at `<ws>/.harnessgym/runs/<id>`.
fn run_dir_at(path: PathBuf) -> RunDir {
    let id = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let runs = path.parent();
    let dot = runs.and_then(Path::parent);
    let shaped = runs.and_then(Path::file_name).is_some_and(|n| n == "runs")
        && dot
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".harnessgym");
    let workspace = dot
        .and_then(Path::parent)
        .filter(|_| shaped)
        .map(Path::to_path_buf);
    RunDir {
        id,
        path,
        workspace,
    }
}

/// One iteration as read from its files.
#[derive(Debug, Clone, Default)]
pub struct IterationData {
    /// The iteration number.
    pub number: u32,
    /// Its line in `summary.json`, when the summary has one.
    pub line: Option<SummaryIteration>,
    /// Its `result.json`, when readable.
    pub result: Option<ResultFile>,
    /// The score read from `result.json` with the run's score key (reference §4.4).
    pub score: Option<f64>,
}

impl IterationData {
    /// Whether a build phase ran in this iteration.
    pub fn built(&self) -> bool {
        self.line.as_ref().is_some_and(|l| l.build.is_some())
            || self
                .result
                .as_ref()
                .is_some_and(|r| r.phases.contains_key("build"))
    }
}

/// Everything `show` and `report` know about a run.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    /// Where it is.
    pub dir: Option<RunDir>,
    /// `run_config.json` (defaults when unreadable).
    pub config: RunConfigFile,
    /// `summary.json`; `None` while the run works, or after it was killed.
    pub summary: Option<SummaryFile>,
    /// Iterations from the summary and from `iterations/<n>/`, by number.
    pub iterations: Vec<IterationData>,
    /// `checkpoints/best_manifest.json`.
    pub best_manifest: Option<BestManifest>,
    /// Files that could not be used, one line each.
    pub warnings: Vec<String>,
}

impl RunData {
    /// The run's id: the one recorded, else the directory's name.
    pub fn id(&self) -> String {
        self.config
            .run_id
            .clone()
            .or_else(|| self.dir.as_ref().map(|d| d.id.clone()))
            .unwrap_or_default()
    }

    /// The score key, `score` by default.
    pub fn score_key(&self) -> &str {
        self.config.score_key.as_deref().unwrap_or("score")
    }
}

/// Read the run at `dir`. Missing or unusable files leave their parts empty and add a warning
/// (a missing summary does not: the run may be working).
pub fn load_run(dir: RunDir) -> RunData {
    let mut warnings = Vec::new();
    let root = dir.path.clone();
    let config: RunConfigFile =
        read_or_warn(&root, Path::new(RUN_CONFIG), &mut warnings).unwrap_or_default();
    let summary: Option<SummaryFile> =
        read_or_warn(&root, Path::new("summary.json"), &mut warnings);
    let best_manifest = read_or_warn(
        &root,
        Path::new("checkpoints/best_manifest.json"),
        &mut warnings,
    );
    let key = config.score_key.clone().unwrap_or_else(|| "score".into());
    let iterations = load_iterations(&root, summary.as_ref(), &key, &mut warnings);
    RunData {
        dir: Some(dir),
        config,
        summary,
        iterations,
        best_manifest,
        warnings,
    }
}

fn load_iterations(
    root: &Path,
    summary: Option<&SummaryFile>,
    key: &str,
    warnings: &mut Vec<String>,
) -> Vec<IterationData> {
    let mut numbers: Vec<u32> = summary
        .map(|s| s.iterations.iter().filter_map(|l| l.iteration).collect())
        .unwrap_or_default();
    let on_disk = subdirectories(&root.join("iterations")).unwrap_or_else(|err| {
        warnings.push(format!("{err}"));
        Vec::new()
    });
    numbers.extend(on_disk.iter().filter_map(|name| name.parse::<u32>().ok()));
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|number| {
            let rel = PathBuf::from(format!("iterations/{number}/result.json"));
            let value = read_json(root, &rel).unwrap_or_else(|problem| {
                warnings.push(problem.one_line());
                None
            });
            let score = value
                .as_ref()
                .and_then(Value::as_object)
                .and_then(|map| extract_score(map, key))
                .filter(|s| s.is_finite());
            IterationData {
                number,
                line: summary.and_then(|s| {
                    s.iterations
                        .iter()
                        .find(|l| l.iteration == Some(number))
                        .cloned()
                }),
                result: value.and_then(read::typed),
                score,
            }
        })
        .collect()
}

/// The workspace's `registry.json`, when there is a readable one.
pub fn load_registry(workspace: &Path, warnings: &mut Vec<String>) -> Option<Registry> {
    let rel = Path::new(".harnessgym/registry.json");
    let bytes = match crate::hostfs::read_workspace_file(workspace, rel, read::JSON_LIMIT) {
        Ok(bytes) => bytes,
        Err(crate::hostfs::HostReadError::NotFound { .. }) => return None,
        Err(source) => {
            let problem = read::FileProblem::Read {
                path: workspace.join(rel),
                source,
            };
            warnings.push(problem.one_line());
            return None;
        }
    };
    match parse_registry_text(&String::from_utf8_lossy(&bytes), &workspace.join(rel)) {
        Ok(loaded) => {
            warnings.extend(loaded.warnings.iter().map(ToString::to_string));
            Some(loaded.registry)
        }
        Err(err) => {
            warnings.push(crate::report::read::chain(&err));
            None
        }
    }
}

/// The UTC start time encoded in an automatic run id (`YYYYMMDDTHHMMSSZ-xxxxxxxx`), as
/// ISO-8601 (`YYYY-MM-DDTHH:MM:SS+00:00`).
pub fn date_from_run_id(id: &str) -> Option<String> {
    let stamp = id.get(..16)?;
    let ok = stamp.char_indices().all(|(i, c)| match i {
        8 => c == 'T',
        15 => c == 'Z',
        _ => c.is_ascii_digit(),
    });
    ok.then(|| {
        format!(
            "{}-{}-{}T{}:{}:{}+00:00",
            &stamp[0..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[9..11],
            &stamp[11..13],
            &stamp[13..15]
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_carry_their_date() {
        assert_eq!(
            date_from_run_id("20260519T035754Z-1a2b3c4d").as_deref(),
            Some("2026-05-19T03:57:54+00:00")
        );
        assert_eq!(date_from_run_id("compare-plain-1"), None);
        assert_eq!(date_from_run_id("2026051"), None);
    }

    #[test]
    fn only_a_single_normal_component_is_an_id() {
        assert!(is_plain_id("20260519T035754Z-1a2b3c4d"));
        for bad in ["..", ".", "a/b", "/abs", "../x", ""] {
            assert!(!is_plain_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_run_path_knows_its_workspace_only_in_the_usual_shape() {
        let run = run_dir_at(PathBuf::from("/ws/.harnessgym/runs/r1"));
        assert_eq!(run.id, "r1");
        assert_eq!(run.workspace, Some(PathBuf::from("/ws")));
        assert_eq!(run_dir_at(PathBuf::from("/tmp/copy/r1")).workspace, None);
    }
}
