//! `harnessgym compare`: did the harness help? Plain and harnessed trials of one task side by
//! side, each from one baseline image of the template, scored once by a post command in a fresh
//! container, judged by the validity rules, summarized with a verdict (reference §1.2, §3.7, §9).
//!
//! - [`config`]: flags → [`CompareConfig`]; each trial's `harnessgym run` argv and
//!   [`crate::orchestrator::RunConfig`] (run flags pass through to the real `run` parser).
//! - [`template`], [`bundle`], [`baselines`]: the template's exclusions, the artifact bundle,
//!   and the two baselines every trial starts from (made once).
//! - [`trial`], [`post`], [`record`], [`validity`]: one trial — the loop attempt-only, the post
//!   command, its `trial.json` and whether it counts.
//! - [`schedule`]: trials side by side (`--jobs`), interleaved, cancellable.
//! - [`files`]: `compare_report.json` and `trial.json` as types.
//! - [`summary`]: the report's group summaries and its verdict.
//! - [`run`], [`rerun`]: a whole compare; one trial again.
//!
//! The engine calls of all trials share one bound ([`crate::sandbox::deadline::limit_calls`],
//! `--engine-calls`), separate from `--jobs`: a trial waiting on its agent holds no engine call.

pub mod baselines;
pub mod bundle;
pub mod config;
mod error;
pub mod files;
pub mod post;
pub mod record;
pub mod rerun;
pub mod run;
pub mod schedule;
pub mod summary;
pub mod template;
pub mod trial;
pub mod validity;

pub use config::{CompareConfig, Group, Settings};
pub use error::{CompareError, FlagProblem};
pub use run::{Finished, Outcome, REPORT, compare};
