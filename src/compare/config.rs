//! The validated compare: raw `compare` flags in, [`CompareConfig`] out, and each trial's
//! `harnessgym run` command line and [`RunConfig`].
//!
//! A trial's configuration is made the way `run` makes its own: its argv (`--workspace`,
//! `--run-id`, the task, compare's own run settings, `--no-qualify-artifacts`, then every run
//! flag passed through) is parsed by the real `run` parser and validated by
//! [`RunConfig::from_args`], so a run flag is handled in one place. Only what a run cannot be
//! told on its command line is then set in code: attempt-only, and the task's path inside the
//! trial (reference §9 step 4). The first trial's configuration is made before anything starts,
//! so a bad flag stops the compare before it touches the engine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser as _;
use serde::{Deserialize, Serialize};

use super::error::{CompareError, FlagProblem};
use crate::cli::{Cli, Command, CompareArgs, TaskStateChoice};
use crate::orchestrator::RunConfig;

/// The two groups, in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// No bundle.
    Plain,
    /// The artifact source's bundle.
    Harnessed,
}

impl Group {
    /// Both groups.
    pub const BOTH: [Group; 2] = [Group::Plain, Group::Harnessed];

    /// `plain` or `harnessed`.
    pub fn name(self) -> &'static str {
        match self {
            Group::Plain => "plain",
            Group::Harnessed => "harnessed",
        }
    }

    /// The group named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Group::BOTH.into_iter().find(|g| g.name() == name)
    }
}

/// The post command of every trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostSettings {
    /// The shell command.
    pub command: String,
    /// The key of its score.
    pub score_key: String,
    /// Its timeout, in seconds.
    pub timeout_seconds: u64,
}

impl PostSettings {
    /// The timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

/// Everything that makes a compare's trials what they are: recorded in every `trial.json`, so
/// `--rerun` can make one again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Names the compare's objects and trial run ids.
    pub compare_id: String,
    /// The directory relative flags were given from.
    pub cwd: PathBuf,
    /// The template (absolute).
    pub workspace_template: PathBuf,
    /// The bundle's `.harnessgym` directory (absolute), when there is one.
    pub artifact_source: Option<PathBuf>,
    /// Where trials go (absolute).
    pub output_dir: PathBuf,
    /// Trials per group.
    pub trials: u32,
    /// The inline task, when the task is text.
    pub task_text: Option<String>,
    /// The task file (absolute), when the task is a file.
    pub task_file: Option<PathBuf>,
    /// The task file's path inside the template, when it is there: trials see it at the same
    /// relative path.
    pub task_in_template: Option<PathBuf>,
    /// The trial's `run` arguments but `--workspace` and `--run-id`.
    pub run_args: Vec<String>,
    /// The post command, when there is one.
    pub post: Option<PostSettings>,
    /// `--require-active-harness`.
    pub require_active_harness: bool,
    /// `--require-harness-tool-use`.
    pub require_harness_tool_use: bool,
    /// The bootstrap seed.
    pub seed: u64,
}

/// A validated compare.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// What makes the trials.
    pub settings: Settings,
    /// Replace existing trial directories.
    pub overwrite: bool,
    /// Trials at once.
    pub jobs: usize,
    /// Engine calls at once.
    pub engine_calls: usize,
    /// The first trial's run configuration (image, limits, score key and direction, snapshots).
    pub probe: RunConfig,
}

/// The run id of trial `k` of `group`.
pub fn trial_run_id(compare_id: &str, group: Group, k: u32) -> String {
    format!("{compare_id}-{}-{k}", group.name())
}

/// Where trial `k` of `group` lives.
pub fn trial_root(output_dir: &Path, group: Group, k: u32) -> PathBuf {
    output_dir.join(group.name()).join(format!("trial_{k}"))
}

/// The default `--jobs`: the CPUs, at least 2.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .max(2)
}

fn validate_compare_id(id: String) -> Result<String, CompareError> {
    let ok = !id.is_empty()
        && id.len() <= 36
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(id)
    } else {
        Err(CompareError::CompareId { id })
    }
}

fn seconds(d: Duration) -> String {
    d.as_secs().to_string()
}

/// The task as the reference resolves it (§1.5): absolute as is; relative from `cwd` when that
/// file exists, else in the template. Returns the file and its path inside the template, if it
/// is there.
fn resolve_task(given: &Path, cwd: &Path, template: &Path) -> (PathBuf, Option<PathBuf>) {
    let file = if given.is_absolute() {
        given.to_path_buf()
    } else if cwd.join(given).is_file() {
        cwd.join(given)
    } else {
        template.join(given)
    };
    let real = file.canonicalize().unwrap_or_else(|_| file.clone());
    let inside = real.strip_prefix(template).ok().map(Path::to_path_buf);
    (real, inside)
}

/// The run flags compare owns, with its defaults, as `--flag=value` (a value that starts with
/// `-` stays a value), then `--no-qualify-artifacts`.
fn owned_run_args(own: &crate::cli::CompareOwn) -> Vec<String> {
    let state = match own.task_state {
        TaskStateChoice::Continue => "continue",
        TaskStateChoice::Reset => "reset",
    };
    vec![
        format!("--iterations={}", own.iterations),
        format!("--attempt-timeout={}", seconds(own.attempt_timeout)),
        format!("--build-timeout={}", seconds(own.build_timeout)),
        format!("--reflection-timeout={}", seconds(own.reflection_timeout)),
        format!("--task-state={state}"),
        "--no-qualify-artifacts".into(),
    ]
}

impl CompareConfig {
    /// Validate `args` (not `--rerun`); relative paths are resolved against `cwd`.
    pub fn from_args(args: CompareArgs, cwd: &Path) -> Result<Self, CompareError> {
        let own = args.own;
        let owned = owned_run_args(&own);
        let given_template = own.workspace_template.unwrap_or_default();
        let template = cwd
            .join(&given_template)
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or(CompareError::Template {
                path: given_template,
            })?;
        let artifact_source = own
            .artifact_source
            .map(|p| super::bundle::resolve_source(&p, cwd))
            .transpose()?;
        for (flag, value) in [
            ("--trials", own.trials as usize),
            ("--iterations", own.iterations as usize),
            ("--engine-calls", own.engine_calls),
            ("--jobs", own.jobs.unwrap_or(1)),
        ] {
            if value == 0 {
                return Err(CompareError::Zero { flag });
            }
        }
        let compare_id = validate_compare_id(
            own.compare_id
                .unwrap_or_else(|| format!("compare-{}", crate::harness::time::make_run_id())),
        )?;
        let (task_text, task_file, task_in_template) = match (own.task, own.task_text) {
            (Some(given), _) => {
                let (file, inside) = resolve_task(&given, cwd, &template);
                (None, Some(file), inside)
            }
            (None, text) => (Some(text.unwrap_or_default()), None, None),
        };
        let task = match &task_file {
            Some(file) => format!("--task={}", file.display()),
            None => format!("--task-text={}", task_text.clone().unwrap_or_default()),
        };
        let mut run_args = vec![task];
        run_args.extend(owned);
        run_args.extend(args.passed);
        let post = own
            .post_command
            .filter(|c| !c.trim().is_empty())
            .map(|command| PostSettings {
                command,
                score_key: own.post_score_key.clone(),
                timeout_seconds: own.post_timeout.as_secs().max(1),
            });
        let settings = Settings {
            compare_id,
            cwd: cwd.to_path_buf(),
            workspace_template: template,
            artifact_source,
            output_dir: cwd.join(own.output_dir.unwrap_or_default()),
            trials: own.trials,
            task_text,
            task_file,
            task_in_template,
            run_args,
            post,
            require_active_harness: !own.no_require_active_harness,
            require_harness_tool_use: own.require_harness_tool_use
                && !own.no_require_harness_tool_use,
            seed: own.seed,
        };
        let probe = settings.probe()?;
        Ok(CompareConfig {
            settings,
            overwrite: own.overwrite,
            jobs: own.jobs.unwrap_or_else(default_jobs),
            engine_calls: own.engine_calls,
            probe,
        })
    }
}

impl Settings {
    /// The full `harnessgym run` argv of a trial in `workspace` with `run_id`.
    pub fn trial_argv(&self, workspace: &Path, run_id: &str) -> Vec<String> {
        let mut argv = vec![
            "harnessgym".to_string(),
            "run".to_string(),
            format!("--workspace={}", workspace.display()),
            format!("--run-id={run_id}"),
        ];
        argv.extend(self.run_args.iter().cloned());
        argv
    }

    /// The run configuration of a trial in `workspace` (which must exist) with `run_id`.
    pub fn trial_config(&self, workspace: &Path, run_id: &str) -> Result<RunConfig, CompareError> {
        let argv = self.trial_argv(workspace, run_id);
        let cli = Cli::try_parse_from(&argv).map_err(|e| CompareError::RunFlags {
            source: FlagProblem::from_clap(&e),
        })?;
        let Command::Run(args) = cli.command else {
            unreachable!("the argv names `run`");
        };
        let mut config = RunConfig::from_args(*args, &self.cwd)
            .map_err(|source| CompareError::RunConfig { source })?;
        config.attempt_only = true;
        config.qualify_artifacts = false;
        if let Some(rel) = &self.task_in_template {
            config.task_path = Some(workspace.join(rel));
        }
        Ok(config)
    }

    /// The configuration of the first plain trial, made in the template (nothing is written):
    /// it validates the flags and tells the compare its image, limits and score settings.
    pub fn probe(&self) -> Result<RunConfig, CompareError> {
        let id = trial_run_id(&self.compare_id, Group::Plain, 1);
        self.trial_config(&self.workspace_template, &id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str]) -> Result<CompareConfig, CompareError> {
        let template = tempfile::tempdir().expect("tempdir");
        std::fs::write(template.path().join("task.md"), "the task").expect("task");
        let mut argv = vec![
            "harnessgym".to_string(),
            "compare".into(),
            "--task".into(),
            "task.md".into(),
            "--workspace-template".into(),
            template.path().display().to_string(),
            "--output-dir".into(),
            "out".into(),
        ];
        if !extra.contains(&"--compare-id") {
            argv.extend(["--compare-id".to_string(), "cmp-1".to_string()]);
        }
        argv.extend(extra.iter().map(|s| s.to_string()));
        let Command::Compare(args) = Cli::try_parse_from(argv).expect("parses").command else {
            panic!("compare");
        };
        let cwd = tempfile::tempdir().expect("cwd");
        CompareConfig::from_args(*args, cwd.path())
    }

    #[test]
    fn a_trial_is_a_run_with_compare_defaults_and_the_flags_passed_through() {
        let config = config(&["--runner", "fake", "--stop-score", "3"]).expect("valid");
        let probe = &config.probe;
        assert!(probe.attempt_only);
        assert!(!probe.qualify_artifacts);
        assert_eq!(probe.iterations, 1);
        assert_eq!(probe.attempt_timeout, Duration::from_secs(300));
        assert_eq!(probe.build_timeout, Duration::from_secs(1));
        assert_eq!(probe.task_state.name(), "reset");
        assert_eq!(probe.stop_score, Some(3.0));
        assert_eq!(probe.run_id, "cmp-1-plain-1");
        assert_eq!(probe.task_text, "the task");
        let settings = &config.settings;
        assert_eq!(settings.task_in_template, Some(PathBuf::from("task.md")));
        assert!(settings.require_active_harness);
        assert!(!settings.require_harness_tool_use);
        let ws = Path::new("/trials/plain/trial_1/workspace");
        let argv = settings.trial_argv(ws, "cmp-1-plain-1");
        assert_eq!(argv[2], "--workspace=/trials/plain/trial_1/workspace");
        assert!(argv.ends_with(&["--runner=fake".into(), "--stop-score=3".into()]));
    }

    #[test]
    fn bad_run_values_stop_the_compare_before_it_starts() {
        let err = config(&["--runner", "fake", "--attempt-timeouts", ","]).expect_err("refused");
        assert!(matches!(err, CompareError::RunFlags { .. }), "{err:?}");
        let err = config(&["--runner", "fake", "--cpus", "0"]).expect_err("refused");
        assert!(matches!(err, CompareError::RunConfig { .. }), "{err:?}");
        let err = config(&["--runner", "fake", "--trials", "0"]).expect_err("refused");
        assert!(matches!(err, CompareError::Zero { .. }), "{err:?}");
        let err = config(&["--runner", "fake", "--compare-id", "a/b"]).expect_err("refused");
        assert!(matches!(err, CompareError::CompareId { .. }), "{err:?}");
    }
}
