//! The custom agent's description: a small TOML file (`--runner-config agent.toml`), validated
//! before a run starts so a typo is a usage error, not a failed phase.
//!
//! ```toml
//! name = "shell-agent"                     # shown in transcripts (default: "custom")
//! command = ["sh", "/workspace/agent.sh", "--prompt-file", "{prompt_file}"]
//! resume = ["sh", "/workspace/agent.sh", "--resume", "{session_id}", "--prompt-file", "{prompt_file}"]
//! output = "jsonl"                         # text (default) | json | jsonl
//! session_id_pointer = "/session_id"       # json/jsonl: JSON pointer into the output object
//! # session_id_regex = 'session: (\S+)'    # or: first capture group, in stdout then stderr
//! message_pointer = "/result"              # json/jsonl: the phase's message
//! env = ["MY_AGENT_API_KEY"]               # passed by name when set (values never recorded)
//! network = true                           # needs a network (default: false, i.e. `none`)
//! image = "my/agent:1.2"                   # default session image (else harnessgym/base)
//! ```
//!
//! Placeholders, in any argument: `{prompt}` (the prompt text), `{prompt_file}` (a file in the
//! container holding it), `{session_id}` (only in `resume`) and `{workspace}` (`/workspace`).
//! Without `resume`, reflection and build start new sessions.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

/// Placeholders an argument may use.
pub const PLACEHOLDERS: [&str; 4] = ["prompt", "prompt_file", "session_id", "workspace"];

/// How the agent prints its results.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Free text.
    #[default]
    Text,
    /// One JSON object (the whole standard output).
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: Option<String>,
    command: Vec<String>,
    resume: Option<Vec<String>>,
    #[serde(default)]
    output: OutputFormat,
    session_id_regex: Option<String>,
    session_id_pointer: Option<String>,
    message_pointer: Option<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    network: bool,
    image: Option<String>,
}

/// Where the session id is.
#[derive(Debug, Clone)]
pub enum SessionIdSource {
    /// The first capture group of this pattern, in standard output then standard error.
    Regex(Regex),
    /// A JSON pointer into the output object (json), or into the last line that has it (jsonl).
    Pointer(String),
}

impl PartialEq for SessionIdSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SessionIdSource::Regex(a), SessionIdSource::Regex(b)) => a.as_str() == b.as_str(),
            (SessionIdSource::Pointer(a), SessionIdSource::Pointer(b)) => a == b,
            _ => false,
        }
    }
}

/// A validated custom agent.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAgent {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its name in transcripts.
    pub name: String,
    /// A new session.
    pub command: Vec<String>,
    /// A resumed session (`{session_id}` in it), if the agent can resume.
    pub resume: Option<Vec<String>>,
    /// Its output format.
    pub output: OutputFormat,
    /// Where its session id is.
    pub session_id: Option<SessionIdSource>,
    /// Where its message is (json, jsonl).
    pub message_pointer: Option<String>,
    /// Variables passed by name.
    pub env: Vec<String>,
    /// Whether it needs a network.
    pub network: bool,
    /// Its default image.
    pub image: Option<String>,
}

/// Why a custom agent file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum CustomConfigError {
    /// It could not be read.
    #[error("failed to read the agent description {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// It is not TOML of the expected shape.
    #[error("the agent description {path} is not valid")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error (line and column included).
        #[source]
        source: toml::de::Error,
    },
    /// A field is unusable.
    #[error("the agent description {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl CustomAgent {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Self, CustomConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| CustomConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate `text` (read from `path`).
    pub fn parse(text: &str, path: &Path) -> Result<Self, CustomConfigError> {
        let raw: RawAgent = toml::from_str(text).map_err(|source| CustomConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        validate(raw, path).map_err(|reason| CustomConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }
}

/// The placeholders `arg` uses, or the first unknown one as an error.
pub fn placeholders(arg: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let name = &after[..close];
        let identifier = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if identifier {
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder `{{{name}}}` in `{arg}` (known: {})",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                ));
            }
            found.push(name);
        }
        rest = &after[close + 1..];
    }
    Ok(found)
}

fn uses(argv: &[String], placeholder: &str) -> Result<bool, String> {
    let mut used = false;
    for arg in argv {
        used |= placeholders(arg)?.contains(&placeholder);
    }
    Ok(used)
}

fn check_argv(argv: &[String], what: &str) -> Result<(), String> {
    match argv.first() {
        None => Err(format!("`{what}` must name a program")),
        Some(program) if program.trim().is_empty() => Err(format!("`{what}` must name a program")),
        Some(_) => Ok(()),
    }
}

fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn session_source(raw: &RawAgent) -> Result<Option<SessionIdSource>, String> {
    match (&raw.session_id_regex, &raw.session_id_pointer) {
        (Some(_), Some(_)) => {
            Err("give `session_id_regex` or `session_id_pointer`, not both".into())
        }
        (Some(pattern), None) => {
            let regex = Regex::new(pattern)
                .map_err(|e| format!("`session_id_regex` does not compile: {e}"))?;
            if regex.captures_len() < 2 {
                return Err("`session_id_regex` needs a capture group around the id".into());
            }
            Ok(Some(SessionIdSource::Regex(regex)))
        }
        (None, Some(pointer)) => {
            if raw.output == OutputFormat::Text {
                return Err("`session_id_pointer` needs `output = \"json\"` or `\"jsonl\"`".into());
            }
            if !pointer.starts_with('/') {
                return Err(format!(
                    "`session_id_pointer` `{pointer}` must start with `/`"
                ));
            }
            Ok(Some(SessionIdSource::Pointer(pointer.clone())))
        }
        (None, None) => Ok(None),
    }
}

fn validate(raw: RawAgent, path: &Path) -> Result<CustomAgent, String> {
    check_argv(&raw.command, "command")?;
    if uses(&raw.command, "session_id")? {
        return Err(
            "`command` starts a new session: it cannot use `{session_id}` (use `resume`)".into(),
        );
    }
    if let Some(resume) = &raw.resume {
        check_argv(resume, "resume")?;
        if !uses(resume, "session_id")? {
            return Err("`resume` must pass the session to resume with `{session_id}`".into());
        }
    }
    let session_id = session_source(&raw)?;
    if raw.resume.is_some() && session_id.is_none() {
        return Err(
            "`resume` needs `session_id_regex` or `session_id_pointer` to find the session".into(),
        );
    }
    if let Some(pointer) = &raw.message_pointer
        && (raw.output == OutputFormat::Text || !pointer.starts_with('/'))
    {
        return Err("`message_pointer` must start with `/` and needs json or jsonl output".into());
    }
    if let Some(bad) = raw.env.iter().find(|n| !env_name_ok(n)) {
        return Err(format!("`env` entry `{bad}` is not a variable name"));
    }
    if raw.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        return Err("`image` must not be empty".into());
    }
    Ok(CustomAgent {
        path: path.to_path_buf(),
        name: raw.name.unwrap_or_else(|| "custom".into()),
        command: raw.command,
        resume: raw.resume,
        output: raw.output,
        session_id,
        message_pointer: raw.message_pointer,
        env: raw.env,
        network: raw.network,
        image: raw.image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "shell-agent"
command = ["sh", "{workspace}/agent.sh", "{prompt_file}"]
resume = ["sh", "{workspace}/agent.sh", "--resume", "{session_id}", "{prompt_file}"]
output = "jsonl"
session_id_pointer = "/session_id"
message_pointer = "/result"
env = ["MY_AGENT_KEY"]
network = true
"#;

    fn parse(text: &str) -> Result<CustomAgent, CustomConfigError> {
        CustomAgent::parse(text, Path::new("agent.toml"))
    }

    #[test]
    fn a_complete_description_loads() {
        let agent = parse(GOOD).expect("valid");
        assert_eq!(agent.name, "shell-agent");
        assert_eq!(agent.output, OutputFormat::Jsonl);
        assert_eq!(
            agent.session_id,
            Some(SessionIdSource::Pointer("/session_id".into()))
        );
        assert!(agent.network);
        let minimal = parse(r#"command = ["my-agent", "{prompt}"]"#).expect("valid");
        assert_eq!(minimal.output, OutputFormat::Text);
        assert!(!minimal.network);
        assert!(minimal.resume.is_none());
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("command = []", "must name a program"),
            (
                r#"command = ["a", "{promt}"]"#,
                "unknown placeholder `{promt}`",
            ),
            (
                r#"command = ["a", "{session_id}"]"#,
                "cannot use `{session_id}`",
            ),
            (
                r#"command = ["a"]
resume = ["a"]
session_id_regex = "s (x)""#,
                "must pass the session",
            ),
            (
                r#"command = ["a"]
resume = ["a", "{session_id}"]"#,
                "needs `session_id_regex` or `session_id_pointer`",
            ),
            (
                r#"command = ["a"]
session_id_regex = '('"#,
                "does not compile",
            ),
            (
                r#"command = ["a"]
session_id_regex = "session: \\S+""#,
                "capture group",
            ),
            (
                r#"command = ["a"]
session_id_pointer = "/id""#,
                "needs `output",
            ),
            (
                r#"command = ["a"]
output = "xml""#,
                "not valid",
            ),
            (
                r#"command = ["a"]
env = ["BAD-NAME"]"#,
                "not a variable name",
            ),
            (
                r#"command = ["a"]
colour = "red""#,
                "not valid",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            let shown = format!(
                "{err} {}",
                std::error::Error::source(&err)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(shown.contains(expected), "{text}: {shown}");
        }
    }

    #[test]
    fn literal_braces_are_not_placeholders() {
        assert_eq!(placeholders(r#"{"a": 1}"#).expect("ok"), Vec::<&str>::new());
        assert_eq!(
            placeholders("--file={prompt_file}").expect("ok"),
            ["prompt_file"]
        );
    }
}
