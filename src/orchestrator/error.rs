//! What a run can fail with. Failures of the agent are outcomes recorded in result.json; these
//! are failures of the run itself.

use crate::diagnostics::Diagnose;
use crate::exit;

use super::config::ConfigError;
use super::lock::LockError;
use crate::session::SessionError;

/// A run that could not continue.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad flags or input files.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The workspace is locked by another run.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// A container operation failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The registry could not be read or written.
    #[error("failed to update the artifact registry")]
    Registry(#[source] crate::harness::registry::RegistryError),
    /// A result, config or summary file could not be written.
    #[error("failed to write {what}")]
    Write {
        /// Which file.
        what: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A prompt could not be rendered.
    #[error("failed to render the {phase} prompt")]
    Prompt {
        /// Which prompt.
        phase: &'static str,
        /// What went wrong.
        #[source]
        source: crate::harness::prompts::PromptError,
    },
}

impl From<crate::sandbox::SandboxError> for RunError {
    fn from(err: crate::sandbox::SandboxError) -> Self {
        RunError::Session(SessionError::Sandbox(err))
    }
}

impl RunError {
    /// Wrap a file-writing failure.
    pub fn write(what: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        RunError::Write {
            what,
            source: Box::new(err),
        }
    }
}

impl Diagnose for RunError {
    fn exit_code(&self) -> u8 {
        match self {
            RunError::Config(err) => err.exit_code(),
            RunError::Lock(err) => err.exit_code(),
            RunError::Session(SessionError::Sandbox(err)) => err.exit_code(),
            _ => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            RunError::Config(err) => err.hint(),
            RunError::Lock(err) => err.hint(),
            RunError::Session(SessionError::Sandbox(err)) => err.hint(),
            _ => None,
        }
    }
}
