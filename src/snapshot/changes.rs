//! What a snapshot changed: read from its own layer, accumulated along its chain.
//!
//! A layer says, per path, "this entry is here now" (a file, directory or link), "this path is
//! gone" (a whiteout) or "this directory hides what was below it" (an opaque marker). A snapshot
//! keeps its own layer's changes; the changes since the baseline are its ancestors' followed by
//! its own ([`ChangeSet::then`]). That is what the host must receive when the run ends — changed
//! paths only, deletions included — and what checkpoint manifests list. Paths are bytes
//! (`PathBuf` on Unix), never lossy text.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The kind of an entry a layer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A directory (its own metadata; its contents are entries of their own).
    Dir,
    /// A regular file (a hard link is a file too).
    File,
    /// A symbolic link.
    Symlink,
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// An entry of this kind is at the path now.
    Written(EntryKind),
    /// The path is gone.
    Removed,
    /// A directory is at the path now, and nothing from before is below it: it holds exactly
    /// what later changes put there.
    Replaced,
}

/// One line of a layer, as the snapshot module reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerChange {
    /// An entry written.
    Entry(EntryKind),
    /// A whiteout: the path is gone.
    Whiteout,
    /// An opaque marker: the directory hides what was below it.
    Opaque,
}

/// Workspace-relative paths and how they changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    paths: BTreeMap<PathBuf, Change>,
}

/// What a write-back has to do to bring a host tree from the baseline to a snapshot's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    /// Paths to remove from the host (each the topmost of what went).
    pub remove: Vec<PathBuf>,
    /// Directories whose host contents go and whose snapshot subtree is copied whole.
    pub replace: Vec<PathBuf>,
    /// Files and links to copy from the snapshot.
    pub copy: Vec<PathBuf>,
    /// Directories that must exist (their contents are listed on their own).
    pub dirs: Vec<PathBuf>,
}

/// Whether `path` lies strictly below `ancestor`.
pub fn is_below(path: &Path, ancestor: &Path) -> bool {
    path != ancestor && path.starts_with(ancestor)
}

impl ChangeSet {
    /// The changes of one layer, given in layer order (a directory before its contents).
    pub fn from_layer(lines: impl IntoIterator<Item = (PathBuf, LayerChange)>) -> Self {
        let mut set = ChangeSet::default();
        for (path, change) in lines {
            set.apply(path, change);
        }
        set
    }

    /// Apply one more layer line on top of what is recorded.
    pub fn apply(&mut self, path: PathBuf, change: LayerChange) {
        if path.as_os_str().is_empty() {
            // The workspace root itself: its metadata is the container's, never written back.
            return;
        }
        let before = self.paths.get(&path).copied();
        let after = match (change, before) {
            (LayerChange::Whiteout, _) => {
                self.drop_below(&path);
                Change::Removed
            }
            (LayerChange::Opaque, _) => {
                self.drop_below(&path);
                Change::Replaced
            }
            // A directory where something was removed: nothing from before is below it.
            (LayerChange::Entry(EntryKind::Dir), Some(Change::Removed | Change::Replaced)) => {
                Change::Replaced
            }
            (LayerChange::Entry(EntryKind::Dir), _) => Change::Written(EntryKind::Dir),
            (LayerChange::Entry(kind), _) => {
                // A file or link where a directory was hides everything that was below it.
                self.drop_below(&path);
                Change::Written(kind)
            }
        };
        self.paths.insert(path, after);
    }

    /// The changes of `self` followed by those of a newer layer.
    pub fn then(&self, newer: &ChangeSet) -> ChangeSet {
        let mut merged = self.clone();
        for (path, change) in &newer.paths {
            let line = match change {
                Change::Written(kind) => LayerChange::Entry(*kind),
                Change::Removed => LayerChange::Whiteout,
                Change::Replaced => LayerChange::Opaque,
            };
            merged.apply(path.clone(), line);
        }
        merged
    }

    fn drop_below(&mut self, path: &Path) {
        let below: Vec<PathBuf> = self
            .paths
            .range(path.to_path_buf()..)
            .skip_while(|(p, _)| p.as_path() == path)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        for p in below {
            self.paths.remove(&p);
        }
    }

    /// How `path` changed, if it did.
    pub fn get(&self, path: &Path) -> Option<Change> {
        self.paths.get(path).copied()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Number of changed paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// The changed paths and how, sorted (a directory before its contents).
    pub fn iter(&self) -> impl Iterator<Item = (&Path, Change)> {
        self.paths.iter().map(|(p, c)| (p.as_path(), *c))
    }

    /// Keep only the paths `keep` accepts.
    pub fn filtered(&self, keep: impl Fn(&Path) -> bool) -> ChangeSet {
        ChangeSet {
            paths: self
                .paths
                .iter()
                .filter(|(p, _)| keep(p))
                .map(|(p, c)| (p.clone(), *c))
                .collect(),
        }
    }

    /// Files and links present now (for checkpoint manifests), sorted.
    pub fn written_files(&self) -> Vec<&Path> {
        self.paths
            .iter()
            .filter(|(_, c)| matches!(c, Change::Written(EntryKind::File | EntryKind::Symlink)))
            .map(|(p, _)| p.as_path())
            .collect()
    }

    /// The fewest removals and copies that bring a host tree from the baseline to this state.
    pub fn plan(&self) -> WritePlan {
        let mut plan = WritePlan::default();
        let mut covered: Option<&Path> = None;
        for (path, change) in &self.paths {
            if covered.is_some_and(|root| is_below(path, root)) {
                continue;
            }
            match change {
                Change::Removed => {
                    covered = Some(path);
                    plan.remove.push(path.clone());
                }
                Change::Replaced => {
                    covered = Some(path);
                    plan.replace.push(path.clone());
                }
                Change::Written(EntryKind::Dir) => plan.dirs.push(path.clone()),
                Change::Written(_) => plan.copy.push(path.clone()),
            }
        }
        plan
    }

    /// The serialised form, for a snapshot's record.
    pub fn to_records(&self) -> Vec<ChangeRecord> {
        self.paths
            .iter()
            .map(|(path, change)| ChangeRecord::new(path, *change))
            .collect()
    }

    /// Back from the serialised form; a record whose path cannot be decoded is skipped.
    pub fn from_records(records: &[ChangeRecord]) -> Self {
        ChangeSet {
            paths: records
                .iter()
                .filter_map(|r| Some((r.path()?, r.change)))
                .collect(),
        }
    }
}

/// One changed path as stored in `runs/<id>/snapshots/<name>.json`: the path as text when it
/// is UTF-8, else as hex bytes, so no name is ever altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The path, when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The path's bytes in hex, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// What happened to it.
    pub change: Change,
}

impl ChangeRecord {
    fn new(path: &Path, change: Change) -> Self {
        let bytes = path.as_os_str().as_bytes();
        match std::str::from_utf8(bytes) {
            Ok(text) => ChangeRecord {
                path: Some(text.to_string()),
                path_hex: None,
                change,
            },
            Err(_) => ChangeRecord {
                path: None,
                path_hex: Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
                change,
            },
        }
    }

    /// The path as bytes.
    pub fn path(&self) -> Option<PathBuf> {
        if let Some(text) = &self.path {
            return Some(PathBuf::from(text));
        }
        let hex = self.path_hex.as_deref()?;
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        Some(PathBuf::from(OsStr::from_bytes(&bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use EntryKind::{Dir, File, Symlink};
    use LayerChange::{Entry, Opaque, Whiteout};

    fn layer(lines: &[(&str, LayerChange)]) -> ChangeSet {
        ChangeSet::from_layer(lines.iter().map(|(p, c)| (PathBuf::from(p), *c)))
    }

    fn list(set: &ChangeSet) -> Vec<(String, Change)> {
        set.iter()
            .map(|(p, c)| (p.display().to_string(), c))
            .collect()
    }

    #[test]
    fn the_root_is_never_a_change() {
        let set = layer(&[("", Entry(Dir)), ("a", Entry(File))]);
        assert_eq!(list(&set), vec![("a".into(), Change::Written(File))]);
    }

    #[test]
    fn a_whiteout_or_a_file_over_a_directory_hides_what_was_below() {
        let first = layer(&[
            ("d", Entry(Dir)),
            ("d/x", Entry(File)),
            ("e", Entry(Dir)),
            ("e/y", Entry(File)),
        ]);
        let second = layer(&[("d", Whiteout), ("e", Entry(File))]);
        let merged = first.then(&second);
        assert_eq!(
            list(&merged),
            vec![
                ("d".into(), Change::Removed),
                ("e".into(), Change::Written(File))
            ]
        );
    }

    #[test]
    fn a_directory_over_a_removal_or_an_opaque_marker_is_replaced() {
        let first = layer(&[("d", Whiteout), ("o", Entry(Dir)), ("o/old", Entry(File))]);
        let second = layer(&[
            ("d", Entry(Dir)),
            ("d/new", Entry(File)),
            ("o", Entry(Dir)),
            ("o", Opaque),
            ("o/n", Entry(Symlink)),
        ]);
        let merged = first.then(&second);
        assert_eq!(
            list(&merged),
            vec![
                ("d".into(), Change::Replaced),
                ("d/new".into(), Change::Written(File)),
                ("o".into(), Change::Replaced),
                ("o/n".into(), Change::Written(Symlink)),
            ]
        );
        let plan = merged.plan();
        assert_eq!(plan.replace, vec![PathBuf::from("d"), PathBuf::from("o")]);
        assert!(plan.copy.is_empty(), "a replaced directory is copied whole");
    }

    #[test]
    fn the_plan_copies_files_keeps_dirs_and_removes_the_topmost_path() {
        let set = layer(&[
            ("src", Entry(Dir)),
            ("src/a.py", Entry(File)),
            ("gone", Whiteout),
            ("link", Entry(Symlink)),
            ("src-old", Entry(File)),
        ]);
        let plan = set.plan();
        assert_eq!(plan.dirs, vec![PathBuf::from("src")]);
        assert_eq!(
            plan.copy,
            // Path order puts a directory's contents right after it: `src/a.py` before `src-old`.
            vec![
                PathBuf::from("link"),
                PathBuf::from("src/a.py"),
                PathBuf::from("src-old")
            ]
        );
        assert_eq!(plan.remove, vec![PathBuf::from("gone")]);
        assert_eq!(set.written_files().len(), 3);
    }

    #[test]
    fn a_sibling_sharing_a_prefix_is_not_below() {
        let first = layer(&[
            ("lib", Entry(Dir)),
            ("lib/x", Entry(File)),
            ("lib-x", Entry(File)),
            ("lib2", Entry(File)),
        ]);
        let merged = first.then(&layer(&[("lib", Whiteout)]));
        assert_eq!(
            list(&merged),
            vec![
                ("lib".into(), Change::Removed),
                ("lib-x".into(), Change::Written(File)),
                ("lib2".into(), Change::Written(File)),
            ]
        );
    }

    #[test]
    fn records_round_trip_non_utf8_names_byte_for_byte() {
        let odd = PathBuf::from(OsStr::from_bytes(b"bad-\xff-name\nx"));
        let set =
            ChangeSet::from_layer([(odd.clone(), Entry(File)), (PathBuf::from("ok"), Whiteout)]);
        let records = set.to_records();
        let text = serde_json::to_string(&records).expect("serialise");
        let back: Vec<ChangeRecord> = serde_json::from_str(&text).expect("parse");
        assert_eq!(ChangeSet::from_records(&back), set);
        assert!(records.iter().any(|r| r.path_hex.is_some()));
        assert!(set.iter().any(|(p, _)| p == odd));
    }
}
