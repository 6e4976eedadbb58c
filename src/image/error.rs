//! What building or bootstrapping an image can fail with.

use std::path::PathBuf;

use super::bootstrap::BootstrapError;
use super::context::ContextError;
use crate::diagnostics::Diagnose;
use crate::exit;
use crate::sandbox::SandboxError;

/// A failed image operation.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Listing or reading the images directory failed.
    #[error("failed to read the images in {dir}")]
    Discover {
        /// The images directory.
        dir: PathBuf,
        /// What went wrong.
        #[source]
        source: ContextError,
    },
    /// Writing the compiled-in images to a temporary directory failed.
    #[error("failed to unpack the built-in image definitions")]
    Embedded(#[source] std::io::Error),
    /// A name on the command line is not an image directory.
    #[error("there is no image named `{name}` (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// The Dockerfile's `FROM` could not be resolved or its context could not be hashed.
    #[error("failed to prepare the build context of `{name}`")]
    Context {
        /// Image name.
        name: String,
        /// What went wrong.
        #[source]
        source: ContextError,
    },
    /// The `FROM` image is absent, cannot be pulled, and the Dockerfile cannot take a
    /// bootstrapped base instead.
    #[error("the base image `{image}` of `{name}` is not present and cannot be pulled")]
    BaseUnavailable {
        /// Image name.
        name: String,
        /// The `FROM` image.
        image: String,
        /// Why the pull failed.
        #[source]
        source: Box<SandboxError>,
    },
    /// The pinned agent wheel could not be fetched or did not match its pin.
    #[error("failed to get the pinned agent wheel of `{name}`")]
    Wheel {
        /// Image name.
        name: String,
        /// What went wrong.
        #[source]
        source: Box<super::wheel::WheelError>,
    },
    /// Creating the root filesystem failed.
    #[error("failed to create the Debian root filesystem")]
    Bootstrap(#[source] BootstrapError),
    /// An engine operation failed.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl Diagnose for ImageError {
    fn exit_code(&self) -> u8 {
        match self {
            ImageError::Unknown { .. } => exit::USAGE,
            ImageError::Sandbox(err) => err.exit_code(),
            ImageError::BaseUnavailable { .. } => exit::ENGINE,
            _ => exit::FAILURE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ImageError::Bootstrap(err) => err.hint(),
            ImageError::Wheel { source, .. } => source.hint(),
            ImageError::BaseUnavailable { .. } => Some(
                "pull it when a registry is reachable, or declare `ARG BASE_IMAGE` before `FROM ${BASE_IMAGE}` so `harnessgym image bootstrap` can stand in".into(),
            ),
            ImageError::Sandbox(err) => err.hint(),
            _ => None,
        }
    }
}
