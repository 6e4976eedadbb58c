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

use serde_json::{Value, json};

use crate::harness::optimization::PostResult;

/// The reason of a trial whose harness did not activate.
pub const NOT_ACTIVATED: &str =
    "harnessed trial invalid: copied artifacts did not activate any generated MCP tools";
/// The reason of a trial whose agent called no MCP tool.
pub const NO_CALLS: &str =
    "harnessed trial invalid: generated MCP tools activated but no MCP tool calls were recorded";

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn count_of(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `runner_validation` of a trial that ended with `error` (empty: none) after `iterations`
/// (§3.7 iteration rows).
pub fn runner(error: &str, iterations: &[Value]) -> Value {
    let failed: Vec<&Value> = iterations
        .iter()
        .filter(|it| str_of(it, "attempt_status") == "failed" || str_of(it, "status") == "failed")
        .collect();
    let failed_iterations: Vec<u64> = failed.iter().map(|it| count_of(it, "iteration")).collect();
    let failed_attempts: Vec<Value> = failed
        .iter()
        .map(|it| {
            json!({
                "iteration": it["iteration"],
                "status": it["attempt_status"],
                "return_code": it["attempt_return_code"],
                "timed_out": it["attempt_timed_out"],
                "message": it["attempt_message"],
                "transcript_path": it["attempt_transcript_path"],
            })
        })
        .collect();
    let reason = if !error.is_empty() {
        format!("trial error: {error}")
    } else if iterations.is_empty() {
        "runner completed no iteration".to_string()
    } else if !failed_iterations.is_empty() {
        let list: Vec<String> = failed_iterations.iter().map(u64::to_string).collect();
        format!("runner attempt failed in iteration(s): {}", list.join(", "))
    } else {
        String::new()
    };
    json!({
        "valid": reason.is_empty(),
        "reason": reason,
        "failed_iterations": failed_iterations,
        "failed_attempts": failed_attempts,
    })
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
/// `required` when artifacts were copied into it. `telemetry` is the trial's `mcp_telemetry`.
pub fn harness(
    harnessed: bool,
    copied: bool,
    required: Requirements,
    iterations: &[Value],
    telemetry: &Value,
) -> Value {
    if !harnessed {
        return json!({"required": false, "valid": true, "reason": ""});
    }
    let active_required = required.active && copied;
    let tool_use_required = required.tool_use && copied;
    let best = |key| {
        iterations
            .iter()
            .map(|it| count_of(it, key))
            .max()
            .unwrap_or(0)
    };
    let (tools, servers) = (best("active_tool_count"), best("active_mcp_count"));
    let calls = count_of(telemetry, "count");
    let reason = if active_required && tools == 0 {
        NOT_ACTIVATED
    } else if tool_use_required && calls == 0 {
        NO_CALLS
    } else {
        ""
    };
    json!({
        "required": active_required || tool_use_required,
        "active_harness_required": active_required,
        "tool_use_required": tool_use_required,
        "valid": reason.is_empty(),
        "reason": reason,
        "active_tool_count": tools,
        "active_mcp_count": servers,
        "mcp_call_count": calls,
        "mcp_successful_call_count": count_of(telemetry, "successful_count"),
        "mcp_called_tools": telemetry.get("called_tools").cloned().unwrap_or(json!([])),
        "mcp_call_status_counts": telemetry.get("status_counts").cloned().unwrap_or(json!({})),
    })
}

/// A number as Python prints it in the reference's reasons (`None` when absent).
fn python_int(value: Option<i64>) -> String {
    value.map_or_else(|| "None".to_string(), |v| v.to_string())
}

/// The post fields of a trial (§3.7): `post_result`, `objective_post_valid`, `post_valid`,
/// `post_invalid_reason`, `post_score`, `post_treated_as_worst`. `configured`: whether the
/// compare has a post command; `comparison_reason`: empty when the comparison is valid.
pub fn post(
    configured: bool,
    result: Option<&PostResult>,
    comparison_reason: &str,
    score_key: &str,
) -> Value {
    let comparison_valid = comparison_reason.is_empty();
    if !configured {
        return json!({
            "post_result": null,
            "objective_post_valid": null,
            "post_valid": null,
            "post_invalid_reason": comparison_reason,
            "post_score": null,
            "post_treated_as_worst": false,
        });
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
    json!({
        "post_result": result.map(PostResult::to_value),
        "objective_post_valid": result.map(|_| objective),
        "post_valid": valid,
        "post_invalid_reason": reason,
        "post_score": if valid { score } else { None },
        "post_treated_as_worst": !valid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iteration(i: u64, attempt: &str, status: &str, tools: u64) -> Value {
        json!({"iteration": i, "attempt_status": attempt, "status": status,
               "attempt_return_code": 127, "attempt_timed_out": false, "attempt_message": "",
               "attempt_transcript_path": "/x/attempt.transcript.txt",
               "active_tool_count": tools, "active_mcp_count": u64::from(tools > 0)})
    }

    #[test]
    fn a_failed_attempt_or_an_error_makes_the_runner_invalid() {
        let ok = runner("", &[iteration(1, "completed", "blocked", 0)]);
        assert_eq!(ok["valid"], true);
        let failed = runner(
            "",
            &[
                iteration(1, "failed", "failed", 0),
                iteration(2, "completed", "failed", 0),
            ],
        );
        assert_eq!(failed["valid"], false);
        assert_eq!(
            failed["reason"],
            "runner attempt failed in iteration(s): 1, 2"
        );
        assert_eq!(failed["failed_iterations"], json!([1, 2]));
        assert_eq!(failed["failed_attempts"][0]["return_code"], 127);
        assert_eq!(runner("", &[])["valid"], false);
        assert_eq!(
            runner("container gone", &[])["reason"],
            "trial error: container gone"
        );
    }

    #[test]
    fn the_harness_must_activate_and_with_tool_use_be_called() {
        let need = Requirements {
            active: true,
            tool_use: true,
        };
        let none = json!({"count": 0});
        let inactive = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 0)],
            &none,
        );
        assert_eq!(inactive["reason"], NOT_ACTIVATED);
        let uncalled = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 1)],
            &none,
        );
        assert_eq!(uncalled["reason"], NO_CALLS);
        assert_eq!(uncalled["active_tool_count"], 1);
        let called = json!({"count": 2, "successful_count": 1, "called_tools": ["t"]});
        let used = harness(
            true,
            true,
            need,
            &[iteration(1, "completed", "blocked", 1)],
            &called,
        );
        assert_eq!(used["valid"], true);
        let nothing_copied = harness(true, false, need, &[], &none);
        assert_eq!(nothing_copied["valid"], true);
        assert_eq!(nothing_copied["required"], false);
        assert_eq!(
            harness(false, true, need, &[], &none),
            json!({"required": false, "valid": true, "reason": ""})
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
        assert_eq!(failed["post_valid"], false);
        assert_eq!(failed["post_treated_as_worst"], true);
        assert_eq!(failed["post_score"], Value::Null);
        assert_eq!(
            failed["post_invalid_reason"],
            "post command did not pass: status=failed return_code=1"
        );
        let no_score = post(
            true,
            Some(&post_result(0, "{\"status\": \"passed\"}")),
            "",
            "k",
        );
        assert_eq!(
            no_score["post_invalid_reason"],
            "post command did not emit numeric score for key k"
        );
        let good = post(true, Some(&post_result(0, "{\"score\": 7}")), "", "score");
        assert_eq!(good["post_valid"], true);
        assert_eq!(good["post_score"], 7.0);
        let invalid = post(
            true,
            Some(&post_result(0, "{\"score\": 7}")),
            "why",
            "score",
        );
        assert_eq!(invalid["post_valid"], false);
        assert_eq!(invalid["objective_post_valid"], true);
        assert_eq!(invalid["post_invalid_reason"], "why");
        let none = post(false, None, "", "score");
        assert_eq!(none["post_valid"], Value::Null);
        assert_eq!(none["post_treated_as_worst"], false);
    }
}
