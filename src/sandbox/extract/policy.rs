//! The caller's say over each path: keep it, skip it silently, or refuse it visibly; and the
//! paths a write-back into a workspace must never touch.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use super::Refusal;

/// What happens to one path, relative to the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Apply it.
    Keep,
    /// Leave the host untouched, silently: the path is not part of this write-back.
    Skip,
    /// Leave the host untouched and record why.
    Refuse(Refusal),
}

impl Decision {
    /// [`Decision::Keep`] when `keep`, else [`Decision::Skip`]: a plain filter as a policy.
    pub fn keep_if(keep: bool) -> Self {
        if keep { Self::Keep } else { Self::Skip }
    }
}

/// Decides per path (relative to the destination, after stripping and prefixing). Owned and
/// `Send`, so extraction options can move into a blocking task.
pub type EntryPolicy = Box<dyn Fn(&Path) -> Decision + Send>;

/// Names that make a path protected wherever they appear as a component. Each family is here
/// because a host program runs code from it without the user reading a diff first:
///
/// - **Version control metadata** (`.git`, `.hg`, `.svn`, `.bzr`, `.jj`, `_darcs`, `.pijul`,
///   `.fslckout`, `_FOSSIL_`): git runs hooks (`.git/hooks/*`) and commands named in
///   `.git/config` (`core.fsmonitor`, `core.hooksPath`, aliases, filters, `sshCommand`) on the
///   next `git status`; Mercurial's `.hg/hgrc` has `[hooks]`; the others hold configuration
///   and history the user trusts without review (the agent's commits come back as a bundle or
///   patch instead).
/// - **Agent CLI configuration** (`.codex`, `.claude`, `.agents`): project hooks, MCP servers
///   and permission settings that the next agent session on the host starts or obeys.
/// - **Editor configuration** (`.vscode`, `.idea`, `.devcontainer`): tasks that run on folder
///   open, settings that name interpreters, formatters and linters to execute, and dev
///   container definitions that build and run images.
/// - **direnv** (`.envrc` files, `.direnv`): shell code sourced when the user `cd`s in.
/// - **Git hook managers** (`.husky`, `.githooks`, `.pre-commit-config.yaml`, `lefthook.yml` and
///   its variants): commands run by git hooks on commit and push, once the user has installed
///   the manager.
///
/// Matching ignores ASCII case: on a case-insensitive host filesystem `.GIT/hooks` is
/// `.git/hooks`.
pub const PROTECTED_NAMES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".jj",
    "_darcs",
    ".pijul",
    ".fslckout",
    "_FOSSIL_",
    ".codex",
    ".claude",
    ".agents",
    ".vscode",
    ".idea",
    ".devcontainer",
    ".direnv",
    ".husky",
    ".githooks",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    "lefthook.yml",
    "lefthook.yaml",
    ".lefthook.yml",
    ".lefthook.yaml",
    "lefthook-local.yml",
    "lefthook-local.yaml",
    ".envrc",
];

/// Whether a write-back must never touch `rel` (relative to the workspace): some component of it
/// is one of [`PROTECTED_NAMES`] (see there for why each is protected).
pub fn protected_path(rel: &Path) -> bool {
    rel.components().any(|component| match component {
        Component::Normal(name) => PROTECTED_NAMES
            .iter()
            .any(|protected| name.as_bytes().eq_ignore_ascii_case(protected.as_bytes())),
        _ => false,
    })
}

/// The policy of a write-back into a workspace: [`Refusal::Protected`] for every
/// [`protected_path`], everything else kept.
pub fn workspace_policy(rel: &Path) -> Decision {
    if protected_path(rel) {
        Decision::Refuse(Refusal::Protected)
    } else {
        Decision::Keep
    }
}
