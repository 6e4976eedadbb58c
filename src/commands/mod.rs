//! The commands behind the subcommands. Each takes its raw clap arguments and a [`Context`].

mod compare;
mod context;
mod dispatch;
mod doctor;
mod doctor_agent;
mod error;
mod gc;
mod image;
mod inspect;
mod mcp;
mod run;
mod snapshot;

pub use context::Context;
pub use dispatch::main;
pub use error::CommandError;
