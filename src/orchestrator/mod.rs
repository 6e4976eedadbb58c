//! The loop: attempt → reflect → build → qualify → replay, one session container per iteration
//! (reference §2). It owns the state machine and nothing else: runners act through a
//! [`Session`](crate::session::Session), harness rules live in `crate::harness`, Docker in `crate::sandbox`.

mod activation;
mod bundle;
mod checkpoint;
mod commits;
mod config;
mod display;
mod error;
mod interrupt;
mod iteration;
mod layout;
mod lock;
mod phases;
mod post;
mod prompts;
mod protect;
mod qualify;
mod results;
mod run;
mod summary;
mod usage;

pub use config::{ConfigError, RunConfig, TaskState, parse_size};
pub use error::RunError;
pub use interrupt::{record_failure, record_interruption};
pub use iteration::is_verified;
pub use layout::RunLayout;
pub use lock::{LOCK_PATH, LockError, WorkspaceLock};
pub use post::score_in;
pub use run::{Driving, GivenBaseline, Loop, RunOutcome, run, run_from};
