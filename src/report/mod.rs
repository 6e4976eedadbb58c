//! Looking at runs and compares after the fact: `harnessgym runs`, `show` and `report`.
//!
//! Pure and synchronous: it reads files (through [`crate::hostfs`], never past a link that leaves
//! the run or compare directory) and never talks to the Docker engine. Every string read from a
//! file is treated as hostile: cleaned of control characters in text output, escaped in HTML and
//! SVG.
//!
//! - [`stats`] (with [`rng`]): number summaries, the bootstrap interval of the difference of
//!   medians and the verdict; the method is documented there.
//! - [`read`], [`files`], [`runs`], [`compare`]: tolerant readers of the reference's and
//!   harnessgym's files; [`compare`] also defines the `harnessgym` block of
//!   `compare_report.json`.
//! - [`view`], [`mod@show`], [`text`]: the rows `runs` and `show` print, as text or JSON.
//! - [`svg`], [`charts`], [`html`], [`run_page`], [`compare_page`]: the self-contained HTML
//!   report with inline SVG charts.
//! - [`inspect`]: the three operations the commands call.

pub mod charts;
pub mod compare;
pub mod compare_page;
mod error;
pub mod files;
pub mod html;
pub mod inspect;
pub mod read;
pub mod rng;
pub mod run_page;
pub mod runs;
pub mod show;
pub mod stats;
pub mod svg;
pub mod text;
pub mod view;

pub use compare::{COMPARE_FORMAT_VERSION, CompareBlock, VERDICT_METRIC};
pub use error::ReportError;
pub use inspect::{Rendered, list, render, render_compare, render_run, show, write_html};
pub use runs::{Target, resolve_target};
pub use stats::{
    Better, BootstrapSettings, GroupComparison, NumberSummary, Verdict, compare_groups,
};
