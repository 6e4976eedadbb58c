//! `harnessgym compare` against a real engine, through the built CLI: the reference's
//! test_compare cases (reference-spec §11), trials side by side, a killed trial, Ctrl-C, the
//! seeded verdict, re-runs. Every test uses its own compare id (`test-…`), and removes whatever
//! carries it or one of its trial run ids, even after a failed assertion.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{BIN, TestRun, count_labelled, write};
use serde_json::Value;

/// A scripted fake attempt: writes a blocked result, and `k.txt` holding the trial number.
const ATTEMPT: &str = r#"set -eu
echo "${HARNESSGYM_RUN_ID##*-}" > k.txt
cat > "$HARNESSGYM_RESULT" <<'JSON'
{"status": "blocked", "summary": "scripted attempt"}
JSON
"#;

/// A post command scoring 7 everywhere.
const SEVEN: &str = r#"echo '{"status": "passed", "score": 7}'"#;

/// One compare of a test: a template, an output directory, the ids it labels objects with.
struct Compare {
    dir: tempfile::TempDir,
    id: String,
    runs: Vec<TestRun>,
}

impl Compare {
    /// A template with `task.md` and the scripted attempt, for compare id `test-<name>-<pid>`.
    async fn new(name: &str, trials: u32) -> Self {
        let t = TestRun::new(&format!("cmp-{name}")).await;
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            &dir.path().join("tpl"),
            "task.md",
            "Make the kernel faster.\n",
        );
        write(&dir.path().join("tpl"), ".fake_runner/attempt.sh", ATTEMPT);
        let id = t.run.clone();
        let mut runs = Vec::new();
        for group in ["plain", "harnessed"] {
            for k in 1..=trials.max(3) {
                runs.push(TestRun::adopt(&t, &format!("{id}-{group}-{k}")));
                runs.push(TestRun::adopt(&t, &format!("{id}-{group}-{k}-rerun-1")));
                runs.push(TestRun::adopt(
                    &t,
                    &format!("{id}-{group}-{k}-rerun-1-baselines"),
                ));
            }
        }
        runs.push(t);
        Compare { dir, id, runs }
    }

    fn template(&self) -> PathBuf {
        self.dir.path().join("tpl")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `harnessgym compare` with the fake runner, the template, `out` and this compare's id.
    fn command(&self, out: &str, extra: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .env_remove("HARNESSGYM_LOG")
            .args([
                "compare",
                "--task",
                "task.md",
                "--workspace-template",
                "tpl",
            ])
            .args(["--output-dir", out, "--compare-id", &self.id])
            .args(["--runner", "fake", "--attempt-timeout", "30s"])
            .args(extra);
        cmd
    }

    /// Run a compare into `out` and expect exit 0.
    async fn run_into(&self, out: &str, extra: &[&str]) -> std::process::Output {
        let mut cmd = self.command(out, extra);
        let output = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
            .await
            .expect("join");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    async fn run(&self, extra: &[&str]) -> std::process::Output {
        self.run_into("out", extra).await
    }

    fn report(&self) -> Value {
        read(&self.out().join("compare_report.json"))
    }

    fn trial(&self, group: &str, k: u32) -> Value {
        read(&self.out().join(format!("{group}/trial_{k}/trial.json")))
    }

    /// Remove every object of the compare and assert none is left.
    async fn cleanup(self) {
        for run in self.runs {
            run.cleanup().await;
        }
    }
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A bundle source workspace holding only a tool (and its test), registered.
fn tool_bundle(root: &Path) {
    write(root, ".harnessgym/tools/probe.py", "print('probe')\n");
    write(
        root,
        ".harnessgym/tests/test_probe.py",
        "def test_probe():\n    pass\n",
    );
    write(
        root,
        ".harnessgym/registry.json",
        r#"{"version": 1, "updated_at": "2026-01-01T00:00:00+00:00", "metadata": {}, "artifacts": [
  {"id": "tool:.harnessgym/tools/probe.py", "kind": "tool", "path": ".harnessgym/tools/probe.py",
   "description": "Probe tool for the kernel.", "iteration": 1, "created_at": "2026-01-01T00:00:00+00:00", "metadata": {}}]}
"#,
    );
    write(root, ".harnessgym/runs/old/result.json", "{}");
    write(root, ".harnessgym/activation.json", "{}");
}

/// The repository's MCP bundle example (one server, three tools, self-tests).
fn mcp_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mcp_bundle")
}

#[tokio::test]
async fn the_template_is_excluded_at_every_depth_and_keeps_shared_libraries() {
    let c = Compare::new("template", 1).await;
    let tpl = c.template();
    for rel in [
        "extension.so",
        "libfixture.dylib",
        "kernel.o",
        "flash_bench_small",
        ".git/config",
        ".codex/config.toml",
        ".agents/skills/x/SKILL.md",
        ".claude/settings.json",
        ".harnessgym/registry.json",
        "src/__pycache__/m.cpython-311.pyc",
        "src/.git/HEAD",
        "src/deep/.claude/x",
        "src/deep/mod.pyo",
        "src/deep/flash_bench_case",
        "src/deep/keep.c",
    ] {
        write(&tpl, rel, "x");
    }
    let list = "python3 -c \"import os, json; files = sorted(os.path.relpath(os.path.join(d, f), '.') for d, _, fs in os.walk('.') for f in fs if not f.startswith(('k.txt',)) and '.harnessgym' not in d); print(json.dumps({'score': len(files), 'files': files}))\"";
    c.run(&["--trials", "1", "--post-command", list]).await;
    let expected = [
        ".fake_runner/attempt.sh",
        "extension.so",
        "libfixture.dylib",
        "src/deep/keep.c",
        "task.md",
    ];
    let report = c.report();
    assert_eq!(
        report["harnessgym"]["template_files"],
        serde_json::json!(expected)
    );
    for group in ["plain", "harnessed"] {
        let trial = c.trial(group, 1);
        assert_eq!(
            trial["post_result"]["json"]["files"],
            serde_json::json!(expected),
            "what a trial's container holds"
        );
        let host: Vec<String> =
            std::fs::read_dir(c.out().join(format!("{group}/trial_1/workspace")))
                .expect("workspace")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
        assert_eq!(
            host,
            [".harnessgym"],
            "the host workspace holds the run files only"
        );
    }
    c.cleanup().await;
}

#[tokio::test]
async fn a_fake_compare_without_the_active_harness_rule_counts_both_groups_and_reruns() {
    let c = Compare::new("fake", 1).await;
    let source = c.dir.path().join("source");
    tool_bundle(&source);
    let out = c
        .run(&[
            "--trials",
            "1",
            "--artifact-source",
            "source",
            "--no-require-active-harness",
            "--post-command",
            SEVEN,
        ])
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("Compare report: ") && lines[0].ends_with("out/compare_report.json")
    );
    assert!(
        lines[1].starts_with("plain: n=1 median_attempt="),
        "{stdout}"
    );
    assert!(
        lines[2].ends_with("best_post_score=7.0 post_valid=1 post_invalid=0"),
        "{stdout}"
    );
    let report = c.report();
    for group in ["plain", "harnessed"] {
        let summary = &report["summary"][group];
        assert_eq!(summary["post_score"]["best"], 7.0);
        assert_eq!(summary["iterations_completed"]["best"], 1.0);
        assert_eq!(summary["comparison_valid"]["valid"], 1);
    }
    let harnessed = c.trial("harnessed", 1);
    assert_eq!(
        harnessed["copied_artifacts"],
        serde_json::json!([
            ".harnessgym/registry.json",
            ".harnessgym/tests/test_probe.py",
            ".harnessgym/tools/probe.py"
        ])
    );
    assert_eq!(
        c.trial("plain", 1)["copied_artifacts"],
        serde_json::json!([])
    );
    let ws = |g: &str| c.out().join(format!("{g}/trial_1/workspace/.harnessgym"));
    assert!(ws("harnessed").join("tools/probe.py").is_file());
    assert!(!ws("plain").join("tools/probe.py").exists());
    assert!(
        !ws("harnessed").join("runs/old").exists(),
        "the source's runs are not copied"
    );
    let prompt = |g: &str| {
        let run = c.trial(g, 1)["run_dir"]
            .as_str()
            .expect("run dir")
            .to_string();
        std::fs::read_to_string(Path::new(&run).join("iterations/1/attempt.prompt.txt"))
            .expect("prompt")
    };
    assert!(prompt("harnessed").contains(".harnessgym/tools/probe.py"));
    assert!(!prompt("plain").contains(".harnessgym/tools/probe.py"));
    let rerun = tokio::task::spawn_blocking({
        let dir = c.dir.path().to_path_buf();
        move || {
            std::process::Command::new(BIN)
                .current_dir(dir)
                .args([
                    "-q",
                    "compare",
                    "--rerun",
                    "out/compare_report.json",
                    "harnessed/1",
                ])
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&rerun.stdout);
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert!(
        text.contains("harnessed/trial_1-rerun-1/trial.json"),
        "{text}"
    );
    assert!(text.contains("Same result"), "{text}");
    let again = read(&c.out().join("harnessed/trial_1-rerun-1/trial.json"));
    assert_eq!(again["post_score"], 7.0);
    assert_eq!(
        again["harnessgym"]["rerun_of"]["differences"],
        serde_json::json!([])
    );
    assert_eq!(
        again["harnessgym"]["rerun"]["run_argv"]
            .as_array()
            .map(Vec::len),
        harnessed["harnessgym"]["rerun"]["run_argv"]
            .as_array()
            .map(Vec::len)
    );
    c.cleanup().await;
}

#[tokio::test]
async fn a_harness_that_does_not_activate_is_invalid_by_default() {
    let c = Compare::new("inactive", 1).await;
    let source = c.dir.path().join("source");
    tool_bundle(&source);
    let source = source.join(".harnessgym");
    let source = source.to_str().expect("utf-8");
    c.run(&["--artifact-source", source, "--post-command", SEVEN])
        .await;
    let harnessed = c.trial("harnessed", 1);
    assert_eq!(harnessed["harness_validation"]["valid"], false);
    assert!(
        harnessed["harness_validation"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not activate")),
        "{harnessed}"
    );
    assert_eq!(harnessed["post_treated_as_worst"], true);
    let summary = &c.report()["summary"]["harnessed"];
    assert_eq!(summary["post_score"]["valid_count"], 0);
    assert_eq!(summary["comparison_valid"]["invalid"], 1);
    c.cleanup().await;
}

#[tokio::test]
async fn an_active_mcp_without_calls_fails_the_tool_use_requirement_and_a_call_meets_it() {
    let c = Compare::new("tooluse", 2).await;
    // Trial 2's agent calls one tool of the bundle's server, through the in-container helper;
    // trial 1's calls nothing.
    let call = format!(
        "if [ \"${{HARNESSGYM_RUN_ID##*-}}\" = 2 ] && [ -d .harnessgym/mcp/kernel-probe ]; then\n  \
         /opt/harnessgym/bin/harnessgym mcp-call --workspace /workspace --server kernel-probe \
         --tool norm --arguments '{{\"values\": [3, 4]}}'\nfi\n{ATTEMPT}"
    );
    write(&c.template(), ".fake_runner/attempt.sh", &call);
    let source = mcp_bundle();
    let source = source.to_str().expect("utf-8");
    c.run(&[
        "--trials",
        "2",
        "--artifact-source",
        source,
        "--require-harness-tool-use",
        "--post-command",
        SEVEN,
    ])
    .await;
    let silent = c.trial("harnessed", 1);
    let validation = &silent["harness_validation"];
    assert!(
        validation["active_tool_count"].as_u64().unwrap_or(0) >= 1,
        "{validation}"
    );
    assert_eq!(validation["mcp_call_count"], 0);
    assert!(
        validation["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no MCP tool calls")),
        "{validation}"
    );
    assert_eq!(silent["post_treated_as_worst"], true);
    let calling = c.trial("harnessed", 2);
    assert_eq!(calling["harness_validation"]["valid"], true, "{calling}");
    assert_eq!(calling["mcp_call_count"], 1);
    assert_eq!(calling["mcp_called_tools"], serde_json::json!(["norm"]));
    assert_eq!(
        calling["mcp_telemetry"]["servers"],
        serde_json::json!(["kernel-probe"])
    );
    assert!(
        Path::new(calling["mcp_telemetry"]["path"].as_str().expect("path")).is_file(),
        "the trial's calls are joined into its workspace's log"
    );
    assert_eq!(calling["post_valid"], true);
    let summary = &c.report()["summary"]["harnessed"];
    assert_eq!(summary["mcp_call_count"]["min"], 0.0);
    assert_eq!(summary["mcp_call_count"]["best"], 1.0);
    assert_eq!(summary["comparison_valid"]["invalid"], 1);
    assert_eq!(c.trial("plain", 1)["comparison_valid"], true);
    c.cleanup().await;
}

#[tokio::test]
async fn a_failing_post_command_counts_as_the_worst_case() {
    let c = Compare::new("postfail", 1).await;
    c.run(&["--post-command", "echo not json; exit 1"]).await;
    let trial = c.trial("plain", 1);
    assert_eq!(trial["post_result"]["status"], "failed");
    assert_eq!(trial["post_result"]["return_code"], 1);
    assert_eq!(trial["post_valid"], false);
    assert_eq!(trial["post_treated_as_worst"], true);
    assert_eq!(trial["post_score"], Value::Null);
    assert!(
        trial["post_invalid_reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not pass")),
        "{trial}"
    );
    let post = &c.report()["summary"]["plain"]["post_score"];
    assert_eq!(post["valid_count"], 0);
    assert_eq!(post["invalid_count"], 1);
    assert_eq!(post["invalid_treated_as_worst"], true);
    assert_eq!(
        c.report()["harnessgym"]["verdict"],
        "not enough valid trials"
    );
    c.cleanup().await;
}

#[tokio::test]
async fn a_missing_agent_binary_makes_the_runner_invalid() {
    let c = Compare::new("nobinary", 1).await;
    // A custom agent whose executable is not in the image.
    write(
        c.dir.path(),
        "agent.toml",
        "name = \"missing-agent\"\ncommand = [\"/usr/local/bin/agent-cli-missing\", \"{prompt_file}\"]\n",
    );
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(c.dir.path())
        .env_remove("HARNESSGYM_LOG")
        .args([
            "compare",
            "--task",
            "task.md",
            "--workspace-template",
            "tpl",
        ])
        .args([
            "--output-dir",
            "out",
            "--compare-id",
            &c.id,
            "--attempt-timeout",
            "30s",
        ])
        .args(["--runner", "custom", "--runner-config", "agent.toml"])
        .args(["--image", common::BASE, "--post-command", SEVEN]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trial = c.trial("plain", 1);
    let runner = &trial["runner_validation"];
    assert_eq!(runner["valid"], false);
    assert_eq!(runner["failed_iterations"], serde_json::json!([1]));
    let attempt = &runner["failed_attempts"][0];
    assert_eq!(attempt["return_code"], 127);
    assert!(
        attempt["message"]
            .as_str()
            .is_some_and(|m| m.contains("executable not found")),
        "{attempt}"
    );
    assert!(
        attempt["transcript_path"]
            .as_str()
            .is_some_and(|p| p.ends_with("attempt.transcript.txt")),
        "{runner}"
    );
    assert_eq!(trial["post_treated_as_worst"], true);
    let reasons = &c.report()["summary"]["plain"]["invalid_reasons"];
    assert!(
        reasons.as_object().is_some_and(|r| r
            .keys()
            .any(|k| k.contains("runner attempt failed in iteration(s): 1"))),
        "{reasons}"
    );
    c.cleanup().await;
}

/// The report with what may differ between two compares of the same trials blanked: times,
/// the output directory, the parallelism.
fn normalized(report: &Value, out: &Path) -> Value {
    let text = serde_json::to_string(report).expect("serializes");
    let text = text.replace(&out.display().to_string(), "[OUT]");
    let mut value: Value = serde_json::from_str(&text).expect("parses");
    blank(&mut value);
    // Not content: the parallelism, and the harnessed layer's id (its bundle was uploaded at a
    // different time; the bundle's digest is what identifies it).
    value["harnessgym"]["jobs"] = Value::Null;
    let harnessed = |v: &mut Value| v["baselines"]["harnessed"]["diff_id"] = Value::Null;
    harnessed(&mut value["harnessgym"]);
    for trial in value["trials"].as_array_mut().into_iter().flatten() {
        harnessed(&mut trial["harnessgym"]["rerun"]);
    }
    value
}

/// The paths at which `a` and `b` differ.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (l, r) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                differences(l, r, &format!("{at}/{key}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} != {b}")),
        _ => {}
    }
}

fn blank(value: &mut Value) {
    const TIMES: [&str; 6] = [
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
        "duration_seconds",
        "attempt_duration_seconds",
    ];
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if TIMES.contains(&key.as_str())
                    || key.ends_with("duration_seconds")
                    || (key == "image_id" || key == "reference")
                {
                    *item = Value::Null;
                } else {
                    blank(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank),
        _ => {}
    }
}

/// Scores that differ per trial and per group: 9 + k plain, 5 + k harnessed.
const BY_TRIAL: &str = "python3 -c \"import json, os; k = int(open('k.txt').read()); h = os.path.exists('.harnessgym/tools/probe.py'); print(json.dumps({'score': (5 if h else 9) + k}))\"";

#[tokio::test]
async fn jobs_4_and_jobs_1_give_the_same_report_and_the_same_seeded_interval() {
    let c = Compare::new("jobs", 3).await;
    let source = c.dir.path().join("source");
    tool_bundle(&source);
    let common = [
        "--trials",
        "3",
        "--artifact-source",
        "source",
        "--no-require-active-harness",
        "--post-command",
        BY_TRIAL,
        "--seed",
        "42",
    ];
    let started = Instant::now();
    c.run_into("wide", &[&common[..], &["--jobs", "4"]].concat())
        .await;
    let wide = started.elapsed();
    c.run_into("narrow", &[&common[..], &["--jobs", "1"]].concat())
        .await;
    let a = read(&c.dir.path().join("wide/compare_report.json"));
    let b = read(&c.dir.path().join("narrow/compare_report.json"));
    let mut differ = Vec::new();
    differences(
        &normalized(&a, &c.dir.path().join("wide")),
        &normalized(&b, &c.dir.path().join("narrow")),
        "",
        &mut differ,
    );
    assert!(
        differ.is_empty(),
        "the same content apart from times: {differ:#?}"
    );
    let block = &a["harnessgym"];
    assert_eq!(block["seed"], 42);
    assert_eq!(block["verdict"], "harness better");
    assert_eq!(block["difference_of_medians"], -4.0);
    let comparison = harnessgym::report::compare_groups(
        &[10.0, 11.0, 12.0],
        &[6.0, 7.0, 8.0],
        harnessgym::report::Better::Lower,
        harnessgym::report::BootstrapSettings {
            seed: 42,
            ..Default::default()
        },
    );
    let interval = comparison.interval.expect("three per group");
    assert_eq!(block["interval"], serde_json::json!(interval));
    assert!(wide < Duration::from_secs(60), "{wide:?}");
    c.cleanup().await;
}

/// Wait until a container labelled `run` exists; its id.
async fn container_of(engine: &harnessgym::sandbox::Engine, run: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let found = engine
            .list_containers_labelled(harnessgym::sandbox::labels::ROLE, Some("session"))
            .await
            .expect("list");
        if let Some((id, _)) = found
            .iter()
            .find(|(_, l)| l.get(harnessgym::sandbox::labels::RUN).map(String::as_str) == Some(run))
        {
            return id.clone();
        }
        assert!(Instant::now() < deadline, "no session container of {run}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_trial_whose_container_is_killed_is_invalid_and_the_others_complete() {
    let c = Compare::new("killed", 2).await;
    write(
        &c.template(),
        ".fake_runner/attempt.sh",
        &format!("sleep 6\n{ATTEMPT}"),
    );
    let mut cmd = c.command(
        "out",
        &["--trials", "2", "--jobs", "4", "--post-command", SEVEN],
    );
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let victim = format!("{}-plain-2", c.id);
    let id = container_of(&c.runs[0].engine, &victim).await;
    let killed = std::process::Command::new("docker")
        .args(["kill", &id])
        .output()
        .expect("docker kill");
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let killed = c.trial("plain", 2);
    assert_eq!(killed["comparison_valid"], false, "{killed}");
    assert_eq!(killed["post_valid"], false);
    for (group, k) in [("plain", 1), ("harnessed", 1), ("harnessed", 2)] {
        let trial = c.trial(group, k);
        assert_eq!(trial["post_valid"], true, "{group}/{k}: {trial}");
        assert_eq!(trial["post_score"], 7.0);
    }
    assert_eq!(
        c.report()["summary"]["plain"]["post_score"]["invalid_count"],
        1
    );
    c.cleanup().await;
}

#[tokio::test]
async fn without_a_post_command_trials_are_not_run_and_the_report_is_written() {
    let c = Compare::new("nopost", 1).await;
    let out = c.run(&[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("best_post_score=None post_valid=0 post_invalid=0"),
        "{stdout}"
    );
    let report = c.report();
    for group in ["plain", "harnessed"] {
        let summary = &report["summary"][group];
        assert_eq!(summary["post_score"]["not_run_count"], 1);
        assert_eq!(summary["post_status"]["not_run"], 1);
        let trial = c.trial(group, 1);
        assert_eq!(trial["post_result"], Value::Null);
        assert_eq!(trial["post_valid"], Value::Null);
        assert_eq!(trial["post_treated_as_worst"], false);
    }
    assert_eq!(report["harnessgym"]["verdict"], "not enough valid trials");
    c.cleanup().await;
}

#[tokio::test]
async fn ctrl_c_stops_every_trial_and_leaves_no_labelled_object() {
    let c = Compare::new("sigint", 2).await;
    write(
        &c.template(),
        ".fake_runner/attempt.sh",
        &format!("sleep 60\n{ATTEMPT}"),
    );
    let mut cmd = c.command(
        "out",
        &["--trials", "2", "--jobs", "4", "--post-command", SEVEN],
    );
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    for victim in [format!("{}-plain-1", c.id), format!("{}-harnessed-2", c.id)] {
        container_of(&c.runs[0].engine, &victim).await;
    }
    let pid = child.id();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    for run in &c.runs {
        assert_eq!(
            count_labelled(&run.engine, &run.run).await,
            0,
            "{} left objects",
            run.run
        );
    }
    let trial = read(&c.out().join(format!(
        "plain/trial_1/workspace/.harnessgym/runs/{}-plain-1/summary.json",
        c.id
    )));
    assert_eq!(trial["final_status"], "interrupted");
    c.cleanup().await;
}
