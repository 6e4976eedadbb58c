//! Scripted phases for the fake runner: a workspace can replace any phase with a shell script,
//! run in the session container like an agent would be.
//!
//! `/workspace/.fake_runner/<phase>_<iteration>.sh` (or `<phase>.sh` for every iteration), with
//! `<phase>` one of `attempt`, `reflection`, `build`, runs under `sh` with the phase's timeout;
//! its output becomes the phase's stdout/stderr. It sees `HARNESSGYM_RESULT` (the result.json to
//! write), `HARNESSGYM_ITERATION`, `HARNESSGYM_PHASE` and `HARNESSGYM_RUN_ID`. Tests and demos use
//! it to play agents that time out, write malformed results, or optimise a kernel.

use crate::mcp::workspace::{ENV_ITERATION, ENV_RUN_ID};
use crate::sandbox::{ExecSpec, OutputSink};
use crate::session::{PhaseContext, SessionError, workspace_path};

/// Directory of phase scripts, relative to the workspace.
pub const SCRIPT_DIR: &str = ".fake_runner";
/// Output kept per stream of a phase.
const OUTPUT_CAP: u64 = 8 << 20;

/// What a script run produced.
pub struct ScriptRun {
    /// `completed`, `failed` or `timeout`.
    pub status: &'static str,
    /// Exit code, when it ended by itself.
    pub return_code: Option<i64>,
    /// Whether it hit the timeout.
    pub timed_out: bool,
    /// Its standard output (as kept).
    pub stdout: String,
}

/// Run the script for `phase`, if the workspace has one.
pub async fn run(ctx: &PhaseContext<'_>, phase: &str) -> Result<Option<ScriptRun>, SessionError> {
    let candidates = [
        format!("{SCRIPT_DIR}/{phase}_{}.sh", ctx.iteration),
        format!("{SCRIPT_DIR}/{phase}.sh"),
    ];
    let mut script = None;
    for rel in candidates {
        if ctx.session.read(&rel).await?.is_some() {
            script = Some(rel);
            break;
        }
    }
    let Some(rel) = script else {
        return Ok(None);
    };
    let mut spec = ExecSpec::new(["sh".to_string(), workspace_path(&rel)], ctx.timeout);
    spec.env = vec![
        format!("HARNESSGYM_RESULT={}", workspace_path(&ctx.result_rel)),
        format!("{ENV_ITERATION}={}", ctx.iteration),
        format!("HARNESSGYM_PHASE={phase}"),
        format!("{ENV_RUN_ID}={}", ctx.run_id),
    ];
    spec.stdout = OutputSink::file(&ctx.files.stdout, OUTPUT_CAP);
    spec.stderr = OutputSink::file(&ctx.files.stderr, OUTPUT_CAP);
    let out = ctx.session.exec(&spec).await?;
    let status = if out.timed_out {
        "timeout"
    } else if out.exit_code == Some(0) {
        "completed"
    } else {
        "failed"
    };
    Ok(Some(ScriptRun {
        status,
        return_code: out.exit_code,
        timed_out: out.timed_out,
        stdout: std::fs::read_to_string(&ctx.files.stdout).unwrap_or_default(),
    }))
}
