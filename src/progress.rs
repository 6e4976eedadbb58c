//! Progress for long work: a spinner with elapsed time on a terminal, plain lines otherwise.
//!
//! Everything goes to stderr, so stdout stays data only (`--json` output, ids).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// One long step shown to the user.
pub struct Step {
    bar: Option<ProgressBar>,
    label: String,
    started: Instant,
    quiet: bool,
}

impl Step {
    /// Start showing `label`. With `quiet`, nothing is shown but failures.
    pub fn start(label: impl Into<String>, quiet: bool) -> Self {
        let label = label.into();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() && !quiet {
            crate::errln!("{label} ...");
        }
        Step {
            bar,
            label,
            started: Instant::now(),
            quiet,
        }
    }

    /// Show the latest detail line (e.g. a build step). On a plain stream only with `verbose`.
    pub fn detail(&self, line: &str, verbose: bool) {
        match &self.bar {
            Some(bar) => bar.set_message(line.trim().to_string()),
            None if verbose && !self.quiet => crate::errln!("  {}", line.trim_end()),
            None => {}
        }
    }

    /// Finish with an outcome word (`done`, `skipped`, `failed`) and the elapsed time.
    pub fn finish(self, outcome: &str) {
        let line = format!(
            "{} {outcome} in {:.1}s",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        match self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.quiet => return,
            None => {}
        }
        if !self.quiet {
            crate::errln!("{line}");
        }
    }
}
