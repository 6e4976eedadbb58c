//! Row 5: `harnessgym compare` trials side by side. Four trials (two per group) whose fake
//! attempts wait 2 s each (`.fake_runner/attempt.sh`: `sleep 2`), scored by a one-line post
//! command: the compare with `--jobs 4` against the same compare with `--jobs 1`, and one
//! trial's time (its `duration_seconds`, from the `--jobs 1` report) against a bare
//! `docker run` of the same attempt in the same image.

use std::path::Path;
use std::time::Instant;

use harnessgym::image::BASE_IMAGE;
use harnessgym::sandbox::Selector;
use serde_json::Value;

use crate::cli;
use crate::rows::Bench;
use crate::util::{BenchResult, Ctx, Samples};

/// Trials per group.
const TRIALS: u32 = 2;
/// What each attempt does.
const ATTEMPT: &str =
    "set -eu\nsleep 2\nprintf '{\"status\": \"blocked\"}' > \"$HARNESSGYM_RESULT\"\n";
/// The post command.
const POST: &str = "echo '{\"score\": 1}'";

/// What row 5 measured.
#[derive(Debug, Default)]
pub struct CompareRow {
    /// Wall time of the compare with `--jobs 4`.
    pub jobs4: Samples,
    /// With `--jobs 1`.
    pub jobs1: Samples,
    /// One trial's time in the `--jobs 1` compare (median of its four trials).
    pub trial: Samples,
    /// A bare `docker run` of the attempt.
    pub bare: Samples,
}

/// The template: a task and the 2 s attempt.
fn template(dir: &Path) -> BenchResult<()> {
    let scripts = dir.join(".fake_runner");
    std::fs::create_dir_all(&scripts).ctx(&format!("create {}", scripts.display()))?;
    std::fs::write(dir.join("task.md"), "Wait two seconds.\n").ctx("write task.md")?;
    std::fs::write(scripts.join("attempt.sh"), ATTEMPT).ctx("write attempt.sh")
}

/// Remove whatever the compare `id` left (it removes its own objects; this is the safety net).
async fn reap(b: &Bench, id: &str) {
    let mut labels = vec![id.to_string()];
    for group in ["plain", "harnessed"] {
        labels.extend((1..=TRIALS).map(|k| format!("{id}-{group}-{k}")));
    }
    for label in labels {
        let report = b.engine.reap(&Selector::Run(label), true).await;
        for err in report.errors {
            eprintln!("bench: cleanup: {err}");
        }
    }
}

/// One compare with `jobs`; its wall time and its report.
async fn one(b: &Bench, tpl: &Path, id: &str, jobs: usize) -> BenchResult<(f64, Value)> {
    let out = b.scratch.join(format!("compare-{id}"));
    let args: Vec<String> = [
        "-q",
        "compare",
        "--task",
        "task.md",
        "--workspace-template",
        &tpl.display().to_string(),
        "--output-dir",
        &out.display().to_string(),
        "--runner",
        "fake",
        "--trials",
        &TRIALS.to_string(),
        "--jobs",
        &jobs.to_string(),
        "--compare-id",
        id,
        "--post-command",
        POST,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let finished = cli::run(&b.bin, &args, tpl, &[]).await;
    reap(b, id).await;
    let finished = finished?;
    let path = out.join("compare_report.json");
    let text = std::fs::read_to_string(&path).ctx(&format!("read {}", path.display()))?;
    let report: Value = serde_json::from_str(&text).ctx("parse compare_report.json")?;
    Ok((finished.wall.as_secs_f64(), report))
}

/// The median `duration_seconds` of a report's trials.
fn trial_median(report: &Value) -> f64 {
    let mut samples = Samples::default();
    for trial in report["trials"].as_array().into_iter().flatten() {
        if let Some(d) = trial["duration_seconds"].as_f64() {
            samples.push(d);
        }
    }
    samples.median()
}

/// `docker run --rm` of the attempt, network off, labelled with the bench's run.
async fn bare(b: &Bench) -> BenchResult<f64> {
    let label = format!("dev.harnessgym.run={}", b.run);
    let started = Instant::now();
    let status = tokio::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--label", &label])
        .args([BASE_IMAGE, "sh", "-c", "sleep 2"])
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .ctx("docker run")?;
    if !status.success() {
        return Err(format!("docker run exited with {status}"));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Row 5, `b.reps` times: `--jobs 4` and `--jobs 1` alternate which goes first.
pub async fn compare(b: &mut Bench) -> BenchResult<CompareRow> {
    let tpl = b.scratch.join("compare-template");
    template(&tpl)?;
    let mut row = CompareRow::default();
    for rep in 0..b.reps {
        // Between compares, so none of theirs counts as other work.
        let (host, run) = (b.host.clone(), b.run.clone());
        b.busy.sample(&host, &run);
        let order: [usize; 2] = if rep % 2 == 0 { [4, 1] } else { [1, 4] };
        for jobs in order {
            let id = format!("{}-c{rep}j{jobs}", b.run);
            let (wall, report) = one(b, &tpl, &id, jobs).await?;
            if jobs == 4 {
                row.jobs4.push(wall);
            } else {
                row.jobs1.push(wall);
                row.trial.push(trial_median(&report));
            }
        }
        row.bare.push(bare(b).await?);
        eprintln!(
            "bench: compare {}/{}: --jobs 4 {:.2} s, --jobs 1 {:.2} s",
            rep + 1,
            b.reps,
            row.jobs4.0.last().copied().unwrap_or(f64::NAN),
            row.jobs1.0.last().copied().unwrap_or(f64::NAN)
        );
    }
    Ok(row)
}
