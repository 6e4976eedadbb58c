//! Tar layers: the pure code that turns a directory tree into a tar stream and back.
//!
//! This module is a leaf: it knows files and tar, nothing of Docker or harnesses. The sandbox
//! uses it to upload host trees; the snapshot module to make image layers; the in-container
//! helper (`harnessgym internal ...`) to walk a workspace and stream what changed.
//!
//! - [`pack`]: a host tree as a deterministic tar (the baseline, bundle uploads).
//! - [`manifest`]: the state of a tree at one moment ([`Manifest`]), and its binary form.
//! - [`diff`]: what changed since a manifest, as an OCI/Docker layer tar ([`write_layer`]).
//! - [`read`]: a layer tar checked as hostile input and listed ([`read_layer`]).
//! - [`apply`]: a layer tar applied to a directory with overlay semantics ([`apply_layer`]).
//! - `cli`: `harnessgym internal {manifest, layer, apply-layer}`, run inside containers; the
//!   only part that knows of the in-container marker.

pub mod apply;
mod cli;
pub mod diff;
mod error;
pub mod manifest;
mod names;
pub mod pack;
mod perm;
pub mod read;
#[cfg(test)]
mod tests;
pub mod usage;

pub use apply::{ApplyStats, apply_layer};
pub use cli::{ApplyLayerArgs, LayerArgs, ManifestArgs, run_apply_layer, run_layer, run_manifest};
pub use diff::{LayerOptions, LayerStats, write_layer};
pub use error::{LayerError, Refusal};
pub use manifest::{EntryMeta, Kind, Listing, Manifest, Timestamp};
pub use names::{OPAQUE_MARKER, WHITEOUT_PREFIX, is_reserved};
pub use read::{EntryKind, LayerEntry, read_layer};
