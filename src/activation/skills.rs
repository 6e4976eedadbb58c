//! Skill activation (reference §6.2, `activation.py:_activate_skills`, `_skill_target`,
//! `_replace_symlink`), run inside the container on the workspace's own filesystem.
//!
//! Every non-quarantined `skill` artifact is resolved to its `SKILL.md` (the path itself, the
//! `SKILL.md` of a directory, or the `SKILL.md` beside another file) and its directory is linked
//! as `.agents/skills/<dir-name>` (Codex) and `.claude/skills/<dir-name>` (Claude Code).
//!
//! Differences from the reference:
//! - links are **relative** (`../../.harnessgym/skills/<name>`), so they stay valid wherever the
//!   workspace is mounted (§14.11); a link is made under a temporary name and renamed into place;
//! - links under those two directories that point into `.harnessgym/skills/` but whose skill was
//!   not activated this time (quarantined, deleted, broken) are removed (fix of §14.10);
//! - a skill without `SKILL.md`, outside the workspace, or whose link path is taken by a real
//!   directory (left untouched) is a warning **and** is named in `failed_artifacts` (fix of
//!   §14.16), so qualification can quarantine it.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::paths::{display, join_normalized, normalize};
use crate::harness::registry::Registry;

/// Where Codex looks for skills, relative to the workspace.
pub const CODEX_SKILLS_DIR: &str = ".agents/skills";
/// Where Claude Code looks for skills, relative to the workspace.
pub const CLAUDE_SKILLS_DIR: &str = ".claude/skills";
/// Where the bundle keeps its skills, relative to the workspace.
pub const BUNDLE_SKILLS_DIR: &str = ".harnessgym/skills";
const SKILL_FILE: &str = "SKILL.md";

/// One activated skill, as the report lists it (absolute container paths).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillRow {
    /// The registry path of the artifact.
    pub artifact_path: String,
    /// The resolved `SKILL.md`.
    pub skill_path: String,
    /// Same as `codex_activated_path` (the reference's original key).
    pub activated_path: String,
    /// `.agents/skills/<name>`.
    pub codex_activated_path: String,
    /// `.claude/skills/<name>`.
    pub claude_activated_path: String,
}

/// What skill activation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillOutcome {
    /// Activated skills, one per distinct `SKILL.md`.
    pub rows: Vec<SkillRow>,
    /// Report warnings (each fails the run gate).
    pub warnings: Vec<String>,
    /// Registry paths of skills that could not be activated.
    pub failed_artifacts: Vec<String>,
    /// Stale links removed from `.agents/skills` and `.claude/skills`.
    pub removed_links: Vec<PathBuf>,
}

/// What happened to one link path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// A symlink with the same target was already there.
    Kept,
    /// Nothing was there; the link was created (or would be, without `write`).
    Created,
    /// Another symlink or a regular file was there and was replaced.
    Replaced,
    /// A real directory is there; it is left untouched and no link is made.
    BlockedByDirectory,
}

/// Activates the registry's skills in `workspace`. With `write` false nothing on disk changes:
/// the outcome says what would be linked, and stale links are not looked for.
pub fn activate_skills(workspace: &Path, registry: &Registry, write: bool) -> SkillOutcome {
    let workspace = normalize(workspace);
    let mut outcome = SkillOutcome::default();
    let mut seen = HashSet::new();
    let mut active_dirs = HashSet::new();
    for artifact in registry.active_artifacts().filter(|a| a.kind == "skill") {
        let Some(skill_md) = skill_target(&workspace, &artifact.path) else {
            outcome.fail(
                &artifact.path,
                format!("skill artifact has no SKILL.md: {}", artifact.path),
            );
            continue;
        };
        if !seen.insert(skill_md.clone()) {
            continue;
        }
        let dir = skill_md.parent().unwrap_or(&workspace).to_owned();
        let inside = dir
            .strip_prefix(&workspace)
            .ok()
            .filter(|rel| !rel.as_os_str().is_empty());
        let (Some(rel), Some(name)) = (inside, dir.file_name()) else {
            outcome.fail(
                &artifact.path,
                format!(
                    "skill directory is not inside the workspace: {}",
                    artifact.path
                ),
            );
            continue;
        };
        let target = Path::new("../..").join(rel);
        let codex = workspace.join(CODEX_SKILLS_DIR).join(name);
        let claude = workspace.join(CLAUDE_SKILLS_DIR).join(name);
        for link in [&codex, &claude] {
            outcome.link_one(&workspace, &artifact.path, link, &target, write);
        }
        active_dirs.insert(dir);
        outcome.rows.push(SkillRow {
            artifact_path: artifact.path.clone(),
            skill_path: display(&skill_md),
            activated_path: display(&codex),
            codex_activated_path: display(&codex),
            claude_activated_path: display(&claude),
        });
    }
    if write {
        outcome.removed_links = remove_stale_links(&workspace, &active_dirs);
    }
    outcome.failed_artifacts.sort();
    outcome.failed_artifacts.dedup();
    outcome
}

impl SkillOutcome {
    fn fail(&mut self, artifact_path: &str, warning: String) {
        self.warnings.push(warning);
        self.failed_artifacts.push(artifact_path.to_owned());
    }

    fn link_one(
        &mut self,
        workspace: &Path,
        artifact: &str,
        link: &Path,
        target: &Path,
        write: bool,
    ) {
        let shown = link.strip_prefix(workspace).unwrap_or(link).display();
        match place_link(link, target, write) {
            Ok(LinkAction::BlockedByDirectory) => self.fail(
                artifact,
                format!("skill link path {shown} is a real directory, left untouched: {artifact}"),
            ),
            Ok(_) => {}
            Err(error) => self.fail(
                artifact,
                format!("could not link skill {artifact} at {shown}: {error}"),
            ),
        }
    }
}

/// The `SKILL.md` an artifact path stands for, or `None`.
pub fn skill_target(workspace: &Path, artifact_path: &str) -> Option<PathBuf> {
    let candidate = join_normalized(workspace, Path::new(artifact_path));
    let metadata = fs::metadata(&candidate).ok()?;
    let is_skill_file = candidate.file_name().is_some_and(|n| n == SKILL_FILE);
    let found = if metadata.is_file() && is_skill_file {
        candidate
    } else if metadata.is_dir() {
        candidate.join(SKILL_FILE)
    } else if metadata.is_file() {
        candidate.parent()?.join(SKILL_FILE)
    } else {
        return None;
    };
    found.exists().then_some(found)
}

/// Makes `link` a symlink to `target` by the replacement rules of §6.2: the same link is kept,
/// another symlink or a regular file is replaced, a real directory is left alone. With `write`
/// false only the decision is returned.
pub fn place_link(link: &Path, target: &Path, write: bool) -> io::Result<LinkAction> {
    let action = match fs::symlink_metadata(link) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => LinkAction::Created,
        Err(error) => return Err(error),
        Ok(meta) if meta.file_type().is_symlink() => {
            if fs::read_link(link)? == target {
                LinkAction::Kept
            } else {
                LinkAction::Replaced
            }
        }
        Ok(meta) if meta.is_dir() => LinkAction::BlockedByDirectory,
        Ok(_) => LinkAction::Replaced,
    };
    if write && matches!(action, LinkAction::Created | LinkAction::Replaced) {
        swap_in_link(link, target)?;
    }
    Ok(action)
}

/// Creates the link under a temporary name beside `link` and renames it over `link`, so the
/// path never disappears while being replaced.
fn swap_in_link(link: &Path, target: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (link.parent(), link.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "link path has no parent",
        ));
    };
    fs::create_dir_all(parent)?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".harnessgym-tmp");
    let temp = parent.join(temp_name);
    match fs::remove_file(&temp) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    std::os::unix::fs::symlink(target, &temp)?;
    fs::rename(&temp, link).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

/// Removes links under the two skill directories that point into `.harnessgym/skills/` at
/// anything but an activated skill directory. Returns what was removed; failures are logged.
fn remove_stale_links(workspace: &Path, active_dirs: &HashSet<PathBuf>) -> Vec<PathBuf> {
    let bundle = workspace.join(BUNDLE_SKILLS_DIR);
    let mut removed = Vec::new();
    for root in [CODEX_SKILLS_DIR, CLAUDE_SKILLS_DIR] {
        let dir = workspace.join(root);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(target) = fs::read_link(&path) else {
                continue;
            };
            let resolved = join_normalized(&dir, &target);
            let ours = (resolved.starts_with(&bundle) && resolved != bundle)
                || (target.is_absolute() && names_a_bundle_skill(&target));
            if !ours || active_dirs.contains(&resolved) {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(error) => {
                    tracing::warn!(
                        "could not remove stale skill link {}: {error}",
                        path.display()
                    );
                }
            }
        }
    }
    removed.sort();
    removed
}

/// Whether an absolute link target has `.harnessgym/skills/<something>` in it: a link the
/// reference made with the absolute path of another checkout.
fn names_a_bundle_skill(target: &Path) -> bool {
    let parts: Vec<Component<'_>> = target.components().collect();
    parts.windows(3).any(|window| {
        window[0] == Component::Normal(".harnessgym".as_ref())
            && window[1] == Component::Normal("skills".as_ref())
            && matches!(window[2], Component::Normal(_))
    })
}

#[cfg(test)]
#[path = "skills_tests.rs"]
mod tests;
