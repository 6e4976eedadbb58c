//! The table: printed, and written between the markers of BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;

use harnessgym::snapshot::Strategy;

use crate::compare::CompareRow;
use crate::docker::Census;
use crate::machine::{Busy, Machine};
use crate::rows::{Baselines, CHANGES, Demo, Loop, Snapshots, Steps};
use crate::util::{BenchResult, Ctx, mib, ratio, secs, secs_range};

/// The first line of the generated block.
pub const BEGIN: &str =
    "<!-- bench:begin: written by `make bench`, everything down to bench:end is replaced -->";
/// The last line of the generated block.
pub const END: &str = "<!-- bench:end -->";

/// Demo target (seconds of wall time, warm images).
const DEMO_TARGET: f64 = 2.0;
/// A snapshot after a small change (seconds).
const SNAPSHOT_TARGET: f64 = 0.4;
/// "The same in 34 MB and 340 MB": the 340 MB median at most this many times the 34 MB one.
const SAME_TOLERANCE: f64 = 1.25;
/// The 340 MB run against the reference's wall time: first run, second run.
const FIRST_RUN_TARGET: f64 = 1.0;
const SECOND_RUN_TARGET: f64 = 0.5;
/// Its extra disk against the reference's.
const DISK_TARGET: f64 = 0.2;
/// `compare --jobs 4` against `--jobs 1` (4 trials of a 2 s attempt, 2 CPUs).
const JOBS_TARGET: f64 = 0.45;

/// Everything measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Repetitions.
    pub reps: usize,
    /// 1.0: the sizes.
    pub scale: f64,
    /// Row 1.
    pub demo: Option<Demo>,
    /// Row 2 (and the names of its two sizes).
    pub snapshots: Option<(Snapshots, String, String)>,
    /// Row 3.
    pub baselines: Option<Baselines>,
    /// Row 4.
    pub optimization: Option<Loop>,
    /// Row 5.
    pub compare: Option<CompareRow>,
}

struct Verdict {
    what: String,
    met: bool,
    detail: String,
}

fn met(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

/// Render the generated block.
pub fn render(results: &Results, machine: &Machine, busy: &Busy, cpus: usize) -> String {
    let mut md = String::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    let _ = writeln!(md, "{BEGIN}");
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "Last run: {}, harnessgym {}. {} repetitions of every measurement, all side by side in \
         this one run; each cell is the median, with the range (min–max, seconds) in brackets.{}\n",
        machine.date,
        machine.commit,
        results.reps,
        if results.scale == 1.0 {
            String::new()
        } else {
            format!(
                " **Sizes scaled by {} (a quick try, not the issue's sizes).**",
                results.scale
            )
        }
    );
    let _ = writeln!(
        md,
        "| # | Measurement | harnessgym | Compared with | Ratio | Target | |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    if let Some(demo) = &results.demo {
        demo_rows(&mut md, demo, &mut verdicts);
    }
    if let Some((snaps, small, large)) = &results.snapshots {
        snapshot_rows(&mut md, snaps, small, large, &mut verdicts);
        exec_row(&mut md, snaps);
    }
    if let Some(base) = &results.baselines {
        baseline_rows(&mut md, base);
    }
    if let Some(opt) = &results.optimization {
        loop_rows(&mut md, opt, &mut verdicts);
    }
    if let Some(row) = &results.compare {
        compare_rows(&mut md, row, &mut verdicts);
    }
    let _ = writeln!(md, "\n### Targets\n");
    for v in &verdicts {
        let _ = writeln!(md, "- {} — {}: {}", met(v.met), v.what, v.detail);
    }
    let _ = writeln!(md, "\n### Where the time goes\n");
    if let Some(demo) = &results.demo {
        let _ = writeln!(
            md,
            "The demo, per step of our run (`summary.json` `harnessgym.timings`, summed per run, \
             median over runs):\n"
        );
        steps_table(&mut md, &[("demo", &demo.steps)]);
        census_line(&mut md, "the demo", demo.census.as_ref());
    }
    if let Some(opt) = &results.optimization {
        let _ = writeln!(
            md,
            "The 340 MB optimization run, per step of our runs (summed per run, median over \
             runs):\n"
        );
        steps_table(
            &mut md,
            &[
                ("first run", &opt.first.steps),
                ("second run", &opt.second.steps),
            ],
        );
        census_line(&mut md, "the 340 MB run", opt.census.as_ref());
    }
    let _ = writeln!(md, "### Machine\n");
    let _ = writeln!(md, "- CPUs: {}", machine.cpus);
    let _ = writeln!(md, "- Memory: {}", machine.memory);
    let _ = writeln!(md, "- Kernel: {}", machine.kernel);
    let _ = writeln!(md, "- Docker: {}", machine.docker);
    let _ = writeln!(md, "- Storage driver: {}", machine.storage);
    let _ = writeln!(md, "- Date: {}", machine.date);
    let _ = writeln!(md, "- harnessgym: {} ({})", machine.commit, machine.rustc);
    let _ = writeln!(md, "- Reference: HarnessGym 0.1.1 on {}", machine.python);
    let _ = writeln!(
        md,
        "- Load: {}. {}",
        busy.describe(),
        if busy.shared(cpus) {
            "**The machine was shared with other work while this ran**: absolute times are \
             noisier than on a quiet machine; both sides of every ratio ran under the same \
             conditions, interleaved."
        } else {
            "Nothing else was seen running."
        }
    );
    let _ = writeln!(md, "{END}");
    md
}

fn demo_rows(md: &mut String, demo: &Demo, verdicts: &mut Vec<Verdict>) {
    let ours = demo.ours.median();
    let reference = demo.reference.median();
    let ok = ours <= DEMO_TARGET;
    let _ = writeln!(
        md,
        "| 1 | Seed demo (`examples/numerical_debug_task`, 2 fake iterations), wall | {} | reference {} | {} | ≤ {DEMO_TARGET:.1} s | {} |",
        secs_range(&demo.ours),
        secs_range(&demo.reference),
        ratio(ours / reference),
        met(ok)
    );
    let wall = demo.steps.wall().median();
    let engine = demo.steps.engine().median();
    let _ = writeln!(
        md,
        "| 1 | … of which engine calls / our own work (`summary.json`: run wall {}) | {} / {} | | | | |",
        secs(wall),
        secs(engine),
        secs(wall - engine)
    );
    verdicts.push(Verdict {
        what: format!("demo ≤ {DEMO_TARGET:.1} s wall"),
        met: ok,
        detail: if ok {
            format!("{} ({} the reference)", secs(ours), ratio(ours / reference))
        } else {
            format!(
                "{}, over by {} ({} the target; the reference takes {})",
                secs(ours),
                secs(ours - DEMO_TARGET),
                ratio(ours / DEMO_TARGET),
                secs(reference)
            )
        },
    });
}

fn compare_rows(md: &mut String, row: &CompareRow, verdicts: &mut Vec<Verdict>) {
    let (wide, narrow) = (row.jobs4.median(), row.jobs1.median());
    let r = wide / narrow;
    let ok = r <= JOBS_TARGET;
    let _ = writeln!(
        md,
        "| 5 | `compare`, 4 trials of a 2 s fake attempt (+ post command), wall: `--jobs 4` | {} | `--jobs 1` {} | {} | ≤ {JOBS_TARGET}× | {} |",
        secs_range(&row.jobs4),
        secs_range(&row.jobs1),
        ratio(r),
        met(ok)
    );
    let (trial, bare) = (row.trial.median(), row.bare.median());
    let _ = writeln!(
        md,
        "| 5 | … one trial (`--jobs 1`: session, activation, attempt, snapshot, post command, cleanup) over a bare `docker run` of the attempt | {} (+{}) | `docker run --rm` {} | {} | – | |",
        secs_range(&row.trial),
        secs(trial - bare),
        secs_range(&row.bare),
        ratio(trial / bare)
    );
    verdicts.push(Verdict {
        what: format!("`compare --jobs 4` ≤ {JOBS_TARGET}× `--jobs 1` (4 trials of 2 s)"),
        met: ok,
        detail: format!("{} vs {} ({})", secs(wide), secs(narrow), ratio(r)),
    });
}

fn kib(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.0} KiB", bytes / 1024.0)
    }
}

fn snapshot_rows(
    md: &mut String,
    snaps: &Snapshots,
    small: &str,
    large: &str,
    verdicts: &mut Vec<Verdict>,
) {
    for (change, _) in CHANGES {
        for size in [small, large] {
            let (Some(load), Some(commit)) = (
                snaps.cell(size, change, Strategy::Load),
                snaps.cell(size, change, Strategy::Commit),
            ) else {
                continue;
            };
            let l = load.time.median();
            let c = commit.time.median();
            let small_change = change == CHANGES[0].0;
            let (target, mark) = if small_change {
                let ok = l <= SNAPSHOT_TARGET;
                verdicts.push(Verdict {
                    what: format!(
                        "a snapshot after a {change} change in {size} ≤ {SNAPSHOT_TARGET} s"
                    ),
                    met: ok,
                    detail: if ok {
                        secs(l)
                    } else {
                        format!("{}, over by {}", secs(l), secs(l - SNAPSHOT_TARGET))
                    },
                });
                (format!("≤ {SNAPSHOT_TARGET} s"), met(ok).to_string())
            } else {
                ("–".to_string(), String::new())
            };
            let _ = writeln!(
                md,
                "| 2 | Snapshot after a {change} change, {size} workspace (layer {}) | load {} | commit {} | {} | {target} | {mark} |",
                kib(load.layer_bytes.median()),
                secs_range(&load.time),
                secs_range(&commit.time),
                ratio(l / c),
            );
        }
        let (Some(a), Some(b)) = (
            snaps.cell(small, change, Strategy::Load),
            snaps.cell(large, change, Strategy::Load),
        ) else {
            continue;
        };
        let r = b.time.median() / a.time.median();
        let small_change = change == CHANGES[0].0;
        let ok = r <= SAME_TOLERANCE;
        if small_change {
            verdicts.push(Verdict {
                what: format!(
                    "a small-change snapshot the same in {small} and {large} (≤ {SAME_TOLERANCE}×)"
                ),
                met: ok,
                detail: format!(
                    "{} vs {} ({})",
                    secs(a.time.median()),
                    secs(b.time.median()),
                    ratio(r)
                ),
            });
        }
        let _ = writeln!(
            md,
            "| 2 | … {change} change: {large} against {small} (load) | {} | {} | {} | {} | {} |",
            secs(b.time.median()),
            secs(a.time.median()),
            ratio(r),
            if small_change {
                format!("≤ {SAME_TOLERANCE}× (the same)")
            } else {
                "–".to_string()
            },
            if small_change { met(ok) } else { "" }
        );
    }
}

fn exec_row(md: &mut String, snaps: &Snapshots) {
    let _ = writeln!(
        md,
        "| 2 | … for scale: a no-op exec in a session container (the floor under a capture's walk) | {} | | | | |",
        secs_range(&snaps.exec)
    );
}

fn baseline_rows(md: &mut String, base: &Baselines) {
    let l = base.load.median();
    let c = base.commit.median();
    let r = base.reuse.median();
    let _ = writeln!(
        md,
        "| 3 | Baseline of the 340 MB / 10,000-file workspace (layer new to the engine{}) | load {} | upload + commit {} | {} | – | |",
        if base.first_reused > 0 {
            format!("; **{} of them found it already there**", base.first_reused)
        } else {
            String::new()
        },
        secs_range(&base.load),
        secs_range(&base.commit),
        ratio(l / c)
    );
    let _ = writeln!(
        md,
        "| 3 | Second baseline of the unchanged workspace (layer reused in {}/{}: only a config sent) | load {} | first baseline by load {} | {} | – | |",
        base.second_reused,
        base.reuse.len(),
        secs_range(&base.reuse),
        secs(l),
        ratio(r / l)
    );
}

fn loop_rows(md: &mut String, opt: &Loop, verdicts: &mut Vec<Verdict>) {
    let reference = opt.reference.wall.median();
    let first = opt.first.wall.median();
    let second = opt.second.wall.median();
    let r1 = first / reference;
    let r2 = second / reference;
    let ok1 = r1 <= FIRST_RUN_TARGET;
    let ok2 = r2 <= SECOND_RUN_TARGET;
    let _ = writeln!(
        md,
        "| 4 | 340 MB / 10,000 files, 5 iterations, reset + optimization mode: wall, first run | {} | reference {} | {} | ≤ {FIRST_RUN_TARGET:.1}× | {} |",
        secs_range(&opt.first.wall),
        secs_range(&opt.reference.wall),
        ratio(r1),
        met(ok1)
    );
    let _ = writeln!(
        md,
        "| 4 | … wall, second run of the same workspace (baseline layer reused in {}/{}) | {} | reference {} | {} | ≤ {SECOND_RUN_TARGET:.1}× | {} |",
        opt.second_reused,
        opt.second.wall.len(),
        secs_range(&opt.second.wall),
        secs(reference),
        ratio(r2),
        met(ok2)
    );
    let d1 = opt.first.disk().median();
    let d2 = opt.second.disk().median();
    let dr = opt.reference.host.median();
    let ok3 = d1 / dr <= DISK_TARGET;
    let _ = writeln!(
        md,
        "| 4 | … extra disk, first run (engine layers + host workspace) | {} ({} + {}) | reference {} (host; engine drift meanwhile {}) | {} | ≤ {DISK_TARGET:.1}× | {} |",
        mib(d1),
        mib(opt.first.docker.median()),
        mib(opt.first.host.median()),
        mib(dr),
        mib(opt.reference.docker.median()),
        ratio(d1 / dr),
        met(ok3)
    );
    let _ = writeln!(
        md,
        "| 4 | … extra disk, second run | {} ({} + {}) | reference {} | {} | – | |",
        mib(d2),
        mib(opt.second.docker.median()),
        mib(opt.second.host.median()),
        mib(dr),
        ratio(d2 / dr)
    );
    verdicts.push(Verdict {
        what: format!("340 MB run ≤ {FIRST_RUN_TARGET:.1}× the reference's wall, first run"),
        met: ok1,
        detail: over(first, reference, FIRST_RUN_TARGET),
    });
    verdicts.push(Verdict {
        what: format!("340 MB run ≤ {SECOND_RUN_TARGET:.1}× the reference's wall, second run"),
        met: ok2,
        detail: over(second, reference, SECOND_RUN_TARGET),
    });
    verdicts.push(Verdict {
        what: format!("340 MB run ≤ {DISK_TARGET:.1}× the reference's extra disk"),
        met: ok3,
        detail: format!("{} against {} ({})", mib(d1), mib(dr), ratio(d1 / dr)),
    });
}

/// `12.3 s against 9.2 s (1.34×; over the 1.0× target by 3.1 s)`.
fn over(ours: f64, reference: f64, target: f64) -> String {
    let r = ours / reference;
    if r <= target {
        format!("{} against {} ({})", secs(ours), secs(reference), ratio(r))
    } else {
        format!(
            "{} against {} ({}; over the {target:.1}× target by {})",
            secs(ours),
            secs(reference),
            ratio(r),
            secs(ours - reference * target)
        )
    }
}

fn steps_table(md: &mut String, columns: &[(&str, &Steps)]) {
    let _ = write!(md, "| Step |");
    for (name, _) in columns {
        let _ = write!(md, " {name} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in columns {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md);
    let mut kinds: Vec<String> = Vec::new();
    let medians: Vec<Vec<(String, f64)>> = columns.iter().map(|(_, s)| s.medians()).collect();
    for list in &medians {
        for (kind, _) in list {
            if !kinds.contains(kind) {
                kinds.push(kind.clone());
            }
        }
    }
    for kind in &kinds {
        let _ = write!(md, "| {kind} |");
        for list in &medians {
            let value = list
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, v)| secs(*v))
                .unwrap_or_else(|| "–".to_string());
            let _ = write!(md, " {value} |");
        }
        let _ = writeln!(md);
    }
    let _ = write!(md, "| **run wall (`summary.json`)** |");
    for (_, s) in columns {
        let _ = write!(md, " **{}** |", secs(s.wall().median()));
    }
    let _ = write!(md, "\n| of which in engine calls |");
    for (_, s) in columns {
        let _ = write!(md, " {} |", secs(s.engine().median()));
    }
    let _ = writeln!(md, "\n");
}

fn census_line(md: &mut String, what: &str, census: Option<&(Census, f64)>) {
    let Some((census, engine)) = census else {
        return;
    };
    let n = census.total();
    let _ = writeln!(
        md,
        "One more run of {what} (untimed) logged its engine requests: {n} requests — {}; {} in \
         engine calls, {} per request on average.\n",
        census.describe(),
        secs(*engine),
        secs(if n > 0 { engine / n as f64 } else { f64::NAN })
    );
}

/// The default file when there is none yet.
const SKELETON: &str = "# Benchmarks\n\n`make bench` measures harnessgym beside the reference and \
rewrites the block below.\n\n";

/// Replace the generated block of `path` (or create the file).
pub fn write(path: &Path, block: &str) -> BenchResult<()> {
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| SKELETON.to_string());
    let updated = match (current.find(BEGIN), current.find(END)) {
        (Some(start), Some(end)) if end > start => {
            format!(
                "{}{}{}",
                &current[..start],
                block.trim_end(),
                &current[end + END.len()..]
            )
        }
        _ => format!("{}\n{}\n", current.trim_end(), block.trim_end()),
    };
    std::fs::write(path, updated).ctx(&format!("write {}", path.display()))
}
