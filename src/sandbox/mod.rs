//! The sandbox: the only module that talks to Docker.
//!
//! It knows containers, images, archives and labels — nothing about harnesses. Callers get an
//! [`Engine`] (connection + the objects this process created), [`Container`] handles (create,
//! start, exec, upload/download, commit, stop, remove), image operations and the reaper.

mod archive;
mod container;
pub mod deadline;
mod disk;
mod engine;
mod error;
mod exec;
pub mod extract;
pub mod facts;
mod files;
mod images;
pub mod labels;
mod load;
mod output;
mod reaper;
mod spec;
mod sweep;

pub use archive::{CHANNEL_DEPTH, CHUNK, ChannelWriter};
pub use container::{Change, ChangeKind, Container};
pub use disk::{DiskLimit, Enforcement};
pub use engine::{DEFAULT_HOST, Engine, EngineInfo, resolve_host, short_id};
pub use error::{CallError, SandboxError};
pub use exec::{ExecInput, ExecOutcome, ExecSpec, StdinFeed};
pub use files::{FileRead, READ_LIMIT, ReadRefusal};
pub use images::{BuildRequest, ImageSummary};
pub use labels::{Owner, Role};
pub use load::{Digesting, DigestingReader, ImageConfig, LayerFile, LoadRequest, sha256_digest};
pub use output::{Captured, OutputSink};
pub use reaper::{ReapReport, Selector};
pub use spec::{AGENT_USER, Bind, ContainerSpec, Limits, WORKSPACE};
pub use sweep::SweepReport;
