//! Looking at runs and compares after the fact: `harnessgym runs`, `show` and `report`.
//!
//! Pure and synchronous: it reads files (through [`crate::hostfs`], never past a link that leaves
//! the run or compare directory) and never talks to the Docker engine.
//!
//! - [`stats`] (with [`rng`]): number summaries, the bootstrap interval of the difference of
//!   medians and the verdict; the method is documented there.
//! - [`read`], [`files`], [`runs`], [`compare`]: tolerant readers of the reference's and
//!   harnessgym's files; [`compare`] also defines the `harnessgym` block of
//!   `compare_report.json`.

pub mod compare;
mod error;
pub mod files;
pub mod read;
pub mod rng;
pub mod runs;
pub mod stats;

pub use compare::{COMPARE_FORMAT_VERSION, CompareBlock, VERDICT_METRIC};
pub use error::ReportError;
pub use runs::{Target, resolve_target};
pub use stats::{
    Better, BootstrapSettings, GroupComparison, NumberSummary, Verdict, compare_groups,
};
