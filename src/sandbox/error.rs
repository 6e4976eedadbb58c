//! The sandbox layer's error type: one variant per failing Docker operation.
//!
//! Each variant names the operation and the object it was about; the engine's own words travel
//! in [`CallError`] as the `#[source]`, never repeated in the message.

use std::path::PathBuf;
use std::time::Duration;

use crate::diagnostics::Diagnose;
use crate::exit;

/// Why a single call to the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The engine answered with an error (or the transport broke).
    #[error(transparent)]
    Docker(#[from] bollard::errors::Error),
    /// The engine did not answer within the call's deadline.
    #[error("no answer from the Docker engine within {0:?}")]
    Deadline(Duration),
    /// The task waiting for the engine was aborted (the runtime is shutting down).
    #[error("the operation was aborted")]
    Aborted,
}

impl CallError {
    /// Whether the engine said the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the engine refused because the object is in use (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether the engine refused because the container is not running (409, or 500 when the
    /// container exited a moment before).
    pub fn is_not_running(&self) -> bool {
        match self {
            CallError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code: 409 | 500,
                message,
            }) => message.contains("is not running"),
            _ => false,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            CallError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code,
                ..
            }) => Some(*status_code),
            _ => None,
        }
    }
}

/// A failed sandbox operation.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `--docker-host`/`DOCKER_HOST` has a scheme bollard cannot connect with.
    #[error("cannot use Docker host `{host}`: expected unix://, tcp:// or http://")]
    BadHost {
        /// The host string as given.
        host: String,
        /// What bollard said about it.
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine did not answer a ping.
    #[error("cannot reach the Docker engine at {host}: is it running?")]
    Unreachable {
        /// The host or socket that was tried.
        host: String,
        /// The transport error.
        #[source]
        source: CallError,
    },
    /// An image the command needs is not present in the engine.
    #[error("image `{image}` is not present in the Docker engine")]
    ImageMissing {
        /// The image reference.
        image: String,
    },
    /// `GET /version` or `GET /info` failed.
    #[error("failed to query the engine's {what}")]
    Query {
        /// Which query.
        what: &'static str,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Creating a container failed.
    #[error("failed to create a container from `{image}`")]
    CreateContainer {
        /// The image.
        image: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Starting a container failed.
    #[error("failed to start container {id}")]
    StartContainer {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Stopping or killing a container failed.
    #[error("failed to stop container {id}")]
    StopContainer {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Removing a container failed.
    #[error("failed to remove container {id}")]
    RemoveContainer {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Inspecting a container failed.
    #[error("failed to inspect container {id}")]
    InspectContainer {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Streaming a tar archive into a container failed.
    #[error("failed to upload an archive into {id}:{path}")]
    Upload {
        /// Container id.
        id: String,
        /// Destination directory inside the container.
        path: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Packing the archive to upload failed on the host side.
    #[error("failed to pack {path} for upload")]
    Pack {
        /// Host directory being packed.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: crate::layer::pack::PackError,
    },
    /// Streaming a tar archive out of a container failed.
    #[error("failed to download {id}:{path}")]
    Download {
        /// Container id.
        id: String,
        /// Source path inside the container.
        path: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// The archive from the container could not be written to the host: a host I/O failure or
    /// a broken stream (refused entries are recorded in the report, never an error).
    #[error("failed to extract the archive from {id}:{path} into {dest}")]
    Extract {
        /// Container id.
        id: String,
        /// Source path inside the container.
        path: String,
        /// Host destination.
        dest: PathBuf,
        /// What failed.
        #[source]
        source: crate::sandbox::extract::ExtractError,
    },
    /// Creating or starting an exec failed.
    #[error("failed to run `{command}` in container {id}")]
    Exec {
        /// Container id.
        id: String,
        /// The command (shortened).
        command: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Writing an exec's output to the host failed.
    #[error("failed to write the output of `{command}` to {path}")]
    ExecOutput {
        /// The command (shortened).
        command: String,
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Committing a container to an image failed.
    #[error("failed to commit container {id}")]
    Commit {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Listing a container's changed paths failed.
    #[error("failed to list the changes of container {id}")]
    Changes {
        /// Container id.
        id: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Listing labelled objects failed.
    #[error("failed to list {what}")]
    List {
        /// Which objects.
        what: &'static str,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Inspecting an image failed (other than "not found").
    #[error("failed to inspect image `{image}`")]
    InspectImage {
        /// The image reference.
        image: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Tagging an image failed.
    #[error("failed to tag image {image} as `{tag}`")]
    TagImage {
        /// Image id or reference.
        image: String,
        /// The new tag.
        tag: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Removing an image failed.
    #[error("failed to remove image `{image}`")]
    RemoveImage {
        /// Image id or reference.
        image: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Removing a volume failed.
    #[error("failed to remove volume `{name}`")]
    RemoveVolume {
        /// Volume name.
        name: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// A build through the API failed.
    #[error("failed to build image `{tag}`")]
    Build {
        /// The tag being built.
        tag: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Pulling an image failed (no registry reachable, unknown name, ...).
    #[error("failed to pull image `{image}`")]
    Pull {
        /// The image reference.
        image: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// Importing a root filesystem as an image failed.
    #[error("failed to import a root filesystem as `{tag}`")]
    Import {
        /// The tag being created.
        tag: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// The sweep of a container's leftover processes never started (it was tried again and
    /// again; the container is probably held at its process limit).
    #[error(
        "the leftover processes of container {id} could not be swept: the sweep did not start in {tries} tries"
    )]
    SweepFailed {
        /// Container (short id).
        id: String,
        /// How many times it was tried.
        tries: u32,
    },
    /// The in-container helper failed to walk, capture or apply a workspace layer.
    #[error("the in-container helper failed in container {id} (exit {code:?}): {stderr}")]
    Walk {
        /// Container (short id).
        id: String,
        /// Its exit code.
        code: Option<i64>,
        /// What it said.
        stderr: String,
    },
    /// A layer the helper streamed is not a valid layer.
    #[error("the layer spooled at {} is not valid", path.display())]
    BadLayer {
        /// The spooled layer.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An image's inspect data cannot be turned into an image config.
    #[error("cannot read the config of image `{image}`: {reason}")]
    ImageConfig {
        /// The image.
        image: String,
        /// What is missing.
        reason: String,
    },
    /// Loading an image archive (`POST /images/load`) failed.
    #[error("failed to load the image archive for `{tag}`")]
    Load {
        /// The tag being loaded.
        tag: String,
        /// The engine's answer.
        #[source]
        source: CallError,
    },
    /// A host-side file operation around a transfer failed.
    #[error("failed to {action} {path}")]
    HostIo {
        /// What was being done (`create`, `write`, ...).
        action: &'static str,
        /// The host path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnose for SandboxError {
    fn exit_code(&self) -> u8 {
        match self {
            // Failures of harnessgym's own work or of what a container handed back, not of the
            // engine: exit 3 is kept for the engine itself.
            SandboxError::Pack { .. }
            | SandboxError::Extract { .. }
            | SandboxError::HostIo { .. }
            | SandboxError::Walk { .. }
            | SandboxError::SweepFailed { .. }
            | SandboxError::BadLayer { .. }
            | SandboxError::ImageConfig { .. } => exit::FAILURE,
            SandboxError::ExecOutput { .. } => exit::FAILURE,
            _ => exit::ENGINE,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            SandboxError::Unreachable { .. } => Some(
                "start the engine (`sudo systemctl start docker`) or point `--docker-host`/`DOCKER_HOST` at its socket, e.g. `unix:///var/run/docker.sock`; `harnessgym doctor` checks the whole setup".into(),
            ),
            SandboxError::BadHost { .. } => Some(
                "pass `--docker-host unix:///var/run/docker.sock` (or unset `DOCKER_HOST` to use the local socket)".into(),
            ),
            SandboxError::ImageMissing { .. } => {
                Some("build the images with `harnessgym image build` (or `make image`)".into())
            }
            SandboxError::Exec { source, .. } if source.is_not_running() => Some(
                "the container stopped underneath harnessgym (`docker kill` or `docker stop`, an engine restart); a run records what it had in its summary.json".into(),
            ),
            SandboxError::Pack { path, source } if source.is_permission_denied() => Some(format!(
                "harnessgym reads every file of the workspace: `chmod -R u+rX {}` makes them readable by you (or remove the ones you cannot read)",
                path.display()
            )),
            _ => None,
        }
    }
}
