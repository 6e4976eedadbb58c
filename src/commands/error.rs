//! The command layer's error: what a command can fail with, its exit code and its hint.

use crate::diagnostics::Diagnose;
use crate::exit;
use crate::image::ImageError;
use crate::sandbox::SandboxError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A Docker operation failed.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// Building or bootstrapping an image failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// In-container activation failed.
    #[error(transparent)]
    Activation(#[from] crate::activation::ActivationError),
    /// The scripted model server failed.
    #[error(transparent)]
    ModelServer(#[from] crate::model_server::ModelServerError),
    /// A run failed.
    #[error(transparent)]
    Run(#[from] crate::orchestrator::RunError),
    /// A compare could not start or finish.
    #[error(transparent)]
    Compare(#[from] crate::compare::CompareError),
    /// An in-container layer command failed.
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
    /// `runs`, `show` or `report` failed.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// No snapshot has that run id and name.
    #[error("run `{run}` has no snapshot named `{name}`")]
    NoSnapshot {
        /// Run id.
        run: String,
        /// Snapshot name.
        name: String,
    },
    /// The user pressed Ctrl-C or sent SIGTERM.
    #[error("interrupted; removed the containers this command had created")]
    Interrupted,
    /// An in-container helper command failed.
    #[error("failed to {what}")]
    Internal {
        /// What it was doing.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("failed to start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl Diagnose for CommandError {
    fn exit_code(&self) -> u8 {
        match self {
            CommandError::Sandbox(err) => err.exit_code(),
            CommandError::Image(err) => err.exit_code(),
            CommandError::Run(err) => err.exit_code(),
            CommandError::Compare(err) => err.exit_code(),
            CommandError::Activation(err) => err.exit_code(),
            CommandError::Layer(err) => err.exit_code(),
            CommandError::Report(err) => err.exit_code(),
            CommandError::ModelServer(err) => err.exit_code(),
            CommandError::Interrupted => exit::INTERRUPTED,
            CommandError::NoSnapshot { .. } => exit::USAGE,
            CommandError::Runtime(_) | CommandError::Internal { .. } => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CommandError::Sandbox(err) => err.hint(),
            CommandError::Image(err) => err.hint(),
            CommandError::Run(err) => err.hint(),
            CommandError::Compare(err) => err.hint(),
            CommandError::Activation(err) => err.hint(),
            CommandError::Layer(err) => err.hint(),
            CommandError::Report(err) => err.hint(),
            CommandError::NoSnapshot { .. } => {
                Some("`harnessgym snapshot list --run <id>` shows the names".into())
            }
            _ => None,
        }
    }
}
