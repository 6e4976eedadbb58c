//! The real agent CLIs end to end: Claude Code (`--runner claude`, image `harnessgym/claude`) and
//! Codex (`--runner exec`, image `harnessgym/codex`), driven by `harnessgym run` against a
//! scripted model server, offline and deterministic; and a shell-script agent through the custom
//! runner.
//!
//! The scripted server (`harnessgym internal model-server`) runs inside the session container on
//! its own loopback (network `none`). Each test workspace carries a wrapper,
//! `.agent_test/<cli>.sh`, named as the agent binary (`--claude-bin` / `--codex-bin`): it starts
//! the server with the iteration's script (`.agent_test/script-<n>.json`), points the real CLI at
//! it and runs the CLI with the runner's arguments. Everything else — argv parsing, the CLI's
//! own session store and resume, loading our MCP configuration, starting the generated MCP
//! server through `harnessgym mcp-bridge`, the JSON output — is the real CLI's.
//!
//! Needs the agent images (`make image`: `harnessgym image build`). Every test passes its
//! `TestRun` label as `--run-id`, so everything it creates in Docker is reaped even on failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{TestRun, write};
use harnessgym::sandbox::labels;
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_harnessgym");
const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/numerical_debug_task");
const BUNDLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/mcp_bundle/.harnessgym"
);
const CUSTOM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/custom_agent");
const BUGGY: &str = "norm = math.sqrt(sum(x * x for x in a)) + math.sqrt(sum(y * y for y in b))";
const FIXED: &str = "norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))";
/// Markers of the attempt and reflection prompts, to follow a session's history in requests.
const ATTEMPT_MARK: &str = "Time budget for this attempt";
const REFLECT_MARK: &str = "Time budget for this reflection";

// ---------------------------------------------------------------------------------------------
// The two CLIs

/// One real agent CLI and how the tests drive it.
#[derive(Clone, Copy)]
struct Cli {
    /// `--runner` value.
    runner: &'static str,
    /// Its image.
    image: &'static str,
    /// The flag naming its executable.
    bin_flag: &'static str,
    /// The API key variable the runner passes by name.
    key: &'static str,
    /// The wrapper's file name in `.agent_test/`.
    wrapper: &'static str,
    /// The wrapper's last lines: point the CLI at the server on `$port` and run it.
    launch: &'static str,
    /// The missing-binary message's prefix.
    missing: &'static str,
}

const CLAUDE: Cli = Cli {
    runner: "claude",
    image: "harnessgym/claude:latest",
    bin_flag: "--claude-bin",
    key: "ANTHROPIC_API_KEY",
    wrapper: "claude.sh",
    launch: r#"export ANTHROPIC_BASE_URL="http://127.0.0.1:$port"
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
claude "$@"
"#,
    missing: "Claude Code executable not found in image harnessgym/base:latest: claude",
};

const CODEX: Cli = Cli {
    runner: "exec",
    image: "harnessgym/codex:latest",
    bin_flag: "--codex-bin",
    key: "OPENAI_API_KEY",
    wrapper: "codex.sh",
    // Codex reads config overrides after its subcommand, and `resume`'s overrides replace
    // `exec`'s: the wrapper adds its own next to the runner's (after `resume` when resuming).
    // The scripted model has no metadata, so Codex cannot offer tool search: MCP tools must be
    // offered directly rather than deferred behind it.
    launch: r#"# "$@" is `exec --skip-git-repo-check [resume] <options> [<id>] <prompt>` (exec) or
# `[resume] <options> [<id>]` (tui-goal).
lead=""
while [ $# -gt 0 ]; do
    case "$1" in
        exec | resume | --skip-git-repo-check) lead="$lead $1"; shift ;;
        *) break ;;
    esac
done
# shellcheck disable=SC2086
codex $lead -c model=scripted -c model_provider=scripted \
    -c "model_providers.scripted={name=\"scripted\", base_url=\"http://127.0.0.1:$port/v1\", wire_api=\"responses\", env_key=\"OPENAI_API_KEY\"}" \
    -c features.tool_search_always_defer_mcp_tools=false "$@"
"#,
    missing: "Codex executable not found in image harnessgym/base:latest: codex",
};

/// Starts the scripted model server for the iteration and waits for its port (sourced).
const SERVE: &str = r#"# Sourced by the test wrappers: the scripted model server on this container's loopback.
dir=/workspace/.agent_test
script="$dir/script-${HARNESSGYM_ITERATION:-1}.json"
port_file=$(mktemp)
/opt/harnessgym/bin/harnessgym internal model-server --script "$script" --port-file "$port_file" \
    --state "/tmp/model-state-${HARNESSGYM_ITERATION:-1}.json" --log "$dir/requests.jsonl" \
    </dev/null >>/tmp/model-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
tries=0
while [ ! -s "$port_file" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 400 ]; then echo "the model server did not start" >&2; cat /tmp/model-server.log >&2; exit 97; fi
    sleep 0.05
done
port=$(cat "$port_file")
"#;

/// Merges a JSON object into a result file (the scripted agent's way to write its result).
const MERGE_RESULT: &str = r#"import json, sys
path, update = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    data = json.load(f)
data.update(update)
with open(path, "w") as f:
    json.dump(data, f, indent=2)
"#;

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

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A secret no file may contain.
fn secret(t: &TestRun) -> String {
    format!("sk-harnessgym-secret-{}-do-not-leak", t.run)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "__pycache__" || name == "runs" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A copy of the demo task with the wrapper of `cli`, the example MCP bundle to install in a
/// build, and one script per iteration.
fn workspace(cli: Cli, scripts: &[Value]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(DEMO).expect("demo") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let ws = dir.path();
    write(ws, ".agent_test/serve.sh", SERVE);
    let wrapper = write(
        ws,
        &format!(".agent_test/{}", cli.wrapper),
        &format!(
            "#!/bin/sh\n. /workspace/.agent_test/serve.sh\n{}",
            cli.launch
        ),
    );
    make_executable(&wrapper);
    write(ws, ".agent_test/merge_result.py", MERGE_RESULT);
    copy_dir(Path::new(BUNDLE), &ws.join(".agent_test/bundle"));
    for (i, script) in scripts.iter().enumerate() {
        write(
            ws,
            &format!(".agent_test/script-{}.json", i + 1),
            &serde_json::to_string_pretty(script).expect("json"),
        );
    }
    dir
}

/// With `AGENTS_TEST_KEEP=1`, a copy of the workspace is kept for inspection when the test
/// ends (its path is printed).
struct Kept(PathBuf, PathBuf);

impl Drop for Kept {
    fn drop(&mut self) {
        let (from, to) = (&self.0, &self.1);
        let _ = std::fs::remove_dir_all(to);
        let copied = Command::new("cp").arg("-a").arg(from).arg(to).status();
        let note = format!("workspace kept at {} ({copied:?})\n", to.display());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    }
}

fn keep_on_request(ws: &TempDir) -> Option<Kept> {
    std::env::var_os("AGENTS_TEST_KEEP")?;
    let name = ws.path().file_name()?.to_os_string();
    Some(Kept(
        ws.path().to_path_buf(),
        std::env::temp_dir().join("agents-kept").join(name),
    ))
}

fn result_rel(t: &TestRun, i: u32) -> String {
    format!(".harnessgym/runs/{}/iterations/{i}/result.json", t.run)
}

/// A shell turn that merges `update` into iteration `i`'s result.json.
fn merge_result(t: &TestRun, i: u32, update: &Value) -> Value {
    json!({"shell": format!(
        "python3 .agent_test/merge_result.py {} {}",
        result_rel(t, i),
        quote(&update.to_string())
    )})
}

/// `harnessgym run` with `cli`'s runner on `ws`, the API key set to the test's secret, network
/// `none` (the model is on the container's loopback), the test's run id.
async fn run_cli(t: &TestRun, ws: &Path, cli: Cli, iterations: u32, extra: &[&str]) -> Output {
    let wrapper = format!("/workspace/.agent_test/{}", cli.wrapper);
    let mut args: Vec<String> = [
        "run",
        "--task",
        "task.md",
        "--runner",
        cli.runner,
        "--network",
        "none",
        "--run-id",
        &t.run,
        "-q",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--iterations".to_string(), iterations.to_string()]);
    let defaults = [
        (cli.bin_flag, wrapper.as_str()),
        ("--attempt-timeout", "240s"),
        ("--build-timeout", "240s"),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let cwd = ws.to_path_buf();
    let (key, value) = (cli.key, secret(t));
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .current_dir(cwd)
            .args(args)
            .env(key, value)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join")
}

async fn run_ok(t: &TestRun, ws: &Path, cli: Cli, iterations: u32, extra: &[&str]) -> Output {
    let out = run_cli(t, ws, cli, iterations, extra).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let left = t
        .engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list containers");
    assert!(left.is_empty(), "containers of {} left: {left:?}", t.run);
    out
}

fn run_dir(t: &TestRun, ws: &Path) -> PathBuf {
    ws.canonicalize()
        .expect("canonical")
        .join(".harnessgym/runs")
        .join(&t.run)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn iter_file(t: &TestRun, ws: &Path, i: u32, name: &str) -> PathBuf {
    run_dir(t, ws).join(format!("iterations/{i}/{name}"))
}

fn result(t: &TestRun, ws: &Path, i: u32) -> Value {
    read_json(&iter_file(t, ws, i, "result.json"))
}

/// The scripted server's request log (back on the host with the task files).
fn requests(ws: &Path) -> Vec<Value> {
    read(&ws.join(".agent_test/requests.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every file under `root`, recursively.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return found;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            found.extend(files_under(&path));
        } else if meta.is_file() {
            found.push(path);
        }
    }
    found
}

/// Whether the byte stream `reader` contains `needle`.
fn stream_contains(mut reader: impl std::io::Read, needle: &[u8]) -> bool {
    let mut window: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer).expect("read the stream");
        if n == 0 {
            return false;
        }
        window.extend_from_slice(&buffer[..n]);
        if window.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        let keep = window.len().min(needle.len());
        window.drain(..window.len() - keep);
    }
}

/// The secret appears in no file of the workspace (run files included) and in no image of the
/// run (`docker save`, every layer and config).
async fn assert_secret_never_written(t: &TestRun, ws: &Path) {
    let needle = secret(t);
    for path in files_under(ws) {
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !stream_contains(bytes.as_slice(), needle.as_bytes()),
            "{} contains the API key",
            path.display()
        );
    }
    let images = t
        .engine
        .list_images_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list images");
    assert!(!images.is_empty(), "the run keeps its snapshot images");
    let ids: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    let found = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("docker")
            .arg("save")
            .args(&ids)
            .stdout(Stdio::piped())
            .spawn()
            .expect("docker save runs");
        let stdout = child.stdout.take().expect("stdout");
        let found = stream_contains(stdout, needle.as_bytes());
        let _ = child.kill();
        let _ = child.wait();
        found
    })
    .await
    .expect("join");
    assert!(!found, "a snapshot image of the run contains the API key");
}

/// A file of a snapshot's workspace whose path ends with `suffix` (the iteration's MCP
/// telemetry stays in the session's state: it is read from there).
async fn snapshot_file(t: &TestRun, name: &str, suffix: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("snapshot.tar.gz");
    let args: Vec<String> = [
        "snapshot", "export", "--run", &t.run, "--name", name, "--out",
    ]
    .map(String::from)
    .into_iter()
    .chain([out.display().to_string()])
    .collect();
    let status = tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output())
        .await
        .expect("join")
        .expect("runs");
    assert!(status.status.success(), "{}", show(&status));
    let file = std::fs::File::open(&out).expect("open the export");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").display().to_string();
        if path.ends_with(suffix) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
            return text;
        }
    }
    panic!("no {suffix} in snapshot {name}");
}

fn phase<'a>(result: &'a Value, name: &str) -> &'a Value {
    &result["phases"][name]
}

fn session_of(result: &Value, name: &str) -> String {
    phase(result, name)["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} session in {result:#}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Scripts

/// Iteration 1: a blocked attempt, a reflection choosing an MCP server, a build installing the
/// example bundle. Iteration 2: the agent calls the bundle's `run_verifier` tool through its MCP
/// client, fixes the kernel, verifies and reports a solve.
fn full_run_scripts(t: &TestRun) -> Vec<Value> {
    let blocked = json!({"status": "blocked", "verified": false,
        "summary": "The verifier fails on the cosine kernel; a probe of the kernels would help.",
        "missing_tooling": ["An MCP tool that runs the verifier and reports failing checks."]});
    let reflection = json!({"reflection": {"recommendations": ["Build a kernel-probe MCP server."],
        "selected_improvement": {"kind": "mcp", "name": "kernel-probe",
            "reason": "Run the verifier and compare vectors from one tool.",
            "target_path": ".harnessgym/mcp/kernel-probe/harnessgym-mcp.json"}}});
    let built = json!({"status": "tooling_built", "tooling": {"summary": "Installed kernel-probe.",
        "built": [{"kind": "mcp", "path": ".harnessgym/mcp/kernel-probe/harnessgym-mcp.json"}]}});
    let install = "mkdir -p .harnessgym && cp -r .agent_test/bundle/mcp .agent_test/bundle/skills \
                   .agent_test/bundle/tests .harnessgym/ && cp .agent_test/bundle/registry.json .harnessgym/registry.json";
    let solved = json!({"status": "solved", "verified": true,
        "summary": "kernel-probe showed the cosine check failing; the norm now multiplies.",
        "verification": {"status": "passed", "command": "python3 verifier.py"},
        "used_harness_tools": ["kernel-probe.run_verifier"]});
    vec![
        json!({"turns": [
            {"shell": "python3 verifier.py || true"},
            merge_result(t, 1, &blocked),
            {"say": "Blocked: the cosine check fails and I lack a probe."},
            merge_result(t, 1, &reflection),
            {"say": "Selected a kernel-probe MCP server."},
            {"shell": install},
            merge_result(t, 1, &built),
            {"say": "Built and registered kernel-probe."},
        ]}),
        json!({"turns": [
            {"mcp": {"server": "kernel-probe", "tool": "run_verifier", "arguments": {}}},
            {"edit": {"path": "kernel_ops.py", "old": BUGGY, "new": FIXED}},
            {"shell": "python3 verifier.py"},
            merge_result(t, 2, &solved),
            {"say": "Solved: the verifier passes."},
        ]}),
    ]
}

// ---------------------------------------------------------------------------------------------
// The checks shared by both CLIs

/// Two iterations: build in iteration 1 (reflect and build resume the attempt's session), a real
/// MCP call in iteration 2, the kernel fixed on the host, no key anywhere.
async fn full_run(cli: Cli, name: &str) {
    let t = TestRun::new(name).await;
    let ws = workspace(cli, &full_run_scripts(&t));
    let _kept = keep_on_request(&ws);
    run_ok(&t, ws.path(), cli, 2, &[]).await;
    let summary = read_json(&run_dir(&t, ws.path()).join("summary.json"));
    let statuses: Vec<&str> = summary["iterations"]
        .as_array()
        .expect("iterations")
        .iter()
        .map(|e| e["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(statuses, ["tooling_built", "solved"], "{summary:#}");

    // Iteration 1: one session, resumed by reflection and build.
    let first = result(&t, ws.path(), 1);
    let attempt_session = session_of(&first, "attempt");
    assert_eq!(
        session_of(&first, "reflection"),
        attempt_session,
        "{first:#}"
    );
    assert_eq!(session_of(&first, "build"), attempt_session, "{first:#}");
    for name in ["attempt", "reflection", "build"] {
        assert_eq!(
            phase(&first, name)["status"],
            "completed",
            "{name}: {first:#}"
        );
    }
    let reflect_transcript = read(&iter_file(&t, ws.path(), 1, "reflection.transcript.txt"));
    assert!(
        reflect_transcript.contains(&attempt_session)
            && reflect_transcript.contains("<prompt; see prompt file>"),
        "{reflect_transcript}"
    );
    let log = requests(ws.path());
    let resumed = log.iter().any(|r| {
        let body = r["body"].to_string();
        body.contains(REFLECT_MARK) && body.contains(ATTEMPT_MARK)
    });
    assert!(
        resumed,
        "no reflection request carried the attempt's history"
    );
    assert_eq!(
        first["artifact_qualification"]["status"], "passed",
        "{first:#}"
    );

    // Iteration 2: the generated MCP tool, called by the real CLI, counted.
    let second = result(&t, ws.path(), 2);
    let calls = snapshot_file(&t, "iteration-2", "iterations/2/mcp_calls.jsonl").await;
    let on_host = read(&run_dir(&t, ws.path()).join("iterations/2/mcp_calls.jsonl"));
    assert_eq!(
        on_host, calls,
        "the run folder on the host holds the iteration's calls"
    );
    let call: Value = serde_json::from_str(calls.lines().next().expect("one call")).expect("json");
    assert_eq!(call["server"], "kernel-probe", "{calls}");
    assert_eq!(call["tool_name"], "run_verifier", "{calls}");
    assert_eq!(call["status"], "completed", "{calls}");
    assert_eq!(call["iteration"], 2, "{calls}");
    let usage = &second["harness_usage"];
    assert_eq!(usage["mcp_call_count"], 1, "{usage:#}");
    assert_eq!(
        usage["mcp_called_tools"],
        json!(["run_verifier"]),
        "{usage:#}"
    );
    let kernel = read(&ws.path().join("kernel_ops.py"));
    assert!(
        kernel.contains(FIXED) && !kernel.contains(BUGGY),
        "{kernel}"
    );

    let config = read_json(&run_dir(&t, ws.path()).join("run_config.json"));
    assert_eq!(config["runner"], cli.runner);
    assert_eq!(config["harnessgym"]["image"], cli.image);
    let names = config["harnessgym"]["agent"]["env"]
        .as_array()
        .expect("env names");
    assert!(names.contains(&json!(cli.key)), "{config:#}");
    let transcript = read(&iter_file(&t, ws.path(), 2, "attempt.transcript.txt"));
    assert!(
        transcript.contains(&format!("env_passed: {}", cli.key)),
        "{transcript}"
    );
    assert_secret_never_written(&t, ws.path()).await;
    t.cleanup().await;
}

/// The model stalls past the attempt timeout: the phase ends within timeout + 5 s as `timeout`.
async fn stalled_attempt(cli: Cli, name: &str) {
    let t = TestRun::new(name).await;
    let ws = workspace(cli, &[json!({"turns": [{"stall": 120}]})]);
    run_ok(
        &t,
        ws.path(),
        cli,
        1,
        &["--attempt-timeout", "10s", "--build-timeout", "60s"],
    )
    .await;
    let first = result(&t, ws.path(), 1);
    let attempt = phase(&first, "attempt");
    assert_eq!(attempt["status"], "timeout", "{first:#}");
    assert_eq!(attempt["timed_out"], true);
    let seconds = attempt["duration_seconds"].as_f64().expect("duration");
    assert!(seconds < 15.0, "the attempt took {seconds} s");
    let transcript = read(&iter_file(&t, ws.path(), 1, "attempt.transcript.txt"));
    assert!(transcript.contains("status: timeout"), "{transcript}");
    assert!(
        transcript.contains("Timed out after 10 seconds"),
        "{transcript}"
    );
    t.cleanup().await;
}

/// The model API answers 400: the phase failed and the transcript says why.
async fn api_error(cli: Cli, name: &str, why: &str) {
    let t = TestRun::new(name).await;
    // The CLIs retry a failed request (Claude Code drops optional betas first): a lasting outage.
    let script =
        json!({"turns": [{"error": {"status": 400, "message": "scripted refusal", "times": 30}}]});
    let ws = workspace(cli, &[script]);
    run_ok(&t, ws.path(), cli, 1, &[]).await;
    let first = result(&t, ws.path(), 1);
    let attempt = phase(&first, "attempt");
    assert_eq!(attempt["status"], "failed", "{first:#}");
    assert_eq!(attempt["return_code"], 1, "{first:#}");
    let message = attempt["message"].as_str().unwrap_or_default();
    assert!(message.contains("scripted refusal"), "{message}");
    let transcript = read(&iter_file(&t, ws.path(), 1, "attempt.transcript.txt"));
    assert!(transcript.contains("status: failed"), "{transcript}");
    assert!(transcript.contains(why), "{transcript}");
    t.cleanup().await;
}

/// The plain base image has no agent CLI: rc 127 and the reference's message.
async fn missing_binary(cli: Cli, name: &str) {
    let t = TestRun::new(name).await;
    let ws = workspace(cli, &[json!({"turns": []})]);
    let bin = cli.missing.rsplit(": ").next().unwrap_or_default();
    let extra = ["--image", common::BASE, cli.bin_flag, bin];
    let out = run_cli(&t, ws.path(), cli, 1, &extra).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let first = result(&t, ws.path(), 1);
    let attempt = phase(&first, "attempt");
    assert_eq!(attempt["return_code"], 127, "{first:#}");
    assert_eq!(attempt["status"], "failed");
    assert_eq!(attempt["message"], cli.missing, "{first:#}");
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Claude Code

#[tokio::test]
async fn claude_full_run_resumes_builds_and_calls_the_generated_mcp_tool() {
    full_run(CLAUDE, "claude-full").await;
}

#[tokio::test]
async fn claude_stalled_model_times_out_within_the_budget() {
    stalled_attempt(CLAUDE, "claude-timeout").await;
}

#[tokio::test]
async fn claude_api_error_fails_the_phase_and_says_why() {
    api_error(CLAUDE, "claude-error", "claude_api_error_status: 400").await;
}

#[tokio::test]
async fn claude_missing_from_the_image_is_rc_127() {
    missing_binary(CLAUDE, "claude-missing").await;
}

// ---------------------------------------------------------------------------------------------
// Codex

#[tokio::test]
async fn codex_full_run_resumes_builds_and_calls_the_generated_mcp_tool() {
    full_run(CODEX, "codex-full").await;
}

#[tokio::test]
async fn codex_stalled_model_times_out_within_the_budget() {
    stalled_attempt(CODEX, "codex-timeout").await;
}

#[tokio::test]
async fn codex_api_error_fails_the_phase_and_says_why() {
    api_error(CODEX, "codex-error", "message: ERROR:").await;
}

#[tokio::test]
async fn codex_missing_from_the_image_is_rc_127() {
    missing_binary(CODEX, "codex-missing").await;
}

// ---------------------------------------------------------------------------------------------
// Codex's TUI (experimental)

#[tokio::test]
async fn tui_goal_types_the_goal_into_a_fresh_codex_tui_and_resumes_it_for_reflect_and_build() {
    let t = TestRun::new("tui-goal").await;
    let blocked = json!({"status": "blocked", "verified": false, "summary": "typed into the TUI"});
    let reflection = json!({"reflection": {"selected_improvement": {"kind": "tool",
        "name": "probe", "reason": "r", "target_path": ".harnessgym/tools/probe.py"}}});
    let built = json!({"tooling": {"summary": "nothing built"}});
    let script = json!({"turns": [
        {"shell": "echo attempt > tui_attempt.txt"},
        {"tool": {"name": "update_goal", "arguments": {"status": "complete"}}},
        merge_result(&t, 1, &blocked),
        {"say": "Attempt done."},
        merge_result(&t, 1, &reflection),
        {"say": "Reflected."},
        merge_result(&t, 1, &built),
        {"say": "Built."},
    ]});
    let ws = workspace(CODEX, &[script]);
    let _kept = keep_on_request(&ws);
    let cli = Cli {
        runner: "tui-goal",
        ..CODEX
    };
    run_ok(
        &t,
        ws.path(),
        cli,
        1,
        &["--attempt-timeout", "90s", "--build-timeout", "90s"],
    )
    .await;
    let first = result(&t, ws.path(), 1);
    for name in ["attempt", "reflection", "build"] {
        assert_eq!(
            phase(&first, name)["status"],
            "completed",
            "{name}: {first:#}"
        );
    }
    let session = session_of(&first, "attempt");
    assert_eq!(session_of(&first, "reflection"), session, "{first:#}");
    assert_eq!(session_of(&first, "build"), session, "{first:#}");
    let transcript = read(&iter_file(&t, ws.path(), 1, "attempt.transcript.txt"));
    assert!(
        transcript
            .contains("typed: /goal Read and follow the HarnessGym attempt prompt at /workspace/"),
        "{transcript}"
    );
    assert!(
        ws.path().join("tui_attempt.txt").exists(),
        "the TUI's agent ran the command"
    );
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// A credentials file

#[tokio::test]
async fn a_credentials_file_is_mounted_read_only_and_never_committed() {
    let t = TestRun::new("credentials-file").await;
    let ws = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let token = secret(&t);
    let file = write(outside.path(), "token", &token);
    let check = r#"token=/home/agent/.config/agent/token
[ -r "$token" ] && read_ok=true || read_ok=false
if echo overwritten > "$token" 2>/dev/null; then writable=true; else writable=false; fi
length=$(wc -c < "$token")
cat > "$HARNESSGYM_RESULT" <<EOF
{"status": "blocked", "read_ok": $read_ok, "writable": $writable, "length": $length}
EOF
"#;
    write(ws.path(), "task.md", "Read the token.\n");
    write(ws.path(), ".fake_runner/attempt.sh", check);
    let mount = format!("{}:/home/agent/.config/agent/token", file.display());
    let out = tokio::task::spawn_blocking({
        let cwd = ws.path().to_path_buf();
        let args: Vec<String> = [
            "run",
            "--task",
            "task.md",
            "--runner",
            "fake",
            "--iterations",
            "1",
            "--attempt-timeout",
            "30s",
            "--build-timeout",
            "30s",
            "-q",
            "--credentials-file",
        ]
        .map(String::from)
        .into_iter()
        .chain([mount, "--run-id".to_string(), t.run.clone()])
        .collect();
        move || {
            Command::new(BIN)
                .current_dir(cwd)
                .args(args)
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let first = result(&t, ws.path(), 1);
    assert_eq!(first["read_ok"], true, "{first:#}");
    assert_eq!(first["writable"], false, "{first:#}");
    assert_eq!(first["length"], token.len(), "{first:#}");
    let config = read_json(&run_dir(&t, ws.path()).join("run_config.json"));
    let files = &config["harnessgym"]["agent"]["credentials_files"];
    assert_eq!(
        files[0]["container_path"], "/home/agent/.config/agent/token",
        "{config:#}"
    );
    assert_secret_never_written(&t, ws.path()).await;
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// A custom agent

#[tokio::test]
async fn custom_runner_drives_a_shell_script_agent_and_resumes_its_session() {
    let t = TestRun::new("custom-agent").await;
    let ws = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new(DEMO), ws.path());
    copy_dir(Path::new(CUSTOM), &ws.path().join(".custom_agent"));
    let config = ws.path().join(".custom_agent/agent.toml");
    let out = tokio::task::spawn_blocking({
        let cwd = ws.path().to_path_buf();
        let args: Vec<String> = [
            "run",
            "--task",
            "task.md",
            "--runner",
            "custom",
            "--runner-config",
        ]
        .map(String::from)
        .into_iter()
        .chain([config.display().to_string()])
        .chain(
            [
                "--iterations",
                "2",
                "--attempt-timeout",
                "60s",
                "--build-timeout",
                "60s",
                "-q",
            ]
            .map(String::from),
        )
        .chain(["--run-id".to_string(), t.run.clone()])
        .collect();
        move || {
            Command::new(BIN)
                .current_dir(cwd)
                .args(args)
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let first = result(&t, ws.path(), 1);
    let session = session_of(&first, "attempt");
    assert!(session.starts_with("shell-"), "{first:#}");
    assert_eq!(session_of(&first, "reflection"), session);
    assert_eq!(session_of(&first, "build"), session);
    assert_eq!(first["status"], "tooling_built", "{first:#}");
    let second = result(&t, ws.path(), 2);
    assert_eq!(second["status"], "solved", "{second:#}");
    assert_ne!(
        session_of(&second, "attempt"),
        session,
        "a fresh session per attempt"
    );
    let transcript = read(&iter_file(&t, ws.path(), 1, "build.transcript.txt"));
    assert!(
        transcript.contains(&format!("--resume {session}")),
        "{transcript}"
    );
    let kernel = read(&ws.path().join("kernel_ops.py"));
    assert!(kernel.contains(FIXED), "{kernel}");
    let run_config = read_json(&run_dir(&t, ws.path()).join("run_config.json"));
    assert_eq!(run_config["harnessgym"]["network"], "none");
    assert_eq!(
        run_config["harnessgym"]["agent"]["custom_agent"],
        "shell-agent"
    );
    t.cleanup().await;
}
