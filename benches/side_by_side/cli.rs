//! Running `harnessgym run` (ours, the release binary) and the reference's CLI as child
//! processes, timed from spawn to exit, and reading our `summary.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{BenchResult, Ctx};

/// Children still running, so an interrupted bench can ask them to clean up first.
static CHILDREN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Ask every running child to stop (SIGINT: a `harnessgym run` then removes what it created)
/// and wait for them, at most `grace`.
pub fn interrupt_children(grace: Duration) {
    let pids: Vec<u32> = CHILDREN
        .lock()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    for pid in &pids {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
    }
    let started = Instant::now();
    while started.elapsed() < grace && pids.iter().any(|pid| alive(*pid)) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A finished child.
#[derive(Debug)]
pub struct Finished {
    /// Spawn to exit.
    pub wall: Duration,
    /// Its standard error (the census reads it).
    pub stderr: String,
}

/// Run `program args` in `cwd` with extra `env`; fails unless it exits 0.
pub async fn run(
    program: &Path,
    args: &[String],
    cwd: &Path,
    env: &[(&str, &str)],
) -> BenchResult<Finished> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let child = command
        .spawn()
        .ctx(&format!("start {}", program.display()))?;
    let pid = child.id();
    if let (Some(pid), Ok(mut c)) = (pid, CHILDREN.lock()) {
        c.insert(pid);
    }
    let output = child.wait_with_output().await;
    let wall = started.elapsed();
    if let (Some(pid), Ok(mut c)) = (pid, CHILDREN.lock()) {
        c.remove(&pid);
    }
    let output = output.ctx(&format!("wait for {}", program.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(format!(
            "{} {} (in {}) exited with {}:\n{}",
            program.display(),
            args.join(" "),
            cwd.display(),
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok(Finished { wall, stderr })
}

/// What our `summary.json` says about a run's time.
#[derive(Debug, Clone)]
pub struct OurSummary {
    /// `harnessgym.wall_seconds`.
    pub wall: f64,
    /// `harnessgym.engine_seconds`.
    pub engine: f64,
    /// `harnessgym.timings`: (step, seconds).
    pub steps: Vec<(String, f64)>,
}

/// Read `<ws>/.harnessgym/runs/<run>/summary.json`.
pub fn our_summary(ws: &Path, run: &str) -> BenchResult<OurSummary> {
    let path: PathBuf = ws.join(".harnessgym/runs").join(run).join("summary.json");
    let text = std::fs::read_to_string(&path).ctx(&format!("read {}", path.display()))?;
    let json: Value = serde_json::from_str(&text).ctx(&format!("parse {}", path.display()))?;
    let block = json.get("harnessgym").ctx("summary.json: harnessgym")?;
    let number = |key: &str| {
        block
            .get(key)
            .and_then(Value::as_f64)
            .ctx(&format!("summary.json: harnessgym.{key}"))
    };
    let steps = block
        .get("timings")
        .and_then(Value::as_array)
        .ctx("summary.json: harnessgym.timings")?
        .iter()
        .filter_map(|t| {
            Some((
                t.get("step")?.as_str()?.to_string(),
                t.get("seconds")?.as_f64()?,
            ))
        })
        .collect();
    Ok(OurSummary {
        wall: number("wall_seconds")?,
        engine: number("engine_seconds")?,
        steps,
    })
}

/// The kind of a step, numbers dropped: `iteration 3/5 attempt` → `attempt`,
/// `snapshot iteration-2-attempt` → `snapshot (attempt state)`.
pub fn step_kind(step: &str) -> String {
    let step = step.trim();
    let words: Vec<&str> = step.split_whitespace().collect();
    let kind = match words.as_slice() {
        ["snapshot", "of", "the", "workspace"] => "baseline (pack + load)",
        ["session", "container"] => "session container (start + manifest + bundle push)",
        ["iteration", _, "activation"] => "activation",
        ["iteration", _, "attempt"] => "attempt phase",
        ["iteration", _, "reflect"] => "reflect phase",
        ["iteration", _, "build"] => "build phase",
        ["iteration", _, "qualification", _] => "qualification (clean room)",
        ["snapshot", name] if name.ends_with("-attempt") => "snapshot of the attempt (capture)",
        ["snapshot", _] => "snapshot of the iteration (capture)",
        ["baseline"] => "baseline score (fresh container)",
        ["post_attempt"] => "post-attempt score (fresh container)",
        ["restored_best"] => "score of the restored best",
        ["task", "files", ..] | ["best", "checkpoint", ..] => "write-back to the host",
        _ => return step.to_string(),
    };
    kind.to_string()
}
