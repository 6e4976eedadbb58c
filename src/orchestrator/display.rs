//! What a person sees while a run works: one live line per phase with its elapsed time and
//! budget, and the time each step took (printed at the end with `-v`).

use std::time::{Duration, Instant};

use crate::duration::format_duration;
use crate::progress::Step;

/// Output settings and the per-step timings of a run.
#[derive(Debug)]
pub struct Display {
    quiet: bool,
    started: Instant,
    timings: Vec<(String, Duration)>,
}

/// One phase on screen.
pub struct PhaseLine {
    step: Step,
    label: String,
    started: Instant,
}

impl Display {
    /// A display; `quiet` shows nothing but errors.
    pub fn new(quiet: bool) -> Self {
        Display {
            quiet,
            started: Instant::now(),
            timings: Vec::new(),
        }
    }

    /// Start a line for `label`, with its budget when it has one.
    pub fn start(&self, label: String, budget: Option<Duration>) -> PhaseLine {
        let shown = match budget {
            Some(budget) => format!("{label} (timeout {})", format_duration(budget)),
            None => label.clone(),
        };
        PhaseLine {
            step: Step::start(shown, self.quiet),
            label,
            started: Instant::now(),
        }
    }

    /// End `line` with an outcome word, and record its time.
    pub fn finish(&mut self, line: PhaseLine, outcome: &str) {
        self.timings.push((line.label, line.started.elapsed()));
        line.step.finish(outcome);
    }

    /// Wall time since the run started.
    pub fn wall(&self) -> Duration {
        self.started.elapsed()
    }

    /// Each recorded step and its time.
    pub fn timings(&self) -> &[(String, Duration)] {
        &self.timings
    }

    /// Print the per-step breakdown and the wall time.
    pub fn print_breakdown(&self) {
        crate::errln!("timings:");
        for (label, took) in &self.timings {
            crate::errln!("  {label:<40} {:>8.2}s", took.as_secs_f64());
        }
        crate::errln!("  {:<40} {:>8.2}s", "wall time", self.wall().as_secs_f64());
    }
}
