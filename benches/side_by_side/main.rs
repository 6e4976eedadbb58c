//! `make bench`: harnessgym beside the reference HarnessGym 0.1.1, measured side by side in one
//! run, printed as a table of medians and ratios and written into `BENCHMARKS.md`.
//!
//! Rows (see BENCHMARKS.md for the method):
//! 1. the seed demo, ours (release binary, warm images) vs the reference's CLI;
//! 2. one snapshot after a 1 KiB and a 10 MiB change in a 34 MB and a 340 MB workspace, by load
//!    and by commit (the library: `SnapshotStore::{baseline, open_session, capture}`);
//! 3. the baseline of the 340 MB workspace by load and by upload + commit, and a second baseline
//!    of the unchanged workspace;
//! 4. the 340 MB workspace through 5 iterations of reset + optimization mode: wall time and extra
//!    disk, ours (a first and a second run) vs the reference;
//! 5. `harnessgym compare`, 4 trials of a 2 s fake attempt: `--jobs 4` vs `--jobs 1`, and one
//!    trial's time over a bare `docker run` of the same attempt.
//!
//! Everything it creates in the engine carries the run label `bench-<pid>` and is removed at the
//! end, also on failure or Ctrl-C; workspaces live under `target/bench-<pid>` and are removed.
//!
//! Environment: `HARNESSGYM_BENCH_REPS` (default 5), `HARNESSGYM_BENCH_SCALE` (default 1: the
//! issue's sizes), `HARNESSGYM_BENCH_ROWS` (a comma list of `demo,snapshot,baseline,loop,compare`).
//! BENCHMARKS.md is written only by a full run (every row, the sizes, ≥ 5 repetitions);
//! other runs write `target/BENCHMARKS.partial.md`.

// A developer tool: it reports to the terminal that ran it.
#![allow(clippy::disallowed_macros)]

mod cli;
mod compare;
mod docker;
mod fsutil;
mod machine;
mod report;
mod rows;
mod util;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harnessgym::image::BASE_IMAGE;
use harnessgym::sandbox::{Engine, Selector, labels, resolve_host};
use harnessgym::snapshot::HELPER_ROLE;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

use crate::report::Results;
use crate::rows::Bench;
use crate::util::{BenchResult, Ctx};

const BIN: &str = env!("CARGO_BIN_EXE_harnessgym");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ALL_ROWS: [&str; 5] = ["demo", "snapshot", "baseline", "loop", "compare"];

/// Counts the library's "task files layer reused" events (a baseline that sent only a config and
/// the small harness layer).
struct ReuseCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for ReuseCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visit(bool);
        impl tracing::field::Visit for Visit {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message"
                    && format!("{value:?}").contains(harnessgym::snapshot::TASK_LAYER_REUSED)
                {
                    self.0 = true;
                }
            }
        }
        let mut visit = Visit(false);
        event.record(&mut visit);
        if visit.0 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct Settings {
    reps: usize,
    scale: f64,
    rows: Vec<String>,
}

impl Settings {
    fn from_env() -> BenchResult<Settings> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let reps = match var("HARNESSGYM_BENCH_REPS") {
            Some(v) => v.parse().ctx("HARNESSGYM_BENCH_REPS")?,
            None => 5,
        };
        let scale = match var("HARNESSGYM_BENCH_SCALE") {
            Some(v) => v.parse().ctx("HARNESSGYM_BENCH_SCALE")?,
            None => 1.0,
        };
        let rows: Vec<String> = match var("HARNESSGYM_BENCH_ROWS") {
            Some(v) => v.split(',').map(|s| s.trim().to_string()).collect(),
            None => ALL_ROWS.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(bad) = rows.iter().find(|r| !ALL_ROWS.contains(&r.as_str())) {
            return Err(format!(
                "HARNESSGYM_BENCH_ROWS: unknown row {bad} (rows: {})",
                ALL_ROWS.join(",")
            ));
        }
        if reps == 0 || !(scale > 0.0 && scale <= 1.0) {
            return Err(
                "HARNESSGYM_BENCH_REPS must be ≥ 1, HARNESSGYM_BENCH_SCALE in (0, 1]".into(),
            );
        }
        Ok(Settings { reps, scale, rows })
    }

    fn full(&self) -> bool {
        self.reps >= 5 && self.scale == 1.0 && self.rows.len() == ALL_ROWS.len()
    }

    fn wants(&self, row: &str) -> bool {
        self.rows.iter().any(|r| r == row)
    }
}

fn main() -> ExitCode {
    let counter = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .without_time()
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
        )
        .with(
            ReuseCounter(counter.clone()).with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("harnessgym", tracing::Level::INFO),
            ),
        );
    let _ = tracing::subscriber::set_global_default(subscriber);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(counter)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Remove leftovers of benches that died on this host: their scratch directories and the engine
/// objects of their `bench-<pid>` runs (never those of a bench still running).
async fn remove_stale(engine: &Engine, target: &Path) {
    let dead = |run: &str| {
        // `bench-<pid>`, or a compare of it (`bench-<pid>-c0j4…`).
        run.strip_prefix("bench-")
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
    };
    if let Ok(entries) = std::fs::read_dir(target) {
        for entry in entries.filter_map(Result::ok) {
            if dead(&entry.file_name().to_string_lossy()) {
                let _ = fsutil::remove_tree(&entry.path());
            }
        }
    }
    let here = labels::host_name();
    let mut runs = std::collections::BTreeSet::new();
    let ours = |l: &std::collections::HashMap<String, String>| {
        let run = l.get(labels::RUN)?;
        (l.get(labels::OWNER_HOST) == Some(&here) && dead(run)).then(|| run.clone())
    };
    if let Ok(list) = engine.list_containers_labelled(labels::RUN, None).await {
        runs.extend(list.iter().filter_map(|(_, l)| ours(l)));
    }
    if let Ok(list) = engine.list_images_labelled(labels::RUN, None).await {
        runs.extend(list.iter().filter_map(|i| ours(&i.labels)));
    }
    for run in runs {
        let report = engine.reap(&Selector::Run(run.clone()), true).await;
        for err in report.errors {
            eprintln!("bench: removing what the dead bench {run} left: {err}");
        }
    }
}

async fn helper_images(engine: &Engine) -> Vec<String> {
    engine
        .list_images_labelled(labels::ROLE, Some(HELPER_ROLE))
        .await
        .map(|list| list.into_iter().map(|i| i.id).collect())
        .unwrap_or_default()
}

async fn bench(counter: Arc<AtomicUsize>) -> BenchResult<()> {
    let settings = Settings::from_env()?;
    let root = PathBuf::from(ROOT);
    let reference = root.join("target/reference-venv/bin/harnessgym");
    // Rows 1 and 4 run the reference; the others do not need it installed.
    let needs_reference = settings.wants("demo") || settings.wants("loop");
    if needs_reference && !reference.is_file() {
        return Err(format!(
            "the reference is not installed at {} (`make bench` installs it: pip install harnessgym==0.1.1 into target/reference-venv)",
            reference.display()
        ));
    }
    let host = resolve_host(None);
    let engine = Engine::connect(&host).await.ctx("connect to the engine")?;
    engine
        .require_image(BASE_IMAGE)
        .await
        .ctx("the base image (make image)")?;
    let info = engine.info().await.ctx("engine info")?;
    let pid = std::process::id();
    let run = format!("bench-{pid}");
    let target = root.join("target");
    remove_stale(&engine, &target).await;
    let scratch = target.join(&run);
    std::fs::create_dir_all(&scratch).ctx(&format!("create {}", scratch.display()))?;
    let machine = machine::Machine::gather(
        &root,
        &info,
        &root.join("target/reference-venv/bin/python3"),
    );
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    eprintln!(
        "bench: {} repetitions, scale {}, rows {}; engine {} with {}; run label {run}",
        settings.reps,
        settings.scale,
        settings.rows.join(","),
        info.version,
        info.storage_driver
    );
    let helpers_before = helper_images(&engine).await;
    let mut b = Bench::new(
        engine.clone(),
        host,
        run.clone(),
        scratch.clone(),
        root.clone(),
        PathBuf::from(BIN),
        reference,
        settings.reps,
        settings.scale,
        counter,
    );
    let work = tokio::spawn(async move {
        let outcome = measure(&mut b, &settings).await;
        (outcome, b.busy, settings)
    });
    let abort = work.abort_handle();
    let joined = tokio::select! {
        joined = work => Some(joined),
        _ = tokio::signal::ctrl_c() => None,
    };
    if joined.is_none() {
        eprintln!("bench: interrupted; stopping the runs and removing what the bench created");
        tokio::task::spawn_blocking(|| cli::interrupt_children(Duration::from_secs(60)))
            .await
            .ok();
        abort.abort();
    }
    // Cleanup, whatever happened.
    let report = engine.reap(&Selector::Run(run.clone()), true).await;
    for err in &report.errors {
        eprintln!("bench: cleanup: {err}");
    }
    // The helper image of our binary, if the bench made it (it belongs to no run: shared by
    // every run of this binary); never another one.
    let helper = rows::HELPER_TAG.lock().ok().and_then(|t| t.clone());
    if let Some(tag) = helper
        && let Ok(Some(inspect)) = engine.inspect_image(&tag).await
        && let Some(id) = inspect.id
        && !helpers_before.contains(&id)
        && let Err(err) = engine.remove_image(&id).await
    {
        eprintln!("bench: cleanup: {err}");
    }
    fsutil::remove_tree(&scratch)?;
    let left = engine
        .list_containers_labelled(labels::RUN, Some(&run))
        .await
        .map(|l| l.len())
        .unwrap_or(0)
        + engine
            .list_images_labelled(labels::RUN, Some(&run))
            .await
            .map(|l| l.len())
            .unwrap_or(0);
    if left > 0 {
        eprintln!("bench: {left} objects labelled {run} are left in the engine");
    }
    let Some(joined) = joined else {
        return Err("interrupted".into());
    };
    let (outcome, busy, settings) = match joined {
        Ok(parts) => parts,
        Err(e) if e.is_panic() => return Err("the bench panicked (cleaned up)".into()),
        Err(e) => return Err(format!("the bench task failed: {e}")),
    };
    let results = outcome?;
    let block = report::render(&results, &machine, &busy, cpus);
    println!("{block}");
    let out = if settings.full() {
        root.join("BENCHMARKS.md")
    } else {
        target.join("BENCHMARKS.partial.md")
    };
    report::write(&out, &block)?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}

async fn measure(b: &mut Bench, settings: &Settings) -> BenchResult<Results> {
    let mut results = Results {
        reps: settings.reps,
        scale: settings.scale,
        ..Results::default()
    };
    rows::warm_up(b).await?;
    if settings.wants("demo") {
        results.demo = Some(rows::demo(b).await?);
    }
    if settings.wants("compare") {
        results.compare = Some(compare::compare(b).await?);
    }
    let large_shape = b.large_shape();
    let needs_large =
        settings.wants("snapshot") || settings.wants("baseline") || settings.wants("loop");
    let large = if needs_large {
        Some(b.template("ws-340", large_shape)?)
    } else {
        None
    };
    let mb = |bytes: u64| format!("{:.0} MB", bytes as f64 / 1e6);
    if let Some(large) = &large {
        if settings.wants("baseline") || settings.wants("snapshot") {
            let (baselines, load, commit) = if settings.wants("baseline") {
                let (baselines, load, commit) = rows::baselines(b, large).await?;
                (Some(baselines), load, commit)
            } else {
                let (load, commit) = rows::kept_baselines(b, large).await?;
                (None, load, commit)
            };
            results.baselines = baselines;
            if settings.wants("snapshot") {
                let small_shape = b.small_shape();
                let small = b.template("ws-34", small_shape)?;
                let (small_load, small_commit) = rows::kept_baselines(b, &small).await?;
                let sizes = [
                    (mb(small_shape.total()), &small_load, &small_commit),
                    (mb(large_shape.total()), &load, &commit),
                ];
                let snaps = rows::snapshots(b, &sizes).await?;
                results.snapshots = Some((snaps, sizes[0].0.clone(), sizes[1].0.clone()));
                fsutil::remove_tree(&small)?;
            }
            b.reap().await;
        }
        if settings.wants("loop") {
            results.optimization = Some(rows::optimization_loop(b, large).await?);
        }
    }
    Ok(results)
}
