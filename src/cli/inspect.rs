//! `harnessgym runs`, `show` and `report`: looking at runs and compares after the fact.

use std::path::PathBuf;

use clap::Args;

/// `harnessgym runs`.
#[derive(Debug, Args)]
#[command(after_help = "\
One line per run (`<workspace>/.harnessgym/runs/<id>/`) and per compare (the workspace itself \
or a directory directly inside it holding `compare_report.json`). Columns: kind, id, start \
date (UTC), runner, iterations done/budget (compares: trials per group), final status \
(`unfinished` while a run works or after it was killed; compares: the verdict), best score \
(compares: the best valid post score per group).

Reads files only; never contacts the Docker engine.")]
pub struct RunsArgs {
    /// The workspace whose runs to list.
    #[arg(value_name = "WORKSPACE", default_value = ".")]
    pub workspace: PathBuf,

    /// Print a JSON array (one object per run or compare) instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `harnessgym show`.
#[derive(Debug, Args)]
#[command(after_help = "\
RUN is a run id of the workspace (see `harnessgym runs`) or the path of a run directory. \
The table has one line per iteration: status, score (read with the run's score key), the \
time of each phase (attempt, reflection, build, repairs, clean-room qualification, \
post-attempt command), the qualification's outcome, the tools active before the attempt, \
the artifacts the iteration built and the tools the attempt used.

Reads files only; never contacts the Docker engine.")]
pub struct ShowArgs {
    /// A run id, or the path of a run directory.
    #[arg(value_name = "RUN")]
    pub run: String,

    /// The workspace whose runs a RUN id names.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,

    /// Print the run and its iterations as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `harnessgym report`.
#[derive(Debug, Args)]
#[command(after_help = "\
For a run: score per iteration (baseline and best marked), phase durations as stacked bars, \
the iteration table, and the workspace's registry with each artifact's qualification state. \
For a compare: the verdict with its bootstrap interval, the per-group distributions of the \
post score and of attempt time, and every trial with the reasons it does not count.

The page is one file with inline CSS and SVG: no script, no network, nothing external; it \
opens in any browser, offline. The same files give the same page, byte for byte.

Example: harnessgym report 20260519T035754Z-1a2b3c4d -o report.html")]
pub struct ReportArgs {
    /// A run id, a run directory, or a compare's output directory.
    #[arg(value_name = "RUN|COMPARE_DIR")]
    pub target: String,

    /// The HTML file to write (`-` for standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// The workspace whose runs a run id names.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,
}
