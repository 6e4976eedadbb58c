//! What every agent-CLI runner does the same way: run the CLI in the session container with its
//! environment and the phase's timeout (the whole process tree is killed at the end of it), keep
//! its output in the phase files with every credential masked, tell a missing executable from a
//! failing one, and write the transcript.

use std::time::Duration;

use super::RunnerResult;
use super::secrets::Secrets;
use crate::sandbox::{ExecSpec, OutputSink, WORKSPACE};
use crate::session::{PhaseContext, SessionError, write_host_file};

/// Output kept per stream of an agent phase.
const OUTPUT_CAP: u64 = 16 << 20;
/// How the prompt shows in a recorded command line.
pub const PROMPT_PLACEHOLDER: &str = "<prompt; see prompt file>";

/// One CLI invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Which argument is the prompt (shown as `<prompt; see prompt file>`).
    pub prompt_index: Option<usize>,
    /// Environment that is not secret (`NAME=value`).
    pub env: Vec<String>,
}

/// What became of the CLI.
#[derive(Debug, Clone)]
pub struct AgentRun {
    /// Exit code, when it ended by itself.
    pub exit_code: Option<i64>,
    /// Whether the timeout ended it.
    pub timed_out: bool,
    /// Wall-clock time.
    pub duration: Duration,
    /// Standard output as kept (masked).
    pub stdout: String,
    /// Standard error as kept (masked).
    pub stderr: String,
    /// The executable does not exist in the image (exit 127 from the supervisor).
    pub missing_binary: bool,
}

impl AgentRun {
    /// `timeout`, `completed` (exit 0) or `failed`.
    pub fn status(&self) -> &'static str {
        if self.timed_out {
            "timeout"
        } else if self.exit_code == Some(0) {
            "completed"
        } else {
            "failed"
        }
    }
}

/// Run `invocation` in the session (cwd `/workspace`), output to the phase's files.
pub async fn run(
    ctx: &PhaseContext<'_>,
    invocation: &Invocation,
    secrets: &Secrets,
) -> Result<AgentRun, SessionError> {
    let mut spec = ExecSpec::new(invocation.argv.clone(), ctx.timeout);
    spec.workdir = Some(WORKSPACE.to_string());
    spec.env = invocation.env.clone();
    spec.env.extend(secrets.exec_env());
    spec.stdout = OutputSink::file(&ctx.files.stdout, OUTPUT_CAP);
    spec.stderr = OutputSink::file(&ctx.files.stderr, OUTPUT_CAP);
    let out = ctx.session.exec(&spec).await?;
    let read = |path: &std::path::Path| -> Result<String, SessionError> {
        secrets
            .mask_file(path)
            .map_err(|source| SessionError::HostFile {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default())
    };
    let stdout = read(&ctx.files.stdout)?;
    let stderr = read(&ctx.files.stderr)?;
    let missing_binary = !out.timed_out && out.exit_code == Some(127) && is_exec_failure(&stderr);
    Ok(AgentRun {
        exit_code: out.exit_code,
        timed_out: out.timed_out,
        duration: out.duration,
        stdout,
        stderr,
        missing_binary,
    })
}

/// Whether `stderr` is the supervisor's report that the command could not be started
/// (coreutils `timeout` exits 127 with "failed to run command").
pub fn is_exec_failure(stderr: &str) -> bool {
    stderr.contains("failed to run command")
}

/// `text` as one shell word (quoted only when needed).
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The command line as recorded: shell-joined, the prompt replaced by a placeholder.
pub fn display_command(invocation: &Invocation) -> String {
    invocation
        .argv
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            if Some(i) == invocation.prompt_index {
                PROMPT_PLACEHOLDER.to_string()
            } else {
                shell_quote(arg)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A transcript: `key: value` lines, then free text.
#[derive(Debug, Default)]
pub struct Transcript {
    text: String,
}

impl Transcript {
    /// The reference's lines for a finished phase (§7.2).
    pub fn for_phase(invocation: &Invocation, result: &RunnerResult, secrets: &Secrets) -> Self {
        let mut t = Transcript::default();
        t.line("command", &display_command(invocation));
        t.line("prompt_path", &result.prompt_path);
        t.line("stdout_path", &result.stdout_path);
        t.line("stderr_path", &result.stderr_path);
        t.line("status", &result.status);
        t.line(
            "return_code",
            &result
                .return_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "None".into()),
        );
        t.line("timed_out", if result.timed_out { "true" } else { "false" });
        t.line(
            "duration_seconds",
            &format!("{:.3}", result.duration_seconds),
        );
        t.line(
            "session_id",
            result.session_id.as_deref().unwrap_or_default(),
        );
        let names = secrets.names();
        if !names.is_empty() {
            t.line("env_passed", &names.join(", "));
        }
        if !result.message.is_empty() {
            t.line("message", &result.message);
        }
        t
    }

    /// Add `key: value`.
    pub fn line(&mut self, key: &str, value: &str) {
        self.text.push_str(key);
        self.text.push_str(": ");
        self.text.push_str(value);
        self.text.push('\n');
    }

    /// The text, every credential masked.
    pub fn render(&self, secrets: &Secrets) -> String {
        secrets.mask(&self.text)
    }

    /// Write it, masked, to the phase's transcript file.
    pub fn write(&self, ctx: &PhaseContext<'_>, secrets: &Secrets) -> Result<(), SessionError> {
        write_host_file(&ctx.files.transcript, &self.render(secrets))
    }
}

/// A result for `phase` from `run`: status, exit code, timing, session.
pub fn result_of(
    ctx: &PhaseContext<'_>,
    phase: &str,
    run: &AgentRun,
    session_id: Option<String>,
) -> RunnerResult {
    let mut result = RunnerResult::new(phase, run.status(), &ctx.files);
    result.return_code = run.exit_code;
    result.timed_out = run.timed_out;
    result.duration_seconds = run.duration.as_secs_f64();
    result.session_id = session_id;
    result
}

/// The phase a runner refuses to start: a resume without a session to resume (§2.5). The
/// prompt and empty output files are still written.
pub fn refuse(
    ctx: &PhaseContext<'_>,
    phase: &str,
    prompt: &str,
    message: String,
    invocation: &Invocation,
    secrets: &Secrets,
) -> Result<RunnerResult, SessionError> {
    write_host_file(&ctx.files.prompt, prompt)?;
    write_host_file(&ctx.files.stdout, "")?;
    write_host_file(&ctx.files.stderr, "")?;
    let mut result = RunnerResult::new(phase, "failed", &ctx.files);
    result.message = message;
    Transcript::for_phase(invocation, &result, secrets).write(ctx, secrets)?;
    Ok(result)
}

/// The last `max` characters of `text`, at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}

/// The first `max` characters of `text`.
pub fn head(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recorded_shell_quoted_without_the_prompt() {
        let invocation = Invocation {
            argv: [
                "codex",
                "exec",
                "-c",
                "sandbox_mode=\"danger-full-access\"",
                "it's the prompt",
            ]
            .map(String::from)
            .to_vec(),
            prompt_index: Some(4),
            env: Vec::new(),
        };
        assert_eq!(
            display_command(&invocation),
            r#"codex exec -c 'sandbox_mode="danger-full-access"' <prompt; see prompt file>"#
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn transcripts_name_the_variables_and_never_show_their_values() {
        let key = "sk-ant-test-0123456789abcdef";
        let secrets = Secrets::from_lookup(&["ANTHROPIC_API_KEY".to_string()], &|_| {
            Some(key.to_string())
        });
        let invocation = Invocation {
            argv: vec![
                "claude".into(),
                "--append".into(),
                key.into(),
                "prompt".into(),
            ],
            prompt_index: Some(3),
            env: Vec::new(),
        };
        let files = crate::session::PhaseFiles::new(std::path::Path::new("/runs/1"), "attempt");
        let mut result = RunnerResult::new("attempt", "failed", &files);
        result.message = format!("Invalid API key {key}");
        let mut transcript = Transcript::for_phase(&invocation, &result, &secrets);
        transcript.line("claude_result", &format!("echoed {key}"));
        let text = transcript.render(&secrets);
        assert!(!text.contains(key), "{text}");
        assert!(text.contains("env_passed: ANTHROPIC_API_KEY"), "{text}");
        assert!(
            text.contains("command: claude --append *** <prompt; see prompt file>"),
            "{text}"
        );
        assert!(text.contains("message: Invalid API key ***"), "{text}");
    }

    #[test]
    fn status_follows_timeout_then_exit_code() {
        let mut run = AgentRun {
            exit_code: Some(0),
            timed_out: false,
            duration: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
            missing_binary: false,
        };
        assert_eq!(run.status(), "completed");
        run.exit_code = Some(2);
        assert_eq!(run.status(), "failed");
        run.timed_out = true;
        assert_eq!(run.status(), "timeout");
    }

    #[test]
    fn head_and_tail_respect_characters() {
        assert_eq!(tail("héllo", 3), "llo");
        assert_eq!(tail("é", 1), "");
        assert_eq!(head("héllo", 2), "hé");
        assert!(is_exec_failure(
            "timeout: failed to run command 'codex': No such file or directory"
        ));
    }
}
