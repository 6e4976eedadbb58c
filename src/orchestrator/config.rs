//! The validated run configuration: raw `run` flags in, a [`RunConfig`] out (reference §1.1,
//! §1.5). Commands and the loop never see clap types.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{DepthChoice, RunArgs, RunnerChoice, TaskStateChoice};
use crate::diagnostics::Diagnose;
use crate::exit;
use crate::harness::prompts::HarnessDepth;
use crate::image::BASE_IMAGE;
use crate::runner::RunnerKind;
use crate::sandbox::Limits;

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
    /// A run id that cannot name a directory and an image tag.
    #[error("--run-id `{id}` may only use letters, digits, `_`, `.` and `-` (at most 64)")]
    RunId {
        /// As given.
        id: String,
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
        RunnerChoice::Fake => RunnerKind::Fake,
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
    /// Print the summary as JSON.
    pub json: bool,
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
            runner: runner_kind(args.runner),
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
            image: args.image.unwrap_or_else(|| BASE_IMAGE.to_string()),
            limits: limits(args.cpus, &args.memory, args.pids_limit)?,
            network: args.network.unwrap_or_else(|| "none".to_string()),
            json: args.json,
        })
    }

    /// The attempt budget of 1-based `iteration` (reference `attempt_timeout_for`).
    pub fn attempt_timeout_for(&self, iteration: u32) -> Duration {
        crate::duration::scheduled_timeout(&self.attempt_timeouts, self.attempt_timeout, iteration)
    }
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
    let path = candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| ConfigError::TaskMissing {
            path: given.clone(),
        })?;
    let path = path.canonicalize().unwrap_or(path);
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::TaskRead {
        path: path.clone(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(ConfigError::EmptyTask {
            origin: format!("file {}", path.display()),
        });
    }
    Ok((text, Some(path)))
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
    fn run_ids_must_be_safe_for_paths_and_tags() {
        assert!(validate_run_id("20261124T181919Z-abcd1234".into()).is_ok());
        for bad in ["", "a/b", "..", ".hidden", "has space", &"x".repeat(65)] {
            assert!(validate_run_id(bad.to_string()).is_err(), "{bad}");
        }
    }
}
