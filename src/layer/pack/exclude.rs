//! Which workspace paths are never packed (harnessgym's run state) and which belong to the
//! reference's template exclusion set. Pure predicates, shared with other modules.

use std::path::{Component, Path, PathBuf};

/// Paths (relative to the workspace root) that hold harnessgym's own run state; never packed.
const RUN_STATE: [&str; 3] = [
    ".harnessgym/runs",
    ".harnessgym/task_state",
    ".harnessgym/run.lock",
];

/// First path components excluded by the reference's template/checkpoint copy
/// (`artifacts.py:EXCLUDED_TEMPLATE_*`).
const REFERENCE_TOP_NAMES: [&str; 8] = [
    ".agents",
    ".claude",
    ".codex",
    ".git",
    ".harnessgym",
    ".harnessgym_build",
    ".pytest_cache",
    "__pycache__",
];

/// Cache directories excluded at any depth. The reference matches them only as the first
/// component (its quirk 18, `reference-spec.md` §14), which copies nested caches; we fix that.
const CACHE_NAMES: [&str; 2] = [".pytest_cache", "__pycache__"];

/// Name suffixes (Python `Path.suffix` semantics) excluded at any depth.
const REFERENCE_SUFFIXES: [&str; 5] = [".o", ".pyc", ".pyo", ".so", ".dylib"];

/// Whether `rel` (relative to the workspace root) is harnessgym's own run state, never packed:
/// `.harnessgym/runs`, `.harnessgym/task_state`, `.harnessgym/run.lock` and everything below them.
#[must_use]
pub fn is_run_state(rel: &Path) -> bool {
    let rel = normalize(rel);
    RUN_STATE.iter().any(|state| rel.starts_with(state))
}

/// Whether `rel` (relative to the workspace root) is in the reference's template exclusion set
/// (`reference-spec.md` §2.8): its first component is one of `.agents`, `.claude`, `.codex`,
/// `.git`, `.harnessgym`, `.harnessgym_build`, `.pytest_cache`, `__pycache__`; or any component
/// is `__pycache__`/`.pytest_cache` (nested caches: the reference's quirk 18, fixed); or any
/// component's suffix (Python semantics: `.so` alone has none) is `.o`, `.pyc`, `.pyo`, `.so` or
/// `.dylib`. The predicate is prefix-closed: when a directory is excluded, so is all it holds.
#[must_use]
pub fn is_reference_excluded(rel: &Path) -> bool {
    let names: Vec<_> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_string_lossy()),
            _ => None,
        })
        .collect();
    let Some(first) = names.first() else {
        return false;
    };
    REFERENCE_TOP_NAMES.contains(&first.as_ref())
        || names.iter().any(|name| {
            CACHE_NAMES.contains(&name.as_ref())
                || python_suffix(name).is_some_and(|s| REFERENCE_SUFFIXES.contains(&s))
        })
}

/// `pathlib.PurePath.suffix`: from the last dot, unless the dot leads or ends the name.
fn python_suffix(name: &str) -> Option<&str> {
    let dot = name.rfind('.')?;
    (dot > 0 && dot + 1 < name.len()).then(|| &name[dot..])
}

/// Keeps only the normal components, so `./a/b/` and `a/b` compare equal.
pub(super) fn normalize(rel: &Path) -> PathBuf {
    rel.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect()
}
