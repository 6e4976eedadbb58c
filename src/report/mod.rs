//! Looking at runs and compares after the fact: `harnessgym runs`, `show` and `report`.
//!
//! Pure and synchronous: it reads files and never talks to the Docker engine.
//!
//! - [`stats`] (with [`rng`]): number summaries, the bootstrap interval of the difference of
//!   medians and the verdict; the method is documented there.

pub mod rng;
pub mod stats;

pub use stats::{
    Better, BootstrapSettings, GroupComparison, NumberSummary, Verdict, compare_groups,
};
