//! Statuses and the decisions the loop reads from a result (reference §4.2, §4.3, §4.5, §2.2 steps
//! 7, 10, 15, 19; `orchestrator.py:_record_phase`, `is_solved_and_verified`,
//! `_checkpointable_result`, `prompts.py:extract_selected_improvement`).

use std::fmt;

use serde_json::Value;

use super::{ResultMap, post_result_passed};
use crate::harness::json;

/// The build prompt's selection when the reflection left nothing usable (reference §2.2 step 15).
pub const NO_SELECTION_FALLBACK: &str = "No structured selection found. Build the highest-leverage \
     recommendation from the reflection transcript.";

/// The statuses a result can carry (reference §4.2). Agents may write other strings; those are kept
/// verbatim and simply do not parse into this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultStatus {
    /// Initial status, until the attempt reports.
    Running,
    /// The task is solved (verified or not: see [`is_solved_and_verified`]).
    Solved,
    /// The agent is blocked.
    Blocked,
    /// The attempt ended without an outcome (also the fallback after a timeout or a plain exit).
    Incomplete,
    /// No solve, but the build phase completed.
    ToolingBuilt,
    /// The attempt failed.
    Failed,
    /// Optimization mode: the post command passed with a score better than the baseline.
    Improved,
    /// Optimization mode: the post command passed without beating the baseline.
    Verified,
}

impl ResultStatus {
    /// Every status.
    pub const ALL: [Self; 8] = [
        Self::Running,
        Self::Solved,
        Self::Blocked,
        Self::Incomplete,
        Self::ToolingBuilt,
        Self::Failed,
        Self::Improved,
        Self::Verified,
    ];

    /// The vocabulary the attempt prompt offers the agent.
    pub const PROMPTED: [Self; 5] = [
        Self::Solved,
        Self::Blocked,
        Self::Incomplete,
        Self::ToolingBuilt,
        Self::Failed,
    ];

    /// The JSON string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Solved => "solved",
            Self::Blocked => "blocked",
            Self::Incomplete => "incomplete",
            Self::ToolingBuilt => "tooling_built",
            Self::Failed => "failed",
            Self::Improved => "improved",
            Self::Verified => "verified",
        }
    }

    /// The status named by a JSON string, if it is a known one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for ResultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status` string, if there is one.
pub fn status_of(result: &ResultMap) -> Option<&str> {
    result.get("status").and_then(Value::as_str)
}

/// `status == "solved"` and (`verified` is the boolean `true` or `verification.status == "passed"`)
/// (reference §4.3).
pub fn is_solved_and_verified(result: &ResultMap) -> bool {
    if status_of(result) != Some(ResultStatus::Solved.as_str()) {
        return false;
    }
    let verified = result.get("verified") == Some(&Value::Bool(true));
    let passed = result
        .get("verification")
        .and_then(|verification| verification.get("status"))
        .is_some_and(|status| status == "passed");
    verified || passed
}

/// Whether an iteration's workspace may become the best checkpoint (reference §2.2 step 10): with a
/// `post_attempt` object, that command must have passed; without one, the result must be solved and
/// verified.
pub fn is_checkpointable(result: &ResultMap) -> bool {
    match result.get("post_attempt") {
        Some(post_attempt @ Value::Object(_)) => post_result_passed(post_attempt),
        _ => is_solved_and_verified(result),
    }
}

/// The status given to a result still `running` after the attempt (reference §2.2 step 7): runner
/// `timeout` → `incomplete`, `failed` → `failed`, `completed` → `incomplete`, anything else
/// verbatim.
pub fn attempt_fallback_status(runner_status: &str) -> &str {
    match runner_status {
        "timeout" | "completed" => ResultStatus::Incomplete.as_str(),
        "failed" => ResultStatus::Failed.as_str(),
        other => other,
    }
}

/// Applies [`attempt_fallback_status`] when the result's status is still `running`, or
/// missing/`null` (an agent that rewrote the file without a status reported no outcome either; the
/// reference leaves those statusless). Returns whether the status changed.
pub fn apply_attempt_fallback(result: &mut ResultMap, runner_status: &str) -> bool {
    let pending = match result.get("status") {
        None | Some(Value::Null) => true,
        Some(status) => status == ResultStatus::Running.as_str(),
    };
    if !pending {
        return false;
    }
    let fallback = attempt_fallback_status(runner_status).to_owned();
    result.insert("status".to_owned(), Value::from(fallback));
    true
}

/// Whether a result gets `status: "tooling_built"` after the build (reference §2.2 step 19): status
/// missing, `null`, `running`, `blocked` or `incomplete`, the build runner `completed`, and not
/// solved and verified.
pub fn should_mark_tooling_built(result: &ResultMap, build_runner_status: &str) -> bool {
    let promotable = match result.get("status") {
        None | Some(Value::Null) => true,
        Some(Value::String(status)) => {
            ["running", "blocked", "incomplete"].contains(&status.as_str())
        }
        Some(_) => false,
    };
    promotable && build_runner_status == "completed" && !is_solved_and_verified(result)
}

/// The build prompt's "selected improvement" (reference §4.5, §2.2 step 15):
/// `reflection.selected_improvement`, else the top-level `selected_improvement` (either rendered as
/// sorted JSON with indent 2), else the trimmed reflection stdout, else [`NO_SELECTION_FALLBACK`].
/// Empty values (Python-falsy) are skipped. A selection that is a plain string is used as text
/// rather than JSON-quoted as the reference does.
pub fn selected_improvement(result: &ResultMap, reflection_stdout: &str) -> String {
    let from_reflection = result
        .get("reflection")
        .and_then(Value::as_object)
        .and_then(|reflection| reflection.get("selected_improvement"));
    let candidates = [from_reflection, result.get("selected_improvement")];
    if let Some(text) = candidates.into_iter().flatten().find_map(render_selection) {
        return text;
    }
    match reflection_stdout.trim() {
        "" => NO_SELECTION_FALLBACK.to_owned(),
        text => text.to_owned(),
    }
}

fn render_selection(selection: &Value) -> Option<String> {
    match selection {
        Value::String(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
        value if json::is_truthy(value) => {
            Some(json::to_pretty_json(value).unwrap_or_else(|_| value.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> ResultMap {
        match value {
            Value::Object(map) => map,
            _ => panic!("test value must be an object"),
        }
    }

    #[test]
    fn statuses_round_trip() {
        for status in ResultStatus::ALL {
            assert_eq!(ResultStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        let prompted: Vec<&str> = ResultStatus::PROMPTED.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            prompted,
            ["solved", "blocked", "incomplete", "tooling_built", "failed"]
        );
        assert_eq!(ResultStatus::parse("Solved"), None);
    }

    #[test]
    fn solved_and_verified_rules() {
        assert!(is_solved_and_verified(&map(
            json!({"status": "solved", "verified": true})
        )));
        assert!(is_solved_and_verified(&map(
            json!({"status": "solved", "verification": {"status": "passed"}})
        )));
        assert!(!is_solved_and_verified(&map(
            json!({"status": "solved", "verified": "true"})
        )));
        assert!(!is_solved_and_verified(&map(
            json!({"status": "solved", "verified": 1})
        )));
        assert!(!is_solved_and_verified(&map(
            json!({"status": "solved", "verification": {"status": "failed"}})
        )));
        assert!(!is_solved_and_verified(&map(
            json!({"status": "improved", "verified": true})
        )));
        assert!(!is_solved_and_verified(&map(json!({"verified": true}))));
    }

    #[test]
    fn checkpointable_prefers_the_post_command() {
        let passed = json!({"status": "completed", "json": {"status": "passed"}});
        let failed = json!({"status": "completed", "json": null});
        assert!(is_checkpointable(&map(
            json!({"status": "improved", "post_attempt": passed})
        )));
        assert!(!is_checkpointable(&map(
            json!({"status": "solved", "verified": true, "post_attempt": failed})
        )));
        assert!(is_checkpointable(&map(
            json!({"status": "solved", "verified": true})
        )));
        assert!(!is_checkpointable(&map(json!({"status": "incomplete"}))));
    }

    #[test]
    fn fallback_maps_runner_statuses() {
        assert_eq!(attempt_fallback_status("timeout"), "incomplete");
        assert_eq!(attempt_fallback_status("completed"), "incomplete");
        assert_eq!(attempt_fallback_status("failed"), "failed");
        assert_eq!(attempt_fallback_status("blocked"), "blocked");
    }

    #[test]
    fn fallback_only_replaces_a_pending_status() {
        let mut result = map(json!({"status": "running"}));
        assert!(apply_attempt_fallback(&mut result, "timeout"));
        assert_eq!(result["status"], json!("incomplete"));

        let mut result = map(json!({"status": "solved"}));
        assert!(!apply_attempt_fallback(&mut result, "failed"));
        assert_eq!(result["status"], json!("solved"));

        let mut result = map(json!({"summary": "agent dropped the status"}));
        assert!(apply_attempt_fallback(&mut result, "failed"));
        assert_eq!(result["status"], json!("failed"));

        let mut result = map(json!({"status": null}));
        assert!(apply_attempt_fallback(&mut result, "completed"));
        assert_eq!(result["status"], json!("incomplete"));
    }

    #[test]
    fn tooling_built_promotion() {
        for status in [
            json!(null),
            json!("running"),
            json!("blocked"),
            json!("incomplete"),
        ] {
            let result = map(json!({"status": status}));
            assert!(
                should_mark_tooling_built(&result, "completed"),
                "{status} should be promoted"
            );
            assert!(!should_mark_tooling_built(&result, "failed"));
        }
        assert!(should_mark_tooling_built(&map(json!({})), "completed"));
        for status in ["improved", "verified", "failed", "solved", "tooling_built"] {
            assert!(!should_mark_tooling_built(
                &map(json!({"status": status})),
                "completed"
            ));
        }
        assert!(!should_mark_tooling_built(
            &map(json!({"status": 3})),
            "completed"
        ));
    }

    #[test]
    fn selection_prefers_reflection_then_top_level_then_stdout() {
        let selection = json!({"name": "probe", "kind": "tool"});
        let result = map(json!({
            "reflection": {"selected_improvement": selection},
            "selected_improvement": {"name": "other"}
        }));
        assert_eq!(
            selected_improvement(&result, "stdout"),
            "{\n  \"kind\": \"tool\",\n  \"name\": \"probe\"\n}"
        );

        let result =
            map(json!({"reflection": {"selected_improvement": {}}, "selected_improvement": ["x"]}));
        assert_eq!(selected_improvement(&result, "stdout"), "[\n  \"x\"\n]");

        let result = map(
            json!({"reflection": "not an object", "selected_improvement": "  build a verifier \n"}),
        );
        assert_eq!(selected_improvement(&result, "stdout"), "build a verifier");

        let result = map(json!({"selected_improvement": "   "}));
        assert_eq!(
            selected_improvement(&result, "\n  reflection text \n"),
            "reflection text"
        );
        assert_eq!(selected_improvement(&result, " \n"), NO_SELECTION_FALLBACK);
        assert_eq!(
            NO_SELECTION_FALLBACK,
            "No structured selection found. Build the highest-leverage recommendation from the \
             reflection transcript."
        );
        assert!(!NO_SELECTION_FALLBACK.contains("  "));
    }
}
