//! harnessgym: make coding agents build their own tooling, with every piece of agent-side work in a
//! fresh Docker container.
//!
//! The crate is a library behind the `harnessgym` binary so that integration tests can drive the
//! sandbox directly against a real engine. See `ARCHITECTURE.md` for the module map; data flows
//! one way: [`cli`] → [`commands`] → {[`image`], [`snapshot`]} → [`sandbox`], and only
//! [`sandbox`] talks to Docker.

pub mod activation;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod diagnostics;
pub mod duration;
pub mod exit;
pub mod harness;
pub mod hostfs;
pub mod image;
pub mod layer;
pub mod mcp;
pub mod model_server;
pub mod orchestrator;
pub mod output;
pub mod process;
pub mod progress;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod session;
pub mod shutdown;
pub mod snapshot;
