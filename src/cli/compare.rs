//! `harnessgym compare` flags: the reference's (§1.2, same names and defaults), harnessgym's
//! own (`--jobs`, `--engine-calls`, `--seed`, `--compare-id`, `--rerun`), and every other flag
//! of `harnessgym run`, mirrored.
//!
//! # Pass-through of run flags
//!
//! Compare owns the flags whose default or meaning differs from `run` (`--iterations`,
//! `--attempt-timeout`, `--build-timeout`, `--reflection-timeout`, `--task-state`, the task and
//! the workspace) and refuses the ones the reference never exposes ([`NOT_PASSED`]: optimization
//! mode, post-attempt scoring, qualification, depth, restore, `--protect`, `--json`). Every
//! other flag of [`RunArgs`] — the runner and its flags (`--runner`, and whatever flags the
//! runners define), `--stop-score`, `--score-key`, `--higher-is-better`, the container flags
//! (`--image`, `--cpus`, `--memory`, `--pids-limit`, `--disk-limit`, `--network`, `--runtime`),
//! `--keep-snapshots` — is **mirrored**: the compare command gets a flag of the same name,
//! help, value name and possible values, without a default, and each one given is passed on,
//! as typed, in every trial's `run` argv (which `run`'s own parser then validates, once, before
//! any trial starts). A flag added to `RunArgs` is thereby a compare flag too, with no code
//! here. What a mirrored flag would default to is `run`'s default, shown in its help.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches};

use super::{RunArgs, TaskStateChoice};
use crate::duration::parse_duration_arg;

/// Run flags compare never passes on (reference §1.2: "compare never exposes …"), or that a
/// trial sets itself (`--workspace`, `--run-id`).
pub const NOT_PASSED: [&str; 14] = [
    "workspace",
    "run-id",
    "harness-depth",
    "qualify-artifacts",
    "no-qualify-artifacts",
    "artifact-repair-attempts",
    "post-attempt-command",
    "post-attempt-score-key",
    "post-attempt-timeout",
    "optimization-mode",
    "restore-best",
    "no-restore-best",
    "protect",
    "json",
];

/// Run flags compare defines itself, with the reference's compare defaults.
pub const OWNED: [&str; 7] = [
    "task",
    "task-text",
    "iterations",
    "attempt-timeout",
    "build-timeout",
    "reflection-timeout",
    "task-state",
];

/// The heading of the mirrored flags in `--help`.
const PASSED_HEADING: &str = "Run flags (passed to every trial's `harnessgym run`)";

/// Prefix of the clap ids of mirrored flags (they never collide with compare's own).
const PASSED_ID: &str = "run-flag:";

/// The flags compare defines itself.
#[derive(Debug, Args)]
pub struct CompareOwn {
    /// Task file (markdown or text), preferably inside the template: trials read it at the same
    /// relative path. Relative paths are tried from the current directory, then the template.
    #[arg(long, value_name = "PATH", required_unless_present_any = ["task_text", "rerun"], conflicts_with = "task_text")]
    pub task: Option<PathBuf>,

    /// The task as inline text.
    #[arg(long, value_name = "TEXT")]
    pub task_text: Option<String>,

    /// The workspace every trial starts from (its files go into one baseline image, without
    /// `.git`, `.harnessgym`, agent configuration, caches and build products at any depth).
    #[arg(long, value_name = "DIR", required_unless_present = "rerun")]
    pub workspace_template: Option<PathBuf>,

    /// The harness bundle of the harnessed group: a workspace holding `.harnessgym/`, or a
    /// `.harnessgym` directory itself (its eight artifact folders and `registry.json` are used).
    #[arg(long, value_name = "PATH")]
    pub artifact_source: Option<PathBuf>,

    /// Where the trials and `compare_report.json` go.
    #[arg(long, value_name = "DIR", required_unless_present = "rerun")]
    pub output_dir: Option<PathBuf>,

    /// Trials per group.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub trials: u32,

    /// Attempt-only iterations per trial.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub iterations: u32,

    /// Attempt-phase timeout (e.g. `5m`, `90` = seconds).
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub attempt_timeout: Duration,

    /// Build-phase timeout (compatibility only: trials never build).
    #[arg(long, value_name = "D", default_value = "1s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub build_timeout: Duration,

    /// Reflection-phase timeout (compatibility only: trials never reflect).
    #[arg(long, value_name = "D", default_value = "1s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub reflection_timeout: Duration,

    /// What each attempt of a trial starts from.
    #[arg(long, value_enum, default_value = "reset")]
    pub task_state: TaskStateChoice,

    /// Shell command run once per trial, after its iterations, in a fresh container of the
    /// trial's final state (network off); its stdout, one JSON object, scores the trial.
    #[arg(long, value_name = "CMD")]
    pub post_command: Option<String>,

    /// Key of the score in the post command's JSON.
    #[arg(long, value_name = "K", default_value = "score")]
    pub post_score_key: String,

    /// Timeout of the post command (the whole process tree is killed).
    #[arg(long, value_name = "D", default_value = "2m", value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub post_timeout: Duration,

    /// A harnessed trial counts only if its copied artifacts activated MCP tools (default).
    #[arg(long, overrides_with = "no_require_active_harness")]
    pub require_active_harness: bool,

    /// Count harnessed trials whose artifacts activated nothing.
    #[arg(long)]
    pub no_require_active_harness: bool,

    /// A harnessed trial counts only if the agent made at least one MCP tool call.
    #[arg(long, overrides_with = "no_require_harness_tool_use")]
    pub require_harness_tool_use: bool,

    /// Count harnessed trials without MCP tool calls (default).
    #[arg(long)]
    pub no_require_harness_tool_use: bool,

    /// Replace existing trial directories (else a compare refuses to start over them).
    #[arg(long)]
    pub overwrite: bool,

    /// Trials run at the same time (default: the number of CPUs, at least 2); plain and
    /// harnessed trials start interleaved.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Engine calls (create, start, exec start, load, commit, remove, ...) in flight at once,
    /// across all trials; an agent's running phase does not count.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub engine_calls: usize,

    /// Seed of the bootstrap interval (the same trials and seed give the same interval).
    #[arg(long, value_name = "N", default_value_t = crate::report::stats::DEFAULT_SEED)]
    pub seed: u64,

    /// Names this compare's Docker objects and trial run ids (`<id>-<group>-<k>`); default
    /// `compare-<UTC time>-<8 hex>`.
    #[arg(long, value_name = "ID")]
    pub compare_id: Option<String>,

    /// Re-run one trial of a finished compare (REPORT: its `compare_report.json` or directory;
    /// TRIAL: `plain/2`, `harnessed/1`) with the settings its `trial.json` recorded, into a new
    /// directory next to it, and say how the result compares.
    #[arg(long, num_args = 2, value_names = ["REPORT", "TRIAL"])]
    pub rerun: Option<Vec<String>>,
}

/// `harnessgym compare`: its own flags plus the run flags passed through.
#[derive(Debug)]
pub struct CompareArgs {
    /// Compare's own flags.
    pub own: CompareOwn,
    /// The mirrored run flags given, as `--name` / `--name=value` arguments, in the order
    /// `run` defines them.
    pub passed: Vec<String>,
    /// The compare flags given on the command line (their long names), for `--rerun`, which
    /// takes every setting from the trial's record.
    pub given: Vec<String>,
}

/// Every flag of `harnessgym run`, as clap defines it.
fn run_arguments() -> Vec<Arg> {
    RunArgs::augment_args(clap::Command::new("run"))
        .get_arguments()
        .cloned()
        .collect()
}

/// Whether `long` is a run flag compare mirrors.
fn mirrored(long: &str) -> bool {
    !NOT_PASSED.contains(&long) && !OWNED.contains(&long)
}

/// The compare flag mirroring run's `arg`: same name, help, value name and possible values; no
/// default (run's is named in the help); repeatable when it takes a value.
fn mirror(arg: &Arg, long: &str) -> Arg {
    let takes_value = arg.get_action().takes_values();
    let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() {
        help = format!("{help} [run's default: {}]", defaults.join(","));
    }
    let mut out = Arg::new(format!("{PASSED_ID}{long}"))
        .long(long.to_string())
        .help(help)
        .help_heading(PASSED_HEADING)
        .hide(arg.is_hide_set());
    if arg.is_required_set() && arg.get_default_values().is_empty() {
        out = out.required_unless_present("rerun");
    }
    if !takes_value {
        return out.action(ArgAction::SetTrue);
    }
    out = out
        .action(ArgAction::Append)
        .num_args(1)
        .allow_hyphen_values(arg.is_allow_hyphen_values_set())
        .allow_negative_numbers(arg.is_allow_negative_numbers_set());
    if let Some(names) = arg.get_value_names() {
        out = out.value_names(names.iter().map(ToString::to_string));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        out = out.value_parser(PossibleValuesParser::new(values));
    }
    out
}

/// Add the mirrored run flags to `cmd`.
fn augment(mut cmd: clap::Command) -> clap::Command {
    for arg in run_arguments() {
        if let Some(long) = arg.get_long().filter(|l| mirrored(l)) {
            let long = long.to_string();
            cmd = cmd.arg(mirror(&arg, &long));
        }
    }
    cmd
}

/// The mirrored run flags given in `matches`, as run arguments.
fn passed(matches: &ArgMatches) -> Vec<String> {
    let mut out = Vec::new();
    for arg in run_arguments() {
        let Some(long) = arg.get_long().filter(|l| mirrored(l)) else {
            continue;
        };
        let id = format!("{PASSED_ID}{long}");
        if matches.value_source(&id) != Some(ValueSource::CommandLine) {
            continue;
        }
        if arg.get_action().takes_values() {
            for value in matches.get_many::<String>(&id).into_iter().flatten() {
                out.push(format!("--{long}={value}"));
            }
        } else if matches.get_flag(&id) {
            out.push(format!("--{long}"));
        }
    }
    out
}

/// The long names of the compare flags (own or mirrored) given on the command line.
fn given(matches: &ArgMatches) -> Vec<String> {
    let cmd = augment(CompareOwn::augment_args(clap::Command::new("compare")));
    cmd.get_arguments()
        .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

impl FromArgMatches for CompareArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(CompareArgs {
            own: CompareOwn::from_arg_matches(matches)?,
            passed: passed(matches),
            given: given(matches),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for CompareArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        augment(CompareOwn::augment_args(cmd))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn parse(args: &[&str]) -> CompareArgs {
        let mut argv = vec!["harnessgym", "compare"];
        argv.extend(args);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Compare(args) => *args,
            other => panic!("not compare: {other:?}"),
        }
    }

    #[test]
    fn run_flags_pass_through_as_typed_and_owned_ones_keep_compare_defaults() {
        let args = parse(&[
            "--task-text",
            "t",
            "--workspace-template",
            "w",
            "--output-dir",
            "o",
            "--runner",
            "fake",
            "--stop-score",
            "-3",
            "--higher-is-better",
            "--cpus",
            "1.5",
        ]);
        assert_eq!(
            args.passed,
            [
                "--runner=fake",
                "--stop-score=-3",
                "--higher-is-better",
                "--cpus=1.5"
            ]
        );
        assert_eq!(args.own.iterations, 1);
        assert_eq!(args.own.attempt_timeout, Duration::from_secs(300));
        assert_eq!(args.own.task_state, TaskStateChoice::Reset);
        assert!(args.given.contains(&"runner".to_string()));
        assert!(args.given.contains(&"task-text".to_string()));
        assert!(!args.given.contains(&"trials".to_string()));
    }

    #[test]
    fn every_run_flag_is_owned_mirrored_or_refused() {
        let mut mirrored_count = 0;
        for arg in run_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if mirrored(long) {
                mirrored_count += 1;
            } else {
                assert!(
                    NOT_PASSED.contains(&long) || OWNED.contains(&long),
                    "{long}"
                );
            }
        }
        assert!(mirrored_count >= 10, "{mirrored_count}");
        let refused = Cli::try_parse_from([
            "harnessgym",
            "compare",
            "--task-text",
            "t",
            "--workspace-template",
            "w",
            "--output-dir",
            "o",
            "--optimization-mode",
        ]);
        assert!(refused.is_err());
    }

    #[test]
    fn mirrored_enums_keep_their_possible_values() {
        let bad = Cli::try_parse_from([
            "harnessgym",
            "compare",
            "--task-text",
            "t",
            "--workspace-template",
            "w",
            "--output-dir",
            "o",
            "--runner",
            "nope",
        ]);
        let text = bad.expect_err("refused").to_string();
        assert!(text.contains("possible values"), "{text}");
    }

    #[test]
    fn rerun_needs_neither_template_nor_task() {
        let args = parse(&["--rerun", "out", "harnessed/2"]);
        assert_eq!(
            args.own.rerun,
            Some(vec!["out".to_string(), "harnessed/2".to_string()])
        );
        assert_eq!(args.given, ["rerun"]);
    }
}
