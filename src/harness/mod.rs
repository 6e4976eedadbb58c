//! The `.harnessgym/` bundle: its JSON files, the artifact registry, per-iteration results and
//! timestamps.

pub mod json;
pub mod optimization;
pub mod prompts;
pub mod registry;
pub mod reports;
pub mod result;
pub mod time;
pub mod usage;
