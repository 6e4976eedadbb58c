//! `--runner exec`: Codex's non-interactive `codex exec` in the session container (reference
//! §7.2).
//!
//! ```text
//! <codex> exec --skip-git-repo-check [resume] -c sandbox_mode="danger-full-access"
//!     <--codex-extra-arg...> <-c mcp_servers.<name>.*...> [<session id>] <prompt>
//! ```
//!
//! The container is the sandbox, so Codex's own is off: its default for `exec` is read-only, and
//! its Linux sandbox cannot start inside a container with every capability dropped. Status is
//! `timeout`, `completed` (exit 0) or `failed`; the session id is the one Codex prints in its
//! session header (fix of §14.14, see [`super::session_id`]). A missing executable is rc 127 and
//! `Codex executable not found in image <image>: <bin>`.

use super::RunnerResult;
use super::agent::{self, Invocation, Transcript};
use super::mcp::{self, BridgeScope};
use super::secrets::Secrets;
use super::session_id;
use super::settings::AgentSettings;
use crate::session::{PhaseContext, SessionError, write_host_file};

/// Codex's sandbox inside ours.
const SANDBOX_OVERRIDE: &str = "sandbox_mode=\"danger-full-access\"";

/// The Codex runner.
#[derive(Debug, Clone)]
pub struct ExecRunner {
    settings: AgentSettings,
    secrets: Secrets,
}

/// The argv of one `codex exec` call.
pub fn argv(
    settings: &AgentSettings,
    overrides: &[String],
    resume: Option<&str>,
    prompt: &str,
) -> Invocation {
    let mut argv = vec![
        settings.codex_bin.clone(),
        "exec".to_string(),
        "--skip-git-repo-check".to_string(),
    ];
    if resume.is_some() {
        argv.push("resume".into());
    }
    argv.extend(["-c".to_string(), SANDBOX_OVERRIDE.to_string()]);
    argv.extend(settings.codex_extra_args.iter().cloned());
    argv.extend(overrides.iter().cloned());
    argv.extend(resume.map(str::to_string));
    argv.push(prompt.to_string());
    Invocation {
        prompt_index: Some(argv.len() - 1),
        argv,
        env: Vec::new(),
    }
}

/// The error lines Codex printed (`ERROR: ...`), else the tail of its error output.
fn failure_message(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("ERROR"))
        .collect();
    let text = if errors.is_empty() {
        agent::tail(stderr.trim_end(), 1000).to_string()
    } else {
        errors.join("\n")
    };
    agent::head(&text, 1000)
}

impl ExecRunner {
    /// A runner with `settings`; the variables `settings.env` names are read now.
    pub fn new(settings: AgentSettings, secrets: Secrets) -> Self {
        ExecRunner { settings, secrets }
    }

    /// One phase: a new session (`resume` is `None`) or a resumed one.
    pub(super) async fn phase(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
        resume: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let servers = mcp::session_servers(ctx.session).await?;
        let overrides = mcp::codex_overrides(&servers, &BridgeScope::of(ctx));
        let invocation = argv(&self.settings, &overrides, resume, prompt);
        write_host_file(&ctx.files.prompt, prompt)?;
        let run = agent::run(ctx, &invocation, &self.secrets).await?;
        let found = session_id::find(&format!("{}\n{}", run.stdout, run.stderr));
        let session = found.or_else(|| resume.map(str::to_string));
        let mut result = agent::result_of(ctx, phase, &run, session);
        if run.missing_binary {
            result.message = format!(
                "Codex executable not found in image {}: {}",
                self.settings.image, self.settings.codex_bin
            );
        } else if run.timed_out {
            result.message = format!(
                "Timed out after {} seconds; terminated Codex process.",
                ctx.timeout.as_secs()
            );
        } else if result.status == "failed" {
            result.message = failure_message(&run.stderr);
        }
        Transcript::for_phase(&invocation, &result, &self.secrets).write(ctx, &self.secrets)?;
        Ok(result)
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
                &argv(&self.settings, &[], Some("<session id>"), prompt),
                &self.secrets,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AgentSettings {
        AgentSettings {
            codex_bin: "/opt/codex".into(),
            codex_extra_args: vec!["-c".into(), "model=\"o3\"".into()],
            ..AgentSettings::default()
        }
    }

    #[test]
    fn a_new_session_ends_with_the_prompt() {
        let overrides = vec!["-c".to_string(), "mcp_servers.a.enabled=true".to_string()];
        let call = argv(&settings(), &overrides, None, "do it");
        assert_eq!(
            call.argv,
            [
                "/opt/codex",
                "exec",
                "--skip-git-repo-check",
                "-c",
                SANDBOX_OVERRIDE,
                "-c",
                "model=\"o3\"",
                "-c",
                "mcp_servers.a.enabled=true",
                "do it"
            ]
        );
        assert_eq!(call.prompt_index, Some(9));
    }

    #[test]
    fn a_resume_names_the_session_before_the_prompt() {
        let call = argv(&AgentSettings::default(), &[], Some("sid-1"), "go on");
        assert_eq!(
            call.argv,
            [
                "codex",
                "exec",
                "--skip-git-repo-check",
                "resume",
                "-c",
                SANDBOX_OVERRIDE,
                "sid-1",
                "go on"
            ]
        );
    }

    #[test]
    fn failures_quote_codex_error_lines() {
        let stderr =
            "OpenAI Codex v0.147.0\nERROR: {\"error\": {\"message\": \"scripted failure\"}}\n";
        assert_eq!(
            failure_message(stderr),
            "ERROR: {\"error\": {\"message\": \"scripted failure\"}}"
        );
        assert_eq!(failure_message("boom\n"), "boom");
    }
}
