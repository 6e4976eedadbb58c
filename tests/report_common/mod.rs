//! A workspace made of the reference fixtures, for the `runs`, `show` and `report` tests: no
//! engine, no images, only files.
//!
//! `<ws>/.harnessgym/runs/` holds `tests/fixtures/reference/demo` and `optimize` under
//! automatic-looking ids (placeholders replaced by real values), and `ours-1`: the demo run
//! with harnessgym's `harnessgym` block, a repair, a timeout, a limit, and hostile text where an
//! agent can put text. `<ws>/ab-demo/` is `tests/fixtures/compare/ab-demo`.

#![allow(dead_code, missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

pub const DEMO: &str = "20260519T035754Z-1a2b3c4d";
pub const OPTIMIZE: &str = "20260519T041500Z-5e6f7a8b";
pub const OURS: &str = "ours-1";
pub const TIME: &str = "2026-05-19T03:57:54+00:00";
/// What an agent may write as its status.
pub const HOSTILE: &str = "\u{1b}[31m<script>alert(1)</script>";
/// What an agent may write as an artifact description.
pub const HOSTILE_DESCRIPTION: &str = "<img src=x onerror=alert(2)>";

pub struct Workspace {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copy `from` to `to`, replacing the reference fixtures' placeholders in every file.
fn copy_run(from: &Path, to: &Path, ws: &Path, id: &str) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_run(&entry.path(), &target, ws, id);
        } else {
            let text = fs::read_to_string(entry.path()).expect("read");
            let text = text
                .replace("<WS>", &ws.display().to_string())
                .replace("<RUN_ID>", id)
                .replace("<TIME>", TIME);
            fs::write(target, text).expect("write");
        }
    }
}

fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut value: Value =
        serde_json::from_str(&fs::read_to_string(path).expect("read")).expect("json");
    change(&mut value);
    fs::write(path, serde_json::to_string_pretty(&value).expect("json")).expect("write");
}

/// Our own run: the demo plus what harnessgym adds, and an agent's hostile text.
fn make_ours(run: &Path) {
    edit(&run.join("summary.json"), |s| {
        s["harnessgym"] = json!({
            "format_version": 1,
            "wall_seconds": 12.5,
            "limits": [{"iteration": 1, "phase": "attempt", "limit": "disk"}],
            "timings": [
                {"step": "iteration 1/2 attempt", "seconds": 3.0},
                {"step": "  iteration 1 qualification 1", "seconds": 1.25},
                {"step": "  iteration 1 qualification 2", "seconds": 0.75},
            ],
        });
        s["iterations"][0]["attempt"]["timed_out"] = json!(true);
        s["iterations"][1]["status"] = json!(HOSTILE);
        s["final_status"] = json!(HOSTILE);
    });
    edit(&run.join("iterations/1/result.json"), |r| {
        r["phases"]["repair_1"] = json!({"phase": "build", "duration_seconds": 2.0});
    });
    edit(&run.join("iterations/2/result.json"), |r| {
        r["status"] = json!(HOSTILE);
        r["harness_usage"]["used_active_tools"] = json!(["probe", 7, HOSTILE_DESCRIPTION]);
    });
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(dir.path()).expect("canonical").join("ws");
        let runs = root.join(".harnessgym/runs");
        let reference = fixtures().join("reference");
        copy_run(&reference.join("demo"), &runs.join(DEMO), &root, DEMO);
        copy_run(
            &reference.join("optimize"),
            &runs.join(OPTIMIZE),
            &root,
            OPTIMIZE,
        );
        copy_run(&reference.join("demo"), &runs.join(OURS), &root, OURS);
        make_ours(&runs.join(OURS));
        fs::copy(
            runs.join(DEMO).join("registry.json"),
            root.join(".harnessgym/registry.json"),
        )
        .expect("registry");
        edit(&root.join(".harnessgym/registry.json"), |r| {
            r["artifacts"][0]["description"] = json!(HOSTILE_DESCRIPTION);
        });
        copy_run(
            &fixtures().join("compare/ab-demo"),
            &root.join("ab-demo"),
            &root,
            "",
        );
        Workspace { _dir: dir, root }
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join(".harnessgym/runs").join(id)
    }

    /// The built binary in the workspace, with an engine address that cannot work: these
    /// commands must never need one.
    pub fn harnessgym(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_harnessgym"))
            .args([
                "--docker-host",
                "unix:///nonexistent/harnessgym-report-test.sock",
            ])
            .args(args)
            .current_dir(&self.root)
            .env_remove("DOCKER_HOST")
            .output()
            .expect("the binary runs")
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run, expect exit 0, return stdout.
pub fn ok(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.harnessgym(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}
