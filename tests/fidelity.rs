//! Our files against the reference's: the fake runner on the same inputs as the fixtures in
//! `tests/fixtures/reference/` (made with HarnessGym 0.1.1 by `make.sh`), compared by keys and
//! types everywhere and by value where the value is deterministic. `harnessgym` blocks are ours
//! (a `format_version`ed addition) and skipped; everything else must have the reference's shape.

mod common;

use std::path::{Path, PathBuf};

use common::shape::{Shape, render};
use common::{TestRun, copy_dir, run_fake};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reference");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compare `rel` of our run with the same file of the reference scenario.
fn same_shape(scenario: &str, ours: &Path, rel: &str, shape: &Shape) -> Option<String> {
    let theirs = read_json(&Path::new(FIXTURES).join(scenario).join(rel));
    let path = ours.join(rel);
    if !path.exists() {
        return Some(format!("{rel}: missing in ours"));
    }
    let diffs = shape.compare(&theirs, &read_json(&path));
    (!diffs.is_empty()).then(|| format!("{rel}:\n{}", render(&diffs)))
}

/// The shapes every run file is held to.
fn shape_of(rel: &str) -> Shape {
    let common = Shape::new().ignore(["/harnessgym", "/*/harnessgym"]);
    match rel {
        "summary.json" => common.exact([
            "/final_status",
            "/solved",
            "/best_score",
            "/iterations/*/iteration",
            "/iterations/*/status",
            "/iterations/*/solved",
            "/optimization/enabled",
            "/optimization/improved",
            "/optimization/baseline_score",
            "/optimization/best_score",
            "/best_checkpoint/enabled",
            "/best_checkpoint/restored",
            "/harness_quality_gates/*/status",
            "/harness_usage/*/active_tool_count",
        ]),
        "run_config.json" => common.exact([
            "/iterations",
            "/runner",
            "/task_state",
            "/harness_depth",
            "/score_key",
            "/optimization_mode",
            "/qualify_artifacts",
        ]),
        _ if rel.ends_with("result.json") => common.exact([
            "/status",
            "/verified",
            "/iteration",
            "/registry_artifact_count",
            "/harness_usage/inferred_artifact_use_count",
            "/harness_usage/inferred_harness_artifacts",
            "/harness_usage/used_harness_artifacts",
            "/harness_usage/active_tool_count",
            "/artifact_qualification/status",
            "/artifact_qualification/copied_artifacts",
            "/optimization/best_checkpoint/iteration",
            "/optimization/best_checkpoint/files",
            "/tooling/summary",
            "/summary",
            "/reflection",
        ]),
        _ if rel.ends_with("qualification.json") => {
            common.exact(["/status", "/copied_artifacts", "/failed_artifacts"])
        }
        _ if rel.ends_with("best_manifest.json") => {
            common.exact(["/iteration", "/score", "/reason", "/files", "/file_count"])
        }
        _ => common.exact(["/quality_gate/status"]),
    }
}

/// The closing lines, with ids and paths made the fixtures' placeholders.
fn stdout_lines(out: &[u8], ws: &Path, run: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    let ws = ws.canonicalize().expect("canonical").display().to_string();
    text.lines()
        .map(|l| l.replace(&ws, "<WS>").replace(run, "<RUN_ID>"))
        .collect()
}

async fn compare_scenario(scenario: &str, example: &str, extra: &[&str], files: &[&str]) {
    let t = TestRun::new(&format!("fidelity-{scenario}")).await;
    let ws = copy_dir(&Path::new(EXAMPLES).join(example));
    // The reference's fake runner ignores scripted phases; the fixtures were made without them.
    let _ = std::fs::remove_dir_all(ws.path().join(".fake_runner"));
    let out = run_fake(&t, ws.path(), 2, extra).await;
    let run_dir: PathBuf = ws
        .path()
        .canonicalize()
        .expect("canonical")
        .join(".harnessgym/runs")
        .join(&t.run);
    let mut problems: Vec<String> = files
        .iter()
        .filter_map(|rel| same_shape(scenario, &run_dir, rel, &shape_of(rel)))
        .collect();
    let theirs = std::fs::read_to_string(Path::new(FIXTURES).join(scenario).join("stdout.txt"))
        .expect("reference stdout");
    let theirs: Vec<String> = theirs.lines().map(str::to_string).collect();
    let ours = stdout_lines(&out.stdout, ws.path(), &t.run);
    if ours != theirs {
        problems.push(format!(
            "stdout:\n  expected {theirs:?}\n  found    {ours:?}"
        ));
    }
    assert!(
        problems.is_empty(),
        "{scenario}: our files differ from the reference's:\n{}",
        problems.join("\n")
    );
    t.cleanup().await;
}

#[tokio::test]
async fn the_demo_writes_the_references_files() {
    compare_scenario(
        "demo",
        "numerical_debug_task",
        &["--attempt-timeout", "10s", "--build-timeout", "10s"],
        &[
            "summary.json",
            "run_config.json",
            "iterations/1/result.json",
            "iterations/2/result.json",
            "iterations/1/activation.json",
            "iterations/1/post_build_activation.json",
            "iterations/1/qualification/attempt_1/qualification.json",
        ],
    )
    .await;
}

#[tokio::test]
async fn optimization_mode_writes_the_references_files() {
    compare_scenario(
        "optimize",
        "c_kernel_optimization_task",
        &[
            "--attempt-timeout",
            "1m",
            "--build-timeout",
            "1m",
            "--optimization-mode",
            "--post-attempt-command",
            "python3 benchmark.py --json --mode final",
            "--score-key",
            "best_cycles",
        ],
        &[
            "summary.json",
            "run_config.json",
            "iterations/1/result.json",
            "iterations/2/result.json",
            "checkpoints/best_manifest.json",
        ],
    )
    .await;
}

#[tokio::test]
async fn without_qualification_no_qualification_block_is_written() {
    compare_scenario(
        "no-qualify",
        "numerical_debug_task",
        &[
            "--attempt-timeout",
            "10s",
            "--build-timeout",
            "10s",
            "--no-qualify-artifacts",
        ],
        &["summary.json", "iterations/1/result.json"],
    )
    .await;
}
