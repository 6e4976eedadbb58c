//! `harnessgym internal activate`: the in-container entry point of activation.
//!
//! The host runs it through `docker exec` with `HARNESSGYM_IN_CONTAINER=1` and reads the report
//! from stdout (also written to `.harnessgym/activation.json` unless `--no-write`). Without that
//! variable it refuses with exit code 2 before touching anything: activation runs generated code
//! and must never run on the host. A failed gate is an outcome (exit 0, `quality_gate.status`
//! says `failed`); only a missing report is an error.

use std::io::Write;
use std::path::PathBuf;

use super::activate::{ActivateOptions, IN_CONTAINER_ENV, activate, ensure_in_container};
use super::error::ActivationError;
use super::wiring::DEFAULT_HELPER_BINARY;
use crate::exit;
use crate::harness::json;

/// `harnessgym internal activate` (run by the host inside a container; not for direct use).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ActivateArgs {
    /// The workspace inside the container.
    #[arg(long, value_name = "DIR", env = "HARNESSGYM_WORKSPACE")]
    pub workspace: PathBuf,

    /// The run id stamped on MCP telemetry lines.
    #[arg(long, value_name = "RUN_ID", env = "HARNESSGYM_RUN_ID")]
    pub run_id: String,

    /// The iteration stamped on MCP telemetry lines.
    #[arg(long, value_name = "N", env = "HARNESSGYM_ITERATION")]
    pub iteration: u32,

    /// The file the MCP proxy and bridge append telemetry to.
    #[arg(long, value_name = "PATH", env = "HARNESSGYM_MCP_TELEMETRY_PATH")]
    pub telemetry_path: String,

    /// The harnessgym binary inside the container, launched by the agents' MCP configurations.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_HELPER_BINARY)]
    pub helper_binary: String,

    /// Compute and print the report only: no links, no configuration files, no activation.json.
    #[arg(long)]
    pub no_write: bool,
}

impl ActivateArgs {
    /// The activation options these arguments stand for (the workspace made absolute).
    pub fn to_options(&self) -> Result<ActivateOptions, ActivationError> {
        let workspace =
            std::path::absolute(&self.workspace).map_err(|source| ActivationError::Workspace {
                path: self.workspace.clone(),
                source,
            })?;
        Ok(ActivateOptions {
            workspace,
            helper_binary: self.helper_binary.clone(),
            telemetry_path: self.telemetry_path.clone(),
            run_id: self.run_id.clone(),
            iteration: self.iteration,
            write_files: !self.no_write,
        })
    }
}

/// Runs `harnessgym internal activate`: refuses outside a container, activates, prints the
/// report JSON on stdout. Returns the exit code ([`exit::SUCCESS`], whatever the gate says).
pub async fn run_internal(args: ActivateArgs) -> Result<u8, ActivationError> {
    ensure_in_container(std::env::var_os(IN_CONTAINER_ENV).as_deref())?;
    let report = activate(&args.to_options()?).await?;
    let mut text = json::to_pretty_json(&report).map_err(ActivationError::Render)?;
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ActivationError::Print)?;
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ActivateArgs,
    }

    #[test]
    fn parses_the_flags() {
        let parsed = Wrapper::try_parse_from([
            "activate",
            "--workspace",
            "/workspace",
            "--run-id",
            "r1",
            "--iteration",
            "3",
            "--telemetry-path",
            "/workspace/t.jsonl",
            "--no-write",
        ])
        .expect("parses")
        .args;
        assert_eq!(parsed.helper_binary, "/opt/harnessgym/bin/harnessgym");
        let options = parsed.to_options().expect("options");
        assert_eq!(
            options,
            ActivateOptions {
                workspace: PathBuf::from("/workspace"),
                helper_binary: "/opt/harnessgym/bin/harnessgym".to_owned(),
                telemetry_path: "/workspace/t.jsonl".to_owned(),
                run_id: "r1".to_owned(),
                iteration: 3,
                write_files: false,
            }
        );
    }

    #[test]
    fn a_relative_workspace_is_made_absolute() {
        let args = ActivateArgs {
            workspace: PathBuf::from("ws"),
            run_id: "r".to_owned(),
            iteration: 1,
            telemetry_path: "t".to_owned(),
            helper_binary: "h".to_owned(),
            no_write: false,
        };
        let options = args.to_options().expect("options");
        assert!(options.workspace.is_absolute());
        assert!(options.workspace.ends_with("ws"));
        assert!(options.write_files);
    }
}
