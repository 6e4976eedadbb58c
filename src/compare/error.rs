//! What a compare can fail with. A trial that fails is not one of these: its error is recorded
//! in its `trial.json` and the trial counts as invalid; these stop the compare itself (bad
//! flags, an unusable template or bundle, the engine refusing the baselines, a report that cannot
//! be written).

use std::path::PathBuf;

use crate::diagnostics::Diagnose;
use crate::exit;
use crate::orchestrator::ConfigError;
use crate::sandbox::SandboxError;

/// Why a compare could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// `--workspace-template` is not a directory.
    #[error("workspace template {} is not an existing directory", path.display())]
    Template {
        /// As given.
        path: PathBuf,
    },
    /// `--artifact-source` holds no `.harnessgym` directory.
    #[error("artifact source {} is neither a `.harnessgym` directory nor a workspace holding one", path.display())]
    ArtifactSource {
        /// As given.
        path: PathBuf,
    },
    /// A count flag is zero.
    #[error("{flag} must be at least 1")]
    Zero {
        /// The flag.
        flag: &'static str,
    },
    /// `--compare-id` cannot name trial run ids.
    #[error("--compare-id `{id}` may only use letters, digits, `_`, `.` and `-` (at most 36)")]
    CompareId {
        /// As given.
        id: String,
    },
    /// A trial directory is there already.
    #[error("trial directory {} already exists", path.display())]
    TrialExists {
        /// The directory.
        path: PathBuf,
    },
    /// The run flags given do not make a valid `harnessgym run` command line.
    #[error("the run flags of the trials are not valid")]
    RunFlags {
        /// clap's message about the trial's `run` command line.
        #[source]
        source: FlagProblem,
    },
    /// The run flags parse but do not describe a run.
    #[error("the trials' run configuration is not valid")]
    RunConfig {
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// `--rerun` with other compare settings.
    #[error(
        "--rerun takes every setting from the trial's record; these flags cannot go with it: {flags}"
    )]
    RerunFlags {
        /// The offending flags, `--a, --b`.
        flags: String,
    },
    /// `--rerun`'s TRIAL is not `<group>/<k>`.
    #[error("trial `{trial}` is not `plain/<k>` or `harnessed/<k>`")]
    TrialName {
        /// As given.
        trial: String,
    },
    /// The trial to re-run has no usable record.
    #[error("no re-run record for {trial} in {}", path.display())]
    NoRecord {
        /// The trial.
        trial: String,
        /// The trial.json looked at.
        path: PathBuf,
        /// Why it is not usable.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The engine refused an operation of the compare itself (its baselines, its cleanup).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A host file or directory of the compare could not be read or written.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written.
    #[error("failed to write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: crate::harness::json::JsonError,
    },
}

/// clap's complaint about a trial's `run` command line: its first paragraph, without clap's
/// `error:` prefix, usage and help pointer.
#[derive(Debug)]
pub struct FlagProblem(pub String);

impl FlagProblem {
    /// The problem clap reports in `err`.
    pub fn from_clap(err: &clap::Error) -> Self {
        let rendered = err.render().to_string();
        let text = rendered.trim_start_matches("error: ");
        let first: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).collect();
        FlagProblem(
            first
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

impl std::fmt::Display for FlagProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagProblem {}

impl CompareError {
    /// An I/O failure on `path`.
    pub fn io(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| CompareError::Io {
            action,
            path,
            source,
        }
    }
}

impl Diagnose for CompareError {
    fn exit_code(&self) -> u8 {
        match self {
            CompareError::Sandbox(err) => err.exit_code(),
            CompareError::RunConfig { source } => source.exit_code(),
            CompareError::Io { .. } | CompareError::Write { .. } => exit::FAILURE,
            _ => exit::USAGE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CompareError::Sandbox(err) => err.hint(),
            CompareError::RunConfig { source } => source.hint(),
            CompareError::TrialExists { .. } => Some(
                "pass --overwrite to replace the earlier trials, or pick another --output-dir"
                    .into(),
            ),
            CompareError::RunFlags { .. } => Some(
                "compare passes these flags to each trial's `harnessgym run`; `harnessgym compare --help` lists them under Run flags".into(),
            ),
            CompareError::ArtifactSource { .. } => Some(
                "pass a workspace that has a `.harnessgym/` folder, or that folder itself".into(),
            ),
            CompareError::RerunFlags { .. } => Some(
                "only -v, -q, --docker-host and --engine-calls go with --rerun; edit nothing else"
                    .into(),
            ),
            CompareError::NoRecord { .. } => Some(
                "a trial is re-runnable when its trial.json was written by this harnessgym's compare"
                    .into(),
            ),
            _ => None,
        }
    }
}
