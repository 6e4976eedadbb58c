//! Workspace snapshots: a host workspace as image layers, and back.
//!
//! The baseline is the helper layer plus the workspace packed on the host; each session's
//! `/workspace` is captured by the in-container helper as one more layer holding what changed
//! (whiteouts for deletions), registered by loading it on top of its parent — or, on engines that
//! refuse partial archives, applied in a staging container and committed. Each snapshot's changes
//! come from its own layer and are recorded under the run, so write-back, checkpoints, export and
//! `gc` never ask the engine for a diff. Only `/workspace` is state: the agent's home and the
//! temporary directories live and die with the session.

mod capture;
mod changes;
mod helper;
mod record;
mod store;
pub mod strategy;
mod writeback;

pub use capture::{Capture, CaptureBase, LeftOut};
pub use changes::{Change, ChangeRecord, ChangeSet, EntryKind, LayerChange, WritePlan};
pub use helper::{HELPER_PATH, HELPER_REPO, HELPER_ROLE, helper_binary, is_static};
pub use record::{SnapshotRecord, chain_bytes, changes_since_baseline, load_all, records_dir};
pub use store::{NAME_LABEL, REPO, Retained, Snapshot, SnapshotStore, TASK_LAYER_REUSED, tag_for};
pub use strategy::Strategy;
pub use writeback::{Policy, WriteBackReport};
