//! The four rows, each measured side by side in this one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harnessgym::image::BASE_IMAGE;
use harnessgym::sandbox::{ContainerSpec, Engine, ExecSpec, Selector, short_id};
use harnessgym::snapshot::{
    Capture, HELPER_REPO, Snapshot, SnapshotRecord, SnapshotStore, Strategy,
};

use crate::cli::{self, OurSummary};
use crate::docker::{self, Census};
use crate::fsutil::{self, LOOP_ITERATIONS, SCORE_START, Shape};
use crate::machine::Busy;
use crate::util::{BenchResult, Ctx, Samples};

/// Everything a row needs.
pub struct Bench {
    /// The engine (objects are labelled with `run`).
    pub engine: Engine,
    /// Where the engine is.
    pub host: String,
    /// `bench-<pid>`: the run label of everything the bench creates.
    pub run: String,
    /// `target/bench-<pid>`: every workspace and record lives here.
    pub scratch: PathBuf,
    /// The repository.
    pub root: PathBuf,
    /// Our release binary.
    pub bin: PathBuf,
    /// The reference's CLI.
    pub reference: PathBuf,
    /// Repetitions of each measurement.
    pub reps: usize,
    /// 1.0: the sizes of the issue; smaller for a quick try.
    pub scale: f64,
    /// How busy the machine was.
    pub busy: Busy,
    /// "task files layer reused" events logged by the library (baselines made in this process).
    pub reuse_events: Arc<AtomicUsize>,
    records: usize,
}

impl Bench {
    /// A bench context; `records` directories are numbered under `scratch`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: Engine,
        host: String,
        run: String,
        scratch: PathBuf,
        root: PathBuf,
        bin: PathBuf,
        reference: PathBuf,
        reps: usize,
        scale: f64,
        reuse_events: Arc<AtomicUsize>,
    ) -> Bench {
        Bench {
            engine,
            host,
            run,
            scratch,
            root,
            bin,
            reference,
            reps,
            scale,
            busy: Busy::default(),
            reuse_events,
            records: 0,
        }
    }

    fn sample_busy(&mut self) {
        self.busy.sample(&self.host, &self.run);
    }

    /// Remove every container and image labelled with the bench's run (between repetitions).
    pub async fn reap(&self) {
        for run in [self.run.clone(), self.second_run()] {
            let report = self.engine.reap(&Selector::Run(run), true).await;
            for err in report.errors {
                eprintln!("bench: cleanup: {err}");
            }
        }
    }

    /// The run id of row 4's second runs: a run of its own, as a user's second run is (a run
    /// removes the snapshots of its own id it does not keep, so one id for both runs would
    /// remove the first run's baseline under the second).
    pub fn second_run(&self) -> String {
        format!("{}-second", self.run)
    }

    fn store(&mut self, strategy: Strategy) -> BenchResult<(SnapshotStore, PathBuf)> {
        self.records += 1;
        let dir = self.scratch.join(format!("records/{}", self.records));
        std::fs::create_dir_all(&dir).ctx(&format!("create {}", dir.display()))?;
        let store = SnapshotStore::new(self.engine.clone(), &self.run, dir.clone(), strategy);
        Ok((store, dir))
    }

    fn scaled(&self, shape: Shape) -> Shape {
        let s = |n: usize| ((n as f64 * self.scale).round() as usize).max(1);
        Shape {
            files: s(shape.files),
            file_bytes: shape.file_bytes,
            blob_bytes: s(shape.blob_bytes),
        }
    }

    /// The 34 MB workspace: 10,000 files of 1,000 bytes and a 24 MB blob.
    pub fn small_shape(&self) -> Shape {
        self.scaled(Shape {
            files: 10_000,
            file_bytes: 1_000,
            blob_bytes: 24_000_000,
        })
    }

    /// The 340 MB workspace: 10,000 files of 4,000 bytes and a 300 MB blob.
    pub fn large_shape(&self) -> Shape {
        self.scaled(Shape {
            files: 10_000,
            file_bytes: 4_000,
            blob_bytes: 300_000_000,
        })
    }

    /// Generate a template workspace under the scratch directory.
    pub fn template(&self, name: &str, shape: Shape) -> BenchResult<PathBuf> {
        let dir = self.scratch.join(name);
        fsutil::generate(&dir, shape)?;
        Ok(dir)
    }
}

/// Per-step times of our runs, by kind of step (medians over runs).
#[derive(Debug, Clone, Default)]
pub struct Steps {
    order: Vec<String>,
    runs: Vec<BTreeMap<String, f64>>,
    untracked: Samples,
    engine: Samples,
    wall: Samples,
}

impl Steps {
    fn add(&mut self, summary: &OurSummary) {
        let mut sums = BTreeMap::new();
        let mut tracked = 0.0;
        for (step, seconds) in &summary.steps {
            let kind = cli::step_kind(step);
            if !self.order.contains(&kind) {
                self.order.push(kind.clone());
            }
            *sums.entry(kind).or_insert(0.0) += seconds;
            tracked += seconds;
        }
        self.runs.push(sums);
        self.untracked.push(summary.wall - tracked);
        self.engine.push(summary.engine);
        self.wall.push(summary.wall);
    }

    /// (kind, median seconds per run), in the order the steps first ran, then the time between
    /// steps.
    pub fn medians(&self) -> Vec<(String, f64)> {
        let mut rows: Vec<(String, f64)> = self
            .order
            .iter()
            .map(|kind| {
                let samples = Samples(
                    self.runs
                        .iter()
                        .map(|r| r.get(kind).copied().unwrap_or(0.0))
                        .collect(),
                );
                (kind.clone(), samples.median())
            })
            .collect();
        rows.push((
            "between steps (phase records, container removals, start-up)".to_string(),
            self.untracked.median(),
        ));
        rows
    }

    /// The run's own wall time (`summary.json`).
    pub fn wall(&self) -> &Samples {
        &self.wall
    }

    /// Time in engine calls.
    pub fn engine(&self) -> &Samples {
        &self.engine
    }
}

/// Row 1.
#[derive(Debug, Default)]
pub struct Demo {
    /// Our process wall time.
    pub ours: Samples,
    /// The reference's process wall time.
    pub reference: Samples,
    /// Our per-step times.
    pub steps: Steps,
    /// Requests of one extra run.
    pub census: Option<(Census, f64)>,
}

fn demo_args(ws: &Path) -> Vec<String> {
    [
        "run",
        "--task",
        "task.md",
        "--workspace",
        &ws.display().to_string(),
        "--iterations",
        "2",
        "--attempt-timeout",
        "10s",
        "--build-timeout",
        "10s",
        "--runner",
        "fake",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Row 1: the seed demo (examples/numerical_debug_task, 2 fake iterations, the README's flags),
/// ours vs the reference, each on a fresh copy (fresh mtimes, as `make demo` copies). One
/// untimed warm-up of each first.
pub async fn demo(b: &mut Bench) -> BenchResult<Demo> {
    let example = b.root.join("examples/numerical_debug_task");
    let mut out = Demo::default();
    for rep in 0..=b.reps {
        b.sample_busy();
        let ws = b.scratch.join("demo-ours");
        fsutil::copy_tree(&example, &ws, false)?;
        let mut args = demo_args(&ws);
        args.extend(["--run-id".to_string(), b.run.clone()]);
        let finished = cli::run(&b.bin, &args, &ws, &[]).await?;
        let summary = cli::our_summary(&ws, &b.run)?;
        b.reap().await;
        let ws_ref = b.scratch.join("demo-reference");
        fsutil::copy_tree(&example, &ws_ref, false)?;
        let reference = cli::run(&b.reference, &demo_args(&ws_ref), &ws_ref, &[]).await?;
        if rep > 0 {
            out.ours.push_time(finished.wall);
            out.steps.add(&summary);
            out.reference.push_time(reference.wall);
        }
        eprintln!(
            "bench: demo {}: ours {:.2} s (engine {:.2} s), reference {:.2} s",
            if rep == 0 {
                "warm-up".to_string()
            } else {
                format!("{rep}/{}", b.reps)
            },
            finished.wall.as_secs_f64(),
            summary.engine,
            reference.wall.as_secs_f64()
        );
    }
    // One more run of ours, untimed, logging every engine request.
    let ws = b.scratch.join("demo-ours");
    fsutil::copy_tree(&example, &ws, false)?;
    let mut args = demo_args(&ws);
    args.extend(["--run-id".to_string(), b.run.clone()]);
    let logged = cli::run(
        &b.bin,
        &args,
        &ws,
        &[("HARNESSGYM_LOG", "warn,bollard=debug")],
    )
    .await?;
    let engine = cli::our_summary(&ws, &b.run)?.engine;
    out.census = Some((Census::from_log(&logged.stderr), engine));
    b.reap().await;
    fsutil::remove_tree(&ws)?;
    fsutil::remove_tree(&b.scratch.join("demo-reference"))?;
    Ok(out)
}

/// Row 3.
#[derive(Debug, Default)]
pub struct Baselines {
    /// Load path, layer new to the engine.
    pub load: Samples,
    /// Upload into a staging container + commit.
    pub commit: Samples,
    /// Load path, the workspace layer already in the engine (a second baseline).
    pub reuse: Samples,
    /// How many of the first baselines found their layer already there (should be 0).
    pub first_reused: usize,
    /// How many of the second baselines reused the layer (should be all).
    pub second_reused: usize,
}

/// A baseline kept for row 2, with its store.
pub struct Kept {
    store: SnapshotStore,
    records: PathBuf,
    baseline: Snapshot,
}

async fn make_baseline(
    b: &mut Bench,
    strategy: Strategy,
    ws: &Path,
) -> BenchResult<(Kept, Duration)> {
    let (store, records) = b.store(strategy)?;
    let started = Instant::now();
    let baseline = store
        .baseline(BASE_IMAGE, ws, &b.bin)
        .await
        .ctx("make a baseline")?;
    let took = started.elapsed();
    Ok((
        Kept {
            store,
            records,
            baseline,
        },
        took,
    ))
}

/// Row 3: the baseline of the 340 MB workspace by load and by upload + commit, each repetition
/// on an engine without that layer (the previous one's image is removed, and its layer with
/// it); then second baselines of the unchanged workspace (the layer is reused). Returns the last
/// baseline of each strategy for row 2.
pub async fn baselines(b: &mut Bench, ws: &Path) -> BenchResult<(Baselines, Kept, Kept)> {
    let mut out = Baselines::default();
    let mut kept = Vec::new();
    for strategy in [Strategy::Load, Strategy::Commit] {
        let mut last = None;
        for rep in 1..=b.reps {
            b.sample_busy();
            if let Some(previous) = last.take() {
                let previous: Kept = previous;
                previous
                    .store
                    .remove(&previous.baseline)
                    .await
                    .ctx("remove a baseline")?;
            }
            let before = b.reuse_events.load(Ordering::SeqCst);
            let (made, took) = make_baseline(b, strategy, ws).await?;
            if b.reuse_events.load(Ordering::SeqCst) > before {
                out.first_reused += 1;
            }
            match strategy {
                Strategy::Load => out.load.push_time(took),
                Strategy::Commit => out.commit.push_time(took),
            }
            eprintln!(
                "bench: baseline by {} {rep}/{}: {:.2} s",
                strategy.name(),
                b.reps,
                took.as_secs_f64()
            );
            last = Some(made);
        }
        kept.push(last.ctx("a baseline")?);
    }
    for rep in 1..=b.reps {
        b.sample_busy();
        let before = b.reuse_events.load(Ordering::SeqCst);
        let (again, took) = make_baseline(b, Strategy::Load, ws).await?;
        if b.reuse_events.load(Ordering::SeqCst) > before {
            out.second_reused += 1;
        }
        out.reuse.push_time(took);
        eprintln!(
            "bench: second baseline {rep}/{}: {:.2} s",
            b.reps,
            took.as_secs_f64()
        );
        again
            .store
            .remove(&again.baseline)
            .await
            .ctx("remove a baseline")?;
    }
    let commit = kept.pop().ctx("the commit baseline")?;
    let load = kept.pop().ctx("the load baseline")?;
    Ok((out, load, commit))
}

/// One cell of row 2.
#[derive(Debug, Clone)]
pub struct SnapCell {
    /// `34 MB`, `340 MB`.
    pub size: String,
    /// `1 KiB`, `10 MiB`.
    pub change: &'static str,
    /// Load or commit.
    pub strategy: Strategy,
    /// Capture times.
    pub time: Samples,
    /// Bytes of the layer.
    pub layer_bytes: Samples,
}

/// Row 2.
#[derive(Debug, Default)]
pub struct Snapshots {
    /// Every (size, change, strategy).
    pub cells: Vec<SnapCell>,
    /// A no-op exec in a session container: the engine's floor under every capture's walk.
    pub exec: Samples,
}

impl Snapshots {
    /// The cell of `size`, `change`, `strategy`.
    pub fn cell(&self, size: &str, change: &str, strategy: Strategy) -> Option<&SnapCell> {
        self.cells
            .iter()
            .find(|c| c.size == size && c.change == change && c.strategy == strategy)
    }
}

/// The changes of row 2: a new file of this many random bytes.
pub const CHANGES: [(&str, u64); 2] = [("1 KiB", 1024), ("10 MiB", 10 << 20)];

/// One capture: (its time, its layer's bytes, the time of a no-op exec in the same session).
async fn capture_once(kept: &Kept, bytes: u64) -> BenchResult<(Duration, u64, Duration)> {
    let spec = ContainerSpec::new(BASE_IMAGE);
    let (session, base) = kept
        .store
        .open_session(&kept.baseline, &spec)
        .await
        .ctx("open a session")?;
    let result = async {
        let script = format!("head -c {bytes} /dev/urandom > /workspace/bench-change.bin");
        let out = session
            .exec(&ExecSpec::shell(&script, Duration::from_secs(120)))
            .await
            .ctx("change the workspace")?;
        if !out.success() {
            return Err(format!("change the workspace: {}", out.stderr.text()));
        }
        let started = Instant::now();
        session
            .exec(&ExecSpec::new(["true"], Duration::from_secs(60)))
            .await
            .ctx("a no-op exec")?;
        let exec = started.elapsed();
        let started = Instant::now();
        let capture = kept
            .store
            .capture(&session, &base, "bench-capture", None)
            .await
            .ctx("capture")?;
        let took = started.elapsed();
        let Capture::Taken(snapshot, _) = capture else {
            return Err("capture: refused without a limit".to_string());
        };
        let record = kept.records.join("bench-capture.json");
        let text = std::fs::read_to_string(&record).ctx(&format!("read {}", record.display()))?;
        let record: SnapshotRecord = serde_json::from_str(&text).ctx("parse the record")?;
        if snapshot.image_id() != kept.baseline.image_id() {
            kept.store
                .remove(&snapshot)
                .await
                .ctx("remove the snapshot")?;
        }
        Ok((took, record.layer_bytes, exec))
    }
    .await;
    session.remove().await.ctx("remove the session")?;
    result
}

/// Row 2: one capture after each change, on `(size, [load baseline, commit baseline])`.
pub async fn snapshots(b: &mut Bench, sizes: &[(String, &Kept, &Kept)]) -> BenchResult<Snapshots> {
    let mut out = Snapshots::default();
    for (size, load, commit) in sizes {
        for (change, bytes) in CHANGES {
            for (strategy, kept) in [(Strategy::Load, *load), (Strategy::Commit, *commit)] {
                let mut cell = SnapCell {
                    size: size.clone(),
                    change,
                    strategy,
                    time: Samples::default(),
                    layer_bytes: Samples::default(),
                };
                for _ in 0..b.reps {
                    b.sample_busy();
                    let (took, layer, exec) = capture_once(kept, bytes).await?;
                    out.exec.push_time(exec);
                    cell.time.push_time(took);
                    cell.layer_bytes.push(layer as f64);
                }
                eprintln!(
                    "bench: snapshot after {change} in {size} by {}: median {:.2} s",
                    strategy.name(),
                    cell.time.median()
                );
                out.cells.push(cell);
            }
        }
    }
    Ok(out)
}

/// Make the baselines of a workspace for row 2 only (untimed).
pub async fn kept_baselines(b: &mut Bench, ws: &Path) -> BenchResult<(Kept, Kept)> {
    let (load, _) = make_baseline(b, Strategy::Load, ws).await?;
    let (commit, _) = make_baseline(b, Strategy::Commit, ws).await?;
    Ok((load, commit))
}

/// Several runs of one kind in row 4.
#[derive(Debug, Default)]
pub struct RunSet {
    /// Process wall time.
    pub wall: Samples,
    /// Growth of the engine's layers (`/system/df` LayersSize).
    pub docker: Samples,
    /// Growth of the host workspace (du).
    pub host: Samples,
    /// Our per-step times (ours only).
    pub steps: Steps,
}

impl RunSet {
    /// Extra disk: engine plus host.
    pub fn disk(&self) -> Samples {
        Samples(
            self.docker
                .0
                .iter()
                .zip(&self.host.0)
                .map(|(d, h)| d + h)
                .collect(),
        )
    }
}

/// Row 4.
#[derive(Debug, Default)]
pub struct Loop {
    /// Ours on a fresh copy of the template.
    pub first: RunSet,
    /// Ours again on another fresh copy of the same template, the first run's images kept.
    pub second: RunSet,
    /// The reference on a fresh copy (its engine growth is other work's drift: it uses no
    /// engine).
    pub reference: RunSet,
    /// Second runs whose baseline's workspace layer was the first run's.
    pub second_reused: usize,
    /// Requests of one extra run of ours.
    pub census: Option<(Census, f64)>,
}

const SCORE: &str = r#"echo "{\"status\":\"passed\",\"score\":$(cat score.txt)}""#;

/// The reference ignores `.fake_runner/`: its score command plays iteration n's attempt script
/// first (once, remembered by a marker under .harnessgym/, which reset leaves alone), so it sees
/// the same workspaces as ours.
fn reference_score() -> String {
    format!(
        "n=$(ls .harnessgym/runs/*/iterations 2>/dev/null | wc -l); m=.harnessgym/bench_attempt_$n; \
         if [ -f .fake_runner/attempt_$n.sh ] && [ ! -e $m ]; then touch $m; \
         HARNESSGYM_RESULT=/dev/null sh .fake_runner/attempt_$n.sh >/dev/null; fi; {SCORE}"
    )
}

fn loop_args(ws: &Path, score: &str) -> Vec<String> {
    let iterations = LOOP_ITERATIONS.to_string();
    [
        "run",
        "--task",
        "task.md",
        "--workspace",
        &ws.display().to_string(),
        "--iterations",
        &iterations,
        "--attempt-timeout",
        "2m",
        "--build-timeout",
        "2m",
        "--runner",
        "fake",
        "--task-state",
        "reset",
        "--optimization-mode",
        "--post-attempt-command",
        score,
        "--stop-score",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The diff ids of the image run `run`'s record `name` names.
async fn record_layers(b: &Bench, ws: &Path, run: &str, name: &str) -> BenchResult<Vec<String>> {
    let path = ws
        .join(".harnessgym/runs")
        .join(run)
        .join(format!("snapshots/{name}.json"));
    let text = std::fs::read_to_string(&path).ctx(&format!("read {}", path.display()))?;
    let record: SnapshotRecord = serde_json::from_str(&text).ctx("parse a record")?;
    let inspect = b
        .engine
        .inspect_image(&record.image_id)
        .await
        .ctx("inspect the baseline")?
        .ctx("the baseline image")?;
    Ok(inspect.root_fs.and_then(|r| r.layers).unwrap_or_default())
}

/// One run in row 4, with its engine and host growth.
async fn measured_run(
    b: &mut Bench,
    program: &Path,
    args: &[String],
    ws: &Path,
    set: &mut RunSet,
    ours: Option<&str>,
) -> BenchResult<()> {
    b.sample_busy();
    let docker_before = docker::layers_size(&b.host)?;
    let host_before = fsutil::disk_usage(ws)?;
    let finished = cli::run(program, args, ws, &[]).await?;
    let host_after = fsutil::disk_usage(ws)?;
    let docker_after = docker::layers_size(&b.host)?;
    check_scores(
        ws,
        if ours.is_some() {
            "harnessgym"
        } else {
            "the reference"
        },
    )?;
    set.wall.push_time(finished.wall);
    set.docker.push(docker_after - docker_before);
    set.host.push(host_after as f64 - host_before as f64);
    if let Some(run) = ours {
        set.steps.add(&cli::our_summary(ws, run)?);
    }
    Ok(())
}

/// Row 4: the 340 MB workspace, 5 iterations, reset, optimization mode, a cheap score command,
/// an unreachable stop score: ours (a first run, then a second run of the same workspace with
/// the first run's images still there) and the reference, each on a fresh `cp -a` copy of one
/// template.
pub async fn optimization_loop(b: &mut Bench, template: &Path) -> BenchResult<Loop> {
    let mut out = Loop::default();
    let reference_score = reference_score();
    for rep in 1..=b.reps {
        let first = b.scratch.join("loop-first");
        let second = b.scratch.join("loop-second");
        fsutil::copy_tree(template, &first, true)?;
        fsutil::copy_tree(template, &second, true)?;
        let (run, second_run) = (b.run.clone(), b.second_run());
        let mut args = loop_args(&first, SCORE);
        args.extend(["--run-id".to_string(), run.clone()]);
        let bin = b.bin.clone();
        let mut set = std::mem::take(&mut out.first);
        measured_run(b, &bin, &args, &first, &mut set, Some(&run)).await?;
        out.first = set;
        let mut args = loop_args(&second, SCORE);
        args.extend(["--run-id".to_string(), second_run.clone()]);
        let mut set = std::mem::take(&mut out.second);
        measured_run(b, &bin, &args, &second, &mut set, Some(&second_run)).await?;
        out.second = set;
        let a = record_layers(b, &first, &run, "baseline").await?;
        let c = record_layers(b, &second, &second_run, "baseline").await?;
        // The last layer is `.harnessgym/` (it changes with every run); the one below it holds
        // the task files.
        if a.len() >= 2 && a.len() == c.len() && a[..a.len() - 1] == c[..c.len() - 1] {
            out.second_reused += 1;
        }
        b.reap().await;
        fsutil::remove_tree(&first)?;
        fsutil::remove_tree(&second)?;

        let ws = b.scratch.join("loop-reference");
        fsutil::copy_tree(template, &ws, true)?;
        let reference = b.reference.clone();
        let mut set = std::mem::take(&mut out.reference);
        measured_run(
            b,
            &reference,
            &loop_args(&ws, &reference_score),
            &ws,
            &mut set,
            None,
        )
        .await?;
        out.reference = set;
        fsutil::remove_tree(&ws)?;
        eprintln!(
            "bench: 340 MB run {rep}/{}: ours {:.1} s then {:.1} s, reference {:.1} s",
            b.reps,
            out.first.wall.0.last().copied().unwrap_or(f64::NAN),
            out.second.wall.0.last().copied().unwrap_or(f64::NAN),
            out.reference.wall.0.last().copied().unwrap_or(f64::NAN),
        );
    }
    // One more run of ours, untimed, logging every engine request.
    let ws = b.scratch.join("loop-census");
    fsutil::copy_tree(template, &ws, true)?;
    let mut args = loop_args(&ws, SCORE);
    args.extend(["--run-id".to_string(), b.run.clone()]);
    let bin = b.bin.clone();
    let logged = cli::run(
        &bin,
        &args,
        &ws,
        &[("HARNESSGYM_LOG", "warn,bollard=debug")],
    )
    .await?;
    let engine = cli::our_summary(&ws, &b.run)?.engine;
    out.census = Some((Census::from_log(&logged.stderr), engine));
    b.reap().await;
    fsutil::remove_tree(&ws)?;
    Ok(out)
}

/// Both tools must have scored every iteration's scripted attempt (the equivalent inputs): the
/// best score is the last attempt's.
fn check_scores(ws: &Path, who: &str) -> BenchResult<()> {
    let runs = ws.join(".harnessgym/runs");
    let run = std::fs::read_dir(&runs)
        .ctx(&format!("list {who}'s runs"))?
        .filter_map(Result::ok)
        .next()
        .ctx(&format!("{who}'s run"))?
        .path();
    let text =
        std::fs::read_to_string(run.join("summary.json")).ctx(&format!("{who}'s summary.json"))?;
    let summary: serde_json::Value =
        serde_json::from_str(&text).ctx(&format!("{who}'s summary.json"))?;
    let best = summary
        .get("best_score")
        .and_then(serde_json::Value::as_f64);
    let expected = f64::from(SCORE_START - LOOP_ITERATIONS);
    if best != Some(expected) {
        return Err(format!(
            "{who}'s run did not score the scripted attempts: best score {best:?}, expected {expected}"
        ));
    }
    Ok(())
}

/// The tag of the helper image of our binary, once the warm-up made sure it exists.
pub static HELPER_TAG: Mutex<Option<String>> = Mutex::new(None);

/// Warm the helper image with a tiny baseline (untimed), remember the helper's tag (its layer is
/// the baseline's last but one) and remove that baseline.
pub async fn warm_up(b: &mut Bench) -> BenchResult<()> {
    let ws = b.scratch.join("warm-up");
    std::fs::create_dir_all(&ws).ctx("create the warm-up workspace")?;
    std::fs::write(ws.join("task.md"), b"warm-up\n").ctx("write the warm-up workspace")?;
    let (kept, _) = make_baseline(b, Strategy::Load, &ws).await?;
    let layers = b
        .engine
        .inspect_image(kept.baseline.image_id())
        .await
        .ctx("inspect the warm-up baseline")?
        .and_then(|i| i.root_fs)
        .and_then(|r| r.layers)
        .unwrap_or_default();
    let base = b
        .engine
        .image_config(BASE_IMAGE)
        .await
        .ctx("the base image's config")?;
    if let (Some(helper), Ok(mut tag)) = (layers.iter().rev().nth(1), HELPER_TAG.lock()) {
        let name = format!(
            "{HELPER_REPO}:{}-{}",
            short_id(&base.id()),
            short_id(helper)
        );
        eprintln!("bench: warm: the helper image of this binary is {name}");
        *tag = Some(name);
    }
    kept.store
        .remove(&kept.baseline)
        .await
        .ctx("remove the warm-up baseline")?;
    fsutil::remove_tree(&ws)
}
