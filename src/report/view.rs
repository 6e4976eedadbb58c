//! What `runs` and `show` print, as data: one [`ListEntry`] per run or compare, one
//! [`IterationRow`] per iteration. Both serialize as the commands' `--json` output, and the
//! HTML report shows the same rows.

use serde::Serialize;

use super::compare::CompareData;
use super::files::{PhaseRecord, ResultFile};
use super::runs::{IterationData, RunData, date_from_run_id};

/// One line of `harnessgym runs`.
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    /// `run` or `compare`.
    pub kind: &'static str,
    /// The run id, or the compare directory's name.
    pub id: String,
    /// The directory.
    pub path: String,
    /// When it started (ISO-8601, as recorded), if known.
    pub date: Option<String>,
    /// The runner.
    pub runner: Option<String>,
    /// Runs: iterations that ran.
    pub iterations_done: Option<usize>,
    /// Runs: the iteration budget.
    pub iterations_max: Option<u64>,
    /// Runs: the last iteration's status (`unfinished` without a summary).
    pub final_status: Option<String>,
    /// Runs: the best score (`summary.best_score`).
    pub best_score: Option<f64>,
    /// Compares: trials per group.
    pub trials: Option<GroupPair<usize>>,
    /// Compares: valid trials per group.
    pub valid_trials: Option<GroupPair<usize>>,
    /// Compares: the best valid post score per group.
    pub best_post_score: Option<GroupPair<Option<f64>>>,
    /// Compares: the verdict.
    pub verdict: Option<String>,
}

/// A value per compare group.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GroupPair<T> {
    /// The plain group's.
    pub plain: T,
    /// The harnessed group's.
    pub harnessed: T,
}

/// The status shown for a run without `summary.json`.
pub const UNFINISHED: &str = "unfinished";

/// When a run started: from its id, else from its first result.
pub fn run_date(run: &RunData) -> Option<String> {
    date_from_run_id(&run.id()).or_else(|| {
        run.iterations
            .iter()
            .find_map(|i| i.result.as_ref()?.created_at.clone())
    })
}

/// The list entry of a run.
pub fn run_entry(run: &RunData) -> ListEntry {
    let summary = run.summary.as_ref();
    ListEntry {
        kind: "run",
        id: run.id(),
        path: run
            .dir
            .as_ref()
            .map(|d| d.path.display().to_string())
            .unwrap_or_default(),
        date: run_date(run),
        runner: run.config.runner.clone(),
        iterations_done: Some(run.iterations.len()),
        iterations_max: run.config.iterations,
        final_status: Some(
            summary
                .and_then(|s| s.final_status.clone())
                .unwrap_or_else(|| UNFINISHED.to_string()),
        ),
        best_score: summary.and_then(|s| s.best_score),
        trials: None,
        valid_trials: None,
        best_post_score: None,
        verdict: None,
    }
}

/// The list entry of a compare.
pub fn compare_entry(compare: &CompareData) -> ListEntry {
    let pair = |f: &dyn Fn(&str) -> usize| GroupPair {
        plain: f("plain"),
        harnessed: f("harnessed"),
    };
    ListEntry {
        kind: "compare",
        id: compare.id(),
        path: compare.path.display().to_string(),
        date: compare.report.created_at.clone(),
        runner: compare.trial_config.as_ref().and_then(|c| c.runner.clone()),
        iterations_done: None,
        iterations_max: None,
        final_status: None,
        best_score: None,
        trials: Some(pair(&|g| compare.trials(g).len())),
        valid_trials: Some(pair(&|g| compare.values(g).len())),
        best_post_score: Some(GroupPair {
            plain: compare.summary("plain").best,
            harnessed: compare.summary("harnessed").best,
        }),
        verdict: compare.block.verdict.map(|v| v.as_str().to_string()),
    }
}

/// Time spent per phase of one iteration, in seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhaseDurations {
    /// The attempt.
    pub attempt: Option<f64>,
    /// The reflection.
    pub reflection: Option<f64>,
    /// The build.
    pub build: Option<f64>,
    /// Repair builds after a failed qualification, summed.
    pub repair: Option<f64>,
    /// Clean-room qualifications, summed (harnessgym runs only: from the step timings).
    pub qualification: Option<f64>,
    /// The post-attempt command.
    pub post_attempt: Option<f64>,
}

impl PhaseDurations {
    /// The phases in chart order with their names.
    pub fn parts(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("attempt", self.attempt),
            ("reflection", self.reflection),
            ("build", self.build),
            ("repair", self.repair),
            ("qualification", self.qualification),
            ("post-attempt", self.post_attempt),
        ]
    }
}

/// One line of `harnessgym show`.
#[derive(Debug, Clone, Serialize)]
pub struct IterationRow {
    /// The iteration number.
    pub iteration: u32,
    /// Its status (summary first, else result.json).
    pub status: Option<String>,
    /// Solved and verified.
    pub solved: bool,
    /// Phases that hit their timeout.
    pub timed_out: Vec<String>,
    /// The score read with the run's score key.
    pub score: Option<f64>,
    /// Phase durations.
    pub durations: PhaseDurations,
    /// Artifacts the iteration built: the build's own list (`tooling.built`) and registry
    /// entries whose `iteration` is this one.
    pub artifacts_built: Vec<String>,
    /// The qualification's status (`passed`, `failed`, `disabled`), when one ran.
    pub qualification: Option<String>,
    /// Artifacts quarantined by it.
    pub quarantined: Vec<String>,
    /// Active tools before the attempt.
    pub active_tools: Option<u64>,
    /// Active tools the attempt used, or the tools the agent said it used.
    pub tools_used: Vec<String>,
}

fn phase_seconds(record: Option<&PhaseRecord>) -> Option<f64> {
    record
        .and_then(|r| r.duration_seconds)
        .filter(|s| s.is_finite())
}

fn add(total: Option<f64>, more: Option<f64>) -> Option<f64> {
    match (total, more) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// Qualification seconds of iteration `n` from harnessgym's step timings
/// (`iteration <n> qualification <k>`).
fn qualification_seconds(run: &RunData, n: u32) -> Option<f64> {
    let timings = &run.summary.as_ref()?.harnessgym.as_ref()?.timings;
    let prefix = format!("iteration {n} qualification ");
    timings
        .iter()
        .filter(|t| t.step.trim().starts_with(&prefix))
        .filter_map(|t| t.seconds)
        .fold(None, |total, s| add(total, Some(s)))
}

fn durations(run: &RunData, it: &IterationData) -> PhaseDurations {
    let line = it.line.as_ref();
    let result = it.result.as_ref();
    let phase = |name: &str| result.and_then(|r| r.phases.get(name));
    let from_line = |pick: fn(&super::files::SummaryIteration) -> Option<&PhaseRecord>| {
        phase_seconds(line.and_then(pick))
    };
    let repair = result.and_then(|r| {
        r.phases
            .iter()
            .filter(|(name, _)| name.starts_with("repair_"))
            .fold(None, |total, (_, rec)| add(total, phase_seconds(Some(rec))))
    });
    PhaseDurations {
        attempt: from_line(|l| l.attempt.as_ref()).or(phase_seconds(phase("attempt"))),
        reflection: from_line(|l| l.reflection.as_ref()).or(phase_seconds(phase("reflection"))),
        build: from_line(|l| l.build.as_ref()).or(phase_seconds(phase("build"))),
        repair,
        qualification: qualification_seconds(run, it.number),
        post_attempt: result
            .and_then(|r| r.post_attempt.as_ref())
            .and_then(|p| p.duration_seconds)
            .filter(|s| s.is_finite()),
    }
}

fn built(result: Option<&ResultFile>, registry_built: &[String]) -> Vec<String> {
    let mut built: Vec<String> = result
        .and_then(|r| r.tooling.as_ref())
        .map(|t| t.built.iter().filter_map(|a| a.path.clone()).collect())
        .unwrap_or_default();
    for path in registry_built {
        if !built.contains(path) {
            built.push(path.clone());
        }
    }
    built
}

/// The row of one iteration. `registry_built` are the registry's paths whose `iteration` is
/// this one.
pub fn iteration_row(run: &RunData, it: &IterationData, registry_built: &[String]) -> IterationRow {
    let result = it.result.as_ref();
    let line = it.line.as_ref();
    let usage = result.and_then(|r| r.harness_usage.as_ref());
    let qualification = result.and_then(|r| r.artifact_qualification.as_ref());
    let mut timed_out: Vec<String> = result
        .map(|r| {
            r.phases
                .iter()
                .filter(|(_, p)| p.timed_out)
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if let (true, Some(l)) = (timed_out.is_empty(), line) {
        let records = [
            ("attempt", &l.attempt),
            ("reflection", &l.reflection),
            ("build", &l.build),
        ];
        for (name, record) in records {
            if record.as_ref().is_some_and(|r| r.timed_out) {
                timed_out.push(name.to_string());
            }
        }
    }
    let tools_used = usage.map_or_else(Vec::new, |u| {
        if u.used_active_tools.is_empty() {
            u.used_harness_tools.clone()
        } else {
            u.used_active_tools.clone()
        }
    });
    IterationRow {
        iteration: it.number,
        status: line
            .and_then(|l| l.status.clone())
            .or_else(|| result.and_then(|r| r.status.clone())),
        solved: line.is_some_and(|l| l.solved),
        timed_out,
        score: it.score,
        durations: durations(run, it),
        artifacts_built: built(result, registry_built),
        qualification: qualification.and_then(|q| q.status.clone()),
        quarantined: qualification.map_or_else(Vec::new, |q| q.quarantined_artifacts.clone()),
        active_tools: usage.and_then(|u| u.active_tool_count),
        tools_used,
    }
}
