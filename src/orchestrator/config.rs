//! The validated run configuration: raw `run` flags in, a [`RunConfig`] out (reference §1.1,
//! §1.5). Commands and the loop never see clap types.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{DepthChoice, RunArgs, RunnerChoice, TaskStateChoice};
use crate::diagnostics::Diagnose;
use crate::exit;
use crate::harness::prompts::HarnessDepth;
use crate::runner::{AgentSettings, CustomAgent, CustomConfigError, RunnerKind, default_env};
use crate::sandbox::{Bind, Limits, WORKSPACE};

/// Why the flags do not describe a run that can start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--workspace` does not exist or is not a directory.
    #[error("workspace {path} is not an existing directory")]
    Workspace {
        /// As given.
        path: PathBuf,
    },
    /// The task file was found nowhere.
    #[error(
        "task file {path} does not exist (looked in the current directory and in the workspace)"
    )]
    TaskMissing {
        /// As given.
        path: PathBuf,
    },
    /// `--task` names a directory.
    #[error("task {path} is a directory, not a file")]
    TaskIsDirectory {
        /// The directory found.
        path: PathBuf,
    },
    /// The task file is not one harnessgym reads (a link out of the workspace, not a regular
    /// file, too large).
    #[error("refused to read the task file {path}")]
    TaskRefused {
        /// As resolved.
        path: PathBuf,
        /// Which rule it broke.
        #[source]
        source: crate::hostfs::HostReadError,
    },
    /// The task file could not be read.
    #[error("failed to read the task file {path}")]
    TaskRead {
        /// Resolved path.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The task is empty.
    #[error("the task {origin} is empty")]
    EmptyTask {
        /// `text` or the file path.
        origin: String,
    },
    /// `--iterations 0`.
    #[error("--iterations must be at least 1")]
    ZeroIterations,
    /// A size like `4x`.
    #[error("--memory `{value}` is not a size like `4g`, `512m` or a number of bytes")]
    Memory {
        /// As given.
        value: String,
    },
    /// A size flag that is not a size.
    #[error("{flag} `{value}` is not a size like `2g`, `500m`, a number of bytes, or `none`")]
    Size {
        /// The flag.
        flag: &'static str,
        /// As given.
        value: String,
    },
    /// A `--protect` pattern that is not a workspace-relative path or glob.
    #[error("--protect `{pattern}` is not a workspace-relative path or glob")]
    Protect {
        /// As given.
        pattern: String,
    },
    /// Non-positive CPUs or pids.
    #[error("{flag} must be positive (got {value})")]
    NotPositive {
        /// The flag.
        flag: &'static str,
        /// The value.
        value: String,
    },
    /// The run id names an existing run of this workspace.
    #[error("run id `{id}` already exists in this workspace ({path})")]
    RunExists {
        /// The id.
        id: String,
        /// Its run directory.
        path: PathBuf,
    },
    /// The run id already has snapshot images in the engine (a run of another workspace): this
    /// run's clean-up at its end would remove them.
    #[error("run id `{id}` already has {count} snapshot image(s) in the Docker engine")]
    RunInEngine {
        /// The id.
        id: String,
        /// How many images carry it.
        count: usize,
    },
    /// A run id that cannot name a directory and an image tag.
    #[error("--run-id `{id}` may only use letters, digits, `_`, `.` and `-` (at most 64)")]
    RunId {
        /// As given.
        id: String,
    },
    /// `--runner custom` without its description, or a description for another runner.
    #[error("{0}")]
    RunnerConfigUse(&'static str),
    /// The custom agent's description is unusable.
    #[error(transparent)]
    RunnerConfig(#[from] CustomConfigError),
    /// `--env` names something that is not a variable name.
    #[error("--env `{name}` is not an environment variable name")]
    EnvName {
        /// As given.
        name: String,
    },
    /// `--env` names a variable that is not set here.
    #[error("--env {name}: the variable is not set in this environment")]
    EnvUnset {
        /// The variable.
        name: String,
    },
    /// A `--credentials-file` that cannot be mounted.
    #[error("--credentials-file `{value}`: {reason}")]
    Credentials {
        /// As given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A non-positive or non-finite budget.
    #[error("--claude-max-budget-usd must be a positive number (got {value})")]
    Budget {
        /// As given.
        value: f64,
    },
}

impl Diagnose for ConfigError {
    fn exit_code(&self) -> u8 {
        exit::USAGE
    }

    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::RunExists { .. } => {
                Some("pick another --run-id, or leave it out to get a fresh one".into())
            }
            ConfigError::RunInEngine { id, .. } => Some(format!(
                "pick another --run-id (or leave it out to get a fresh one); `harnessgym gc --run {id}` removes the old run's snapshots"
            )),
            ConfigError::TaskIsDirectory { path } => Some(format!(
                "pass the task file itself, e.g. `--task {}`, or the task as text with --task-text",
                path.join("task.md").display()
            )),
            ConfigError::TaskRefused { .. } => Some(
                "a task file in the workspace is read only when it stays inside it; if you trust \
                 the file a link points to, pass that file's own path to --task"
                    .into(),
            ),
            ConfigError::EnvUnset { name } => Some(format!(
                "export {name} before running, or leave --env {name} out"
            )),
            ConfigError::Credentials { .. } => Some(
                "give an existing file, and `:/absolute/container/path` when it is not under your home".into(),
            ),
            ConfigError::RunnerConfig(_) | ConfigError::RunnerConfigUse(_) => {
                Some("see `examples/custom_agent/agent.toml` for a complete description".into())
            }
            _ => None,
        }
    }
}

/// What the next attempt starts from (reference §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Edits compound: the next attempt starts from the last session's state.
    Continue,
    /// Every attempt starts from the original task files plus the current `.harnessgym/` bundle.
    Reset,
}

impl TaskState {
    /// The name as `--task-state` spells it.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Continue => "continue",
            TaskState::Reset => "reset",
        }
    }
}

fn runner_kind(choice: RunnerChoice) -> RunnerKind {
    match choice {
        RunnerChoice::Exec => RunnerKind::Exec,
        RunnerChoice::Claude => RunnerKind::Claude,
        RunnerChoice::Fake => RunnerKind::Fake,
        RunnerChoice::Custom => RunnerKind::Custom,
        RunnerChoice::TuiGoal => RunnerKind::TuiGoal,
    }
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Run id.
    pub run_id: String,
    /// Absolute host workspace.
    pub workspace: PathBuf,
    /// Task text.
    pub task_text: String,
    /// Absolute host path of the task file, when the task came from one.
    pub task_path: Option<PathBuf>,
    /// Maximum iterations.
    pub iterations: u32,
    /// Attempt timeout.
    pub attempt_timeout: Duration,
    /// Per-iteration attempt budgets (last repeats); empty = none.
    pub attempt_timeouts: Vec<Duration>,
    /// Build and repair timeout.
    pub build_timeout: Duration,
    /// Reflection timeout.
    pub reflection_timeout: Duration,
    /// Backend.
    pub runner: RunnerKind,
    /// What the agent runners need: binaries, flags, variables passed by name, custom agent.
    pub agent: AgentSettings,
    /// Credentials files mounted read-only into each session container.
    pub credentials: Vec<Bind>,
    /// Reflect and build even after a verified solve.
    pub build_after_solve: bool,
    /// Stop target.
    pub stop_score: Option<f64>,
    /// Score key.
    pub score_key: String,
    /// Score direction.
    pub higher_is_better: bool,
    /// Reset or continue.
    pub task_state: TaskState,
    /// Prompt depth.
    pub harness_depth: HarnessDepth,
    /// Qualify builds.
    pub qualify_artifacts: bool,
    /// Repair budget.
    pub artifact_repair_attempts: u32,
    /// Post-attempt command.
    pub post_attempt_command: Option<String>,
    /// Score key of the post-attempt command's JSON.
    pub post_attempt_score_key: String,
    /// Post-attempt timeout.
    pub post_attempt_timeout: Duration,
    /// Optimization mode.
    pub optimization_mode: bool,
    /// Restore the best workspace at the end (optimization mode).
    pub restore_best: bool,
    /// Session image.
    pub image: String,
    /// Container limits.
    pub limits: Limits,
    /// Session network.
    pub network: String,
    /// OCI runtime of every container (`None`: the engine's default).
    pub runtime: Option<String>,
    /// Most a container may write, in bytes (`None`: no limit).
    pub disk_limit: Option<u64>,
    /// Evaluator paths (globs) taken from the baseline when scoring.
    pub protect: Vec<String>,
    /// Print the summary as JSON.
    pub json: bool,
    /// Keep every snapshot image (else the baseline, final and best only).
    pub keep_snapshots: bool,
    /// Attempts only, no reflection, build or qualification (compare trials, reference §2.2
    /// step 11); the host workspace is not written.
    pub attempt_only: bool,
}

impl RunConfig {
    /// Validate `args`; relative paths are resolved against `cwd`.
    pub fn from_args(args: RunArgs, cwd: &Path) -> Result<Self, ConfigError> {
        let workspace = cwd.join(&args.workspace);
        let workspace =
            workspace
                .canonicalize()
                .ok()
                .filter(|p| p.is_dir())
                .ok_or(ConfigError::Workspace {
                    path: args.workspace.clone(),
                })?;
        if args.iterations == 0 {
            return Err(ConfigError::ZeroIterations);
        }
        let (task_text, task_path) = resolve_task(&args, cwd, &workspace)?;
        let runner = runner_kind(args.runner);
        let custom = custom_agent(runner, args.runner_config.as_deref(), cwd)?;
        let image = args
            .image
            .clone()
            .or_else(|| custom.as_ref().and_then(|c| c.image.clone()))
            .unwrap_or_else(|| runner.default_image().to_string());
        let needs_network = runner.needs_network() || custom.as_ref().is_some_and(|c| c.network);
        let network = args
            .network
            .clone()
            .unwrap_or_else(|| if needs_network { "bridge" } else { "none" }.to_string());
        let agent = agent_settings(&args, runner, custom, &image)?;
        let credentials = args
            .credentials_file
            .iter()
            .map(|value| credentials_file(value, cwd))
            .collect::<Result<Vec<_>, _>>()?;
        let run_id = match args.run_id {
            Some(id) => validate_run_id(id)?,
            None => crate::harness::time::make_run_id(),
        };
        // A run that failed before it started (no run_config.json) leaves its id free.
        let run_dir = workspace.join(".harnessgym/runs").join(&run_id);
        if run_dir.join("run_config.json").exists() {
            return Err(ConfigError::RunExists {
                id: run_id,
                path: run_dir,
            });
        }
        Ok(RunConfig {
            run_id,
            workspace,
            task_text,
            task_path,
            iterations: args.iterations,
            attempt_timeout: args.attempt_timeout,
            attempt_timeouts: args.attempt_timeouts.map(|s| s.0).unwrap_or_default(),
            build_timeout: args.build_timeout,
            reflection_timeout: args.reflection_timeout.unwrap_or(args.build_timeout),
            runner,
            agent,
            credentials,
            build_after_solve: args.build_after_solve,
            stop_score: args.stop_score,
            score_key: args.score_key.clone(),
            higher_is_better: args.higher_is_better,
            task_state: match args.task_state {
                TaskStateChoice::Continue => TaskState::Continue,
                TaskStateChoice::Reset => TaskState::Reset,
            },
            harness_depth: match args.harness_depth {
                DepthChoice::Standard => HarnessDepth::Standard,
                DepthChoice::Deep => HarnessDepth::Deep,
            },
            qualify_artifacts: !args.no_qualify_artifacts,
            artifact_repair_attempts: args.artifact_repair_attempts,
            post_attempt_command: args.post_attempt_command.filter(|c| !c.trim().is_empty()),
            post_attempt_score_key: args
                .post_attempt_score_key
                .unwrap_or_else(|| args.score_key.clone()),
            post_attempt_timeout: args.post_attempt_timeout,
            optimization_mode: args.optimization_mode,
            restore_best: !args.no_restore_best,
            image,
            limits: limits(args.cpus, &args.memory, args.pids_limit)?,
            network,
            runtime: args.runtime.filter(|r| !r.trim().is_empty()),
            disk_limit: disk_limit(&args.disk_limit)?,
            protect: protect_patterns(&args.protect)?,
            json: args.json,
            keep_snapshots: args.keep_snapshots,
            attempt_only: false,
        })
    }

    /// The attempt budget of 1-based `iteration` (reference `attempt_timeout_for`).
    pub fn attempt_timeout_for(&self, iteration: u32) -> Duration {
        crate::duration::scheduled_timeout(&self.attempt_timeouts, self.attempt_timeout, iteration)
    }
}

/// The custom agent's description: required by `--runner custom`, refused by the others.
fn custom_agent(
    runner: RunnerKind,
    path: Option<&Path>,
    cwd: &Path,
) -> Result<Option<CustomAgent>, ConfigError> {
    match (runner, path) {
        (RunnerKind::Custom, Some(path)) => Ok(Some(CustomAgent::load(&cwd.join(path))?)),
        (RunnerKind::Custom, None) => Err(ConfigError::RunnerConfigUse(
            "--runner custom needs --runner-config FILE",
        )),
        (_, Some(_)) => Err(ConfigError::RunnerConfigUse(
            "--runner-config describes a custom agent: it needs --runner custom",
        )),
        (_, None) => Ok(None),
    }
}

/// Whether `name` is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables passed by name: `--env` (each must be set here) else the runner's defaults,
/// plus the custom agent's.
fn env_names(
    given: &[String],
    runner: RunnerKind,
    custom: Option<&CustomAgent>,
) -> Result<Vec<String>, ConfigError> {
    for name in given {
        if !is_env_name(name) {
            return Err(ConfigError::EnvName { name: name.clone() });
        }
        if std::env::var_os(name).is_none_or(|v| v.is_empty()) {
            return Err(ConfigError::EnvUnset { name: name.clone() });
        }
    }
    let mut names: Vec<String> = if given.is_empty() {
        default_env(runner).iter().map(|n| n.to_string()).collect()
    } else {
        given.to_vec()
    };
    for name in custom.map(|c| c.env.as_slice()).unwrap_or_default() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    Ok(names)
}

fn agent_settings(
    args: &RunArgs,
    runner: RunnerKind,
    custom: Option<CustomAgent>,
    image: &str,
) -> Result<AgentSettings, ConfigError> {
    if let Some(value) = args.claude_max_budget_usd
        && !(value.is_finite() && value > 0.0)
    {
        return Err(ConfigError::Budget { value });
    }
    Ok(AgentSettings {
        codex_bin: args.codex_bin.clone(),
        codex_extra_args: args.codex_extra_arg.clone(),
        claude_bin: args.claude_bin.clone(),
        claude_model: args.claude_model.clone().filter(|m| !m.is_empty()),
        claude_permission_mode: args.claude_permission_mode.clone(),
        claude_max_budget_usd: args.claude_max_budget_usd,
        claude_extra_args: args.claude_extra_arg.clone(),
        env: env_names(&args.env, runner, custom.as_ref())?,
        custom,
        image: image.to_string(),
    })
}

/// `PATH[:CONTAINER_PATH]` as a read-only mount. A file under the user's home goes to the same
/// place under the agent's home (`/home/agent`) unless a container path is given.
pub fn credentials_file(value: &str, cwd: &Path) -> Result<Bind, ConfigError> {
    let bad = |reason: &str| ConfigError::Credentials {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let (host, container) = match value.split_once(':') {
        Some((host, container)) => (host, Some(container)),
        None => (value, None),
    };
    let host = expand_home(host);
    let host = cwd
        .join(host)
        .canonicalize()
        .map_err(|_| bad("no such file"))?;
    let container = match container {
        Some(path) => path.to_string(),
        None => home_relative(&host)
            .map(|rel| format!("/home/agent/{}", rel.display()))
            .ok_or_else(|| {
                bad("it is not under your home: say where it goes (PATH:CONTAINER_PATH)")
            })?,
    };
    let path = Path::new(&container);
    let clean = path.is_absolute()
        && path
            .components()
            .all(|c| !matches!(c, std::path::Component::ParentDir));
    if !clean {
        return Err(bad("the container path must be absolute, without `..`"));
    }
    if path.starts_with(WORKSPACE) || path.starts_with("/opt/harnessgym") {
        return Err(bad(
            "the container path must stay out of /workspace (which is snapshotted) and /opt/harnessgym",
        ));
    }
    Ok(Bind {
        host,
        container,
        read_only: true,
    })
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn home_relative(path: &Path) -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let home = home.canonicalize().unwrap_or(home);
    path.strip_prefix(&home)
        .ok()
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

fn resolve_task(
    args: &RunArgs,
    cwd: &Path,
    workspace: &Path,
) -> Result<(String, Option<PathBuf>), ConfigError> {
    let Some(given) = &args.task else {
        let text = args.task_text.clone().unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ConfigError::EmptyTask {
                origin: "text".into(),
            });
        }
        return Ok((text, None));
    };
    let candidates = if given.is_absolute() {
        vec![given.clone()]
    } else {
        vec![cwd.join(given), workspace.join(given)]
    };
    let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
        return Err(match candidates.into_iter().find(|p| p.is_dir()) {
            Some(dir) => ConfigError::TaskIsDirectory { path: dir },
            None => ConfigError::TaskMissing {
                path: given.clone(),
            },
        });
    };
    let (text, path) = read_task(&path, workspace)?;
    if text.trim().is_empty() {
        return Err(ConfigError::EmptyTask {
            origin: format!("file {}", path.display()),
        });
    }
    Ok((text, Some(path)))
}

/// Largest task file read.
const TASK_LIMIT: u64 = 16 << 20;

/// The task file's text and real path. A file in the workspace (an earlier agent may have
/// touched it) is read without following links out of the workspace; one the user named outside
/// it is theirs. Either way: a regular file, at most [`TASK_LIMIT`] bytes.
fn read_task(path: &Path, workspace: &Path) -> Result<(String, PathBuf), ConfigError> {
    let parent = path
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_default();
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let refused = |source| ConfigError::TaskRefused {
        path: path.to_path_buf(),
        source,
    };
    let (bytes, real) = match parent.strip_prefix(workspace) {
        Ok(rel) => {
            let rel = rel.join(&name);
            let real = crate::hostfs::check_inside(workspace, &rel).map_err(refused)?;
            let bytes =
                crate::hostfs::read_workspace_file(workspace, &rel, TASK_LIMIT).map_err(refused)?;
            (bytes, workspace.join(real))
        }
        Err(_) => {
            let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            let root = real.parent().unwrap_or(Path::new("/")).to_path_buf();
            let leaf = real.file_name().map(PathBuf::from).unwrap_or_default();
            let bytes =
                crate::hostfs::read_workspace_file(&root, &leaf, TASK_LIMIT).map_err(refused)?;
            (bytes, real)
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::TaskRead {
        path: real.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    Ok((text, real))
}

fn validate_run_id(id: String) -> Result<String, ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && !id.starts_with('.');
    if ok {
        Ok(id)
    } else {
        Err(ConfigError::RunId { id })
    }
}

fn limits(cpus: f64, memory: &str, pids: i64) -> Result<Limits, ConfigError> {
    if !(cpus > 0.0 && cpus.is_finite()) {
        return Err(ConfigError::NotPositive {
            flag: "--cpus",
            value: cpus.to_string(),
        });
    }
    if pids <= 0 {
        return Err(ConfigError::NotPositive {
            flag: "--pids-limit",
            value: pids.to_string(),
        });
    }
    let memory_bytes = parse_size(memory).ok_or_else(|| ConfigError::Memory {
        value: memory.to_string(),
    })?;
    Ok(Limits {
        cpus,
        memory_bytes,
        pids,
    })
}

fn disk_limit(text: &str) -> Result<Option<u64>, ConfigError> {
    if matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "none" | "off" | "0"
    ) {
        return Ok(None);
    }
    parse_size(text)
        .and_then(|v| u64::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| ConfigError::Size {
            flag: "--disk-limit",
            value: text.to_string(),
        })
}

fn protect_patterns(patterns: &[String]) -> Result<Vec<String>, ConfigError> {
    for pattern in patterns {
        let bad = pattern.trim().is_empty()
            || pattern.starts_with('/')
            || pattern.split('/').any(|c| c == "..")
            || globset::Glob::new(pattern).is_err();
        if bad {
            return Err(ConfigError::Protect {
                pattern: pattern.clone(),
            });
        }
    }
    Ok(patterns.to_vec())
}

/// `4g`, `512m`, `64k`, `1048576` → bytes (binary units, case-insensitive, optional `b`/`ib`).
pub fn parse_size(text: &str) -> Option<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let lower = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, shift) = match lower.chars().last()? {
        'k' => (&lower[..lower.len() - 1], 10),
        'm' => (&lower[..lower.len() - 1], 20),
        'g' => (&lower[..lower.len() - 1], 30),
        't' => (&lower[..lower.len() - 1], 40),
        _ => (lower, 0),
    };
    let value: i64 = digits.parse().ok().filter(|v| *v > 0)?;
    value.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(parse_size("4g"), Some(4 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("64kib"), Some(64 << 10));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        for bad in ["", "g", "4x", "-1g", "0", "1.5g"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_task_file_linked_out_of_the_workspace_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        let ws = tempfile::tempdir().expect("tempdir");
        let ws_path = ws.path().canonicalize().expect("canonical");
        std::fs::write(outside.path().join("secret"), "host secret").expect("write");
        std::fs::write(ws_path.join("real.md"), "the task").expect("write");
        std::os::unix::fs::symlink(outside.path().join("secret"), ws_path.join("task.md"))
            .expect("link");
        std::os::unix::fs::symlink("real.md", ws_path.join("inside.md")).expect("link");
        let refused = read_task(&ws_path.join("task.md"), &ws_path);
        assert!(
            matches!(refused, Err(ConfigError::TaskRefused { .. })),
            "{refused:?}"
        );
        let (text, real) = read_task(&ws_path.join("inside.md"), &ws_path).expect("inside");
        assert_eq!(text, "the task");
        assert_eq!(real, ws_path.join("real.md"));
    }

    #[test]
    fn credentials_files_go_under_the_agents_home_or_where_they_are_told() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("auth.json");
        std::fs::write(&file, "{}").expect("write");
        let spec = format!("{}:/home/agent/.codex/auth.json", file.display());
        let bind = credentials_file(&spec, Path::new("/")).expect("valid");
        assert_eq!(bind.container, "/home/agent/.codex/auth.json");
        assert!(bind.read_only);
        for bad in [
            format!("{}:relative/path", file.display()),
            format!("{}:/workspace/auth.json", file.display()),
            format!("{}:/home/agent/../etc/x", file.display()),
            format!("{}/absent.json:/home/agent/x", dir.path().display()),
        ] {
            assert!(credentials_file(&bad, Path::new("/")).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names_default_per_runner_and_are_checked() {
        assert_eq!(
            env_names(&[], RunnerKind::Claude, None).expect("defaults"),
            [
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN"
            ]
        );
        assert_eq!(
            env_names(&[], RunnerKind::Exec, None).expect("defaults"),
            ["OPENAI_API_KEY", "CODEX_API_KEY"]
        );
        assert!(
            env_names(&[], RunnerKind::Fake, None)
                .expect("none")
                .is_empty()
        );
        assert!(matches!(
            env_names(&["NOT-A-NAME".into()], RunnerKind::Exec, None),
            Err(ConfigError::EnvName { .. })
        ));
        assert!(matches!(
            env_names(
                &["HARNESSGYM_SURELY_UNSET_VARIABLE".into()],
                RunnerKind::Exec,
                None
            ),
            Err(ConfigError::EnvUnset { .. })
        ));
        assert_eq!(
            env_names(&["PATH".into()], RunnerKind::Exec, None).expect("set"),
            ["PATH"]
        );
    }

    #[test]
    fn run_ids_must_be_safe_for_paths_and_tags() {
        assert!(validate_run_id("20261124T181919Z-abcd1234".into()).is_ok());
        for bad in ["", "a/b", "..", ".hidden", "has space", &"x".repeat(65)] {
            assert!(validate_run_id(bad.to_string()).is_err(), "{bad}");
        }
    }
}
