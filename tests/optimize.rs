//! Post-attempt scoring and optimization mode end to end (reference §11 test_post_attempt): the
//! built binary, scripted fake attempts in session containers, scoring in fresh containers.

mod common;

use std::time::{Duration, Instant};

use common::{TestRun, run_fake as run, run_json as json_at, write};
use harnessgym::sandbox::labels;
use serde_json::Value;

const SCORE_PY: &str = "import json\nv = int(open('value.txt').read())\nprint(json.dumps({'status': 'passed', 'best_cycles': v}))\n";

/// A workspace whose score is the number in `value.txt`, and attempt `n` writes `values[n-1]`.
fn workspace(values: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "task.md", "Make best_cycles small.\n");
    write(dir.path(), "value.txt", "10\n");
    write(dir.path(), "score.py", SCORE_PY);
    for (i, script) in values.iter().enumerate() {
        write(
            dir.path(),
            &format!(".fake_runner/attempt_{}.sh", i + 1),
            script,
        );
    }
    dir
}

fn set_value(v: u32) -> String {
    format!(
        "echo {v} > value.txt\necho '{{\"status\": \"incomplete\"}}' > \"$HARNESSGYM_RESULT\"\n"
    )
}

const OPTIMIZE: &[&str] = &[
    "--optimization-mode",
    "--post-attempt-command",
    "python3 score.py",
    "--score-key",
    "best_cycles",
];

async fn no_containers_left(t: &TestRun) {
    let left = t
        .engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert!(left.is_empty(), "containers left: {left:?}");
}

#[tokio::test]
async fn a_passing_post_command_marks_the_attempt_solved() {
    let t = TestRun::new("post-solved").await;
    let ws = workspace(&[]);
    write(
        ws.path(),
        "check.py",
        "import json\nprint(json.dumps({'status': 'passed', 'score': 1.0}))\n",
    );
    run(
        &t,
        ws.path(),
        3,
        &["--post-attempt-command", "python3 check.py"],
    )
    .await;
    let summary = json_at(ws.path(), &t, "summary.json");
    assert_eq!(
        summary["iterations"].as_array().map(Vec::len),
        Some(1),
        "a verified solve stops the loop"
    );
    let result = json_at(ws.path(), &t, "iterations/1/result.json");
    assert_eq!(result["status"], "solved");
    assert_eq!(result["verification"]["status"], "passed");
    assert_eq!(result["metrics"]["score"], 1.0);
    assert!(
        ws.path()
            .join(".harnessgym/runs")
            .join(&t.run)
            .join("iterations/1/post_attempt.stdout.txt")
            .is_file()
    );
    no_containers_left(&t).await;
    t.cleanup().await;
}

#[tokio::test]
async fn output_that_is_not_a_json_object_does_not_pass() {
    let t = TestRun::new("post-nonjson").await;
    let ws = workspace(&[]);
    run(
        &t,
        ws.path(),
        1,
        &["--post-attempt-command", "echo all good"],
    )
    .await;
    let result = json_at(ws.path(), &t, "iterations/1/result.json");
    assert_ne!(result["status"], "solved");
    assert_eq!(
        result["verification"]["status"], "completed",
        "completed, but not a pass"
    );
    assert_eq!(result["post_attempt"]["json"], Value::Null);
    t.cleanup().await;
}

#[tokio::test]
async fn a_timed_out_attempt_that_improved_the_workspace_is_scored_improved() {
    let t = TestRun::new("post-timeout-improved").await;
    let ws = workspace(&["echo 4 > value.txt\nsleep 60\n"]);
    let mut extra = OPTIMIZE.to_vec();
    extra.extend(["--attempt-timeout", "2s"]);
    run(&t, ws.path(), 1, &extra).await;
    let result = json_at(ws.path(), &t, "iterations/1/result.json");
    assert_eq!(result["phases"]["attempt"]["status"], "timeout");
    assert_eq!(result["post_attempt"]["score"], 4.0);
    assert_eq!(result["optimization"]["improved_from_baseline"], true);
    assert_eq!(result["metrics"]["best_cycles"], 4.0);
    let summary = json_at(ws.path(), &t, "summary.json");
    assert_eq!(summary["solved"], false);
    assert_eq!(summary["optimization"]["improved"], true);
    assert_eq!(summary["optimization"]["baseline_score"], 10.0);
    assert_eq!(summary["best_score"], 4.0);
    t.cleanup().await;
}

#[tokio::test]
async fn the_best_iteration_is_restored_and_scored_again() {
    let t = TestRun::new("restore-best").await;
    let ws = workspace(&[&set_value(4), &set_value(8)]);
    run(&t, ws.path(), 2, OPTIMIZE).await;
    assert_eq!(
        std::fs::read_to_string(ws.path().join("value.txt"))
            .expect("read")
            .trim(),
        "4"
    );
    let summary = json_at(ws.path(), &t, "summary.json");
    let checkpoint = &summary["best_checkpoint"];
    assert_eq!(checkpoint["restored"], true);
    assert_eq!(checkpoint["restore"]["iteration"], 1);
    assert_eq!(checkpoint["restore"]["post_restore"]["score"], 4.0);
    assert_eq!(checkpoint["restore"]["post_restore_passed"], true);
    assert_eq!(summary["best_score"], 4.0);
    let last = json_at(ws.path(), &t, "iterations/2/result.json");
    assert_eq!(
        last["optimization"]["restored_best_checkpoint"]["score"],
        4.0
    );
    let manifest = json_at(ws.path(), &t, "checkpoints/best_manifest.json");
    // Every file of the checkpointed state, as the reference lists them.
    assert_eq!(
        manifest["files"],
        serde_json::json!([
            ".fake_runner/attempt_1.sh",
            ".fake_runner/attempt_2.sh",
            "score.py",
            "task.md",
            "value.txt"
        ])
    );
    let best = t
        .engine
        .inspect_image(manifest["checkpoint_path"].as_str().expect("ref"))
        .await
        .expect("inspect");
    let attempt = json_at(ws.path(), &t, "snapshots/iteration-1-attempt.json");
    assert_eq!(
        best.and_then(|i| i.id).as_deref(),
        attempt["image_id"].as_str(),
        "a tag on the attempt layer"
    );
    no_containers_left(&t).await;
    t.cleanup().await;
}

#[tokio::test]
async fn without_restore_the_final_state_stays() {
    let t = TestRun::new("no-restore").await;
    let ws = workspace(&[&set_value(4), &set_value(8)]);
    let mut extra = OPTIMIZE.to_vec();
    extra.push("--no-restore-best");
    run(&t, ws.path(), 2, &extra).await;
    assert_eq!(
        std::fs::read_to_string(ws.path().join("value.txt"))
            .expect("read")
            .trim(),
        "8"
    );
    let summary = json_at(ws.path(), &t, "summary.json");
    assert_eq!(summary["best_checkpoint"]["enabled"], false);
    assert_eq!(summary["best_checkpoint"]["reason"], "disabled_by_config");
    assert_eq!(summary["best_checkpoint"]["restored"], false);
    t.cleanup().await;
}

#[tokio::test]
async fn a_post_command_whose_grandchild_holds_the_pipe_ends_at_its_timeout() {
    let t = TestRun::new("post-grandchild").await;
    let ws = workspace(&[]);
    let started = Instant::now();
    run(
        &t,
        ws.path(),
        1,
        &[
            "--post-attempt-command",
            "sh -c 'sleep 60' & sleep 60",
            "--post-attempt-timeout",
            "2s",
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "took {:?}",
        started.elapsed()
    );
    let result = json_at(ws.path(), &t, "iterations/1/result.json");
    assert_eq!(result["post_attempt"]["status"], "timeout");
    assert_eq!(result["post_attempt"]["timed_out"], true);
    let stderr = std::fs::read_to_string(
        ws.path()
            .join(".harnessgym/runs")
            .join(&t.run)
            .join("iterations/1/post_attempt.stderr.txt"),
    )
    .expect("read");
    assert!(stderr.contains("Timed out after 2s"), "{stderr}");
    t.cleanup().await;
}

#[tokio::test]
async fn a_checkpoint_of_a_large_workspace_costs_about_the_change() {
    let t = TestRun::new("checkpoint-cost").await;
    let ws = workspace(&[&set_value(4)]);
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let blob: Vec<u8> = (0..(48 << 20) / 8)
        .flat_map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()
        })
        .collect();
    std::fs::write(ws.path().join("data.bin"), blob).expect("write");
    run(&t, ws.path(), 1, OPTIMIZE).await;
    let manifest = json_at(ws.path(), &t, "checkpoints/best_manifest.json");
    let images = t
        .engine
        .list_images_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    let size_of = |name: &str| {
        images
            .iter()
            .find(|i| {
                i.labels
                    .get(harnessgym::snapshot::NAME_LABEL)
                    .map(String::as_str)
                    == Some(name)
            })
            .map(|i| i.size)
            .unwrap_or_else(|| panic!("no {name} snapshot"))
    };
    let baseline = size_of("baseline");
    let best = size_of("iteration-1-attempt");
    assert_eq!(manifest["iteration"], 1);
    let base_image = t
        .engine
        .inspect_image(common::BASE)
        .await
        .expect("inspect")
        .and_then(|i| i.size)
        .expect("size");
    let workspace_bytes = baseline - base_image;
    let checkpoint_bytes = best - baseline;
    assert!(
        workspace_bytes > 40 << 20,
        "the baseline layer holds the workspace ({workspace_bytes})"
    );
    let ratio = checkpoint_bytes as f64 / workspace_bytes as f64;
    assert!(
        ratio < 0.02,
        "the checkpoint added {checkpoint_bytes} bytes for a {workspace_bytes}-byte workspace (ratio {ratio:.4})"
    );
    t.cleanup().await;
}

/// `harnessgym <args>` in `cwd`, off the runtime.
async fn cli(cwd: &std::path::Path, args: Vec<String>) -> std::process::Output {
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(common::BIN)
            .current_dir(cwd)
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn a_run_keeps_baseline_final_and_best_says_so_and_best_exports_by_name() {
    let t = TestRun::new("keep-best").await;
    let ws = workspace(&[&set_value(4), &set_value(8)]);
    let mut args: Vec<String> = [
        "run",
        "--task",
        "task.md",
        "--iterations",
        "2",
        "--runner",
        "fake",
        "--run-id",
        &t.run,
        "--attempt-timeout",
        "20s",
        "--build-timeout",
        "20s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(OPTIMIZE.iter().map(|s| s.to_string()));
    let out = cli(ws.path(), args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let note = stderr
        .lines()
        .find(|l| l.starts_with("kept "))
        .unwrap_or_else(|| panic!("no note of what was kept: {stderr}"));
    assert!(
        note.contains("baseline")
            && note.contains("iteration-2")
            && note.contains("best")
            && note.contains(&format!("harnessgym gc --run {}", t.run)),
        "{note}"
    );
    let listed = cli(
        ws.path(),
        vec![
            "snapshot".into(),
            "list".into(),
            "--run".into(),
            t.run.clone(),
        ],
    )
    .await;
    let listed = String::from_utf8_lossy(&listed.stdout);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    for name in ["baseline", "iteration-2", "best", "iteration-1-attempt"] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    assert!(
        !names.contains(&"iteration-1"),
        "the rest is removed: {names:?}"
    );
    let out_file = ws.path().join("best.tar.gz");
    let exported = cli(
        ws.path(),
        [
            "snapshot", "export", "--run", &t.run, "--name", "best", "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out_file.display().to_string()])
        .collect(),
    )
    .await;
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let file = std::fs::File::open(&out_file).expect("export");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut value = String::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").ends_with("value.txt") {
            std::io::Read::read_to_string(&mut entry, &mut value).expect("read");
        }
    }
    assert_eq!(value.trim(), "4", "the best state");
    let gc = cli(ws.path(), vec!["gc".into(), "--run".into(), t.run.clone()]).await;
    assert_eq!(gc.status.code(), Some(0));
    assert_eq!(
        common::count_labelled(&t.engine, &t.run).await,
        0,
        "gc --run removes what was kept"
    );
    t.cleanup().await;
}
