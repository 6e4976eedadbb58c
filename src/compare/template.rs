//! The workspace template of a compare (reference §9 step 2): what of it every trial starts
//! from. Packed once, on the host, as the compare's baseline layer (see [`super::baselines`]);
//! no trial gets a host copy.
//!
//! Excluded **at every depth** (the reference's `_template_ignore`): the names `.agents`,
//! `.claude`, `.codex`, `.git`, `.harnessgym`, `.harnessgym_build`, `.pytest_cache`,
//! `__pycache__`; names ending in `.o`, `.pyc`, `.pyo`; names starting with `flash_bench` (the
//! C flash example's benchmark binaries). Shared libraries (`.so`, `.dylib`) are kept: tasks ship
//! them as fixtures (the reference's fix 8f0e9ec).

use std::path::{Component, Path, PathBuf};

/// Names excluded wherever they appear.
const EXCLUDED_NAMES: [&str; 8] = [
    ".agents",
    ".claude",
    ".codex",
    ".git",
    ".harnessgym",
    ".harnessgym_build",
    ".pytest_cache",
    "__pycache__",
];

/// Name endings excluded wherever they appear (build products).
const EXCLUDED_SUFFIXES: [&str; 3] = [".o", ".pyc", ".pyo"];

/// Name prefix excluded wherever it appears.
const EXCLUDED_PREFIX: &str = "flash_bench";

/// Whether one name is excluded.
fn excluded_name(name: &str) -> bool {
    EXCLUDED_NAMES.contains(&name)
        || EXCLUDED_SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.starts_with(EXCLUDED_PREFIX)
}

/// Whether `rel` (relative to the template) is left out of the trials: any of its components is
/// excluded (so an excluded directory takes everything below it).
pub fn is_excluded(rel: &Path) -> bool {
    rel.components().any(|c| match c {
        Component::Normal(name) => excluded_name(&name.to_string_lossy()),
        _ => false,
    })
}

/// The template's files and links every trial starts with (workspace-relative, sorted); the walk
/// never follows a link.
pub fn files(template: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(template.join(&dir))? {
            let rel = dir.join(entry?.file_name());
            if is_excluded(&rel) {
                continue;
            }
            if std::fs::symlink_metadata(template.join(&rel))?.is_dir() {
                stack.push(rel);
            } else {
                found.push(rel);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_apply_at_every_depth_and_keep_shared_libraries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for rel in [
            "task.md",
            "extension.so",
            "libfixture.dylib",
            "kernel.o",
            "flash_bench_small",
            ".git/config",
            ".codex/config.toml",
            ".harnessgym/registry.json",
            "src/__pycache__/m.cpython-311.pyc",
            "src/.agents/skills/x",
            "src/.claude/settings.json",
            "src/mod.pyc",
            "deep/er/.pytest_cache/v",
            "deep/er/flash_bench_case",
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(&path, "x").expect("write");
        }
        let listed: Vec<String> = files(root)
            .expect("walk")
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(listed, ["extension.so", "libfixture.dylib", "task.md"]);
    }

    #[test]
    fn a_name_is_judged_whole() {
        assert!(is_excluded(Path::new("a/b/.git")));
        assert!(is_excluded(Path::new("x.pyo")));
        assert!(!is_excluded(Path::new("git/notes.md")));
        assert!(!is_excluded(Path::new("lib/bench_flash.c")));
        assert!(!is_excluded(Path::new("module.so")));
    }
}
