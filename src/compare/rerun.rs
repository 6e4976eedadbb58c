//! `--rerun REPORT TRIAL`: find a finished trial's record, make a fresh directory next to it
//! (`<output-dir>/<group>/trial_<k>-rerun-<n>`, the first free `n`), and say how the re-run's
//! result compares with the original's. The compare's report is left as it was.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::config::{Group, Settings};
use super::error::CompareError;
use super::run::{REPORT, Slot};
use crate::harness::json::read_json_tolerant;

/// The trial to re-run, as recorded.
#[derive(Debug)]
pub struct Target {
    /// Its `trial.json`.
    pub record: Value,
    /// The compare's settings from it.
    pub settings: Settings,
    /// Where the re-run goes.
    pub slot: Slot,
}

/// `plain/2` → (plain, 2).
fn parse_trial(text: &str) -> Option<(Group, u32)> {
    let (group, k) = text.trim_end_matches('/').split_once('/')?;
    let k = k.strip_prefix("trial_").unwrap_or(k).parse().ok()?;
    Some((Group::parse(group)?, k)).filter(|(_, k)| *k > 0)
}

/// The compare directory of `report` (the report file or its directory), from `cwd`.
fn compare_dir(report: &Path, cwd: &Path) -> PathBuf {
    let path = cwd.join(report);
    if path.file_name().is_some_and(|n| n == REPORT) {
        path.parent().map(Path::to_path_buf).unwrap_or(path)
    } else {
        path
    }
}

/// Find trial `trial` of the compare at `report` and where its re-run goes.
pub fn locate(report: &Path, trial: &str, cwd: &Path) -> Result<Target, CompareError> {
    let (group, k) = parse_trial(trial).ok_or_else(|| CompareError::TrialName {
        trial: trial.to_string(),
    })?;
    let dir = compare_dir(report, cwd);
    let original = dir.join(group.name()).join(format!("trial_{k}"));
    let path = original.join("trial.json");
    let unusable = |source: Box<dyn std::error::Error + Send + Sync>| CompareError::NoRecord {
        trial: trial.to_string(),
        path: path.clone(),
        source,
    };
    let record = read_json_tolerant(&path).map_err(|e| unusable(Box::new(e)))?;
    let settings: Settings =
        serde_json::from_value(record["harnessgym"]["rerun"]["settings"].clone())
            .map_err(|e| unusable(Box::new(e)))?;
    let n = (1..)
        .find(|n| {
            !dir.join(group.name())
                .join(format!("trial_{k}-rerun-{n}"))
                .exists()
        })
        .unwrap_or(1);
    let slot = Slot {
        group,
        k,
        root: dir.join(group.name()).join(format!("trial_{k}-rerun-{n}")),
        run_id: format!(
            "{}-rerun-{n}",
            super::config::trial_run_id(&settings.compare_id, group, k)
        ),
    };
    Ok(Target {
        record,
        settings,
        slot,
    })
}

/// One value of a record as the comparison shows it.
fn shown(record: &Value, key: &str) -> String {
    match &record[key] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn validity(record: &Value) -> &'static str {
    match record["post_valid"].as_bool() {
        Some(true) => "valid",
        Some(false) => "invalid",
        None if record["comparison_valid"] == Value::Bool(true) => "valid (not scored)",
        None => "invalid",
    }
}

/// The lines that say how `rerun` compares with `original`.
pub fn comparison_lines(original: &Value, rerun: &Value) -> Vec<String> {
    let row = |name: &str, r: &Value| {
        format!(
            "{name:<9} status={} post_score={} attempt={:.1}s {}",
            shown(r, "status"),
            shown(r, "post_score"),
            r["attempt_duration_seconds"].as_f64().unwrap_or(0.0),
            validity(r)
        )
    };
    let mut lines = vec![row("original:", original), row("re-run:", rerun)];
    let same = ["status", "post_score", "post_valid", "comparison_valid"]
        .iter()
        .all(|key| original[*key] == rerun[*key]);
    lines.push(if same {
        "Same result: status, post score and validity match.".to_string()
    } else {
        let changed: Vec<&str> = ["status", "post_score", "post_valid", "comparison_valid"]
            .into_iter()
            .filter(|key| original[*key] != rerun[*key])
            .collect();
        format!("Different result: {} changed.", changed.join(", "))
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trials_are_named_by_group_and_number() {
        assert_eq!(parse_trial("harnessed/2"), Some((Group::Harnessed, 2)));
        assert_eq!(parse_trial("plain/trial_3/"), Some((Group::Plain, 3)));
        for bad in ["plain", "other/1", "plain/0", "plain/x"] {
            assert_eq!(parse_trial(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_comparison_names_what_changed() {
        let a = json!({"status": "blocked", "post_score": 7.0, "post_valid": true, "comparison_valid": true});
        let mut b = a.clone();
        assert!(comparison_lines(&a, &b)[2].starts_with("Same result"));
        b["post_score"] = json!(8.0);
        assert_eq!(
            comparison_lines(&a, &b)[2],
            "Different result: post_score changed."
        );
    }
}
