//! A scripted model server, so the real agent CLIs can be tested offline and deterministically:
//! `harnessgym internal model-server --script FILE --port PORT [--port-file FILE]`.
//!
//! It answers the Anthropic Messages API (streamed, as Claude Code calls it) and the OpenAI
//! Responses API (as Codex calls it) on 127.0.0.1 from a script of turns — run a shell command,
//! write or edit a file, call an MCP tool, say something and stop, stall, fail with an API error
//! ([`script`]) — and logs every request (credential headers masked) for assertions. The CLI does
//! everything else for real: its argv, session store, resume, MCP configuration and output.
//!
//! It runs inside the session container on the container's own loopback (network stays
//! `none`), started by a wrapper the test names as the agent binary. It is a test instrument:
//! nothing in a run starts it.

mod anthropic;
mod http;
mod openai;
pub mod script;
mod server;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostics::Diagnose;
use crate::exit;

pub use script::{Api, Script, ScriptError, Step, Turn};
pub use server::{Progress, masked_headers};

/// `harnessgym internal model-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelServerArgs {
    /// The script to play (JSON: `{"turns": [...]}`).
    #[arg(long, value_name = "FILE")]
    pub script: PathBuf,

    /// Port on 127.0.0.1; 0 picks a free one (see --port-file).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,

    /// Write the port here once listening (written whole, by rename).
    #[arg(long, value_name = "FILE")]
    pub port_file: Option<PathBuf>,

    /// Keep the script's progress here, so the next server of the same session goes on.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Append one JSON line per request here (credential headers masked).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// What the model server can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ModelServerError {
    /// The script is unreadable or invalid.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// Listening failed.
    #[error("failed to listen on 127.0.0.1:{port}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the server could not be written.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnose for ModelServerError {
    fn exit_code(&self) -> u8 {
        match self {
            ModelServerError::Script(_) => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// Serve until `token` fires (SIGTERM, SIGINT).
pub async fn run(
    args: ModelServerArgs,
    token: tokio_util::sync::CancellationToken,
) -> Result<u8, ModelServerError> {
    let script = Script::load(&args.script)?;
    let cwd = std::env::current_dir().map_err(|source| ModelServerError::Write {
        path: PathBuf::from("."),
        source,
    })?;
    let steps =
        HashMap::from([Api::Anthropic, Api::OpenAi].map(|api| (api, script.steps(api, &cwd))));
    let log = match &args.log {
        Some(path) => Some(open_log(path)?),
        None => None,
    };
    let progress = server::load_progress(args.state.as_deref());
    let server = Arc::new(server::Server::new(
        steps,
        progress,
        args.state.clone(),
        log,
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|source| ModelServerError::Bind {
            port: args.port,
            source,
        })?;
    let port = listener
        .local_addr()
        .map_err(|source| ModelServerError::Bind {
            port: args.port,
            source,
        })?
        .port();
    if let Some(path) = &args.port_file {
        write_port_file(path, port)?;
    }
    loop {
        let accepted = tokio::select! {
            () = token.cancelled() => return Ok(exit::SUCCESS),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let server = server.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
            Err(err) => tracing::warn!("model server: accept failed: {err}"),
        }
    }
}

fn open_log(path: &std::path::Path) -> Result<std::fs::File, ModelServerError> {
    let io = |source| ModelServerError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)
}

fn write_port_file(path: &std::path::Path, port: u16) -> Result<(), ModelServerError> {
    let temp = path.with_extension("partial");
    std::fs::write(&temp, format!("{port}\n"))
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|source| ModelServerError::Write {
            path: path.to_path_buf(),
            source,
        })
}
