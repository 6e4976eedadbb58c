//! Workspace snapshots: a host workspace as a container layer, and back.
//!
//! A run's workspace is packed once into a *baseline* image; each session's container is
//! committed as the next snapshot, so a snapshot costs what changed. Snapshots go back to the
//! host as changed paths only (deletions included) or in full, and can be exported as `.tar.gz`.

mod changes;
mod store;

pub use changes::{ChangeSet, WritePlan};
pub use store::{
    HELPER_PATH, NAME_LABEL, REPO, Snapshot, SnapshotStore, WriteBack, WriteBackReport,
    helper_binary, tag_for,
};
