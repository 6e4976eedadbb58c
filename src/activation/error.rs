//! Why activation could not produce a report.
//!
//! Problems with the bundle itself (a broken skill, an invalid manifest, a failing server) are
//! not errors: they are report warnings that fail the gate. These are the failures that leave
//! no report at all.

use std::io;
use std::path::PathBuf;

use crate::diagnostics::Diagnose;
use crate::exit;
use crate::harness::json::JsonError;
use crate::harness::registry::RegistryError;

/// Why activation failed.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `HARNESSGYM_IN_CONTAINER=1` is not set: this process is not in a harnessgym container.
    #[error(
        "refusing to activate outside a harnessgym container (HARNESSGYM_IN_CONTAINER is not 1)"
    )]
    NotInContainer,
    /// The workspace path could not be made absolute.
    #[error("failed to resolve workspace {path}")]
    Workspace {
        /// The path given.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// `registry.json` could not be loaded.
    #[error("failed to load the registry of {workspace}")]
    Registry {
        /// The workspace.
        workspace: PathBuf,
        /// The registry failure.
        #[source]
        source: RegistryError,
    },
    /// A file activation updates could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// A file could not be written, replaced or removed.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// A JSON file could not be written.
    #[error("failed to write {path}")]
    WriteJson {
        /// The file.
        path: PathBuf,
        /// The JSON write failure.
        #[source]
        source: JsonError,
    },
    /// `.codex/config.toml`'s generated block could not be rendered.
    #[error("failed to render the MCP servers for {path}")]
    RenderToml {
        /// The file.
        path: PathBuf,
        /// What the TOML writer refused.
        #[source]
        source: toml::ser::Error,
    },
    /// The report could not be turned into JSON.
    #[error("failed to convert the activation report to json")]
    Serialize(#[source] serde_json::Error),
    /// The report could not be rendered for stdout.
    #[error("failed to render the activation report")]
    Render(#[source] JsonError),
    /// The report could not be written to stdout.
    #[error("failed to print the activation report")]
    Print(#[source] io::Error),
}

impl Diagnose for ActivationError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::NotInContainer => exit::USAGE,
            _ => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Self::NotInContainer => Some(
                "activation runs generated code; harnessgym runs it only inside its containers, \
                 through `docker exec` with HARNESSGYM_IN_CONTAINER=1"
                    .to_owned(),
            ),
            _ => None,
        }
    }
}
