//! Where an MCP helper works and which run it reports to, from its flags and the environment.
//!
//! The environment is read through an [`Env`] function so the rules are unit-tested without
//! touching the process environment. An empty variable counts as unset.
//!
//! Fix of reference §14.7: a wrapped server always gets `HARNESSGYM_WORKSPACE`. When neither a flag
//! nor the environment names the workspace, it is the nearest ancestor of the server's working
//! directory that holds a `.harnessgym/` directory (a server whose cwd is
//! `.harnessgym/mcp/<name>` still logs into the workspace), else that working directory.

use std::path::{Path, PathBuf};

/// The workspace root, as exported to wrapped servers.
pub const ENV_WORKSPACE: &str = "HARNESSGYM_WORKSPACE";
/// An explicit telemetry file.
pub const ENV_TELEMETRY_PATH: &str = "HARNESSGYM_MCP_TELEMETRY_PATH";
/// The run id telemetry lines are tagged with.
pub const ENV_RUN_ID: &str = "HARNESSGYM_RUN_ID";
/// The iteration telemetry lines are tagged with.
pub const ENV_ITERATION: &str = "HARNESSGYM_ITERATION";
/// The directory of HarnessGym's files inside a workspace.
pub const HARNESS_DIR: &str = ".harnessgym";

/// Looks up one environment variable.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The run and iteration telemetry lines belong to (reference §14.6 fix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunScope {
    /// The run id, when known.
    pub run_id: Option<String>,
    /// The iteration, when known.
    pub iteration: Option<u32>,
}

impl RunScope {
    /// Flags first, then `HARNESSGYM_RUN_ID` / `HARNESSGYM_ITERATION`. An iteration variable
    /// that is not a number is ignored (with a warning).
    pub fn resolve(run_id: Option<&str>, iteration: Option<u32>, env: Env<'_>) -> Self {
        let run_id = run_id
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .or_else(|| env(ENV_RUN_ID));
        let iteration = iteration.or_else(|| {
            let text = env(ENV_ITERATION)?;
            match text.trim().parse() {
                Ok(number) => Some(number),
                Err(_) => {
                    tracing::warn!("ignoring {ENV_ITERATION}={text:?}: not a whole number");
                    None
                }
            }
        });
        RunScope { run_id, iteration }
    }
}

/// The workspace: `explicit`, else `$HARNESSGYM_WORKSPACE`, else the nearest ancestor of `cwd`
/// holding `.harnessgym/`, else `cwd`.
pub fn resolve_workspace(explicit: Option<&Path>, env: Env<'_>, cwd: &Path) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    if let Some(path) = env(ENV_WORKSPACE) {
        return PathBuf::from(path);
    }
    find_workspace_root(cwd).unwrap_or_else(|| cwd.to_path_buf())
}

/// The nearest ancestor of `dir` (itself included) that holds a `.harnessgym` directory.
pub fn find_workspace_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|candidate| {
            std::fs::symlink_metadata(candidate.join(HARNESS_DIR)).is_ok_and(|meta| meta.is_dir())
        })
        .map(Path::to_path_buf)
}

/// `path` made absolute against the current directory (no symlink resolution); unchanged when
/// the current directory is unknown.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The extra environment of a wrapped server: `HARNESSGYM_WORKSPACE=<workspace>` when the
/// environment does not set it already (reference §14.7 fix).
pub fn server_env(env: Env<'_>, workspace: &Path) -> Vec<(String, String)> {
    if env(ENV_WORKSPACE).is_some() {
        return Vec::new();
    }
    vec![(
        ENV_WORKSPACE.to_string(),
        workspace.to_string_lossy().into_owned(),
    )]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn scope_prefers_flags_then_environment() {
        let env = env_of(&[(ENV_RUN_ID, "r-env"), (ENV_ITERATION, "3")]);
        assert_eq!(
            RunScope::resolve(Some("r-flag"), Some(5), &env),
            RunScope {
                run_id: Some("r-flag".into()),
                iteration: Some(5)
            }
        );
        assert_eq!(
            RunScope::resolve(None, None, &env),
            RunScope {
                run_id: Some("r-env".into()),
                iteration: Some(3)
            }
        );
        let bad = env_of(&[(ENV_ITERATION, "two")]);
        assert_eq!(RunScope::resolve(None, None, &bad), RunScope::default());
    }

    #[test]
    fn workspace_comes_from_flag_env_ancestor_or_cwd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().join("ws");
        let server_dir = ws.join(".harnessgym/mcp/tool");
        std::fs::create_dir_all(&server_dir).expect("mkdir");
        let none = env_of(&[]);
        assert_eq!(resolve_workspace(None, &none, &server_dir), ws);
        assert_eq!(
            resolve_workspace(Some(Path::new("/flag")), &none, &server_dir),
            PathBuf::from("/flag")
        );
        let env = env_of(&[(ENV_WORKSPACE, "/from-env")]);
        assert_eq!(
            resolve_workspace(None, &env, &server_dir),
            PathBuf::from("/from-env")
        );
        let bare = dir.path().join("bare");
        std::fs::create_dir_all(&bare).expect("mkdir");
        assert_eq!(resolve_workspace(None, &none, &bare), bare);
    }

    #[test]
    fn server_env_defaults_the_workspace_only_when_unset() {
        let none = env_of(&[]);
        assert_eq!(
            server_env(&none, Path::new("/workspace")),
            vec![(ENV_WORKSPACE.to_string(), "/workspace".to_string())]
        );
        let set = env_of(&[(ENV_WORKSPACE, "/elsewhere")]);
        assert!(server_env(&set, Path::new("/workspace")).is_empty());
    }
}
