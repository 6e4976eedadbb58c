//! The prompt templates and the tiny `{placeholder}` substitution that fills them (reference §8).
//!
//! Every agent-facing sentence lives in a file under `templates/`, compiled in with
//! `include_str!`, so the wording can be reviewed and changed without touching code. A
//! placeholder is `{` + one or more of `a-z` and `_` + `}`; any other brace (the JSON examples in
//! the templates) is literal text. Substitution is a single pass over the template, so a value that
//! itself contains `{name}` (task text, agent JSON) is never expanded.
//!
//! Filling is strict both ways: a placeholder without a value and a value without a placeholder
//! are errors. The unit tests render every template through its real caller, so a template edited
//! out of step with the code fails `cargo test` rather than sending a half-filled prompt.

use super::PromptError;

/// One template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Template {
    /// File name under `templates/`, for error messages.
    pub(crate) name: &'static str,
    /// The file's text.
    pub(crate) text: &'static str,
}

macro_rules! template {
    ($name:literal) => {
        Template {
            name: $name,
            text: include_str!(concat!("templates/", $name)),
        }
    };
}

/// The attempt prompt.
pub(crate) const ATTEMPT: Template = template!("attempt.md");
/// The attempt prompt's stop-target line when higher scores are better.
pub(crate) const STOP_TARGET_HIGHER: Template = template!("stop_target_higher.md");
/// The attempt prompt's stop-target line when lower scores are better.
pub(crate) const STOP_TARGET_LOWER: Template = template!("stop_target_lower.md");
/// The task origin of inline task text.
pub(crate) const TASK_INLINE: Template = template!("task_inline.md");
/// The task origin of a task file outside the workspace.
pub(crate) const TASK_EXTERNAL: Template = template!("task_external.md");
/// The reflection prompt.
pub(crate) const REFLECTION: Template = template!("reflection.md");
/// The build prompt.
pub(crate) const BUILD: Template = template!("build.md");
/// The repair prompt.
pub(crate) const REPAIR: Template = template!("repair.md");
/// The embedded qualification report of the repair prompt.
pub(crate) const REPAIR_REPORT: Template = template!("repair_report.md");
/// The failure-reason line used when the loop has no reason to give.
pub(crate) const REPAIR_NO_REASONS: Template = template!("repair_no_reasons.md");
/// Depth guidance for `--harness-depth standard`.
pub(crate) const DEPTH_STANDARD: Template = template!("depth_standard.md");
/// Depth guidance for `--harness-depth deep`.
pub(crate) const DEPTH_DEEP: Template = template!("depth_deep.md");
/// Artifact context: nothing registered.
pub(crate) const CONTEXT_EMPTY: Template = template!("context/empty.md");
/// Artifact context: header over the artifact list.
pub(crate) const CONTEXT_HEADER: Template = template!("context/header.md");
/// Artifact context: how many artifacts are hidden by quarantine.
pub(crate) const CONTEXT_QUARANTINED: Template = template!("context/quarantined.md");
/// Artifact context: header over the activation lines.
pub(crate) const CONTEXT_ACTIVATION: Template = template!("context/activation.md");
/// Artifact context: the activation report is not a JSON object.
pub(crate) const CONTEXT_ACTIVATION_UNREADABLE: Template =
    template!("context/activation_unreadable.md");
/// Artifact context: activation warnings.
pub(crate) const CONTEXT_WARNINGS: Template = template!("context/warnings.md");
/// Artifact context: the harness quality gate.
pub(crate) const CONTEXT_GATE: Template = template!("context/gate.md");
/// Artifact context: one MCP server, active or not.
pub(crate) const CONTEXT_MCP_SERVER: Template = template!("context/mcp_server.md");
/// Artifact context: the `mcp_call.py` helper.
pub(crate) const CONTEXT_HELPER: Template = template!("context/helper.md");
/// Artifact context: one activated skill.
pub(crate) const CONTEXT_SKILL: Template = template!("context/skill.md");
/// Artifact context: one registered artifact.
pub(crate) const CONTEXT_ARTIFACT: Template = template!("context/artifact.md");
/// Artifact context: the description suffix of an artifact line.
pub(crate) const CONTEXT_DESCRIPTION: Template = template!("context/description.md");
/// Artifact context: the label over a file preview.
pub(crate) const CONTEXT_PREVIEW: Template = template!("context/preview.md");
/// Artifact context: the marker after a truncated preview.
pub(crate) const CONTEXT_TRUNCATED: Template = template!("context/truncated.md");

/// Every template, for the tests that check them all.
#[cfg(test)]
pub(crate) const ALL: [Template; 26] = [
    ATTEMPT,
    STOP_TARGET_HIGHER,
    STOP_TARGET_LOWER,
    TASK_INLINE,
    TASK_EXTERNAL,
    REFLECTION,
    BUILD,
    REPAIR,
    REPAIR_REPORT,
    REPAIR_NO_REASONS,
    DEPTH_STANDARD,
    DEPTH_DEEP,
    CONTEXT_EMPTY,
    CONTEXT_HEADER,
    CONTEXT_QUARANTINED,
    CONTEXT_ACTIVATION,
    CONTEXT_ACTIVATION_UNREADABLE,
    CONTEXT_WARNINGS,
    CONTEXT_GATE,
    CONTEXT_MCP_SERVER,
    CONTEXT_HELPER,
    CONTEXT_SKILL,
    CONTEXT_ARTIFACT,
    CONTEXT_DESCRIPTION,
    CONTEXT_PREVIEW,
    CONTEXT_TRUNCATED,
];

impl Template {
    /// Fills every placeholder from `values` (`(name, value)` pairs).
    ///
    /// The file's final newline is dropped, so one-line templates compose like `format!` strings;
    /// callers add the line breaks they want.
    pub(crate) fn fill(&self, values: &[(&str, &str)]) -> Result<String, PromptError> {
        let text = self.text.strip_suffix('\n').unwrap_or(self.text);
        let mut out =
            String::with_capacity(text.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
        let mut used = vec![false; values.len()];
        let mut rest = text;
        while let Some((before, name, after)) = next_placeholder(rest) {
            out.push_str(before);
            let index = values
                .iter()
                .position(|(key, _)| *key == name)
                .ok_or_else(|| PromptError::MissingValue {
                    template: self.name,
                    placeholder: name.to_owned(),
                })?;
            used[index] = true;
            out.push_str(values[index].1);
            rest = after;
        }
        out.push_str(rest);
        if let Some(index) = used.iter().position(|was_used| !was_used) {
            return Err(PromptError::UnusedValue {
                template: self.name,
                placeholder: values[index].0.to_owned(),
            });
        }
        Ok(out)
    }

    /// The placeholder names the template uses, in order of appearance (repeats included).
    #[cfg(test)]
    pub(crate) fn placeholders(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut rest = self.text;
        while let Some((_, name, after)) = next_placeholder(rest) {
            names.push(name);
            rest = after;
        }
        names
    }
}

/// Splits `text` at its first placeholder: the text before it, the name, the text after it.
fn next_placeholder(text: &str) -> Option<(&str, &str, &str)> {
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('{') {
        let open = search_from + offset;
        let name_start = open + 1;
        let name_len = text[name_start..]
            .bytes()
            .take_while(|byte| byte.is_ascii_lowercase() || *byte == b'_')
            .count();
        let close = name_start + name_len;
        if name_len > 0 && text.as_bytes().get(close) == Some(&b'}') {
            return Some((&text[..open], &text[name_start..close], &text[close + 1..]));
        }
        search_from = name_start;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// The placeholders each template may use. A template edited to use a name its caller does
    /// not provide fails here before it fails at runtime.
    const EXPECTED: [(&str, &[&str]); 26] = [
        (
            "attempt.md",
            &[
                "agent",
                "artifact_context",
                "iteration",
                "result_path",
                "run_id",
                "stop_target",
                "task_origin",
                "task_text",
                "timeout",
                "workspace",
            ],
        ),
        ("stop_target_higher.md", &["score_key", "stop_score"]),
        ("stop_target_lower.md", &["score_key", "stop_score"]),
        ("task_inline.md", &[]),
        ("task_external.md", &["file_name"]),
        (
            "reflection.md",
            &[
                "agent",
                "attempt_result",
                "depth_guidance",
                "iteration",
                "result_path",
                "timeout",
            ],
        ),
        (
            "build.md",
            &[
                "agent",
                "depth_guidance",
                "iteration",
                "result_path",
                "selected_improvement",
                "timeout",
            ],
        ),
        (
            "repair.md",
            &[
                "agent",
                "depth_guidance",
                "failure_reasons",
                "iteration",
                "repair_index",
                "report",
                "report_path",
                "result_path",
                "timeout",
            ],
        ),
        ("repair_report.md", &["report_json"]),
        ("repair_no_reasons.md", &[]),
        ("depth_standard.md", &[]),
        ("depth_deep.md", &[]),
        ("context/empty.md", &[]),
        ("context/header.md", &[]),
        ("context/quarantined.md", &["count"]),
        ("context/activation.md", &[]),
        ("context/activation_unreadable.md", &[]),
        ("context/warnings.md", &["warnings"]),
        ("context/gate.md", &["mcp_count", "status", "tool_count"]),
        (
            "context/mcp_server.md",
            &["active", "name", "self_test", "smoke", "tools"],
        ),
        ("context/helper.md", &["helper_path"]),
        ("context/skill.md", &["active_paths", "artifact_path"]),
        ("context/artifact.md", &["description", "kind", "path"]),
        ("context/description.md", &["description"]),
        ("context/preview.md", &[]),
        ("context/truncated.md", &["limit"]),
    ];

    #[test]
    fn every_template_uses_exactly_its_expected_placeholders() {
        assert_eq!(ALL.len(), EXPECTED.len());
        for template in ALL {
            let expected = EXPECTED
                .iter()
                .find(|(name, _)| *name == template.name)
                .map(|(_, names)| names.iter().copied().collect::<BTreeSet<_>>());
            let used: BTreeSet<_> = template.placeholders().into_iter().collect();
            assert_eq!(Some(used), expected, "placeholders of {}", template.name);
        }
    }

    #[test]
    fn every_template_file_is_listed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/harness/prompts/templates");
        let mut on_disk = BTreeSet::new();
        for dir in [root.clone(), root.join("context")] {
            for entry in std::fs::read_dir(&dir).expect("templates dir is readable") {
                let path = entry.expect("dir entry").path();
                if path.is_file() {
                    let relative = path.strip_prefix(&root).expect("under root");
                    on_disk.insert(relative.to_string_lossy().into_owned());
                }
            }
        }
        let listed: BTreeSet<String> = ALL.iter().map(|t| t.name.to_owned()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn placeholders_ignore_json_and_other_braces() {
        let text = "{\n  \"a\": {\"b\": 1}\n} {} {Name} {x1} {ok_name}";
        let template = Template { name: "t", text };
        assert_eq!(template.placeholders(), vec!["ok_name"]);
        let filled = template.fill(&[("ok_name", "v")]).expect("fills");
        assert_eq!(filled, "{\n  \"a\": {\"b\": 1}\n} {} {Name} {x1} v");
    }

    #[test]
    fn fill_is_strict_both_ways() {
        let template = Template {
            name: "t.md",
            text: "a {one} b {two}\n",
        };
        let missing = template.fill(&[("one", "1")]);
        assert!(matches!(
            missing,
            Err(PromptError::MissingValue { template: "t.md", ref placeholder }) if placeholder == "two"
        ));
        let unused = template.fill(&[("one", "1"), ("two", "2"), ("three", "3")]);
        assert!(matches!(
            unused,
            Err(PromptError::UnusedValue { template: "t.md", ref placeholder }) if placeholder == "three"
        ));
        assert_eq!(
            template.fill(&[("two", "2"), ("one", "1")]).expect("fills"),
            "a 1 b 2"
        );
    }

    #[test]
    fn values_are_not_expanded_again() {
        let template = Template {
            name: "t",
            text: "{task} {other}",
        };
        let filled = template
            .fill(&[("task", "uses {other} literally"), ("other", "x")])
            .expect("fills");
        assert_eq!(filled, "uses {other} literally x");
    }

    #[test]
    fn repeated_placeholders_take_the_same_value() {
        let template = Template {
            name: "t",
            text: "{a}-{a}",
        };
        assert_eq!(template.fill(&[("a", "z")]).expect("fills"), "z-z");
    }
}
