//! Which workspace paths a snapshot changed since the baseline.
//!
//! `docker diff` only compares a container with its own image, so a snapshot carries the union of
//! its ancestors' changes: that is what the host must receive (changed paths only, deletions
//! included) when the run ends, however many iterations stacked layers on the baseline.

use std::collections::BTreeMap;

use crate::sandbox::{Change, ChangeKind, WORKSPACE};

/// Workspace-relative paths (`src/a.py`) and how they changed since the baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    paths: BTreeMap<String, ChangeKind>,
}

/// What a write-back has to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    /// Paths to copy from the snapshot (a directory is copied whole).
    pub copy: Vec<String>,
    /// Paths to remove from the host.
    pub delete: Vec<String>,
}

fn is_within(path: &str, ancestor: &str) -> bool {
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && path.as_bytes()[ancestor.len()] == b'/'
}

impl ChangeSet {
    /// The workspace part of a container's `docker diff`.
    pub fn from_container(changes: &[Change]) -> Self {
        let prefix = format!("{WORKSPACE}/");
        let paths = changes
            .iter()
            .filter_map(|c| Some((c.path.strip_prefix(&prefix)?.to_string(), c.kind)))
            .filter(|(p, _)| !p.is_empty())
            .collect();
        ChangeSet { paths }
    }

    /// The changes of `self` followed by `newer` (a later layer on top).
    pub fn then(&self, newer: &ChangeSet) -> ChangeSet {
        let mut paths = self.paths.clone();
        for (path, kind) in &newer.paths {
            if *kind == ChangeKind::Deleted {
                // Whatever an earlier layer put under a deleted directory is gone with it.
                paths.retain(|p, _| !is_within(p, path));
            }
            let merged = match (paths.get(path), kind) {
                // Still new relative to the baseline, whatever happened to it since.
                (Some(ChangeKind::Added), ChangeKind::Modified) => ChangeKind::Added,
                // Removed and created again: different content at a path the baseline had.
                (Some(ChangeKind::Deleted), ChangeKind::Added) => ChangeKind::Modified,
                (_, kind) => *kind,
            };
            paths.insert(path.clone(), merged);
        }
        ChangeSet { paths }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Number of changed paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// The changed paths and their kinds, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ChangeKind)> {
        self.paths.iter().map(|(p, k)| (p.as_str(), *k))
    }

    /// Keep only the paths `keep` accepts (e.g. leave `.harnessgym` and `.git` alone).
    pub fn filtered(&self, keep: impl Fn(&str) -> bool) -> ChangeSet {
        ChangeSet {
            paths: self
                .paths
                .iter()
                .filter(|(p, _)| keep(p))
                .map(|(p, k)| (p.clone(), *k))
                .collect(),
        }
    }

    /// The fewest copies and deletions that bring a host tree from the baseline to this state.
    ///
    /// An added directory is copied whole (its contents are not listed again); a modified path
    /// with changed descendants is a directory whose own change is only its mtime, so only the
    /// descendants are copied.
    pub fn plan(&self) -> WritePlan {
        let mut plan = WritePlan::default();
        let mut covered: Vec<&str> = Vec::new();
        for (path, kind) in &self.paths {
            if covered.iter().any(|root| is_within(path, root)) {
                continue;
            }
            match kind {
                ChangeKind::Deleted | ChangeKind::Added => {
                    covered.push(path);
                    if *kind == ChangeKind::Deleted {
                        plan.delete.push(path.clone());
                    } else {
                        plan.copy.push(path.clone());
                    }
                }
                ChangeKind::Modified if self.has_descendants(path) => {}
                ChangeKind::Modified => plan.copy.push(path.clone()),
            }
        }
        plan
    }

    /// Whether any recorded path lies under `path`. Descendants are exactly the keys in
    /// `[path + "/", path + "0")`, since `'0'` follows `'/'`; a positional "next key" check would
    /// be fooled by siblings such as `path-x`, which sort in between.
    fn has_descendants(&self, path: &str) -> bool {
        let low = format!("{path}/");
        let high = format!("{path}0");
        self.paths.range(low..high).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(&str, ChangeKind)]) -> ChangeSet {
        let changes: Vec<Change> = items
            .iter()
            .map(|(p, k)| Change {
                path: format!("/workspace/{p}"),
                kind: *k,
            })
            .collect();
        ChangeSet::from_container(&changes)
    }

    use ChangeKind::{Added as A, Deleted as D, Modified as M};

    #[test]
    fn paths_outside_the_workspace_and_the_workspace_itself_are_ignored() {
        let changes = vec![
            Change {
                path: "/workspace".into(),
                kind: M,
            },
            Change {
                path: "/tmp/x".into(),
                kind: A,
            },
            Change {
                path: "/home/agent/.cache".into(),
                kind: A,
            },
            Change {
                path: "/workspace/a.py".into(),
                kind: M,
            },
        ];
        let set = ChangeSet::from_container(&changes);
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![("a.py", M)]);
    }

    #[test]
    fn plan_copies_new_dirs_whole_and_skips_mtime_only_dirs() {
        let s = set(&[
            ("src", M),
            ("src/a.py", M),
            ("new", A),
            ("new/x", A),
            ("new/y/z", A),
            ("gone", D),
            ("newer", A),
        ]);
        let plan = s.plan();
        assert_eq!(plan.copy, vec!["new", "newer", "src/a.py"]);
        assert_eq!(plan.delete, vec!["gone"]);
    }

    #[test]
    fn a_sibling_with_a_common_prefix_is_not_a_descendant() {
        let s = set(&[("lib", A), ("lib-x", A), ("lib/inner", A), ("lib2", A)]);
        assert_eq!(s.plan().copy, vec!["lib", "lib-x", "lib2"]);
        let s = set(&[("src", M), ("src-old", M), ("src/a.py", M)]);
        assert_eq!(s.plan().copy, vec!["src-old", "src/a.py"]);
    }

    #[test]
    fn layers_merge_relative_to_the_baseline() {
        let first = set(&[("a", A), ("b", M), ("dir", A), ("dir/f", A), ("c", D)]);
        let second = set(&[("a", M), ("dir", D), ("c", A), ("b", D)]);
        let merged = first.then(&second);
        assert_eq!(
            merged.iter().collect::<Vec<_>>(),
            vec![("a", A), ("b", D), ("c", M), ("dir", D)]
        );
        let plan = merged.plan();
        assert_eq!(plan.copy, vec!["a", "c"]);
        assert_eq!(plan.delete, vec!["b", "dir"]);
    }

    #[test]
    fn filtered_keeps_what_the_predicate_accepts() {
        let s = set(&[(".harnessgym/x", A), ("a", M), (".git/index", M)]);
        let kept = s.filtered(|p| !p.starts_with(".harnessgym") && !p.starts_with(".git"));
        assert_eq!(kept.iter().collect::<Vec<_>>(), vec![("a", M)]);
    }
}
