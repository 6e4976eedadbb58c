//! `--runner tui-goal` (experimental, reference §7.5): interactive Codex in a terminal, driven
//! through a TTY exec whose keystrokes harnessgym types.
//!
//! Each phase is one `codex` TUI process: the prompt is written to a file in the container and
//! the TUI is told to follow it — `/goal Read and follow the HarnessGym attempt prompt at <path>.`
//! for an attempt, `/goal clear` then `Read and follow the HarnessGym <phase> prompt at <path>.`
//! for reflection and build (an unfinished goal would keep Codex on the task). harnessgym watches
//! result.json and ends the TUI with two Ctrl-C a few seconds after the phase's work shows there
//! (attempt: a status other than `running`; reflection: a selected improvement; build:
//! tooling), or at the phase's timeout (the whole tree is killed).
//!
//! Differences from the reference, on purpose: every attempt is a fresh session (fix of §14.15:
//! the reference kept one TUI across iterations), and reflection and build resume the attempt's
//! session (`codex resume <id>`, the id read from the newest rollout file in `~/.codex/sessions`),
//! so repairs work too. The keystrokes follow a fixed schedule (an Enter to pass Codex's first-run
//! welcome screen, then the instruction): a TUI that changes its start-up screens can break this
//! runner, hence experimental. `exec` is the supported way to run Codex.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::RunnerResult;
use super::agent::{self, Invocation, Transcript};
use super::mcp::{self, BridgeScope};
use super::secrets::Secrets;
use super::session_id;
use super::settings::AgentSettings;
use crate::sandbox::{ExecSpec, OutputSink, StdinFeed, WORKSPACE};
use crate::session::{PhaseContext, Session, SessionError, workspace_path, write_host_file};

/// Before the first keystroke: Codex draws its welcome screen.
const START_DELAY: Duration = Duration::from_secs(8);
/// Between passing the welcome screen and typing the instruction.
const TYPE_DELAY: Duration = Duration::from_secs(3);
/// How often result.json is looked at.
const POLL: Duration = Duration::from_millis(250);
/// Once the work shows, how long the agent may finish its turn before the TUI is ended (a turn
/// cut short would be taken up again, out of place, when the session is resumed).
const SETTLE: Duration = Duration::from_secs(5);
/// Between the two Ctrl-C that end the TUI.
const CTRL_C_GAP: Duration = Duration::from_secs(1);
/// Output kept from the terminal.
const OUTPUT_CAP: u64 = 16 << 20;
/// Ctrl-C, as a terminal sends it.
const CTRL_C: &[u8] = b"\x03";
/// Lists Codex's session files, newest first.
const NEWEST_ROLLOUT: &str =
    r#"ls -t "$HOME"/.codex/sessions/*/*/*/rollout-*.jsonl 2>/dev/null | head -n 1"#;

/// The experimental TUI runner.
#[derive(Debug, Clone)]
pub struct TuiGoalRunner {
    settings: AgentSettings,
    secrets: Secrets,
}

/// The command line of one TUI phase.
pub fn argv(settings: &AgentSettings, overrides: &[String], resume: Option<&str>) -> Invocation {
    let mut argv = vec![settings.codex_bin.clone()];
    if resume.is_some() {
        argv.push("resume".into());
    }
    for value in [
        "sandbox_mode=\"danger-full-access\"",
        "approval_policy=\"never\"",
    ] {
        argv.extend(["-c".to_string(), value.to_string()]);
    }
    argv.extend(settings.codex_extra_args.iter().cloned());
    argv.extend(overrides.iter().cloned());
    argv.extend(resume.map(str::to_string));
    Invocation {
        argv,
        prompt_index: None,
        env: vec!["TERM=xterm-256color".into()],
    }
}

/// What harnessgym types for `phase`, pointing at the prompt file.
pub fn instruction(phase: &str, prompt_path: &str) -> String {
    if phase == "attempt" {
        format!("/goal Read and follow the HarnessGym attempt prompt at {prompt_path}.")
    } else {
        format!("Read and follow the HarnessGym {phase} prompt at {prompt_path}.")
    }
}

/// Whether result.json shows that `phase`'s work is done.
pub fn phase_done(phase: &str, result: &Value) -> bool {
    let truthy = |v: &Value| match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    match phase {
        "attempt" => !matches!(
            result.get("status").and_then(Value::as_str),
            None | Some("running")
        ),
        "reflection" => truthy(&result["reflection"]["selected_improvement"]),
        _ => truthy(&result["tooling"]) || result["status"] == "tooling_built",
    }
}

async fn done_in_session(ctx: &PhaseContext<'_>, phase: &str) -> bool {
    match ctx.session.read(&ctx.result_rel).await {
        Ok(Some(bytes)) => serde_json::from_slice::<Value>(&bytes)
            .map(|result| phase_done(phase, &result))
            .unwrap_or(false),
        _ => false,
    }
}

/// What harnessgym types, line by line: a resumed session first clears the goal the attempt set
/// (an unfinished goal would keep Codex working the task instead of the new phase).
pub fn typed_lines(phase: &str, prompt_path: &str) -> Vec<String> {
    let instruction = instruction(phase, prompt_path);
    if phase == "attempt" {
        vec![instruction]
    } else {
        vec!["/goal clear".to_string(), instruction]
    }
}

/// Type the lines on schedule, wait for the phase's work, then end the TUI.
async fn drive(
    ctx: &PhaseContext<'_>,
    phase: &str,
    keys: UnboundedSender<Vec<u8>>,
    lines: Vec<String>,
) {
    tokio::time::sleep(START_DELAY).await;
    let _ = keys.send(b"\r".to_vec());
    for line in lines {
        tokio::time::sleep(TYPE_DELAY).await;
        let _ = keys.send(line.into_bytes());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = keys.send(b"\r".to_vec());
    }
    while !done_in_session(ctx, phase).await {
        tokio::time::sleep(POLL).await;
    }
    tokio::time::sleep(SETTLE).await;
    let _ = keys.send(CTRL_C.to_vec());
    tokio::time::sleep(CTRL_C_GAP).await;
    let _ = keys.send(CTRL_C.to_vec());
}

/// The id of the newest Codex session in the container.
async fn newest_session(session: &Session) -> Result<Option<String>, SessionError> {
    let out = session
        .exec(&ExecSpec::shell(NEWEST_ROLLOUT, Duration::from_secs(20)))
        .await?;
    Ok(session_id::find(&out.stdout.text()))
}

impl TuiGoalRunner {
    /// A runner with `settings` and the credentials to pass.
    pub fn new(settings: AgentSettings, secrets: Secrets) -> Self {
        TuiGoalRunner { settings, secrets }
    }

    /// One phase in a TUI: a new session (`resume` is `None`) or a resumed one.
    pub(super) async fn phase(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
        resume: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let servers = mcp::session_servers(ctx.session).await?;
        let overrides = mcp::codex_overrides(&servers, &BridgeScope::of(ctx));
        let invocation = argv(&self.settings, &overrides, resume);
        let prompt_rel = super::custom::prompt_rel(ctx);
        write_host_file(&ctx.files.prompt, prompt)?;
        write_host_file(&ctx.files.stderr, "")?;
        ctx.session
            .write(&prompt_rel, prompt.as_bytes().to_vec(), 0o644)
            .await?;
        let lines = typed_lines(phase, &workspace_path(&prompt_rel));
        let (run, finished) = self.run_tui(ctx, phase, &invocation, lines.clone()).await?;
        let session = newest_session(ctx.session)
            .await?
            .or_else(|| resume.map(str::to_string));
        let done = finished || done_in_session(ctx, phase).await;
        let result = self.result(ctx, phase, &run, session, done);
        let mut transcript = Transcript::for_phase(&invocation, &result, &self.secrets);
        transcript.line("runner", "tui-goal (experimental PTY automation)");
        for line in &lines {
            transcript.line("typed", line);
        }
        transcript.write(ctx, &self.secrets)?;
        Ok(result)
    }

    /// Run the TUI while [`drive`] types; `true` when the phase's work showed in result.json.
    async fn run_tui(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        invocation: &Invocation,
        lines: Vec<String>,
    ) -> Result<(agent::AgentRun, bool), SessionError> {
        let (keys, feed) = StdinFeed::channel();
        let mut spec = ExecSpec::new(invocation.argv.clone(), ctx.timeout);
        spec.workdir = Some(WORKSPACE.to_string());
        spec.env = invocation.env.clone();
        spec.env.extend(self.secrets.exec_env());
        spec.tty = true;
        spec.stdin_feed = Some(feed);
        spec.stdout = OutputSink::file(&ctx.files.stdout, OUTPUT_CAP);
        let exec = ctx.session.exec(&spec);
        tokio::pin!(exec);
        let (outcome, finished) = tokio::select! {
            outcome = &mut exec => (outcome?, false),
            () = drive(ctx, phase, keys, lines) => (exec.await?, true),
        };
        self.secrets
            .mask_file(&ctx.files.stdout)
            .map_err(|source| SessionError::HostFile {
                path: ctx.files.stdout.clone(),
                source,
            })?;
        let stdout = std::fs::read_to_string(&ctx.files.stdout).unwrap_or_default();
        let run = agent::AgentRun {
            exit_code: outcome.exit_code,
            timed_out: outcome.timed_out,
            duration: outcome.duration,
            missing_binary: outcome.exit_code == Some(127) && agent::is_exec_failure(&stdout),
            stdout,
            stderr: String::new(),
        };
        Ok((run, finished))
    }

    /// `completed` when the work showed (`done`), else `timeout` or `failed`, with a message.
    fn result(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        run: &agent::AgentRun,
        session: Option<String>,
        done: bool,
    ) -> RunnerResult {
        let mut result = agent::result_of(ctx, phase, run, session);
        let (status, message) = if run.missing_binary {
            let message = format!(
                "Codex executable not found in image {}: {}",
                self.settings.image, self.settings.codex_bin
            );
            ("failed", message)
        } else if done {
            ("completed", String::new())
        } else if run.timed_out {
            let seconds = ctx.timeout.as_secs();
            (
                "timeout",
                format!("Timed out after {seconds} seconds; the TUI was stopped."),
            )
        } else {
            let message = "the TUI ended before the phase's work showed in result.json";
            ("failed", message.to_string())
        };
        result.status = status.to_string();
        result.message = message;
        result
    }

    /// Reflection and build resume the attempt's session; without one they cannot run.
    pub(super) async fn resume(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
        session: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        match session {
            Some(id) => self.phase(ctx, phase, prompt, Some(id)).await,
            None => agent::refuse(
                ctx,
                phase,
                prompt,
                format!("Cannot run {phase}: no Codex session id is available to resume."),
                &argv(&self.settings, &[], Some("<session id>")),
                &self.secrets,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tui_runs_without_codex_sandbox_or_approvals_and_resumes_by_id() {
        let call = argv(&AgentSettings::default(), &[], Some("sid"));
        assert_eq!(
            call.argv,
            [
                "codex",
                "resume",
                "-c",
                "sandbox_mode=\"danger-full-access\"",
                "-c",
                "approval_policy=\"never\"",
                "sid"
            ]
        );
        assert_eq!(call.env, ["TERM=xterm-256color"]);
        assert_eq!(argv(&AgentSettings::default(), &[], None).argv[1], "-c");
    }

    #[test]
    fn attempts_set_a_goal_and_other_phases_follow_their_prompt() {
        assert_eq!(
            instruction("attempt", "/workspace/p.txt"),
            "/goal Read and follow the HarnessGym attempt prompt at /workspace/p.txt."
        );
        assert_eq!(
            instruction("build", "/workspace/b.txt"),
            "Read and follow the HarnessGym build prompt at /workspace/b.txt."
        );
    }

    #[test]
    fn resumed_phases_clear_the_attempts_goal_first() {
        assert_eq!(typed_lines("attempt", "/p").len(), 1);
        let lines = typed_lines("reflection", "/p");
        assert_eq!(lines[0], "/goal clear");
        assert!(lines[1].starts_with("Read and follow the HarnessGym reflection prompt"));
    }

    #[test]
    fn completion_follows_the_reference_signals() {
        assert!(!phase_done("attempt", &json!({"status": "running"})));
        assert!(!phase_done("attempt", &json!({})));
        assert!(phase_done("attempt", &json!({"status": "blocked"})));
        assert!(!phase_done("reflection", &json!({"reflection": {}})));
        assert!(phase_done(
            "reflection",
            &json!({"reflection": {"selected_improvement": {"kind": "tool"}}})
        ));
        assert!(phase_done("build", &json!({"status": "tooling_built"})));
        assert!(phase_done("build", &json!({"tooling": {"built": [1]}})));
        assert!(!phase_done("build", &json!({"status": "blocked"})));
    }
}
