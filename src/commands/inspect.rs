//! `harnessgym runs`, `show` and `report`: read a workspace's runs and compares and print them,
//! or write the HTML report. Files only: these commands never connect to the Docker engine.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::context::Context;
use super::error::CommandError;
use crate::cli::{ReportArgs, RunsArgs, ShowArgs};
use crate::exit;
use crate::report::show::{runs_text, show_text};
use crate::report::{self, ReportError, text};

/// Print `text` on stdout. A closed pipe (`| head`) is not an error: the reader has what it
/// wanted.
fn print(text: &str) -> Result<(), ReportError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(ReportError::Stdout),
    }
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Our view types hold strings, numbers and lists only: serializing cannot fail.
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    format!("{}\n", crate::output::json_safe(&text))
}

fn warn(ctx: &Context, warnings: &[String]) {
    if ctx.quiet {
        return;
    }
    for warning in warnings {
        crate::errln!("warning: {}", text::clean(warning, 400));
    }
}

/// The workspace as an absolute path (so listed paths are absolute), when it exists.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn require_dir(path: &Path) -> Result<PathBuf, ReportError> {
    if path.is_dir() {
        Ok(absolute(path))
    } else {
        Err(ReportError::NoWorkspace {
            path: path.to_path_buf(),
        })
    }
}

/// `harnessgym runs`.
pub fn runs(ctx: &Context, args: &RunsArgs) -> Result<u8, CommandError> {
    let workspace = require_dir(&args.workspace)?;
    let (entries, warnings) = report::list(&workspace)?;
    warn(ctx, &warnings);
    if args.json {
        print(&json(&entries))?;
    } else if entries.is_empty() {
        if !ctx.quiet {
            crate::errln!(
                "no runs or compares in {} (runs live in .harnessgym/runs/)",
                args.workspace.display()
            );
        }
    } else {
        print(&runs_text(&entries))?;
    }
    Ok(exit::SUCCESS)
}

/// `harnessgym show`.
pub fn show(ctx: &Context, args: &ShowArgs) -> Result<u8, CommandError> {
    let view = report::show(&args.run, &absolute(&args.workspace))?;
    warn(ctx, &view.warnings);
    if args.json {
        print(&json(&view))?;
    } else {
        print(&show_text(&view))?;
    }
    Ok(exit::SUCCESS)
}

/// `harnessgym report`.
pub fn report(ctx: &Context, args: &ReportArgs) -> Result<u8, CommandError> {
    let target = report::resolve_target(&args.target, &absolute(&args.workspace))?;
    let rendered = report::render(&target);
    warn(ctx, &rendered.warnings);
    if args.output.as_os_str() == "-" {
        print(&rendered.html)?;
    } else {
        report::write_html(&args.output, &rendered.html)?;
        if !ctx.quiet {
            crate::errln!(
                "wrote {} ({:.1} kB)",
                args.output.display(),
                rendered.html.len() as f64 / 1e3
            );
        }
    }
    Ok(exit::SUCCESS)
}
