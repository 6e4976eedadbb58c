//! `--protect`: evaluator files that scoring always takes from the original workspace.
//!
//! An agent that edits `benchmark.py`, or plants a file the benchmark imports, can fake its score
//! without touching the task. Terminal-Bench's answer is to copy the tests in after the agent;
//! ours: every path matching a `--protect` glob (or lying below a matching directory) is restored
//! from the baseline in the scoring container before the post command runs, paths the agent added
//! there are removed, and an attempt that changed any of them is recorded
//! (`protected_paths_modified`) and never counts as verified or best.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::layer::pack::is_run_state;
use crate::snapshot::{Change, ChangeSet, EntryKind};

/// The protected paths of a run.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    globs: Option<GlobSet>,
    /// Protected paths of the baseline (files and links), relative to the workspace.
    baseline: Vec<PathBuf>,
}

/// What an attempt did to protected paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Baseline paths it changed or removed (to restore before scoring).
    pub restore: Vec<PathBuf>,
    /// Paths it added (to remove before scoring).
    pub remove: Vec<PathBuf>,
}

impl Touched {
    /// Whether the attempt left every protected path alone.
    pub fn is_empty(&self) -> bool {
        self.restore.is_empty() && self.remove.is_empty()
    }

    /// Every touched path, sorted, as text for result.json.
    pub fn listed(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .restore
            .iter()
            .chain(&self.remove)
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

impl Protected {
    /// The protected paths of `workspace` for `patterns` (validated by the config).
    pub fn scan(workspace: &Path, patterns: &[String]) -> std::io::Result<Self> {
        if patterns.is_empty() {
            return Ok(Protected::default());
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            builder.add(Glob::new(pattern).map_err(std::io::Error::other)?);
        }
        let globs = builder.build().map_err(std::io::Error::other)?;
        let mut protected = Protected {
            globs: Some(globs),
            baseline: Vec::new(),
        };
        let mut stack = vec![PathBuf::new()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(workspace.join(&dir))? {
                let rel = dir.join(entry?.file_name());
                if is_run_state(&rel) {
                    continue;
                }
                let meta = std::fs::symlink_metadata(workspace.join(&rel))?;
                if meta.is_dir() {
                    stack.push(rel);
                } else if protected.matches(&rel) {
                    protected.baseline.push(rel);
                }
            }
        }
        protected.baseline.sort();
        Ok(protected)
    }

    /// Whether `rel` is protected: a pattern matches it or one of the directories above it.
    pub fn matches(&self, rel: &Path) -> bool {
        self.globs.as_ref().is_some_and(|globs| {
            rel.ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| globs.is_match(a))
        })
    }

    /// What `changes` (an attempt's, since the baseline) did to protected paths.
    pub fn touched(&self, changes: &ChangeSet) -> Touched {
        let mut touched = Touched::default();
        if self.globs.is_none() {
            return touched;
        }
        for baseline in &self.baseline {
            // Any change to the file itself, or a directory above it removed or replaced.
            let hit = baseline
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| match changes.get(a) {
                    None => false,
                    Some(_) if a == baseline => true,
                    Some(change) => change != Change::Written(EntryKind::Dir),
                });
            if hit {
                touched.restore.push(baseline.clone());
            }
        }
        for (path, change) in changes.iter() {
            let added = matches!(change, Change::Written(kind) if kind != EntryKind::Dir)
                && self.matches(path)
                && !self.baseline.iter().any(|b| b == path);
            if added {
                touched.remove.push(path.to_path_buf());
            }
        }
        touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::LayerChange;

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for rel in [
            "benchmark.py",
            "tests/test_a.py",
            "tests/data/x.json",
            "kernel.c",
            "tools/bench.sh",
        ] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "x").expect("write");
        }
        dir
    }

    fn changes(lines: &[(&str, LayerChange)]) -> ChangeSet {
        ChangeSet::from_layer(lines.iter().map(|(p, c)| (PathBuf::from(p), *c)))
    }

    #[test]
    fn a_pattern_protects_files_and_everything_below_a_directory() {
        let ws = workspace();
        let p = Protected::scan(ws.path(), &["benchmark.py".into(), "tests".into()]).expect("scan");
        assert_eq!(
            p.baseline,
            vec![
                PathBuf::from("benchmark.py"),
                PathBuf::from("tests/data/x.json"),
                PathBuf::from("tests/test_a.py")
            ]
        );
        assert!(p.matches(Path::new("tests/new.py")));
        assert!(!p.matches(Path::new("kernel.c")));
        let globbed = Protected::scan(ws.path(), &["**/*.sh".into()]).expect("scan");
        assert_eq!(globbed.baseline, vec![PathBuf::from("tools/bench.sh")]);
    }

    #[test]
    fn edits_deletions_and_additions_of_protected_paths_are_found() {
        let ws = workspace();
        let p = Protected::scan(ws.path(), &["benchmark.py".into(), "tests".into()]).expect("scan");
        let touched = p.touched(&changes(&[
            ("benchmark.py", LayerChange::Entry(EntryKind::File)),
            ("kernel.c", LayerChange::Entry(EntryKind::File)),
            ("tests", LayerChange::Entry(EntryKind::Dir)),
            ("tests/conftest.py", LayerChange::Entry(EntryKind::File)),
        ]));
        assert_eq!(touched.restore, vec![PathBuf::from("benchmark.py")]);
        assert_eq!(touched.remove, vec![PathBuf::from("tests/conftest.py")]);
        let removed = p.touched(&changes(&[("tests", LayerChange::Whiteout)]));
        assert_eq!(
            removed.restore.len(),
            2,
            "a removed directory touches what it held"
        );
        let untouched = p.touched(&changes(&[(
            "kernel.c",
            LayerChange::Entry(EntryKind::File),
        )]));
        assert!(untouched.is_empty());
        assert!(
            Protected::default()
                .touched(&changes(&[("benchmark.py", LayerChange::Whiteout)]))
                .is_empty()
        );
    }
}
