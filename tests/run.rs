//! `harnessgym run` end to end: the built binary, the fake runner (some phases replaced by
//! `.fake_runner/*.sh` scripts run in the session container) and a real Docker engine.
//!
//! Every test works on a temp copy of a workspace and passes its `TestRun` label as `--run-id`,
//! so every Docker object of the run carries `dev.harnessgym.run=test-...` and is reaped even
//! when an assertion fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestRun, write};
use harnessgym::sandbox::{Owner, labels};
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_harnessgym");
const PROBE: &str = ".harnessgym/tools/harnessgym_fake_probe.py";
const PROBE_ID: &str = "tool:.harnessgym/tools/harnessgym_fake_probe.py";
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/numerical_debug_task");

// ---------------------------------------------------------------------------------------------
// Helpers

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// `harnessgym <args>` run from `cwd`, off the async runtime.
async fn harnessgym(cwd: &Path, args: Vec<String>) -> Output {
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .current_dir(cwd)
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join")
}

/// `run` on `ws` with the fake runner, 10 s budgets (unless `extra` sets the attempt timeout),
/// the test's run id and `-q`.
fn run_args(t: &TestRun, ws: &Path, iterations: u32, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "run",
        "--task",
        "task.md",
        "--workspace",
        &ws.display().to_string(),
        "--iterations",
        &iterations.to_string(),
        "--build-timeout",
        "10s",
        "--runner",
        "fake",
        "--run-id",
        &t.run,
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !extra.contains(&"--attempt-timeout") {
        args.extend(["--attempt-timeout".to_string(), "10s".to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Run the loop, require exit 0 and no container of the run left behind.
async fn run_ok(t: &TestRun, ws: &Path, iterations: u32, extra: &[&str]) -> Output {
    let out = harnessgym(ws, run_args(t, ws, iterations, extra)).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_no_containers(t).await;
    out
}

async fn containers_of(t: &TestRun) -> usize {
    t.engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list containers")
        .len()
}

async fn assert_no_containers(t: &TestRun) {
    assert_eq!(containers_of(t).await, 0, "containers of {} left", t.run);
}

/// A workspace with a `task.md` and `files`.
fn task_workspace(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "task.md",
        "Do the task described by the scripts.\n",
    );
    for (rel, content) in files {
        write(dir.path(), rel, content);
    }
    dir
}

/// A copy of `examples/numerical_debug_task` (without state a local demo run may have left).
fn demo_workspace() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new(DEMO), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".harnessgym" || name == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn run_dir(t: &TestRun, ws: &Path) -> PathBuf {
    ws.canonicalize()
        .expect("canonical workspace")
        .join(".harnessgym/runs")
        .join(&t.run)
}

fn iter_file(t: &TestRun, ws: &Path, i: u32, name: &str) -> PathBuf {
    run_dir(t, ws).join(format!("iterations/{i}/{name}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn summary(t: &TestRun, ws: &Path) -> Value {
    read_json(&run_dir(t, ws).join("summary.json"))
}

fn result(t: &TestRun, ws: &Path, i: u32) -> Value {
    read_json(&iter_file(t, ws, i, "result.json"))
}

fn statuses(summary: &Value) -> Vec<&str> {
    summary["iterations"]
        .as_array()
        .expect("iterations")
        .iter()
        .map(|e| e["status"].as_str().expect("status"))
        .collect()
}

/// Whether iteration `i` ran reflection and build (their phase files exist).
fn tooling_phases_ran(t: &TestRun, ws: &Path, i: u32) -> [bool; 2] {
    ["reflection.prompt.txt", "build.prompt.txt"].map(|f| iter_file(t, ws, i, f).exists())
}

/// `(name, content)` of every iteration file of the run whose name ends with `suffix`.
fn phase_files(run_dir: &Path, suffix: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for iteration in std::fs::read_dir(run_dir.join("iterations")).expect("ls iterations") {
        for entry in std::fs::read_dir(iteration.expect("entry").path()).expect("ls") {
            let path = entry.expect("entry").path();
            let name = path.display().to_string();
            if name.ends_with(suffix) {
                found.push((name, read(&path)));
            }
        }
    }
    found
}

/// A phase script that writes `json` as the whole result.json.
fn writes_result(json: &str) -> String {
    format!("cat > \"$HARNESSGYM_RESULT\" <<'EOF'\n{json}\nEOF\n")
}

/// Poll `ready` every 200 ms until it holds or `limit` passes.
async fn wait_for(limit: Duration, mut ready: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// The demo

#[tokio::test]
async fn the_demo_builds_the_probe_then_solves_and_fixes_the_kernel_on_the_host() {
    let t = TestRun::new("run-demo").await;
    let ws = demo_workspace();
    let out = run_ok(&t, ws.path(), 2, &[]).await;
    let dir = run_dir(&t, ws.path());
    let s = summary(&t, ws.path());
    assert_eq!(statuses(&s), ["tooling_built", "solved"], "{s:#}");
    assert_eq!(s["solved"], json!(true));
    assert_eq!(s["final_status"], json!("solved"));
    assert_eq!(result(&t, ws.path(), 2)["verification"]["status"], "passed");

    let registry = read_json(&ws.path().join(".harnessgym/registry.json"));
    let probe = registry["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["id"] == PROBE_ID)
        .unwrap_or_else(|| panic!("no probe in {registry:#}"));
    assert_eq!(probe["iteration"], json!(1));
    let kernel = read(&ws.path().join("kernel_ops.py"));
    assert!(
        kernel.contains("math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))"),
        "{kernel}"
    );
    assert!(!kernel.contains("math.sqrt(sum(x * x for x in a)) + math.sqrt("));

    let transcripts = phase_files(&dir, ".transcript.txt");
    for (name, body) in &transcripts {
        assert!(
            body.contains("container_id: ") && body.contains("image_id: "),
            "{name}: {body}"
        );
    }
    let prompts = phase_files(&dir, ".prompt.txt");
    assert_eq!(transcripts.len(), 4, "attempt, reflection, build, attempt");
    let host = ws.path().canonicalize().expect("canonical");
    let host = host.display().to_string();
    for (name, prompt) in &prompts {
        assert!(!prompt.contains(&host), "{name} names the host path {host}");
    }

    let prompt = read(&iter_file(&t, ws.path(), 2, "attempt.prompt.txt"));
    assert!(prompt.contains(PROBE), "{prompt}");
    assert!(prompt.contains("Fake debugging probe that runs verifier.py when present."));
    assert!(prompt.contains("Preview:"), "{prompt}");
    for line in read(&ws.path().join(PROBE))
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        assert!(
            prompt.contains(&format!("    {line}")),
            "no preview line `{line}`:\n{prompt}"
        );
    }

    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        format!("Run id: {}", t.run),
        format!("Run artifacts: {}", dir.display()),
        "Final status: solved".to_string(),
        "Solved and verified: True".to_string(),
        format!(
            "Final result: {}",
            dir.join("iterations/2/result.json").display()
        ),
    ];
    assert_eq!(lines, expected, "{stdout}");
    t.cleanup().await;
}

#[tokio::test]
async fn run_config_has_the_reference_keys_plus_image_engine_and_limits() {
    let t = TestRun::new("run-config").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt.sh",
        &writes_result(r#"{"status":"solved","verified":true}"#),
    )]);
    run_ok(&t, ws.path(), 1, &[]).await;
    let config = read_json(&run_dir(&t, ws.path()).join("run_config.json"));
    for key in [
        "run_id",
        "workspace",
        "task_path",
        "iterations",
        "attempt_timeout_seconds",
        "attempt_timeout_schedule_seconds",
        "build_timeout_seconds",
        "reflection_timeout_seconds",
        "runner",
        "codex_bin",
        "claude_bin",
        "claude_model",
        "claude_permission_mode",
        "claude_max_budget_usd",
        "claude_extra_args",
        "build_after_solve",
        "stop_score",
        "score_key",
        "higher_is_better",
        "task_state",
        "attempt_only",
        "harness_depth",
        "post_attempt_command",
        "post_attempt_score_key",
        "post_attempt_timeout_seconds",
        "optimization_mode",
        "restore_best",
        "qualify_artifacts",
        "artifact_repair_attempts",
    ] {
        assert!(
            config.get(key).is_some(),
            "run_config.json lacks {key}: {config:#}"
        );
    }
    assert_eq!(config["run_id"], json!(t.run));
    assert_eq!(config["runner"], "fake");
    assert_eq!(config["attempt_timeout_seconds"], json!(10));
    let hg = &config["harnessgym"];
    assert!(
        hg["image_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("sha256:")),
        "{hg:#}"
    );
    assert!(
        hg["engine"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "{hg:#}"
    );
    assert!(hg["limits"].is_object(), "{hg:#}");
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Task state

/// Records what it sees (data.txt, the probe tool) in result.json, then edits data.txt.
const RECORDING_ATTEMPT: &str = r#"python3 -c '
import json, os
json.dump({"status": "blocked",
           "seen_data": open("data.txt").read(),
           "seen_tool": os.path.exists(".harnessgym/tools/harnessgym_fake_probe.py")},
          open(os.environ["HARNESSGYM_RESULT"], "w"))
'
echo edited >> data.txt
"#;

/// Two iterations in `mode`: what each attempt saw, and the host data.txt afterwards.
async fn task_state_run(name: &str, mode: &str) -> ([(String, bool); 2], String) {
    let t = TestRun::new(name).await;
    let ws = task_workspace(&[
        ("data.txt", "original\n"),
        (".fake_runner/attempt.sh", RECORDING_ATTEMPT),
    ]);
    run_ok(&t, ws.path(), 2, &["--task-state", mode]).await;
    let seen = [1, 2].map(|i| {
        let r = result(&t, ws.path(), i);
        let data = r["seen_data"].as_str().unwrap_or_else(|| panic!("{r:#}"));
        (data.to_string(), r["seen_tool"] == json!(true))
    });
    let host = read(&ws.path().join("data.txt"));
    t.cleanup().await;
    (seen, host)
}

#[tokio::test]
async fn reset_starts_each_attempt_from_the_original_files_plus_the_built_tool() {
    let (seen, host) = task_state_run("run-reset", "reset").await;
    assert_eq!(seen[0], ("original\n".to_string(), false));
    assert_eq!(
        seen[1],
        ("original\n".to_string(), true),
        "iteration 2 must see the original data and the tool"
    );
    assert_eq!(
        host, "original\nedited\n",
        "only the last iteration's edit reaches the host"
    );
}

#[tokio::test]
async fn continue_starts_each_attempt_from_the_previous_edits_plus_the_built_tool() {
    let (seen, host) = task_state_run("run-continue", "continue").await;
    assert_eq!(seen[0], ("original\n".to_string(), false));
    assert_eq!(
        seen[1],
        ("original\nedited\n".to_string(), true),
        "iteration 2 must see iteration 1's edit and the tool"
    );
    assert_eq!(host, "original\nedited\nedited\n");
}

// ---------------------------------------------------------------------------------------------
// Quarantine and malformed results

#[tokio::test]
async fn a_quarantined_artifact_is_hidden_from_the_attempt_prompt() {
    let t = TestRun::new("run-quarantine").await;
    let registry = json!({
        "version": 1,
        "metadata": {},
        "artifacts": [{
            "id": "tool:.harnessgym/tools/bad.py",
            "kind": "tool",
            "path": ".harnessgym/tools/bad.py",
            "description": "A tool that failed qualification.",
            "iteration": 1,
            "metadata": {
                "quarantined": true,
                "quarantine": {"status": "quarantined", "reason": "self-test failed", "iteration": 1},
            },
        }],
    });
    let ws = task_workspace(&[
        (".harnessgym/tools/bad.py", "raise SystemExit('broken')\n"),
        (".harnessgym/registry.json", &registry.to_string()),
    ]);
    run_ok(&t, ws.path(), 1, &[]).await;
    let prompt = read(&iter_file(&t, ws.path(), 1, "attempt.prompt.txt"));
    assert!(!prompt.contains("bad.py"), "{prompt}");
    assert!(!prompt.contains("failed qualification"), "{prompt}");
    assert!(
        prompt.contains("1 quarantined artifact(s) are hidden from attempts"),
        "{prompt}"
    );
    t.cleanup().await;
}

/// One iteration whose attempt leaves `content` in result.json; the run must record the error.
async fn malformed_result(name: &str, content: &str, error_word: &str) {
    let t = TestRun::new(name).await;
    let script = format!("printf '%s' '{content}' > \"$HARNESSGYM_RESULT\"\n");
    let ws = task_workspace(&[(".fake_runner/attempt.sh", &script)]);
    run_ok(&t, ws.path(), 1, &[]).await;
    let r = result(&t, ws.path(), 1);
    let errors = r["result_errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no result_errors: {r:#}"));
    assert!(
        errors.iter().any(|e| e["phase"] == "attempt"
            && e["error"].as_str().is_some_and(|m| m.contains(error_word))),
        "{errors:?}"
    );
    assert_eq!(r["phases"]["attempt"]["status"], "completed", "{r:#}");
    assert_eq!(
        r["run_id"],
        json!(t.run),
        "harnessgym's own fields are kept"
    );
    assert_eq!(
        r["status"], "tooling_built",
        "fallback then the build's promotion"
    );
    assert_eq!(
        summary(&t, ws.path())["iterations"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    t.cleanup().await;
}

#[tokio::test]
async fn invalid_json_from_the_agent_is_recorded_not_a_crash() {
    malformed_result("run-badjson", "{not json", "not valid JSON").await;
}

#[tokio::test]
async fn a_non_object_result_from_the_agent_is_recorded_not_a_crash() {
    malformed_result("run-array", "[1,2]", "array").await;
}

// ---------------------------------------------------------------------------------------------
// Timeouts

#[tokio::test]
async fn a_timed_out_attempt_gets_the_fallback_status_before_the_build() {
    let t = TestRun::new("run-timeout").await;
    let ws = task_workspace(&[
        (".fake_runner/attempt.sh", "echo started\nsleep 60\n"),
        // Reflection reports the status the attempt left, i.e. after the fallback.
        (
            ".fake_runner/reflection.sh",
            "python3 -c 'import json,os; print(\"status=\" + json.load(open(os.environ[\"HARNESSGYM_RESULT\"]))[\"status\"])'\n",
        ),
    ]);
    let started = Instant::now();
    run_ok(&t, ws.path(), 1, &["--attempt-timeout", "2s"]).await;
    let took = started.elapsed();
    let r = result(&t, ws.path(), 1);
    let attempt = &r["phases"]["attempt"];
    assert_eq!(attempt["status"], "timeout", "{r:#}");
    assert_eq!(attempt["timed_out"], json!(true));
    assert!(
        attempt["duration_seconds"]
            .as_f64()
            .is_some_and(|d| (2.0..12.0).contains(&d)),
        "{attempt}"
    );
    assert!(read(&iter_file(&t, ws.path(), 1, "attempt.stdout.txt")).contains("started"));
    let seen = read(&iter_file(&t, ws.path(), 1, "reflection.stdout.txt"));
    assert_eq!(
        seen.trim(),
        "status=incomplete",
        "fallback of a timed-out attempt"
    );
    assert_eq!(r["status"], "tooling_built", "{r:#}");
    assert!(took < Duration::from_secs(45), "the run took {took:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn the_attempt_timeout_schedule_is_recorded_and_applied_per_iteration() {
    let t = TestRun::new("run-schedule").await;
    let ws = task_workspace(&[(".fake_runner/attempt.sh", "sleep 60\n")]);
    run_ok(&t, ws.path(), 3, &["--attempt-timeouts", "3s,5s"]).await;
    let config = read_json(&run_dir(&t, ws.path()).join("run_config.json"));
    assert_eq!(config["attempt_timeout_schedule_seconds"], json!([3, 5]));
    for (i, budget) in [(1, 3.0), (2, 5.0), (3, 5.0)] {
        let r = result(&t, ws.path(), i);
        let attempt = &r["phases"]["attempt"];
        assert_eq!(attempt["status"], "timeout", "iteration {i}: {attempt}");
        let took = attempt["duration_seconds"].as_f64().expect("duration");
        assert!(
            took >= budget && took < budget + 10.0,
            "iteration {i}: {took} s for a {budget} s budget"
        );
        let prompt = read(&iter_file(&t, ws.path(), i, "attempt.prompt.txt"));
        assert!(
            prompt.contains(&format!("Time budget for this attempt: {budget}s")),
            "iteration {i}"
        );
    }
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Stop rules

#[tokio::test]
async fn a_closed_stdout_pipe_and_a_closed_stderr_do_not_stop_the_run() {
    let t = TestRun::new("run-closed-output").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt_1.sh",
        &writes_result(r#"{"status":"solved","verified":true}"#),
    )]);
    let mut args = run_args(&t, ws.path(), 1, &[]);
    args.retain(|a| a != "-q");
    let cwd = ws.path().to_path_buf();
    let status = tokio::task::spawn_blocking(move || {
        // stderr closed outright (EBADF); stdout a pipe whose reader is gone (EPIPE).
        let mut child = Command::new("sh")
            .args(["-c", "exec 2>&-; exec \"$0\" \"$@\"", BIN])
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        drop(child.stdout.take());
        child.wait().expect("wait")
    })
    .await
    .expect("join");
    assert_eq!(
        status.code(),
        Some(0),
        "a run whose output nobody reads ends normally"
    );
    assert_eq!(summary(&t, ws.path())["final_status"], "solved");
    assert_no_containers(&t).await;
    t.cleanup().await;
}

#[tokio::test]
async fn a_verified_solve_stops_the_loop_without_reflection_or_build() {
    let t = TestRun::new("run-stop-solved").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt_1.sh",
        &writes_result(r#"{"status":"solved","verified":true}"#),
    )]);
    run_ok(&t, ws.path(), 3, &[]).await;
    let s = summary(&t, ws.path());
    assert_eq!(statuses(&s), ["solved"], "{s:#}");
    assert_eq!(s["solved"], json!(true));
    assert_eq!(s["iterations"][0]["reflection"], Value::Null);
    assert_eq!(s["iterations"][0]["build"], Value::Null);
    assert_eq!(tooling_phases_ran(&t, ws.path(), 1), [false, false]);
    assert!(!run_dir(&t, ws.path()).join("iterations/2").exists());
    t.cleanup().await;
}

#[tokio::test]
async fn a_verified_stop_score_stops_the_loop() {
    let t = TestRun::new("run-stop-score").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt.sh",
        &writes_result(r#"{"status":"blocked","score":3,"verified":true}"#),
    )]);
    run_ok(&t, ws.path(), 3, &["--stop-score", "5"]).await;
    let s = summary(&t, ws.path());
    assert_eq!(s["iterations"].as_array().map(Vec::len), Some(1), "{s:#}");
    assert_eq!(s["solved"], json!(true));
    assert_eq!(s["best_score"], json!(3.0));
    assert_eq!(tooling_phases_ran(&t, ws.path(), 1), [false, false]);
    t.cleanup().await;
}

#[tokio::test]
async fn an_unverified_stop_score_does_not_stop_the_loop() {
    let t = TestRun::new("run-stop-unverified").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt.sh",
        &writes_result(r#"{"status":"blocked","score":3,"verified":false}"#),
    )]);
    run_ok(&t, ws.path(), 2, &["--stop-score", "5"]).await;
    let s = summary(&t, ws.path());
    assert_eq!(s["iterations"].as_array().map(Vec::len), Some(2), "{s:#}");
    assert_eq!(s["solved"], json!(false));
    assert_eq!(tooling_phases_ran(&t, ws.path(), 1), [true, true]);
    assert_eq!(s["iterations"][0]["build"]["status"], "completed", "{s:#}");
    assert_eq!(s["iterations"][0]["status"], "tooling_built");
    t.cleanup().await;
}

#[tokio::test]
async fn build_after_solve_still_builds_and_keeps_the_solve() {
    let t = TestRun::new("run-build-after").await;
    let ws = task_workspace(&[(
        ".fake_runner/attempt.sh",
        &writes_result(r#"{"status":"solved","verified":true}"#),
    )]);
    run_ok(&t, ws.path(), 3, &["--build-after-solve"]).await;
    let s = summary(&t, ws.path());
    assert_eq!(statuses(&s), ["solved"], "{s:#}");
    assert_eq!(s["solved"], json!(true));
    assert_eq!(tooling_phases_ran(&t, ws.path(), 1), [true, true]);
    let r = result(&t, ws.path(), 1);
    assert_eq!(r["status"], "solved", "{r:#}");
    assert_eq!(r["verified"], json!(true));
    assert_eq!(r["primary_task_solved_before_build"], json!(true));
    let registry = read(&ws.path().join(".harnessgym/registry.json"));
    assert!(registry.contains(PROBE_ID), "{registry}");
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// The workspace lock

/// Wait up to `limit` for `child` to exit.
async fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn a_second_run_is_refused_and_ctrl_c_stops_the_first_cleanly() {
    let t = TestRun::new("run-lock").await;
    let ws = task_workspace(&[(".fake_runner/attempt.sh", "echo started\nsleep 60\n")]);
    let lock = ws.path().join(".harnessgym/run.lock");
    let mut first = Command::new(BIN)
        .current_dir(ws.path())
        .args(run_args(&t, ws.path(), 1, &["--attempt-timeout", "120s"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the first run");
    let pid = first.id();
    let locked = wait_for(Duration::from_secs(60), async || lock.exists()).await;
    if !locked {
        let _ = first.kill();
        panic!("no lock file; first run: {:?}", first.wait_with_output());
    }

    let mut second = run_args(&t, ws.path(), 1, &[]);
    let id = second.iter().position(|a| a == "--run-id").expect("run id") + 1;
    second[id] = format!("{}-b", t.run);
    let out = harnessgym(ws.path(), second).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    let line = stderr.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("harnessgym: error: another run"),
        "{stderr}"
    );
    assert!(
        line.contains("in progress") && line.contains(&pid.to_string()),
        "{stderr}"
    );
    assert!(lock.exists(), "the refused run must not touch the lock");

    // Interrupt while the attempt runs in its session container.
    let stdout = iter_file(&t, ws.path(), 1, "attempt.stdout.txt");
    let attempting = wait_for(Duration::from_secs(60), async || {
        std::fs::read_to_string(&stdout).is_ok_and(|s| s.contains("started"))
    })
    .await;
    assert!(attempting, "the first run's attempt never started");
    assert!(
        containers_of(&t).await > 0,
        "no session container while the attempt runs"
    );
    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = wait_exit(&mut first, Duration::from_secs(15)).await;
    if status.is_none() {
        let _ = first.kill();
    }
    let output = first.wait_with_output().expect("wait");
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(4),
        "{}",
        text(&output.stderr)
    );
    assert!(!lock.exists(), "the lock outlived the interrupted run");
    assert_no_containers(&t).await;
    // The record says so: the iteration and its running phase, and a summary.
    let result = result(&t, ws.path(), 1);
    assert_eq!(result["status"], "interrupted", "{result:#}");
    assert_eq!(
        result["phases"]["attempt"]["status"], "interrupted",
        "{result:#}"
    );
    assert!(iter_file(&t, ws.path(), 1, "attempt.prompt.txt").exists());
    let summary = summary(&t, ws.path());
    assert_eq!(summary["final_status"], "interrupted", "{summary:#}");
    assert_eq!(statuses(&summary), ["interrupted"]);
    t.cleanup().await;
}

#[tokio::test]
async fn a_run_whose_session_container_is_killed_from_outside_still_writes_its_record() {
    let t = TestRun::new("run-killed").await;
    let ws = task_workspace(&[(".fake_runner/attempt.sh", "echo started\nsleep 60\n")]);
    let child = Command::new(BIN)
        .current_dir(ws.path())
        .args(run_args(&t, ws.path(), 1, &["--attempt-timeout", "120s"]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the run");
    let stdout = iter_file(&t, ws.path(), 1, "attempt.stdout.txt");
    let attempting = wait_for(Duration::from_secs(60), async || {
        std::fs::read_to_string(&stdout).is_ok_and(|s| s.contains("started"))
    })
    .await;
    assert!(attempting, "the attempt never started");
    let ids = t
        .engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list containers");
    for (id, _) in &ids {
        let killed = Command::new("docker")
            .args(["kill", id])
            .output()
            .expect("docker kill");
        assert!(killed.status.success(), "{killed:?}");
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    // The engine lost the session: an engine problem, and the record says what stopped it.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hint: the container stopped underneath harnessgym"),
        "{}",
        text(&out.stderr)
    );
    let summary = summary(&t, ws.path());
    assert_eq!(summary["final_status"], "error", "{summary:#}");
    assert_eq!(statuses(&summary), ["error"]);
    let error = summary["harnessgym"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("not running"), "{summary:#}");
    assert_eq!(result(&t, ws.path(), 1)["status"], "error");
    assert_no_containers(&t).await;
    t.cleanup().await;
}

#[tokio::test]
async fn a_stale_lock_of_a_dead_process_is_taken_over() {
    let t = TestRun::new("run-stale-lock").await;
    let ws = task_workspace(&[]);
    let mut gone = Command::new("true").spawn().expect("spawn");
    let pid = gone.id();
    gone.wait().expect("wait");
    let stale = json!({
        "format_version": 1,
        "run_id": "an-old-run",
        "pid": pid,
        "start": 1,
        "host": Owner::current().host,
    });
    let lock = write(ws.path(), ".harnessgym/run.lock", &stale.to_string());
    run_ok(&t, ws.path(), 1, &[]).await;
    assert!(!lock.exists(), "the lock was not released");
    assert_eq!(
        summary(&t, ws.path())["iterations"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Bad input

/// One error sentence on stderr (then only indented `caused by:`/`hint:`/detail lines, and for
/// a usage error clap's blank-line-separated usage block), no panic.
fn assert_one_error(out: &Output, code: i32, mentions: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
    let mut lines = stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("harnessgym: error: "), "{stderr}");
    assert!(first.contains(mentions), "`{mentions}` not in: {stderr}");
    assert!(
        lines.all(|l| l.is_empty() || l.starts_with("  ") || l.starts_with("Usage: ")),
        "more than one error sentence:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", show(out));
    stderr
}

#[tokio::test]
async fn bad_input_is_one_clear_error_with_a_usage_or_engine_exit_code() {
    let t = TestRun::new("run-bad-input").await;
    let ws = task_workspace(&[]);
    let w = ws.path().display().to_string();
    let cases: [(Vec<&str>, i32, &str); 6] = [
        (
            vec!["--task", "no-such-task.md", "--workspace", &w],
            2,
            "no-such-task.md",
        ),
        (vec!["--task-text", "  ", "--workspace", &w], 2, "empty"),
        (
            vec![
                "--task",
                "task.md",
                "--workspace",
                "/nonexistent/harnessgym-ws",
            ],
            2,
            "/nonexistent/harnessgym-ws",
        ),
        (
            vec!["--task", "task.md", "--workspace", &w, "--iterations", "0"],
            2,
            "--iterations",
        ),
        (
            vec![
                "--task",
                "task.md",
                "--workspace",
                &w,
                "--image",
                "does/not-exist:1",
            ],
            3,
            "does/not-exist:1",
        ),
        (
            vec![
                "--task",
                "task.md",
                "--workspace",
                &w,
                "--docker-host",
                "unix:///nonexistent.sock",
            ],
            3,
            "unix:///nonexistent.sock",
        ),
    ];
    for (flags, code, mentions) in cases {
        let mut args = vec!["run", "--runner", "fake", "--run-id", &t.run, "-q"];
        args.extend(flags);
        let out = harnessgym(ws.path(), args.iter().map(|s| s.to_string()).collect()).await;
        let stderr = assert_one_error(&out, code, mentions);
        if mentions == "does/not-exist:1" {
            assert!(
                stderr
                    .lines()
                    .any(|l| l.starts_with("  hint: ") && l.contains("harnessgym image build")),
                "{stderr}"
            );
        }
    }
    assert_eq!(common::count_labelled(&t.engine, &t.run).await, 0);
    t.cleanup().await;
}

#[tokio::test]
async fn a_bad_duration_is_one_clear_error_like_every_other_bad_input() {
    let ws = task_workspace(&[]);
    let w = ws.path().display().to_string();
    let args = [
        "run",
        "--task",
        "task.md",
        "--workspace",
        &w,
        "--runner",
        "fake",
        "--attempt-timeout",
        "1x",
    ];
    let out = harnessgym(ws.path(), args.iter().map(|s| s.to_string()).collect()).await;
    assert_one_error(&out, 2, "1x");
}
