//! The command line as typed: clap definitions only, no behaviour.
//!
//! Commands receive these raw structs and validate them into their own types; nothing below
//! `commands` sees clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

mod compare;
mod inspect;
mod run;

pub use compare::{CompareArgs, CompareOwn};
pub use inspect::{ReportArgs, RunsArgs, ShowArgs};
pub use run::{DepthChoice, RunArgs, RunnerChoice, Schedule, TaskStateChoice};

/// Make coding agents better at hard tasks by making them build their own tooling — with every
/// piece of agent-side work in a fresh, hardened Docker container.
#[derive(Debug, Parser)]
#[command(name = "harnessgym", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 Docker engine problem, 4 interrupted."
)]
pub struct Cli {
    /// More output: -v shows each step and its timing, -vv debug detail, -vvv everything.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only print errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Docker engine to use (e.g. `unix:///var/run/docker.sock`, `tcp://host:2375`).
    /// Defaults to `DOCKER_HOST`, else the local socket.
    #[arg(long, global = true, value_name = "HOST")]
    pub docker_host: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the loop: attempt → reflect → build → qualify → replay, each session in a fresh
    /// container.
    Run(Box<RunArgs>),
    /// Did the harness help? Plain and harnessed trials of one task side by side, each from the
    /// template's baseline, scored by a post command, with a verdict.
    Compare(Box<CompareArgs>),
    /// Build the container images from `images/` (bootstrapping an offline Debian base if needed).
    #[command(subcommand)]
    Image(ImageCommand),
    /// List a run's snapshots, or export one as a `.tar.gz` of its workspace.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Remove containers, volumes and snapshot images left by harnessgym processes that are gone,
    /// and helper images nothing uses any more.
    Gc(GcArgs),
    /// Check that this machine can run harnessgym: engine, limits, images, disk (and, with
    /// `--runner`, the agent's image, CLI and credentials).
    Doctor(DoctorArgs),
    /// List the runs and compares of a workspace (id, date, runner, iterations, status, best
    /// score).
    Runs(RunsArgs),
    /// Show one run's iterations: status, score, phase times, qualification, tools.
    Show(ShowArgs),
    /// Write a self-contained HTML report with charts of a run or a compare.
    Report(ReportArgs),
    /// The MCP helpers that run inside containers (`mcp-proxy`, `mcp-bridge`, `mcp-call`).
    #[command(flatten)]
    Mcp(crate::mcp::McpCommand),
    /// Commands the host runs inside containers (not for direct use).
    #[command(subcommand, hide = true)]
    Internal(InternalCommand),
}

/// `harnessgym doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check what this runner needs: its image, its CLI in that image (`<bin> --version` in
    /// a throwaway container), an API key or credentials file.
    #[arg(long, value_enum, value_name = "RUNNER")]
    pub runner: Option<RunnerChoice>,

    /// The session image to check (default: the runner's).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// The Codex executable in the image.
    #[arg(long, value_name = "BIN", default_value = "codex")]
    pub codex_bin: String,

    /// The Claude Code executable in the image.
    #[arg(long, value_name = "BIN", default_value = "claude")]
    pub claude_bin: String,

    /// The custom agent's description (`--runner custom`).
    #[arg(long, value_name = "FILE")]
    pub runner_config: Option<PathBuf>,

    /// A variable the run would pass by name (repeatable; default: the runner's API keys).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,

    /// A credentials file the run would mount (repeatable), `PATH[:CONTAINER_PATH]`.
    #[arg(long, value_name = "PATH[:CONTAINER_PATH]")]
    pub credentials_file: Vec<String>,
}

/// `harnessgym image ...`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build images (all of them when no name is given); an unchanged image is not rebuilt.
    Build(ImageBuildArgs),
    /// Create the Debian base root filesystem from packages (debootstrap) and import it, for
    /// machines that cannot pull from a registry.
    Bootstrap(BootstrapArgs),
    /// List the images harnessgym built.
    List,
}

/// `harnessgym image build`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// Image names (directories under the images directory), e.g. `base`.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Directory holding `<name>/Dockerfile`; defaults to the images compiled into harnessgym.
    #[arg(long, value_name = "DIR")]
    pub images_dir: Option<PathBuf>,

    /// Rebuild even when an image with the same content hash exists.
    #[arg(long)]
    pub force: bool,
}

/// `harnessgym image bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Debian suite to bootstrap.
    #[arg(long, default_value = "bookworm")]
    pub suite: String,

    /// Debian mirror; defaults to the one apt uses on this machine.
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,

    /// Bootstrap again even if the root filesystem image exists.
    #[arg(long)]
    pub force: bool,
}

/// `harnessgym gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Keep every image (snapshots and helpers); remove only containers and volumes.
    #[arg(long)]
    pub keep: bool,

    /// Remove everything of this run id (containers, snapshots), even if its owner is alive.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
}

/// `harnessgym snapshot ...`.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// List snapshot images (all runs, or one).
    List {
        /// Only this run's snapshots.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
    },
    /// Write a snapshot's workspace as a gzip-compressed tar.
    Export {
        /// The run id.
        #[arg(long, value_name = "RUN_ID")]
        run: String,
        /// The snapshot's name (`baseline`, `iteration-2`, ...; see `snapshot list`).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `harnessgym internal ...`: run by the host inside containers.
#[derive(Debug, Subcommand)]
pub enum InternalCommand {
    /// Activate the workspace's bundle and print the report (refuses outside a container).
    Activate(crate::activation::ActivateArgs),
    /// Print how much the container's workload has written (the disk-limit watchdog).
    Usage(crate::layer::usage::UsageArgs),
    /// Record the state of a directory tree as manifest bytes on stdout (refuses outside a
    /// container).
    Manifest(crate::layer::ManifestArgs),
    /// Write what changed since the manifest on stdin as a layer tar on stdout, its stats as one
    /// JSON line on stderr; exit code 3 over `--max-bytes` (refuses outside a container).
    Layer(crate::layer::LayerArgs),
    /// Apply the layer tar on stdin to a directory (refuses outside a container).
    ApplyLayer(crate::layer::ApplyLayerArgs),
    /// Answer the Anthropic Messages and OpenAI Responses APIs from a script, on loopback (a
    /// test instrument for the real agent CLIs).
    ModelServer(crate::model_server::ModelServerArgs),
}
