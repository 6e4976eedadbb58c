//! `--runner claude`: Claude Code's print mode in the session container (reference §7.3).
//!
//! ```text
//! <claude> -p --output-format json [--permission-mode M] [--model X] [--max-budget-usd B]
//!     <--claude-extra-arg...> [--strict-mcp-config --mcp-config <config> --allowedTools=mcp__a,...]
//!     [--resume <session id>] <prompt>
//! ```
//!
//! The MCP configuration is the one activation wrote (`.harnessgym/claude_mcp_config.json`,
//! servers behind `harnessgym mcp-bridge`); `--strict-mcp-config` keeps the user's and the
//! project's servers out. The result is the `type: result` object of stdout, found first, before
//! any other line with a `session_id` (fix ea8c8b3). `timeout`, a non-zero exit, `is_error` and
//! any `error*` subtype (fix of §14.13: `error_max_turns`, `error_during_execution`, ...) are not
//! `completed`.

use serde_json::{Map, Value};

use super::RunnerResult;
use super::agent::{self, Invocation, Transcript};
use super::mcp;
use super::secrets::Secrets;
use super::session_id;
use super::settings::AgentSettings;
use crate::activation::wiring::CLAUDE_CONFIG_PATH;
use crate::session::{PhaseContext, SessionError, workspace_path, write_host_file};

/// Result fields copied into the transcript as `claude_<key>: value`.
const TRANSCRIPT_KEYS: [&str; 7] = [
    "type",
    "subtype",
    "is_error",
    "api_error_status",
    "stop_reason",
    "terminal_reason",
    "total_cost_usd",
];

/// The Claude Code runner.
#[derive(Debug, Clone)]
pub struct ClaudeRunner {
    settings: AgentSettings,
    secrets: Secrets,
}

/// A number as C's `%g` prints it (6 significant digits, no trailing zeros).
pub fn format_g(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let exponent = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&exponent) {
        let text = format!("{value:.5e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = trim_zeros(mantissa);
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let decimals = usize::try_from(5 - exponent).unwrap_or(0);
    trim_zeros(&format!("{value:.decimals$}"))
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text.to_string()
    }
}

/// The MCP part of the command line: `--strict-mcp-config --mcp-config <file> --allowedTools=...`.
pub fn mcp_flags(servers: &[mcp::UsableServer]) -> Vec<String> {
    if servers.is_empty() {
        return Vec::new();
    }
    vec![
        "--strict-mcp-config".into(),
        "--mcp-config".into(),
        workspace_path(CLAUDE_CONFIG_PATH),
        mcp::claude_allowed_tools(servers),
    ]
}

/// The argv of one `claude -p` call.
pub fn argv(
    settings: &AgentSettings,
    mcp: &[String],
    resume: Option<&str>,
    prompt: &str,
) -> Invocation {
    let mut argv: Vec<String> = [&settings.claude_bin, "-p", "--output-format", "json"]
        .map(String::from)
        .to_vec();
    if !settings.claude_permission_mode.is_empty() {
        argv.extend([
            "--permission-mode".into(),
            settings.claude_permission_mode.clone(),
        ]);
    }
    if let Some(model) = &settings.claude_model {
        argv.extend(["--model".into(), model.clone()]);
    }
    if let Some(budget) = settings.claude_max_budget_usd {
        argv.extend(["--max-budget-usd".into(), format_g(budget)]);
    }
    argv.extend(settings.claude_extra_args.iter().cloned());
    argv.extend(mcp.iter().cloned());
    if let Some(id) = resume {
        argv.extend(["--resume".into(), id.to_string()]);
    }
    argv.push(prompt.to_string());
    Invocation {
        prompt_index: Some(argv.len() - 1),
        argv,
        env: Vec::new(),
    }
}

fn object(line: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(line.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The result object in Claude Code's stdout: the whole output as one object; else the last
/// line whose object has `type: result`; else the last line with a `session_id` (ea8c8b3).
pub fn parse_result(stdout: &str) -> Option<Map<String, Value>> {
    if let Some(map) = object(stdout) {
        return Some(map);
    }
    let lines: Vec<Map<String, Value>> = stdout.lines().rev().filter_map(object).collect();
    let typed = lines
        .iter()
        .find(|m| m.get("type").and_then(Value::as_str) == Some("result"));
    typed
        .or_else(|| lines.iter().find(|m| m.contains_key("session_id")))
        .cloned()
}

/// The phase's status from the process and the result object.
pub fn status(run_status: &'static str, result: Option<&Map<String, Value>>) -> &'static str {
    if run_status != "completed" {
        return run_status;
    }
    let Some(result) = result else {
        return "completed";
    };
    let is_error = result.get("is_error") == Some(&Value::Bool(true));
    let subtype = result.get("subtype").and_then(Value::as_str).unwrap_or("");
    if is_error || subtype.starts_with("error") || subtype == "failed" {
        "failed"
    } else {
        "completed"
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl ClaudeRunner {
    /// A runner with `settings` and the credentials to pass.
    pub fn new(settings: AgentSettings, secrets: Secrets) -> Self {
        ClaudeRunner { settings, secrets }
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
        let invocation = argv(&self.settings, &mcp_flags(&servers), resume, prompt);
        write_host_file(&ctx.files.prompt, prompt)?;
        let run = agent::run(ctx, &invocation, &self.secrets).await?;
        let parsed = parse_result(&run.stdout);
        let session = parsed
            .as_ref()
            .and_then(|r| r.get("session_id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| session_id::find(&format!("{}\n{}", run.stdout, run.stderr)))
            .or_else(|| resume.map(str::to_string));
        let mut result = agent::result_of(ctx, phase, &run, session);
        result.status = status(run.status(), parsed.as_ref()).to_string();
        let text = parsed
            .as_ref()
            .and_then(|r| r.get("result"))
            .map(value_text)
            .unwrap_or_default();
        result.message = if run.missing_binary {
            format!(
                "Claude Code executable not found in image {}: {}",
                self.settings.image, self.settings.claude_bin
            )
        } else if run.timed_out {
            format!(
                "Timed out after {} seconds; terminated Claude Code process.",
                ctx.timeout.as_secs()
            )
        } else if !text.is_empty() {
            agent::head(&text, 1000)
        } else if result.status == "failed" {
            agent::head(agent::tail(run.stderr.trim_end(), 1000), 1000)
        } else {
            String::new()
        };
        let mut transcript = Transcript::for_phase(&invocation, &result, &self.secrets);
        if let Some(parsed) = &parsed {
            for key in TRANSCRIPT_KEYS {
                if let Some(value) = parsed.get(key).filter(|v| !v.is_null()) {
                    transcript.line(&format!("claude_{key}"), &value_text(value));
                }
            }
            transcript.line("claude_result", &agent::head(&text, 8000));
        }
        transcript.write(ctx, &self.secrets)?;
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
                format!("Cannot run {phase}: no Claude Code session id is available to resume."),
                &argv(&self.settings, &[], Some("<session id>"), prompt),
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
    fn the_command_line_follows_the_reference_order() {
        let settings = AgentSettings {
            claude_model: Some("claude-x".into()),
            claude_max_budget_usd: Some(1.5),
            claude_extra_args: vec!["--verbose".into()],
            ..AgentSettings::default()
        };
        let server = mcp::UsableServer {
            name: "tensor-plan".into(),
            command: "python3".into(),
            args: Vec::new(),
            cwd: "/workspace".into(),
            startup_timeout_sec: 10,
            tool_timeout_sec: 60,
            enabled_tools: Vec::new(),
        };
        let call = argv(&settings, &mcp_flags(&[server]), Some("sid"), "the prompt");
        assert_eq!(
            call.argv,
            [
                "claude",
                "-p",
                "--output-format",
                "json",
                "--permission-mode",
                "bypassPermissions",
                "--model",
                "claude-x",
                "--max-budget-usd",
                "1.5",
                "--verbose",
                "--strict-mcp-config",
                "--mcp-config",
                "/workspace/.harnessgym/claude_mcp_config.json",
                "--allowedTools=mcp__tensor-plan",
                "--resume",
                "sid",
                "the prompt"
            ]
        );
        let bare = AgentSettings {
            claude_permission_mode: String::new(),
            ..AgentSettings::default()
        };
        assert_eq!(
            argv(&bare, &[], None, "p").argv,
            ["claude", "-p", "--output-format", "json", "p"]
        );
    }

    #[test]
    fn budgets_print_like_percent_g() {
        for (value, text) in [
            (1.5, "1.5"),
            (10.0, "10"),
            (0.25, "0.25"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1234567.0, "1.23457e+06"),
            (100000.0, "100000"),
            (2.0 / 3.0, "0.666667"),
        ] {
            assert_eq!(format_g(value), text, "{value}");
        }
    }

    #[test]
    fn the_result_line_wins_over_a_trailing_system_line() {
        let stdout = concat!(
            "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"early\"}\n",
            "{\"type\":\"result\",\"subtype\":\"success\",\"session_id\":\"right\",\"result\":\"done\"}\n",
            "{\"type\":\"system\",\"subtype\":\"hook\",\"session_id\":\"late\"}\n",
        );
        let parsed = parse_result(stdout).expect("found");
        assert_eq!(parsed["session_id"], "right");
        let fallback = parse_result("noise\n{\"session_id\":\"only\"}\n").expect("found");
        assert_eq!(fallback["session_id"], "only");
        assert!(parse_result("not json").is_none());
        let whole = parse_result("{\"type\":\"result\",\"result\":\"x\"}").expect("found");
        assert_eq!(whole["result"], "x");
    }

    #[test]
    fn error_results_and_error_subtypes_fail() {
        let ok = json!({"type": "result", "subtype": "success", "is_error": false});
        let map = |v: Value| v.as_object().cloned().expect("object");
        assert_eq!(status("completed", Some(&map(ok))), "completed");
        for bad in [
            json!({"subtype": "success", "is_error": true}),
            json!({"subtype": "error_max_turns"}),
            json!({"subtype": "error_during_execution"}),
            json!({"subtype": "failed"}),
        ] {
            assert_eq!(
                status("completed", Some(&map(bad.clone()))),
                "failed",
                "{bad}"
            );
        }
        assert_eq!(status("timeout", None), "timeout");
        assert_eq!(status("failed", None), "failed");
        assert_eq!(status("completed", None), "completed");
    }
}
