//! What every command gets: output settings, the cancellation token, and a way to the engine.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use super::error::CommandError;
use crate::sandbox::{Engine, SandboxError, Selector, resolve_host};

/// Shared settings and handles of one invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// `-v` count.
    pub verbose: u8,
    /// `--quiet`.
    pub quiet: bool,
    /// The resolved Docker host.
    pub docker_host: String,
    /// Cancelled by SIGINT/SIGTERM.
    pub token: CancellationToken,
}

impl Context {
    /// Build the context from the global flags.
    pub fn new(
        verbose: u8,
        quiet: bool,
        docker_host: Option<&str>,
        token: CancellationToken,
    ) -> Self {
        Context {
            verbose,
            quiet,
            docker_host: resolve_host(docker_host),
            token,
        }
    }

    /// Connect to the engine and reap what dead harnessgym processes left behind.
    pub async fn engine(&self) -> Result<Engine, SandboxError> {
        let engine = Engine::connect(&self.docker_host).await?;
        let report = engine.reap(&Selector::DeadOwners, false).await;
        if !report.containers.is_empty() || !report.volumes.is_empty() {
            tracing::info!(
                containers = report.containers.len(),
                volumes = report.volumes.len(),
                "removed objects left by harnessgym processes that are gone"
            );
        }
        for err in report.errors {
            tracing::warn!("reaper: {err}");
        }
        Ok(engine)
    }

    /// Run `work`; on Ctrl-C stop it. Either way, remove every container this process created
    /// before returning — the one cleanup path for success, error and interruption.
    pub async fn guarded<T>(
        &self,
        engine: &Engine,
        work: impl Future<Output = Result<T, CommandError>>,
    ) -> Result<T, CommandError> {
        let outcome = tokio::select! {
            result = work => result,
            () = self.token.cancelled() => Err(CommandError::Interrupted),
        };
        for err in engine.shutdown().await {
            tracing::warn!("cleanup: {err}");
        }
        outcome
    }
}
