//! Tar layers: the pure code that turns a directory tree into a tar stream and back.
//!
//! This module is a leaf: it knows files and tar, nothing of Docker or harnesses. The sandbox
//! uses it to upload host trees; the snapshot module to make image layers; the in-container
//! helper (`harnessgym internal ...`) to walk a workspace and stream what changed.

pub mod pack;
pub mod read;
pub mod usage;
