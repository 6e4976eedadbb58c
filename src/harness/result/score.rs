//! Scores and pass/fail signals read from result and post-command JSON (reference §4.3–§4.4;
//! `postprocess.py:extract_score_from_payload`, `post_command_passed`, `json_object`,
//! `orchestrator.py:reached_stop_score`).
//!
//! Deliberate differences from the reference, each a QUIRK it lists:
//! - the configured key is looked up everywhere before the generic `score` (the reference lets an
//!   agent-written top-level `score` beat a verified `metrics[key]`);
//! - booleans are not scores (Python counts `true` as `1.0`), and neither is `NaN`;
//! - a post command passes only with a JSON object on stdout (fix f052e8f, reference §13).
//!
//! Kept on purpose: an object without a `status` key still passes (the acceptance tests require it,
//! §11 test_postprocess; noted as §14.4).

use serde_json::{Map, Value};

use crate::harness::json;

/// `status` values (lower-cased) that make a post command's JSON a pass.
pub const PASSING_POST_STATUSES: [&str; 5] = ["passed", "pass", "ok", "success", "solved"];

/// The sections searched for a score after the top level, in order.
const SCORE_SECTIONS: [&str; 3] = ["metrics", "objective", "verification"];

/// Extracts a numeric score from result or post-command JSON (reference §4.4).
///
/// Candidates, first usable wins: `payload[key]`, `metrics[key]`, `objective[key]`,
/// `verification[key]`, then the same four places with `score`. Numbers count; strings count when
/// they parse as a float after trimming (`"1.25"`, `"inf"`); booleans, `NaN` and unparsable strings
/// are skipped.
pub fn extract_score(payload: &Map<String, Value>, key: &str) -> Option<f64> {
    let keys = if key == "score" {
        vec![key]
    } else {
        vec![key, "score"]
    };
    keys.into_iter().find_map(|wanted| {
        let top = payload.get(wanted);
        let nested = SCORE_SECTIONS
            .iter()
            .filter_map(|section| payload.get(*section).and_then(Value::as_object))
            .map(move |section| section.get(wanted));
        std::iter::once(top)
            .chain(nested)
            .flatten()
            .find_map(score_value)
    })
}

/// Whether a score reaches the `--stop-score` target: `score >= stop` when higher is better, else
/// `score <= stop`. No target or no score is never reached.
pub fn reached_stop_score(
    score: Option<f64>,
    stop_score: Option<f64>,
    higher_is_better: bool,
) -> bool {
    match (score, stop_score) {
        (Some(score), Some(stop)) if higher_is_better => score >= stop,
        (Some(score), Some(stop)) => score <= stop,
        _ => false,
    }
}

/// Whether `score` is strictly better than `reference` in the configured direction.
pub fn is_better_score(score: f64, reference: f64, higher_is_better: bool) -> bool {
    if higher_is_better {
        score > reference
    } else {
        score < reference
    }
}

/// Whether a post-attempt (or baseline, or compare post) command passed (reference §4.3): it
/// `completed` (exit 0, no timeout), its stdout was a JSON object, and that object's `status` is
/// absent, `null`, or one of [`PASSING_POST_STATUSES`] (case-insensitive).
pub fn post_command_passed(command_status: &str, payload: Option<&Value>) -> bool {
    if command_status != "completed" {
        return false;
    }
    let Some(Value::Object(payload)) = payload else {
        return false;
    };
    match payload.get("status") {
        None | Some(Value::Null) => true,
        Some(Value::String(status)) => {
            PASSING_POST_STATUSES.contains(&status.to_lowercase().as_str())
        }
        Some(_) => false,
    }
}

/// [`post_command_passed`] applied to a post result dict as stored in `result.json`
/// (`post_attempt`, with its `status` and `json` fields). Anything that is not such an object has
/// not passed.
pub fn post_result_passed(post_result: &Value) -> bool {
    let status = post_result
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    post_command_passed(status, post_result.get("json"))
}

/// A command's stdout as a JSON object (`postprocess.py:json_object`): the whole output must be one
/// JSON document (surrounding whitespace allowed; Python's `NaN`/`Infinity` read as `null`); log
/// lines around it, arrays and scalars give `None`.
pub fn parse_json_object(stdout: &str) -> Option<Map<String, Value>> {
    match json::parse_json_tolerant(stdout) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn score_value(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    number.filter(|n| !n.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test value must be an object"),
        }
    }

    fn score(value: Value, key: &str) -> Option<f64> {
        extract_score(&map(value), key)
    }

    #[test]
    fn reads_the_reference_test_cases() {
        assert_eq!(score(json!({"score": "1.25"}), "best_ms"), Some(1.25));
        assert_eq!(
            score(json!({"metrics": {"best_ms": 0.75}}), "best_ms"),
            Some(0.75)
        );
        assert_eq!(
            score(json!({"verification": {"score": 2}}), "score"),
            Some(2.0)
        );
        assert_eq!(score(json!({"metrics": {"score": "nope"}}), "score"), None);
        assert_eq!(score(json!({}), "score"), None);
    }

    #[test]
    fn configured_key_beats_generic_score_everywhere() {
        let payload = json!({"score": 99, "metrics": {"best_cycles": 4}});
        assert_eq!(score(payload, "best_cycles"), Some(4.0));
        let payload = json!({"score": 99, "verification": {"best_cycles": "5"}});
        assert_eq!(score(payload, "best_cycles"), Some(5.0));
    }

    #[test]
    fn sections_are_searched_in_order() {
        let payload = json!({
            "metrics": {"k": 1}, "objective": {"k": 2}, "verification": {"k": 3}
        });
        assert_eq!(score(payload, "k"), Some(1.0));
        let payload = json!({"objective": {"k": 2}, "verification": {"k": 3}});
        assert_eq!(score(payload, "k"), Some(2.0));
        let payload = json!({"metrics": "not a section", "verification": {"score": 3}});
        assert_eq!(score(payload, "k"), Some(3.0));
    }

    #[test]
    fn unusable_candidates_are_skipped() {
        let payload =
            json!({"k": true, "metrics": {"k": "fast", "score": null}, "objective": {"k": " 7 "}});
        assert_eq!(score(payload, "k"), Some(7.0));
        assert_eq!(
            score(json!({"score": "nan", "metrics": {"score": 1}}), "score"),
            Some(1.0)
        );
        assert_eq!(score(json!({"score": [1]}), "score"), None);
    }

    #[test]
    fn infinite_strings_are_scores_like_python_float() {
        assert_eq!(score(json!({"score": "inf"}), "score"), Some(f64::INFINITY));
        assert_eq!(
            score(json!({"score": "-Infinity"}), "score"),
            Some(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn stop_score_directions() {
        assert!(reached_stop_score(Some(0.9), Some(1.0), false));
        assert!(reached_stop_score(Some(1.0), Some(1.0), false));
        assert!(!reached_stop_score(Some(1.1), Some(1.0), false));
        assert!(reached_stop_score(Some(12.0), Some(10.0), true));
        assert!(!reached_stop_score(Some(8.0), Some(10.0), true));
        assert!(!reached_stop_score(None, Some(10.0), true));
        assert!(!reached_stop_score(Some(1.0), None, false));
    }

    #[test]
    fn solved_result_with_unreached_score_is_not_a_stop() {
        let result = json!({"status": "solved", "verified": true, "metrics": {"best_ms": 20.0}});
        assert!(!reached_stop_score(
            score(result, "best_ms"),
            Some(6.0),
            false
        ));
    }

    #[test]
    fn better_is_strict() {
        assert!(is_better_score(4.0, 10.0, false));
        assert!(!is_better_score(10.0, 10.0, false));
        assert!(is_better_score(11.0, 10.0, true));
        assert!(!is_better_score(10.0, 10.0, true));
    }

    #[test]
    fn post_command_pass_rules() {
        assert!(!post_command_passed("completed", None));
        assert!(!post_command_passed("completed", Some(&json!([1, 2]))));
        assert!(!post_command_passed("completed", Some(&json!("all good"))));
        assert!(!post_command_passed(
            "completed",
            Some(&json!({"status": "failed"}))
        ));
        assert!(!post_command_passed(
            "completed",
            Some(&json!({"status": true}))
        ));
        assert!(!post_command_passed(
            "failed",
            Some(&json!({"status": "passed"}))
        ));
        assert!(!post_command_passed("timeout", Some(&json!({}))));
        assert!(post_command_passed(
            "completed",
            Some(&json!({"status": "passed"}))
        ));
        assert!(post_command_passed(
            "completed",
            Some(&json!({"status": "SOLVED"}))
        ));
        assert!(post_command_passed(
            "completed",
            Some(&json!({"status": "Ok", "score": 1}))
        ));
        assert!(post_command_passed("completed", Some(&json!({"score": 1}))));
        assert!(post_command_passed(
            "completed",
            Some(&json!({"status": null}))
        ));
    }

    #[test]
    fn post_result_dicts() {
        assert!(post_result_passed(
            &json!({"status": "completed", "json": {"status": "pass"}})
        ));
        assert!(!post_result_passed(
            &json!({"status": "completed", "json": null})
        ));
        assert!(!post_result_passed(&json!({"json": {}})));
        assert!(!post_result_passed(&json!("completed")));
    }

    #[test]
    fn stdout_must_be_one_json_object() {
        assert_eq!(
            parse_json_object(" {\"score\": 4}\n"),
            Some(map(json!({"score": 4})))
        );
        assert_eq!(
            parse_json_object("{\"score\": Infinity}"),
            Some(map(json!({"score": null})))
        );
        assert_eq!(parse_json_object("all good\n"), None);
        assert_eq!(parse_json_object("building...\n{\"score\": 4}"), None);
        assert_eq!(parse_json_object("[1]"), None);
        assert_eq!(parse_json_object(""), None);
    }
}
