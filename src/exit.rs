//! The one exit-code table of the binary.
//!
//! Every command returns one of these; `main` is the only place that turns an outcome into a
//! process status, so scripts and CI can rely on the numbers below.

/// The command did what was asked (for `run`: the run completed, solved or not).
pub const SUCCESS: u8 = 0;
/// The command failed for a reason that is neither bad input nor the Docker engine.
pub const FAILURE: u8 = 1;
/// The command line or an input file is invalid (clap uses 2 as well).
pub const USAGE: u8 = 2;
/// The Docker engine is unreachable, refused an operation, or an image is missing.
pub const ENGINE: u8 = 3;
/// The user interrupted the command (Ctrl-C / SIGTERM); what it created was removed.
pub const INTERRUPTED: u8 = 4;
/// Only `harnessgym internal layer`, which runs inside a container and never talks to an engine:
/// the layer's file contents exceed `--max-bytes` and no complete layer was written. It shares
/// its number with [`ENGINE`] on purpose: the host reads it from that one subcommand only.
pub const LAYER_TOO_LARGE: u8 = 3;
