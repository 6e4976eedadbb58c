//! The script a scripted model server plays: a list of turns, each one model response, and how
//! each turn becomes the steps of one API (Anthropic Messages for Claude Code, OpenAI Responses
//! for Codex).
//!
//! ```json
//! {"turns": [
//!   {"shell": "python3 verifier.py"},
//!   {"write": {"path": "notes.md", "content": "..."}},
//!   {"edit": {"path": "kernel_ops.py", "old": "a + b", "new": "a * b"}},
//!   {"mcp": {"server": "kernel-probe", "tool": "norm", "arguments": {"values": [3, 4]}}},
//!   {"tool": {"name": "update_goal", "arguments": {"status": "complete"}}},
//!   {"stall": 30},
//!   {"error": {"status": 400, "message": "scripted failure"}},
//!   {"say": "Done."}
//! ]}
//! ```
//!
//! A tool-calling turn makes the CLI run the tool and send the next request; `say` ends the
//! CLI's turn. Paths are relative to the server's working directory unless absolute.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// What a script can be wrong about.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("failed to read the script {path}")]
    Read {
        /// The script.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid script.
    #[error("the script {path} is not valid")]
    Parse {
        /// The script.
        path: std::path::PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// A whole script.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The model's responses, in order.
    pub turns: Vec<Turn>,
}

/// One scripted model response.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Turn {
    /// Run this shell command with the agent's shell tool.
    Shell(String),
    /// Write this file (created or replaced).
    Write {
        /// The file.
        path: String,
        /// Its whole content.
        content: String,
    },
    /// Replace the exact text `old` by `new` in this file.
    Edit {
        /// The file.
        path: String,
        /// Text that must occur in the file.
        old: String,
        /// Its replacement.
        new: String,
    },
    /// Call one tool of an MCP server the agent has configured.
    Mcp {
        /// The server's name.
        server: String,
        /// The tool's name.
        tool: String,
        /// The tool's arguments (an object).
        #[serde(default)]
        arguments: Option<Value>,
    },
    /// Call any other tool the CLI offers, by name (e.g. Codex's `update_goal`).
    Tool {
        /// The tool's name.
        name: String,
        /// Its arguments (an object).
        #[serde(default)]
        arguments: Option<Value>,
    },
    /// Say this and stop (the CLI's turn ends).
    Say(String),
    /// Hold the request this many seconds before answering.
    Stall(f64),
    /// Answer with an API error of this HTTP status (`times` requests in a row, default 1: a
    /// CLI may retry a failed request).
    Error {
        /// HTTP status.
        status: u16,
        /// Error message.
        #[serde(default)]
        message: Option<String>,
        /// How many requests in a row get it.
        #[serde(default)]
        times: Option<u32>,
    },
}

/// Which API a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Anthropic Messages (`POST /v1/messages`), as Claude Code calls it.
    Anthropic,
    /// OpenAI Responses (`POST /v1/responses`), as Codex calls it.
    OpenAi,
}

impl Api {
    /// The key in the state file and the log.
    pub fn name(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }
}

/// One model response, as the server sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Call a tool: `name` with `input` (an object).
    Tool {
        /// The tool's name as the CLI offers it.
        name: String,
        /// The tool namespace it sits in (Codex groups an MCP server's tools in one).
        namespace: Option<String>,
        /// Its arguments.
        input: Value,
    },
    /// Say something and stop.
    Text(String),
    /// Wait, then say that the wait is over.
    Stall(Duration),
    /// Fail the request.
    Error {
        /// HTTP status.
        status: u16,
        /// Message.
        message: String,
    },
}

impl Script {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ScriptError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The steps of `api`, turn by turn flattened; relative paths resolved against `cwd`.
    pub fn steps(&self, api: Api, cwd: &Path) -> Vec<Step> {
        self.turns
            .iter()
            .flat_map(|turn| turn_steps(turn, api, cwd))
            .collect()
    }
}

fn absolute(path: &str, cwd: &Path) -> String {
    cwd.join(path).display().to_string()
}

fn turn_steps(turn: &Turn, api: Api, cwd: &Path) -> Vec<Step> {
    let tool = |name: &str, input: Value| Step::Tool {
        name: name.to_string(),
        namespace: None,
        input,
    };
    match (turn, api) {
        (Turn::Say(text), _) => vec![Step::Text(text.clone())],
        (Turn::Tool { name, arguments }, _) => {
            vec![tool(name, arguments.clone().unwrap_or_else(|| json!({})))]
        }
        (Turn::Stall(seconds), _) => {
            vec![Step::Stall(Duration::from_secs_f64(seconds.max(0.0)))]
        }
        (
            Turn::Error {
                status,
                message,
                times,
            },
            _,
        ) => {
            let step = Step::Error {
                status: *status,
                message: message
                    .clone()
                    .unwrap_or_else(|| format!("scripted API error {status}")),
            };
            vec![step; times.unwrap_or(1).max(1) as usize]
        }
        (
            Turn::Mcp {
                server,
                tool: name,
                arguments,
            },
            Api::Anthropic,
        ) => vec![tool(
            &format!("mcp__{server}__{name}"),
            arguments.clone().unwrap_or_else(|| json!({})),
        )],
        // Codex offers each MCP server as a namespace `mcp__<server>` (name sanitised) holding
        // the server's tools under their own names.
        (
            Turn::Mcp {
                server,
                tool: name,
                arguments,
            },
            Api::OpenAi,
        ) => vec![Step::Tool {
            name: name.clone(),
            namespace: Some(format!("mcp__{}", sanitize(server))),
            input: arguments.clone().unwrap_or_else(|| json!({})),
        }],
        (Turn::Shell(command), Api::Anthropic) => vec![tool(
            "Bash",
            json!({"command": command, "description": "Run a scripted command"}),
        )],
        (Turn::Write { path, content }, Api::Anthropic) => vec![tool(
            "Write",
            json!({"file_path": absolute(path, cwd), "content": content}),
        )],
        // Claude Code edits only files it has read in the session.
        (Turn::Edit { path, old, new }, Api::Anthropic) => vec![
            tool("Read", json!({"file_path": absolute(path, cwd)})),
            tool(
                "Edit",
                json!({"file_path": absolute(path, cwd), "old_string": old, "new_string": new}),
            ),
        ],
        (Turn::Shell(command), Api::OpenAi) => vec![tool("exec_command", json!({"cmd": command}))],
        (Turn::Write { path, content }, Api::OpenAi) => vec![tool(
            "exec_command",
            json!({"cmd": write_command(&absolute(path, cwd), content)}),
        )],
        (Turn::Edit { path, old, new }, Api::OpenAi) => vec![tool(
            "exec_command",
            json!({"cmd": edit_command(&absolute(path, cwd), old, new)}),
        )],
    }
}

/// `name` with every character but ASCII letters, digits and `_` replaced by `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A shell command that writes `content` to `path` exactly (any bytes, through Python).
fn write_command(path: &str, content: &str) -> String {
    let program = "import os, sys\npath, content = sys.argv[1], sys.argv[2]\n\
         os.makedirs(os.path.dirname(path) or '.', exist_ok=True)\n\
         open(path, 'w').write(content)\n";
    format!(
        "python3 -c {} {} {}",
        quote(program),
        quote(path),
        quote(content)
    )
}

/// A shell command that replaces `old` by `new` once in `path`, failing when `old` is absent.
fn edit_command(path: &str, old: &str, new: &str) -> String {
    let program = "import sys\npath, old, new = sys.argv[1:4]\ntext = open(path).read()\n\
         if old not in text:\n    sys.exit('edit: text not found in ' + path)\n\
         open(path, 'w').write(text.replace(old, new, 1))\n";
    format!(
        "python3 -c {} {} {} {}",
        quote(program),
        quote(path),
        quote(old),
        quote(new)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Script {
        serde_json::from_str(text).expect("valid script")
    }

    #[test]
    fn every_turn_kind_parses() {
        let script = parse(
            r#"{"turns": [{"shell": "ls"}, {"write": {"path": "a", "content": "b"}},
                {"edit": {"path": "a", "old": "b", "new": "c"}},
                {"mcp": {"server": "s", "tool": "t", "arguments": {"x": 1}}},
                {"tool": {"name": "update_goal", "arguments": {"status": "complete"}}},
                {"say": "done"}, {"stall": 1.5}, {"error": {"status": 400}}]}"#,
        );
        assert_eq!(script.turns.len(), 8);
        assert_eq!(script.turns[6], Turn::Stall(1.5));
    }

    #[test]
    fn an_error_can_repeat_for_retries() {
        let script = parse(r#"{"turns": [{"error": {"status": 400, "times": 3}}, {"say": "x"}]}"#);
        let steps = script.steps(Api::Anthropic, Path::new("/"));
        assert_eq!(steps.len(), 4);
        assert!(matches!(&steps[2], Step::Error { status: 400, .. }));
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused() {
        assert!(serde_json::from_str::<Script>(r#"{"turns": [{"dance": 1}]}"#).is_err());
        assert!(
            serde_json::from_str::<Script>(r#"{"turns": [{"say": "x"}], "extra": 1}"#).is_err()
        );
    }

    #[test]
    fn claude_edits_read_first_and_codex_edits_through_its_shell() {
        let script = parse(r#"{"turns": [{"edit": {"path": "k.py", "old": "+", "new": "*"}}]}"#);
        let cwd = Path::new("/workspace");
        let claude = script.steps(Api::Anthropic, cwd);
        assert_eq!(claude.len(), 2);
        assert!(
            matches!(&claude[0], Step::Tool { name, input, .. } if name == "Read" && input["file_path"] == "/workspace/k.py")
        );
        assert!(
            matches!(&claude[1], Step::Tool { name, input, .. } if name == "Edit" && input["new_string"] == "*")
        );
        let codex = script.steps(Api::OpenAi, cwd);
        assert!(
            matches!(&codex[..], [Step::Tool { name, input, .. }] if name == "exec_command" && input["cmd"].as_str().is_some_and(|c| c.contains("'/workspace/k.py'")))
        );
    }

    #[test]
    fn mcp_tools_are_named_as_each_cli_offers_them() {
        let script = parse(r#"{"turns": [{"mcp": {"server": "kernel-probe", "tool": "norm"}}]}"#);
        let claude = script.steps(Api::Anthropic, Path::new("/w"));
        assert!(
            matches!(&claude[..], [Step::Tool { name, namespace: None, input }] if name == "mcp__kernel-probe__norm" && input == &json!({}))
        );
        let codex = script.steps(Api::OpenAi, Path::new("/w"));
        assert!(
            matches!(&codex[..], [Step::Tool { name, namespace: Some(ns), .. }] if name == "norm" && ns == "mcp__kernel_probe")
        );
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
