//! `harnessgym compare`: validate, connect, run the trials side by side, write the report, print
//! the reference's closing lines (stdout) and the verdict (stderr); or re-run one trial.
//!
//! A compare that ran exits 0 whatever the verdict. Ctrl-C stops every trial, marks their runs
//! interrupted, and removes every object labelled with the compare's id or a trial's run id.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::context::Context;
use super::error::CommandError;
use crate::cli::CompareArgs;
use crate::compare::files::GroupSummary;
use crate::compare::{self, CompareConfig, CompareError, Outcome, rerun};
use crate::exit;
use crate::orchestrator::{RunConfig, record_interruption};
use crate::report::GroupComparison;
use crate::sandbox::{Engine, Selector};

/// A number as Python prints it (`4.0`, `None`): the closing lines keep the reference's format.
fn python_repr(value: Option<f64>) -> String {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e16 => format!("{v:.1}"),
        Some(v) => v.to_string(),
        None => "None".to_string(),
    }
}

/// `plain: n=… median_attempt=… median_cumulative_attempt=… best_post_score=… post_valid=…
/// post_invalid=…` (reference `cli.py:compare_command`).
fn group_line(name: &str, summary: &GroupSummary) -> String {
    format!(
        "{name}: n={} median_attempt={} median_cumulative_attempt={} best_post_score={} post_valid={} post_invalid={}",
        summary.count,
        python_repr(summary.attempt_duration_seconds.median),
        python_repr(summary.cumulative_attempt_duration_seconds.median),
        python_repr(summary.post_score.best),
        summary.post_score.valid_count,
        summary.post_score.invalid_count,
    )
}

/// The verdict in one line, with its numbers.
fn verdict_line(comparison: &GroupComparison) -> String {
    let mut line = format!("verdict: {}", comparison.verdict);
    if let Some(d) = comparison.difference_of_medians {
        let d = python_repr(Some(d));
        line.push_str(&format!(" (median harnessed − median plain = {d}"));
        match comparison.interval {
            Some([low, high]) => line.push_str(&format!(
                ", {:.0}% interval [{}, {}])",
                comparison.settings.confidence * 100.0,
                python_repr(Some(low)),
                python_repr(Some(high))
            )),
            None => line.push(')'),
        }
    }
    line
}

/// Run a compare, or re-run one trial.
pub async fn run(ctx: &Context, args: CompareArgs) -> Result<u8, CommandError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CompareError::io("read the current directory", Path::new("."))(e))?;
    if let Some(rerun) = args.own.rerun.clone() {
        return rerun_one(ctx, &args, &rerun, &cwd).await;
    }
    let config = CompareConfig::from_args(args, &cwd)?;
    compare::run::check_trial_dirs(&config)?;
    let engine = ctx.engine().await?;
    crate::sandbox::deadline::limit_calls(Some(config.engine_calls));
    if !ctx.quiet {
        crate::errln!(
            "compare {}: {} trial(s) per group, {} at a time, into {}",
            config.settings.compare_id,
            config.settings.trials,
            config.jobs,
            config.settings.output_dir.display()
        );
    }
    // The compare stops its trials itself on Ctrl-C (and waits for them): the guard must not
    // drop it halfway, only run the one cleanup path afterwards.
    let shielded = Context {
        token: CancellationToken::new(),
        ..ctx.clone()
    };
    let work = async {
        compare::compare(&engine, &config, ctx.quiet, &ctx.token)
            .await
            .map_err(CommandError::from)
    };
    let outcome = shielded.guarded(&engine, work).await;
    let mut labels = vec![config.settings.compare_id.clone()];
    labels.extend(
        compare::run::slots(&config.settings)
            .into_iter()
            .map(|s| s.run_id),
    );
    let finished = match outcome {
        Ok(Outcome::Finished(finished)) => finished,
        Ok(Outcome::Interrupted(configs)) => return interrupted(&engine, &configs, &labels).await,
        Err(err) => {
            reap(&engine, &labels).await;
            return Err(err);
        }
    };
    crate::outln!("Compare report: {}", finished.path.display());
    let summary = &finished.report.summary;
    crate::outln!("{}", group_line("plain", &summary.plain));
    crate::outln!("{}", group_line("harnessed", &summary.harnessed));
    if !ctx.quiet {
        crate::errln!("{}", verdict_line(&finished.comparison));
        crate::errln!(
            "charts: `harnessgym report {} -o report.html`",
            config.settings.output_dir.display()
        );
        if !finished.kept.is_empty() {
            crate::errln!(
                "kept the snapshots in the engine (--keep-snapshots): `harnessgym gc --run <id>` removes them, for ids {}",
                finished.kept.join(", ")
            );
        }
    }
    Ok(exit::SUCCESS)
}

/// Remove every object labelled with one of `labels` (images too).
async fn reap(engine: &Engine, labels: &[String]) {
    engine.settle().await;
    for label in labels {
        let report = engine.reap(&Selector::Run(label.clone()), true).await;
        for err in report.errors {
            tracing::warn!("cleanup: {err}");
        }
    }
}

/// After Ctrl-C: every started trial's run is marked interrupted, and nothing of the compare
/// stays in the engine (an interrupted compare keeps no snapshot).
async fn interrupted(
    engine: &Engine,
    configs: &[RunConfig],
    labels: &[String],
) -> Result<u8, CommandError> {
    for config in configs {
        record_interruption(config);
    }
    reap(engine, labels).await;
    Err(CommandError::Interrupted)
}

/// `--rerun REPORT TRIAL`.
async fn rerun_one(
    ctx: &Context,
    args: &CompareArgs,
    target: &[String],
    cwd: &Path,
) -> Result<u8, CommandError> {
    let allowed = ["rerun", "engine-calls"];
    let extra: Vec<String> = args
        .given
        .iter()
        .filter(|f| !allowed.contains(&f.as_str()))
        .map(|f| format!("--{f}"))
        .collect();
    if !extra.is_empty() {
        return Err(CompareError::RerunFlags {
            flags: extra.join(", "),
        }
        .into());
    }
    let [report, trial] = target else {
        unreachable!("clap takes two values");
    };
    let target = rerun::locate(Path::new(report), trial, cwd)?;
    let engine = ctx.engine().await?;
    crate::sandbox::deadline::limit_calls(Some(args.own.engine_calls));
    if !ctx.quiet {
        crate::errln!("re-running {trial} into {}", target.slot.root.display());
    }
    let shielded = Context {
        token: CancellationToken::new(),
        ..ctx.clone()
    };
    let work = async {
        compare::run::rerun(
            &engine,
            &target.settings,
            &target.slot,
            &target.record,
            ctx.quiet,
            &ctx.token,
        )
        .await
        .map_err(CommandError::from)
    };
    let labels = [
        target.slot.run_id.clone(),
        compare::run::rerun_label(&target.slot),
    ];
    let record = match shielded.guarded(&engine, work).await {
        Ok(Ok(record)) => record,
        Ok(Err(configs)) => return interrupted(&engine, &configs, &labels).await,
        Err(err) => {
            reap(&engine, &labels).await;
            return Err(err);
        }
    };
    crate::outln!(
        "Re-run of {trial}: {}",
        target.slot.root.join("trial.json").display()
    );
    for line in rerun::comparison_lines(&target.record, &record) {
        crate::outln!("{line}");
    }
    Ok(exit::SUCCESS)
}
