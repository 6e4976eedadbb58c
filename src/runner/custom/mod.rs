//! `--runner custom --runner-config agent.toml`: any agent CLI, described by a small TOML file
//! (`config.rs`), driven like the built-in ones: in the session container, with the phase's
//! timeout, credentials passed by name, output kept and masked, the session id taken from its
//! output and passed to `resume` for reflection, build and repairs.

mod config;

use std::path::Path;

use serde_json::Value;

pub use config::{CustomAgent, CustomConfigError, OutputFormat, PLACEHOLDERS, SessionIdSource};

use super::RunnerResult;
use super::agent::{self, AgentRun, Invocation, Transcript};
use super::secrets::Secrets;
use crate::sandbox::WORKSPACE;
use crate::session::{PhaseContext, SessionError, workspace_path, write_host_file};

/// The custom runner.
#[derive(Debug, Clone)]
pub struct CustomRunner {
    /// `None` only when no `--runner-config` was given (the configuration refuses that; every
    /// phase then fails saying so).
    agent: Option<CustomAgent>,
    image: String,
    secrets: Secrets,
}

/// What the placeholders stand for in one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values<'a> {
    /// `{prompt}`.
    pub prompt: &'a str,
    /// `{prompt_file}`.
    pub prompt_file: &'a str,
    /// `{session_id}`.
    pub session_id: &'a str,
}

/// `template` with every placeholder replaced; the index of an argument that is exactly
/// `{prompt}` is remembered so the recorded command line hides the prompt.
pub fn expand(template: &[String], values: &Values<'_>) -> Invocation {
    let mut prompt_index = None;
    let argv = template
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            if arg == "{prompt}" {
                prompt_index = Some(i);
            }
            arg.replace("{prompt_file}", values.prompt_file)
                .replace("{session_id}", values.session_id)
                .replace("{workspace}", WORKSPACE)
                .replace("{prompt}", values.prompt)
        })
        .collect();
    Invocation {
        argv,
        prompt_index,
        env: Vec::new(),
    }
}

fn objects(stdout: &str, format: OutputFormat) -> Vec<Value> {
    match format {
        OutputFormat::Text => Vec::new(),
        OutputFormat::Json => serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .filter(Value::is_object)
            .into_iter()
            .collect(),
        OutputFormat::Jsonl => stdout
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .filter(Value::is_object)
            .collect(),
    }
}

fn pointed(objects: &[Value], pointer: &str) -> Option<String> {
    objects.iter().find_map(|o| match o.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// The session id in an agent's output, as its description says to find it.
pub fn find_session(agent: &CustomAgent, stdout: &str, stderr: &str) -> Option<String> {
    match agent.session_id.as_ref()? {
        SessionIdSource::Regex(regex) => [stdout, stderr].iter().find_map(|text| {
            regex
                .captures(text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        }),
        SessionIdSource::Pointer(pointer) => pointed(&objects(stdout, agent.output), pointer),
    }
}

/// The message an agent's output carries (`message_pointer`), if any.
pub fn find_message(agent: &CustomAgent, stdout: &str) -> Option<String> {
    let pointer = agent.message_pointer.as_deref()?;
    pointed(&objects(stdout, agent.output), pointer)
}

impl CustomRunner {
    /// A runner for `agent` in `image`.
    pub fn new(agent: Option<CustomAgent>, image: String, secrets: Secrets) -> Self {
        CustomRunner {
            agent,
            image,
            secrets,
        }
    }

    fn missing(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
    ) -> Result<RunnerResult, SessionError> {
        let invocation = Invocation {
            argv: Vec::new(),
            prompt_index: None,
            env: Vec::new(),
        };
        let message = "the custom runner needs --runner-config FILE".to_string();
        agent::refuse(ctx, phase, prompt, message, &invocation, &self.secrets)
    }

    /// One phase; `resume` is the session to continue (`None`: a new one).
    pub(super) async fn phase(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
        resume: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let Some(custom) = &self.agent else {
            return self.missing(ctx, phase, prompt);
        };
        let prompt_rel = prompt_rel(ctx);
        let prompt_file = workspace_path(&prompt_rel);
        let (template, session) = match (&custom.resume, resume) {
            (Some(template), Some(id)) => (template, id),
            _ => (&custom.command, ""),
        };
        let values = Values {
            prompt,
            prompt_file: &prompt_file,
            session_id: session,
        };
        let invocation = expand(template, &values);
        write_host_file(&ctx.files.prompt, prompt)?;
        ctx.session
            .write(&prompt_rel, prompt.as_bytes().to_vec(), 0o644)
            .await?;
        let run = agent::run(ctx, &invocation, &self.secrets).await?;
        let result = self.result(custom, ctx, phase, &run, resume);
        Transcript::for_phase(&invocation, &result, &self.secrets).write(ctx, &self.secrets)?;
        Ok(result)
    }

    fn result(
        &self,
        custom: &CustomAgent,
        ctx: &PhaseContext<'_>,
        phase: &str,
        run: &AgentRun,
        resume: Option<&str>,
    ) -> RunnerResult {
        let session = find_session(custom, &run.stdout, &run.stderr)
            .or_else(|| custom.resume.as_ref().and(resume).map(str::to_string));
        let mut result = agent::result_of(ctx, phase, run, session);
        let message = find_message(custom, &run.stdout);
        result.message = if run.missing_binary {
            format!(
                "{} executable not found in image {}: {}",
                custom.name,
                self.image,
                custom
                    .command
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            )
        } else if run.timed_out {
            format!(
                "Timed out after {} seconds; terminated {}.",
                ctx.timeout.as_secs(),
                custom.name
            )
        } else if let Some(message) = message {
            agent::head(&message, 1000)
        } else if result.status == "failed" {
            agent::head(agent::tail(run.stderr.trim_end(), 1000), 1000)
        } else {
            String::new()
        };
        result
    }

    /// Reflection and build: resume when the agent can, else a new session.
    pub(super) async fn resume(
        &self,
        ctx: &PhaseContext<'_>,
        phase: &str,
        prompt: &str,
        session: Option<&str>,
    ) -> Result<RunnerResult, SessionError> {
        let resume_template = self.agent.as_ref().and_then(|a| a.resume.as_deref());
        match (resume_template, session) {
            (Some(template), None) => {
                let values = Values {
                    prompt,
                    prompt_file: "",
                    session_id: "<session id>",
                };
                let name = self
                    .agent
                    .as_ref()
                    .map(|a| a.name.as_str())
                    .unwrap_or("custom");
                agent::refuse(
                    ctx,
                    phase,
                    prompt,
                    format!("Cannot run {phase}: no {name} session id is available to resume."),
                    &expand(template, &values),
                    &self.secrets,
                )
            }
            _ => self.phase(ctx, phase, prompt, session).await,
        }
    }
}

/// Where the prompt file goes in the container: next to the iteration's result.json.
pub(in crate::runner) fn prompt_rel(ctx: &PhaseContext<'_>) -> String {
    let name = ctx
        .files
        .prompt
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "prompt.txt".into());
    match Path::new(&ctx.result_rel).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => format!("{}/{name}", dir.display()),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(text: &str) -> CustomAgent {
        CustomAgent::parse(text, Path::new("agent.toml")).expect("valid")
    }

    #[test]
    fn placeholders_expand_and_the_prompt_is_hidden() {
        let template: Vec<String> = [
            "my-agent",
            "--resume={session_id}",
            "{prompt}",
            "--cwd",
            "{workspace}",
            "{prompt_file}",
        ]
        .map(String::from)
        .to_vec();
        let values = Values {
            prompt: "fix {it}",
            prompt_file: "/workspace/p.txt",
            session_id: "s-1",
        };
        let call = expand(&template, &values);
        assert_eq!(
            call.argv,
            [
                "my-agent",
                "--resume=s-1",
                "fix {it}",
                "--cwd",
                "/workspace",
                "/workspace/p.txt"
            ]
        );
        assert_eq!(call.prompt_index, Some(2));
    }

    #[test]
    fn session_ids_come_from_a_regex_or_a_pointer() {
        let by_regex = agent(
            r#"command = ["a"]
session_id_regex = 'session: (\S+)'"#,
        );
        assert_eq!(
            find_session(&by_regex, "hello\n", "session: abc-1\n").as_deref(),
            Some("abc-1")
        );
        let jsonl = agent(
            r#"command = ["a"]
output = "jsonl"
session_id_pointer = "/session/id"
message_pointer = "/result""#,
        );
        let stdout = "{\"session\":{\"id\":\"first\"}}\nnot json\n{\"session\":{\"id\":\"last\"},\"result\":\"done\"}\n{\"other\":1}\n";
        assert_eq!(find_session(&jsonl, stdout, "").as_deref(), Some("last"));
        assert_eq!(find_message(&jsonl, stdout).as_deref(), Some("done"));
        let json = agent(
            r#"command = ["a"]
output = "json"
session_id_pointer = "/id""#,
        );
        assert_eq!(
            find_session(&json, "{\"id\": 42}", "").as_deref(),
            Some("42")
        );
        assert_eq!(find_session(&json, "[1]", ""), None);
    }
}
