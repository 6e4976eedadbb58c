//! What a new user meets first (issue 10 items 5 and 9), from the built binary: each message as
//! a whole snapshot of exit code, stdout and stderr, with temporary paths filtered.
//!
//! Only the missing-image test talks to the Docker engine, and only to inspect an image.

mod common;

use std::path::Path;

use common::snapshot::{Filters, assert_snapshot, harnessgym, mask};

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    harnessgym()
        .args(args)
        .current_dir(dir)
        .env_remove("HARNESSGYM_LOG")
        .output()
        .expect("the binary runs")
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn the_snapshot_filters_hide_paths_ids_and_times() {
    let filters = Filters::new()
        .path(Path::new("/tmp/abc"), "[WS]")
        .path(Path::new("/tmp/abc/task.md"), "[TASK]");
    assert_eq!(
        filters.apply(
            "/tmp/abc/task.md in /tmp/abc, run 20260519T035754Z-1a2b3c4d at \
             2026-05-19T03:57:54+00:00 and 2026-05-19T04:00:00.123456Z."
        ),
        "[TASK] in [WS], run [RUN_ID] at [TIME] and [TIME]."
    );
    let upper = "20260519T035754Z-1A2B3C4D";
    assert_eq!(mask(upper, "DDDDDDDDTDDDDDDZ-HHHHHHHH", "x"), upper);
}

#[test]
fn missing_required_flags_are_named() {
    let dir = tempdir();
    let out = run_in(dir.path(), &["run", "--workspace", "w"]);
    assert_snapshot(
        &Filters::new().snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: the following required arguments were not provided:
  <--task <PATH>|--task-text <TEXT>>

Usage: harnessgym run --workspace <DIR> <--task <PATH>|--task-text <TEXT>>

  hint: see `harnessgym run --help` for every flag and its values
",
    );
}

#[test]
fn an_invalid_runner_lists_the_valid_ones() {
    let dir = tempdir();
    let out = run_in(
        dir.path(),
        &["run", "--runner", "codex", "--task-text", "x"],
    );
    assert_snapshot(
        &Filters::new().snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: invalid value 'codex' for '--runner <RUNNER>'
  [possible values: exec, claude, fake, custom, tui-goal]

  tip: a similar value exists: 'claude'

  hint: see `harnessgym run --help` for every flag and its values
",
    );
}

#[test]
fn a_negative_duration_reaches_the_duration_parser() {
    let dir = tempdir();
    let out = run_in(
        dir.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--task-text",
            "x",
            "--attempt-timeout",
            "-5s",
        ],
    );
    assert_snapshot(
        &Filters::new().snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: invalid value '-5s' for '--attempt-timeout <D>': a duration cannot be negative; expected a whole number of seconds (`90`) or number-unit parts without spaces (`45m`, `1h30m`, `2m10s`; units s, m, h, d) adding up to more than zero

  hint: see `harnessgym run --help` for every flag and its values
",
    );
    let out = run_in(
        dir.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--task-text",
            "x",
            "--attempt-timeouts",
            "5m,-1m",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with(
            "harnessgym: error: invalid value '5m,-1m' for '--attempt-timeouts <LIST>': entry \"-1m\": a duration cannot be negative; "
        ),
        "{stderr}"
    );
}

#[test]
fn a_task_that_is_a_directory_says_so() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("tasks")).expect("mkdir");
    let out = run_in(
        dir.path(),
        &[
            "run",
            "--runner",
            "fake",
            "--task",
            "tasks",
            "--workspace",
            ".",
        ],
    );
    assert_snapshot(
        &Filters::new().path(dir.path(), "[WS]").snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: task [WS]/tasks is a directory, not a file
  hint: pass the task file itself, e.g. `--task [WS]/tasks/task.md`, or the task as text with --task-text
",
    );
    assert!(
        !dir.path().join(".harnessgym").exists(),
        "nothing is created"
    );
}

#[test]
fn compare_checks_its_flags_before_it_contacts_the_engine() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("tpl")).expect("template");
    std::fs::create_dir_all(dir.path().join("out/plain/trial_1")).expect("an earlier trial");
    let filters = Filters::new().path(dir.path(), "[DIR]");
    let out = run_in(dir.path(), &["compare"]);
    assert_snapshot(
        &filters.snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: the following required arguments were not provided:
  --task <PATH>
  --workspace-template <DIR>
  --output-dir <DIR>

Usage: harnessgym compare --task <PATH> --workspace-template <DIR> --output-dir <DIR>

  hint: see `harnessgym compare --help` for every flag and its values
",
    );
    let base = ["compare", "--task-text", "x", "--workspace-template", "tpl"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let refused = with(&[
        "--output-dir",
        "o",
        "--runner",
        "fake",
        "--optimization-mode",
    ]);
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    assert_snapshot(
        &filters.snapshot(&run_in(dir.path(), &refused)),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: unexpected argument '--optimization-mode' found

Usage: harnessgym compare --task-text <TEXT> --workspace-template <DIR> --output-dir <DIR> --runner <RUNNER>

  hint: see `harnessgym compare --help` for every flag and its values
",
    );
    let exists = with(&["--output-dir", "out", "--runner", "fake"]);
    let exists: Vec<&str> = exists.iter().map(String::as_str).collect();
    assert_snapshot(
        &filters.snapshot(&run_in(dir.path(), &exists)),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: trial directory [DIR]/out/plain/trial_1 already exists
  hint: pass --overwrite to replace the earlier trials, or pick another --output-dir
",
    );
    let out = run_in(
        dir.path(),
        &["compare", "--rerun", "out", "plain/1", "--trials", "3"],
    );
    assert_snapshot(
        &filters.snapshot(&out),
        "exit: 2
----- stdout -----
----- stderr -----
harnessgym: error: --rerun takes every setting from the trial's record; these flags cannot go with it: --trials
  hint: only -v, -q, --docker-host and --engine-calls go with --rerun; edit nothing else
",
    );
    assert!(!dir.path().join("o").exists(), "nothing is created");
    let help = run_in(dir.path(), &["--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout)
            .lines()
            .any(|l| l.trim_start().starts_with("compare ")),
        "compare is listed in --help"
    );
}

#[test]
fn help_and_version_are_unchanged() {
    let dir = tempdir();
    let out = run_in(dir.path(), &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("harnessgym {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run_in(dir.path(), &["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--attempt-timeout <D>"));
    assert!(out.stderr.is_empty());
}

#[test]
fn doctor_with_an_unreachable_engine_does_not_point_at_itself() {
    let dir = tempdir();
    let out = run_in(
        dir.path(),
        &["--docker-host", "unix:///nonexistent.sock", "doctor"],
    );
    assert_snapshot(
        &Filters::new().snapshot(&out),
        "exit: 3
----- stdout -----
FAIL  engine         harnessgym: error: cannot reach the Docker engine at unix:///nonexistent.sock: is it running?   caused by: Socket not found: /nonexistent.sock
hint: start the engine or set `--docker-host`/`DOCKER_HOST`
----- stderr -----
",
    );
}

#[test]
fn other_commands_with_an_unreachable_engine_point_at_doctor_in_the_hint() {
    let dir = tempdir();
    let out = run_in(
        dir.path(),
        &["--docker-host", "unix:///nonexistent.sock", "gc"],
    );
    assert_snapshot(
        &Filters::new().snapshot(&out),
        "exit: 3
----- stdout -----
----- stderr -----
harnessgym: error: cannot reach the Docker engine at unix:///nonexistent.sock: is it running?
  caused by: Socket not found: /nonexistent.sock
  hint: start the engine (`sudo systemctl start docker`) or point `--docker-host`/`DOCKER_HOST` at its socket, e.g. `unix:///var/run/docker.sock`; `harnessgym doctor` checks the whole setup
",
    );
}

#[test]
fn a_missing_image_leaves_nothing_in_the_workspace() {
    let dir = tempdir();
    let ws = tempdir();
    let out = run_in(
        dir.path(),
        &[
            "run",
            "--image",
            "harnessgym/does-not-exist:1",
            "--runner",
            "fake",
            "--task-text",
            "x",
            "--workspace",
            &ws.path().display().to_string(),
        ],
    );
    assert_snapshot(
        &Filters::new().path(ws.path(), "[WS]").snapshot(&out),
        "exit: 3
----- stdout -----
----- stderr -----
harnessgym: error: image `harnessgym/does-not-exist:1` is not present in the Docker engine
  hint: build the images with `harnessgym image build` (or `make image`)
",
    );
    let left: Vec<_> = std::fs::read_dir(ws.path())
        .expect("read the workspace")
        .map(|entry| entry.map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "the workspace is untouched: {left:?}");
}
