//! Whether a trial counts (reference §9 step 7), from its iterations, its telemetry and its post
//! command. Pure: every rule is a function of the trial record's values.
//!
//! - **Runner**: invalid when the trial ended in an error, ran no iteration, or any iteration's
//!   attempt or result has status `failed` (`runner attempt failed in iteration(s): 1, 2`).
//! - **Harness** (harnessed trials with copied artifacts only): with `--require-active-harness`
//!   (default) invalid when no iteration activated a generated MCP tool; with
//!   `--require-harness-tool-use` invalid when no MCP tool call was recorded (failed calls count).
//! - **Comparison** = runner ∧ harness; **post** = the command passed (§4.3) with a finite score
//!   ∧ comparison. Only a valid trial has a `post_score`.
//! - **Worst case**: a trial that should have been scored (a post command is configured) and is
//!   not valid is `post_treated_as_worst` — it loses to every valid trial; in the verdict it is
//!   left out of its group's values, so a group with invalid trials may not reach the three
//!   valid trials a verdict needs. Without a post command nothing is scored: every trial's post
//!   fields are `null`, and it counts as `not_run` (the fix of the reference's §14.1, where the
//!   summary crashed).

use super::files::{
    FailedAttempt, HarnessValidation, IterationRow, PostFields, RunnerValidation, Telemetry,
};
use crate::harness::optimization::PostResult;

/// The reason of a trial whose harness did not activate.
pub const NOT_ACTIVATED: &str =
    "harnessed trial invalid: copied artifacts did not activate any generated MCP tools";
/// The reason of a trial whose agent called no MCP tool.
pub const NO_CALLS: &str =
    "harnessed trial invalid: generated MCP tools activated but no MCP tool calls were recorded";

/// `runner_validation` of a trial that ended with `error` (empty: none) after `iterations`.
pub fn runner(error: &str, iterations: &[IterationRow]) -> RunnerValidation {
    let failed: Vec<&IterationRow> = iterations
        .iter()
        .filter(|it| it.attempt_status == "failed" || it.status == "failed")
        .collect();
    let failed_iterations: Vec<u32> = failed.iter().map(|it| it.iteration).collect();
    let failed_attempts = failed
        .iter()
        .map(|it| FailedAttempt {
            iteration: it.iteration,
            status: it.attempt_status.clone(),
            return_code: it.attempt_return_code,
            timed_out: it.attempt_timed_out,
            message: it.attempt_message.clone(),
            transcript_path: it.attempt_transcript_path.clone(),
        })
        .collect();
    let reason = if !error.is_empty() {
        format!("trial error: {error}")
    } else if iterations.is_empty() {
        "runner completed no iteration".to_string()
    } else if !failed_iterations.is_empty() {
        let list: Vec<String> = failed_iterations.iter().map(u32::to_string).collect();
        format!("runner attempt failed in iteration(s): {}", list.join(", "))
    } else {
        String::new()
    };
    RunnerValidation {
        valid: reason.is_empty(),
        reason,
        failed_iterations,
        failed_attempts,
    }
}

/// What the harness rules ask for.
#[derive(Debug, Clone, Copy)]
pub struct Requirements {
    /// `--require-active-harness`.
    pub active: bool,
    /// `--require-harness-tool-use`.
    pub tool_use: bool,
}

/// `harness_validation` of a trial: plain trials are always valid; a harnessed one is held to
/// `required` when artifacts were copied into it.
pub fn harness(
    harnessed: bool,
    copied: bool,
    required: Requirements,
    iterations: &[IterationRow],
    telemetry: &Telemetry,
) -> HarnessValidation {
    if !harnessed {
        return HarnessValidation {
            required: false,
            valid: true,
            reason: String::new(),
            active_harness_required: None,
            tool_use_required: None,
            active_tool_count: None,
            active_mcp_count: None,
            mcp_call_count: None,
            mcp_successful_call_count: None,
            mcp_called_tools: None,
            mcp_call_status_counts: None,
        };
    }
    let active_required = required.active && copied;
    let tool_use_required = required.tool_use && copied;
    let tools = iterations
        .iter()
        .map(|it| it.active_tool_count)
        .max()
        .unwrap_or(0);
    let servers = iterations
        .iter()
        .map(|it| it.active_mcp_count)
        .max()
        .unwrap_or(0);
    let reason = if active_required && tools == 0 {
        NOT_ACTIVATED
    } else if tool_use_required && telemetry.count == 0 {
        NO_CALLS
    } else {
        ""
    };
    HarnessValidation {
        required: active_required || tool_use_required,
        valid: reason.is_empty(),
        reason: reason.to_string(),
        active_harness_required: Some(active_required),
        tool_use_required: Some(tool_use_required),
        active_tool_count: Some(tools),
        active_mcp_count: Some(servers),
        mcp_call_count: Some(telemetry.count),
        mcp_successful_call_count: Some(telemetry.successful_count),
        mcp_called_tools: Some(telemetry.called_tools.clone()),
        mcp_call_status_counts: Some(telemetry.status_counts.clone()),
    }
}

/// A number as Python prints it in the reference's reasons (`None` when absent).
fn python_int(value: Option<i64>) -> String {
    value.map_or_else(|| "None".to_string(), |v| v.to_string())
}

/// The post fields of a trial. `configured`: whether the compare has a post command;
/// `comparison_reason`: empty when the comparison is valid.
pub fn post(
    configured: bool,
    result: Option<&PostResult>,
    comparison_reason: &str,
    score_key: &str,
) -> PostFields {
    let comparison_valid = comparison_reason.is_empty();
    if !configured {
        return PostFields {
            result: None,
            objective_valid: None,
            valid: None,
            invalid_reason: comparison_reason.to_string(),
            score: None,
            treated_as_worst: false,
        };
    }
    let score = result.and_then(|r| r.score).filter(|s| s.is_finite());
    let objective = result.is_some_and(PostResult::passed) && score.is_some();
    let valid = objective && comparison_valid;
    let reason = match result {
        _ if !comparison_valid => comparison_reason.to_string(),
        None => "post command did not run: the trial has no final state".to_string(),
        Some(r) if !r.passed() => format!(
            "post command did not pass: status={} return_code={}",
            r.status,
            python_int(r.return_code)
        ),
        Some(_) if score.is_none() => {
            format!("post command did not emit numeric score for key {score_key}")
        }
        Some(_) => String::new(),
    };
    PostFields {
        result: result.map(PostResult::to_value),
        objective_valid: result.map(|_| objective),
        valid: Some(valid),
        invalid_reason: reason,
        score: if valid { score } else { None },
        treated_as_worst: !valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iteration(i: u32, attempt: &str, status: &str, tools: u64) -> IterationRow {
        IterationRow {
            iteration: i,
            status: status.into(),
            solved: false,
            result_path: String::new(),
            attempt_status: attempt.into(),
            attempt_return_code: Some(127),
            attempt_timed_out: false,
            attempt_duration_seconds: 0.0,
            attempt_message: String::new(),
            attempt_transcript_path: Some("/x/attempt.transcript.txt".into()),
            score: None,
            active_mcp_count: u64::from(tools > 0),
            active_tool_count: tools,
            used_active_tools: Vec::new(),
            mcp_call_count: 0,
            mcp_called_tools: Vec::new(),
        }
    }

    #[test]
    fn a_failed_attempt_or_an_error_makes_the_runner_invalid() {
        let ok = runner("", &[iteration(1, "completed", "blocked", 0)]);
        assert!(ok.valid);
        let failed = runner(
            "",
            &[
                iteration(1, "failed", "failed", 0),
                iteration(2, "completed", "failed", 0),
            ],
        );
        assert!(!failed.valid);
        assert_eq!(failed.reason, "runner attempt failed in iteration(s): 1, 2");
        assert_eq!(failed.failed_iterations, [1, 2]);
        assert_eq!(failed.failed_attempts[0].return_code, Some(127));
        assert!(!runner("", &[]).valid);
        assert_eq!(
            runner("container gone", &[]).reason,
            "trial error: container gone"
        );
    }

    #[test]
    fn the_harness_must_activate_and_with_tool_use_be_called() {
        let need = Requirements {
            active: true,
            tool_use: true,
        };
        let none = Telemetry::default();
        let inactive = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 0)],
            &none,
        );
        assert_eq!(inactive.reason, NOT_ACTIVATED);
        let uncalled = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 1)],
            &none,
        );
        assert_eq!(uncalled.reason, NO_CALLS);
        assert_eq!(uncalled.active_tool_count, Some(1));
        let called = Telemetry {
            count: 2,
            successful_count: 1,
            called_tools: vec!["t".into()],
            ..Telemetry::default()
        };
        let used = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 1)],
            &called,
        );
        assert!(used.valid);
        let nothing_copied = harness(true, false, need, &[], &none);
        assert!(nothing_copied.valid);
        assert!(!nothing_copied.required);
        let plain = super::super::files::to_value(&harness(false, true, need, &[], &none));
        assert_eq!(
            plain,
            serde_json::json!({"required": false, "valid": true, "reason": ""})
        );
    }

    fn post_result(code: i64, stdout: &str) -> PostResult {
        PostResult::new(
            "score",
            (Some(code), false),
            0.1,
            ("o".into(), "e".into()),
            stdout,
            "score",
        )
    }

    #[test]
    fn a_failing_post_command_is_the_worst_case_and_no_command_is_not_run() {
        let failed = post(true, Some(&post_result(1, "")), "", "score");
        assert_eq!(failed.valid, Some(false));
        assert!(failed.treated_as_worst);
        assert_eq!(failed.score, None);
        assert_eq!(
            failed.invalid_reason,
            "post command did not pass: status=failed return_code=1"
        );
        let no_score = post(
            true,
            Some(&post_result(0, "{\"status\": \"passed\"}")),
            "",
            "k",
        );
        assert_eq!(
            no_score.invalid_reason,
            "post command did not emit numeric score for key k"
        );
        let good = post(true, Some(&post_result(0, "{\"score\": 7}")), "", "score");
        assert_eq!(good.valid, Some(true));
        assert_eq!(good.score, Some(7.0));
        let invalid = post(
            true,
            Some(&post_result(0, "{\"score\": 7}")),
            "why",
            "score",
        );
        assert_eq!(invalid.valid, Some(false));
        assert_eq!(invalid.objective_valid, Some(true));
        assert_eq!(invalid.invalid_reason, "why");
        let none = post(false, None, "", "score");
        assert_eq!(none.valid, None);
        assert!(!none.treated_as_worst);
    }
}
