//! Scoring an attempt with the post-attempt command, and optimization mode (reference §2.7):
//! the record of the command, the result.json update, the `optimization` block and statuses.
//!
//! Fixes of the reference kept here: a non-object output is not a pass (§13 f052e8f); the stop
//! target only counts for a passing command (§14.3); a failed baseline is no baseline (§14.5).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::result::{extract_score, is_better_score, post_command_passed, reached_stop_score};

/// One run of the post-attempt (or baseline, or post-restore) command.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PostResult {
    /// The shell command.
    pub command: String,
    /// `completed` (exit 0), `failed` or `timeout`.
    pub status: String,
    /// Exit code when it ended by itself.
    pub return_code: Option<i64>,
    /// Whether it hit its timeout.
    pub timed_out: bool,
    /// Wall-clock seconds.
    pub duration_seconds: f64,
    /// Host path of its stdout.
    pub stdout_path: String,
    /// Host path of its stderr.
    pub stderr_path: String,
    /// Its stdout parsed as one JSON object, else `null`.
    pub json: Option<Map<String, Value>>,
    /// The score read from that object.
    pub score: Option<f64>,
    /// The key the score was read with.
    pub score_key: String,
}

impl PostResult {
    /// Build the record from what the command did; parses the JSON and the score.
    pub fn new(
        command: &str,
        exit: (Option<i64>, bool),
        duration_seconds: f64,
        paths: (String, String),
        stdout: &str,
        score_key: &str,
    ) -> Self {
        let (return_code, timed_out) = exit;
        let status = match (timed_out, return_code) {
            (true, _) => "timeout",
            (false, Some(0)) => "completed",
            _ => "failed",
        };
        let json = super::result::parse_json_object(stdout);
        let score = json.as_ref().and_then(|j| extract_score(j, score_key));
        PostResult {
            command: command.to_string(),
            status: status.to_string(),
            return_code,
            timed_out,
            duration_seconds,
            stdout_path: paths.0,
            stderr_path: paths.1,
            json,
            score,
            score_key: score_key.to_string(),
        }
    }

    /// Whether it passed (§4.3): completed, printed one JSON object, passing or absent status.
    pub fn passed(&self) -> bool {
        let payload = self.json.clone().map(Value::Object);
        post_command_passed(&self.status, payload.as_ref())
    }

    /// As JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What optimization mode compares a score with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// The baseline score (only from a passing baseline).
    pub baseline: Option<f64>,
    /// The best verified score so far.
    pub previous_best: Option<f64>,
    /// `--stop-score`.
    pub stop_score: Option<f64>,
    /// Direction.
    pub higher_is_better: bool,
}

/// The result.json update for a post-attempt run; `optimization` is `Some` in optimization mode.
pub fn post_attempt_update(
    post: &PostResult,
    score_key: &str,
    optimization: Option<&Standing>,
) -> Value {
    let passed = post.passed();
    let mut verification = json!({
        "status": if passed { "passed" } else { post.status.as_str() },
        "command": post.command,
        "return_code": post.return_code,
        "timed_out": post.timed_out,
        "stdout_path": post.stdout_path,
        "stderr_path": post.stderr_path,
    });
    let mut update = json!({"post_attempt": post.to_value()});
    if let Some(score) = post.score {
        verification[score_key] = json!(score);
        verification["score"] = json!(score);
        let mut metrics = Map::new();
        for key in [score_key, post.score_key.as_str(), "score"] {
            metrics.insert(key.to_string(), json!(score));
        }
        update["metrics"] = Value::Object(metrics);
    }
    update["verification"] = verification;
    match optimization {
        None if passed => {
            update["status"] = json!("solved");
            update["verified"] = json!(true);
        }
        None => {}
        Some(standing) => apply_optimization(&mut update, post, score_key, standing),
    }
    update
}

fn apply_optimization(update: &mut Value, post: &PostResult, score_key: &str, s: &Standing) {
    let passed = post.passed();
    let mut block = json!({
        "mode": "optimization",
        "score_key": score_key,
        "higher_is_better": s.higher_is_better,
        "baseline_score": s.baseline,
        "previous_best_score": s.previous_best,
        "current_score": post.score,
    });
    let improved = post
        .score
        .zip(s.baseline)
        .is_some_and(|(score, base)| is_better_score(score, base, s.higher_is_better));
    if let Some(score) = post.score {
        block["target_reached"] = json!(reached_stop_score(
            Some(score),
            s.stop_score,
            s.higher_is_better
        ));
        block["improved_from_previous_best"] = json!(
            s.previous_best
                .is_none_or(|best| is_better_score(score, best, s.higher_is_better))
        );
        if let Some(base) = s.baseline {
            block["improved_from_baseline"] = json!(improved);
            block["delta_from_baseline"] = json!(score - base);
            if base != 0.0 {
                let (key, value) = if s.higher_is_better {
                    ("relative_improvement", score / base - 1.0)
                } else {
                    ("relative_reduction", 1.0 - score / base)
                };
                block[key] = json!(value);
            }
        }
    }
    update["optimization"] = block;
    if !passed {
        return;
    }
    if reached_stop_score(post.score, s.stop_score, s.higher_is_better) {
        update["status"] = json!("solved");
    } else {
        update["status"] = json!(if improved { "improved" } else { "verified" });
    }
    update["verified"] = json!(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(stdout: &str, code: i64, timed_out: bool) -> PostResult {
        PostResult::new(
            "python3 bench.py",
            (Some(code), timed_out),
            1.0,
            ("o".into(), "e".into()),
            stdout,
            "best_cycles",
        )
    }

    #[test]
    fn a_passing_json_object_solves_outside_optimization() {
        let p = post(r#"{"status": "passed", "score": 1.0}"#, 0, false);
        assert!(p.passed());
        let u = post_attempt_update(&p, "score", None);
        assert_eq!(u["status"], "solved");
        assert_eq!(u["verified"], true);
        assert_eq!(u["verification"]["status"], "passed");
        assert_eq!(u["metrics"]["score"], 1.0);
    }

    #[test]
    fn output_that_is_not_a_json_object_does_not_pass() {
        for stdout in ["all good", "[1, 2]", "log line\n{\"status\": \"passed\"}"] {
            let p = post(stdout, 0, false);
            assert!(!p.passed(), "{stdout}");
            let u = post_attempt_update(&p, "score", None);
            assert!(u.get("status").is_none());
            assert_eq!(u["verification"]["status"], "completed");
        }
        let failed = post(r#"{"status": "passed"}"#, 1, false);
        assert_eq!(
            post_attempt_update(&failed, "score", None)["verification"]["status"],
            "failed"
        );
    }

    #[test]
    fn optimization_reports_improvement_against_a_baseline() {
        let p = post(r#"{"status": "passed", "best_cycles": 4}"#, 0, false);
        let standing = Standing {
            baseline: Some(10.0),
            previous_best: Some(10.0),
            stop_score: None,
            higher_is_better: false,
        };
        let u = post_attempt_update(&p, "best_cycles", Some(&standing));
        assert_eq!(u["status"], "improved");
        assert_eq!(u["optimization"]["improved_from_baseline"], true);
        assert_eq!(u["optimization"]["delta_from_baseline"], -6.0);
        assert_eq!(u["optimization"]["relative_reduction"], 0.6);
        assert_eq!(u["metrics"]["best_cycles"], 4.0);
    }

    #[test]
    fn a_target_only_counts_for_a_passing_command() {
        let standing = Standing {
            baseline: None,
            previous_best: None,
            stop_score: Some(5.0),
            higher_is_better: false,
        };
        let good = post(r#"{"status": "passed", "best_cycles": 4}"#, 0, false);
        assert_eq!(
            post_attempt_update(&good, "best_cycles", Some(&standing))["status"],
            "solved"
        );
        let failing = post(r#"{"status": "failed", "best_cycles": 4}"#, 0, false);
        let u = post_attempt_update(&failing, "best_cycles", Some(&standing));
        assert!(u.get("status").is_none(), "{u}");
        assert_eq!(u["optimization"]["target_reached"], true);
        let no_baseline = post(r#"{"best_cycles": 9}"#, 0, false);
        assert_eq!(
            post_attempt_update(&no_baseline, "best_cycles", Some(&standing))["status"],
            "verified"
        );
    }
}
